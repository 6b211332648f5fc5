# Production server settings (also used by bench/ so benchmarks measure what is deployed).
import os

bind = os.environ.get("HOURPROOF_BIND", "0.0.0.0:8000")
# Workers: dlib's face encoder holds the GIL, so face work runs in each worker's pool of face
# processes (server/adapters/facepool.py, HOURPROOF_FACE_PROCESSES, default one per core), not in its
# threads. What is left in the web process (uploads, checks, database writes) is bound by that
# process's GIL: with REDIS_URL set (docker/compose.yaml) the default is one worker per core, and
# Redis carries every Socket.IO message to the clients of every worker. Without Redis the default
# stays 1: a dashboard connected to one worker would not hear events handled by another. Pages
# connect by WebSocket, which needs no sticky sessions; a client forced onto long-polling does
# (see README "Deploying"). Threads overlap I/O, uploads and websocket waits.
_default_workers = (os.cpu_count() or 1) if os.environ.get("REDIS_URL") else 1
workers = int(os.environ.get("HOURPROOF_WORKERS") or _default_workers)
worker_class = "gthread"
# Each open Socket.IO WebSocket (a dashboard, a phone in an online lesson) holds one thread for
# as long as it is connected (Flask-SocketIO's threading mode), so the thread count is the number
# of live connections a worker can hold, plus the requests in flight. An idle thread costs a few
# tens of KB; bench/fanout.py holds 500 dashboards. worker_connections must not be the lower limit.
threads = int(os.environ.get("HOURPROOF_THREADS", "1000"))
# gthread keeps idle keep-alive connections only up to worker_connections - threads: with the two
# equal (as before) it closed every connection after one request, so every heartbeat paid a new
# TCP connection on both ends (gunicorn warns "No keepalived connections can be handled").
keepalive_connections = int(os.environ.get("HOURPROOF_KEEPALIVE_CONNECTIONS", "1000"))
worker_connections = threads + keepalive_connections
timeout = 60
graceful_timeout = 20
keepalive = 5
accesslog = "-"
# No request bodies or query strings in the log: they may carry biometric frames or IDs.
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(b)s %(M)sms'


def worker_exit(server, worker):
    """A worker stopping gracefully (a deploy, a HUP) lets its running exports finish first, within
    the graceful timeout; one still running after that is recovered as killed (export_housekeeping
    marks it failed with 导出中断, and the user exports again)."""
    import sys

    wsgi = sys.modules.get("server.wsgi")
    if wsgi is not None:
        from server import close_app

        close_app(wsgi.app, wait_s=max(1.0, graceful_timeout - 5))
