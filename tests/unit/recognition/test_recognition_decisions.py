"""Quality gate, enrollment, verification and group matching, driven by the FakeRecognizer:
the decision logic on its own, in milliseconds."""
from __future__ import annotations

import itertools
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st

from recognition import RecognitionSettings, Template, assess_quality, decide, enroll, match_group_photo, verify
from recognition.group import best_matches, min_cost_assignment
from recognition.identity import template_shift
from recognition.reasons import MESSAGES
from recognition.testing import FakeFace, FakeRecognizer, fake_photo

FAKE = FakeRecognizer()
SETTINGS = RecognitionSettings()
#: without a deployment around the template, the strictest per-template thresholds apply
STRICT_SHIFT = template_shift(None, SETTINGS)[0]
ACCEPT_BELOW, REFUSE_FROM = SETTINGS.match_threshold + STRICT_SHIFT, SETTINGS.review_threshold + STRICT_SHIFT


def codes(decision) -> list[str]:
    return [r.code for r in decision.reasons]


@pytest.fixture(scope="module")
def alice() -> Template:
    result = enroll([fake_photo(FakeFace("alice"))], FAKE, SETTINGS)
    assert result.ok
    return result.template


# --- quality gate -------------------------------------------------------------------------------

def test_a_good_photo_passes_the_gate_with_no_reasons():
    report = assess_quality(fake_photo(FakeFace("alice")), FAKE, SETTINGS)
    assert report.ok and report.reasons == () and report.faces_found == 1


@pytest.mark.parametrize("photo, code", [
    (fake_photo(), "no_face"),
    (fake_photo(FakeFace("a"), FakeFace("b")), "multiple_faces"),
    (fake_photo(FakeFace("a", size=40)), "face_too_small"),
    (fake_photo(FakeFace("a"), sharp=False), "too_blurry"),
    (fake_photo(FakeFace("a"), brightness=20), "too_dark"),
    (fake_photo(FakeFace("a"), brightness=240), "too_bright"),
    (fake_photo(FakeFace("a", yaw=0.5)), "face_turned"),
    (b"", "empty"),
    (b"not an image", "not_an_image"),
])
def test_each_failure_of_the_gate_has_its_code_and_a_chinese_instruction(photo, code):
    report = assess_quality(photo, FAKE, SETTINGS)
    assert not report.ok
    assert code in codes(report)
    for r in report.reasons:
        assert r.message == MESSAGES[r.code]


def test_a_much_smaller_face_far_behind_the_trainee_does_not_count_as_a_second_face():
    report = assess_quality(fake_photo(FakeFace("a", size=160), FakeFace("b", size=60)), FAKE, SETTINGS)
    assert report.ok and report.faces_found == 2


def test_the_gate_reports_every_problem_of_the_face_at_once():
    report = assess_quality(fake_photo(FakeFace("a", yaw=0.6), sharp=False, brightness=20), FAKE, SETTINGS)
    assert set(codes(report)) == {"too_dark", "too_blurry", "face_turned"}


def test_gate_thresholds_come_from_settings():
    photo = fake_photo(FakeFace("a", yaw=0.2))
    assert assess_quality(photo, FAKE, SETTINGS).ok
    assert codes(assess_quality(photo, FAKE, replace(SETTINGS, max_yaw=0.15))) == ["face_turned"]


# --- enrollment and templates -------------------------------------------------------------------

@pytest.mark.parametrize("count", [0, 6])
def test_enrolment_needs_one_to_five_photos(count):
    result = enroll([fake_photo(FakeFace("a"))] * count, FAKE, SETTINGS)
    assert not result.ok and codes(result) == ["wrong_photo_count"]


def test_enrolment_with_five_agreeing_photos_keeps_all_five_encodings():
    photos = [fake_photo(FakeFace("a", offset=0.1 * i), seed=i) for i in range(5)]
    result = enroll(photos, FAKE, SETTINGS)
    assert result.ok and result.template.encodings.shape == (5, 128)
    assert result.max_pairwise_distance == pytest.approx(0.4, abs=1e-6)


def test_enrolment_refuses_photos_that_disagree_and_names_them():
    result = enroll([fake_photo(FakeFace("a")), fake_photo(FakeFace("b"))], FAKE, SETTINGS)
    assert not result.ok and codes(result) == ["photos_disagree"]
    assert "photos 1 and 2" in result.reasons[0].detail


def test_a_template_round_trips_through_bytes(alice):
    data = alice.to_bytes()
    again = Template.from_bytes(data)
    assert (again.model_name, again.model_version) == ("fake", "1")
    assert np.array_equal(again.encodings, alice.encodings)
    assert again.to_bytes() == data


@pytest.mark.parametrize("data", [b"", b"HPFT", b"garbage" * 10])
def test_template_bytes_that_are_not_a_template_are_rejected(data):
    with pytest.raises(ValueError):
        Template.from_bytes(data)


def test_a_truncated_template_is_rejected(alice):
    with pytest.raises(ValueError):
        Template.from_bytes(alice.to_bytes()[:-4])


# --- verification -------------------------------------------------------------------------------

def test_the_same_person_verifies_with_distance_threshold_and_model(alice):
    result = verify(fake_photo(FakeFace("alice"), seed=9), alice, FAKE, SETTINGS)
    assert result.matched and result.distance == pytest.approx(0.0, abs=1e-6)
    assert (result.threshold, result.model_name, result.model_version) == (ACCEPT_BELOW, "fake", "1")


def test_the_two_thresholds_split_accept_review_and_refuse_on_both_sides_of_each(alice):
    lo, hi = ACCEPT_BELOW, REFUSE_FROM
    outcomes = [verify(fake_photo(FakeFace("alice", offset=d)), alice, FAKE, SETTINGS)
                for d in (lo - 0.01, lo + 0.01, hi - 0.01, hi + 0.01)]
    assert [r.matched for r in outcomes] == [True, False, False, False]
    assert [r.identity.outcome for r in outcomes if r.identity] == ["accept", "review", "review", "refuse"]
    assert [codes(r) for r in outcomes] == [["matched"], ["face_uncertain"], ["face_uncertain"], ["face_mismatch"]]


def test_someone_else_does_not_verify(alice):
    assert codes(verify(fake_photo(FakeFace("mallory")), alice, FAKE, SETTINGS)) == ["face_mismatch"]


def test_a_bad_upload_fails_verification_closed_with_its_code(alice):
    result = verify(b"", alice, FAKE, SETTINGS)
    assert not result.matched and result.distance is None and codes(result) == ["empty"]


def test_a_template_from_another_model_is_never_compared(alice):
    other = Template("other_model", "9", alice.encodings)
    assert codes(verify(fake_photo(FakeFace("alice")), other, FAKE, SETTINGS)) == ["model_mismatch"]


# --- group photos -------------------------------------------------------------------------------

def _template(identity: str) -> Template:
    return enroll([fake_photo(FakeFace(identity))], FAKE, SETTINGS).template


def test_a_group_photo_reports_present_absent_and_unknown():
    roster = {"t1": _template("alice"), "t2": _template("bob"), "t3": _template("carol")}
    photo = fake_photo(FakeFace("bob", size=100), FakeFace("alice", size=100), FakeFace("zed", size=100))
    result = match_group_photo(photo, roster, FAKE, SETTINGS)
    assert result.present == ("t1", "t2")
    assert result.absent == ("t3",)
    assert len(result.unknown) == 1 and result.unknown[0].trainee is None


def test_each_template_is_used_at_most_once_even_if_two_faces_are_close_to_it():
    roster = {"t1": _template("alice")}
    photo = fake_photo(FakeFace("alice", size=100, offset=0.3), FakeFace("alice", size=100, offset=0.1))
    result = match_group_photo(photo, roster, FAKE, SETTINGS)
    assert result.present == ("t1",)
    assert [f.trainee for f in result.faces] == [None, "t1"]  # the closer face gets it


def test_a_group_photo_with_no_face_says_so():
    result = match_group_photo(fake_photo(), {"t1": _template("alice")}, FAKE, SETTINGS)
    assert result.absent == ("t1",) and codes(result) == ["group_no_faces"]


def _brute_force(cost: np.ndarray) -> float:
    n, m = cost.shape
    if n <= m:
        return min(sum(cost[i, p[i]] for i in range(n)) for p in itertools.permutations(range(m), n))
    return _brute_force(cost.T)


@hyp_settings(max_examples=150, deadline=None)
@given(st.integers(1, 5), st.integers(1, 5), st.integers(0, 2**32 - 1))
def test_the_assignment_is_as_cheap_as_trying_every_permutation(n, m, seed):
    cost = np.random.default_rng(seed).random((n, m))
    pairs = min_cost_assignment(cost)
    assert len(pairs) == min(n, m)
    assert len({r for r, _ in pairs}) == len({c for _, c in pairs}) == len(pairs)
    assert sum(cost[r, c] for r, c in pairs) == pytest.approx(_brute_force(cost))


@hyp_settings(max_examples=150, deadline=None)
@given(st.integers(1, 5), st.integers(1, 5), st.integers(0, 2**32 - 1))
def test_best_matches_never_pairs_over_the_threshold_and_matches_as_many_as_possible(n, m, seed):
    dist = np.random.default_rng(seed).random((n, m))
    thr = 0.5
    pairs = best_matches(dist, thr)
    assert all(dist[f, t] < thr for f, t in pairs)
    best_count = max(
        sum(1 for i in range(min(n, m)) if (dist[i, p[i]] if n <= m else dist[p[i], i]) < thr)
        for p in itertools.permutations(range(max(n, m)), min(n, m))
    )
    assert len(pairs) == best_count


# --- evidence -----------------------------------------------------------------------------------

def test_verification_evidence_is_json_ready_and_holds_no_encoding(alice):
    import json

    evidence = verify(fake_photo(FakeFace("alice")), alice, FAKE, SETTINGS).evidence()
    text = json.dumps(evidence, ensure_ascii=False)
    assert evidence["matched"] is True and evidence["threshold"] == ACCEPT_BELOW
    assert evidence["model_name"] == "fake" and evidence["reasons"][0]["code"] == "matched"
    assert evidence["face"]["width_px"] == 160
    assert len(text) < 1000  # no 128-number encoding, no pixels


def test_group_evidence_is_json_ready():
    import json

    roster = {"t1": _template("alice"), "t2": _template("bob")}
    result = match_group_photo(fake_photo(FakeFace("alice", size=100)), roster, FAKE, SETTINGS)
    evidence = json.loads(json.dumps(result.evidence()))
    assert evidence["present"] == ["t1"] and evidence["absent"] == ["t2"]


# --- per-template thresholds -----------------------------------------------------------------------

def test_a_template_in_a_crowded_part_of_face_space_gets_stricter_thresholds_and_a_lonely_one_looser():
    k, ref = SETTINGS.cohort_k, SETTINGS.cohort_reference
    crowded, lonely = decide(0.40, SETTINGS, [ref - 0.06] * k), decide(0.40, SETTINGS, [ref + 0.06] * k)
    assert crowded.accept_below == pytest.approx(SETTINGS.match_threshold - 0.03)
    assert lonely.accept_below == pytest.approx(SETTINGS.match_threshold + 0.03)
    assert crowded.refuse_from - crowded.accept_below == pytest.approx(SETTINGS.review_threshold - SETTINGS.match_threshold)
    assert crowded.cohort_mean == pytest.approx(ref - 0.06) and "shift" in crowded.evidence()


def test_the_shift_is_bounded_and_only_the_nearest_k_others_count():
    k, ref = SETTINGS.cohort_k, SETTINGS.cohort_reference
    bound = SETTINGS.cohort_weight * SETTINGS.cohort_clamp
    assert decide(0.4, SETTINGS, [ref + 5.0] * k).shift == pytest.approx(bound)
    assert decide(0.4, SETTINGS, [0.0] * k).shift == pytest.approx(-bound)
    far_away = [ref] * k + [9.0] * 50  # many distant people do not make a template lonely
    assert decide(0.4, SETTINGS, far_away).shift == pytest.approx(0.0)


def test_with_fewer_others_than_the_cohort_size_the_strictest_thresholds_apply():
    few = decide(0.4, SETTINGS, [SETTINGS.cohort_reference + 1.0] * (SETTINGS.cohort_k - 1))
    assert STRICT_SHIFT < 0 and few.shift == pytest.approx(STRICT_SHIFT) and few.cohort_mean is None
    assert decide(0.4, SETTINGS).accept_below == few.accept_below == ACCEPT_BELOW
