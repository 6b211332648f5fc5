"""WSGI entry point for production: `gunicorn -c docker/gunicorn.conf.py server.wsgi:app`.

Flask-SocketIO's threading mode serves websockets through simple-websocket inside gunicorn's
threaded worker; one worker per container (Socket.IO needs sticky sessions across workers),
scaled out with more containers behind nginx and REDIS_URL as the message queue."""
from server import create_app

app = create_app()
