"""Threshold calibration on small hand-made scores and encodings, where every answer can be
counted by hand: the operating points, the three-way shares, and which photos the protocols enrol
and probe with."""
from __future__ import annotations

import math

import numpy as np
import pytest

from recognition import RecognitionSettings, decide
from recognition.calibration import (
    DetPoint,
    calibrate,
    det_curve,
    equal_error_rate,
    fused_probe_scores,
    gallery_scores,
    pair_scores,
    photos_by_identity,
    round_down,
    round_up,
    tar_at_far,
    thin_det,
    three_way,
    threshold_for_far,
    threshold_for_tar,
)

# --- operating points ---------------------------------------------------------------------------


def test_threshold_for_far_picks_the_largest_threshold_that_keeps_the_far_within_the_target():
    impostor = np.array([0.9, 0.5, 0.8, 0.6, 0.7, 1.0, 1.1, 1.2, 1.3, 1.4])
    genuine = np.array([0.4, 0.55, 0.65, 0.75])
    op = threshold_for_far(genuine, impostor, 0.2)
    assert op.threshold == 0.7  # 0.5 and 0.6 are let in (2 of 10); 0.7 itself is not (accept is <)
    assert op.far == pytest.approx(0.2)
    assert op.tar == pytest.approx(3 / 4)
    assert np.mean(impostor < np.nextafter(op.threshold, 2.0)) > 0.2  # any larger one lets in a third


def test_tied_impostor_scores_are_let_in_together_or_not_at_all():
    op = threshold_for_far(np.array([0.1]), np.array([0.5, 0.5, 0.5, 0.9]), 0.25)
    assert (op.threshold, op.far) == (0.5, 0.0)  # one of the three ties would be 25%; all three 75%


def test_a_far_target_that_allows_every_impostor_gives_an_infinite_threshold():
    op = threshold_for_far(np.array([0.1, np.inf]), np.array([0.5, 0.6]), 1.0)
    assert op.threshold == math.inf and op.far == 1.0 and op.tar == 0.5  # the unusable genuine stays rejected


def test_threshold_for_tar_picks_the_smallest_threshold_that_accepts_enough_genuine_scores():
    genuine = np.array([0.4, 0.1, 0.3, 0.2])
    op = threshold_for_tar(genuine, np.array([0.25, 0.9]), 0.75)
    assert 0.3 < op.threshold < 0.3 + 1e-12  # just above the third genuine score
    assert op.tar == 0.75 and op.far == 0.5
    assert np.mean(genuine < 0.3) < 0.75  # at 0.3 itself only two are accepted


def test_a_tar_target_that_needs_an_unusable_genuine_image_cannot_be_met():
    op = threshold_for_tar(np.array([0.2, np.inf]), np.array([0.5]), 0.99)
    assert op.threshold == math.inf and op.tar == 0.5


def test_tar_at_far_lets_at_most_that_share_of_impostors_in_and_rejects_unusable_pairs():
    impostor = np.linspace(0.5, 1.5, 1000)
    genuine = np.array([0.3, 0.4, 0.5, 0.52, np.inf])
    tar, threshold = tar_at_far(genuine, impostor, 1e-2)
    assert np.sum(impostor < threshold) == 10
    assert threshold == pytest.approx(0.51, abs=1e-3)
    assert tar == pytest.approx(3 / 5)  # 0.52 is over it; the unusable pair (inf) is rejected


def test_equal_error_rate_is_zero_for_separable_scores_and_half_for_identical_ones():
    assert equal_error_rate(np.array([0.1, 0.2]), np.array([0.8, 0.9]))[0] == 0.0
    same = np.array([0.5, 0.5])
    assert equal_error_rate(same, same)[0] == pytest.approx(0.5)


def test_equal_error_rate_sits_where_false_rejects_and_false_accepts_cross():
    genuine = np.array([0.1, 0.2, 0.3, 0.6])
    impostor = np.array([0.25, 0.7, 0.8, 0.9])
    eer, threshold = equal_error_rate(genuine, impostor)
    assert eer == 0.25 and 0.3 < threshold <= 0.6  # 0.6 refused (1 of 4 genuine), 0.25 accepted (1 of 4 impostors)


def test_the_det_curve_has_a_point_at_every_distinct_score_with_its_rates():
    curve = det_curve(np.array([0.2, 0.4, np.inf]), np.array([0.3, 0.4, 0.5]))
    assert curve == [DetPoint(0.2, 0.0, 1.0), DetPoint(0.3, 0.0, 2 / 3),
                     DetPoint(0.4, 1 / 3, 2 / 3), DetPoint(0.5, 2 / 3, 1 / 3)]


def test_the_thinned_det_curve_keeps_for_each_far_the_largest_threshold_within_it():
    rng = np.random.default_rng(7)
    genuine, impostor = rng.normal(0.4, 0.05, 500), rng.normal(0.65, 0.07, 20_000)
    curve = det_curve(genuine, impostor)
    rows = thin_det(curve)
    assert 10 <= len(rows) <= 20
    assert [r.threshold for r in rows] == sorted(r.threshold for r in rows)
    strict = threshold_for_far(genuine, impostor, 1e-3)
    assert (strict.threshold, strict.far) in [(r.threshold, r.far) for r in rows]


# --- the three-way rule -------------------------------------------------------------------------


def test_three_way_counts_accepted_below_refused_from_and_review_between():
    genuine = np.array([0.1, 0.3, 0.35, 0.45])
    impostor = np.array([0.2, 0.4, 0.6, 0.7, np.inf])
    tw = three_way(genuine, impostor, 0.3, 0.45)
    # 0.3 is not below the accept threshold: review; 0.45 is at the refuse threshold: refused
    assert (tw.genuine_accepted, tw.genuine_review, tw.genuine_refused) == (0.25, 0.5, 0.25)
    assert (tw.impostor_accepted, tw.impostor_review, tw.impostor_refused) == (0.2, 0.2, 0.6)
    assert tw.review_per_100_honest == 50.0 and tw.refused_per_100_honest == 25.0


def test_three_way_shares_are_the_deployed_decisions_on_each_distance():
    settings = RecognitionSettings()
    distances = np.round(np.linspace(0.3, 0.55, 26), 2)
    tw = three_way(distances, distances, settings.match_threshold, settings.review_threshold)
    neutral = [settings.cohort_reference] * settings.cohort_k  # a template whose shift is zero
    outcomes = [decide(float(d), settings, neutral).outcome for d in distances]
    assert tw.genuine_accepted == outcomes.count("accept") / len(distances)
    assert tw.genuine_review == outcomes.count("review") / len(distances)
    assert tw.genuine_refused == outcomes.count("refuse") / len(distances)


def test_calibrate_accepts_below_the_far_threshold_and_refuses_from_the_tar_threshold():
    genuine = np.array([0.2, 0.3, 0.4, 0.5])
    impostor = np.linspace(0.35, 1.35, 100)
    cal = calibrate(genuine, impostor, target_far=0.01, target_tar=1.0)
    assert cal.accept_below == cal.strict.threshold == impostor[1]  # one impostor of 100 let in
    assert cal.refuse_from == cal.loose.threshold and 0.5 < cal.refuse_from < 0.5 + 1e-12
    assert cal.outcome.genuine_accepted == 0.5 and cal.outcome.genuine_review == 0.5
    assert (cal.genuine, cal.impostor) == (4, 100)


def test_when_one_threshold_meets_both_targets_the_review_band_is_empty():
    cal = calibrate(np.array([0.2, 0.3]), np.linspace(0.6, 1.0, 50), target_far=0.001, target_tar=0.99)
    assert cal.refuse_from == cal.accept_below == 0.6
    assert cal.outcome.review_per_100_honest == 0.0 and cal.eer == 0.0


@pytest.mark.parametrize("genuine, impostor, which", [([], [0.5], "genuine"), ([0.5], [], "impostor")])
def test_calibrate_refuses_an_empty_side_with_a_message_that_names_it(genuine, impostor, which):
    with pytest.raises(ValueError, match=f"no {which} scores"):
        calibrate(np.array(genuine), np.array(impostor))


def test_rounded_thresholds_never_loosen_the_exact_ones():
    assert round_down(0.37749) == 0.377 and round_up(0.45201) == 0.453
    assert round_down(0.4) == 0.4 and round_up(0.4) == 0.4
    for t in np.random.default_rng(3).uniform(0.2, 0.7, 2000):
        assert round_down(float(t)) <= t <= round_up(float(t))
    assert round_up(math.inf) == math.inf


# --- protocols ----------------------------------------------------------------------------------


def _enc(*values: float) -> np.ndarray:
    return np.array(values, dtype=np.float64)


def test_pair_scores_split_genuine_from_impostor_and_score_a_missing_encoding_as_rejected():
    encodings = {"a": _enc(0, 0), "b": _enc(3, 4), "c": _enc(0, 1)}
    genuine, impostor = pair_scores([("a", "b", True), ("a", "c", False), ("b", "gone", True)], encodings)
    assert genuine.tolist() == [5.0, math.inf]
    assert impostor.tolist() == [1.0]


# Three people: ann with 4 photos, bob with 2, cy with 1. Each photo's first coordinate names it,
# so a distance shows which photos were enrolled and which probed.
IDENTITY = {"ann/1": "ann", "ann/2": "ann", "ann/3": "ann", "ann/4": "ann", "bob/1": "bob", "bob/2": "bob", "cy/1": "cy"}
ENCODINGS = {"ann/1": _enc(1, 0), "ann/2": _enc(2, 0), "ann/3": _enc(3, 0), "ann/4": _enc(10, 0),
             "bob/1": _enc(0, 5), "bob/2": _enc(0, 7), "cy/1": _enc(0, -1)}


def test_photos_of_an_identity_are_taken_in_sorted_path_order():
    assert photos_by_identity({"b/2": "b", "a/1": "a", "b/1": "b"}) == {"a": ["a/1"], "b": ["b/1", "b/2"]}


def test_the_gallery_enrols_the_first_photos_and_probes_only_the_others():
    genuine, impostor = gallery_scores(ENCODINGS, IDENTITY, enrol_photos=3)
    # ann: template = mean of photos 1-3 = (2, 0), probe photo 4 at 8; bob: photo 1 (n - 1 = 1), probe 2 at 2;
    # cy has one photo: never enrolled, never a genuine probe
    assert genuine.tolist() == [8.0, 2.0]
    ann = _enc(2, 0)
    expected_ann = [float(np.linalg.norm(ENCODINGS[p] - ann)) for p in ("bob/1", "bob/2", "cy/1")]
    expected_bob = [float(np.linalg.norm(ENCODINGS[p] - ENCODINGS["bob/1"]))
                    for p in ("ann/1", "ann/2", "ann/3", "ann/4", "cy/1")]
    assert impostor.tolist() == pytest.approx(expected_ann + expected_bob)  # every photo of everyone else


def test_the_gallery_enrols_from_usable_photos_and_scores_an_unusable_probe_as_rejected():
    encodings = {k: v for k, v in ENCODINGS.items() if k != "ann/1"}
    genuine, _ = gallery_scores(encodings, IDENTITY, enrol_photos=3)
    # ann enrols photos 2-4 (mean (5, 0)); photo 1, unusable, is her probe
    assert genuine.tolist() == [math.inf, 2.0]


def test_one_enrolment_photo_probes_with_every_other_photo():
    genuine, impostor = gallery_scores(ENCODINGS, IDENTITY, enrol_photos=1)
    assert genuine.tolist() == [1.0, 2.0, 9.0, 2.0]
    assert len(impostor) == 3 + 5


def test_the_fused_probe_averages_groups_of_photos_and_drops_a_short_genuine_group():
    identity = {f"ann/{i}": "ann" for i in range(1, 8)} | {"bob/1": "bob", "cy/1": "cy", "cy/2": "cy"}
    encodings = {f"ann/{i}": _enc(i, 0) for i in range(1, 8)} | {
        "bob/1": _enc(0, 3), "cy/1": _enc(0, 4), "cy/2": _enc(0, 6)}
    genuine, impostor = fused_probe_scores(encodings, identity, enrol_photos=3, fuse=3)
    # ann (7 photos): enrolled from 1-3 (mean (2, 0)); probes 4-6 fused to (5, 0); photo 7 alone is dropped.
    # bob and cy have fewer than 1 + 3 photos: no template of theirs is probed.
    assert genuine.tolist() == [3.0]
    # impostor probes against ann: bob's single photo, and cy's two photos fused to (0, 5)
    assert impostor.tolist() == pytest.approx([float(np.hypot(2, 3)), float(np.hypot(2, 5))])


def test_the_fused_probe_enrols_fewer_photos_so_that_one_full_group_is_left():
    identity = {f"ann/{i}": "ann" for i in range(1, 5)} | {"bob/1": "bob"}
    encodings = {f"ann/{i}": _enc(i, 0) for i in range(1, 5)} | {"bob/1": _enc(0, 1)}
    genuine, impostor = fused_probe_scores(encodings, identity, enrol_photos=3, fuse=3)
    assert genuine.tolist() == [2.0]  # enrolled from photo 1 only (4 - 3), probes 2-4 fused to (3, 0)
    assert len(impostor) == 1
