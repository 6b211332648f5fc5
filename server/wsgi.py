"""WSGI entry point for production: `gunicorn -c docker/gunicorn.conf.py server.wsgi:app`.

Flask-SocketIO's threading mode serves websockets through simple-websocket inside gunicorn's
threaded worker; how many workers, and why Redis decides it, is in docker/gunicorn.conf.py. Face work runs
in the worker's pool of face processes (HOURPROOF_FACE_PROCESSES, one per core by default),
started here so the first check-in does not wait for the models."""
import logging

from server import create_app

app = create_app()
try:
    # A worker that starts may be replacing one that was killed mid-export: its jobs are marked
    # failed and its temp dirs removed now (the scheduler's duty only sees its own container's).
    from server.scheduler.jobs import export_housekeeping

    logging.getLogger("hourproof.exports").info("at start: %s", export_housekeeping(app))
except Exception:  # noqa: BLE001 - housekeeping must never keep the server from starting
    logging.getLogger("hourproof.exports").exception("export housekeeping at start failed")
if app.extensions.get("hourproof_face_pool") is not None:
    app.extensions["hourproof_face_pool"].start()
