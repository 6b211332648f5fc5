"""Benchmark: the 1:N face index (server/adapters/faceindex.py) at 100k and 1M templates.

    .venv/bin/python bench/dedup.py                 # 100k and 1M templates (~20 min on 2 cores, ~2 GB)
    .venv/bin/python bench/dedup.py --quick         # 20k and 100k (a smoke run)
    .venv/bin/python bench/dedup.py --json          # exactly one JSON object on stdout

Why: enrolment must search every template of the deployment ("one face, one identity"), about
1M at a province's size, so the search must not grow with the deployment the way a scan does.

Templates: synthetic but realistic. The bases are real dlib encodings of the 402 East Asian LFW
photos in ../shared/faces_ea/img (262 people; `--encodings FILE.npz` with arrays `paths`, `enc`
instead, /tmp/exp/ea_j1.npz by default when it exists; otherwise they are encoded once, ~1 min,
and cached in the temp folder). Template i is base i mod 402 plus gaussian noise of `--sigma`
per dimension (default 0.022): two copies of one base are then sqrt(2 * 128) * sigma ~ 0.35
apart, the distance of two photos of one person, while different people stay ~0.6-1.1 apart as
the real encodings are. Queries are a random base plus fresh noise: a new photo of someone
enrolled ~2,500 times at 1M (the data is more crowded than a real deployment, not less).

Per size, in one process, freeing everything between sizes:
  build      FaceIndex.rebuild() from the (template_id, trainee_id, vector) rows; wall time, and
             RSS growth (VmRSS, /proc/self/status) and peak growth (VmHWM, reset before the build)
  ANN        FaceIndex.search(q, 10) per query: p50 / p95 over `--queries` (default 500), as the
             service calls it (lock, liveness check of every key, Hit objects)
  scan       the baseline, measured in the same run: an exact numpy scan of the same float32
             matrix (precomputed norms, one matrix-vector product, argpartition), per query
  recall@10  against the exact top 10 (rescored in float64) on `--recall-queries` queries; also
             "within": ANN hits no farther than the exact 10th (ties at 1e-6 count as found),
             and "reachable": how many of 1,000 stored templates a search for their own vector
             returns first (HNSW can leave nodes without in-links: such a template could never
             be found as a duplicate)
  add/remove one template into the full index, p50 (the enrolment/erasure path)
Targets: p50(1M) / p50(100k) <= 3x, and p50(1M) <= 50 ms. Not part of the test run.
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import sys
import tempfile
import time
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from server.adapters.faceindex import EXACT_BELOW, EXPANSION_SEARCH, FaceIndex  # noqa: E402

DEFAULT_NPZ = Path("/tmp/exp/ea_j1.npz")
FACES_EA = ROOT.parent / "shared" / "faces_ea"
K = 10


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# --- data ----------------------------------------------------------------------------------------


def load_bases(path: Path | None, faces_ea: Path) -> tuple[np.ndarray, str]:
    """The real encodings the templates are made from, and where they came from."""
    if path is None and DEFAULT_NPZ.exists():
        path = DEFAULT_NPZ
    if path is None:
        path = Path(tempfile.gettempdir()) / "hourproof-dedup-faces_ea.npz"
        if not path.exists():
            encode_faces_ea(faces_ea, path)
    data = np.load(path)
    enc = np.asarray(data["enc"], dtype=np.float64)
    if enc.ndim != 2 or enc.shape[1] != 128:
        raise SystemExit(f"{path}: expected enc of shape (n, 128), got {enc.shape}")
    return enc, f"{path} ({len(enc)} real dlib encodings)"


def encode_faces_ea(faces_ea: Path, out: Path) -> None:
    from recognition import DlibRecognizer, RecognitionSettings, assess_quality, load_image
    from recognition.faces import detect_faces

    photos = sorted((faces_ea / "img").glob("*.jpg"))
    if not photos:
        raise SystemExit(f"no photos in {faces_ea / 'img'}; pass --encodings FILE.npz or --faces-ea DIR")
    log(f"encoding {len(photos)} photos of {faces_ea} once (cached in {out}) ...")
    rec, settings = DlibRecognizer(), RecognitionSettings()
    paths, enc = [], []
    for p in photos:
        image = load_image(p.read_bytes(), settings)
        report = assess_quality(image, rec, settings)
        # The quality gate refuses some news photos (blur, size); their faces are still faces.
        boxes = [report.face.box] if report.face else detect_faces(image, rec, settings.detect_max_side, settings.detect_upsample)
        if boxes:
            paths.append(str(p.relative_to(faces_ea)))
            enc.append(rec.encode(image.rgb, boxes[0]))
    np.savez(out, paths=np.array(paths), enc=np.stack(enc))


def templates(bases: np.ndarray, n: int, sigma: float, rng: np.random.Generator) -> np.ndarray:
    out = np.empty((n, bases.shape[1]), dtype=np.float32)
    step = 100_000  # noise in slices: no float64 temporary of the whole matrix
    for start in range(0, n, step):
        idx = np.arange(start, min(n, start + step))
        out[idx] = bases[idx % len(bases)] + rng.normal(0.0, sigma, (len(idx), bases.shape[1]))
    return out


def distance_check(bases: np.ndarray, sigma: float, rng: np.random.Generator) -> dict:
    """What the noise does: distances between copies of one base, and between different bases."""
    b = bases[rng.integers(0, len(bases), 2000)]
    same = np.linalg.norm((b + rng.normal(0, sigma, b.shape)) - (b + rng.normal(0, sigma, b.shape)), axis=1)
    i, j = rng.integers(0, len(bases), (2, 5000))
    keep = i != j
    other = np.linalg.norm(bases[i[keep]] - bases[j[keep]], axis=1)
    return {"copies_p50": float(np.median(same)), "copies_p5": float(np.percentile(same, 5)),
            "copies_p95": float(np.percentile(same, 95)),
            "different_bases_p5": float(np.percentile(other, 5)), "different_bases_p50": float(np.median(other))}


# --- measuring -----------------------------------------------------------------------------------


def proc_status_kib(field: str) -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def reset_peak_rss() -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0), so the peak is this size's alone."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def pct(xs: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(xs), q * 100))


def scan(matrix: np.ndarray, norms: np.ndarray, q: np.ndarray, k: int) -> np.ndarray:
    """The baseline: exact k nearest by squared L2 = |x|^2 - 2 x.q + |q|^2 (the |q|^2 term does
    not change the order)."""
    d2 = norms - 2.0 * (matrix @ q)
    top = np.argpartition(d2, k)[:k]
    return top[np.argsort(d2[top])]


def exact_top(matrix: np.ndarray, norms: np.ndarray, q: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Ground truth: the scan's 50 best rescored in float64 (float32 norms can swap near-ties)."""
    cand = scan(matrix, norms, q, 50)
    d = np.linalg.norm(matrix[cand].astype(np.float64) - q.astype(np.float64), axis=1)
    order = np.argsort(d, kind="stable")[:k]
    return cand[order], d[order]


def quality(index: FaceIndex, matrix: np.ndarray, truth: list, hits_per_query: list, sample: np.ndarray) -> tuple[float, float, float]:
    """(recall@10, share of hits within the exact 10th distance, share of `sample` found first by
    their own vector)."""
    strict, within = [], []
    for (ids, dist), hits in zip(truth, hits_per_query, strict=True):
        strict.append(len(set(ids.tolist()) & {h.template_id for h in hits}) / K)
        within.append(sum(h.distance <= dist[-1] + 1e-6 for h in hits) / K)
    reach = sum(index.search(matrix[i], 1)[0].template_id == i for i in sample) / len(sample)
    return float(np.mean(strict)), float(np.mean(within)), reach


def run_size(n: int, bases: np.ndarray, args: argparse.Namespace, rng: np.random.Generator) -> dict:
    log(f"{n:,} templates: generating ...")
    matrix = templates(bases, n, args.sigma, rng)
    queries = templates(bases[rng.integers(0, len(bases), args.queries)], args.queries, args.sigma, rng)
    gc.collect()
    rss0 = proc_status_kib("VmRSS")
    peak_reset = reset_peak_rss()
    log(f"{n:,} templates: building the index ...")
    index = FaceIndex()
    t0 = time.perf_counter()
    index.rebuild((i, i, matrix[i]) for i in range(n))
    build_s = time.perf_counter() - t0
    gc.collect()
    rss1, hwm = proc_status_kib("VmRSS"), proc_status_kib("VmHWM")
    assert len(index) == n

    log(f"{n:,} templates: {len(queries)} searches (k={K}) ...")
    for q in queries[:20]:  # warm-up, not counted
        index.search(q, K)
    ann_ms, ann_cpu_ms, ann_hits = [], [], []
    for q in queries:
        t, c = time.perf_counter(), time.thread_time()
        hits = index.search(q, K)
        ann_cpu_ms.append((time.thread_time() - c) * 1000)
        ann_ms.append((time.perf_counter() - t) * 1000)
        ann_hits.append(hits)
    excl_ms = []
    for q, hits in zip(queries[:100], ann_hits[:100], strict=True):
        t = time.perf_counter()
        index.search(q, K, exclude_trainee=hits[0].trainee_id)
        excl_ms.append((time.perf_counter() - t) * 1000)

    log(f"{n:,} templates: exact numpy scan on {args.scan_queries} queries ...")
    norms = np.einsum("ij,ij->i", matrix, matrix)
    for q in queries[:3]:
        scan(matrix, norms, q, K)
    scan_ms = []
    for q in queries[:args.scan_queries]:
        t = time.perf_counter()
        scan(matrix, norms, q, K)
        scan_ms.append((time.perf_counter() - t) * 1000)

    log(f"{n:,} templates: recall on {args.recall_queries} queries, reachability of 1,000 templates ...")
    truth = [exact_top(matrix, norms, q, K) for q in queries[:args.recall_queries]]
    sample = rng.choice(n, 1000, replace=False)
    recall, recall_within, reachable = quality(index, matrix, truth, ann_hits[:args.recall_queries], sample)
    sweep = {}
    for ef in args.ef_sweep:
        log(f"{n:,} templates: expansion_search {ef} ...")
        index.expansion_search = ef
        wall, cpu, hits_ef = [], [], []
        for q in queries[:200]:
            t, c = time.perf_counter(), time.thread_time()
            hits_ef.append(index.search(q, K))
            cpu.append((time.thread_time() - c) * 1000)
            wall.append((time.perf_counter() - t) * 1000)
        r, _, reach = quality(index, matrix, truth, hits_ef[:args.recall_queries], sample)
        sweep[ef] = {"p50_ms": pct(wall, 0.5), "cpu_p50_ms": pct(cpu, 0.5), "recall_at_10": r, "reachable": reach}
    index.expansion_search = EXPANSION_SEARCH

    add_ms, remove_ms = [], []
    fresh = templates(bases, 200, args.sigma, rng)
    for j, v in enumerate(fresh):
        t = time.perf_counter()
        index.add(n + j, n + j, v)
        add_ms.append((time.perf_counter() - t) * 1000)
    for j in range(len(fresh)):
        t = time.perf_counter()
        index.remove(n + j)
        remove_ms.append((time.perf_counter() - t) * 1000)

    del index, matrix, norms, ann_hits, truth
    gc.collect()
    rss_freed = proc_status_kib("VmRSS")
    return {
        "templates": n, "build_s": build_s, "build_us_per_template": build_s / n * 1e6,
        "rss_growth_mib": (rss1 - rss0) / 1024, "peak_growth_mib": (hwm - rss0) / 1024 if peak_reset else None,
        "bytes_per_template": (rss1 - rss0) * 1024 / n, "rss_after_free_mib": rss_freed / 1024,
        "ann_p50_ms": pct(ann_ms, 0.5), "ann_p95_ms": pct(ann_ms, 0.95), "ann_queries": len(ann_ms),
        "ann_cpu_p50_ms": pct(ann_cpu_ms, 0.5), "ann_cpu_p95_ms": pct(ann_cpu_ms, 0.95),
        "ann_exclude_p50_ms": pct(excl_ms, 0.5),
        "scan_p50_ms": pct(scan_ms, 0.5), "scan_p95_ms": pct(scan_ms, 0.95), "scan_queries": len(scan_ms),
        "recall_at_10": recall, "recall_within_at_10": recall_within,
        "recall_queries": args.recall_queries, "reachable": reachable, "ef_sweep": sweep,
        "add_p50_ms": pct(add_ms, 0.5), "remove_p50_ms": pct(remove_ms, 0.5),
    }


# --- report --------------------------------------------------------------------------------------


def machine() -> dict:
    from usearch.index import Index

    return {"cpu_count": os.cpu_count(), "processor": platform.processor() or platform.machine(),
            "platform": platform.platform(), "python": platform.python_version(), "numpy": np.__version__,
            "usearch": version("usearch"), "simd": Index(ndim=128, metric="l2sq", dtype="f32").hardware_acceleration,
            "loadavg_start": os.getloadavg(), "date": datetime.now(UTC).isoformat(timespec="seconds")}


def verdict(sizes: dict[int, dict]) -> dict:
    small, big = min(sizes), max(sizes)
    ratio = sizes[big]["ann_p50_ms"] / sizes[small]["ann_p50_ms"]
    return {
        "small": small, "big": big, "ann_p50_ratio": ratio,
        "ann_cpu_p50_ratio": sizes[big]["ann_cpu_p50_ms"] / sizes[small]["ann_cpu_p50_ms"],
        "scan_p50_ratio": sizes[big]["scan_p50_ms"] / sizes[small]["scan_p50_ms"],
        "ann_over_scan": {n: r["ann_p50_ms"] / r["scan_p50_ms"] for n, r in sizes.items()},
        "targets": {
            f"p50({big:,}) / p50({small:,}) <= 3x": {"value": ratio, "met": ratio <= 3.0},
            f"p50({big:,}) <= 50 ms": {"value": sizes[big]["ann_p50_ms"], "met": sizes[big]["ann_p50_ms"] <= 50.0},
        },
    }


def print_human(r: dict) -> None:
    m, v = r["machine"], r["verdict"]
    print("hourproof 1:N dedup index benchmark (bench/dedup.py)" + ("  [--quick: smoke run]" if r["quick"] else ""))
    print(f"machine: {m['cpu_count']} CPUs, {m['processor']}, {m['platform']}, Python {m['python']}, numpy {m['numpy']}, "
          f"usearch {m['usearch']} ({m['simd']} kernels); load avg {m['loadavg_start'][0]:.2f} at start, "
          f"{r['loadavg_end'][0]:.2f} at end; {m['date']}")
    c, d = r["config"], r["distances"]
    print(f"templates: {c['bases']} + gaussian noise sigma {c['sigma']} per dimension; index: HNSW (usearch), "
          f"l2sq f32, connectivity 16, expansion_add 128, expansion_search {c['expansion_search']}; "
          f"exact scan below {c['exact_below']:,}")
    print(f"distances: two copies of one base p50 {d['copies_p50']:.3f} (p5 {d['copies_p5']:.3f}, p95 {d['copies_p95']:.3f}); "
          f"two different real encodings p50 {d['different_bases_p50']:.3f} (p5 {d['different_bases_p5']:.3f})")
    print()
    print(f"{'templates':>10} {'build s':>8} {'RSS +MiB':>9} {'peak +MiB':>9} {'B/tmpl':>7} {'ANN p50':>8} {'ANN p95':>8} {'CPU p50':>8} "
          f"{'excl p50':>8} {'scan p50':>9} {'scan p95':>9} {'ANN/scan':>8} {'recall@10':>9} {'within':>7} {'reach':>6} "
          f"{'add p50':>8} {'rm p50':>7}")
    for n, s in r["sizes"].items():
        peak = "-" if s["peak_growth_mib"] is None else f"{s['peak_growth_mib']:.0f}"
        print(f"{int(n):>10,} {s['build_s']:>8.1f} {s['rss_growth_mib']:>9.0f} {peak:>9} {s['bytes_per_template']:>7.0f} "
              f"{s['ann_p50_ms']:>6.3f}ms {s['ann_p95_ms']:>6.3f}ms {s['ann_cpu_p50_ms']:>6.3f}ms {s['ann_exclude_p50_ms']:>6.3f}ms "
              f"{s['scan_p50_ms']:>7.2f}ms {s['scan_p95_ms']:>7.2f}ms {s['ann_p50_ms'] / s['scan_p50_ms']:>7.4f}x "
              f"{s['recall_at_10']:>9.3f} {s['recall_within_at_10']:>7.3f} {s['reachable']:>6.3f} "
              f"{s['add_p50_ms']:>6.3f}ms {s['remove_p50_ms']:>5.3f}ms")
    print(f"(ANN over {c['queries']} queries, k={K}; scan over {c['scan_queries']}; recall over {c['recall_queries']}; "
          "reach = stored templates found first by their own vector, of 1,000; CPU = the searching thread's CPU time)")
    print("expansion_search sweep (200 queries each; p50 wall / CPU, recall@10, reach):")
    for n, s in r["sizes"].items():
        print(f"    {int(n):>10,}: " + "; ".join(
            f"ef {ef}: {x['p50_ms']:.3f} / {x['cpu_p50_ms']:.3f} ms, {x['recall_at_10']:.3f}, {x['reachable']:.3f}"
            for ef, x in s["ef_sweep"].items()))
    print()
    print(f"growth {v['small']:,} -> {v['big']:,} templates ({v['big'] / v['small']:.0f}x): ANN p50 {v['ann_p50_ratio']:.2f}x, "
          f"(CPU p50 {v['ann_cpu_p50_ratio']:.2f}x), exact scan p50 {v['scan_p50_ratio']:.2f}x")
    print("targets:")
    for name, t in v["targets"].items():
        print(f"    {name}: {t['value']:.3f} -> {'met' if t['met'] else 'MISSED'}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--sizes", help="index sizes, comma-separated (default 100000,1000000; --quick: 20000,100000)")
    p.add_argument("--quick", action="store_true", help="sizes 20000,100000 and fewer queries: a smoke run")
    p.add_argument("--queries", type=int, default=500, help="ANN queries per size (default 500)")
    p.add_argument("--scan-queries", type=int, default=100, help="exact-scan queries per size (default 100)")
    p.add_argument("--recall-queries", type=int, default=100, help="queries checked against the exact top 10 (default 100)")
    p.add_argument("--sigma", type=float, default=0.022, help="noise per dimension (default 0.022: copies ~0.35 apart)")
    p.add_argument("--encodings", type=Path, help=f"npz with arrays paths, enc (default {DEFAULT_NPZ} if present)")
    p.add_argument("--faces-ea", type=Path, default=FACES_EA, help="where to encode from when no npz is given")
    p.add_argument("--ef-sweep", default="64,128,256,512", help="expansion_search values also measured (default 64,128,256,512)")
    p.add_argument("--seed", type=int, default=2026)
    p.add_argument("--json", action="store_true", help="print exactly one JSON object")
    args = p.parse_args(argv)
    if args.quick:
        args.queries, args.scan_queries, args.recall_queries = 200, 50, 50
    args.sizes = args.sizes or ("20000,100000" if args.quick else "100000,1000000")
    sizes = [int(s) for s in args.sizes.split(",")]
    args.ef_sweep = [int(x) for x in args.ef_sweep.split(",") if x]
    if len(sizes) < 2 or min(sizes) <= EXACT_BELOW:
        p.error(f"give at least two sizes, each above {EXACT_BELOW} (below it the index scans exactly)")

    rng = np.random.default_rng(args.seed)
    bases, source = load_bases(args.encodings, args.faces_ea)
    result: dict = {"quick": args.quick, "machine": machine(), "config": {
        "bases": source, "sigma": args.sigma, "queries": args.queries, "scan_queries": args.scan_queries,
        "recall_queries": args.recall_queries, "expansion_search": EXPANSION_SEARCH, "exact_below": EXACT_BELOW,
        "seed": args.seed}}
    result["distances"] = distance_check(bases, args.sigma, rng)
    result["sizes"] = {}
    for n in sizes:
        result["sizes"][n] = run_size(n, bases, args, rng)
        log(json.dumps(result["sizes"][n]))
    result["verdict"] = verdict(result["sizes"])
    result["loadavg_end"] = os.getloadavg()
    if args.json:
        print(json.dumps(result, default=str))
    else:
        print_human(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
