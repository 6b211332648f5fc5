"""How every JSON endpoint is declared: one decorator names the method, path, capability and the
pydantic model of the body or query. It parses and validates before the handler runs (so a
handler never sees bad input), and records the endpoint for the OpenAPI document, which is
therefore generated from the same declarations that enforce it."""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps
from typing import Any, TypeVar

from flask import Blueprint, Response, jsonify, request
from pydantic import BaseModel, ValidationError

from server.api import auth
from server.errors import ApiError
from server.models import Role
from server.permissions import Capability, roles_for

ModelT = TypeVar("ModelT", bound=BaseModel)

#: JSON bodies are small; uploads (photos, spreadsheets) have their own larger limit.
MAX_JSON_BYTES = 256 * 1024


@dataclass
class Endpoint:
    method: str
    path: str
    summary: str
    tag: str
    capability: Capability | None
    body: type[BaseModel] | None
    query: type[BaseModel] | None
    multipart: dict[str, str] | None
    status: int
    public: bool
    path_params: list[str] = field(default_factory=list)

    @property
    def roles(self) -> frozenset[Role] | None:
        """The roles that may call it (server/permissions.py); None: any signed-in user."""
        return None if self.capability is None else roles_for(self.capability)


REGISTRY: list[Endpoint] = []


def endpoint(
    bp: Blueprint,
    method: str,
    rule: str,
    *,
    summary: str,
    tag: str,
    capability: Capability | None = None,
    body: type[BaseModel] | None = None,
    query: type[BaseModel] | None = None,
    multipart: dict[str, str] | None = None,
    status: int = 200,
    public: bool = False,
) -> Callable:
    """Register `fn(actor, body=..., query=..., **path_params) -> dict | list` as an endpoint.

    capability=None means any signed-in user (the service then applies the user's scope); otherwise
    only the roles that hold it in server/permissions.py (403 for the others)."""
    if public and capability is not None:
        raise ValueError(f"{rule}: a public endpoint has no capability")

    def deco(fn: Callable) -> Callable:
        @wraps(fn)
        def view(**path_params: Any):
            actor = None if public else auth.require_actor(capability)
            kwargs: dict[str, Any] = dict(path_params)
            if body is not None:
                kwargs["body"] = parse_json_body(body)
            if query is not None:
                kwargs["query"] = _validate(query, request.args.to_dict())
            if multipart is not None:
                if not (request.mimetype or "").startswith("multipart/form-data"):
                    raise ApiError(415, "unsupported_media_type", "请以 multipart/form-data 上传文件")
            result = fn(actor, **kwargs) if not public else fn(**kwargs)
            if isinstance(result, Response):  # a file (evidence frames, exports)
                return result
            # A handler may return (body, status): e.g. an idempotent replay is 200, not 201.
            if isinstance(result, tuple):
                result, code = result
                return jsonify(result), code
            return jsonify(result), status

        bp.add_url_rule(rule, endpoint=fn.__name__, view_func=view, methods=[method])
        full = (bp.url_prefix or "") + rule
        params = [seg[1:-1].split(":")[-1] for seg in rule.split("/") if seg.startswith("<")]
        REGISTRY.append(Endpoint(method, full, summary, tag, capability, body, query, multipart, status, public, params))
        return view

    return deco


def parse_json_body(model: type[BaseModel]) -> BaseModel:
    if request.mimetype != "application/json":
        raise ApiError(415, "unsupported_media_type", "请求体必须是 JSON（Content-Type: application/json）")
    if request.content_length is not None and request.content_length > MAX_JSON_BYTES:
        raise ApiError(413, "body_too_large", f"请求体超过 {MAX_JSON_BYTES // 1024} KB")
    raw = request.get_data(cache=True)
    if len(raw) > MAX_JSON_BYTES:
        raise ApiError(413, "body_too_large", f"请求体超过 {MAX_JSON_BYTES // 1024} KB")
    try:
        data = json.loads(raw.decode("utf-8"), parse_constant=_refuse_constant)
    except (UnicodeDecodeError, ValueError) as exc:
        raise ApiError(400, "invalid_json", f"请求体不是有效的 JSON：{exc}") from None
    if not isinstance(data, dict):
        raise ApiError(422, "invalid_input", "请求体必须是一个 JSON 对象", fields=[{"field": "(body)", "message": "须为 JSON 对象"}])
    return _validate(model, data)


def _refuse_constant(name: str):
    # NaN / Infinity are not JSON; Python's parser accepts them unless told not to.
    raise ValueError(f"{name} is not a valid JSON number")


def _validate(model: type[ModelT], data: dict) -> ModelT:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        fields = [
            {"field": ".".join(str(p) for p in err["loc"]) or "(body)", "message": err["msg"], "type": err["type"]}
            for err in exc.errors(include_url=False, include_context=False, include_input=False)
        ]
        names = "、".join(f["field"] for f in fields[:5])
        raise ApiError(422, "invalid_input", f"输入有误：{names}", fields=fields) from None


def private_image(data: bytes) -> Response:
    """An evidence photo (a burst frame, an enrolment photo) as stored: typed by its signature,
    never cached, never sniffed into anything else."""
    kind = "image/png" if data[:8] == b"\x89PNG\r\n\x1a\n" else "image/webp" if data[8:12] == b"WEBP" else "image/jpeg"
    return Response(data, mimetype=kind, headers={"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"})


def read_uploads(field: str, max_bytes: int) -> list[tuple[str, bytes]]:
    """(filename, bytes) of every file sent under `field`, closing each spooled temp file at once
    (Werkzeug keeps large uploads on disk until closed)."""
    out = []
    for storage in request.files.getlist(field):
        try:
            data = storage.stream.read(max_bytes + 1)
        finally:
            storage.close()
        if len(data) > max_bytes:
            raise ApiError(413, "file_too_large", f"文件 {storage.filename or ''} 超过 {max_bytes // 1024 // 1024} MB")
        out.append((storage.filename or "", data))
    return out


def parse_form_json(model: type[ModelT], field: str) -> ModelT:
    """A JSON document sent as one field of a multipart form (metadata beside uploaded files)."""
    raw = request.form.get(field)
    if raw is None:
        raise ApiError(422, "invalid_input", f"缺少表单字段 {field}", fields=[{"field": field, "message": "必填"}])
    if len(raw) > MAX_JSON_BYTES:
        raise ApiError(413, "body_too_large", f"{field} 过大")
    try:
        data = json.loads(raw, parse_constant=_refuse_constant)
    except ValueError as exc:
        raise ApiError(400, "invalid_json", f"{field} 不是有效的 JSON：{exc}") from None
    if not isinstance(data, dict):
        raise ApiError(422, "invalid_input", f"{field} 必须是一个 JSON 对象", fields=[{"field": field, "message": "须为 JSON 对象"}])
    return _validate(model, data)
