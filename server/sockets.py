"""Socket.IO for the live dashboard and the phone: who may connect, which rooms they join, and
what is pushed after a commit.

A connection is accepted only with a signed-in session (the same cookie as the API) and joins
only the rooms of its user's scope (services/dashboard.py ``rooms_for``); clients cannot ask to join
anything else, so a supervisor of another district receives nothing of this one.

Messages are sent after the database commit, never before, and a failure to send never undoes
or fails the request: the dashboard catches up from the snapshot (``cursor``) on reconnect.
With REDIS_URL every process (web workers, the scheduler) sends through Redis to every client.
"""
from __future__ import annotations

import logging
import time

from flask_socketio import ConnectionRefusedError, join_room

from server.clock import utc_now
from server.extensions import socketio

log = logging.getLogger("hourproof.live")


def register_handlers() -> None:
    @socketio.on("connect")
    def _connect(auth=None):
        from server.api.auth import signed_in_actor
        from server.services.dashboard import rooms_for

        actor = signed_in_actor()
        if actor is None:
            raise ConnectionRefusedError("login_required")
        rooms = rooms_for(actor)  # the permissions table decides which rooms (server/permissions.py)
        if not rooms:
            raise ConnectionRefusedError("forbidden")
        for room in rooms:
            join_room(room)
        socketio.emit("hello", {"rooms": rooms, "role": actor.role.value}, to=_sid())
        return True


def _sid() -> str:
    from flask import request

    sid: str = request.sid  # type: ignore[attr-defined]  # Flask-SocketIO sets it on the handler's request
    return sid


def publish_event(event_id: int) -> None:
    """Tell every scope that contains the event's class (after the commit that stored it).

    Reads in a session of its own, not the request's: a writing request's session begins with
    SQLite's write lock (extensions.Database.session), which these reads do not need."""
    try:

        from server.extensions import db
        from server.services.dashboard import message_for_event

        with db.sessionmaker() as session:
            rooms, message = message_for_event(session, event_id, utc_now())
        message["sent_at"] = time.time()  # server clock at sending: delivery latency is measurable
        socketio.emit("event", message, to=rooms)
    except Exception as exc:  # noqa: BLE001 - the event is stored; the dashboard catches up on reconnect
        log.warning("could not publish event %s: %s", event_id, type(exc).__name__)


def publish_spot_checks(session, checks) -> None:
    """Push each new spot check to its trainee's phone, and tell the class's watchers."""
    try:
        from server.models import TrainingClass
        from server.services.dashboard import class_rooms

        by_class: dict[int, list] = {}
        for c in checks:
            socketio.emit("spot_check", {"spot_check_id": c.id, "lesson_id": c.lesson_id, "issued_at": c.issued_at.isoformat(),
                                         "due_at": c.due_at.isoformat(), "origin": c.origin}, to=f"trainee:{c.trainee_id}")
            by_class.setdefault(c.class_id, []).append(c)
        for class_id, items in by_class.items():
            rooms = class_rooms(session, session.get(TrainingClass, class_id))
            socketio.emit("spot_checks_issued", {"class_id": class_id, "lesson_id": items[0].lesson_id,
                                                 "count": len(items), "origin": items[0].origin,
                                                 "due_at": items[0].due_at.isoformat()}, to=rooms)
    except Exception as exc:  # noqa: BLE001 - stored; phones also poll for pending checks
        log.warning("could not publish spot checks: %s", type(exc).__name__)
