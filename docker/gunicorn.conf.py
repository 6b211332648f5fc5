# Production server settings (also used by bench/ so benchmarks measure what is deployed).
import os

bind = os.environ.get("HOURPROOF_BIND", "0.0.0.0:8000")
# One process per container: Socket.IO long-polling needs sticky sessions, and face work is
# CPU-bound in dlib, which releases the GIL; threads overlap I/O and websocket waits.
workers = int(os.environ.get("HOURPROOF_WORKERS", "1"))
worker_class = "gthread"
threads = int(os.environ.get("HOURPROOF_THREADS", "32"))
timeout = 60
graceful_timeout = 20
keepalive = 5
accesslog = "-"
# No request bodies or query strings in the log: they may carry biometric frames or IDs.
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(b)s %(M)sms'
