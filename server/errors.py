"""Every error leaves as JSON with a code and a message that says what to do; never a stack trace.
Database unreachable -> 503 (nothing was written: the request's transaction rolled back)."""
from __future__ import annotations

from flask import Flask, jsonify
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, OperationalError
from werkzeug.exceptions import HTTPException

#: What Werkzeug's own errors say to a user (its descriptions are English).
HTTP_MESSAGES = {
    400: "请求格式有误，请检查后重试",
    401: "请先登录",
    403: "没有权限进行此操作",
    404: "找不到该地址或记录",
    405: "该地址不支持这种请求方法",
    408: "请求超时，请重试",
    409: "与已有记录冲突，未保存任何内容",
    413: "上传的内容过大，请缩小文件后重试",
    414: "请求地址过长",
    415: "不支持该内容类型",
    429: "请求过于频繁，请稍后再试",
    431: "请求头过大，请清除本站 Cookie 后重试",
    500: "服务器出错，本次请求未保存任何内容，请稍后重试",
    503: "服务暂时不可用，请稍后重试",
}


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, **detail):
        super().__init__(message)
        self.status, self.code, self.message, self.detail = status, code, message, detail


def register(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def _api_error(err: ApiError):
        return jsonify(error={"code": err.code, "message": err.message, **err.detail}), err.status

    @app.errorhandler(HTTPException)
    def _http(err: HTTPException):
        # Werkzeug's own errors (no route, wrong method, a body or header too large) in our shape
        # and in Chinese; its headers kept (405 says what is allowed in Allow).
        code = err.code or 500
        message = HTTP_MESSAGES.get(code, "请求无法处理，请检查后重试")
        allowed = getattr(err, "valid_methods", None)  # MethodNotAllowed's
        if code == 405 and allowed:
            message += "（可用：" + "、".join(sorted(allowed)) + "）"
        response = jsonify(error={"code": err.name.lower().replace(" ", "_"), "message": message})
        for name, value in err.get_headers():
            if name.lower() != "content-type":
                response.headers[name] = value
        return response, code

    @app.errorhandler(DataError)
    def _bad_value(err: DataError):
        # A value the schema let through but the database cannot store (an id out of range).
        _rollback()
        return jsonify(error={"code": "invalid_value", "message": "输入的数值超出允许范围，未保存任何内容"}), 422

    @app.errorhandler(IntegrityError)
    def _conflict(err: IntegrityError):
        # Two requests raced to create the same thing; the loser changes nothing.
        _rollback()
        return jsonify(error={"code": "conflict", "message": "与已有记录冲突（可能是重复提交），未保存任何内容"}), 409

    @app.errorhandler(OperationalError)
    def _db_down(err: OperationalError):
        # The driver's error code (SQLITE_BUSY, a PostgreSQL SQLSTATE), never its message: a
        # message may quote the values of the statement.
        code = getattr(err.orig, "sqlite_errorname", None) or getattr(err.orig, "sqlstate", None) or ""
        app.logger.error("database unavailable: %s %s", err.orig.__class__.__name__, code)
        return (
            jsonify(error={"code": "database_unavailable", "message": "数据库暂时不可用，本次请求未保存任何内容，请稍后重试"}),
            503,
        )

    @app.errorhandler(DBAPIError)
    def _db_error(err: DBAPIError):
        # Any other error the database raised mid-request (an aborted PostgreSQL transaction, a
        # statement cancelled): the transaction rolls back at teardown, so nothing was written.
        app.logger.error("database error: %s", err.orig.__class__.__name__ if err.orig is not None else type(err).__name__)
        return (
            jsonify(error={"code": "database_error", "message": "数据库处理出错，本次请求未保存任何内容，请稍后重试"}),
            503,
        )


def _rollback() -> None:
    from flask import g

    session = g.get("db_session")
    if session is not None:
        session.rollback()
