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
threads = int(os.environ.get("HOURPROOF_THREADS", "32"))
timeout = 60
graceful_timeout = 20
keepalive = 5
accesslog = "-"
# No request bodies or query strings in the log: they may carry biometric frames or IDs.
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(b)s %(M)sms'
