"""Request bodies, validated before any handler runs. Field names are the API's vocabulary."""
from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    field_validator,
    model_validator,
)

from server.models import Datum, EmploymentAfter, EmploymentAtStart, FenceKind, Funding, LessonContent, LessonMode, Level, Role

#: A database id: positive and within a 32-bit integer (PostgreSQL's INTEGER).
Id = Annotated[int, Field(ge=1, le=2**31 - 1)]
Name = Annotated[str, Field(min_length=1, max_length=128)]
ShortText = Annotated[str, Field(min_length=1, max_length=64)]
Lat = Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False)]
#: Dates a user enters (classes, lessons, history, the day asked for) lie in these years: beyond
#: them a date is a typo, and the calendar's ends break date arithmetic (9999-12-31 plus a day).
EARLIEST, LATEST = date(2000, 1, 1), date(2099, 12, 31)
YEARS = f"须在 {EARLIEST.year} 年至 {LATEST.year} 年之间"


def _day_text(value: Any) -> Any:
    # A date is written as a date: pydantic would read 0 (or "0" in a query) as 1970-01-01.
    if isinstance(value, bool | int | float) or (isinstance(value, str) and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip())):
        raise ValueError("日期须写作 年-月-日，如 2026-03-02")
    return value


def _in_years(value: date) -> date:
    if not EARLIEST <= value <= LATEST:
        raise ValueError("日期" + YEARS)
    return value


PlausibleDate = Annotated[date, BeforeValidator(_day_text), AfterValidator(_in_years)]
Lon = Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False)]


class Strict(BaseModel):
    # Unknown fields are an error: a typo ("raduis_m") must not be silently ignored.
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("须带时区，如 2026-03-02T09:00:00+08:00")
    if not EARLIEST <= value.date() <= LATEST:
        raise ValueError("时间" + YEARS)
    return value


class LoginIn(Strict):
    username: ShortText
    password: Annotated[str, Field(min_length=1, max_length=256)]
    #: Trainees: the phone's device id (bound at first log-in)
    device_id: Annotated[str, Field(min_length=8, max_length=128)] | None = None


class ActivateIn(Strict):
    username: ShortText
    activation_code: Annotated[str, Field(pattern=r"^\d{8}$")]
    new_password: Annotated[str, Field(min_length=8, max_length=256)]
    device_id: Annotated[str, Field(min_length=8, max_length=128)]


class UserIn(Strict):
    username: ShortText
    display_name: ShortText
    role: Role
    password: Annotated[str, Field(min_length=8, max_length=256)] | None = None
    institution_id: Id | None = None
    district_id: Id | None = None
    city_id: Id | None = None


class AccountActionIn(Strict):
    #: why (told to the trainee at the next log-in, and kept in the audit trail)
    reason: Annotated[str, Field(min_length=2, max_length=256)]


class ReissueCodesIn(Strict):
    reason: Annotated[str, Field(min_length=2, max_length=256)]
    #: the trainees to re-issue for; omitted: every trainee of the class who has not activated yet
    trainee_ids: Annotated[list[Id], Field(min_length=1, max_length=1000)] | None = None


class SlipIn(Strict):
    trainee_id: Id
    activation_code: Annotated[str, Field(pattern=r"^\d{8}$")]


class ActivationSlipsIn(Strict):
    #: the codes just imported or re-issued (codes are stored hashed: the server cannot print them
    #: otherwise); each is checked against its hash (argon2, ~0.1 s each), hence the limit per request
    slips: Annotated[list[SlipIn], Field(min_length=1, max_length=1000)]


class InstitutionIn(Strict):
    name: Name
    uscc: Annotated[str, Field(min_length=18, max_length=18)]
    legal_representative: ShortText
    address: Annotated[str, Field(min_length=1, max_length=256)]
    region_code: Annotated[str, Field(min_length=2, max_length=16)]
    district_id: Id
    listed_on: PlausibleDate | None = None
    listed_for: list[tuple[str, Level]] = Field(default_factory=list, max_length=100)


class VenueFenceIn(Strict):
    """A venue's fence as it should be from now on, with the declared area it is judged against."""

    area_m2: Annotated[int, Field(gt=0, le=1_000_000)] | None = None
    datum: Datum
    fence_kind: FenceKind
    centre_lat: Lat | None = None
    centre_lon: Lon | None = None
    radius_m: Annotated[float, Field(gt=0, le=100_000, allow_inf_nan=False)] | None = None
    polygon: Annotated[list[tuple[Lat, Lon]], Field(min_length=3, max_length=500)] | None = None
    max_accuracy_m: Annotated[float, Field(gt=0, le=10_000, allow_inf_nan=False)] = 50.0

    @model_validator(mode="before")
    @classmethod
    def _not_swapped(cls, data: Any) -> Any:
        # 106.5, 29.6 for Chongqing is the most common slip (map sites show longitude first); "纬度
        # 数值太大" alone would not tell the user what to do.
        if isinstance(data, dict):
            lat, lon = data.get("centre_lat"), data.get("centre_lon")
            if (isinstance(lat, int | float) and isinstance(lon, int | float) and not isinstance(lat, bool)
                    and abs(lat) > 90 and abs(lon) <= 90):
                raise ValueError(f"纬度 {lat} 与经度 {lon} 可能填反了：中国境内纬度约为 18 至 54，经度约为 73 至 135")
        return data

    @model_validator(mode="after")
    def _fence_complete(self):
        if self.fence_kind is FenceKind.circle:
            missing = [f for f in ("centre_lat", "centre_lon", "radius_m") if getattr(self, f) is None]
            if missing:
                words = {"centre_lat": "圆心纬度", "centre_lon": "圆心经度", "radius_m": "半径"}
                raise ValueError("圆形围栏须填写" + "、".join(words[m] for m in missing))
        elif self.polygon is None:
            raise ValueError("多边形围栏须至少有 3 个顶点")
        return self


class VenueIn(VenueFenceIn):
    """A new venue: its fence and declared area (VenueFenceIn), and what else it is."""

    name: Name
    address: Annotated[str, Field(min_length=1, max_length=256)]
    capacity: Annotated[int, Field(gt=0, le=100_000)] | None = None
    institution_id: Id | None = None


class FenceDecisionIn(Strict):
    decision: Literal["approve", "reject"]
    reason: Annotated[str, Field(min_length=2, max_length=512)]


class TeacherIn(Strict):
    name: ShortText
    employer: Annotated[str, Field(max_length=128)] | None = None
    title: Annotated[str, Field(max_length=64)] | None = None
    full_time: bool = True
    institution_id: Id | None = None


class LessonIn(Strict):
    starts_at: datetime
    ends_at: datetime
    mode: LessonMode
    content: LessonContent
    venue_id: Id | None = None
    teacher_id: Id | None = None
    title: Annotated[str, Field(max_length=128)] | None = None

    _tz = field_validator("starts_at", "ends_at")(_aware)

    @model_validator(mode="after")
    def _ordered(self):
        if self.ends_at <= self.starts_at:
            raise ValueError("结束时间须晚于开始时间")
        if self.mode is LessonMode.offline and self.venue_id is None:
            raise ValueError("线下课次须选择场地")
        return self


class ClassIn(Strict):
    name: Name
    region_code: Annotated[str, Field(min_length=2, max_length=16)]
    district_id: Id
    occupation_code: Annotated[str, Field(min_length=5, max_length=16)]
    direction: Annotated[str, Field(min_length=1, max_length=64)] = "—"
    level: Level
    starts_on: PlausibleDate
    ends_on: PlausibleDate
    funding: Funding = Funding.subsidised
    #: require the teacher's room code with each offline check-in; unset: on for subsidised classes
    room_code: bool | None = None
    #: checkpoint quizzes (课程测验) in the class's recorded lessons (the region may require them)
    checkpoint_quizzes: bool = False
    fee: Annotated[Decimal, Field(ge=0, le=Decimal("1000000"), max_digits=10, decimal_places=2, allow_inf_nan=False)] | None = None
    institution_id: Id | None = None
    lessons: list[LessonIn] = Field(default_factory=list, max_length=2000)

    @model_validator(mode="after")
    def _dates(self):
        if self.ends_on < self.starts_on:
            raise ValueError("结业日期不能早于开班日期")
        return self


class LessonsIn(Strict):
    lessons: Annotated[list[LessonIn], Field(min_length=1, max_length=2000)]


class AmendmentIn(Strict):
    reason: Annotated[str, Field(min_length=2, max_length=512)]
    add_lessons: list[LessonIn] = Field(default_factory=list, max_length=500)
    cancel_lesson_ids: list[Id] = Field(default_factory=list, max_length=500)

    @model_validator(mode="after")
    def _something(self):
        if not self.add_lessons and not self.cancel_lesson_ids:
            raise ValueError("计划变更须至少新增或取消一个课次")
        return self


class EnrollmentIn(Strict):
    resident_id: Annotated[str, Field(min_length=18, max_length=18)]
    name: ShortText
    phone: Annotated[str, Field(pattern=r"^1[3-9]\d{9}$")] | None = None
    subsidy_category: Annotated[str, Field(max_length=48)] | None = None
    employment_at_start: EmploymentAtStart = EmploymentAtStart.unknown
    employment_after: EmploymentAfter = EmploymentAfter.unknown


class ConsentIn(Strict):
    granted: bool
    #: "biometric" (人脸核验, the default) or "photo_keeping" (留存签到照片作为证据), each on its own
    purpose: Literal["biometric", "photo_keeping"] = "biometric"
    #: "phone": the trainee ticks it themself; "paper": staff record a signed form
    channel: Literal["phone", "paper"]
    text_version: Annotated[str, Field(min_length=1, max_length=32)]


class ConsentTextQuery(Strict):
    #: Whose region's figures the notices state (staff recording a paper form); a trainee gets their own
    trainee_id: Annotated[int, Field(ge=1, le=2**31 - 1)] | None = None


class ListQuery(Strict):
    limit: Annotated[int, Field(ge=1, le=500)] = 100


#: Where a subsidy history entry or a check of the full record comes from (models.subsidy_history)
HistorySource = Literal["declaration", "hrss", "other"]
Note = Annotated[str, Field(max_length=512)]


class SubsidyHistoryEntryIn(Strict):
    """A subsidy received outside this system (the service checks the code against the catalog,
    the region, and that the date is neither in the future nor before the trainee's birth)."""

    occupation_code: Annotated[str, Field(min_length=5, max_length=16)]
    level: Level
    training_start: date  # the service words "not in the future" and "not before birth"
    kind: Literal["training", "evaluation"] = "training"
    #: The region that paid it; leave out when unknown (then it counts toward every region's limits)
    region_code: Annotated[str, Field(min_length=2, max_length=16)] | None = None
    source: HistorySource
    note: Note | None = None


class SubsidyHistoryCheckIn(Strict):
    """The trainee's full subsidy record was checked on `checked_on` (not in the future)."""

    checked_on: date  # as training_start
    source: HistorySource
    note: Note | None = None


class RetractionIn(Strict):
    reason: Annotated[str, Field(min_length=2, max_length=512)]


# --- check-in ------------------------------------------------------------------------------------


class ChallengeIn(Strict):
    purpose: Literal["check_in", "check_out", "spot_check"]
    spot_check_id: Id | None = None


class LocationIn(Strict):
    lat: Lat
    lon: Lon
    #: metres, as the browser reports it; 0 is accepted so it can be flagged as suspicious
    accuracy_m: Annotated[float, Field(ge=0, le=100_000, allow_inf_nan=False)]
    datum: Literal["wgs84", "gcj02", "bd09"] = "wgs84"
    #: the phone's own timestamp of the fix, with its offset (Date.toISOString of the Geolocation
    #: API's timestamp): a fix older than the deployment allows by the server's clock (or none)
    #: fails an offline check-in; kept as evidence with its age
    fix_at: AwareDatetime | None = None


class DeviceIn(Strict):
    device_id: Annotated[str, Field(min_length=8, max_length=128)]
    camera_label: Annotated[str, Field(max_length=256)] | None = None
    user_agent: Annotated[str, Field(max_length=512)] | None = None


class CheckinMeta(Strict):
    kind: Literal["check_in", "check_out", "spot_check"]
    nonce: Annotated[str, Field(min_length=16, max_length=64)]
    #: chosen by the phone once per attempt and reused on every retry of it
    idempotency_key: Annotated[str, Field(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_\-]+$")]
    device: DeviceIn
    location: LocationIn | None = None
    spot_check_id: Id | None = None
    #: each frame's capture time in ms from the burst's first frame (the challenge's prompts_ms
    #: clock), in the order the frames are uploaded
    frame_times: Annotated[list[Annotated[float, Field(ge=0, le=600_000, allow_inf_nan=False)]], Field(max_length=60)] | None = None
    #: the room code the trainee read off the teacher's screen (offline check-in of a class that
    #: requires one); any text: a mistyped code is judged and explained, not refused as malformed
    room_code: Annotated[str, Field(max_length=16)] | None = None


class HeartbeatIn(Strict):
    #: a JSON true/false: "yes" or 1 is a client bug, not a visibility
    visible: StrictBool
    #: the lesson video's player, when the page plays one: seconds into the video, its state and
    #: its rate (only 1x is credited; policies.attendance judges, this only bounds the input)
    position_s: Annotated[float, Field(strict=True, ge=0, le=86_400, allow_inf_nan=False)] | None = None
    playback: Literal["playing", "paused", "ended", "buffering"] | None = None
    rate: Annotated[float, Field(strict=True, gt=0, le=16, allow_inf_nan=False)] | None = None
    #: a live stream: seconds behind its live edge
    live_lag_s: Annotated[float, Field(strict=True, ge=0, le=86_400, allow_inf_nan=False)] | None = None

    @model_validator(mode="after")
    def _player_state_whole(self) -> HeartbeatIn:
        given = [x is not None for x in (self.position_s, self.playback, self.rate)]
        if any(given) and not all(given):
            raise ValueError("播放位置、播放状态和倍速须一起提供")
        if self.live_lag_s is not None and not all(given):
            raise ValueError("直播延迟须与播放状态一起提供")
        return self


class MediaLinkIn(Strict):
    kind: Literal["recorded", "live"]
    url: Annotated[str, Field(min_length=10, max_length=1024)]
    #: a recorded video's length in seconds (credit is content watched); none for a live stream
    duration_s: Annotated[float, Field(gt=0, le=86_400, allow_inf_nan=False)] | None = None


class QuizIn(Strict):
    #: [{"position_s", "questions": [{"text", "options", "answer"}]}]: checked by policies/quiz.py,
    #: which names each problem in Chinese
    checkpoints: Annotated[list[Any], Field(max_length=50)]


class QuizAttemptIn(Strict):
    checkpoint: Annotated[int, Field(ge=0, le=99)]
    answers: Annotated[list[Annotated[int, Field(ge=0, le=9)]], Field(min_length=1, max_length=10)]
    idempotency_key: Annotated[str, Field(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_\-]+$")]


class ClassQuizzesIn(Strict):
    enabled: bool


class SpotCheckIn(Strict):
    trainee_ids: Annotated[list[Id], Field(max_length=500)] | None = None


class ReviewIn(Strict):
    decision: Literal["approved", "rejected"]
    reason: Annotated[str, Field(min_length=2, max_length=512)]


class FaceHoldDecisionIn(Strict):
    decision: Literal["approve", "reject"]
    #: why: kept with the decision (who decided what, on what grounds)
    reason: Annotated[str, Field(min_length=2, max_length=512)]


class TemplateChangesQuery(Strict):
    #: templates created at or after this time (default: the last 30 days)
    since: AwareDatetime | None = None

    @field_validator("since")
    @classmethod
    def _within_range(cls, v: datetime | None) -> datetime | None:
        # 9999-12-31T23:59:59-14:00 parses, but is past what a datetime holds once made UTC.
        if v is not None and not date(2000, 1, 1) <= v.date() <= date(2999, 12, 31):
            raise ValueError("起始日期须在 2000 年至 2999 年之间")
        return v


class LiveQuery(Strict):
    #: the last event cursor the dashboard saw; the snapshot then lists every event after it
    since: int | None = Field(default=None, ge=0, le=2**31 - 1)
    institution_id: int | None = Field(default=None, ge=1, le=2**31 - 1)


class NonfaceCheckinIn(Strict):
    """A check-in (check-out, spot-check answer) without a face, for a trainee who refused face
    processing: what the phone knows of where it is; the teacher confirms the rest in the room."""

    kind: Literal["check_in", "check_out", "spot_check"]
    idempotency_key: Annotated[str, Field(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_\-]+$")]
    device: DeviceIn
    location: LocationIn | None = None
    spot_check_id: Id | None = None
    room_code: Annotated[str, Field(max_length=16)] | None = None


class AttestIn(Strict):
    """The teacher's confirmation that a trainee is in the room: the teacher's own device's fix
    and the room code it shows."""

    location: LocationIn | None = None
    room_code: Annotated[str, Field(max_length=16)] | None = None


class FaceRefusalIn(Strict):
    #: the version of the refusal text the phone showed (services/nonface.REFUSAL_VERSION)
    text_version: Annotated[str, Field(min_length=1, max_length=32)]
