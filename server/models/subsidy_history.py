"""A trainee's subsidy history from outside this system (补贴享受记录), and the checks of it.

The frequency limits of a region (CQ one training subsidy a year and three in all, JS and ZJ never
the same occupation and level twice, ...) count the subsidies a person already received. Those
this system claimed itself are read from the seals of other classes; those claimed elsewhere are
recorded here, from the trainee's declaration or the 人社 system. A check says someone looked at
the person's full record on a day, so that the rules may treat the history as complete.

Both tables are append-only (database triggers): an entry recorded by mistake is withdrawn by a
new row that names it (`retracts_id`), and both stay in the trail."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from server.clock import utc_now
from server.models.base import Base, UTCDateTime, str_enum
from server.models.enums import Level

#: Where a history entry or check comes from: the trainee's own declaration, the 人社 system
#: (查询 of the subsidy records), or another document named in the note.
SOURCES = ("declaration", "hrss", "other")
SOURCES_SQL = ", ".join(f"'{s}'" for s in SOURCES)


class SubsidyHistoryEntry(Base):
    """One subsidy the trainee received outside this system (or the withdrawal of such a row)."""

    __tablename__ = "subsidy_history_entries"
    __table_args__ = (
        CheckConstraint("kind IN ('training', 'evaluation')", name="kind_known"),
        CheckConstraint(f"source IN ({SOURCES_SQL})", name="source_known"),
        # An entry is withdrawn once; a second withdrawal would say nothing new.
        UniqueConstraint("retracts_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    trainee_id: Mapped[int] = mapped_column(ForeignKey("trainees.id"), index=True)
    #: Current national code (a legacy code is resolved before storing)
    occupation_code: Mapped[str] = mapped_column(String(16))
    level: Mapped[Level] = mapped_column(str_enum(Level, "level"))
    #: The training's start date: CQ and ZJ count subsidies per year by it
    training_start: Mapped[date] = mapped_column(Date)
    #: training (培训补贴) or evaluation (评价补贴)
    kind: Mapped[str] = mapped_column(String(16))
    #: The policy region that paid it; None counts toward every region's limits
    region_code: Mapped[str | None] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(16))
    #: e.g. the 人社 query's reference or what the trainee showed
    note: Mapped[str | None] = mapped_column(String(512))
    #: Set on a row that withdraws an earlier entry recorded by mistake (its other fields copy it)
    retracts_id: Mapped[int | None] = mapped_column(ForeignKey("subsidy_history_entries.id"))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: Kept as written at the time, like the audit log
    recorded_by_name: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)


class SubsidyHistoryCheck(Base):
    """Someone checked the trainee's full subsidy record on `checked_on`: the known entries are
    then all of them, as of that day."""

    __tablename__ = "subsidy_history_checks"
    __table_args__ = (CheckConstraint(f"source IN ({SOURCES_SQL})", name="source_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    trainee_id: Mapped[int] = mapped_column(ForeignKey("trainees.id"), index=True)
    checked_on: Mapped[date] = mapped_column(Date)
    source: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(String(512))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    recorded_by_name: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
