"""Benchmark the face pipeline on a pairs file: accuracy (TAR at fixed FAR, EER, accuracy at the
configured threshold) and speed (detect, encode, one verification, one 10-frame liveness burst),
next to face_recognition's own ``face_locations`` + ``face_encodings`` on the same downscaled
images in the same run.

    python -m recognition.bench --pairs ../shared/faces/pairs.csv [--json]

PAIRS.csv has ``path_a,path_b,same`` with paths relative to the CSV's folder. The liveness burst
is 10 frames of ``video/short_hamilton_clip.mp4`` beside the CSV (or ``--video``), sent as JPEG
bytes like a phone would. Prints the machine too: figures mean nothing without it.
"""
from __future__ import annotations

import argparse
import csv
import io
import json
import os
import platform
import sys
import time
import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from recognition import (
    Challenge,
    DlibRecognizer,
    RecognitionSettings,
    Template,
    assess_quality,
    check_liveness,
    enroll,
    load_image,
    verify,
)
from recognition.faces import detect_faces
from recognition.images import ImageError, downscale
from recognition.liveness import TURN_LEFT, TURN_RIGHT


def _ms(samples: list[float]) -> dict[str, float | None]:
    if not samples:
        return {"p50": None, "p95": None, "n": 0}
    arr = np.array(samples) * 1000.0
    return {"p50": round(float(np.percentile(arr, 50)), 1), "p95": round(float(np.percentile(arr, 95)), 1),
            "n": len(samples)}


def tar_at_far(genuine: np.ndarray, impostor: np.ndarray, far: float) -> tuple[float, float]:
    """(TAR, threshold) for the largest threshold whose false accept rate is at most ``far``.

    Accept means distance < threshold. Unusable genuine pairs count as rejected (they are in
    ``genuine`` as +inf)."""
    imp = np.sort(impostor)
    allowed = int(np.floor(far * len(imp)))
    threshold = float(imp[allowed]) if allowed < len(imp) else float("inf")
    return float(np.mean(genuine < threshold)), threshold


def equal_error_rate(genuine: np.ndarray, impostor: np.ndarray) -> tuple[float, float]:
    """(EER, threshold): where the false reject and false accept rates cross."""
    finite = np.concatenate([genuine[np.isfinite(genuine)], impostor[np.isfinite(impostor)]])
    candidates = np.unique(np.concatenate([finite, finite + 1e-9]))
    best = (1.0, 0.0, float("inf"))
    for t in candidates:
        frr = float(np.mean(genuine >= t))
        far = float(np.mean(impostor < t))
        gap = abs(frr - far)
        if gap < best[2] or (gap == best[2] and (frr + far) / 2 < best[0]):
            best = ((frr + far) / 2, float(t), gap)
    return best[0], best[1]


def _jpeg(rgb: np.ndarray) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.fromarray(rgb).save(out, "JPEG", quality=85)
    return out.getvalue()


def _clip_frames(video: Path, numbers: list[int]) -> list[np.ndarray]:
    import cv2

    cap = cv2.VideoCapture(str(video))
    wanted, frames, index = set(numbers), {}, 0
    try:
        while index <= max(numbers):
            ok, bgr = cap.read()
            if not ok:
                break
            if index in wanted:
                frames[index] = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            index += 1
    finally:
        cap.release()
    return [frames[n] for n in numbers if n in frames]


def run(pairs_csv: Path, video: Path | None, repeat: int) -> dict[str, Any]:
    settings = RecognitionSettings()
    rec = DlibRecognizer()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import dlib
        import face_recognition

    root = pairs_csv.parent
    with open(pairs_csv, newline="") as fh:
        pairs = [(r["path_a"], r["path_b"], r["same"].strip() == "1") for r in csv.DictReader(fh)]
    paths = sorted({p for a, b, _ in pairs for p in (a, b)})

    # Pass 1: per image, quality gate + encode; detect and encode timed on their own.
    encodings: dict[str, np.ndarray | None] = {}
    data_of: dict[str, bytes] = {}
    no_face: list[str] = []
    failed_gate: list[str] = []
    undecodable: list[str] = []
    t_detect: list[float] = []
    t_encode: list[float] = []
    for p in paths:
        data = (root / p).read_bytes()
        data_of[p] = data
        try:
            loaded = load_image(data, settings)
        except ImageError:
            undecodable.append(p)
            encodings[p] = None
            continue
        t0 = time.perf_counter()
        boxes = detect_faces(loaded, rec, settings.detect_max_side, settings.detect_upsample)
        t_detect.append(time.perf_counter() - t0)
        if boxes:
            t0 = time.perf_counter()
            rec.encode(loaded.rgb, boxes[0])
            t_encode.append(time.perf_counter() - t0)
        report = assess_quality(loaded, rec, settings)
        if not report.ok:
            (no_face if not boxes else failed_gate).append(p)
            encodings[p] = None
            continue
        assert report.face is not None  # a report that passed has its face
        encodings[p] = rec.encode(loaded.rgb, report.face.box)

    # The liveness burst: 10 frames of the clip as JPEG bytes, its person enrolled from the
    # shared images folder beside the video folder.
    liveness: dict[str, Any] = {"source": None}
    burst: tuple[list[bytes], Challenge, Template, datetime] | None = None
    video = video or root / "video" / "short_hamilton_clip.mp4"
    enrol_photo = video.parent.parent / "images" / "face_recognition" / "ex_lin-manuel-miranda.png"
    if video.exists() and enrol_photo.exists():
        frames = [_jpeg(f) for f in _clip_frames(video, list(range(90, 210, 12)))]
        live_template = enroll([enrol_photo.read_bytes()], rec, settings).template
        assert live_template is not None, f"cannot enrol {enrol_photo} for the liveness burst"
        now = datetime.now(UTC)
        # the motion in these frames: his own left, right, left (see tests/recognition)
        challenge = Challenge("bench", (TURN_LEFT, TURN_RIGHT, TURN_LEFT), now, now + timedelta(hours=1))
        burst = (frames, challenge, live_template, now)

    # Pass 2: one verification from bytes vs the bare library on the same downscaled image, and
    # every few images one liveness burst plus one verification of a frame of that burst, all
    # interleaved so every figure (and every ratio) sees the same machine state.
    usable = [p for p in paths if encodings[p] is not None]
    first = encodings[usable[0]]
    assert first is not None  # usable images have an encoding
    template = Template(rec.model_name, rec.model_version, np.stack([first]))
    t_verify: list[float] = []
    t_bare: list[float] = []
    t_decode: list[float] = []
    t_live: list[float] = []
    t_frame_verify: list[float] = []
    result = None
    for _ in range(repeat):
        for n, p in enumerate(usable):
            t0 = time.perf_counter()
            verify(data_of[p], template, rec, settings)
            t_verify.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            loaded = load_image(data_of[p], settings)
            t_decode.append(time.perf_counter() - t0)
            small, _ = downscale(loaded.rgb, settings.detect_max_side)
            small = np.ascontiguousarray(small)
            t0 = time.perf_counter()
            locations = face_recognition.face_locations(small)
            face_recognition.face_encodings(small, locations)
            t_bare.append(time.perf_counter() - t0)
            if burst is not None and n % 4 == 0:
                frames, challenge, live_template, now = burst
                t0 = time.perf_counter()
                result = check_liveness(frames, challenge, live_template, rec, settings, now)
                t_live.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                verify(frames[0], live_template, rec, settings)
                t_frame_verify.append(time.perf_counter() - t0)
    if burst is not None and result is not None:
        liveness = {"source": f"{video.name} frames 90-198 every 12th", "frames": len(burst[0]),
                    "passed": result.passed, "events": list(result.events),
                    "encoded_frames": sum(f.distance is not None for f in result.frames)}

    # Accuracy.
    inf = float("inf")
    genuine: list[float] = []
    impostor: list[float] = []
    for a, b, same in pairs:
        ea, eb = encodings[a], encodings[b]
        d = float(np.linalg.norm(ea - eb)) if ea is not None and eb is not None else inf
        (genuine if same else impostor).append(d)
    gen, imp = np.array(genuine), np.array(impostor)
    thr = settings.match_threshold
    tar2, thr2 = tar_at_far(gen, imp, 1e-2)
    tar3, thr3 = tar_at_far(gen, imp, 1e-3)
    eer, eer_thr = equal_error_rate(gen, imp)
    correct = int(np.sum(gen < thr) + np.sum(imp >= thr))

    detect, encode, verif, bare, live, decode, frame_verif = (_ms(x) for x in (
        t_detect, t_encode, t_verify, t_bare, t_live, t_decode, t_frame_verify))

    def ratio(a: float | None, b: float | None) -> float | None:
        return round(a / b, 2) if a and b else None

    return {
        "pairs_file": str(pairs_csv),
        "genuine_pairs": len(gen), "impostor_pairs": len(imp),
        "images": len(paths), "images_no_face": len(no_face), "images_failed_gate": len(failed_gate),
        "images_undecodable": len(undecodable),
        "unusable_images": sorted(no_face + failed_gate + undecodable),
        "model": f"{rec.model_name} {rec.model_version}",
        "configured_threshold": thr,
        "tar_at_far_1e-2": round(tar2, 4), "threshold_at_far_1e-2": round(thr2, 4),
        "tar_at_far_1e-3": round(tar3, 4), "threshold_at_far_1e-3": round(thr3, 4),
        "eer": round(eer, 4), "eer_threshold": round(eer_thr, 4),
        "accuracy_at_threshold": round(correct / (len(gen) + len(imp)), 4),
        "tar_at_threshold": round(float(np.mean(gen < thr)), 4),
        "far_at_threshold": round(float(np.mean(imp < thr)), 5),
        "genuine_distance_max": round(float(gen[np.isfinite(gen)].max()), 4),
        "impostor_distance_min": round(float(imp[np.isfinite(imp)].min()), 4),
        "ms": {"detect": detect, "encode": encode, "decode": decode, "verification": verif,
               "bare_face_recognition": bare, "liveness_burst_10": live,
               "verification_of_one_burst_frame": frame_verif},
        "ratios": {"verification_vs_bare_p50": ratio(verif["p50"], bare["p50"]),
                   "verification_minus_decode_vs_bare_p50": ratio(
                       (verif["p50"] or 0) - (decode["p50"] or 0), bare["p50"]),
                   "liveness_vs_verification_p50": ratio(live["p50"], verif["p50"]),
                   "liveness_vs_verification_of_one_burst_frame_p50": ratio(live["p50"], frame_verif["p50"])},
        "targets": {"tar_at_far_1e-3_ge_0.99": tar3 >= 0.99,
                    "verification_le_1.15x_bare": bool(verif["p50"] and bare["p50"] and verif["p50"] <= 1.15 * bare["p50"]),
                    "liveness_le_2.5x_verification": bool(live["p50"] and verif["p50"] and live["p50"] <= 2.5 * verif["p50"])},
        "liveness": liveness,
        "machine": {"cpu_count": os.cpu_count(), "python": platform.python_version(),
                    "dlib": dlib.__version__, "face_recognition": _dist_version("face_recognition"),
                    "face_recognition_models": _dist_version("face_recognition_models"),
                    "platform": platform.platform(), "processor": platform.processor() or platform.machine()},
    }


def _dist_version(name: str) -> str:
    """Installed distribution version (the modules' own __version__ strings are stale)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return "unknown"


def _print_human(r: dict[str, Any]) -> None:
    m = r["machine"]
    print(f"machine: {m['cpu_count']} CPUs, Python {m['python']}, dlib {m['dlib']}, "
          f"face_recognition {m['face_recognition']}, face_recognition_models {m['face_recognition_models']}, "
          f"{m['platform']}, {m['processor']}")
    print(f"model: {r['model']}; configured threshold {r['configured_threshold']}")
    print(f"pairs: {r['genuine_pairs']} genuine, {r['impostor_pairs']} impostor; images {r['images']}, "
          f"no face {r['images_no_face']}, failed gate {r['images_failed_gate']}, undecodable {r['images_undecodable']}")
    print(f"TAR at FAR<=1e-2: {r['tar_at_far_1e-2']:.4f} (threshold {r['threshold_at_far_1e-2']})")
    print(f"TAR at FAR<=1e-3: {r['tar_at_far_1e-3']:.4f} (threshold {r['threshold_at_far_1e-3']})")
    print(f"EER: {r['eer']:.4f} (threshold {r['eer_threshold']})")
    print(f"at threshold {r['configured_threshold']}: accuracy {r['accuracy_at_threshold']:.4f}, "
          f"TAR {r['tar_at_threshold']:.4f}, FAR {r['far_at_threshold']:.5f}; "
          f"genuine max {r['genuine_distance_max']}, impostor min {r['impostor_distance_min']}")
    for name, v in r["ms"].items():
        print(f"{name:>22}: p50 {v['p50']} ms, p95 {v['p95']} ms (n={v['n']})")
    print("ratios:", ", ".join(f"{k} {v}" for k, v in r["ratios"].items()))
    print("liveness burst:", r["liveness"])
    print("targets met:", ", ".join(f"{k} {v}" for k, v in r["targets"].items()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m recognition.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=Path, required=True, help="CSV with path_a,path_b,same")
    parser.add_argument("--video", type=Path, default=None, help="clip for the liveness burst")
    parser.add_argument("--repeat", type=int, default=1, help="timing passes over the images")
    parser.add_argument("--json", action="store_true", help="print exactly one JSON object")
    args = parser.parse_args(argv)
    result = run(args.pairs, args.video, max(1, args.repeat))
    if args.json:
        json.dump(result, sys.stdout, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        _print_human(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
