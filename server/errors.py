"""Every error leaves as JSON with a code and a message that says what to do; never a stack trace.
Database unreachable -> 503 (nothing was written: the request's transaction rolled back)."""
from __future__ import annotations

from flask import Flask, jsonify
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException


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
        return jsonify(error={"code": err.name.lower().replace(" ", "_"), "message": err.description}), err.code

    @app.errorhandler(OperationalError)
    def _db_down(err: OperationalError):
        app.logger.error("database unavailable: %s", err.orig.__class__.__name__)
        return (
            jsonify(error={"code": "database_unavailable", "message": "数据库暂时不可用，本次请求未保存任何内容，请稍后重试"}),
            503,
        )
