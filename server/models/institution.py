"""培训机构 with its venues (each a geofence in a stated map datum) and teachers."""
from __future__ import annotations

import hashlib
import json
import math
from datetime import date, datetime

from sqlalchemy import JSON, Boolean, CheckConstraint, Date, Float, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from policies import identity
from server.clock import utc_now
from server.models.base import Base, UTCDateTime, str_enum
from server.models.enums import Datum, FenceKind


class Institution(Base):
    __tablename__ = "institutions"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    #: 统一社会信用代码, 18 characters, GB 32100-2015 check character verified on assignment
    uscc: Mapped[str] = mapped_column(String(18), unique=True)
    legal_representative: Mapped[str] = mapped_column(String(64))
    address: Mapped[str] = mapped_column(String(256))
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), index=True)
    district_id: Mapped[int] = mapped_column(ForeignKey("districts.id"), index=True)
    #: Occupation codes and levels the institution is listed for, e.g. [["2-02-38-04", "mid"]]
    listed_for: Mapped[list] = mapped_column(JSON, default=list)
    #: Date the catalog listing was approved; valid 3 years (CQ 001)
    listed_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)

    venues: Mapped[list[Venue]] = relationship(back_populates="institution")
    teachers: Mapped[list[Teacher]] = relationship(back_populates="institution")

    @validates("uscc")
    def _check_uscc(self, _key: str, value: str) -> str:
        return identity.validate_uscc(value)


def _finite(name: str, value: float, low: float, high: float) -> float:
    if value is None or not isinstance(value, (int, float)) or math.isnan(value) or not (low <= value <= high):
        raise ValueError(f"{name} must be a number between {low} and {high}, got {value!r}")
    return float(value)


class Venue(Base):
    """培训场地. The geofence is a circle (centre + radius) or a polygon, in `datum`; check-ins
    are compared in that datum after converting the phone's WGS-84 fix."""

    __tablename__ = "venues"
    # IS NOT NULL spelled out: a CHECK whose expression is NULL passes, and NULL > 0 is NULL.
    __table_args__ = (
        CheckConstraint(
            "(fence_kind = 'circle' AND radius_m IS NOT NULL AND radius_m > 0 AND centre_lat IS NOT NULL AND centre_lon IS NOT NULL)"
            " OR (fence_kind = 'polygon' AND polygon IS NOT NULL)",
            name="fence_complete",
        ),
        CheckConstraint("max_accuracy_m > 0", name="accuracy_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    name: Mapped[str] = mapped_column(String(128))
    address: Mapped[str] = mapped_column(String(256))
    area_m2: Mapped[int | None] = mapped_column(Integer)
    capacity: Mapped[int | None] = mapped_column(Integer)
    datum: Mapped[Datum] = mapped_column(str_enum(Datum, "datum"))
    fence_kind: Mapped[FenceKind] = mapped_column(str_enum(FenceKind, "fence_kind"))
    centre_lat: Mapped[float | None] = mapped_column(Float)
    centre_lon: Mapped[float | None] = mapped_column(Float)
    radius_m: Mapped[float | None] = mapped_column(Float)
    #: Polygon vertices [[lat, lon], ...] in `datum`, at least 3
    polygon: Mapped[list | None] = mapped_column(JSON)
    #: The worst location accuracy (metres) a check-in here may have
    max_accuracy_m: Mapped[float] = mapped_column(Float, default=50.0)
    #: Counts the fence's changes (datum, shape, coordinates or declared area): a district's
    #: approval is of one version, so a change needs a new one (VenueFenceDecision)
    fence_version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    institution: Mapped[Institution] = relationship(back_populates="venues")

    def fence_record(self) -> dict:
        """What the district approves: the fence and the declared area it is judged against."""
        return {"datum": self.datum.value if isinstance(self.datum, Datum) else self.datum,
                "fence_kind": self.fence_kind.value if isinstance(self.fence_kind, FenceKind) else self.fence_kind,
                "centre_lat": self.centre_lat, "centre_lon": self.centre_lon, "radius_m": self.radius_m,
                "polygon": self.polygon, "area_m2": self.area_m2}

    @property
    def fence_digest(self) -> str:
        """SHA-256 of fence_record() as canonical JSON: an approval holds only for these numbers."""
        return hashlib.sha256(json.dumps(self.fence_record(), sort_keys=True, separators=(",", ":")).encode()).hexdigest()

    @validates("centre_lat")
    def _lat(self, _k, v):
        return None if v is None else _finite("centre_lat", v, -90, 90)

    @validates("centre_lon")
    def _lon(self, _k, v):
        return None if v is None else _finite("centre_lon", v, -180, 180)

    @validates("radius_m")
    def _radius(self, _k, v):
        if v is None:
            return None
        v = _finite("radius_m", v, 0, 100_000)
        if v <= 0:
            raise ValueError("radius_m must be greater than 0")
        return v

    @validates("max_accuracy_m")
    def _accuracy(self, _k, v):
        v = _finite("max_accuracy_m", v, 0, 10_000)
        if v <= 0:
            raise ValueError("max_accuracy_m must be greater than 0")
        return v

    @validates("polygon")
    def _polygon(self, _k, v):
        if v is None:
            return None
        if not isinstance(v, (list, tuple)) or len(v) < 3:
            raise ValueError("polygon needs at least 3 points [[lat, lon], ...]")
        points = []
        for i, p in enumerate(v):
            if not isinstance(p, (list, tuple)) or len(p) != 2:
                raise ValueError(f"polygon[{i}] must be [lat, lon]")
            points.append([_finite(f"polygon[{i}].lat", p[0], -90, 90), _finite(f"polygon[{i}].lon", p[1], -180, 180)])
        return points


class VenueFenceDecision(Base):
    """区县人社's decision on one version of a venue's fence: "approve" lets classes at the venue be
    filed (and its check-ins be judged against it), "reject" sends the institution back to fix
    it. Append-only (database triggers), one per fence version: a changed fence is a new version
    that needs a decision of its own, so earlier decisions stay as they were made."""

    __tablename__ = "venue_fence_decisions"
    __table_args__ = (
        CheckConstraint("decision IN ('approve', 'reject')", name="decision_known"),
        UniqueConstraint("venue_id", "fence_version"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    venue_id: Mapped[int] = mapped_column(ForeignKey("venues.id"), index=True)
    fence_version: Mapped[int] = mapped_column(Integer)
    #: The fence as decided (Venue.fence_record()) and its SHA-256: an approval of other numbers is no approval
    fence: Mapped[dict] = mapped_column(JSON)
    fence_digest: Mapped[str] = mapped_column(String(64))
    #: The plausibility figures the decision was made on (policies.geofence.fence_plausibility)
    measures: Mapped[dict] = mapped_column(JSON)
    decision: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(512))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)


class Teacher(Base):
    """师资: name, employer, title, full- or part-time (CQ 001)."""

    __tablename__ = "teachers"

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    employer: Mapped[str | None] = mapped_column(String(128))
    title: Mapped[str | None] = mapped_column(String(64))
    full_time: Mapped[bool] = mapped_column(Boolean, default=True)

    institution: Mapped[Institution] = relationship(back_populates="teachers")
