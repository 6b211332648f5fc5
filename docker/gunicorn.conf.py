# Production server settings (also used by bench/ so benchmarks measure what is deployed).
import os

bind = os.environ.get("HOURPROOF_BIND", "0.0.0.0:8000")
# Workers: one. dlib's face encoder holds the GIL, so face work runs in the worker's pool of face
# processes (server/facepool.py, HOURPROOF_FACE_PROCESSES, default one per core), not in its
# threads; one web process then keeps every core busy with faces. The default stays 1 also
# because Socket.IO's long-polling transport needs sticky sessions across workers (see README
# "Deploying"). Threads overlap I/O, uploads and websocket waits.
workers = int(os.environ.get("HOURPROOF_WORKERS", "1"))
worker_class = "gthread"
# Each open Socket.IO WebSocket (a dashboard, a phone in an online lesson) holds one thread for
# as long as it is connected (Flask-SocketIO's threading mode), so the thread count is the number
# of live connections a worker can hold, plus the requests in flight. An idle thread costs a few
# tens of KB; bench/fanout.py holds 500 dashboards. worker_connections must not be the lower limit.
threads = int(os.environ.get("HOURPROOF_THREADS", "1000"))
worker_connections = threads
timeout = 60
graceful_timeout = 20
keepalive = 5
accesslog = "-"
# No request bodies or query strings in the log: they may carry biometric frames or IDs.
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(b)s %(M)sms'
