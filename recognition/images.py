"""Decode uploaded image bytes safely into an RGB array, and make small copies for detection.

Phone uploads are untrusted: the byte size and the pixel count claimed by the header are checked
*before* the full decode (decompression bombs), EXIF orientation is applied (phones store
portrait photos sideways plus a tag, and a sideways face is not detected), and every refusal is an
``ImageError`` with a stable code and a Chinese message.
"""
from __future__ import annotations

import io
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from recognition.reasons import MESSAGES, Reason, reason
from recognition.settings import RecognitionSettings

#: formats a phone page may send; anything else PIL can read (GIF, BMP, TIFF...) is refused.
ALLOWED_FORMATS = frozenset({"JPEG", "PNG", "WEBP", "MPO"})


class ImageError(ValueError):
    """An upload that cannot be used as a photo. ``code`` is stable, ``message`` Chinese."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code
        self.message = MESSAGES[code]
        self.detail = detail

    @property
    def reason(self) -> Reason:
        """The error as a Reason, for decisions that fail closed instead of raising."""
        return reason(self.code, self.detail)


@dataclass(frozen=True, eq=False)
class LoadedImage:
    """A decoded, upright RGB image (uint8, HxWx3, read-only) and where it came from.

    ``rgb`` may be smaller than the original (``work_max_side``); ``scale`` is rgb size divided by
    the upright original size.
    """

    rgb: np.ndarray
    format: str
    original_size: tuple[int, int]  # (width, height) upright, before any reduction
    exif_transposed: bool
    scale: float

    @property
    def width(self) -> int:
        return int(self.rgb.shape[1])

    @property
    def height(self) -> int:
        return int(self.rgb.shape[0])


class _EofWatch(io.BytesIO):
    """A byte stream that notices when a decoder asks for more data after the end.

    PIL only refuses a truncated file while the process-wide ``ImageFile.LOAD_TRUNCATED_IMAGES``
    is False, and importing face_recognition sets it to True (silently grey-filling the missing
    part). A complete image is decoded without ever reading at the end of the data, so an empty
    read during ``load()`` means the file was cut short, whatever that global says.
    """

    armed = False
    hit_eof = False

    def read(self, size: int | None = -1) -> bytes:
        chunk = super().read(size)
        if self.armed and not chunk and size != 0:
            self.hit_eof = True
        return chunk


def load_image(data: bytes, settings: RecognitionSettings | None = None) -> LoadedImage:
    """Decode JPEG/PNG/WebP bytes into an upright RGB ``LoadedImage`` or raise ``ImageError``."""
    settings = settings or RecognitionSettings()
    if not data:
        raise ImageError("empty", "0 bytes")
    if len(data) > settings.max_image_bytes:
        raise ImageError("too_large", f"{len(data)} bytes > {settings.max_image_bytes}")
    try:
        # Opening reads only the header. PIL's own bomb check fires first for huge headers (an
        # error over 2x its limit, a warning over it, raised where warnings are errors); either
        # way it is our "too many pixels". No warnings.catch_warnings(): it is not thread-safe.
        stream = _EofWatch(data)
        img = Image.open(stream)
    except UnidentifiedImageError as exc:
        raise ImageError("not_an_image", "not a recognised image format") from exc
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageError("too_many_pixels", "header claims a decompression bomb") from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageError("truncated", type(exc).__name__) from exc
    fmt = img.format or "?"
    if fmt not in ALLOWED_FORMATS:
        raise ImageError("unsupported_format", f"format {fmt}")
    width, height = img.size
    if width <= 0 or height <= 0:
        raise ImageError("not_an_image", f"size {width}x{height}")
    if width * height > settings.max_image_pixels:
        raise ImageError(
            "too_many_pixels", f"{width}x{height} = {width * height} px > {settings.max_image_pixels}"
        )
    # Armed from here: reading EXIF makes PIL decode a PNG whole (its EXIF may follow the pixels).
    stream.armed = True
    try:
        exif_orientation = img.getexif().get(0x0112, 1) if fmt in ("JPEG", "MPO", "WEBP", "PNG") else 1
    except Exception:  # a broken EXIF block is not worth refusing the photo for
        exif_orientation = 1
    if fmt in ("JPEG", "MPO") and max(width, height) > 2 * settings.work_max_side:
        # JPEG can decode at 1/2, 1/4, 1/8 scale directly: far cheaper than decode-then-resize.
        img.draft("RGB", (settings.work_max_side, settings.work_max_side))
    try:
        img.load()
        stream.armed = False
        if stream.hit_eof:
            raise ImageError("truncated", "data ends before the image does")
        upright = ImageOps.exif_transpose(img) if exif_orientation != 1 else img
        rgb_img = _to_rgb(upright)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageError("too_many_pixels", "decompression bomb") from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageError("truncated", type(exc).__name__) from exc
    rgb = np.asarray(rgb_img, dtype=np.uint8)
    up_w, up_h = (height, width) if exif_orientation in (5, 6, 7, 8) else (width, height)
    rgb, _ = downscale(rgb, settings.work_max_side)
    rgb = np.ascontiguousarray(rgb)
    rgb.setflags(write=False)
    return LoadedImage(
        rgb=rgb,
        format=fmt,
        original_size=(up_w, up_h),
        exif_transposed=exif_orientation != 1,
        scale=rgb.shape[1] / up_w,
    )


def _to_rgb(img: Image.Image) -> Image.Image:
    """RGB copy; transparent pixels become white (a PNG with alpha is usually a cut-out)."""
    if img.mode == "RGB":
        return img
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return img.convert("RGB")


def as_loaded(image: bytes | LoadedImage | np.ndarray, settings: RecognitionSettings) -> LoadedImage:
    """Accept bytes (decoded here), a LoadedImage, or an RGB uint8 array (e.g. a video frame)."""
    if isinstance(image, LoadedImage):
        return image
    if isinstance(image, np.ndarray):
        return from_array(image, settings)
    if isinstance(image, (bytes, bytearray, memoryview)):
        return load_image(bytes(image), settings)
    raise ImageError("not_an_image", f"type {type(image).__name__}")


def from_array(rgb: np.ndarray, settings: RecognitionSettings | None = None) -> LoadedImage:
    """Wrap an already decoded RGB uint8 array (HxWx3), e.g. a video frame converted from BGR."""
    settings = settings or RecognitionSettings()
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8 or rgb.size == 0:
        raise ImageError("not_an_image", f"array shape {rgb.shape} dtype {rgb.dtype}")
    h, w = rgb.shape[:2]
    if w * h > settings.max_image_pixels:
        raise ImageError("too_many_pixels", f"{w}x{h}")
    work, _ = downscale(rgb, settings.work_max_side)
    work = np.ascontiguousarray(work)
    work.setflags(write=False)
    return LoadedImage(rgb=work, format="array", original_size=(w, h), exif_transposed=False,
                       scale=work.shape[1] / w)


def downscale(rgb: np.ndarray, max_side: int) -> tuple[np.ndarray, float]:
    """Return a copy whose longer side is at most ``max_side`` and the factor applied (<= 1).

    INTER_AREA because it averages (no aliasing); images already small are returned as they are.
    """
    h, w = rgb.shape[:2]
    longer = max(h, w)
    if longer <= max_side:
        return rgb, 1.0
    factor = max_side / longer
    size = (max(1, round(w * factor)), max(1, round(h * factor)))
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA), factor


def to_gray(rgb: np.ndarray) -> np.ndarray:
    """Grey-level copy (uint8) of an RGB array."""
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)


def dhash(image: np.ndarray) -> str:
    """64-bit difference hash of an image as 16 hex digits (a perceptual fingerprint).

    Grey copy reduced to 32x32 (``thumbnail``), then to 9x8; each bit says whether a pixel is
    brighter than its right neighbour. Re-encoding, resizing or small brightness changes keep
    most bits, so the service can flag a frame it has seen before (small Hamming distance)
    without storing the image itself. A 32x32 grey thumbnail may be passed directly (liveness
    already makes one per frame).
    """
    small = image if image.shape[:2] == (32, 32) and image.ndim == 2 else thumbnail(image)
    tiny = cv2.resize(small, (9, 8), interpolation=cv2.INTER_AREA).astype(np.int16)
    bits = (tiny[:, 1:] > tiny[:, :-1]).flatten()
    value = 0
    for bit in bits:
        value = (value << 1) | int(bit)
    return f"{value:016x}"


def thumbnail(image: np.ndarray) -> np.ndarray:
    """32x32 grey copy of an RGB or grey image: what the still-frame test and ``dhash`` compare."""
    # Every 4th pixel of a large frame is plenty for 32x32 and makes the area average 16x cheaper.
    step = max(1, min(image.shape[0], image.shape[1]) // 128)
    reduced = np.ascontiguousarray(image[::step, ::step])
    grey = to_gray(reduced) if reduced.ndim == 3 else reduced
    return cv2.resize(grey, (32, 32), interpolation=cv2.INTER_AREA)


def hamming(hash_a: str, hash_b: str) -> int:
    """Number of differing bits between two hex fingerprints of the same length."""
    return bin(int(hash_a, 16) ^ int(hash_b, 16)).count("1")
