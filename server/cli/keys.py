"""`hourproof keys`: the deployment keys that seal face templates and photos at rest.

  hourproof keys status          the key file, its keys (the newest seals new data), and how many
                                 templates and photo files each key wraps (and any left unsealed)
  hourproof keys rotate          add a new key, then re-wrap every template and photo under it;
                                 the server keeps running (it re-reads the key file when it changes)
  hourproof keys rotate --no-new-key
                                 only re-wrap under the newest key (finish an interrupted rotation,
                                 or seal data written before sealing existed)
  hourproof keys retire KEY_ID   drop an old key from the file once nothing is wrapped by it
"""
from __future__ import annotations

import argparse
import sys


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("keys", help="the deployment keys that seal face templates and photos at rest: "
                                    "status, rotate (no downtime), retire an old key")
    keys_sub = p.add_subparsers(dest="keys_command", metavar="ACTION", required=True)
    status = keys_sub.add_parser("status", help="the keys, and how many templates and photo files each wraps")
    status.set_defaults(handler=_status)
    rotate = keys_sub.add_parser("rotate", help="add a new key and re-wrap every template and photo under it")
    rotate.add_argument("--no-new-key", action="store_true", help="re-wrap under the newest key already in the file")
    rotate.set_defaults(handler=_rotate)
    retire = keys_sub.add_parser("retire", help="remove an old key from the key file (refused while it wraps anything)")
    retire.add_argument("key_id")
    retire.set_defaults(handler=_retire)


def _context():
    from server.cli.app import app_for_command
    from server.extensions import db

    app = app_for_command()
    return app.extensions["hourproof_keyring"], app.extensions["hourproof_evidence"], db


def _print_use(keyring, use) -> None:
    from server.services.keys import UNSEALED

    print(f"key file: {keyring.path}")
    for key_id in [*keyring.key_ids(), UNSEALED]:
        if key_id == UNSEALED and not use.uses(UNSEALED):
            continue
        mark = " (primary: seals new data)" if key_id == keyring.primary else ""
        print(f"  {key_id}{mark}: {use.templates[key_id]} templates, {use.files[key_id]} photo files")
    unknown = (set(use.templates) | set(use.files)) - set(keyring.key_ids()) - {UNSEALED}
    for key_id in sorted(unknown):
        print(f"  {key_id} (NOT IN THE KEY FILE: these cannot be opened): "
              f"{use.templates[key_id]} templates, {use.files[key_id]} photo files")


def _status(args) -> int:
    from server.services import keys

    keyring, store, db = _context()
    with db.sessionmaker() as session:
        use = keys.key_use(session, store)
    _print_use(keyring, use)
    return 0


def _rotate(args) -> int:
    from server.services import keys

    keyring, store, db = _context()
    if not args.no_new_key:
        print(f"added key {keyring.add_key()} to {keyring.path}")
    done = keys.rewrap_all(db.sessionmaker, keyring, store)
    print(f"re-wrapped under {done.primary}: {done.templates} templates, {done.files} photo files changed")
    with db.sessionmaker() as session:
        _print_use(keyring, keys.key_use(session, store))
    return 0


def _retire(args) -> int:
    from server.services import keys

    keyring, store, db = _context()
    with db.sessionmaker() as session:
        use = keys.key_use(session, store)
    if use.uses(args.key_id):
        print(f"hourproof: key {args.key_id} still wraps {use.templates[args.key_id]} templates and "
              f"{use.files[args.key_id]} photo files: run `hourproof keys rotate --no-new-key` first", file=sys.stderr)
        return 1
    try:
        keyring.retire(args.key_id)
    except ValueError as exc:
        print(f"hourproof: {exc}", file=sys.stderr)
        return 1
    print(f"retired key {args.key_id}; keys left: {', '.join(keyring.key_ids())}")
    return 0
