"""The review-window rule for check-in photos (POLICY §11): without consent to keep them, photos
go N days after the lesson (or the review decision); an open review keeps them; consent (b)
hands them to the region's keeping period; withdrawing it brings the window back."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from policies import loader
from policies.model import Cited
from policies.retention import frame_keeping, keep_years

ENDS = datetime(2026, 3, 2, 5, tzinfo=UTC)
WINDOW = Cited(30, "POLICY §11")


def test_without_consent_to_keep_them_photos_go_when_the_window_after_the_lesson_closes():
    rule = frame_keeping(ENDS, WINDOW, review_open=False, reviewed_at=None, keeping_consented=False)
    assert (rule.kind, rule.until, rule.reason.clause) == ("window", ENDS + timedelta(days=30), "POLICY §11")
    assert not rule.expired(ENDS + timedelta(days=30) - timedelta(seconds=1))
    assert rule.expired(ENDS + timedelta(days=30))
    assert "30 天" in rule.reason.detail


def test_an_open_review_keeps_the_photos_and_a_decision_restarts_the_window():
    open_review = frame_keeping(ENDS, WINDOW, review_open=True, reviewed_at=None, keeping_consented=False)
    assert open_review.kind == "review_open" and not open_review.expired(ENDS + timedelta(days=3650))
    decided = ENDS + timedelta(days=45)
    after = frame_keeping(ENDS, WINDOW, review_open=False, reviewed_at=decided, keeping_consented=False)
    assert after.until == decided + timedelta(days=30)
    assert not after.expired(ENDS + timedelta(days=31)) and after.expired(decided + timedelta(days=30))


def test_consent_to_keep_them_hands_the_photos_to_the_regions_keeping_period_and_withdrawing_it_shortens_it():
    kept = frame_keeping(ENDS, WINDOW, review_open=False, reviewed_at=None, keeping_consented=True)
    assert kept.kind == "region_retention" and kept.until is None and not kept.expired(ENDS + timedelta(days=400))
    # Withdrawn later: the rule looks at the consent now, so the window applies from then on and a
    # lesson whose window already closed loses its photos at the next run.
    withdrawn = frame_keeping(ENDS, WINDOW, review_open=False, reviewed_at=None, keeping_consented=False)
    assert withdrawn.expired(ENDS + timedelta(days=400))


def test_the_window_is_a_region_setting_with_a_default_and_the_keeping_period_never_under_five_years(tmp_path):
    js = loader.load_region("js")
    assert js.photo_review_window_days == Cited(30, "POLICY §11")
    assert keep_years(js) == Cited(5, "js 4.2")
    assert keep_years(loader.load_region("cq")).value == 5
    source = (loader.Path(loader.__file__).parent / "regions" / "js.yaml").read_text()
    custom = tmp_path / "js.yaml"
    custom.write_text(source.replace("photo_review_window: {days: 30, clause: POLICY §11}",
                                     "photo_review_window: {days: 90, clause: js 4.2}"))
    assert loader.load_region_file(custom).photo_review_window_days == Cited(90, "js 4.2")
