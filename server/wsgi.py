"""WSGI entry point for production: `gunicorn -c docker/gunicorn.conf.py server.wsgi:app`.

Flask-SocketIO's threading mode serves websockets through simple-websocket inside gunicorn's
threaded worker; one worker per container (Socket.IO needs sticky sessions across workers),
scaled out with more containers behind nginx and REDIS_URL as the message queue. Face work runs
in the worker's pool of face processes (HOURPROOF_FACE_PROCESSES, one per core by default),
started here so the first check-in does not wait for the models."""
from server import create_app

app = create_app()
if app.extensions.get("hourproof_face_pool") is not None:
    app.extensions["hourproof_face_pool"].start()
