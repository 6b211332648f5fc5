# Production server settings (also used by bench/ so benchmarks measure what is deployed).
import os

bind = os.environ.get("HOURPROOF_BIND", "0.0.0.0:8000")
# Workers: dlib's face encoder holds the GIL (measured by bench/checkin.py: two threads encode
# at 1.0-1.07x one thread), so one worker uses about one core for face work; HOURPROOF_WORKERS=2
# on 2 cores gave 0.65x ideal throughput against 0.45x. The default stays 1 because Socket.IO's
# long-polling transport needs sticky sessions across workers (see README "Deploying").
# Threads overlap I/O, uploads and websocket waits.
workers = int(os.environ.get("HOURPROOF_WORKERS", "1"))
worker_class = "gthread"
threads = int(os.environ.get("HOURPROOF_THREADS", "32"))
timeout = 60
graceful_timeout = 20
keepalive = 5
accesslog = "-"
# No request bodies or query strings in the log: they may carry biometric frames or IDs.
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(b)s %(M)sms'
