"""How long check-in photos are kept (POLICY §11), as a pure rule.

Without the trainee's consent to keep them as evidence (purpose (b), ``photo_keeping``), the
photos of an event are kept until its review window closes: the region's window (days) after the
later of the lesson's end and the event's review decision; while a review is open (a flagged
event nobody has decided yet) the window does not close. With (b) in force, the region's keeping
period of training records applies instead (POLICY §4) and this rule does not delete anything.
The rule looks at the consent *now*: a withdrawal of (b) shortens the keeping from then on."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from policies.model import Cited, Reason, RegionPolicy

#: Keeping periods are never shorter than this anywhere (POLICY §4, js 4.2: 电子资料保管不少于5年).
MIN_KEEP_YEARS = 5
MIN_KEEP_CLAUSE = "POLICY §4 (js 4.2: 电子资料保管不少于5年)"


def keep_years(policy: RegionPolicy) -> Cited[int]:
    """Years evidence of a class in this region is kept after training ends: the longest
    ``years_after`` rule for electronic records, never less than MIN_KEEP_YEARS."""
    kept = [(r.amount, r.clause) for r in policy.deadlines if r.kind == "years_after" and "electronic" in r.code]
    years, clause = max(kept, default=(MIN_KEEP_YEARS, MIN_KEEP_CLAUSE))
    return Cited(max(years, MIN_KEEP_YEARS), clause)


@dataclass(frozen=True)
class FrameKeeping:
    """What the rule says about one event's photos.

    ``kind``: "region_retention" (consent (b) in force: the region's keeping period applies),
    "review_open" (kept while the review is open) or "window" (kept until ``until``)."""

    kind: str
    until: datetime | None
    reason: Reason

    def expired(self, now: datetime) -> bool:
        """Whether the photos may be deleted now by this rule."""
        return self.kind == "window" and self.until is not None and self.until <= now


def frame_keeping(lesson_ends_at: datetime, window: Cited[int], *, review_open: bool,
                  reviewed_at: datetime | None, keeping_consented: bool) -> FrameKeeping:
    """Keep-until of an event's photos: see the module's docstring."""
    if keeping_consented:
        return FrameKeeping("region_retention", None, Reason(
            "photo_keeping_consented", "POLICY §11", "学员已同意留存签到照片作为证据，按所在地区培训资料保存期限保存"))
    if review_open:
        return FrameKeeping("review_open", None, Reason(
            "photo_review_open", "POLICY §11", "该次签到仍在复核中，复核结束前照片不删除"))
    start = max(lesson_ends_at, reviewed_at) if reviewed_at is not None else lesson_ends_at
    return FrameKeeping("window", start + timedelta(days=window.value), Reason(
        "photo_review_window", window.clause,
        f"学员未同意留存签到照片：课程结束（或复核决定）后 {window.value} 天复核期满即删除照片，仅保留其哈希值和核验结果"))
