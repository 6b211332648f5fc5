"""The OpenAPI 3.1 document, generated from the endpoint registry, the pydantic models that
validate the requests (schemas.py) and those of the success bodies (responses.py), so the document
cannot drift from what the server enforces and answers; and the page that shows it to integrators
(/api/docs: Swagger UI, vendored, under a strict CSP, "Try it out" with the cookie session)."""
from __future__ import annotations

import typing
from pathlib import Path
from typing import Any

from flask import Response, jsonify, send_from_directory
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from server.api.blueprint import bp
from server.api.framework import REGISTRY, Endpoint
from server.permissions import Capability, role_names

ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {"type": "object", "required": ["code", "message"], "properties": {
        "code": {"type": "string"}, "message": {"type": "string", "description": "what was wrong and what to do (zh-CN)"},
        "fields": {"type": "array", "items": {"type": "object", "properties": {
            "field": {"type": "string"}, "message": {"type": "string"}}}}}}},
}


#: What each success status means, as the document says it.
STATUS_TEXT = {200: "OK", 201: "Created", 202: "Accepted (held or queued)", 206: "Partial content (a byte range)"}


def _response_model(response: Any) -> type[BaseModel] | None:
    """The pydantic model of an endpoint's success body (server/api/responses.py): the model, or
    the item model of a list[Model]."""
    if response is None:
        return None
    if typing.get_origin(response) is list:
        return typing.get_args(response)[0]
    return response


def _success(e: Endpoint, refs: dict) -> dict:
    """The success responses of one operation: every status it answers with (framework.Endpoint.statuses),
    each with its body: the response model, or the file's content type."""
    if e.produces is not None:
        content = {e.produces: {"schema": {"type": "string", "format": "binary"}}}
    elif e.response is not None:
        ref = refs[(_response_model(e.response), "validation")]
        content = {"application/json": {"schema": {"type": "array", "items": ref} if typing.get_origin(e.response) is list else ref}}
    else:
        content = {"application/json": {"schema": {}}}
    return {str(code): {"description": STATUS_TEXT.get(code, "OK"), "content": content} for code in e.statuses}


def build_spec() -> dict:
    models = sorted({e.body for e in REGISTRY if e.body} | {e.query for e in REGISTRY if e.query}
                    | {m for e in REGISTRY if (m := _response_model(e.response)) is not None}, key=lambda m: m.__name__)
    refs, defs = models_json_schema([(m, "validation") for m in models], ref_template="#/components/schemas/{model}")
    paths: dict[str, dict] = {}
    for e in REGISTRY:
        path = e.path
        for p in e.path_params:
            path = path.replace(f"<int:{p}>", "{" + p + "}").replace(f"<{p}>", "{" + p + "}")
        op: dict = {
            "summary": e.summary,
            "tags": [e.tag],
            "operationId": f"{e.method.lower()}_{path.strip('/').replace('/', '_').replace('{', '').replace('}', '')}",
            "parameters": [{"name": p, "in": "path", "required": True, "schema": {"type": "integer"}} for p in e.path_params],
            "responses": {
                **_success(e, refs),
                "4XX": {"description": "bad input, not allowed or not found",
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
            },
        }
        if not e.public:
            op["security"] = [{"session": []}]
            op["responses"]["401"] = {"description": "not logged in"}
        if e.capability is not None:
            # Who may call it, from the permissions table (server/permissions.py).
            op["x-capability"] = e.capability.value
            op["x-roles"] = role_names(e.capability)
            op["description"] = (f"Capability: {e.capability.value} ({e.capability.__doc__}). "
                                 f"Roles: {', '.join(role_names(e.capability))}")
        elif not e.public:
            op["description"] = "Any signed-in user (what it shows is the user's own scope)."
        if e.body:
            op["requestBody"] = {"required": True, "content": {"application/json": {"schema": refs[(e.body, "validation")]}}}
        if e.query:
            schema = e.query.model_json_schema()
            for name, prop in schema.get("properties", {}).items():
                op["parameters"].append({"name": name, "in": "query", "required": name in schema.get("required", []), "schema": prop})
        if e.multipart:
            op["requestBody"] = {"required": True, "content": {"multipart/form-data": {"schema": {
                "type": "object",
                "properties": {k: {"type": "string", "format": "binary" if k in ("file", "photos") else None, "description": v}
                               for k, v in e.multipart.items()}}}}}
            for prop in op["requestBody"]["content"]["multipart/form-data"]["schema"]["properties"].values():
                if prop["format"] is None:
                    del prop["format"]
        paths.setdefault(path, {})[e.method.lower()] = op
    components = dict(defs.get("$defs", {}))
    components["Error"] = ERROR
    return {
        "openapi": "3.1.0",
        "info": {"title": "hourproof API", "version": "0.1.0",
                 "description": "Attendance verification for subsidised vocational training. Cookie session from "
                                "POST /api/auth/login; send the returned csrf_token as X-CSRF-Token on every POST."},
        "paths": dict(sorted(paths.items())),
        # The permissions table: what each capability allows and the roles that hold it.
        "x-capabilities": {c.value: {"description": c.__doc__, "roles": role_names(c)} for c in Capability},
        "components": {"schemas": components,
                       "securitySchemes": {"session": {"type": "apiKey", "in": "cookie", "name": "session"}}},
    }


@bp.get("/openapi.json")
def openapi_json():
    return jsonify(build_spec())


#: The API page's own script (Swagger UI's initializer) lives beside this module; Swagger UI itself
#: is vendored with the pages' other third-party code (server/web/vendor, its licence beside it).
STATIC = Path(__file__).resolve().parent / "static"

#: Scripts and styles from this server only, like the staff pages (server/web/staff/__init__.py).
#: Swagger UI sets element styles through the DOM (allowed without 'unsafe-inline') and draws its
#: icons from data: URIs; "Try it out" calls this origin only (the validator badge is off).
DOCS_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
            "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")

DOCS_PAGE = """<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>hourproof 学时核验 · 接口文档</title>
<link rel="stylesheet" href="/vendor/swagger-ui.css">
<link rel="stylesheet" href="/api/docs/docs.css">
</head>
<body>
<header class="docs-intro">
<h1>hourproof 学时核验 · 接口文档（OpenAPI 3.1）</h1>
<p>供对接系统使用：每个接口的参数、请求体与应答结构均由服务器校验所用的同一套模型生成；
机器可读的文档在 <a href="/api/openapi.json">/api/openapi.json</a>。
调试（Try it out）使用本浏览器的登录会话：先调用 <code>POST /api/auth/login</code> 登录，
写操作自动附带 <code>X-CSRF-Token</code>（取自 <code>GET /api/auth/me</code>）。</p>
</header>
<div id="swagger-ui"></div>
<script src="/vendor/swagger-ui-bundle.js"></script>
<script src="/api/docs/docs.js"></script>
</body>
</html>
"""


@bp.get("/docs")
def docs():
    resp = Response(DOCS_PAGE, mimetype="text/html")
    resp.headers["Content-Security-Policy"] = DOCS_CSP
    resp.headers["X-Content-Type-Options"] = "nosniff"
    return resp


@bp.get("/docs/<any('docs.js', 'docs.css'):name>")
def docs_static(name: str):
    """The page's own script (Swagger UI's initializer) and style, from server/api/static/."""
    resp = send_from_directory(STATIC, name)
    resp.headers["X-Content-Type-Options"] = "nosniff"
    return resp
