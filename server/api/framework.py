"""How every JSON endpoint is declared: one decorator names the method, path, capability and the
pydantic model of the body or query. It parses and validates before the handler runs (so a
handler never sees bad input), and records the endpoint for the OpenAPI document, which is
therefore generated from the same declarations that enforce it."""
from __future__ import annotations

import json
import re
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
#: No request of ours nests deeper than a few levels; a thousand levels in a 2 KB body would
#: exhaust the parser's recursion (a RecursionError, a 500) and everything that walks it after.
MAX_JSON_DEPTH = 32


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
    #: The success body (server/api/responses.py): a pydantic model or list[Model]; None with
    #: `produces` for a file (application/pdf, application/zip, image/jpeg).
    response: Any = None
    produces: str | None = None
    #: Other success statuses the handler answers with by returning (body, status): an idempotent
    #: replay (200 beside 201), a face enrolment held for review (202 beside 200).
    also: tuple[int, ...] = ()

    @property
    def statuses(self) -> tuple[int, ...]:
        return (self.status, *self.also)

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
    response: Any = None,
    produces: str | None = None,
    also: tuple[int, ...] = (),
) -> Callable:
    """Register `fn(actor, body=..., query=..., **path_params) -> dict | list` as an endpoint.

    capability=None means any signed-in user (the service then applies the user's scope); otherwise
    only the roles that hold it in server/permissions.py (403 for the others). `response` is the
    success body's model (documented in the OpenAPI document; the API tests validate every answer
    against it), `also` the other success statuses the handler returns as (body, status)."""
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
        REGISTRY.append(Endpoint(method, full, summary, tag, capability, body, query, multipart, status, public, params,
                                 response=response, produces=produces, also=also))
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
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ApiError(400, "invalid_json", "请求体不是 UTF-8 编码的 JSON") from None
    data = loads(text, "请求体")
    if not isinstance(data, dict):
        raise ApiError(422, "invalid_input", "请求体必须是一个 JSON 对象", fields=[{"field": "(body)", "message": "须为 JSON 对象"}])
    return _validate(model, data)


def loads(text: str, what: str) -> Any:
    """JSON text as Python values, refused (400, in Chinese, with where it broke) when it is not
    JSON or nests deeper than MAX_JSON_DEPTH."""
    # Only a text with that many brackets can be that deep: str.count is C-speed, the walk is not.
    if text.count("[") + text.count("{") > MAX_JSON_DEPTH and _depth_exceeds(text, MAX_JSON_DEPTH):
        raise ApiError(400, "json_too_deep", f"{what}的 JSON 嵌套超过 {MAX_JSON_DEPTH} 层")
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        raise ApiError(400, "invalid_json", f"{what}不是有效的 JSON（第 {exc.lineno} 行第 {exc.colno} 列）") from None
    except (ValueError, RecursionError):
        raise ApiError(400, "invalid_json", f"{what}不是有效的 JSON") from None


def _depth_exceeds(text: str, limit: int) -> bool:
    """Whether brackets outside strings nest deeper than `limit` (the text need not be valid JSON)."""
    depth, in_string, escaped = 0, False, False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > limit:
                return True
        elif ch in "]}":
            depth -= 1
    return False


def _refuse_constant(name: str):
    # NaN / Infinity are not JSON; Python's parser accepts them unless told not to.
    raise ValueError(f"{name} is not a valid JSON number")


def _validate(model: type[ModelT], data: dict) -> ModelT:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        fields = [
            {"field": ".".join(str(p) for p in err["loc"]) or "(body)", "message": field_message(err), "type": err["type"]}
            for err in exc.errors(include_url=False, include_context=True, include_input=False)
        ]
        names = "、".join(f["field"] for f in fields[:5])
        raise ApiError(422, "invalid_input", f"输入有误：{names}", fields=fields) from None


#: pydantic's error types as a user reads them (its own messages are English); {name} takes the
#: error's context (the limit, the allowed values).
FIELD_MESSAGES = {
    "missing": "必填",
    "extra_forbidden": "不接受该字段",
    "string_type": "须为文本", "string_too_short": "至少 {min_length} 个字符", "string_too_long": "最多 {max_length} 个字符",
    "string_pattern_mismatch": "格式不正确",
    "int_type": "须为整数", "int_parsing": "须为整数", "int_from_float": "须为整数",
    "float_type": "须为数字", "float_parsing": "须为数字", "decimal_type": "须为数字", "decimal_parsing": "须为数字",
    "decimal_max_digits": "数字位数过多", "decimal_max_places": "小数位数过多", "finite_number": "须为有限的数字",
    "bool_type": "须为 true 或 false", "bool_parsing": "须为 true 或 false",
    "greater_than": "须大于 {gt}", "greater_than_equal": "不能小于 {ge}",
    "less_than": "须小于 {lt}", "less_than_equal": "不能大于 {le}",
    "date_type": "须为日期（如 2026-03-02）", "date_parsing": "须为日期（如 2026-03-02）",
    "date_from_datetime_parsing": "须为日期（如 2026-03-02）", "date_from_datetime_inexact": "须为日期，不带时刻",
    "datetime_type": "须为带时区的时间（如 2026-03-02T09:00:00+08:00）",
    "datetime_parsing": "须为带时区的时间（如 2026-03-02T09:00:00+08:00）",
    "datetime_from_date_parsing": "须为带时区的时间（如 2026-03-02T09:00:00+08:00）",
    "timezone_aware": "须带时区（如 +08:00）",
    "enum": "须为以下之一：{expected}", "literal_error": "须为以下之一：{expected}",
    "list_type": "须为列表", "dict_type": "须为对象", "model_type": "须为对象", "model_attributes_type": "须为对象",
    "too_short": "至少 {min_length} 项", "too_long": "最多 {max_length} 项",
    "uuid_parsing": "格式不正确", "url_parsing": "须为网址", "json_invalid": "不是有效的 JSON",
    "recursion_loop": "嵌套过深",
}


def field_message(err: Any) -> str:
    """One pydantic error in Chinese: a validator's own Chinese sentence as it is, else the table's."""
    kind, ctx = err["type"], err.get("ctx") or {}
    if kind in ("value_error", "assertion_error"):
        text = str(ctx.get("error") or err["msg"]).removeprefix("Value error, ").removeprefix("Assertion failed, ")
        # A sentence of ours is Chinese (an example such as 2026-03-02T09:00 may hold a letter);
        # pydantic's own and any English word become the table's plain words.
        return text if not re.search(r"[A-Za-z]{2,}", text.replace("JSON", "")) else "格式不正确"
    template = FIELD_MESSAGES.get(kind, "格式不正确")
    try:
        values = {k: str(v).replace("'", "").replace(" or ", "、").replace(", ", "、") for k, v in ctx.items()}
        return template.format(**values)
    except (KeyError, IndexError):
        return template.split("{")[0].rstrip("：") or "格式不正确"


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
    data = loads(raw, f"表单字段 {field} ")
    if not isinstance(data, dict):
        raise ApiError(422, "invalid_input", f"{field} 必须是一个 JSON 对象", fields=[{"field": field, "message": "须为 JSON 对象"}])
    return _validate(model, data)
