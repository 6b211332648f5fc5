"""Decoding uploads: every bad input gets its code, good ones come out upright RGB."""
from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from hypothesis import given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st
from PIL import Image

from recognition import ImageError, RecognitionSettings, dhash, from_array, hamming, load_image
from recognition.images import downscale


def _encode(img: Image.Image, fmt: str, **kwargs) -> bytes:
    out = io.BytesIO()
    img.save(out, fmt, **kwargs)
    return out.getvalue()


def _noise(width: int = 64, height: int = 48, seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, size=(height, width, 3), dtype=np.uint8))


def _png_header_only(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims a huge size: IHDR, then the start of the pixel data
    (a few compressed rows of zeros), the shape of a decompression bomb."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * (3 * width + 1) * 4)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat)


def _code(data: bytes, settings: RecognitionSettings | None = None) -> str:
    with pytest.raises(ImageError) as err:
        load_image(data, settings)
    assert err.value.message  # every refusal has a Chinese message for the phone page
    return err.value.code


def test_zero_bytes_are_refused_as_empty():
    assert _code(b"") == "empty"


def test_a_text_file_is_refused_as_not_an_image():
    assert _code("签到记录：张三 08:00\n".encode()) == "not_an_image"


def test_a_truncated_jpeg_is_refused_as_truncated():
    data = _encode(_noise(200, 200), "JPEG", quality=90)
    assert _code(data[: len(data) // 2]) == "truncated"


def test_a_truncated_png_is_refused_as_truncated():
    data = _encode(_noise(200, 200), "PNG")
    assert _code(data[: len(data) // 2]) == "truncated"


def test_an_upload_over_the_byte_limit_is_refused_before_decoding():
    data = _encode(_noise(), "PNG")
    assert _code(data, RecognitionSettings(max_image_bytes=len(data) - 1)) == "too_large"


@pytest.mark.parametrize("width, height", [
    (100_000, 100_000),  # over twice PIL's own limit: PIL refuses while opening
    (10_000, 10_000),  # over PIL's limit: PIL warns
    (7_000, 7_000),  # under PIL's limit, over ours (40 MP)
])
def test_a_pixel_bomb_header_is_refused_before_decoding(width, height):
    assert _code(_png_header_only(width, height)) == "too_many_pixels"


def test_a_header_just_over_the_configured_pixel_limit_is_refused():
    data = _encode(_noise(100, 100), "PNG")
    assert _code(data, RecognitionSettings(max_image_pixels=9_999)) == "too_many_pixels"


@pytest.mark.parametrize("fmt", ["GIF", "BMP", "TIFF"])
def test_formats_a_phone_page_does_not_send_are_refused_as_unsupported(fmt):
    assert _code(_encode(_noise(), fmt)) == "unsupported_format"


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_jpeg_png_and_webp_decode_to_rgb(fmt):
    loaded = load_image(_encode(_noise(64, 48), fmt))
    assert loaded.rgb.shape == (48, 64, 3) and loaded.rgb.dtype == np.uint8
    assert loaded.format == fmt and not loaded.rgb.flags.writeable


def test_exif_orientation_is_applied():
    img = _noise(64, 48)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    loaded = load_image(_encode(img, "JPEG", exif=exif, quality=95))
    assert loaded.exif_transposed
    assert (loaded.width, loaded.height) == (48, 64)
    assert loaded.original_size == (48, 64)


def test_transparent_pixels_become_white():
    rgba = Image.new("RGBA", (10, 10), (0, 0, 0, 0))
    loaded = load_image(_encode(rgba, "PNG"))
    assert loaded.rgb.min() == 255


def test_large_images_are_reduced_to_the_working_size_and_the_scale_is_recorded():
    loaded = load_image(_encode(_noise(800, 400), "PNG"), RecognitionSettings(work_max_side=200))
    assert (loaded.width, loaded.height) == (200, 100)
    assert loaded.scale == pytest.approx(0.25)


def test_downscale_keeps_small_images_and_shrinks_large_ones_to_the_longer_side():
    small = np.zeros((100, 50, 3), np.uint8)
    assert downscale(small, 640)[1] == 1.0
    out, factor = downscale(np.zeros((1000, 2000, 3), np.uint8), 640)
    assert out.shape == (320, 640, 3) and factor == pytest.approx(0.32)


def test_decoded_arrays_are_accepted_only_as_rgb_uint8():
    assert from_array(np.zeros((10, 10, 3), np.uint8)).format == "array"
    with pytest.raises(ImageError):
        from_array(np.zeros((10, 10), np.uint8))
    with pytest.raises(ImageError):
        from_array(np.zeros((10, 10, 3), np.float32))


def test_a_fingerprint_is_64_bits_and_stable_under_re_encoding_but_not_across_images():
    a = np.asarray(_noise(128, 128, seed=1).resize((128, 128)))
    smooth = np.asarray(Image.fromarray(a).resize((16, 16)).resize((128, 128), Image.BILINEAR))
    other = np.asarray(Image.fromarray(np.asarray(_noise(128, 128, seed=2))).resize((16, 16)).resize((128, 128), Image.BILINEAR))
    h1 = dhash(smooth)
    h2 = dhash(load_image(_encode(Image.fromarray(smooth), "JPEG", quality=70)).rgb)
    assert len(h1) == 16 and int(h1, 16) < 2**64
    assert hamming(h1, h2) <= 4
    assert hamming(h1, dhash(other)) > 10


@hyp_settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2048))
def test_arbitrary_bytes_either_decode_or_raise_an_image_error(data):
    try:
        load_image(data)
    except ImageError as err:
        assert err.code in {"empty", "not_an_image", "truncated", "unsupported_format",
                            "too_large", "too_many_pixels"}


@hyp_settings(max_examples=100, deadline=None)
@given(st.integers(min_value=0, max_value=4000))
def test_corrupting_a_jpeg_at_any_point_never_crashes_the_decoder(cut):
    data = _encode(_noise(100, 100, seed=3), "JPEG")
    corrupted = data[:cut] + b"\x00" * 8 + data[cut + 8:]
    try:
        load_image(corrupted)
    except ImageError:
        pass


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_a_truncated_file_is_refused_even_when_pil_is_told_to_accept_truncated_images(monkeypatch, fmt):
    # importing face_recognition sets this process-wide flag; we must not depend on it
    from PIL import ImageFile

    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    data = _encode(_noise(300, 300), fmt)
    assert _code(data[: len(data) // 2]) == "truncated"
    assert load_image(data).rgb.shape == (300, 300, 3)


def test_bytes_after_the_end_of_a_jpeg_are_tolerated():
    # some phones append their own trailer after the JPEG end marker
    data = _encode(_noise(100, 100), "JPEG") + b"SEFH" + b"\x00" * 32
    assert load_image(data).rgb.shape == (100, 100, 3)
