"""Application commands: `hourproof db upgrade`, `hourproof demo`, `hourproof serve`."""
from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING

from server.clock import local, utc_now

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


def add_commands(sub: argparse._SubParsersAction) -> None:
    p_db = sub.add_parser("db", help="database schema (Alembic migrations)")
    db_sub = p_db.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    up = db_sub.add_parser("upgrade", help="migrate the database to the newest schema")
    up.add_argument("--revision", default="head")
    up.set_defaults(handler=_db_upgrade)
    cur = db_sub.add_parser("current", help="print the schema revision the database is at")
    cur.set_defaults(handler=_db_current)

    demo = sub.add_parser(
        "demo", help="migrate, seed demo data (a live Chongqing class) and serve on http://127.0.0.1:5000"
    )
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=int, default=5000)
    demo.add_argument("--no-serve", action="store_true", help="only migrate and seed, then print the log-ins")
    demo.set_defaults(handler=_demo)

    user = sub.add_parser("user", help="accounts")
    user_sub = user.add_subparsers(dest="user_command", metavar="ACTION", required=True)
    create = user_sub.add_parser(
        "create",
        help="create an account (e.g. the first admin); the password is read from HOURPROOF_PASSWORD or prompted",
    )
    create.add_argument("--username", required=True)
    create.add_argument("--role", required=True, choices=["admin", "city_reviewer", "district_supervisor",
                                                          "institution_admin", "teacher"])
    create.add_argument("--name", required=True, help="display name")
    create.add_argument("--institution-id", type=int)
    create.add_argument("--district-id", type=int)
    create.add_argument("--city-id", type=int)
    create.set_defaults(handler=_user_create)

    audit_p = sub.add_parser("audit", help="evidence integrity")
    audit_sub = audit_p.add_subparsers(dest="audit_command", metavar="ACTION", required=True)
    verify_p = audit_sub.add_parser("verify", help="recompute the event hash chains and name the first broken link")
    verify_p.add_argument("--class-id", type=int, help="only this class's chain")
    verify_p.add_argument("--photos", action="store_true",
                          help="also re-hash every photo file the evidence names (check-in frames, group photos): "
                               "reads them all, so it takes a while on a large store")
    verify_p.add_argument("--json", action="store_true")
    verify_p.set_defaults(handler=_audit_verify)

    sched = sub.add_parser("scheduler", help="run the scheduled duties; several may run, one holds the lock and "
                                             "runs the jobs, the others stand by")
    sched.add_argument("--poll", type=float, default=5.0,
                       help="seconds between tries of the lock (standby) and checks that it is still held")
    sched.add_argument("--seconds", type=int, help="run every job at this interval instead of its own (testing)")
    sched.add_argument("--status", action="store_true",
                       help="print each job's latest run per scheduler process (job_status) and exit")
    sched.set_defaults(handler=_scheduler)

    export = sub.add_parser("export", help="export a class or a district as a signed bundle (zip), with a progress bar")
    ex_sub = export.add_subparsers(dest="export_command", metavar="SUBJECT", required=True)
    ex_class = ex_sub.add_parser("class", help="one class: 考勤表, hour log, subsidy decisions (kind subsidy also seals the hours)")
    ex_class.add_argument("class_id", type=int)
    ex_class.add_argument("--kind", default="class", choices=["class", "subsidy", "js_filing", "certificates"])
    ex_class.add_argument("--formats", default="xlsx,csv,pdf", help="comma-separated: xlsx, csv, pdf (default all)")
    ex_class.add_argument("--out", help="the bundle's path (default: <data dir>/exports/...)")
    ex_class.set_defaults(handler=_export)
    ex_district = ex_sub.add_parser("district", help="a district's roll-up and every trainee's subsidy decision")
    ex_district.add_argument("district_id", type=int)
    ex_district.add_argument("--formats", default="xlsx,csv")
    ex_district.add_argument("--out")
    ex_district.set_defaults(handler=_export)

    key_p = sub.add_parser("signing-key", help="print the deployment's Ed25519 public key (created on first use)")
    key_p.set_defaults(handler=_signing_key)

    verify_b = sub.add_parser("verify", help="check a bundle: signature, every file's SHA-256, and the chain heads "
                                             "against the database (when it has them); exit 1 naming what fails")
    verify_b.add_argument("bundle")
    verify_b.add_argument("--public-key", help="PEM file (or base64 of the raw key); default: this deployment's key")
    verify_b.add_argument("--no-database", action="store_true", help="do not compare chain heads with the database")
    verify_b.set_defaults(handler=_verify_bundle)

    serve = sub.add_parser("serve", help="serve the app (development server; see README for production)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=5000)
    serve.set_defaults(handler=_serve)


def app_for_command():
    """An app with its context pushed: commands use `db` like a request would."""
    from server import create_app

    app = create_app()
    app.app_context().push()
    return app


def _db_upgrade(args) -> int:
    from server.database import migrate as dbmigrate
    from server.extensions import db

    app = app_for_command()
    dbmigrate.upgrade(db.engine, args.revision)
    print(f"database at revision {dbmigrate.current(db.engine)} ({app.config['HOURPROOF_SETTINGS'].database_url.split('://')[0]})")
    return 0


def _db_current(args) -> int:
    from server.database import migrate as dbmigrate
    from server.extensions import db

    app_for_command()
    print(dbmigrate.current(db.engine) or "(empty database: run `hourproof db upgrade`)")
    return 0


def _demo(args) -> int:
    from server.database import migrate as dbmigrate
    from server.extensions import db, socketio
    from server.services import demo

    app = app_for_command()
    dbmigrate.upgrade(db.engine)
    now = utc_now()
    with db.begin() as session:
        logins = demo.seed(session, now)
    faces_dir = demo.default_faces_dir()
    if faces_dir is None:
        wanted = os.environ.get("HOURPROOF_FACES_DIR")
        face_lines = [f"no images/ folder in HOURPROOF_FACES_DIR={wanted}: demo trainees have no faces yet" if wanted
                      else "no ../shared/faces found (set HOURPROOF_FACES_DIR): demo trainees have no faces yet"]
    else:
        with db.begin() as session:
            face_lines = demo.seed_faces(session, faces_dir, app.extensions["hourproof_recognizer"](), now)
    base = f"http://{args.host}:{args.port}"
    settings = app.config["HOURPROOF_SETTINGS"]
    print("hourproof demo")
    print(f"  data:      {settings.data_dir}  ({settings.database_url.split('://')[0]})")
    print(f"  home:      {base}/")
    print(f"  phone app: {base}/m/   (trainees; camera and location work on localhost)")
    print(f"  staff:     {base}/manage   (institution admin)")
    print(f"  live:      {base}/live   (supervisors, reviewers, teachers: classes in session, alerts, evidence)")
    print(f"  health:    {base}/api/health")
    print("  log-ins (role, username, password, scope):")
    for login in logins:
        print(f"    {login.role:<20} {login.username:<18} {login.password:<20} {login.scope}")
    for line in face_lines:
        print(f"  faces:     {line}")
    sys.stdout.flush()
    if args.no_serve:
        return 0
    from server.scheduler import jobs

    # The demo is one process: its scheduler runs beside the server (under the same lock as
    # `hourproof scheduler`, so starting one of those too does not run the jobs twice).
    jobs.start(app)
    socketio.run(app, host=args.host, port=args.port, allow_unsafe_werkzeug=True)
    return 0


def _serve(args) -> int:
    from server.extensions import socketio

    app = app_for_command()
    socketio.run(app, host=args.host, port=args.port, allow_unsafe_werkzeug=True)
    return 0


def _user_create(args) -> int:
    import getpass
    import os

    from server.database import migrate as dbmigrate
    from server.errors import ApiError
    from server.extensions import db
    from server.models import Role
    from server.services import accounts
    from server.services.scope import Actor

    password = os.environ.get("HOURPROOF_PASSWORD") or getpass.getpass("password (8+ characters): ")
    if len(password) < 8:
        print("hourproof: the password must have at least 8 characters", file=sys.stderr)
        return 2
    app_for_command()
    dbmigrate.upgrade(db.engine)
    try:
        with db.begin() as session:
            user, _ = accounts.create_user(
                session, Actor.system(), username=args.username, role=Role(args.role), display_name=args.name,
                password=password, institution_id=args.institution_id, district_id=args.district_id, city_id=args.city_id,
            )
            uid = user.id
    except ApiError as exc:
        print(f"hourproof: {exc.message}", file=sys.stderr)
        return 2
    except Exception as exc:  # a scope the database refuses (e.g. a supervisor without --district-id)
        print(f"hourproof: could not create the account: {exc.__class__.__name__}: {str(exc).splitlines()[0]}"
              " (district_supervisor needs --district-id, city_reviewer --city-id, institution roles --institution-id)",
              file=sys.stderr)
        return 2
    print(f"created {args.role} {args.username} (id {uid})")
    return 0


def _audit_verify(args) -> int:
    """Exit 0 when every chain verifies, 1 when a link is broken (named), 2 on bad arguments."""
    import json

    from server.extensions import db
    from server.services import anchors, chain

    app = app_for_command()
    path = anchors.anchor_path(app.config["HOURPROOF_SETTINGS"].data_dir)
    with db.sessionmaker() as session:
        checked, problems = chain.verify(session, chain.chain_of(args.class_id) if args.class_id else None)
        # The daily anchors (written by the scheduler outside the database) catch a chain that
        # was rewritten consistently, hashes and head included, which the chain alone cannot.
        anchored, anchor_problems = anchors.verify(session, path)
        photos = None
        if args.photos:

            photos = chain.check_photos(session, app.extensions["hourproof_evidence"], utc_now(),
                                        chain.chain_of(args.class_id) if args.class_id else None)
    if args.class_id:
        anchor_problems = [p for p in anchor_problems if p.chain in (None, chain.chain_of(args.class_id))]
    photo_problems = photos.problems if photos else []
    ok = not problems and not anchor_problems and not photo_problems
    if args.json:
        report = {"checked": checked, "ok": ok, "problems": [p.__dict__ for p in problems],
                  "anchors": {"file": str(path), "lines": anchored, "problems": [p.__dict__ for p in anchor_problems]}}
        if photos is not None:
            report["photos"] = {"checked": photos.checked, "purged_by_retention": photos.purged,
                                "expired_after_review_window": photos.expired,
                                "problems": [p.__dict__ for p in photo_problems]}
        print(json.dumps(report, ensure_ascii=False))
    else:
        for p in problems:
            where = f"event {p.event_id} (seq {p.seq})" if p.event_id else "chain head"
            print(f"BROKEN {p.chain}: {where}: {p.problem}")
        for a in anchor_problems:
            print(f"ANCHOR MISMATCH {a.chain or '?'}: {path} line {a.line}: {a.problem}")
        print(f"{checked} events checked; " + ("all chains verify" if not problems else f"{len(problems)} chain(s) broken"))
        print(f"{anchored} anchors checked in {path}; " + (
            "all match the database" if not anchor_problems else f"{len(anchor_problems)} do not match"))
        if photos is not None:
            for photo in photo_problems:
                where = f"event {photo.event_id}" if photo.event_id else f"group photo {photo.group_photo_id}"
                print(f"PHOTO {photo.chain}: {where}: {photo.digest[:12]}…: {photo.problem}")
            print(f"{photos.checked} photo files re-hashed, {photos.purged} purged by the retention rule, "
                  f"{photos.expired} expired (deleted after their review window: no consent to keep them); "
                  + ("all match their hashes" if not photo_problems else f"{len(photo_problems)} missing or altered"))
    return 0 if ok else 1


def _scheduler(args) -> int:
    """Runs until SIGTERM / SIGINT; only the process holding the scheduler lock runs jobs."""
    import logging
    import signal
    import threading

    from server.scheduler import jobs

    if args.status:
        return _scheduler_status()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    app = app_for_command()
    print(f"hourproof scheduler {jobs.runner_id()}: " + ", ".join(j.id for j in jobs.JOBS), flush=True)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    jobs.run_guarded(app, stop, poll=args.poll, seconds=args.seconds)
    return 0


def _scheduler_status() -> int:
    """Which process ran each job last, when, and what it said (times in Beijing)."""

    from sqlalchemy import select

    from server.extensions import db
    from server.models import JobStatus

    app_for_command()
    with db.sessionmaker() as session:
        rows = session.scalars(select(JobStatus).order_by(JobStatus.started_at.desc())).all()
    if not rows:
        print("no job has run yet (is a `hourproof scheduler` running?)")
        return 0
    latest: dict[str, JobStatus] = {}
    for r in rows:  # newest first: the first row of each job is its latest run
        latest.setdefault(r.job_id, r)
    for r in sorted(latest.values(), key=lambda r: r.job_id):
        at = local(r.started_at).strftime("%Y-%m-%d %H:%M:%S")
        print(f"{r.job_id:<24} {'ok    ' if r.ok else 'FAILED'} {at} +08:00  by {r.runner} (run {r.runs}): {r.result}")
    return 0


class _ProgressBar:
    """A progress bar on stderr (stdout stays for results), redrawn at most 10 times a second."""

    def __init__(self, label: str) -> None:
        import time

        self.label, self._time, self._last, self._start = label, time.monotonic, 0.0, time.monotonic()

    def __call__(self, done: int, total: int) -> None:
        now = self._time()
        if now - self._last < 0.1 and done != total:
            return
        self._last = now
        width = 30
        filled = int(width * done / total) if total else width
        rate = done / max(now - self._start, 1e-9)
        sys.stderr.write(f"\r{self.label} [{'#' * filled}{'.' * (width - filled)}] {done}/{total} ({rate:,.0f}/s)")
        if done == total:
            sys.stderr.write("\n")
        sys.stderr.flush()


def _export(args) -> int:
    """Exit 0 with the bundle's path and SHA-256; 2 when the export is refused (why is printed)."""
    from server.database import migrate as dbmigrate
    from server.errors import ApiError
    from server.exports import service as exports
    from server.exports import signing
    from server.extensions import db
    from server.services.scope import Actor

    app = app_for_command()
    dbmigrate.upgrade(db.engine)
    settings = app.config["HOURPROOF_SETTINGS"]
    formats = {f.strip() for f in args.formats.split(",") if f.strip()}
    if not formats or formats - exports.FORMATS:
        print(f"hourproof: --formats takes {', '.join(sorted(exports.FORMATS))}", file=sys.stderr)
        return 2
    now = utc_now()
    key = signing.load_or_create(settings.data_dir)
    actor = Actor.system()
    is_class = args.export_command == "class"
    kind = args.kind if is_class else "district"
    subject = f"class{args.class_id}" if is_class else f"district{args.district_id}"
    from pathlib import Path

    out = Path(args.out) if args.out else exports.exports_dir(settings.data_dir) / f"cli-{kind}-{subject}-{now:%Y%m%d-%H%M%S}.zip"
    bar = _ProgressBar(f"export {subject}")
    try:
        with db.sessionmaker() as session:
            if is_class:
                result = exports.export_class(session, actor, args.class_id, kind, out, now, key,
                                              store=app.extensions["hourproof_evidence"], formats=formats, progress=bar)
            else:
                result = exports.export_district(session, actor, args.district_id, out, now, key, formats=formats, progress=bar)
            session.rollback()
        if result.seal is not None:
            with db.begin() as session:
                seal = exports.seal_class(session, actor, args.class_id, result, None, utc_now())
                print(f"sealed class {args.class_id} at chain seq {seal.chain_seq} (seal {seal.id})")
    except ApiError as exc:
        print(f"hourproof: {exc.message}", file=sys.stderr)
        return 2
    print(f"{result.path}")
    print(f"sha256 {result.sha256}; files: {', '.join(result.manifest_files)}")
    print(f"signed by Ed25519 key {signing.key_id(key.public_key())}; chain heads: "
          + ", ".join(f"{c} seq {h['seq']}" for c, h in result.chains.items()))
    return 0


def _signing_key(args) -> int:
    from server.exports import signing

    app = app_for_command()
    info = signing.describe(signing.load_or_create(app.config["HOURPROOF_SETTINGS"].data_dir).public_key())
    print(f"Ed25519 key {info['key_id']} (raw, base64: {info['public_key_base64']})")
    print(info["public_key_pem"], end="")
    return 0


def _verify_bundle(args) -> int:
    """Exit 0 when everything checks, 1 naming every failure, 2 when the key file is unreadable."""
    from pathlib import Path

    from sqlalchemy import inspect

    from server.exports import bundle, signing
    from server.extensions import db

    app = app_for_command()
    data_dir = app.config["HOURPROOF_SETTINGS"].data_dir
    key: Ed25519PublicKey | None
    if args.public_key:
        try:
            key = signing.load_public(Path(args.public_key).read_bytes())
        except (OSError, ValueError) as exc:
            print(f"hourproof: cannot read the public key {args.public_key}: {exc}", file=sys.stderr)
            return 2
    else:
        key = signing.deployment_public_key(data_dir)
    session = None
    if not args.no_database and "events" in inspect(db.engine).get_table_names():
        session = db.sessionmaker()
    try:
        result = bundle.verify_bundle(Path(args.bundle), key, session)
    finally:
        if session is not None:
            session.close()
    for line in result.checks:
        print(f"ok    {line}")
    for line in result.warnings:
        print(f"WARN  {line}")
    for line in result.failures:
        print(f"FAIL  {line}")
    print(f"{args.bundle}: " + ("verified" if result.ok else f"NOT verified ({len(result.failures)} failure(s))"))
    return 0 if result.ok else 1
