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
import os
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta

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


#: (lesson id, trainee id)
PresenceKey = tuple[int, int]


class PresencePush:
    """Pushes a change of a trainee's presence in an online lesson (watching, paused, hidden: what
    one heartbeat says, dashboard.presence_status) to the rooms of the lesson's class, as an
    event is pushed (same rooms, so the same scope: another district's supervisor hears nothing).

    Why this shape: heartbeats are the server's most frequent request (every phone, every 15-30 s;
    api/heartbeat_fastpath.py). ``note`` is called for each one after its row is committed, and
    does no I/O: it compares the report with an in-process record of each (lesson, trainee)'s last
    status and returns unless the status changed. A change is queued, and a thread of its own
    sends what queued up in the next COALESCE_S, one message per lesson (a lesson's start, when
    every phone reports at once, is one message, not one per trainee), each trainee's latest
    status only. So a heartbeat never waits for the rooms' lookup or for Redis, and a failed send
    is logged and forgotten: the heartbeat is stored either way and the roll's poll catches up.

    The message says only what the roll's presence cell shows: per trainee its status, the video
    position and the report's time. Not the credited minutes: they need every heartbeat of the
    lesson through the ledger's rule (online_presence), too dear per change and per watcher; the
    page keeps the last ones it read and its 15 s poll of the roll refreshes them (and the age).

    "Gone" (no report for GONE_AFTER_S) is the absence of a heartbeat, so no heartbeat can
    announce it; there is no periodic job near the roll either, so the roll's 15 s poll
    (web/staff/static/live.js) stays the fallback that shows it. A trainee heard from again after
    that long is pushed again (gone -> watching), whatever the record said before.

    With several workers (REDIS_URL) each keeps its own record, so two workers can push the same
    change: harmless, a message states the trainee's status (not a step from one to the next)
    with the report's time, and the page drops one older than what it shows. A worker also may
    not push a change back to the status it pushed last if the change away went through another
    worker; the roll's poll shows it then, as before these pushes."""

    #: seconds a change waits for others to go out in the same message
    COALESCE_S = 0.5
    #: how often the thread forgets (lesson, trainee)s not heard from for GONE_AFTER_S, and lessons' rooms
    PRUNE_EVERY_S = 60.0
    #: a lesson's class and rooms are read again after this long
    ROOMS_TTL_S = 600.0

    def __init__(self, rooms_of: Callable[[list[int]], dict[int, tuple[int, list[str]]]],
                 emit: Callable[[str, dict, list[str]], None] | None = None) -> None:
        from server.services.dashboard import GONE_AFTER_S, presence_status

        self._status_of = presence_status
        self._gone_after = timedelta(seconds=GONE_AFTER_S)
        self._rooms_of = rooms_of
        self._emit = emit or (lambda name, message, rooms: socketio.emit(name, message, to=rooms))
        self._lock = threading.Lock()
        #: the last report seen of each (lesson, trainee): (status, its time)
        self._seen: dict[PresenceKey, tuple[str, datetime]] = {}
        #: changes not sent yet: the latest (status, position, time) of each
        self._pending: dict[PresenceKey, tuple[str, float | None, datetime]] = {}
        self._rooms: dict[int, tuple[int, list[str], float]] = {}
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pid: int | None = None
        self.sent = 0  # messages sent (for tests)

    def note(self, lesson_id: int, trainee_id: int, visible: bool, playback: str | None, position_s: float | None,
             at: datetime) -> None:
        """A heartbeat was stored: queue a push if it changes what the roll shows. Never raises."""
        try:
            status = self._status_of(visible, playback)
            key = (lesson_id, trainee_id)
            with self._lock:
                seen = self._seen.get(key)
                if seen is not None:
                    if at < seen[1]:
                        return  # overtaken by a later report of the same page (both stored): that one decided
                    if seen[0] == status and at - seen[1] <= self._gone_after:
                        self._seen[key] = (status, at)
                        return
                self._seen[key] = (status, at)
                self._pending[key] = (status, position_s, at)
            self._ensure_thread()
            self._wake.set()
        except Exception as exc:  # noqa: BLE001 - the heartbeat is stored; the roll's poll shows it
            log.warning("could not queue a presence push: %s", type(exc).__name__)

    def flush(self) -> int:
        """Send what is queued now (the thread does it after COALESCE_S; tests call it to wait for
        nothing). Returns the messages sent."""
        with self._lock:
            pending, self._pending = self._pending, {}
        if not pending:
            return 0
        by_lesson: dict[int, list[dict]] = {}
        for (lesson_id, trainee_id), (status, position_s, at) in pending.items():
            by_lesson.setdefault(lesson_id, []).append(
                {"trainee_id": trainee_id, "status": status, "position_s": position_s, "at": at.isoformat()})
        sent = 0
        try:
            rooms = self._lesson_rooms(list(by_lesson))
        except Exception as exc:  # noqa: BLE001 - the roll's poll shows the changes
            log.warning("could not push presence of %d lesson(s): %s", len(by_lesson), type(exc).__name__)
            self._forget(list(pending))
            return 0
        for lesson_id, trainees in by_lesson.items():
            if lesson_id not in rooms:
                continue  # the lesson is gone (its heartbeats were stored, so it was not a minute ago)
            class_id, to = rooms[lesson_id]
            try:
                self._emit("presence", {"lesson_id": lesson_id, "class_id": class_id, "trainees": trainees}, to)
                sent += 1
            except Exception as exc:  # noqa: BLE001 - as publish_event: the roll's poll catches up
                log.warning("could not push presence of lesson %s: %s", lesson_id, type(exc).__name__)
                self._forget([(lesson_id, t["trainee_id"]) for t in trainees])
        self.sent += sent
        return sent

    def _forget(self, keys: list[PresenceKey]) -> None:
        """Not sent: the next heartbeat of each is a change again (so it is sent then)."""
        with self._lock:
            for key in keys:
                self._seen.pop(key, None)

    def _lesson_rooms(self, lesson_ids: list[int]) -> dict[int, tuple[int, list[str]]]:
        now = time.monotonic()
        missing = [i for i in lesson_ids if i not in self._rooms or now - self._rooms[i][2] > self.ROOMS_TTL_S]
        if missing:
            for lesson_id, (class_id, rooms) in self._rooms_of(missing).items():
                self._rooms[lesson_id] = (class_id, rooms, now)
        return {i: self._rooms[i][:2] for i in lesson_ids if i in self._rooms}

    def _prune(self) -> None:
        """Forget what a heartbeat would push anyway (nothing heard for GONE_AFTER_S), so the
        record holds the lessons in progress only."""
        cutoff = utc_now() - self._gone_after
        with self._lock:
            self._seen = {k: v for k, v in self._seen.items() if v[1] >= cutoff}
            lessons = {lesson_id for lesson_id, _ in self._seen}
        self._rooms = {k: v for k, v in self._rooms.items() if k in lessons}

    def _ensure_thread(self) -> None:
        # Started on the first change, and again in a forked child (a thread does not survive fork).
        if self._thread is not None and self._pid == os.getpid() and self._thread.is_alive():
            return
        with self._lock:
            if self._stop.is_set():
                return
            if self._thread is None or self._pid != os.getpid() or not self._thread.is_alive():
                self._pid = os.getpid()
                self._thread = threading.Thread(target=self._run, name="presence-push", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        last_prune = time.monotonic()
        while True:
            woke = self._wake.wait(self.PRUNE_EVERY_S)
            if self._stop.is_set() or (woke and self._stop.wait(self.COALESCE_S)):  # (the wait lets a burst gather)
                return
            try:
                if woke:
                    self._wake.clear()  # before flushing: a change queued from here on wakes the next round
                    self.flush()
                if time.monotonic() - last_prune >= self.PRUNE_EVERY_S:
                    self._prune()
                    last_prune = time.monotonic()
            except Exception as exc:  # noqa: BLE001 - keep pushing the next changes
                log.warning("presence push: %s", type(exc).__name__)

    def close(self, wait_s: float = 5.0) -> None:
        """Stop the thread (what is queued is dropped: the roll's poll shows it)."""
        self._stop.set()
        self._wake.set()
        thread = self._thread
        if thread is not None and thread.is_alive() and thread is not threading.current_thread():
            thread.join(wait_s)


def presence_rooms_reader(sessionmaker) -> Callable[[list[int]], dict[int, tuple[int, list[str]]]]:
    """PresencePush's lookup of lessons' classes and rooms, in a session of its own (it runs in
    the push's thread, outside any request)."""
    from server.services.dashboard import lesson_rooms

    def rooms_of(lesson_ids: list[int]) -> dict[int, tuple[int, list[str]]]:
        with sessionmaker() as session:
            return lesson_rooms(session, lesson_ids)

    return rooms_of


def publish_cross_checks(session, photo, items: list[dict]) -> None:
    """Tell the class's watchers what a group photo found against the check-ins (an alert each)."""
    try:
        from server.models import TrainingClass
        from server.services.dashboard import class_rooms

        cls = session.get(TrainingClass, photo.class_id)
        message = {"lesson_id": photo.lesson_id, "class_id": cls.id, "class_name": cls.name, "group_photo_id": photo.id,
                   "at": photo.uploaded_at.isoformat(), "items": items}
        socketio.emit("cross_check", message, to=class_rooms(session, cls))
    except Exception as exc:  # noqa: BLE001 - stored; the dashboard's snapshot lists them too
        log.warning("could not publish a group photo's cross-check: %s", type(exc).__name__)
