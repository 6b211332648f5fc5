"""Retention: evidence is kept at least as long as the rules say, and never purged younger.

The keeping period is the longest `years_after` rule for electronic records among the region's
deadlines (JS: electronic records >= 5 years after training ends, js 4.2), and never less than
MIN_YEARS for any region: the seeds name no shorter period anywhere, and evidence behind a
subsidy must outlive any audit of it. Only evidence of a class that ended more than that long
ago, and whose own time is older than the same cut-off, is ever considered: both conditions are
in the query, so younger rows are not even loaded.

Rows are never purged: the evidence tables are append-only (database triggers refuse DELETE)
and removing events would break the class's hash chain. The daily job *reports* them, per table.

Photo files can be purged (`purge_photos`): the face frames of check-in events and the group photos
of lessons, kept by hash in the evidence store, of classes past their keeping period. The event
rows stay, with the frames' hashes, so the chain still verifies and a request for such a frame
answers 410 "证据照片已按保存期限删除". A file whose hash is also named by anything not past
its keeping period (an event of a younger class, a younger group photo, any face template's
enrollment photos) is kept. Each class's purge is recorded in the audit log (counts and every
hash) *before* its files are deleted: a crash in between leaves files the record names, which is
the safe side (nothing gone unrecorded). A class with a recorded purge is not scanned again.
Purging is opt-in: `hourproof retention` shows what would go, `hourproof retention --purge`
deletes, and the daily job deletes only with HOURPROOF_RETENTION_PURGE=1.

Check-in photos of trainees who did not agree to their keeping (consent purpose "photo_keeping")
go much earlier, when the event's review window closes (`expire_frames`, POLICY §11,
policies/retention.py): a legal duty, so the daily job does it without being asked, recorded in
the audit log ("evidence.expire", every hash) before the files go; a request for such a photo
answers 410 EXPIRED_MESSAGE and `hourproof audit verify --photos` counts it as expired.

It does act on one more thing regardless: face templates of trainees whose newest biometric consent
is a withdrawal are erased if a template somehow still holds bytes (withdrawal erases them at
once; this is the backstop, PIPL: processing ends with consent)."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from policies import retention as keeping
from policies.deadlines import add_months
from policies.model import Cited
from server.clock import local_date, zone
from server.errors import ApiError
from server.models import (
    Absence,
    AuditEntry,
    Challenge,
    Consent,
    Event,
    FaceTemplate,
    FrameFingerprint,
    GroupPhoto,
    Heartbeat,
    LessonTransition,
    SpotCheck,
    TrainingClass,
)
from server.services import audit, rules
from server.services.scope import Actor

log = logging.getLogger("hourproof.retention")
MIN_YEARS = keeping.MIN_KEEP_YEARS
PURGED_MESSAGE = "证据照片已按保存期限删除"
EXPIRED_MESSAGE = "签到照片已在复核期结束后删除（学员未同意留存）"
#: The audit action of deleting check-in photos whose review window closed (POLICY §11)
EXPIRE_ACTION = "evidence.expire"


def keep_years(region_code: str) -> tuple[int, str]:
    """(years, clause) that evidence of a class in this region is kept after training ends."""
    kept = keeping.keep_years(rules.region(region_code))
    return kept.value, kept.clause


def _evidence_counts(session: Session, class_ids: list[int], cutoff: datetime) -> dict[str, int]:
    """Rows of each evidence table that belong to these classes and are older than `cutoff`."""
    from server.models import Lesson

    def count(model, when, *where):
        return session.scalar(select(func.count()).select_from(model).where(when < cutoff, *where))

    return {
        "events": count(Event, Event.at, Event.class_id.in_(class_ids)),
        "heartbeats": count(Heartbeat, Heartbeat.at, Heartbeat.lesson_id.in_(
            select(Lesson.id).where(Lesson.class_id.in_(class_ids)))),
        "spot_checks": count(SpotCheck, SpotCheck.issued_at, SpotCheck.class_id.in_(class_ids)),
        "challenges": count(Challenge, Challenge.issued_at, Challenge.lesson_id.in_(
            select(Lesson.id).where(Lesson.class_id.in_(class_ids)))),
        "frame_fingerprints": count(FrameFingerprint, FrameFingerprint.at, FrameFingerprint.event_id.in_(
            select(Event.id).where(Event.class_id.in_(class_ids)))),
        "absences": count(Absence, Absence.recorded_at, Absence.class_id.in_(class_ids)),
        "lesson_transitions": count(LessonTransition, LessonTransition.recorded_at, LessonTransition.class_id.in_(class_ids)),
    }


@dataclass
class RetentionReport:
    today: date
    #: class id -> (kept until, clause) for classes past their keeping period
    expired_classes: dict[int, tuple[date, str]] = field(default_factory=dict)
    would_purge: dict[str, int] = field(default_factory=dict)
    purged: int = 0
    templates_erased: int = 0
    #: The photo purge, when the duty did one (HOURPROOF_RETENTION_PURGE)
    photos: PurgeReport | None = None

    def summary(self) -> str:
        rows = sum(self.would_purge.values())
        photos = (self.photos.summary() if self.photos is not None
                  else "photo files not purged (HOURPROOF_RETENTION_PURGE not set; `hourproof retention` shows what would go)")
        if not self.expired_classes:
            return (f"retention: nothing older than the keeping period (>= {MIN_YEARS} years after training ends); "
                    f"nothing purged; {self.templates_erased} withdrawn-consent templates erased")
        return (f"retention: {len(self.expired_classes)} classes past their keeping period, {rows} evidence rows past it "
                f"({self.would_purge}); rows: none purged (append-only, the hash chain); {photos}; "
                f"{self.templates_erased} withdrawn-consent templates erased")


def _expired_classes(session: Session, today: date) -> dict[int, tuple[date, str, int]]:
    """class id -> (kept until, clause, years) for every class past its keeping period."""
    out = {}
    for cls in session.scalars(select(TrainingClass).where(TrainingClass.ends_on < add_months(today, -12 * MIN_YEARS))
                               .order_by(TrainingClass.id)):
        years, clause = keep_years(cls.region_code)
        until = add_months(cls.ends_on, 12 * years)
        if until < today:
            out[cls.id] = (until, clause, years)
    return out


def _cutoff(today: date, years: int) -> datetime:
    """Evidence older than this (Beijing midnight, `years` before today) is past its period."""
    return datetime.combine(add_months(today, -12 * years), time(0), zone())


def review(session: Session, now: datetime, store=None) -> RetentionReport:
    """The daily duty's report of what is past its keeping period; it also erases withdrawn-
    consent templates. Purging photo files is `purge_photos`, which the duty calls only with
    HOURPROOF_RETENTION_PURGE set."""
    today = local_date(now)
    report = RetentionReport(today)
    report.expired_classes = {i: (until, clause) for i, (until, clause, _) in _expired_classes(session, today).items()}
    if report.expired_classes:
        # The same age limit applies to each row: a class that ended long ago may still have a
        # younger row (a late review decision), and that row is kept.
        years = max(keep_years(session.get_one(TrainingClass, i).region_code)[0] for i in report.expired_classes)
        cutoff = datetime.combine(add_months(today, -12 * years), time(0), zone())
        report.would_purge = _evidence_counts(session, list(report.expired_classes), cutoff)
    report.templates_erased = _erase_withdrawn(session, now, store)
    session.commit()
    log.info(report.summary())
    return report


def _erase_withdrawn(session: Session, now: datetime, store) -> int:
    from server.services import faces

    newest = (select(Consent.trainee_id, func.max(Consent.id).label("id")).where(Consent.purpose == "biometric")
              .group_by(Consent.trainee_id).subquery())
    withdrawn = select(Consent.trainee_id).join(newest, newest.c.id == Consent.id).where(Consent.granted.is_(False))
    trainees = session.scalars(select(FaceTemplate.trainee_id).where(FaceTemplate.erased_at.is_(None),
                                                                     FaceTemplate.trainee_id.in_(withdrawn)).distinct()).all()
    erased = 0
    for trainee_id in trainees:
        erased += faces.erase_templates(session, Actor.system(), trainee_id, now, store)
    return erased


# --- purging photo files ------------------------------------------------------------------------

@dataclass
class ClassPurge:
    class_id: int
    institution_id: int
    name: str
    kept_until: date
    clause: str
    #: Events (of this class, past the cut-off) that name at least one frame
    events: int = 0
    group_photos: int = 0
    #: Files deleted (or, in a dry run, that would be)
    hashes: list[str] = field(default_factory=list)
    #: Named by something not past its keeping period: kept
    shared: list[str] = field(default_factory=list)
    #: Named here but not in the store any more (purged with another class, or never stored)
    already_gone: int = 0

    def record(self) -> dict:
        return {"class_id": self.class_id, "kept_until": self.kept_until.isoformat(), "clause": self.clause,
                "events": self.events, "group_photos": self.group_photos, "files_deleted": len(self.hashes),
                "kept_shared": len(self.shared), "already_gone": self.already_gone,
                "hashes": self.hashes, "shared_hashes": self.shared}


@dataclass
class PurgeReport:
    today: date
    dry_run: bool
    classes: list[ClassPurge] = field(default_factory=list)
    #: Classes past their keeping period whose purge is recorded already (not scanned again)
    done_before: int = 0

    @property
    def files(self) -> int:
        return sum(len(c.hashes) for c in self.classes)

    def summary(self) -> str:
        verb = "would be deleted (dry run)" if self.dry_run else "deleted (recorded in the audit log)"
        return (f"photo files: {self.files} of {len(self.classes)} classes {verb}, "
                f"{sum(len(c.shared) for c in self.classes)} kept (shared with younger evidence), "
                f"{self.done_before} classes purged before")


def frames_of(evidence) -> list[str]:
    """The photo hashes an event's evidence names (anything else there is ignored)."""
    frames = (evidence or {}).get("frames") or []
    return [h for h in frames if isinstance(h, str)]


def _settle(plans, keep: set[str], store) -> list:
    """Each plan's files that may go: none that anything else still names (``keep``: set aside
    in ``plan.shared``), none already gone, and a file two plans share only once (the first),
    so it is deleted and counted once. ``plan.hashes`` becomes what is to be deleted."""
    plans, taken = list(plans), set()
    for plan in plans:
        go: list[str] = []
        plan.shared = [h for h in plan.hashes if h in keep]
        for h in plan.hashes:
            if h in keep:
                continue
            if h in taken or not store.exists(h):
                plan.already_gone += 1
                continue
            go.append(h)
            taken.add(h)
        plan.hashes = go
    return plans


def purge_photos(session: Session, now: datetime, store, *, dry_run: bool = True) -> PurgeReport:
    """Delete (dry_run=False) or list (dry_run) the photo files of classes past their keeping
    period: frames of their events and their group photos, each older than the cut-off, except
    files also named by younger evidence or by a face template. The scan of what else names a
    hash reads every younger event's evidence: it runs only when some class is newly past its
    period (a class whose purge is recorded is skipped), so a daily run usually costs nothing."""
    from server.services.scope import Actor

    today = local_date(now)
    report = PurgeReport(today, dry_run)
    expired = _expired_classes(session, today)
    if not expired:
        return report
    recorded = set(session.scalars(select(AuditEntry.entity_id).where(
        AuditEntry.action == "evidence.purge", AuditEntry.entity == "class", AuditEntry.entity_id.in_(list(expired)))))
    report.done_before = len(recorded)
    by_years: dict[int, list[int]] = {}
    for class_id, (_, _, years) in expired.items():
        by_years.setdefault(years, []).append(class_id)
    # Past the period: an expired class's event / group photo older than its class's cut-off.
    old_event = or_(*[and_(Event.class_id.in_(ids), Event.at < _cutoff(today, y)) for y, ids in by_years.items()])
    old_photo = or_(*[and_(GroupPhoto.class_id.in_(ids), GroupPhoto.uploaded_at < _cutoff(today, y))
                      for y, ids in by_years.items()])

    plans: list[ClassPurge] = []
    wanted: set[str] = set()
    for class_id, (until, clause, _years) in expired.items():
        if class_id in recorded:
            continue
        cls = session.get_one(TrainingClass, class_id)
        plan = ClassPurge(class_id, cls.institution_id, cls.name, until, clause)
        names: list[str] = []
        for evidence in session.scalars(select(Event.evidence).where(Event.class_id == class_id, old_event)
                                        .execution_options(yield_per=1000)):
            frames = frames_of(evidence)
            if frames:
                plan.events += 1
                names += frames
        photos = session.scalars(select(GroupPhoto.sha256).where(GroupPhoto.class_id == class_id, old_photo)).all()
        plan.group_photos = len(photos)
        names += photos
        plan.hashes = list(dict.fromkeys(names))  # each once, in the order met
        wanted.update(plan.hashes)
        plans.append(plan)
    if not plans:
        return report

    # What else names these hashes: anything not past its period, and every face template. (A
    # check-in storing the very bytes of a five-year-old frame between this scan and the delete
    # would lose its file: camera frames do not repeat, so that window is left open.)
    keep: set[str] = set()
    if wanted:
        for evidence in session.scalars(select(Event.evidence).where(~old_event).execution_options(yield_per=2000)):
            keep.update(h for h in frames_of(evidence) if h in wanted)
        keep.update(h for h in session.scalars(select(GroupPhoto.sha256).where(~old_photo)) if h in wanted)
        for hashes in session.scalars(select(FaceTemplate.photo_hashes)):
            keep.update(h for h in (hashes or []) if h in wanted)
    session.rollback()

    report.classes.extend(_settle(plans, keep, store))
    if dry_run:
        return report
    for plan in report.classes:
        # Recorded first, deleted after: a crash in between leaves files the record names, never
        # a deletion nobody recorded. The write takes SQLite's lock up front (the scan above did
        # not hold it: check-ins keep writing meanwhile).
        session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})
        audit.record(session, Actor.system(), "evidence.purge", "class", plan.class_id, None, plan.record(),
                     institution_id=plan.institution_id)
        session.commit()
        for h in plan.hashes:
            store.delete(h)
        log.info("retention purge: class %s (%s, kept until %s, %s): %d photo files deleted, %d kept (shared), "
                 "%d already gone; hashes in the audit log", plan.class_id, plan.name, plan.kept_until, plan.clause,
                 len(plan.hashes), len(plan.shared), plan.already_gone)
    return report


def past_keeping(session: Session, event: Event, now: datetime) -> bool:
    """Whether this event's evidence is past its keeping period (so its photos may be purged)."""
    return evidence_past_keeping(session, event.class_id, event.at, now)


def evidence_past_keeping(session: Session, class_id: int, at: datetime, now: datetime) -> bool:
    """Whether evidence of this class taken at ``at`` (an event, a group photo) is past its
    keeping period: the class ended longer ago than it, and so was the evidence taken."""
    cls = session.get_one(TrainingClass, class_id)
    today = local_date(now)
    years, _ = keep_years(cls.region_code)
    return add_months(cls.ends_on, 12 * years) < today and at < _cutoff(today, years)


def missing_photo_error(session: Session, event: Event, digest: str, now: datetime) -> ApiError:
    """What a request for a stored photo that is not there gets: 410 when the retention rule
    allowed its purge, or when its review window closed without consent to keep it (recorded in
    the audit log); otherwise it should be there, which is an integrity problem (logged)."""
    if past_keeping(session, event, now):
        return ApiError(410, "evidence_purged", PURGED_MESSAGE)
    if event.id in expired_event_ids(session, event.class_id):
        return ApiError(410, "evidence_expired", EXPIRED_MESSAGE)
    log.error("evidence file %s of event %s is missing although its keeping period has not passed", digest, event.id)
    return ApiError(500, "evidence_missing", "证据照片文件缺失（未到保存期限），请联系管理员核查")


# --- check-in photos past their review window (POLICY §11) --------------------------------------

@dataclass
class ClassExpiry:
    class_id: int
    institution_id: int
    #: Events whose photos' review window closed (their frames go, unless named elsewhere)
    events: list[int] = field(default_factory=list)
    hashes: list[str] = field(default_factory=list)
    #: Named by something else still kept (an enrolment photo, a group photo, another event): kept
    shared: list[str] = field(default_factory=list)
    already_gone: int = 0

    def record(self, window_clause: str) -> dict:
        return {"class_id": self.class_id, "rule": "photo_review_window", "clause": window_clause,
                "events": self.events, "files_deleted": len(self.hashes), "kept_shared": len(self.shared),
                "already_gone": self.already_gone, "hashes": self.hashes, "shared_hashes": self.shared}


@dataclass
class ExpireReport:
    dry_run: bool
    classes: list[ClassExpiry] = field(default_factory=list)
    #: Events whose photos are kept past the window because a review is still open
    review_open: int = 0
    #: Files a recent run recorded but did not get to delete (it crashed in between): deleted now
    finished: int = 0

    @property
    def files(self) -> int:
        return sum(len(c.hashes) for c in self.classes)

    @property
    def events(self) -> int:
        return sum(len(c.events) for c in self.classes)

    def summary(self) -> str:
        verb = "would be deleted (dry run)" if self.dry_run else "deleted (recorded in the audit log)"
        return (f"check-in photos past their review window (no consent to keep them): {self.files} files of "
                f"{self.events} events {verb}, {sum(len(c.shared) for c in self.classes)} kept (named elsewhere), "
                f"{self.review_open} events kept while their review is open")


def expired_event_ids(session: Session, class_id: int | None = None) -> set[int]:
    """Events whose photos were deleted when their review window closed (from the audit log)."""
    q = select(AuditEntry.after).where(AuditEntry.action == EXPIRE_ACTION, AuditEntry.entity == "class")
    if class_id is not None:
        q = q.where(AuditEntry.entity_id == class_id)
    return {int(i) for after in session.scalars(q) for i in ((after or {}).get("events") or [])}


#: How far back a run looks for deletions an earlier run recorded but did not finish
FINISH_DAYS = 7


def _finish_recorded(session: Session, now: datetime, store) -> int:
    """Delete the files of the last FINISH_DAYS' expiry records that are still there: recorded
    first, deleted after, so a crash in between leaves them to the next run (which would not scan
    those events again). Each was named by nothing kept when it was recorded."""
    finished = 0
    for after in session.scalars(select(AuditEntry.after).where(AuditEntry.action == EXPIRE_ACTION,
                                                                AuditEntry.at >= now - timedelta(days=FINISH_DAYS))):
        for h in (after or {}).get("hashes") or []:
            if store.exists(h):
                store.delete(h)
                finished += 1
    session.rollback()
    if finished:
        log.warning("review window: %d recorded photo files were still on disk (an earlier run stopped between "
                    "recording and deleting): deleted now", finished)
    return finished


def expire_frames(session: Session, now: datetime, store, *, dry_run: bool = False) -> ExpireReport:
    """Delete (or, dry_run, list) the check-in photos whose review window closed, of trainees
    without photo-keeping consent in force now (policies/retention.py; GB/T 41819-2022: face
    images are deleted after verification unless separately agreed). A legal duty, so the daily
    job runs it without being asked. Each class's deletion is recorded in the audit log (events
    and every hash) before its files go; event rows stay (the chain verifies; the hashes, the
    verdict and its measures remain). A file still named by an event not expiring, a group photo
    or a face template is kept. It reads every event's evidence once (one pass, streamed)."""
    from server.models import Lesson
    from server.services import consent

    report = ExpireReport(dry_run)
    if not dry_run:
        report.finished = _finish_recorded(session, now, store)
    done = expired_event_ids(session)
    keeps = consent.keeping_consented(session)
    decided = dict(session.execute(select(Event.decides_event_id, func.max(Event.at)).where(
        Event.kind == "review_decision", Event.decides_event_id.is_not(None)).group_by(Event.decides_event_id)).all())
    windows: dict[int, tuple[int, Cited[int]]] = {}  # class id -> (institution id, the window)
    plans: dict[int, ClassExpiry] = {}
    keep: set[str] = set()
    q = (select(Event.id, Event.class_id, Lesson.ends_at, Event.trainee_id, Event.verdict, Event.evidence)
         .join(Lesson, Lesson.id == Event.lesson_id).where(Event.kind != "review_decision")
         .order_by(Event.id).execution_options(yield_per=1000))
    for event_id, class_id, lesson_ends_at, trainee_id, verdict, evidence in session.execute(q):
        frames = frames_of(evidence)
        if not frames or event_id in done:
            continue
        if trainee_id is None or trainee_id in keeps:
            keep.update(frames)
            continue
        if class_id not in windows:
            cls = session.get_one(TrainingClass, class_id)
            windows[class_id] = (cls.institution_id, rules.region(cls.region_code).photo_review_window_days)
        rule = keeping.frame_keeping(lesson_ends_at, windows[class_id][1],
                                     review_open=verdict == "flagged" and event_id not in decided,
                                     reviewed_at=decided.get(event_id), keeping_consented=False)
        if not rule.expired(now):
            report.review_open += rule.kind == "review_open"
            keep.update(frames)
            continue
        plan = plans.setdefault(class_id, ClassExpiry(class_id, windows[class_id][0]))
        plan.events.append(event_id)
        plan.hashes += [h for h in frames if h not in plan.hashes]
    if not plans:
        session.rollback()
        return report
    keep.update(h for h in session.scalars(select(GroupPhoto.sha256)))
    for hashes in session.scalars(select(FaceTemplate.photo_hashes)):
        keep.update(hashes or [])
    session.rollback()

    report.classes.extend(_settle(plans.values(), keep, store))
    if dry_run:
        return report
    for plan in report.classes:
        # Recorded first, deleted after (as purge_photos): a crash in between leaves files the
        # record names, never a deletion nobody recorded.
        session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})
        audit.record(session, Actor.system(), EXPIRE_ACTION, "class", plan.class_id, None,
                     plan.record(windows[plan.class_id][1].clause),
                     institution_id=plan.institution_id)
        session.commit()
        for h in plan.hashes:
            store.delete(h)
        log.info("review window: class %s: photos of %d events past their review window, %d files deleted, "
                 "%d kept (named elsewhere), %d already gone; hashes in the audit log", plan.class_id,
                 len(plan.events), len(plan.hashes), len(plan.shared), plan.already_gone)
    return report
