"""Enrollment, verification, the quality gate and image errors on real photos."""
from __future__ import annotations

import io

import cv2
import numpy as np
import pytest
from PIL import Image

from recognition import ImageError, RecognitionSettings, assess_quality, enroll, load_image, verify

pytestmark = pytest.mark.slow

ENROLLED = "ex_obama.jpg"


def _jpeg(rgb: np.ndarray, quality: int = 90, exif: Image.Exif | None = None) -> bytes:
    out = io.BytesIO()
    kwargs = {"exif": exif} if exif is not None else {}
    Image.fromarray(rgb).save(out, "JPEG", quality=quality, **kwargs)
    return out.getvalue()


@pytest.fixture(scope="module")
def obama_rgb(fr_images) -> np.ndarray:
    return np.asarray(Image.open(fr_images / ENROLLED).convert("RGB"))


def test_grayscale_jpeg_q10_and_4x_smaller_copies_of_the_enrolment_photo_still_match(
        obama_rgb, template_of, recognizer, settings):
    grey = cv2.cvtColor(obama_rgb, cv2.COLOR_RGB2GRAY)
    copies = {
        "grayscale": _jpeg(np.stack([grey] * 3, axis=-1)),
        "jpeg_q10": _jpeg(obama_rgb, quality=10),
        "quarter": _jpeg(cv2.resize(obama_rgb, None, fx=0.25, fy=0.25, interpolation=cv2.INTER_AREA)),
    }
    template = template_of(ENROLLED)
    for name, data in copies.items():
        result = verify(data, template, recognizer, settings)
        assert result.matched, (name, result.reasons)
        assert result.distance < 0.5  # this is why a still photo proves nothing about liveness


def test_another_photo_of_the_same_person_verifies_and_carries_its_evidence(fr_images, template_of, recognizer, settings):
    result = verify((fr_images / "ex_obama2.jpg").read_bytes(), template_of(ENROLLED), recognizer, settings)
    assert result.matched
    # no deployment around the template: the strictest per-template threshold applies
    assert result.identity is not None and result.identity.cohort_mean is None
    assert result.threshold == result.identity.accept_below == pytest.approx(settings.match_threshold + result.identity.shift)
    assert result.model_name == "dlib_face_recognition_resnet_model_v1"
    assert result.model_version == recognizer.model_version
    assert [r.code for r in result.reasons] == ["matched"]


def test_someone_else_does_not_verify_against_the_template(fr_images, template_of, recognizer, settings):
    result = verify((fr_images / "ex_biden.jpg").read_bytes(), template_of(ENROLLED), recognizer, settings)
    assert not result.matched
    assert result.distance >= settings.match_threshold
    assert [r.code for r in result.reasons] == ["face_mismatch"]


def test_a_stricter_threshold_from_settings_changes_the_decision(fr_images, template_of, recognizer):
    strict = RecognitionSettings(match_threshold=0.2)
    result = verify((fr_images / "ex_obama2.jpg").read_bytes(), template_of(ENROLLED), recognizer, strict)
    assert result.identity is not None
    assert not result.matched and result.threshold == pytest.approx(0.2 + result.identity.shift)


def test_an_exif_rotated_phone_photo_verifies(obama_rgb, template_of, recognizer, settings):
    # A phone stores a portrait photo sideways and says so in the EXIF orientation tag:
    # orientation 6 means "rotate 90 degrees clockwise to display".
    sideways = np.ascontiguousarray(np.rot90(obama_rgb, k=1))  # pixels turned counter-clockwise
    exif = Image.Exif()
    exif[0x0112] = 6
    data = _jpeg(sideways, exif=exif)
    loaded = load_image(data, settings)
    assert loaded.exif_transposed and (loaded.width, loaded.height) == (obama_rgb.shape[1], obama_rgb.shape[0])
    result = verify(data, template_of(ENROLLED), recognizer, settings)
    assert result.matched, result.reasons


def test_a_sideways_photo_without_exif_is_refused_as_no_face_rather_than_crashing(obama_rgb, template_of, recognizer, settings):
    data = _jpeg(np.ascontiguousarray(np.rot90(obama_rgb, k=1)))
    result = verify(data, template_of(ENROLLED), recognizer, settings)
    assert not result.matched
    assert [r.code for r in result.reasons] == ["no_face"]
    assert result.reasons[0].message == "未检测到人脸，请正对摄像头并保证光线充足"


@pytest.mark.parametrize("name, code", [
    ("knn_test__obama_and_biden.jpg", "multiple_faces"),
    ("ex_two_people.jpg", "multiple_faces"),
])
def test_a_group_photo_fails_the_single_face_gate(fr_images, recognizer, settings, name, code):
    report = assess_quality((fr_images / name).read_bytes(), recognizer, settings)
    assert [r.code for r in report.reasons] == [code]


def test_a_photo_of_dogs_has_no_face(faces_dir, recognizer, settings):
    report = assess_quality((faces_dir / "images" / "dlib_faces" / "dogs.jpg").read_bytes(), recognizer, settings)
    assert [r.code for r in report.reasons] == ["no_face"]


@pytest.mark.parametrize("degrade, code", [
    (lambda a: cv2.GaussianBlur(a, (0, 0), 10), "too_blurry"),
    (lambda a: (a * 0.2).astype(np.uint8), "too_dark"),
    (lambda a: np.clip(a.astype(int) * 2.2 + 60, 0, 255).astype(np.uint8), "too_bright"),
    (lambda a: cv2.resize(a, None, fx=0.125, fy=0.125, interpolation=cv2.INTER_AREA), "face_too_small"),
])
def test_a_degraded_real_photo_fails_the_gate_with_a_reason_the_trainee_can_act_on(
        obama_rgb, recognizer, settings, degrade, code):
    report = assess_quality(_jpeg(degrade(obama_rgb)), recognizer, settings)
    assert not report.ok
    assert code in [r.code for r in report.reasons]
    assert all(r.message for r in report.reasons)


def test_a_face_turned_too_far_fails_the_gate(clip_frames, recognizer, settings):
    # Frame 134 of the clip: Lin-Manuel Miranda with his head turned (yaw about -0.43).
    report = assess_quality(_jpeg(clip_frames[134]), recognizer, settings)
    assert "face_turned" in [r.code for r in report.reasons]


def test_enrolment_from_several_photos_of_one_person_builds_a_template_that_round_trips(fr_images, recognizer, settings):
    photos = [(fr_images / n).read_bytes() for n in ("ex_obama.jpg", "ex_obama2.jpg", "knn_test__obama1.jpg")]
    result = enroll(photos, recognizer, settings)
    assert result.ok, result.reasons
    assert result.template.encodings.shape == (3, 128)
    assert result.max_pairwise_distance < settings.review_threshold == result.threshold
    again = type(result.template).from_bytes(result.template.to_bytes())
    assert np.array_equal(again.encodings, result.template.encodings)
    assert verify((fr_images / "test_obama3.jpg").read_bytes(), again, recognizer, settings).matched


def test_enrolment_refuses_photos_of_two_different_people(fr_images, recognizer, settings):
    photos = [(fr_images / n).read_bytes() for n in ("ex_obama.jpg", "ex_biden.jpg")]
    result = enroll(photos, recognizer, settings)
    assert not result.ok and result.template is None
    assert [r.code for r in result.reasons] == ["photos_disagree"]


def test_enrolment_names_the_photo_that_failed_the_gate(fr_images, recognizer, settings):
    photos = [(fr_images / "ex_obama.jpg").read_bytes(), (fr_images / "ex_two_people.jpg").read_bytes()]
    result = enroll(photos, recognizer, settings)
    assert not result.ok
    assert [r.code for r in result.reasons] == ["multiple_faces"]
    assert result.reasons[0].message.startswith("第2张照片")


def test_a_truncated_real_jpeg_is_refused_as_truncated(fr_images, template_of, recognizer, settings):
    data = (fr_images / "ex_obama.jpg").read_bytes()
    with pytest.raises(ImageError) as err:
        load_image(data[: len(data) // 2], settings)
    assert err.value.code == "truncated"
    result = verify(data[: len(data) // 2], template_of(ENROLLED), recognizer, settings)
    assert not result.matched and [r.code for r in result.reasons] == ["truncated"]


def test_a_real_photo_over_the_byte_limit_is_refused_as_too_large(fr_images, settings):
    data = (fr_images / "ex_obama.jpg").read_bytes()
    with pytest.raises(ImageError) as err:
        load_image(data, RecognitionSettings(max_image_bytes=len(data) - 1))
    assert err.value.code == "too_large"


def test_a_real_photo_over_the_pixel_limit_is_refused_before_decoding(fr_images):
    with pytest.raises(ImageError) as err:
        load_image((fr_images / "ex_obama.jpg").read_bytes(), RecognitionSettings(max_image_pixels=1_000_000))
    assert err.value.code == "too_many_pixels"


def test_a_32_bit_png_with_alpha_decodes_and_matches(fr_images, template_of, recognizer, settings):
    result = verify((fr_images / "test_32bit.png").read_bytes(), template_of(ENROLLED), recognizer, settings)
    assert result.matched, result.reasons
