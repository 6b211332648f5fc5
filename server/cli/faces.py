"""`hourproof faces calibrate`: the two face thresholds of the three-way rule, measured on a
deployment's own labelled photos.

The defaults (RecognitionSettings.match_threshold / review_threshold) were measured on East Asian
news photos (../shared/faces_ea); a deployment's own trainees, cameras and light differ, so the
operator measures them on photos like the ones check-ins will see, and sets the result with
HOURPROOF_MATCH_THRESHOLD / HOURPROOF_REVIEW_THRESHOLD (server/config.py).

Every image goes through the real pipeline (decode, quality gate, dlib encoding); an image that
fails the gate scores as rejected, as it would at a check-in. The arithmetic is
recognition/calibration.py's, the same as `python -m recognition.bench`'s.

Bad arguments or files exit 2 with a message that says what to fix (never a traceback).
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

EPILOG = """\
FILES
  --pairs FILE   CSV: path_a,path_b,same (1 = one person), image paths relative to the CSV's folder.
  --labels FILE  CSV: path,identity[,role] (paths relative to its folder; with a role column only
                 role "pair" rows are used). Default: labels.csv beside the pairs file.

PROTOCOLS
  pairs    every listed pair, one photo against one photo.
  gallery  what a check-in does: each person enrolled from their first --enrol-photos photos
           (sorted by path; the template is their mean), every other photo of theirs a genuine
           probe, every photo of everyone else an impostor probe. Needs labels.

RESULT
  accept below the largest distance whose FAR <= --target-far (strict), refuse from the
  smallest distance whose TAR >= --target-tar (loose), review between. Shown with the review
  load per 100 honest check-ins, next to the deployed thresholds, and as the two environment
  variables to set. Thresholds to set are rounded outward (accept down, refuse up), so rounding
  never loosens a target.

  Measure on photos like the deployment's check-ins (same cameras, light, people), with
  thousands of impostor comparisons: FAR 0.1% on 300 of them means "none accepted", no more.

--json prints one object (thresholds, rates, the thinned DET curve, and every score so the
figures can be re-checked; +inf, an unusable image, is null).
Exit codes: 0 measured, 2 bad arguments or files.
"""


class InputError(Exception):
    """A bad argument or file; the message tells the operator what to fix."""


def _rate_arg(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a rate like 0.001, got {text!r}") from None
    if not 0.0 < value <= 1.0:
        raise argparse.ArgumentTypeError(f"expected a rate > 0 and <= 1, got {text!r}")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected at least 1, got {text!r}")
    return value


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Register `faces calibrate` on hourproof's argparse tree."""
    fp = sub.add_parser("faces", help="face recognition: calibrate the match thresholds on your own photos")
    fsub = fp.add_subparsers(dest="faces_command", metavar="SUBCOMMAND", required=True)
    cp = fsub.add_parser(
        "calibrate", help="measure match_threshold / review_threshold on labelled photos",
        description="Measure the face thresholds (人脸阈值校准) on labelled photos: DET curve, the strict "
                    "threshold for a target FAR, the loose one for a target TAR, the review load between.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    cp.add_argument("--pairs", type=Path, required=True, metavar="FILE", help="CSV with path_a,path_b,same")
    cp.add_argument("--labels", type=Path, metavar="FILE", help="CSV with path,identity[,role] (default: labels.csv beside --pairs)")
    cp.add_argument("--protocol", choices=("pairs", "gallery"), default="pairs",
                    help="pairs (default): photo against photo; gallery: enrolled template against one photo")
    cp.add_argument("--target-far", type=_rate_arg, default=0.001, metavar="RATE",
                    help="impostors the accept threshold may let in (default 0.001)")
    cp.add_argument("--target-tar", type=_rate_arg, default=0.99, metavar="RATE",
                    help="genuine check-ins the refuse threshold must not refuse (default 0.99)")
    cp.add_argument("--enrol-photos", type=_positive_int, default=3, metavar="N",
                    help="gallery: enrolment photos per person (default 3)")
    cp.add_argument("--json", action="store_true", help="print one JSON object")
    cp.set_defaults(handler=_guarded(calibrate_command))


def _guarded(fn):
    """Turn input problems into exit 2 with a message instead of a traceback."""

    def handler(args: argparse.Namespace) -> int:
        try:
            return fn(args)
        except InputError as exc:
            print(f"hourproof faces {args.faces_command}: error: {exc}", file=sys.stderr)
            return 2

    handler.__name__ = fn.__name__
    handler.__doc__ = fn.__doc__
    return handler


# --- inputs ---------------------------------------------------------------------------------


def _read(kind: str, path: Path, reader):
    try:
        rows = reader(path)
    except OSError as exc:
        raise InputError(f"cannot read {kind} file {path}: {exc.strerror or exc}") from None
    except (ValueError, UnicodeDecodeError) as exc:  # read_pairs/read_labels name the file themselves
        message = str(exc)
        raise InputError(message if str(path) in message else f"{kind} file {path}: {message}") from None
    if not rows:
        raise InputError(f"{kind} file {path} has no rows")
    return rows


def _check_images(root: Path, paths: list[str], listed_in: Path) -> None:
    missing = [p for p in paths if not (root / p).is_file()]
    if missing:
        shown = ", ".join(missing[:3]) + (f" and {len(missing) - 3} more" if len(missing) > 3 else "")
        raise InputError(f"{len(missing)} image(s) listed in {listed_in} not found (paths are relative to "
                         f"{root}): {shown}")


def _settings():
    from server.config import recognition_settings

    try:
        return recognition_settings()
    except ValueError as exc:
        raise InputError(f"the deployment's settings: {exc}") from None


# --- the command ----------------------------------------------------------------------------


def calibrate_command(args: argparse.Namespace) -> int:
    """Encode the photos, score them under the protocol, and print the thresholds."""
    from recognition import DlibRecognizer
    from recognition.bench import encode_images, read_labels, read_pairs
    from recognition.calibration import calibrate, gallery_scores, pair_scores

    settings = _settings()
    pairs = _read("pairs", args.pairs, read_pairs)
    labels_file = args.labels or args.pairs.parent / "labels.csv"
    if args.protocol == "gallery":
        if not labels_file.exists() and args.labels is None:
            raise InputError(f"the gallery protocol needs labels (path,identity): no {labels_file}; pass --labels FILE")
        identity = _read("labels", labels_file, read_labels)
        root, paths = labels_file.parent, sorted(identity)
        listed_in = labels_file
    else:
        root, paths = args.pairs.parent, sorted({p for a, b, _ in pairs for p in (a, b)})
        listed_in = args.pairs
    _check_images(root, paths, listed_in)

    recognizer = DlibRecognizer()
    try:
        images = encode_images(root, paths, recognizer, settings)
    except OSError as exc:
        raise InputError(f"cannot read an image under {root}: {exc.strerror or exc}") from None
    # Scores are in the settings' terms: a distance minus the template's shift (the thresholds move
    # per template, recognition.identity.template_shift). The gallery's other people stand in for
    # the deployment; a 1:1 pair has none, so the strictest shift applies, as it would at check-in.
    if args.protocol == "gallery":
        genuine, impostor = gallery_scores(images.encodings, identity, args.enrol_photos, settings)
    else:
        from recognition.identity import template_shift

        strictest = template_shift(None, settings)[0]
        genuine, impostor = pair_scores(pairs, images.encodings)
        genuine, impostor = genuine - strictest, impostor - strictest
    try:
        result = calibrate(genuine, impostor, args.target_far, args.target_tar)
    except ValueError as exc:
        hint = (" (gallery: every person needs 2 or more photos to give genuine probes, and 2 or more people)"
                if args.protocol == "gallery" else "")
        raise InputError(f"{listed_in}: {exc}{hint}") from None

    report = _report(args, result, genuine, impostor, images, settings, recognizer, labels_file)
    if args.json:
        print(json.dumps(_json_safe(report), ensure_ascii=False, allow_nan=False))
    else:
        _print_human(report)
    return 0


def _report(args, result, genuine, impostor, images, settings, recognizer, labels_file: Path) -> dict[str, Any]:
    import numpy as np

    from recognition.calibration import det_curve, round_down, round_up, thin_det, three_way, threshold_for_tar

    def point(op) -> dict[str, float]:
        return {"threshold": op.threshold, "far": op.far, "tar": op.tar}

    notes: list[str] = []
    refuse_from = result.refuse_from
    if not math.isfinite(refuse_from) and np.isfinite(genuine).any():
        # Unusable genuine images (+inf) make the TAR target unreachable at any threshold; but the
        # gate's refusals are retakes, not identity decisions, so the loose threshold is taken on
        # the usable images, and the shortfall reported.
        usable = threshold_for_tar(genuine[np.isfinite(genuine)], impostor, args.target_tar)
        refuse_from = max(result.accept_below, usable.threshold)
        notes.append(f"TAR {args.target_tar:g} cannot be met: {int(np.sum(~np.isfinite(genuine)))} of {result.genuine} "
                     f"genuine comparisons involve an unusable image; the refuse threshold to set is the loose "
                     f"threshold on the usable ones ({refuse_from:.4f})")
    match, review = round_down(result.accept_below), round_up(refuse_from)
    suggested: dict[str, Any] = {"match_threshold": None, "review_threshold": None, "three_way": None, "env": {}}
    if math.isfinite(match) and math.isfinite(review):
        suggested = {"match_threshold": match, "review_threshold": review,
                     "three_way": three_way(genuine, impostor, match, review).as_dict(),
                     "env": {"HOURPROOF_MATCH_THRESHOLD": f"{match:.3f}", "HOURPROOF_REVIEW_THRESHOLD": f"{review:.3f}"}}
    else:
        notes.append("no finite thresholds meet the targets (are all images unusable, or is --target-far 1?): "
                     "nothing to set; look at the DET curve")
    # A rate is only as fine as one comparison in n: below ~10 expected errors it is noise.
    if result.impostor * args.target_far < 10:
        notes.append(f"only {result.impostor} impostor comparisons: FAR {args.target_far:g} is a rough estimate "
                     f"(about {math.ceil(10 / args.target_far):,} are needed for a reliable one)")
    if result.genuine * (1 - args.target_tar) < 10:
        notes.append(f"only {result.genuine} genuine comparisons: TAR {args.target_tar:g} is a rough estimate "
                     f"(about {math.ceil(10 / (1 - args.target_tar)):,} are needed for a reliable one)"
                     if args.target_tar < 1 else f"only {result.genuine} genuine comparisons")
    if images.unusable:
        notes.append(f"{len(images.unusable)} image(s) unusable (no face, failed quality gate, undecodable): "
                     "their comparisons count as rejected")
    if args.protocol == "pairs":
        notes.append("pairs compares one photo with one photo; a check-in compares with a template of several "
                     "enrolment photos: --protocol gallery measures that (the defaults' match_threshold was set with it)")
    deployed = three_way(genuine, impostor, settings.match_threshold, settings.review_threshold)
    return {
        "protocol": args.protocol,
        "pairs_file": str(args.pairs),
        "labels_file": str(labels_file) if args.protocol == "gallery" else None,
        "enrol_photos": args.enrol_photos if args.protocol == "gallery" else None,
        "model": f"{recognizer.model_name} {recognizer.model_version}",
        "images": len(images.encodings) + len(images.unusable), "unusable_images": images.unusable,
        "genuine": result.genuine, "impostor": result.impostor,
        "target_far": result.target_far, "target_tar": result.target_tar,
        "strict": point(result.strict), "loose": point(result.loose),
        "accept_below": result.accept_below, "refuse_from": result.refuse_from,
        "three_way": result.outcome.as_dict(),
        "eer": result.eer, "eer_threshold": result.eer_threshold,
        "suggested": suggested,
        "deployed": {"match_threshold": settings.match_threshold, "review_threshold": settings.review_threshold,
                     "three_way": deployed.as_dict()},
        "det": [{"threshold": p.threshold, "far": p.far, "frr": p.frr} for p in thin_det(det_curve(genuine, impostor))],
        "notes": notes,
        "scores": {"genuine": [float(s) for s in genuine], "impostor": [float(s) for s in impostor]},
    }


def _json_safe(value: Any) -> Any:
    """+inf (an unusable image's score, a threshold nothing reaches) as null: JSON has no infinity."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    return value


def _pct(rate: float) -> str:
    return f"{rate * 100:.2f}%" if rate >= 0.001 or rate == 0 else f"{rate * 100:.3f}%"


def _thr(value: float | None) -> str:
    return "none (∞)" if value is None or not math.isfinite(value) else f"{value:.4f}"


def _print_three_way(tw: dict[str, float]) -> None:
    print(f"  本人 genuine:   {_pct(tw['genuine_accepted'])} 通过 accepted, {_pct(tw['genuine_review'])} 复核 review, "
          f"{_pct(tw['genuine_refused'])} 拒绝 refused -> 每 100 次正常签到 {tw['review_per_100_honest']:.1f} 次人工复核 "
          f"(review per 100 honest), {tw['refused_per_100_honest']:.1f} 次被拒")
    print(f"  冒用 impostor:  {_pct(tw['impostor_accepted'])} 通过 accepted, {_pct(tw['impostor_review'])} 复核 review, "
          f"{_pct(tw['impostor_refused'])} 拒绝 refused")


def _print_human(r: dict[str, Any]) -> None:
    source = r["labels_file"] if r["protocol"] == "gallery" else r["pairs_file"]
    protocol = (f"gallery (每人 {r['enrol_photos']} 张注册照 enrolment photos, 单张签到照 one probe photo)"
                if r["protocol"] == "gallery" else "pairs (单张对单张 photo against photo)")
    print(f"人脸阈值校准 face threshold calibration: {protocol}; {source}")
    print(f"模型 model: {r['model']}; 图片 images {r['images']}, 不可用 unusable {len(r['unusable_images'])}; "
          f"比对 comparisons: {r['genuine']} 本人 genuine, {r['impostor']} 冒用 impostor")
    print("DET 曲线 curve (通过 accept = distance < threshold):")
    print(f"  {'threshold':>9}  {'FAR':>8}  {'FRR':>7}")
    for p in r["det"]:
        print(f"  {p['threshold']:>9.4f}  {_pct(p['far']):>8}  {_pct(p['frr']):>7}")
    s, lo = r["strict"], r["loose"]
    print(f"严格阈值 strict (FAR <= {_pct(r['target_far'])}): accept below {_thr(s['threshold'])} -> "
          f"FAR {_pct(s['far'])}, TAR {_pct(s['tar'])}")
    print(f"宽松阈值 loose (TAR >= {_pct(r['target_tar'])}): refuse from {_thr(lo['threshold'])} -> "
          f"FAR {_pct(lo['far'])}, TAR {_pct(lo['tar'])}")
    print(f"EER {_pct(r['eer'])} (threshold {_thr(r['eer_threshold'])})")
    sug = r["suggested"]
    if sug["three_way"] is not None:
        print(f"三段判定 three-way: accept < {sug['match_threshold']:.3f}, review between, refuse >= {sug['review_threshold']:.3f}")
        _print_three_way(sug["three_way"])
    d = r["deployed"]
    print(f"当前部署 deployed: match_threshold {d['match_threshold']}, review_threshold {d['review_threshold']}, on these photos:")
    _print_three_way(d["three_way"])
    if sug["env"]:
        print("设置方法 to deploy these (环境变量 environment of the web and worker processes; restart them):")
        for name, value in sug["env"].items():
            print(f"  {name}={value}")
    for note in r["notes"]:
        print(f"注意 note: {note}")
