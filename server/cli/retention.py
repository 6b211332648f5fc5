"""`hourproof retention`: what the keeping period allows to go, and (with --purge) deleting it.

Without --purge it is a dry run: it lists, per class past its keeping period, how many photo
files would be deleted and how many are kept because younger evidence shares them, and changes
nothing. With --purge it deletes them, each class recorded in the audit log (counts and every
hash) before its files go. Event rows are never deleted (append-only, the hash chain).

It also shows (and with --purge deletes, as the daily job does anyway) the check-in photos whose
review window closed, of trainees who did not agree to their keeping (POLICY §11)."""
from __future__ import annotations

import argparse
import json
import sys

from policies.clauses import describe
from server.clock import utc_now


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("retention", help="photo files past their keeping period (>= 5 years after a class ends): "
                                         "show what would go (dry run), or --purge to delete them")
    p.add_argument("--purge", action="store_true",
                   help="delete them (recorded in the audit log); without it nothing is changed")
    p.add_argument("--json", action="store_true", help="print the report as JSON, with every hash")
    p.set_defaults(handler=_retention)


def _retention(args) -> int:
    from server.cli.app import app_for_command
    from server.database import migrate as dbmigrate
    from server.extensions import db
    from server.services import retention

    app = app_for_command()
    if dbmigrate.current(db.engine) is None:
        print("hourproof: the database is empty (run `hourproof db upgrade`)", file=sys.stderr)
        return 2
    now = utc_now()
    with db.sessionmaker() as session:
        report = retention.purge_photos(session, now, app.extensions["hourproof_evidence"], dry_run=not args.purge)
        expired = retention.expire_frames(session, now, app.extensions["hourproof_evidence"], dry_run=not args.purge)
    if args.json:
        print(json.dumps({"today": report.today.isoformat(), "dry_run": report.dry_run, "files": report.files,
                          "classes_purged_before": report.done_before,
                          "classes": [{"name": c.name, **c.record()} for c in report.classes],
                          "review_window": {"events": expired.events, "files": expired.files,
                                            "review_open": expired.review_open,
                                            "classes": [{"class_id": c.class_id, "events": len(c.events),
                                                         "hashes": c.hashes, "shared_hashes": c.shared}
                                                        for c in expired.classes]}}, ensure_ascii=False))
        return 0
    print(f"retention on {report.today} (Beijing): " + ("DRY RUN, nothing is deleted (add --purge to delete)"
                                                        if report.dry_run else "purging"))
    for c in report.classes:
        print(f"  class {c.class_id} {c.name}: kept until {c.kept_until} ({describe(c.clause)}); {c.events} events with frames, "
              f"{c.group_photos} group photos; {len(c.hashes)} files {'would go' if report.dry_run else 'deleted'}, "
              f"{len(c.shared)} kept (shared with younger evidence), {c.already_gone} already gone")
    if not report.classes:
        print("  no class past its keeping period has photo files left to purge")
    print(report.summary())
    print(expired.summary())
    return 0
