"""The hourproof Flask application: `create_app(config)` binds extensions, blueprints and the
database. Nothing is bound at import time, so tests and the CLI build as many apps as they need."""
from __future__ import annotations

import os
from typing import Any, cast

from flask import Flask
from sqlalchemy import Table

from server.config import Settings
from server.extensions import db, socketio


def create_app(config: dict[str, Any] | None = None) -> Flask:
    config = dict(config or {})
    env = config.pop("ENV", None)  # tests pass their own environment; None = the process's
    settings = Settings.from_env(
        env=env,
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
        PERMANENT_SESSION_LIFETIME=30 * 24 * 3600,  # the longest role lifetime; auth.py checks each role's own
        # The cookie's own expiry ("exp", set at log-in) ends a session, so re-signing and
        # re-sending the cookie on every request (heartbeats every 30 s) would buy nothing.
        SESSION_REFRESH_EACH_REQUEST=False,
    )
    app.config.update(config)
    app.json.ensure_ascii = False  # type: ignore[attr-defined]  # DefaultJSONProvider has it; Chinese stays readable

    # Ids in URLs fit the database's integer: /api/classes/99999999999999999999 is a 404, not a
    # database error; and they are ASCII digits (\d would route /api/classes/１ to class 1).
    from werkzeug.routing import IntegerConverter

    class IdConverter(IntegerConverter):
        regex = r"[0-9]+"

        def __init__(self, url_map, *args, **kwargs):
            kwargs.setdefault("max", 2**31 - 1)
            super().__init__(url_map, *args, **kwargs)

    app.url_map.converters["int"] = IdConverter

    # Behind nginx (docker/compose.yaml) the client's address is in X-Forwarded-For; trust exactly
    # the configured number of proxies, or none (a client could otherwise forge its address).
    hops = int((os.environ if env is None else env).get("HOURPROOF_PROXY_HOPS", "0") or 0)
    if hops:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]  # Flask's documented way

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db.init_app(app, settings.database_url, pool_size=settings.db_pool_size, max_overflow=settings.db_max_overflow)
    from server.database.groupcommit import GroupCommitWriter
    from server.models import Heartbeat

    app.extensions["hourproof_heartbeats"] = GroupCommitWriter(db.engine_of(app), cast(Table, Heartbeat.__table__))
    # With REDIS_URL, every process (web workers, scheduler) emits through Redis to the same clients.
    # HOURPROOF_SOCKETIO_CHANNEL: the Redis channel; deployments sharing one Redis (or parallel
    # test runs) keep apart by naming their own.
    channel = (os.environ if env is None else env).get("HOURPROOF_SOCKETIO_CHANNEL") or "hourproof"
    socketio.init_app(app, message_queue=settings.redis_url, channel=channel, async_mode="threading")  # same origin only
    from server.sockets import PresencePush, presence_rooms_reader, register_handlers

    register_handlers()
    # Online presence changes pushed to the roll (the heartbeat's route and its fast path call it).
    app.extensions["hourproof_presence_push"] = PresencePush(presence_rooms_reader(app.extensions["hourproof_db"].sessionmaker))

    _bind_face_pipeline(app, config, os.environ if env is None else env)
    from server.api import auth
    from server.api import bp as api_bp

    app.before_request(auth.check_csrf)
    from server.web import bp as web_bp

    app.register_blueprint(api_bp)
    app.register_blueprint(web_bp)
    from server.web.staff import bp as staff_bp
    app.register_blueprint(staff_bp)
    from server.web.phone import bp as phone_bp
    app.register_blueprint(phone_bp)
    from server.errors import register as register_errors

    register_errors(app)
    from server.api.heartbeat_fastpath import install as install_heartbeat_fastpath

    install_heartbeat_fastpath(app)
    return app


def _bind_face_pipeline(app: Flask, config: dict[str, Any], env) -> None:
    """The recognizer is created on first use (loading dlib's models costs a second); tests pass
    RECOGNIZER_FACTORY to use a fake of the protocol instead.

    With the real recognizer, check-ins' liveness checks run in a pool of face worker processes
    (``HOURPROOF_FACE_PROCESSES``, default one per core; see adapters/facepool.py): dlib holds the GIL, so
    threads alone would use one core. FACE_PROCESSES in the config overrides the environment."""
    import threading

    from server.adapters.filestore import EvidenceStore
    from server.config import challenge_limit, location_settings, map_settings, media_settings, public_url, recognition_settings

    app.config.setdefault("RECOGNITION_SETTINGS", recognition_settings(env))
    app.config.setdefault("CHALLENGES_PER_MINUTE", challenge_limit(env))
    app.config.setdefault("LOCATION_SETTINGS", location_settings(env))
    app.config.setdefault("MEDIA_SETTINGS", media_settings(env))
    app.config.setdefault("MAP_SETTINGS", map_settings(env))
    app.config.setdefault("PUBLIC_URL", public_url(env))
    factory = app.config.get("RECOGNIZER_FACTORY")
    cache: dict[str, Any] = {}
    lock = threading.Lock()

    def recognizer():
        with lock:
            if "r" not in cache:
                if factory is not None:
                    cache["r"] = factory()
                else:
                    from recognition import DlibRecognizer

                    cache["r"] = DlibRecognizer()
            return cache["r"]

    app.extensions["hourproof_recognizer"] = recognizer
    from server.adapters.facepool import configured_processes, shared_pool

    processes = config.get("FACE_PROCESSES")
    processes = configured_processes(env) if processes is None else int(processes)
    app.extensions["hourproof_face_pool"] = shared_pool(processes) if factory is None and processes > 0 else None
    # Face templates (the column type) and face photos (the evidence store) are sealed with the
    # deployment's keys; made on first start in the demo, a mounted secret in production.
    from server.adapters import sealing

    settings = app.config["HOURPROOF_SETTINGS"]
    keyring = sealing.Keyring.create(settings.keys_file, settings.accept_unsealed)
    sealing.install(keyring)
    app.extensions["hourproof_keyring"] = keyring
    app.extensions["hourproof_evidence"] = EvidenceStore(settings.data_dir / "evidence", keyring=keyring,
                                                         accept_unsealed=settings.accept_unsealed)
    # Lesson videos: stored the same way, apart from the evidence (the retention duty purges
    # evidence photos; a lesson's video is the institution's teaching material).
    app.extensions["hourproof_media"] = EvidenceStore(app.config["HOURPROOF_SETTINGS"].data_dir / "media", shared=True)
    # The deployment's templates for "one face, one identity" at enrolment: built from the database
    # on first use, kept in step with it before every search (services/faceindex.py).
    from server.services.faceindex import TemplateIndex

    app.extensions["hourproof_face_index"] = TemplateIndex()


def close_app(app: Flask, wait_s: float = 30.0) -> None:
    """Let go of what an app holds: wait (bounded) for its export jobs, then close its database
    connections. Tests call it for every app they build; the connections of a job still running
    after ``wait_s`` stay with that job (logged), and its outcome is recovered as for a killed
    process (export_housekeeping)."""
    import logging

    from server.exports import service as exports

    still = exports.wait_for_jobs(app, wait_s)
    if still:
        logging.getLogger("hourproof").warning("closing the app with %d export job(s) still running: %s",
                                               len(still), ", ".join(t.name for t in still))
    app.extensions["hourproof_presence_push"].close()
    handle = app.extensions["hourproof_db"]
    handle.engine.dispose()
    handle.read_engine.dispose()
