"""Row helpers the services share."""
from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from server.models import Base


def insert_once(session: Session, row: Base) -> bool:
    """Add a row whose unique constraint makes it once-only; False when it was there already
    (another runner, or a previous run that crashed after committing). The savepoint keeps the
    caller's transaction usable after the refusal, so scheduled jobs stay idempotent."""
    try:
        with session.begin_nested():
            session.add(row)
        return True
    except IntegrityError:
        return False
