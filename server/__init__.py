"""The hourproof Flask application: `create_app(config)` binds extensions, blueprints and the
database. Nothing is bound at import time, so tests and the CLI build as many apps as they need."""
from __future__ import annotations

from typing import Any

from flask import Flask

from .config import Settings
from .extensions import db, socketio


def create_app(config: dict[str, Any] | None = None) -> Flask:
    config = dict(config or {})
    settings = Settings.from_env(
        env=config.pop("ENV", None),
        **{k: config.pop(k) for k in ("data_dir", "database_url", "redis_url", "secret_key") if k in config},
    )
    app = Flask(__name__, instance_path=str(settings.data_dir), instance_relative_config=False)
    app.config.update(
        SECRET_KEY=settings.secret_key,
        HOURPROOF_SETTINGS=settings,
        MAX_CONTENT_LENGTH=16 * 1024 * 1024,
        JSON_AS_ASCII=False,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
    )
    app.config.update(config)
    app.json.ensure_ascii = False  # Chinese stays readable in JSON answers

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db.init_app(app, settings.database_url)
    # With REDIS_URL, every process (web workers, scheduler) emits through Redis to the same clients.
    socketio.init_app(app, message_queue=settings.redis_url, async_mode="threading", cors_allowed_origins=[])

    from .api import bp as api_bp
    from .web import bp as web_bp

    app.register_blueprint(api_bp)
    app.register_blueprint(web_bp)
    from .errors import register as register_errors

    register_errors(app)
    return app
