"""The heartbeat's ordinary case, answered before Flask's request machinery.

Why: every phone in an online lesson posts a heartbeat every <= 30 s, so it is the request the
server answers most, and it does very little (one read, one row handed to the group commit).
Profiling a worker under heartbeat load showed most of its CPU in the framework around that
work: building the request context, opening and saving the session, routing, the endpoint
wrapper, jsonify. This middleware answers the request when - and only when - every check passes
on the first look:

- ``POST /api/lessons/<id>/heartbeat`` with a JSON body ``{"visible": bool}``, or with the lesson
  video player's state as well, valid by the route's own model (schemas.HeartbeatIn);
- a valid signed session cookie (Flask's own serializer and max age), not expired, whose
  password marker matches the user's (auth.session_matches: the same rule as every request);
- the session's CSRF token in ``X-CSRF-Token``;
- one query finds the user, a trainee, enrolled in the class of that lesson, and
  presence.heartbeat_refusal (the same rule as the Flask route) finds nothing wrong.

Anything else - no cookie, a wrong token, an unknown lesson, a body with more or other fields, a
failed commit - is passed on untouched (the body it read is put back) to the Flask route, which
is the single place that words the errors. So the fast path can only ever answer the same 200
the route would have answered, and the route's own tests cover the rest. A failed group commit
wrote nothing (its batch is one transaction), so the route's second attempt cannot double a row.

The row written and the answer are the route's: the same ``GroupCommitWriter`` and the same JSON,
and, like the route, a stored report is noted for the roll's push of a status change
(sockets.PresencePush: a dictionary look-up per heartbeat, no query, no emit on this thread).
``HOURPROOF_HEARTBEAT_FASTPATH=0`` (or the app config ``HEARTBEAT_FASTPATH=False``) turns it off.
"""
from __future__ import annotations

import hmac
import io
import json
import re

from sqlalchemy import bindparam, select
from werkzeug.http import parse_cookie

from server.clock import utc_now
from server.database.groupcommit import GroupCommitFailed
from server.models import Role
from server.permissions import Capability, allows

PATH = re.compile(r"/api/lessons/([1-9][0-9]{0,9})/heartbeat")
#: {"visible": false} is 18 bytes, with the player's state about 80; anything much longer is not
#: the ordinary case.
MAX_BODY = 256
NO_PLAYER: dict[str, object] = {"position_s": None, "playback": None, "rate": None, "live_lag_s": None}


class HeartbeatFastPath:
    def __init__(self, wsgi_app, flask_app) -> None:
        from server.api import auth
        from server.api.schemas import HeartbeatIn
        from server.models import Enrollment, Lesson, User
        from server.services import presence

        self.wsgi_app = wsgi_app
        self.flask_app = flask_app
        self._auth, self._presence = auth, presence
        self._schema = HeartbeatIn
        # This runs before Flask pushes an app context, so the engine is taken from this app.
        self._engine = flask_app.extensions["hourproof_db"].read_engine
        # Flask's own cookie serializer, built once (building it is most of opening a session).
        self._serializer = flask_app.session_interface.get_signing_serializer(flask_app)
        self._max_age = int(flask_app.permanent_session_lifetime.total_seconds())
        self._cookie_name = flask_app.config["SESSION_COOKIE_NAME"]
        self._writer = flask_app.extensions["hourproof_heartbeats"]
        # No I/O: a dictionary look-up, and a push queued only when the trainee's status changes.
        self._push = flask_app.extensions["hourproof_presence_push"]
        u, e, l_ = User.__table__, Enrollment.__table__, Lesson.__table__
        #: the user and, if they are a trainee enrolled in its class, the lesson - in one read
        self._row = (select(u.c.active, u.c.password_hash, u.c.session_generation, u.c.role, u.c.trainee_id,
                            l_.c.mode, l_.c.starts_at, l_.c.ends_at, l_.c.cancelled_at)
                     .select_from(u.join(e, e.c.trainee_id == u.c.trainee_id).join(l_, l_.c.class_id == e.c.class_id))
                     .where(u.c.id == bindparam("uid"), l_.c.id == bindparam("lesson_id")))
        self.answered = 0  # counts, for tests: which path answered
        self.passed_on = 0

    def __call__(self, environ, start_response):
        if environ.get("REQUEST_METHOD") != "POST":
            return self.wsgi_app(environ, start_response)
        match = PATH.fullmatch(environ.get("PATH_INFO", ""))
        if match is None:
            return self.wsgi_app(environ, start_response)
        answer = self._try(environ, int(match[1]))
        if answer is None:
            self.passed_on += 1
            return self.wsgi_app(environ, start_response)
        self.answered += 1
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(answer))),
                                  ("Vary", "Cookie")])
        return [answer]

    def _body(self, environ) -> bytes | None:
        """The request body if it is small and announced; read once and put back for Flask."""
        try:
            length = int(environ.get("CONTENT_LENGTH") or -1)
        except ValueError:
            return None
        if not 0 <= length <= MAX_BODY:
            return None
        body = environ["wsgi.input"].read(length)
        environ["wsgi.input"] = io.BytesIO(body)
        return body

    def _try(self, environ, lesson_id: int) -> bytes | None:
        if (environ.get("CONTENT_TYPE") or "").split(";")[0].strip().lower() != "application/json":
            return None
        if lesson_id > 2**31 - 1:
            return None  # the route's id converter answers 404
        cookie = parse_cookie(environ).get(self._cookie_name)
        if not cookie:
            return None
        body = self._body(environ)
        if body is None:
            return None
        try:
            session = self._serializer.loads(cookie, max_age=self._max_age)
            data = json.loads(body)
        except Exception:  # noqa: BLE001 - bad signature, expired, bad JSON: the route words it
            return None
        if not isinstance(data, dict) or type(data.get("visible")) is not bool:
            return None
        if len(data) > 1:  # the player's state too: the route's own model validates it
            try:
                beat = self._schema.model_validate(data)
            except ValueError:  # pydantic's ValidationError: the route words it
                return None
            player: dict[str, object] = {"position_s": beat.position_s, "playback": beat.playback, "rate": beat.rate,
                                         "live_lag_s": beat.live_lag_s}
            playback, position = beat.playback, beat.position_s
        else:
            player, playback, position = NO_PLAYER, None, None
        visible = data["visible"]
        uid, csrf = session.get("uid"), session.get("csrf")
        sent = environ.get("HTTP_X_CSRF_TOKEN") or ""
        if type(uid) is not int or not isinstance(csrf, str) or not csrf or not hmac.compare_digest(sent, csrf):
            return None
        if not self._auth.fresh(session):
            return None
        with self._engine.connect() as conn:
            row = conn.execute(self._row, {"uid": uid, "lesson_id": lesson_id}).first()
        if (row is None or not allows(Role(row.role), Capability.ATTEND_LESSONS)
                or not self._auth.session_matches(session, row.active, row.password_hash, row.session_generation)):
            return None
        now = utc_now()
        if self._presence.heartbeat_refusal(row, now) is not None:
            return None
        try:
            self._writer.write({"lesson_id": lesson_id, "trainee_id": row.trainee_id, "at": now, "visible": visible,
                                **player})
        except GroupCommitFailed:
            return None  # nothing was stored; the route tries once more and words the 503
        self._push.note(lesson_id, row.trainee_id, visible, playback, position, now)
        # Byte for byte what jsonify sends (compact, sorted keys, a final newline).
        return (json.dumps(self._presence.heartbeat_answer(now, visible), ensure_ascii=False,
                           separators=(",", ":"), sort_keys=True) + "\n").encode()


def install(app) -> None:
    """Put the fast path in front of the app's WSGI stack (after Socket.IO's middleware, so a
    heartbeat does not pass through it either) unless configured off."""
    import os

    flag = app.config.get("HEARTBEAT_FASTPATH")
    if flag is None:
        flag = os.environ.get("HOURPROOF_HEARTBEAT_FASTPATH", "1") not in ("0", "false", "no")
    if flag:
        app.wsgi_app = HeartbeatFastPath(app.wsgi_app, app)
