"""Every error leaves as JSON with a code and a message that says what to do; never a stack trace.
Database unreachable -> 503 (nothing was written: the request's transaction rolled back)."""
from __future__ import annotations

from flask import Flask, jsonify
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, OperationalError
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
