"""The OpenAPI 3.1 document, generated from the endpoint registry and the pydantic models that
validate the requests, so the document cannot drift from what the server enforces."""
from __future__ import annotations

from flask import Response, jsonify
from markupsafe import escape
from pydantic.json_schema import models_json_schema

from server.api.blueprint import bp
from server.api.framework import REGISTRY
from server.permissions import Capability, role_names

ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {"type": "object", "required": ["code", "message"], "properties": {
        "code": {"type": "string"}, "message": {"type": "string", "description": "what was wrong and what to do (zh-CN)"},
        "fields": {"type": "array", "items": {"type": "object", "properties": {
            "field": {"type": "string"}, "message": {"type": "string"}}}}}}},
}


def build_spec() -> dict:
    models = sorted({e.body for e in REGISTRY if e.body} | {e.query for e in REGISTRY if e.query}, key=lambda m: m.__name__)
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
                str(e.status): {"description": "OK", "content": {"application/json": {"schema": {}}}},
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


@bp.get("/docs")
def docs():
    spec = build_spec()
    rows = []
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            rows.append(f"<tr><td><code>{method.upper()}</code></td><td><code>{escape(path)}</code></td>"
                        f"<td>{escape(op['summary'])}</td><td>{escape(op.get('description', ''))}</td></tr>")
    html = (
        "<!doctype html><html lang='zh-CN'><meta charset='utf-8'><title>hourproof API</title>"
        "<style>body{font-family:system-ui,sans-serif;margin:2rem}td{padding:.2rem .6rem;border-bottom:1px solid #ddd}</style>"
        "<h1>hourproof API</h1><p>Machine-readable: <a href='/api/openapi.json'>/api/openapi.json</a> (OpenAPI 3.1)</p>"
        f"<table>{''.join(rows)}</table></html>"
    )
    return Response(html, mimetype="text/html")
