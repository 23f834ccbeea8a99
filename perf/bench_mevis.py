"""MeViS scoring at v2 ``valid_u`` size: ``pixbench score`` under both protocols against a plain full-frame evaluator.

What it builds (in the files and layout of a MeViS ``valid_u`` folder holding ``meta_expressions_v2.json`` and
``mask_dict.json``; no JPEG frames, the build is ``--no-frames --version v2``), with bench_mocentric's shape
generator (:mod:`bench_mocentric`: ellipses and rounded boxes with wavy outlines, 5-20 % of a 720 x 1280 frame,
moving, sometimes leaving for a while):

- ``full``: MeViS v2 ``valid_u``'s size: 907 expressions over 50 videos of 30-180 frames (mean ~70; MeViS's
  frames are ~6 fps), 2-5 objects per video; ~10 % no-target expressions (``"anno_id": []``), the others
  naming 1-3 objects; types ``motion`` / ``reasoning``. ``--expressions N`` shrinks it (videos in proportion).
- ``subset``: a few short videos (default 3 videos of 30-60 frames with 16 expressions each, as ``valid_u``
  has ~18 per video; ~10 % no-target), for the comparison with the plain evaluator, which takes ~25 s on it.

Predictions (``preds.jsonl``, one line per expression, probe ``v2``) are bench_mocentric's perturbed ground
truth on the ``original`` canvas: each object redrawn shifted, rescaled and with another outline; objects
missed for a while; sometimes a wrong object; frames answered empty (``null`` or an empty RLE); small spurious
blobs (so masks come in several parts). Besides: ~3 % of the expressions have **no line**, and of the
no-target expressions ~70 % are answered empty in every frame, the others with some object.

The plain evaluator (``--plain-run``, in this file, independent of pixbench) does what MeViS's
``tools/eval_mevis.py`` does: per expression, decode every ground-truth object and every predicted mask to full
``T x H x W`` arrays (pycocotools), the union of the objects as the truth; J per frame (DAVIS ``db_eval_iou``,
1 where both are empty); F per frame (DAVIS ``db_eval_boundary``: ``seg2bmap`` of the whole frame, both maps
dilated with ``cv2.dilate`` by the disk of radius ``ceil(0.008 * diagonal)``); per expression the means (0
without a line); J, F, J&F over the target expressions, and v2's N-acc, T-acc and J&F over all (GRES rules, as
pixbench's docstring states them).

Every measured step is its own process (``bench_mocentric.measure``: wall and CPU time, peak RSS from ``wait4``,
peak summed PSS of the process tree). Steps: build each data set, then on the subset ``pixbench score`` (three
times: the median) and the plain evaluator, then on the full size ``pixbench score`` under ``official`` and
under ``lmms-eval`` (at its default 6 fps every native frame is kept; the expressions without a line are
dropped), each with every ``--workers`` value. ``--repeats`` runs each full-size score that many times (the
table shows the median wall time).

    python perf/bench_mevis.py                      # subset comparison + full size (~4 min on 2 cores)
    python perf/bench_mevis.py --expressions 200    # a smaller full size
    python perf/bench_mevis.py --keep DIR           # keep (and reuse) the generated data in DIR
    python perf/bench_mocentric.py --workers 1 --keep /tmp/moc && python perf/bench_mevis.py --mocentric /tmp/moc
                                                    # and MoCentric-Bench's full-size original probe beside it

The table: ``wall s`` (whole process: start-up, reading the build and the predictions, scoring, writing the
report), ``cpu s``, ``peak MB`` (RSS), ``tree MB`` (PSS of the process and its workers), ``frames`` (the
expression-frames scored) and ``ms/frame`` (wall time over them).

Targets (issue 20, "Speed"), each a verdict; the script exits 1 if one is missed:
- speedup: the plain evaluator's wall time over ``pixbench score``'s on the subset, one process each, >= 10x;
- memory: every ``pixbench score`` run under 2 GB (both memory columns);
- identical numbers: ``pixbench score`` and the plain evaluator agree to 1e-4 percentage points on the subset,
  and the full-size numbers do not depend on ``--workers``;
- speed per expression-frame: with ``--mocentric DIR`` (a folder ``perf/bench_mocentric.py --keep DIR`` filled,
  its full size included), ``pixbench score`` of MoCentric-Bench's full-size ``original`` probe (``--workers 1``)
  runs right after each full-size official MeViS run, on the same machine; the MeViS official ``--workers 1``
  ms per expression-frame (median wall time) must be at most MoCentric-Bench's, with 10 % allowed for noise
  on a shared machine (reported, not judged, without ``--mocentric``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_mocentric as shapes  # perf/ is not a package: bench_mocentric's generator and measuring

TARGET_SPEEDUP = 10.0
TARGET_MB = 2048.0
TOLERANCE_PP = 1e-4
#: MeViS's ms per expression-frame may exceed MoCentric-Bench's by this factor (timing noise on a shared machine).
RATE_SLACK = 1.10
#: Bump when the generator changes: ``--keep`` regenerates data made by another version.
GENERATOR_VERSION = 1
MODEL = "perturbed-gt"
VERSION = "v2"
META_V2 = "meta_expressions_v2.json"
PROTOCOLS = ("official", "lmms-eval")
#: Runs of ``pixbench score`` on the subset (a few seconds each): the table shows the median.
SUBSET_REPEATS = 3


@dataclass(frozen=True)
class Shape:
    """A data set's size: videos, expressions, frames per video (min, max, mean) and the no-target share."""

    videos: int
    expressions: int
    min_frames: int
    max_frames: int
    mean_frames: float
    no_target: float = 0.1
    missing: float = 0.03


def full_shape(expressions: int) -> Shape:
    return Shape(videos=max(1, round(50 * expressions / 907)), expressions=expressions, min_frames=30,
                 max_frames=180, mean_frames=70.0)


def subset_shape(videos: int, expressions: int) -> Shape:
    return Shape(videos=videos, expressions=expressions, min_frames=30, max_frames=60, mean_frames=45.0)


# ------------------------------------------------------------------------------------------ data (child process)


def write_release(root: Path, shape: Shape, seed: int, height: int, width: int) -> dict[str, Any]:
    """A MeViS v2 ``valid_u`` under ``root`` (``meta_expressions_v2.json``, ``mask_dict.json``); the plan the
    predictions are drawn from."""
    import numpy as np

    from pixbench.benchmarks.mocentric.synthetic import frame_name, write_meta_json

    rng = np.random.default_rng([seed, 1])
    profile = shapes.Profile(videos=shape.videos, expressions=shape.expressions, reversed=0,
                             min_frames=shape.min_frames, max_frames=shape.max_frames, mean_frames=shape.mean_frames)
    counts = shapes._frame_counts(rng, profile)
    per_video = 1 + rng.multinomial(shape.expressions - shape.videos, np.ones(shape.videos) / shape.videos)
    firsts = set(np.cumsum([0, *per_video.tolist()[:-1]]).tolist())  # every video keeps a target expression
    others = [n for n in range(shape.expressions) if n not in firsts]
    no_target = set(rng.choice(others, size=min(len(others), max(1, round(shape.no_target * shape.expressions))),
                               replace=False).tolist())
    meta: dict[str, Any] = {}
    mask_dict: dict[str, Any] = {}
    plan: list[dict[str, Any]] = []
    anno = number = 0
    for video_index, (frames, n_exp) in enumerate(zip(counts, per_video.tolist())):
        video_id = f"{seed:02d}{video_index:04d}" + bytes(rng.integers(0, 256, size=3, dtype=np.uint8).tolist()).hex()
        objects = [shapes._make_object(rng, frames, height, width, (0.05, 0.20))
                   for _ in range(int(rng.integers(2, 6)))]
        annos = list(range(anno, anno + len(objects)))
        anno += len(objects)
        every = np.arange(frames)
        for obj, a in zip(objects, annos):
            masks = shapes._rles([shapes._shape(obj, every, every, height=height, width=width)], frames, height, width)
            mask_dict[str(a)] = [m if obj["present"][t] else None for t, m in enumerate(masks)]
        expressions: dict[str, Any] = {}
        video_plan: list[dict[str, Any]] = []
        for exp_id in range(n_exp):
            k = 0 if number in no_target else min(len(objects), int(rng.choice([1, 2, 3], p=[0.65, 0.25, 0.1])))
            objs = sorted(rng.choice(len(objects), size=k, replace=False).tolist())
            expressions[str(exp_id)] = {"exp": f"object(s) {objs} moving", "obj_id": objs,
                                        "anno_id": [annos[o] for o in objs],
                                        "type": "reasoning" if rng.random() < 0.2 else "motion"}
            video_plan.append({"exp_id": exp_id, "objects": objs, "keyframe": 0})
            number += 1
        meta[video_id] = {"vid_id": video_index, "frames": [frame_name(t) for t in range(frames)],
                          "expressions": expressions}
        plan.append({"video_id": video_id, "frames": frames, "objects": objects, "expressions": video_plan})
    split_dir = root / "valid_u"
    write_meta_json(split_dir / META_V2, meta)
    (split_dir / "mask_dict.json").write_text(json.dumps(mask_dict), encoding="utf-8")
    return {"videos": plan, "height": height, "width": width}


def _lines(plan: dict[str, Any], shape: Shape, seed: int) -> Iterator[Any]:
    """The predictions: perturbed ground truth, no line for ~3 %, no-target ones mostly answered empty."""
    import numpy as np

    from pixbench.predictions import Prediction

    height, width = plan["height"], plan["width"]
    for v, video in enumerate(plan["videos"]):
        for expression in video["expressions"]:
            rng = np.random.default_rng([seed, 2, v, expression["exp_id"]])
            if rng.random() < shape.missing:
                continue
            row_id = f"{video['video_id']}_{expression['exp_id']}"
            masks: list[Any]
            if expression["objects"]:
                masks = shapes._predict(rng, video, expression, height, width, False)
            elif rng.random() < 0.7:  # a no-target expression answered empty: null or empty RLEs
                nothing = shapes._rles([], 1, height, width)[0]
                masks = [None if rng.random() < 0.5 else nothing] * video["frames"]
            else:  # ... or with some object
                wrong = {**expression, "objects": [int(rng.integers(len(video["objects"])))]}
                masks = shapes._predict(rng, video, wrong, height, width, False)
            yield Prediction(benchmark="mevis", id=row_id, probe=VERSION, model=MODEL, frames=tuple(masks))


def prepare(folder: Path, shape: Shape, seed: int, height: int, width: int) -> int:
    """Child process: the raw release under ``folder/mevis`` and ``folder/preds.jsonl``; ``data.json`` (written
    last: its presence means the data is complete) describes them."""
    from pixbench.predictions import write_predictions

    folder.mkdir(parents=True, exist_ok=True)
    plan = write_release(folder / "mevis", shape, seed, height, width)
    write_predictions(folder / "preds.jsonl", _lines(plan, shape, seed))
    counts = [v["frames"] for v in plan["videos"]]
    described = {"key": _data_key(shape, seed, height, width), "videos": len(counts), "frames": sum(counts),
                 "min_frames": min(counts), "max_frames": max(counts),
                 "expressions": sum(len(v["expressions"]) for v in plan["videos"]),
                 "no_target": sum(not e["objects"] for v in plan["videos"] for e in v["expressions"]),
                 "expression_frames": sum(v["frames"] * len(v["expressions"]) for v in plan["videos"])}
    (folder / "data.json").write_text(json.dumps(described, indent=2) + "\n", encoding="utf-8")
    return 0


def _data_key(shape: Shape, seed: int, height: int, width: int) -> dict[str, Any]:
    return {"shape": asdict(shape), "seed": seed, "size": [height, width], "generator": GENERATOR_VERSION}


# ------------------------------------------------------------------------------------------ the plain evaluator


def _seg2bmap(seg: Any) -> Any:
    """DAVIS' ``seg2bmap`` of a boolean mask (whole frame)."""
    import numpy as np

    e, s, se = np.zeros_like(seg), np.zeros_like(seg), np.zeros_like(seg)
    e[:, :-1], s[:-1, :], se[:-1, :-1] = seg[:, 1:], seg[1:, :], seg[1:, 1:]
    b = (seg ^ e) | (seg ^ s) | (seg ^ se)
    b[-1, :] = seg[-1, :] ^ e[-1, :]
    b[:, -1] = seg[:, -1] ^ s[:, -1]
    b[-1, -1] = False
    return b


def _db_eval_boundary(gt: Any, pred: Any) -> float:
    """DAVIS' ``f_measure`` (``bound_th = 0.008``), the dilations by ``cv2.dilate`` with the disk."""
    import math

    import cv2
    import numpy as np

    radius = math.ceil(0.008 * np.linalg.norm(gt.shape))
    yy, xx = np.mgrid[-radius:radius + 1, -radius:radius + 1]
    disk = (xx ** 2 + yy ** 2 <= radius ** 2).astype(np.uint8)
    fg, truth = _seg2bmap(pred), _seg2bmap(gt)
    fg_dil = cv2.dilate(fg.astype(np.uint8), disk).astype(bool)
    gt_dil = cv2.dilate(truth.astype(np.uint8), disk).astype(bool)
    n_fg, n_gt = int(np.count_nonzero(fg)), int(np.count_nonzero(truth))
    if n_fg == 0 and n_gt > 0:
        precision, recall = 1.0, 0.0
    elif n_fg > 0 and n_gt == 0:
        precision, recall = 0.0, 1.0
    elif n_fg == 0 and n_gt == 0:
        precision, recall = 1.0, 1.0
    else:
        precision = np.count_nonzero(fg & gt_dil) / n_fg
        recall = np.count_nonzero(truth & fg_dil) / n_gt
    return 0.0 if precision + recall == 0 else float(2 * precision * recall / (precision + recall))


def plain_run(split_dir: Path, preds_path: Path, out: Path) -> int:
    """Child process: every expression of ``split_dir``'s v2 file scored the plain way; metrics to ``out``."""
    import numpy as np
    from pycocotools import mask as coco

    meta = json.loads((split_dir / META_V2).read_text(encoding="utf-8"))["videos"]
    mask_dict = json.loads((split_dir / "mask_dict.json").read_text(encoding="utf-8"))
    lines: dict[str, list[Any]] = {}
    with open(preds_path, encoding="utf-8") as handle:
        for text in handle:
            line = json.loads(text)
            lines[line["id"]] = line["masks"]
    per: dict[str, dict[str, float]] = {}
    target: dict[str, bool] = {}
    answered: dict[str, bool] = {}
    frames_scored = 0
    for video_id, video in meta.items():
        count = len(video["frames"])
        annos = [str(a) for e in video["expressions"].values() for a in e["anno_id"]]
        height, width = next(m["size"] for a in annos for m in mask_dict[a] if m is not None)
        for exp_id, expression in video["expressions"].items():
            row_id = f"{video_id}_{exp_id}"
            target[row_id] = bool(expression["anno_id"])
            masks = lines.get(row_id)
            if masks is None:
                per[row_id] = {"J": 0.0, "F": 0.0}
                continue
            gt = np.zeros((count, height, width), dtype=bool)
            for a in expression["anno_id"]:
                for t, m in enumerate(mask_dict[str(a)]):
                    if m is not None:
                        gt[t] |= coco.decode(m).astype(bool)
            pred = np.zeros((count, height, width), dtype=bool)
            for t, m in enumerate(masks):
                if m is not None:
                    pred[t] = coco.decode(m).astype(bool)
            answered[row_id] = bool(pred.any())
            inters = np.sum(gt & pred, axis=(1, 2))
            unions = np.sum(gt | pred, axis=(1, 2))
            j = np.where(unions == 0, 1.0, inters / np.maximum(unions, 1))
            f = np.array([_db_eval_boundary(gt[t], pred[t]) for t in range(count)])
            per[row_id] = {"J": float(np.mean(j)), "F": float(np.mean(f))}
            frames_scored += count
    targets = [i for i in per if target[i]]
    nones = [i for i in per if not target[i]]
    mean_j = float(np.mean([per[i]["J"] for i in targets])) * 100
    mean_f = float(np.mean([per[i]["F"] for i in targets])) * 100
    metrics = {"J": mean_j, "F": mean_f, "JF": (mean_j + mean_f) / 2}
    if nones:
        metrics.update(N_acc=float(np.mean([i in answered and not answered[i] for i in nones])) * 100,
                       T_acc=float(np.mean([answered.get(i, False) for i in targets])) * 100,
                       JF_all=float(np.mean([(p["J"] + p["F"]) / 2 for p in per.values()])) * 100)
    out.write_text(json.dumps({"metrics": metrics, "frames": frames_scored}), encoding="utf-8")
    return 0


# ------------------------------------------------------------------------------------------ measuring


def _prepare_data(work: Path, name: str, shape: Shape, args: argparse.Namespace) -> tuple[Path, dict[str, Any],
                                                                                           shapes.Run | None]:
    """Generate (child process) and build (measured) one data set, or reuse it from ``--keep``."""
    folder = work / name
    key = _data_key(shape, args.seed, *args.size)
    described_path, built = folder / "data.json", folder / "MeViS"
    if described_path.exists() and (built / "build_summary.json").exists():
        described = json.loads(described_path.read_text(encoding="utf-8"))
        if described.get("key") == json.loads(json.dumps(key)):
            print(f"{name}: reusing {folder}")
            return folder, described, None
    described_path.unlink(missing_ok=True)
    start = time.perf_counter()
    subprocess.run([sys.executable, __file__, "--prepare", str(folder), "--shape", json.dumps(asdict(shape)),
                    "--seed", str(args.seed), "--size", f"{args.size[0]}x{args.size[1]}"], check=True)
    print(f"{name}: generated the release and the predictions in {time.perf_counter() - start:.1f} s", flush=True)
    build = shapes.measure([sys.executable, "-m", "pixbench.cli", "build", "mevis", "--mevis", str(folder / "mevis"),
                            "--version", VERSION, "--out", str(built), "--no-frames", "--force"])
    described = json.loads(described_path.read_text(encoding="utf-8"))
    return folder, described, build


def _score(folder: Path, protocol: str, workers: int, report: Path) -> shapes.Run:
    return shapes.measure([sys.executable, "-m", "pixbench.cli", "score", str(folder / "preds.jsonl"),
                           "--data", f"mevis={folder / 'MeViS'}", "--format", "json", "--protocol", protocol,
                           "--workers", str(workers), "--output", str(report)])


def _result(report: Path) -> dict[str, Any]:
    (result,) = json.loads(report.read_text(encoding="utf-8"))["results"]
    return dict(result)


def _describe(name: str, d: dict[str, Any]) -> str:
    return (f"{name}: {d['videos']} videos, {d['frames']} frames ({d['min_frames']}-{d['max_frames']}, mean "
            f"{d['frames'] / d['videos']:.1f}), {d['expressions']} expressions ({d['no_target']} no-target), "
            f"{d['expression_frames']:,} expression-frames")


def _row(step: str, run: shapes.Run, frames: int | None = None) -> str:
    per_frame = f"{run.wall / frames * 1e3:9.3f}" if frames else f"{'':9}"
    count = f"{frames:8,d}" if frames else f"{'':8}"
    return f"{step:46} {run.wall:8.1f} {run.cpu:7.1f} {run.peak_mb:8.0f} {run.tree_mb:8.0f} {count} {per_frame}"


def _median(runs: Sequence[shapes.Run]) -> shapes.Run:
    """The run of median wall time; the largest memory of them all."""
    ordered = sorted(runs, key=lambda r: r.wall)
    middle = ordered[(len(ordered) - 1) // 2]
    return shapes.Run(statistics.median(r.wall for r in runs), middle.cpu, max(r.peak_mb for r in runs),
                      max(r.tree_mb for r in runs))


def run_benchmark(args: argparse.Namespace, work: Path) -> int:
    """Every step, the table and the verdicts; 1 when a target is missed."""
    height, width = args.size
    print(f"work folder: {work}; frames {height} x {width}; {os.cpu_count()} CPUs, load average "
          f"{os.getloadavg()[0]:.2f}")
    sets = {"subset": subset_shape(args.subset_videos, args.subset_expressions)}
    if args.expressions:
        sets["full"] = full_shape(args.expressions)
    data: dict[str, tuple[Path, dict[str, Any]]] = {}
    rows: list[str] = []
    for name, shape in sets.items():
        folder, described, build = _prepare_data(work, name, shape, args)
        data[name] = (folder, described)
        print(_describe(name, described), flush=True)
        if build:
            rows.append(_row(f"{name}: pixbench build --no-frames", build))

    missed: list[str] = []
    pixbench_runs: list[tuple[str, shapes.Run]] = []
    subset, described = data["subset"]
    fast = _median([_score(subset, "official", 1, subset / "report.json") for _ in range(SUBSET_REPEATS)])
    rows.append(_row(f"subset: pixbench score (official; median of {SUBSET_REPEATS})", fast,
                     described["expression_frames"]))
    pixbench_runs.append(("subset", fast))
    print(f"subset: the plain evaluator ({described['expression_frames']:,} expression-frames) ...", flush=True)
    plain = shapes.measure([sys.executable, __file__, "--plain-run", str(subset / "mevis" / "valid_u"),
                            str(subset / "preds.jsonl"), str(subset / "plain.json")])
    plain_out = json.loads((subset / "plain.json").read_text(encoding="utf-8"))
    rows.append(_row("subset: plain full-frame evaluator", plain, described["expression_frames"]))
    speedup = plain.wall / fast.wall
    fast_metrics = _result(subset / "report.json")["metrics"]

    full_results: dict[tuple[str, int], dict[str, Any]] = {}
    official_ms: float | None = None
    mocentric_ms: float | None = None
    if "full" in data:
        folder, described = data["full"]
        moc_folder = args.mocentric / "full" if args.mocentric else None
        moc_runs: list[shapes.Run] = []
        for protocol in PROTOCOLS:
            for workers in args.workers:
                report = folder / f"report-{protocol}-w{workers}.json"
                runs = []
                for _ in range(args.repeats):
                    runs.append(_score(folder, protocol, workers, report))
                    if moc_folder is not None and protocol == "official" and workers == 1:  # same load
                        moc_runs.append(shapes.measure(shapes._score_command(moc_folder, "original", 1,
                                                                             folder / "report-mocentric.json")))
                run = _median(runs)
                result = _result(report)
                frames = int(result["analysis"]["protocol"]["frames"])
                rows.append(_row(f"full: pixbench score {protocol} --workers {workers}", run, frames))
                pixbench_runs.append((f"full {protocol} --workers {workers}", run))
                full_results[(protocol, workers)] = result
                if protocol == "official" and workers == 1:
                    official_ms = run.wall / frames * 1e3
        if moc_folder is not None and moc_runs:
            moc_frames = json.loads((moc_folder / "data.json").read_text(encoding="utf-8"))["expression_frames"]
            run = _median(moc_runs)
            rows.append(_row("MoCentric-Bench full original --workers 1", run, moc_frames["original"]))
            mocentric_ms = run.wall / moc_frames["original"] * 1e3

    print()
    print(f"{'step':46} {'wall s':>8} {'cpu s':>7} {'peak MB':>8} {'tree MB':>8} {'frames':>8} {'ms/frame':>9}")
    for row in rows:
        print(row)
    print()
    worst = 0.0
    parts = []
    for name, value in plain_out["metrics"].items():
        other = fast_metrics.get(name)
        difference = abs(value - other) if other is not None else float("inf")
        worst = max(worst, difference)
        parts.append(f"{name} {other if other is None else f'{other:.4f}'} | {value:.4f}")
    print("numbers on the subset (percent): pixbench score | plain evaluator\n  " + ", ".join(parts))
    if full_results:
        print("numbers on the full size (percent, pixbench score):")
        for protocol in PROTOCOLS:
            first = full_results[(protocol, args.workers[0])]
            stamp = first["analysis"]["protocol"]
            print(f"  {protocol:10} ({stamp['scored']} of {stamp['expressions']} expressions, {stamp['frames']:,} "
                  "expression-frames) " + ", ".join(f"{k} {v:.2f}" for k, v in first["metrics"].items()
                                                    if v is not None))
            if any(full_results[(protocol, w)]["metrics"] != first["metrics"] for w in args.workers):
                missed.append(f"full {protocol}: the numbers depend on --workers")
        plain_rate = plain.wall / data["subset"][1]["expression_frames"]
        full_frames = data["full"][1]["expression_frames"]
        estimate = plain_rate * full_frames
        print(f"  the plain evaluator would take ~{estimate:.0f} s (~{estimate / 60:.0f} min) on the full size at its "
              f"subset rate ({plain_rate * 1e3:.1f} ms/frame)")
    print(f"load average at the end {os.getloadavg()[0]:.2f} (a shared machine: other processes take CPUs)")
    print()
    speed_ok = speedup >= TARGET_SPEEDUP
    print(f"speedup over the plain evaluator on the subset, one process each: {speedup:.1f}x (target >= "
          f"{TARGET_SPEEDUP:.0f}x): " + ("ok" if speed_ok else "MISSED"))
    heaviest = max(pixbench_runs, key=lambda item: max(item[1].peak_mb, item[1].tree_mb))
    memory_ok = all(max(r.peak_mb, r.tree_mb) < TARGET_MB for _, r in pixbench_runs)
    print(f"peak memory of pixbench score: at most {max(heaviest[1].peak_mb, heaviest[1].tree_mb):.0f} MB "
          f"({heaviest[0]}) (target < {TARGET_MB:.0f} MB): " + ("ok" if memory_ok else "MISSED"))
    same_ok = worst <= TOLERANCE_PP and not any("depend on --workers" in m for m in missed)
    print(f"identical numbers: largest difference {worst:.2e} percentage points (target <= {TOLERANCE_PP:g}): "
          + ("ok" if same_ok else "MISSED"))
    if official_ms is not None:
        if mocentric_ms is None:
            print(f"per expression-frame, full size, official, --workers 1: {official_ms:.3f} ms (--mocentric DIR "
                  "times MoCentric-Bench's beside it)")
        else:
            rate_ok = official_ms <= mocentric_ms * RATE_SLACK
            print(f"per expression-frame, full size, official, --workers 1: {official_ms:.3f} ms; MoCentric-Bench's "
                  f"original {mocentric_ms:.3f} ms (target: at most that, +{RATE_SLACK - 1:.0%} for noise): "
                  + ("ok" if rate_ok else "MISSED"))
            if not rate_ok:
                missed.append("per expression-frame time")
    if not speed_ok:
        missed.append("speedup")
    if not memory_ok:
        missed.append("memory")
    if worst > TOLERANCE_PP:
        missed.append("numbers differ from the plain evaluator")
    if missed:
        print("MISSED: " + "; ".join(dict.fromkeys(missed)))
    return 1 if missed else 0


def _size(text: str) -> tuple[int, int]:
    height, _, width = text.lower().partition("x")
    return int(height), int(width)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it (data made earlier with the "
                        "same options is reused)")
    parser.add_argument("--expressions", type=int, default=907,
                        help="expressions of the full size (default 907, MeViS v2 valid_u; 0: subset only)")
    parser.add_argument("--subset-videos", type=int, default=3, help="videos of the subset (default 3)")
    parser.add_argument("--subset-expressions", type=int, default=48,
                        help="expressions of the subset (default 48: valid_u has ~18 per video)")
    parser.add_argument("--workers", type=shapes._workers, default=[1],
                        help="--workers values of the full-size runs (default 1)")
    parser.add_argument("--repeats", type=int, default=1, help="runs of each full-size score (median; default 1)")
    parser.add_argument("--mocentric", type=Path, metavar="DIR",
                        help="a folder `perf/bench_mocentric.py --keep DIR` filled (full size included): score its "
                             "original probe beside MeViS's official runs and judge the per expression-frame time")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--size", type=_size, default=(720, 1280),
                        help="frame size HxW (default 720x1280; smaller only for a quick try)")
    parser.add_argument("--prepare", type=Path, help=argparse.SUPPRESS)  # child: write one data set
    parser.add_argument("--shape", help=argparse.SUPPRESS)
    parser.add_argument("--plain-run", nargs=3, metavar=("SPLIT_DIR", "PREDS", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.prepare:
        return prepare(args.prepare, Shape(**json.loads(args.shape)), args.seed, *args.size)
    if args.plain_run:
        split_dir, preds, out = args.plain_run
        return plain_run(Path(split_dir), Path(preds), Path(out))
    if args.subset_videos < 1 or args.subset_expressions < 2 * args.subset_videos:
        parser.error("expected --subset-expressions >= 2 x --subset-videos >= 2")
    if args.expressions and args.expressions < 2:
        parser.error("expected --expressions 0 (none) or at least 2")
    if args.repeats < 1:
        parser.error("expected --repeats >= 1")
    if args.mocentric and not (args.mocentric / "full" / "data.json").is_file():
        parser.error(f"--mocentric {args.mocentric}: no full/data.json (run perf/bench_mocentric.py --keep DIR with "
                     "its full size first)")

    work = args.keep or Path(tempfile.mkdtemp(prefix="pixbench-bench-mevis-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        return run_benchmark(args, work)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
