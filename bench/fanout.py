"""Benchmark (issue 7): a check-in's event delivered to N supervisor dashboards over Socket.IO,
against a bare python-socketio server sending the same payload to the same number of clients in
the same run.

    .venv/bin/python bench/fanout.py               # 500 dashboards, 20 check-ins (a few minutes)
    .venv/bin/python bench/fanout.py --quick       # 50 dashboards, 5 check-ins (a smoke run)
    .venv/bin/python bench/fanout.py --json        # exactly one JSON object on stdout

Ours runs as deployed: `gunicorn -c docker/gunicorn.conf.py server.wsgi:app` (one gthread worker;
each WebSocket holds a thread, HOURPROOF_THREADS default 1000) on the demo's SQLite seed. The N
clients are python-socketio clients (WebSocket transport) in several spawned processes, all
signed in as the demo's district supervisor, so all N are in the district's room. Each round is a
real check-in by the demo trainee (frames of the Hamilton clip, through the face pool); the server
stamps `sent_at` when it sends the event, every client notes when it received it, and latency is
the difference (one machine, one clock). The bare server is python-socketio's own `Server` in a
WSGIApp under the same gunicorn config; a POST makes it send the very message our server sent
(with its own `sent_at`) to all its N clients. Latency percentiles are over every (client, round).
Target: our p99 <= 1.5x the bare p99. Not part of the test run.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import checkin as ck  # noqa: E402  (bench/checkin.py: seed, server runner, the phone's check-in)

SUPERVISOR, SUPERVISOR_PASSWORD = "yubei-supervisor", "demo-district-2026"

BARE_APP = '''import json
import time

import socketio

sio = socketio.Server(async_mode="threading")


def http(environ, start_response):
    if environ.get("PATH_INFO") == "/emit":
        body = json.loads(environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0)))
        body["sent_at"] = time.time()
        sio.emit("event", body)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"sent"]
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]


app = socketio.WSGIApp(sio, http)
'''


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def pct(values: list[float], q: float) -> float | None:
    return ck.pct(values, q)


# --- the dashboards -----------------------------------------------------------------------------


def client_process(base: str, cookie: str | None, count: int, connected, received, stop, out) -> None:
    """`count` Socket.IO clients; each notes (event id, receive time - sent_at) for every event."""
    import threading

    import socketio

    lock = threading.Lock()
    samples: list[tuple[int, float]] = []
    clients = []
    failures = 0

    def make():
        client = socketio.Client(reconnection=False)

        @client.on("event")
        def _event(message):
            now = time.time()
            with lock:
                samples.append((message.get("event_id") or 0, now - message["sent_at"]))
            with received.get_lock():
                received.value += 1

        return client

    headers = {"Cookie": cookie} if cookie else {}
    for _ in range(count):
        c = make()
        try:
            c.connect(base, headers=headers, transports=["websocket"], wait_timeout=30)
            clients.append(c)
            with connected.get_lock():
                connected.value += 1
        except Exception:  # noqa: BLE001 - counted, reported
            failures += 1
    stop.wait()
    for c in clients:
        try:
            c.disconnect()
        except Exception:  # noqa: BLE001
            pass
    out.put({"samples": samples, "failures": failures})


class Audience:
    def __init__(self, base: str, cookie: str | None, n: int, procs: int):
        ctx = mp.get_context("spawn")
        self.n = n
        self.connected, self.received = ctx.Value("i", 0), ctx.Value("i", 0)
        self.stop, self.out = ctx.Event(), ctx.Queue()
        sizes = [n // procs + (1 if i < n % procs else 0) for i in range(procs)]
        self.procs = [ctx.Process(target=client_process, args=(base, cookie, size, self.connected, self.received,
                                                                self.stop, self.out), daemon=True) for size in sizes]
        for p in self.procs:
            p.start()
        deadline = time.monotonic() + 60 + n * 0.2
        while self.connected.value < n and time.monotonic() < deadline:
            if not any(p.is_alive() for p in self.procs):
                break
            time.sleep(0.2)
        if self.connected.value < n:
            self.close()
            raise SystemExit(f"only {self.connected.value} of {n} clients connected to {base}")

    def wait_for(self, total: int, timeout: float = 30.0) -> bool:
        deadline = time.monotonic() + timeout
        while self.received.value < total and time.monotonic() < deadline:
            time.sleep(0.005)
        return self.received.value >= total

    def close(self) -> dict:
        self.stop.set()
        samples, failures = [], 0
        for _ in self.procs:
            try:
                r = self.out.get(timeout=60)
            except Exception:  # noqa: BLE001
                break
            samples += r["samples"]
            failures += r["failures"]
        for p in self.procs:
            p.join(timeout=10)
            if p.is_alive():
                p.kill()
        return {"samples": samples, "failures": failures}


def _summary(samples: list[tuple[int, float]]) -> dict:
    ms = [1000 * s for _, s in samples]
    return {"deliveries": len(ms), "p50_ms": pct(ms, 0.5), "p90_ms": pct(ms, 0.9), "p99_ms": pct(ms, 0.99),
            "max_ms": max(ms) if ms else None}


# --- the run --------------------------------------------------------------------------------------


def run(n: int, rounds: int, procs: int) -> dict:
    cores = os.cpu_count() or 1
    result: dict = {"machine": {"cpu_count": cores, "python": platform.python_version(), "platform": platform.platform(),
                                "loadavg_start": os.getloadavg()},
                    "config": {"clients": n, "rounds": rounds, "client_processes": procs,
                               "server": "gunicorn -c docker/gunicorn.conf.py (1 gthread worker, threads 1000)",
                               "transport": "websocket"}}
    frames = ck.clip_frames()
    tmp = Path(tempfile.mkdtemp(prefix="hourproof-fanout-"))
    servers = []
    try:
        log("seeding the demo ...")
        ids = ck.seed(tmp / "data")
        env = ck.server_env(tmp / "data", ck.free_port(), 1)
        srv = ck.Server("hourproof", "server.wsgi:app", env, tmp / "server.log", ROOT, "/api/health")
        servers.append(srv)
        sup = requests.Session()
        r = sup.post(f"{srv.base}/api/auth/login", json={"username": SUPERVISOR, "password": SUPERVISOR_PASSWORD}, timeout=30)
        if r.status_code != 200:
            raise SystemExit(f"supervisor log-in failed: {r.status_code} {r.text[:200]}")
        cookie = "; ".join(f"{k}={v}" for k, v in sup.cookies.items())
        phone = ck._session(ck.login(srv.base))
        log("warm-up check-in (loads the face models) ...")
        ck._check_in(phone, srv.base, ids["offline"], frames, ck._fix())

        log(f"ours: connecting {n} dashboards ...")
        audience = Audience(srv.base, cookie, n, procs)
        last_message = None
        checkins = []
        for i in range(rounds):
            rec = ck._check_in(phone, srv.base, ids["offline"], frames, ck._fix())
            checkins.append({"ok": rec["ok"], "verdict": rec.get("verdict"), "events_s": rec.get("events_s")})
            if not audience.wait_for(n * (i + 1)):
                log(f"round {i}: only {audience.received.value - n * i} of {n} deliveries")
        ours = audience.close()
        got = ours["samples"]
        result["ours"] = _summary(got) | {"connect_failures": ours["failures"], "checkins": checkins,
                                          "expected_deliveries": n * rounds}
        # The payload for the bare server: the message our server actually sent (as the phone's
        # event answer cannot give it, fetch it the way a reconnecting dashboard does).
        snap = sup.get(f"{srv.base}/api/live/snapshot?since=0", timeout=30).json()
        last_message = snap["events"][-1] if snap["events"] else {"event_id": 0}
        result["payload_bytes"] = len(json.dumps(last_message, ensure_ascii=False).encode())
        srv.stop()
        servers.remove(srv)

        (tmp / "bare").mkdir()
        (tmp / "bare" / "bench_fanout_bare.py").write_text(BARE_APP)
        benv = ck.server_env(tmp / "bare-data", ck.free_port(), 1) | {"PYTHONPATH": str(tmp / "bare")}
        bare = ck.Server("bare", "bench_fanout_bare:app", benv, tmp / "bare.log", tmp / "bare", "/health")
        servers.append(bare)
        log(f"bare python-socketio: connecting {n} clients ...")
        audience = Audience(bare.base, None, n, procs)
        s = requests.Session()
        for i in range(rounds):
            time.sleep(0.3)  # ours had a check-in's worth of quiet between rounds too
            s.post(f"{bare.base}/emit", json=last_message, timeout=30)
            if not audience.wait_for(n * (i + 1)):
                log(f"bare round {i}: only {audience.received.value - n * i} of {n} deliveries")
        b = audience.close()
        result["bare"] = _summary(b["samples"]) | {"connect_failures": b["failures"], "expected_deliveries": n * rounds}
        result["machine"]["loadavg_end"] = os.getloadavg()
    finally:
        for s_ in servers:
            try:
                s_.stop()
            except Exception as exc:  # noqa: BLE001
                log(f"could not stop {s_.name}: {exc}")
        shutil.rmtree(tmp, ignore_errors=True)
    o, b = result["ours"], result["bare"]
    result["ratios"] = {"p50_ours_over_bare": ck.ratio(o["p50_ms"], b["p50_ms"]),
                        "p99_ours_over_bare": ck.ratio(o["p99_ms"], b["p99_ms"])}
    p99 = result["ratios"]["p99_ours_over_bare"]
    result["target"] = {"p99_le_1.5x_bare": {"value": p99, "met": p99 is not None and p99 <= 1.5
                                             and o["deliveries"] == o["expected_deliveries"]}}
    return result


def print_human(r: dict) -> None:
    c = r["config"]
    print(f"hourproof Socket.IO fan-out benchmark (issue 7): {c['clients']} dashboards, {c['rounds']} rounds, "
          f"{c['client_processes']} client processes; {c['server']}; {c['transport']}")
    for name in ("ours", "bare"):
        s = r[name]
        print(f"  {name:5s}: {s['deliveries']}/{s['expected_deliveries']} deliveries, p50 {s['p50_ms']:.1f} ms, "
              f"p90 {s['p90_ms']:.1f} ms, p99 {s['p99_ms']:.1f} ms, max {s['max_ms']:.1f} ms, connect failures {s['connect_failures']}")
    print(f"  payload {r['payload_bytes']} bytes; check-ins: {[x['verdict'] for x in r['ours']['checkins']]}")
    print(f"  ratio ours/bare: p50 {r['ratios']['p50_ours_over_bare']:.2f}x, p99 {r['ratios']['p99_ours_over_bare']:.2f}x "
          f"(target p99 <= 1.5x: {'MET' if r['target']['p99_le_1.5x_bare']['met'] else 'NOT MET'})")
    print(f"  load average start {r['machine']['loadavg_start']}, end {r['machine'].get('loadavg_end')}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--clients", type=int, default=None)
    p.add_argument("--rounds", type=int, default=None)
    p.add_argument("--procs", type=int, default=5, help="client processes")
    p.add_argument("--quick", action="store_true")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    n = args.clients or (50 if args.quick else 500)
    rounds = args.rounds or (5 if args.quick else 20)
    result = run(n, rounds, args.procs)
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
    else:
        print_human(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
