"""Benchmark the face pipeline on a pairs file: accuracy (TAR at fixed FAR, EER, accuracy at the
configured threshold, the deployed three-way rule) and speed (detect, encode, one verification,
one 10-frame liveness burst), next to face_recognition's own ``face_locations`` +
``face_encodings`` on the same downscaled images in the same run.

    python -m recognition.bench --pairs ../shared/faces/pairs.csv [--json]

PAIRS.csv has ``path_a,path_b,same`` with paths relative to the CSV's folder. The liveness burst
is 10 frames of ``video/short_hamilton_clip.mp4`` beside the CSV (or ``--video``), sent as JPEG
bytes like a phone would. Prints the machine too: figures mean nothing without it.

With ``labels.csv`` beside the CSV (path, identity[, role]; only role ``pair`` is used) it also
measures what a check-in does rather than single pairs (recognition/calibration.py): the gallery
protocol (a template from 3 photos, one probe photo) and the fused probe (the probe the mean of 3
photos, standing in for a burst's fused frames). Without labels those two are skipped, with a note.
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
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

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
from recognition.calibration import (
    equal_error_rate,
    fused_probe_scores,
    gallery_scores,
    pair_scores,
    tar_at_far,
    three_way,
    threshold_for_far,
)
from recognition.faces import Recognizer, detect_faces
from recognition.identity import template_shift
from recognition.images import ImageError, downscale
from recognition.liveness import TURN_LEFT, TURN_RIGHT
from recognition.testing import prompted_challenge


def _ms(samples: list[float]) -> dict[str, float | None]:
    if not samples:
        return {"p50": None, "p95": None, "n": 0}
    arr = np.array(samples) * 1000.0
    return {"p50": round(float(np.percentile(arr, 50)), 1), "p95": round(float(np.percentile(arr, 95)), 1),
            "n": len(samples)}


def _num(value: float, digits: int) -> float | None:
    """Rounded for the report; None for +inf (a threshold no score reaches), which JSON cannot hold."""
    return round(value, digits) if np.isfinite(value) else None


def read_pairs(pairs_csv: Path) -> list[tuple[str, str, bool]]:
    """``path_a,path_b,same`` rows (paths relative to the CSV's folder)."""
    with open(pairs_csv, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        missing = {"path_a", "path_b", "same"} - set(reader.fieldnames or ())
        if missing:
            raise ValueError(f"{pairs_csv}: expected columns path_a,path_b,same; missing {', '.join(sorted(missing))}")
        pairs = []
        for r in reader:
            a, b = (r["path_a"] or "").strip(), (r["path_b"] or "").strip()
            if not a or not b:
                raise ValueError(f"{pairs_csv}: line {reader.line_num}: path_a and path_b must both be given")
            pairs.append((a, b, (r["same"] or "").strip() == "1"))
        return pairs


def read_labels(labels_csv: Path) -> dict[str, str]:
    """path -> identity from a labels.csv. With a ``role`` column only role ``pair`` rows count:
    near-duplicates, group photos and detection-only images are not photos of one person to
    enrol or probe with (../shared/faces/README.md)."""
    with open(labels_csv, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        missing = {"path", "identity"} - set(reader.fieldnames or ())
        if missing:
            raise ValueError(f"{labels_csv}: expected columns path,identity[,role]; missing {', '.join(sorted(missing))}")
        labels = {}
        for r in reader:
            if (r.get("role") or "pair").strip() != "pair":
                continue
            path, who = (r["path"] or "").strip(), (r["identity"] or "").strip()
            if not path or not who:
                raise ValueError(f"{labels_csv}: line {reader.line_num}: path and identity must both be given")
            labels[path] = who
        return labels


@dataclass
class EncodedImages:
    """What the pipeline made of each image: an encoding, or why there is none."""

    encodings: dict[str, NDArray[np.float64]] = field(default_factory=dict)
    no_face: list[str] = field(default_factory=list)
    failed_gate: list[str] = field(default_factory=list)
    undecodable: list[str] = field(default_factory=list)

    @property
    def unusable(self) -> list[str]:
        return sorted(self.no_face + self.failed_gate + self.undecodable)


def encode_images(root: Path, paths: list[str], rec: Recognizer, settings: RecognitionSettings, *,
                  timings: dict[str, list[float]] | None = None, data_of: dict[str, bytes] | None = None) -> EncodedImages:
    """Each image through the quality gate and, if it passes, encoded, as enrolment and
    verification do. An image that fails the gate has no encoding (its comparisons score +inf),
    even when a face was found: the deployed pipeline would not compare it either.

    ``timings`` (the bench): detect and encode are also timed on their own, under "detect" and
    "encode", which costs one more detection and encoding per image. ``data_of`` keeps the bytes."""
    out = EncodedImages()
    for p in paths:
        data = (root / p).read_bytes()
        if data_of is not None:
            data_of[p] = data
        try:
            loaded = load_image(data, settings)
        except ImageError:
            out.undecodable.append(p)
            continue
        if timings is not None:
            t0 = time.perf_counter()
            boxes = detect_faces(loaded, rec, settings.detect_max_side, settings.detect_upsample)
            timings.setdefault("detect", []).append(time.perf_counter() - t0)
            if boxes:
                t0 = time.perf_counter()
                rec.encode(loaded.rgb, boxes[0])
                timings.setdefault("encode", []).append(time.perf_counter() - t0)
        report = assess_quality(loaded, rec, settings)
        if not report.ok or report.face is None:
            (out.no_face if report.faces_found == 0 else out.failed_gate).append(p)
            continue
        out.encodings[p] = np.asarray(rec.encode(loaded.rgb, report.face.box), dtype=np.float64)
    return out


def protocol_figures(genuine: NDArray[np.float64], impostor: NDArray[np.float64],
                     settings: RecognitionSettings) -> dict[str, Any]:
    """One protocol's scores at the deployed rule, and at FAR <= 1e-3."""
    # Unusable probes (quality gate) score +inf and count as refused; a check-in would ask for a
    # retake instead, so their number is shown apart.
    figures: dict[str, Any] = {"genuine": int(genuine.size), "impostor": int(impostor.size),
                               "genuine_unusable": int(np.sum(~np.isfinite(genuine)))}
    if genuine.size == 0 or impostor.size == 0:
        return {**figures, "skipped": "no genuine or no impostor probes (too few photos per identity)"}
    rule = three_way(genuine, impostor, settings.match_threshold, settings.review_threshold)
    strict = threshold_for_far(genuine, impostor, 1e-3)
    return {**figures, "far": round(rule.impostor_accepted, 5), "tar": round(rule.genuine_accepted, 4),
            "tar_at_far_1e-3": round(strict.tar, 4), "threshold_at_far_1e-3": _num(strict.threshold, 4),
            "review_per_100_honest": round(rule.review_per_100_honest, 1),
            "refused_per_100_honest": round(rule.refused_per_100_honest, 1),
            "impostor_review": round(rule.impostor_review, 5)}


def _jpeg(rgb: np.ndarray) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.fromarray(rgb).save(out, "JPEG", quality=85)
    return out.getvalue()


def honest_windows(video: Path, rec: Recognizer, settings: RecognitionSettings, template: Template) -> dict[str, Any]:
    """False rejection of the liveness checks on honest bursts: windows of the clip's usable part
    (frames 84-210: he turns right, left, right) at 4 frame rates and 6 starting frames, each with
    the challenge a person following the prompts met (its turns, prompted 150 ms before he makes
    them; ``testing.prompted_challenge``) and capture times with a timer's jitter. The prompts
    are fitted, so this measures the other checks (continuity, depth, mirror, still, identity,
    the capture-time rules) and the injection signals on real motion."""
    from recognition.testing import clip_times, prompted_challenge

    frames_all = {i: f for i, f in zip(range(84, 211), _clip_frames(video, list(range(84, 211))), strict=False)}
    tried = passed = 0
    refused: dict[str, int] = {}
    signals: dict[str, int] = {}
    issued = datetime.now(UTC)
    for step in (4, 6, 8, 10):
        for start in range(84, 96, 2):
            idx = [i for i in range(start, 211, step) if i in frames_all][: settings.liveness_max_frames]
            burst = [_jpeg(frames_all[i]) for i in idx]
            times = clip_times(len(burst), every=step * 1000 / 29.97)
            probe = check_liveness(burst, Challenge("probe", (), issued, issued + timedelta(hours=1), ()), template, rec,
                                   settings, issued + timedelta(minutes=1), frame_times=times)
            steps = tuple(e for e in probe.events if e in (TURN_LEFT, TURN_RIGHT))
            if not steps:
                refused["no_turn_seen"] = refused.get("no_turn_seen", 0) + 1
                tried += 1
                continue
            try:
                challenge = prompted_challenge(burst, times, steps, template, rec, settings, issued)
                # The clip stops where the window does, the page records on for 1.5 s after the
                # last prompt: a turn begun in the window's last moments has no tail behind it
                # here that it would have on a phone. Such a window is cut before that turn's
                # prompt (the burst a phone would have sent had it asked one step fewer).
                while len(steps) > 1 and times[-1] < challenge.prompts_ms[-1] + settings.burst_tail_min_ms:
                    keep = sum(t < challenge.prompts_ms[-1] for t in times)
                    burst, times, steps = burst[:keep], times[:keep], steps[:-1]
                    challenge = prompted_challenge(burst, times, steps, template, rec, settings, issued)
            except ValueError:
                refused["prompt_fit_failed"] = refused.get("prompt_fit_failed", 0) + 1
                tried += 1
                continue
            result = check_liveness(burst, challenge, template, rec, settings, issued + timedelta(minutes=1),
                                    frame_times=times)
            tried += 1
            passed += result.passed
            if not result.passed:
                for r in result.reasons:
                    refused[r.code] = refused.get(r.code, 0) + 1
            for sig in result.signals:
                signals[sig.code] = signals.get(sig.code, 0) + 1
    return {"windows": tried, "passed": passed, "false_rejection": round(1 - passed / tried, 3) if tried else None,
            "refused_by": refused, "signals": signals}


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
    pairs = read_pairs(pairs_csv)
    paths = sorted({p for a, b, _ in pairs for p in (a, b)})

    # Pass 1: per image, quality gate + encode; detect and encode timed on their own.
    data_of: dict[str, bytes] = {}
    timings: dict[str, list[float]] = {"detect": [], "encode": []}
    images = encode_images(root, paths, rec, settings, timings=timings, data_of=data_of)
    encodings = images.encodings
    t_detect, t_encode = timings["detect"], timings["encode"]

    # The liveness burst: 16 frames of the clip as JPEG bytes, 267 ms apart with their capture
    # times (a phone sends 15-25), its person enrolled from the shared images folder beside the
    # video folder, the challenge's prompts fitted to when he turns.
    liveness: dict[str, Any] = {"source": None}
    burst: tuple[list[bytes], Challenge, Template, datetime, list[float]] | None = None
    video = video or root / "video" / "short_hamilton_clip.mp4"
    enrol_photo = video.parent.parent / "images" / "face_recognition" / "ex_lin-manuel-miranda.png"
    if video.exists() and enrol_photo.exists():
        indices = list(range(90, 211, 8))
        frames = [_jpeg(f) for f in _clip_frames(video, indices)]
        times = [(i - indices[0]) * 1000 / 29.97 for i in indices]
        live_template = enroll([enrol_photo.read_bytes()], rec, settings).template
        assert live_template is not None, f"cannot enrol {enrol_photo} for the liveness burst"
        issued = datetime.now(UTC)
        # the motion in these frames: his own left, right, left, right (see tests/recognition)
        challenge = prompted_challenge(frames, times, (TURN_LEFT, TURN_RIGHT, TURN_LEFT, TURN_RIGHT), live_template,
                                       rec, settings, issued)
        burst = (frames, challenge, live_template, issued + timedelta(seconds=30), times)

    # Pass 2: one verification from bytes vs the bare library on the same downscaled image, and
    # every few images one liveness burst plus one verification of a frame of that burst, all
    # interleaved so every figure (and every ratio) sees the same machine state.
    usable = [p for p in paths if p in encodings]
    template = Template(rec.model_name, rec.model_version, np.stack([encodings[usable[0]]]))
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
                frames, challenge, live_template, now, times = burst
                t0 = time.perf_counter()
                result = check_liveness(frames, challenge, live_template, rec, settings, now, frame_times=times)
                t_live.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                verify(frames[0], live_template, rec, settings)
                t_frame_verify.append(time.perf_counter() - t0)
    honest = honest_windows(video, rec, settings, burst[2]) if burst is not None else None
    if burst is not None and result is not None:
        liveness = {"source": f"{video.name} frames 90-210 every 8th", "frames": len(burst[0]),
                    "honest_windows": honest,
                    "passed": result.passed, "events": list(result.events), "reasons": [r.code for r in result.reasons],
                    "encoded_frames": sum(f.distance is not None for f in result.frames)}

    # Accuracy: 1:1 pairs, then (with labels) what a check-in does: gallery and fused probe.
    gen, imp = pair_scores(pairs, encodings)
    thr = settings.match_threshold
    tar2, thr2 = tar_at_far(gen, imp, 1e-2)
    tar3, thr3 = tar_at_far(gen, imp, 1e-3)
    eer, eer_thr = equal_error_rate(gen, imp)
    correct = int(np.sum(gen < thr) + np.sum(imp >= thr))
    # 1:1 pairs have no deployment around them: the rule's strictest per-template shift applies.
    strictest = template_shift(None, settings)[0]
    rule = three_way(gen, imp, settings.match_threshold + strictest, settings.review_threshold + strictest)
    deployed = {"threshold": round(settings.match_threshold + strictest, 4),
                "review_threshold": round(settings.review_threshold + strictest, 4),
                "far": round(rule.impostor_accepted, 5), "tar": round(rule.genuine_accepted, 4),
                "review_per_100_honest": round(rule.review_per_100_honest, 1),
                "refused_per_100_honest": round(rule.refused_per_100_honest, 1),
                "impostor_review": round(rule.impostor_review, 5), "genuine_unusable": int(np.sum(~np.isfinite(gen)))}
    notes: list[str] = []
    gallery: dict[str, Any] | None = None
    fused: dict[str, Any] | None = None
    labels_csv = root / "labels.csv"
    if labels_csv.exists():
        # Only images the pairs file lists were encoded; a labelled image outside it is not unusable.
        listed = set(paths)
        identity = {p: who for p, who in read_labels(labels_csv).items() if p in listed}
        # Per-template thresholds, the set's other identities standing in for the deployment; the
        # raw distance's TAR at FAR 1e-3 beside it shows what they add.
        gallery = {"enrol_photos": 3, **protocol_figures(*gallery_scores(encodings, identity, 3, settings), settings),
                   "raw_tar_at_far_1e-3": round(tar_at_far(*gallery_scores(encodings, identity, 3), 1e-3)[0], 4)}
        fused = {"fuse": 3, "enrol_photos": 3,
                 **protocol_figures(*fused_probe_scores(encodings, identity, 3, 3, settings), settings),
                 "raw_tar_at_far_1e-3": round(tar_at_far(*fused_probe_scores(encodings, identity, 3, 3), 1e-3)[0], 4)}
    else:
        notes.append(f"no {labels_csv.name} beside the pairs file: gallery and fused_probe protocols skipped")
    gallery_target = (None if gallery is None or "skipped" in gallery
                      else bool(gallery["tar_at_far_1e-3"] >= 0.97))

    detect, encode, verif, bare, live, decode, frame_verif = (_ms(x) for x in (
        t_detect, t_encode, t_verify, t_bare, t_live, t_decode, t_frame_verify))

    def ratio(a: float | None, b: float | None) -> float | None:
        return round(a / b, 2) if a and b else None

    return {
        "pairs_file": str(pairs_csv),
        "genuine_pairs": len(gen), "impostor_pairs": len(imp),
        "images": len(paths), "images_no_face": len(images.no_face), "images_failed_gate": len(images.failed_gate),
        "images_undecodable": len(images.undecodable),
        "unusable_images": images.unusable,
        "model": f"{rec.model_name} {rec.model_version}",
        "configured_threshold": thr,
        "tar_at_far_1e-2": round(tar2, 4), "threshold_at_far_1e-2": _num(thr2, 4),
        "tar_at_far_1e-3": round(tar3, 4), "threshold_at_far_1e-3": _num(thr3, 4),
        "eer": round(eer, 4), "eer_threshold": round(eer_thr, 4),
        "accuracy_at_threshold": round(correct / (len(gen) + len(imp)), 4),
        "tar_at_threshold": round(float(np.mean(gen < thr)), 4),
        "far_at_threshold": round(float(np.mean(imp < thr)), 5),
        "genuine_distance_max": round(float(gen[np.isfinite(gen)].max()), 4),
        "impostor_distance_min": round(float(imp[np.isfinite(imp)].min()), 4),
        "deployed": deployed, "gallery": gallery, "fused_probe": fused, "notes": notes,
        "ms": {"detect": detect, "encode": encode, "decode": decode, "verification": verif,
               "bare_face_recognition": bare, "liveness_burst": live,
               "verification_of_one_burst_frame": frame_verif},
        "ratios": {"verification_vs_bare_p50": ratio(verif["p50"], bare["p50"]),
                   "verification_minus_decode_vs_bare_p50": ratio(
                       (verif["p50"] or 0) - (decode["p50"] or 0), bare["p50"]),
                   "liveness_vs_verification_p50": ratio(live["p50"], verif["p50"]),
                   "liveness_vs_verification_of_one_burst_frame_p50": ratio(live["p50"], frame_verif["p50"])},
        "targets": {"tar_at_far_1e-3_ge_0.99": tar3 >= 0.99,
                    "verification_le_1.15x_bare": bool(verif["p50"] and bare["p50"] and verif["p50"] <= 1.15 * bare["p50"]),
                    "liveness_le_2.5x_verification": bool(live["p50"] and verif["p50"] and live["p50"] <= 2.5 * verif["p50"]),
                    # None: not measured (no labels). Reported as measured, met or not.
                    "gallery_far_le_1e-3_at_tar_ge_0.97": gallery_target,
                    "pairs_far_le_1e-3_at_deployed": bool(rule.impostor_accepted <= 1e-3)},
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
    d = r["deployed"]
    print(f"deployed rule (accept < {d['threshold']}, refuse >= {d['review_threshold']}) on pairs: "
          f"FAR {d['far']:.5f}, TAR {d['tar']:.4f}; per 100 honest: {d['review_per_100_honest']} to review, "
          f"{d['refused_per_100_honest']} refused ({d['genuine_unusable']} genuine pairs with an unusable image); "
          f"impostors to review {d['impostor_review']:.5f}")
    for key, title in (("gallery", "gallery (template from 3 photos, one probe photo)"),
                       ("fused_probe", "fused probe (template from 3 photos, probe = mean of 3 photos)")):
        g = r[key]
        if g is None:
            continue
        if "skipped" in g:
            print(f"{title}: skipped: {g['skipped']} ({g['genuine']} genuine, {g['impostor']} impostor)")
            continue
        print(f"{title}: {g['genuine']} genuine, {g['impostor']} impostor; at the deployed rule FAR {g['far']:.5f}, "
              f"TAR {g['tar']:.4f}, per 100 honest {g['review_per_100_honest']} to review, "
              f"{g['refused_per_100_honest']} refused ({g['genuine_unusable']} genuine probes unusable); "
              f"TAR at FAR<=1e-3 {g['tar_at_far_1e-3']:.4f} (score threshold {g['threshold_at_far_1e-3']}; "
              f"without per-template thresholds {g['raw_tar_at_far_1e-3']:.4f})")
    for note in r["notes"]:
        print("note:", note)
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
