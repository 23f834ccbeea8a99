"""MoCentric-Bench scoring at MeViS size: ``pixbench score`` against a plain full-frame implementation.

What it builds (its own generator, in the files and layout of MeViS ``valid_u``; no JPEG frames, the build
is ``--no-frames``): videos of 720 x 1280 frames with 2-5 objects each (ellipses and rounded boxes with a
wavy outline, each 5-20 % of the frame) moving across the frames and sometimes leaving for a while;
expressions naming 1-3 objects; a keyframe per expression; some reversed expressions. Two profiles:

- ``subset``: a few videos (default 3 videos, 25-48 frames, 16 expressions), for the comparison with the
  plain implementation, which needs minutes on the pair canvas;
- ``full``: MeViS ``valid_u``'s shape: 50 videos of 25-216 frames (mean ~69), 793 expressions, 152 of
  them reversed (about 55,000 expression-frames per probe).

Predictions are perturbed ground truth, written with ``write_predictions``, one file per probe:
``original`` (720 x 1280) and ``static-pair`` in the ``target-left`` layout (720 x 2560: the target
frame left, the keyframe right). Each object is redrawn shifted by a few pixels, rescaled by ~2 % and with
another wavy outline; in multi-object expressions an object is sometimes missed for a while; some
expressions follow a wrong object; some frames are empty (``null`` or an empty RLE); small spurious blobs
appear now and then, and on the pair canvas some expressions also segment the distractor (their objects as
they are in the keyframe, in the right half).

The plain implementation (``--plain-run``, in this file, independent of ``pixbench.metrics.video``) is the
published evaluator's algorithm: it reads ``mask_dict.json``, ``meta_expressions.json`` and the
predictions file, decodes every ground truth and prediction to a full frame (pycocotools), takes DAVIS'
``seg2bmap`` of the whole canvas and dilates the whole boundary maps by the disk of radius
``ceil(0.008 * diagonal)`` (a summed-area table: one box count per distinct half-width of the disk), and
reduces J, F (and F_native, D_FPR on pair canvases) to per-expression and benchmark means as mocentric.md
section 5 says. Every frame is computed; nothing is skipped or cropped.

Every measured step is its own process; the measuring process imports only the standard library (on Linux
a child starts with its parent's peak RSS). Steps: building each data set (``pixbench build mocentric
--no-frames``), then on the subset ``pixbench score`` and the plain implementation per probe (one process
each), then on the full size ``pixbench score`` per probe with ``--workers 1`` and ``2``.

    python perf/bench_mocentric.py                  # subset comparison + full size (~10 min, 2 cores)
    python perf/bench_mocentric.py --no-full        # subset comparison only (~3 min)
    python perf/bench_mocentric.py --keep DIR       # keep (and reuse) the generated data in DIR
    python perf/bench_mocentric.py --subset-videos 5 --subset-expressions 40   # a bigger comparison
    python perf/bench_mocentric.py --no-full --size 180x320   # a quick try of the machinery (no verdict)

The table: ``wall s`` the whole process (start-up, reading the data and the predictions, scoring, writing the
report); ``cpu s`` its user + system time (workers included: above ``wall s`` when they run in parallel);
``peak MB`` its peak RSS from ``wait4`` (with workers: the largest single process);
``tree MB`` the peak of the summed PSS of the process and its children, sampled every 50 ms (what the
workers take together); ``frames`` the expression-frames scored and ``ms/frame`` the wall time over them.
Numbers: J, F, JF (and F_native, JF_native, D_FPR for ``static-pair``) in percent from both
implementations, and the largest difference (``pixbench score --format json`` rounds to 6 decimals, so
differences of ~5e-7 are that rounding).

Targets (mocentric.md section 6), each a verdict; the script exits 1 if one is missed:
- speedup: the plain implementation's wall time over ``pixbench score``'s on the subset, one process
  each, >= 10x for both probes (whole processes: pixbench's ~1 s of start-up and reading counts, which
  makes the subset's ratio lower than the scoring rates' ratio);
- memory: every ``pixbench score`` run (subset and full, every ``--workers``) under 2 GB (both columns);
- identical numbers: ``pixbench score`` and the plain implementation agree to 1e-4 percentage points on
  every metric, and the full-size numbers do not depend on ``--workers``.
The full-size time is reported (and the plain implementation's time on it extrapolated from its rate on
the subset), not judged.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, cast

TARGET_SPEEDUP = 10.0
TARGET_MB = 2048.0
TOLERANCE_PP = 1e-4
#: Bump when the generator changes: ``--keep`` regenerates data made by another version.
GENERATOR_VERSION = 1
PROBES: tuple[tuple[str, str | None], ...] = (("original", None), ("static-pair", "target-left"))
MODEL = "perturbed-gt"


@dataclass(frozen=True)
class Profile:
    """The shape of a generated data set: counts, frame counts per video (min, max, mean)."""

    videos: int
    expressions: int
    reversed: int
    min_frames: int
    max_frames: int
    mean_frames: float


FULL = Profile(videos=50, expressions=793, reversed=152, min_frames=25, max_frames=216, mean_frames=69.0)


def subset_profile(videos: int, expressions: int) -> Profile:
    return Profile(videos=videos, expressions=expressions, reversed=max(1, expressions // 5), min_frames=25,
                   max_frames=48, mean_frames=36.0)


# ------------------------------------------------------------------------------------------ data (child process)


def _frame_counts(rng: Any, profile: Profile) -> list[int]:
    """Frame counts between the profile's bounds (both reached when there are two videos or more), mean ~its."""
    import numpy as np

    n = profile.videos
    counts = np.clip(rng.lognormal(np.log(profile.mean_frames * 0.9), 0.45, size=n),
                     profile.min_frames, profile.max_frames)
    if n >= 2:
        ends = rng.choice(n, size=2, replace=False)
        counts[ends[0]], counts[ends[1]] = profile.min_frames, profile.max_frames
        free = np.ones(n, dtype=bool)
        free[ends] = False
        for _ in range(20):  # rescale the others towards the mean, the bounds kept
            want = profile.mean_frames * n - counts[~free].sum()
            counts[free] = np.clip(counts[free] * want / counts[free].sum(), profile.min_frames, profile.max_frames)
    return [round(float(c)) for c in counts]


def _bounce(position: Any, low: float, high: float) -> Any:
    """``position`` reflected into ``[low, high]`` (a triangle wave)."""
    import numpy as np

    span = max(high - low, 1e-6)
    q = np.mod(position - low, 2 * span)
    return low + np.where(q < span, q, 2 * span - q)


def _make_object(rng: Any, frames: int, height: int, width: int, area: tuple[float, float]) -> dict[str, Any]:
    """An ellipse or rounded box of ``area`` (fractions of the frame) moving across the frames."""
    import numpy as np

    box = bool(rng.random() < 0.35)
    fraction = rng.uniform(*area)
    aspect = rng.uniform(0.6, 1.6)  # b / a
    a = float(np.sqrt(fraction * height * width / ((4.0 if box else np.pi) * aspect)))
    b = aspect * a
    a, b = min(a, 0.45 * width), min(b, 0.45 * height)
    travel = rng.uniform(0.15, 0.6) * width * rng.choice([-1.0, 1.0])
    present = np.ones(frames, dtype=bool)
    if rng.random() < 0.3:  # leaves (or has not come yet) for a while
        gap = int(rng.integers(3, max(4, frames // 3)))
        where = rng.integers(0, 3)
        start = 0 if where == 0 else frames - gap if where == 1 else int(rng.integers(1, max(2, frames - gap)))
        present[start:start + gap] = False
    return {"box": box, "a": a, "b": b, "x0": rng.uniform(0, width), "y0": rng.uniform(0.25, 0.75) * height,
            "vx": travel / frames, "vy": rng.uniform(-0.15, 0.15) * height / frames,
            "xmin": 0.35 * a, "xmax": width - 0.35 * a, "ymin": 0.5 * b, "ymax": height - 0.5 * b,
            "ax": rng.uniform(0, 0.02) * width, "wx": rng.uniform(0.05, 0.3), "px": rng.uniform(0, 6.3),
            "grow": rng.uniform(0, 0.1), "wg": rng.uniform(0.02, 0.1),
            "amp": rng.uniform(0.02, 0.07), "fw": 2 * np.pi / rng.uniform(40, 160), "sw": rng.uniform(0.05, 0.3),
            "present": present}


def _shape(obj: dict[str, Any], out_frames: Any, times: Any, *, height: int, width: int, dx: Any = 0.0,
           dy: Any = 0.0, scale: Any = 1.0, phase: float = 0.0, amp: float | None = None,
           column: int = 0) -> tuple[Any, ...]:
    """Column pieces ``(frame, column, first row, end row)`` of the object at ``times`` drawn into frames
    ``out_frames`` (a ``height x width`` frame placed at ``column`` of the canvas)."""
    import numpy as np

    t = np.asarray(times, dtype=np.float64)
    n = t.size
    if n == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty, empty
    cx = _bounce(obj["x0"] + obj["vx"] * t, obj["xmin"], obj["xmax"]) + obj["ax"] * np.sin(obj["wx"] * t + obj["px"])
    cy = _bounce(obj["y0"] + obj["vy"] * t, obj["ymin"], obj["ymax"])
    size = (1 + obj["grow"] * np.sin(obj["wg"] * t)) * scale
    cx, cy = cx + dx, cy + dy
    a, b = obj["a"] * size, obj["b"] * size
    x = np.arange(width, dtype=np.float64) + 0.5
    u = np.abs(x[None, :] - np.broadcast_to(cx, (n,))[:, None]) / np.broadcast_to(a, (n,))[:, None]
    inside = u < 1
    u = np.minimum(u, 1.0)
    profile = (np.where(u < 0.85, 1.0, np.sqrt(np.clip(1 - ((u - 0.85) / 0.15) ** 2, 0, 1))) if obj["box"]
               else np.sqrt(1 - u * u))
    wave = 1 + (obj["amp"] if amp is None else amp) * np.sin(obj["fw"] * x[None, :] + phase + obj["sw"] * t[:, None])
    half = np.broadcast_to(b, (n,))[:, None] * profile * wave
    centre = np.broadcast_to(cy, (n,))[:, None]
    lo = np.clip(np.ceil(centre - half - 0.5), 0, height).astype(np.int64)
    hi = np.clip(np.floor(centre + half - 0.5) + 1, 0, height).astype(np.int64)
    rows, cols = np.nonzero(inside & (hi > lo))
    return (np.asarray(out_frames, dtype=np.int64)[rows], cols.astype(np.int64) + column, lo[rows, cols],
            hi[rows, cols])


def _rles(pieces: Sequence[tuple[Any, ...]], frames: int, height: int, width: int) -> list[dict[str, Any]]:
    """One COCO compressed RLE per frame: the union of the column pieces ``(frame, column, lo, hi)``."""
    import numpy as np
    from pycocotools import mask as coco

    t, col, lo, hi = (np.concatenate([p[k] for p in pieces]) if pieces else np.zeros(0, dtype=np.int64)
                      for k in range(4))
    pixels = height * width
    stride = pixels + 1  # a gap between frames: a run never crosses one
    keep = hi > lo
    base = t[keep] * stride + col[keep] * height
    keys = np.concatenate((base + lo[keep], base + hi[keep]))
    delta = np.concatenate((np.ones(base.size, dtype=np.int64), -np.ones(base.size, dtype=np.int64)))
    order = np.lexsort((-delta, keys))  # by key, openings first: touching pieces merge
    keys, delta = keys[order], delta[order]
    cover = np.cumsum(delta)
    starts, ends = keys[(delta == 1) & (cover == 1)], keys[(delta == -1) & (cover == 0)]
    bounds = np.searchsorted(starts // stride, np.arange(frames + 1))
    objects = []
    for f in range(frames):
        edges = np.empty(2 * (bounds[f + 1] - bounds[f]) + 2, dtype=np.int64)
        edges[0], edges[-1] = 0, pixels
        edges[1:-1:2] = starts[bounds[f]:bounds[f + 1]] - f * stride
        edges[2:-1:2] = ends[bounds[f]:bounds[f + 1]] - f * stride
        runs = np.diff(edges)
        if runs.size > 1 and runs[-1] == 0:
            runs = runs[:-1]
        objects.append({"size": [height, width], "counts": runs.tolist()})
    return [{"size": [height, width], "counts": r["counts"].decode("ascii")}
            for r in coco.frPyObjects(objects, height, width)]


def write_mevis(root: Path, profile: Profile, seed: int, height: int, width: int) -> dict[str, Any]:
    """MeViS-shaped raw inputs under ``root``; returns the plan the predictions are drawn from."""
    import numpy as np

    from pixbench.benchmarks.mocentric.synthetic import (
        KEYFRAMES_FILE,
        MASK_FILE,
        META_FILE,
        REVERSED_FILE,
        SPLIT,
        frame_name,
        write_keyframes_csv,
        write_meta_json,
    )

    rng = np.random.default_rng([seed, 1])
    counts = _frame_counts(rng, profile)
    per_video = 1 + rng.multinomial(profile.expressions - profile.videos, np.ones(profile.videos) / profile.videos)
    reversed_picks = set(rng.choice(profile.expressions, size=min(profile.reversed, profile.expressions),
                                    replace=False).tolist())
    ids: list[str] = []
    while len(ids) < profile.videos:
        candidate = bytes(rng.integers(0, 256, size=6, dtype=np.uint8).tolist()).hex()
        if candidate not in ids:
            ids.append(candidate)
    meta: dict[str, Any] = {}
    reversed_meta: dict[str, Any] = {}
    mask_dict: dict[str, Any] = {}
    keyframe_rows: list[tuple[str, str, int]] = []
    plan: list[dict[str, Any]] = []
    anno = 0
    number = 0
    for vid_id, (video_id, frames, n_exp) in enumerate(zip(ids, counts, per_video.tolist())):
        objects = [_make_object(rng, frames, height, width, (0.05, 0.20)) for _ in range(int(rng.integers(2, 6)))]
        annos = list(range(anno, anno + len(objects)))
        anno += len(objects)
        every = np.arange(frames)
        for obj, a in zip(objects, annos):
            masks = _rles([_shape(obj, every, every, height=height, width=width)], frames, height, width)
            mask_dict[str(a)] = [m if obj["present"][t] else None for t, m in enumerate(masks)]
        names = [frame_name(t) for t in range(frames)]
        expressions: dict[str, Any] = {}
        reversed_expressions: dict[str, Any] = {}
        video_plan: list[dict[str, Any]] = []
        for exp_id in range(n_exp):
            k = min(len(objects), int(rng.choice([1, 2, 3], p=[0.6, 0.3, 0.1])))
            objs = sorted(rng.choice(len(objects), size=k, replace=False).tolist())
            entry = {"exp": f"object(s) {objs} moving", "obj_id": objs, "anno_id": [annos[o] for o in objs]}
            expressions[str(exp_id)] = entry
            if number in reversed_picks:
                reversed_expressions[str(exp_id)] = {**entry, "exp": f"object(s) {objs} moving backwards"}
            keyframe = int(rng.integers(0, frames))
            keyframe_rows.append((video_id, names[keyframe], exp_id))
            video_plan.append({"exp_id": exp_id, "objects": objs, "keyframe": keyframe})
            number += 1
        meta[video_id] = {"vid_id": vid_id, "frames": names, "expressions": expressions}
        reversed_meta[video_id] = {"vid_id": vid_id, "frames": names, "expressions": reversed_expressions}
        plan.append({"video_id": video_id, "frames": frames, "objects": objects, "expressions": video_plan})
    split_dir = root / SPLIT
    write_meta_json(split_dir / META_FILE, meta)
    (split_dir / MASK_FILE).write_text(json.dumps(mask_dict), encoding="utf-8")
    write_meta_json(split_dir / REVERSED_FILE, reversed_meta)
    write_keyframes_csv(root / KEYFRAMES_FILE, keyframe_rows, SPLIT)
    return {"videos": plan, "height": height, "width": width,
            "reversed": sum(len(v["expressions"]) for v in reversed_meta.values())}


def _predict(rng: Any, video: dict[str, Any], expression: dict[str, Any], height: int, width: int,
             pair: bool) -> list[dict[str, Any] | None]:
    """Perturbed ground truth of one expression, one mask per presented frame (``target-left`` for pairs)."""
    import numpy as np

    frames = video["frames"]
    objects = video["objects"]
    every = np.arange(frames)
    chosen = list(expression["objects"])
    if rng.random() < 0.08 and len(objects) > len(chosen):  # follows a wrong object
        others = [o for o in range(len(objects)) if o not in chosen]
        chosen[int(rng.integers(len(chosen)))] = int(rng.choice(others))
    missed = int(rng.integers(len(chosen))) if len(chosen) >= 2 and rng.random() < 0.3 else -1
    base = rng.integers(-4, 5, size=2)
    pieces = []
    for index, o in enumerate(chosen):
        obj = objects[o]
        present = obj["present"].copy()
        if rng.random() < 0.15:  # found late or kept a little after it left
            present = np.roll(present, int(rng.integers(-3, 4)))
        if index == missed:
            start = int(rng.integers(0, frames))
            present[start:start + int(rng.integers(frames // 4, frames + 1))] = False
        dx = base[0] + rng.integers(-3, 4, size=frames)
        dy = base[1] + rng.integers(-3, 4, size=frames)
        scale = 1 + rng.normal(0, 0.02, size=frames)
        phase, amp = rng.uniform(0, 2 * np.pi), obj["amp"] * rng.uniform(0.5, 1.5)
        shown = every[present]
        pieces.append(_shape(obj, shown, shown, height=height, width=width, dx=dx[present], dy=dy[present],
                             scale=scale[present], phase=phase, amp=amp))
    blank = rng.random(frames) < 0.04  # frames where the model answers nothing for the target
    pieces = [tuple(p[k][~blank[p[0]]] for k in range(4)) for p in pieces]
    column = width if pair else 0
    blob_frames = every[rng.random(frames) < (0.05 if pair else 0.1)]
    if blob_frames.size:
        blob = _make_object(rng, frames, height, width, (0.005, 0.03))
        pieces.append(_shape(blob, blob_frames, blob_frames, height=height, width=width, column=column))
    if pair and rng.random() < 0.35:  # segments the distractor: the objects as they are in the keyframe
        keyframe = expression["keyframe"]
        for o in expression["objects"]:
            if objects[o]["present"][keyframe]:
                shown = every[rng.random(frames) < 0.6]
                pieces.append(_shape(objects[o], shown, np.full(shown.size, keyframe), height=height, width=width,
                                     dx=rng.integers(-3, 4, size=shown.size), column=width))
    canvas_width = 2 * width if pair else width
    masks: list[dict[str, Any] | None] = list(_rles(pieces, frames, height, canvas_width))
    nothing = _rles([], 1, height, canvas_width)[0]["counts"]
    for t, mask in enumerate(masks):  # an empty answer is written as null or as an empty RLE
        if mask is not None and mask["counts"] == nothing and rng.random() < 0.5:
            masks[t] = None
    return masks


def write_predictions_files(folder: Path, plan: dict[str, Any], seed: int) -> dict[str, int]:
    """``preds-<probe>.jsonl`` for every probe of :data:`PROBES`; returns the expression-frames per probe."""
    import numpy as np

    from pixbench.annotation.rle import Rle
    from pixbench.predictions import Prediction, write_predictions

    height, width = plan["height"], plan["width"]
    frames: dict[str, int] = {}
    for number, (probe, layout) in enumerate(PROBES):
        pair = layout is not None

        def lines(number: int = number, probe: str = probe, layout: str | None = layout,
                  pair: bool = pair) -> Iterator[Prediction]:
            for v, video in enumerate(plan["videos"]):
                for expression in video["expressions"]:
                    rng = np.random.default_rng([seed, 2, number, v, expression["exp_id"]])
                    masks = _predict(rng, video, expression, height, width, pair)
                    yield Prediction(benchmark="mocentric", id=f"{video['video_id']}_{expression['exp_id']}",
                                     probe=probe, layout=layout, model=MODEL,
                                     frames=tuple(cast("list[Rle | None]", masks)))

        write_predictions(folder / f"preds-{probe}.jsonl", lines())
        frames[probe] = sum(v["frames"] * len(v["expressions"]) for v in plan["videos"])
    return frames


def prepare(folder: Path, profile: Profile, seed: int, height: int, width: int) -> int:
    """Child process: raw MeViS inputs under ``folder/mevis`` and the predictions files; ``data.json``
    describes them (written last: its presence means the data is complete)."""
    folder.mkdir(parents=True, exist_ok=True)
    plan = write_mevis(folder / "mevis", profile, seed, height, width)
    frames = write_predictions_files(folder, plan, seed)
    counts = [v["frames"] for v in plan["videos"]]
    described = {"key": _data_key(profile, seed, height, width), "videos": len(counts), "frames": sum(counts),
                 "min_frames": min(counts), "max_frames": max(counts),
                 "expressions": sum(len(v["expressions"]) for v in plan["videos"]),
                 "expression_frames": frames, "reversed": plan["reversed"]}
    (folder / "data.json").write_text(json.dumps(described, indent=2) + "\n", encoding="utf-8")
    return 0


def _data_key(profile: Profile, seed: int, height: int, width: int) -> dict[str, Any]:
    return {"profile": asdict(profile), "seed": seed, "size": [height, width], "generator": GENERATOR_VERSION}


# ------------------------------------------------------------------------------------------ the plain implementation


def _seg2bmap(seg: Any) -> Any:
    """DAVIS' boundary map of a boolean mask (mocentric.md section 5)."""
    import numpy as np

    e = np.zeros_like(seg)
    so = np.zeros_like(seg)
    se = np.zeros_like(seg)
    e[:, :-1] = seg[:, 1:]
    so[:-1, :] = seg[1:, :]
    se[:-1, :-1] = seg[1:, 1:]
    b = (seg ^ e) | (seg ^ so) | (seg ^ se)
    b[-1, :] = seg[-1, :] ^ e[-1, :]
    b[:, -1] = seg[:, -1] ^ so[:, -1]
    b[-1, -1] = False
    return b


def _disk_rectangles(radius: int) -> list[tuple[int, int]]:
    """The disk ``x^2 + y^2 <= r^2`` as a union of centred rectangles ``(half-height d, half-width w)``: one per
    distinct half-width, the tallest with it (the half-width never grows with |y|, so the union is the disk)."""
    import math

    widths = [math.isqrt(radius * radius - d * d) for d in range(radius + 1)]
    return [(d, w) for d, w in enumerate(widths) if d == radius or widths[d + 1] < w]


def _dilate(b: Any, radius: int) -> Any:
    """``b`` dilated by the disk over the whole frame: a summed-area table, one box count per rectangle."""
    import numpy as np

    h, w = b.shape
    r = radius
    table = np.zeros((h + 2 * r + 1, w + 2 * r + 1), dtype=np.int32)
    table[r + 1:r + 1 + h, r + 1:r + 1 + w] = b
    np.cumsum(table, axis=0, out=table)
    np.cumsum(table, axis=1, out=table)
    out = np.zeros((h, w), dtype=bool)
    count = np.empty((h, w), dtype=np.int32)
    for d, hw in _disk_rectangles(r):
        below, above = slice(r + d + 1, r + d + 1 + h), slice(r - d, r - d + h)
        right, left = slice(r + hw + 1, r + hw + 1 + w), slice(r - hw, r - hw + w)
        np.subtract(table[below, right], table[above, right], out=count)
        count -= table[below, left]
        count += table[above, left]
        out |= count > 0
    return out


def _f_measure(pred: Any, gt: Any) -> float:
    """DAVIS' ``f_measure`` on whole frames (``bound_th = 0.008``)."""
    import numpy as np

    radius = int(np.ceil(0.008 * np.linalg.norm(pred.shape)))
    pred_boundary, gt_boundary = _seg2bmap(pred), _seg2bmap(gt)
    pred_dilated, gt_dilated = _dilate(pred_boundary, radius), _dilate(gt_boundary, radius)
    n_pred, n_gt = int(np.count_nonzero(pred_boundary)), int(np.count_nonzero(gt_boundary))
    if n_pred == 0 and n_gt > 0:
        precision, recall = 1.0, 0.0
    elif n_pred > 0 and n_gt == 0:
        precision, recall = 0.0, 1.0
    elif n_pred == 0 and n_gt == 0:
        precision, recall = 1.0, 1.0
    else:
        precision = np.count_nonzero(pred_boundary & gt_dilated) / float(n_pred)
        recall = np.count_nonzero(gt_boundary & pred_dilated) / float(n_gt)
    return 0.0 if precision + recall == 0 else float(2 * precision * recall / (precision + recall))


def _halves(layout: str | None, height: int, width: int) -> tuple[tuple[int, int], Any, Any]:
    """Canvas size and the target and other halves' slices of a pair layout."""
    whole = slice(None)
    if layout == "target-left":
        return (height, 2 * width), (whole, slice(0, width)), (whole, slice(width, 2 * width))
    if layout == "target-right":
        return (height, 2 * width), (whole, slice(width, 2 * width)), (whole, slice(0, width))
    if layout == "target-bottom":
        return (2 * height, width), (slice(height, 2 * height), whole), (slice(0, height), whole)
    raise SystemExit(f"the plain implementation scores original and static-pair/reversed layouts, not {layout!r}")


def plain_run(split_dir: Path, preds_path: Path, probe: str, out: Path) -> int:
    """Child process: score ``probe``'s lines of ``preds_path`` the plain way; the metrics go to ``out``."""
    import numpy as np
    from pycocotools import mask as coco

    if probe not in ("original", "static-pair"):
        raise SystemExit(f"the plain implementation scores original and static-pair, not {probe!r}")
    meta = json.loads((split_dir / "meta_expressions.json").read_text(encoding="utf-8"))["videos"]
    mask_dict = json.loads((split_dir / "mask_dict.json").read_text(encoding="utf-8"))
    lines: dict[str, list[Any]] = {}
    layouts = set()
    with open(preds_path, encoding="utf-8") as handle:
        for text in handle:
            line = json.loads(text)
            if line["benchmark"] == "mocentric" and line["probe"] == probe:
                lines[line["id"]] = line["masks"]
                layouts.add(line.get("layout"))
    if len(layouts) > 1:
        raise SystemExit(f"one layout per run, but the file has {sorted(map(str, layouts))}")
    layout = layouts.pop() if layouts else None
    per_expression: dict[str, list[float]] = {"J": [], "F": [], "F_native": [], "D_FPR": []}
    frames_scored = 0
    for video_id, video in meta.items():
        count = len(video["frames"])
        for exp_id, expression in video["expressions"].items():
            masks = lines.get(f"{video_id}_{exp_id}")
            if masks is None:  # a missing expression: J = F = F_native = 0, D_FPR = 1
                for name, value in (("J", 0.0), ("F", 0.0), ("F_native", 0.0), ("D_FPR", 1.0)):
                    per_expression[name].append(value)
                continue
            j, f, f_native, d_fpr = [], [], [], []
            for t in range(count):
                entries = [mask_dict[str(a)][t] for a in expression["anno_id"]]
                size = next((e["size"] for e in entries if e is not None),
                            None) or next(e["size"] for a in expression["anno_id"] for e in mask_dict[str(a)] if e)
                height, width = size
                gt = np.zeros((height, width), dtype=bool)
                for entry in entries:
                    if entry is not None:
                        gt |= coco.decode(entry).astype(bool)
                if probe == "static-pair":
                    canvas, target, other = _halves(layout, height, width)
                    placed = np.zeros(canvas, dtype=bool)
                    placed[target] = gt
                    gt = placed
                pred = (np.zeros(gt.shape, dtype=bool) if masks[t] is None
                        else coco.decode(masks[t]).astype(bool))
                union = np.count_nonzero(pred | gt)
                j.append(1.0 if union == 0 else np.count_nonzero(pred & gt) / union)
                f.append(_f_measure(pred, gt))
                if probe == "static-pair":
                    f_native.append(_f_measure(pred[target], gt[target]))
                    d_fpr.append(np.count_nonzero(pred[other]) / pred[other].size)
                frames_scored += 1
            per_expression["J"].append(float(np.mean(j)))
            per_expression["F"].append(float(np.mean(f)))
            if probe == "static-pair":
                per_expression["F_native"].append(float(np.mean(f_native)))
                per_expression["D_FPR"].append(float(np.mean(d_fpr)))
    metric = {name: float(np.mean(values) * 100.0) for name, values in per_expression.items() if values}
    if probe != "static-pair":
        metric.pop("F_native", None)
        metric.pop("D_FPR", None)
    metrics = {"J": metric["J"], "F": metric["F"], "JF": (metric["J"] + metric["F"]) / 2}
    if probe == "static-pair":
        metrics.update(F_native=metric["F_native"], JF_native=(metric["J"] + metric["F_native"]) / 2,
                       D_FPR=metric["D_FPR"])
    out.write_text(json.dumps({"metrics": metrics, "expressions": len(per_expression["J"]),
                               "frames": frames_scored}), encoding="utf-8")
    return 0


# ------------------------------------------------------------------------------------------ measuring (stdlib only)


def _children(pids: set[int]) -> set[int]:
    """``pids`` and every process below them (one scan of /proc)."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as handle:
                    stat = handle.read()
                parents[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
    tree = set(pids)
    grown = True
    while grown:
        grown = False
        for pid, parent in parents.items():
            if parent in tree and pid not in tree:
                tree.add(pid)
                grown = True
    return tree


def _pss_kb(pid: int) -> int:
    """Proportional set size of a process (shared pages split among their users); RSS if unavailable."""
    for path, field in ((f"/proc/{pid}/smaps_rollup", "Pss:"), (f"/proc/{pid}/status", "VmRSS:")):
        try:
            with open(path, encoding="ascii", errors="replace") as handle:
                for text in handle:
                    if text.startswith(field):
                        return int(text.split()[1])
        except (OSError, ValueError):
            continue
    return 0


@dataclass(frozen=True)
class Run:
    wall: float
    cpu: float
    peak_mb: float
    tree_mb: float


def measure(command: list[str], *, stdout: Path | None = None) -> Run:
    """Run a command; its wall time, CPU time and peak RSS (``wait4``: the process and the children it
    waited for) and the peak summed PSS of its process tree (sampled)."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    with tempfile.TemporaryFile() as err, (open(stdout, "wb") if stdout else open(os.devnull, "wb")) as out:
        start = time.perf_counter()
        process = subprocess.Popen(command, env=env, stdout=out, stderr=err)
        tree_kb = 0
        tick = 0
        pids = {process.pid}
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            tick += 1
            if tick % 4 == 1:  # workers come and go: rescan every 0.2 s
                pids = _children({process.pid})
            tree_kb = max(tree_kb, sum(_pss_kb(p) for p in pids))
            time.sleep(0.05)
        wall = time.perf_counter() - start
        err.seek(0)
        message = err.read().decode("utf-8", errors="replace")
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: {' '.join(command)}\n{message[-4000:]}")
    return Run(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, tree_kb / 1024)


def _prepare_data(work: Path, name: str, profile: Profile, args: argparse.Namespace) -> tuple[Path, dict[str, Any],
                                                                                               Run | None]:
    """Generate (child process) and build (measured) one data set, or reuse it from ``--keep``."""
    folder = work / name
    key = _data_key(profile, args.seed, *args.size)
    described_path, built = folder / "data.json", folder / "MoCentric-Bench"
    if described_path.exists() and (built / "build_summary.json").exists():
        described = json.loads(described_path.read_text(encoding="utf-8"))
        if described.get("key") == json.loads(json.dumps(key)):
            print(f"{name}: reusing {folder}")
            return folder, described, None
    described_path.unlink(missing_ok=True)
    start = time.perf_counter()
    subprocess.run([sys.executable, __file__, "--prepare", str(folder), "--profile", json.dumps(asdict(profile)),
                    "--seed", str(args.seed), "--size", f"{args.size[0]}x{args.size[1]}"], check=True)
    print(f"{name}: generated inputs and predictions in {time.perf_counter() - start:.1f} s")
    mevis = folder / "mevis"
    build = measure([sys.executable, "-m", "pixbench.cli", "build", "mocentric", "--mevis", str(mevis),
                     "--keyframes", str(mevis / "mevis_keyframes.csv"), "--reverse-expressions",
                     str(mevis / "valid_u" / "meta_expressions_reverse_filtered.json"), "--out", str(built),
                     "--no-frames", "--force"])
    described = json.loads(described_path.read_text(encoding="utf-8"))
    return folder, described, build


def _score_command(folder: Path, probe: str, workers: int, report: Path) -> list[str]:
    return [sys.executable, "-m", "pixbench.cli", "score", str(folder / f"preds-{probe}.jsonl"), "--no-judge",
            "--data", f"mocentric={folder / 'MoCentric-Bench'}", "--format", "json", "--workers", str(workers),
            "--output", str(report)]


def _metrics(report: Path, probe: str) -> dict[str, float]:
    results = json.loads(report.read_text(encoding="utf-8"))["results"]
    (result,) = [r for r in results if r["benchmark"] == "mocentric" and r["probe"] == probe]
    return dict(result["metrics"])


def _size(text: str) -> tuple[int, int]:
    height, _, width = text.lower().partition("x")
    return int(height), int(width)


def _workers(text: str) -> list[int]:
    values = [int(v) for v in text.split(",") if v.strip()]
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"expected a comma-separated list of positive ints, but got {text!r}")
    return values


def _describe(name: str, described: dict[str, Any]) -> str:
    frames = described["frames"]
    return (f"{name}: {described['videos']} videos, {frames} frames ({described['min_frames']}-"
            f"{described['max_frames']}, mean {frames / described['videos']:.1f}), {described['expressions']} "
            f"expressions ({described['reversed']} reversed), "
            f"{described['expression_frames']['original']:,} expression-frames per probe")


def _row(step: str, run: Run, frames: int | None = None) -> str:
    per_frame = f"{run.wall / frames * 1e3:9.2f}" if frames else f"{'':9}"
    count = f"{frames:8,d}" if frames else f"{'':8}"
    return f"{step:44} {run.wall:8.1f} {run.cpu:7.1f} {run.peak_mb:8.0f} {run.tree_mb:8.0f} {count} {per_frame}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it (data made earlier with the "
                        "same options is reused)")
    parser.add_argument("--full", action=argparse.BooleanOptionalAction, default=True,
                        help="also score the full size (50 videos, 793 expressions) with pixbench (default: yes)")
    parser.add_argument("--subset-videos", type=int, default=3, help="videos of the subset (default 3)")
    parser.add_argument("--subset-expressions", type=int, default=16, help="expressions of the subset (default 16)")
    parser.add_argument("--workers", type=_workers, default=[1, 2],
                        help="--workers values of the full-size runs (default 1,2)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--size", type=_size, default=(720, 1280),
                        help="frame size HxW (default 720x1280, MeViS'; smaller only for a quick try)")
    parser.add_argument("--prepare", type=Path, help=argparse.SUPPRESS)  # child: write one data set
    parser.add_argument("--profile", help=argparse.SUPPRESS)
    parser.add_argument("--plain-run", nargs=4, metavar=("SPLIT_DIR", "PREDS", "PROBE", "OUT"),
                        help=argparse.SUPPRESS)  # child: the plain implementation
    args = parser.parse_args(argv)
    if args.prepare:
        return prepare(args.prepare, Profile(**json.loads(args.profile)), args.seed, *args.size)
    if args.plain_run:
        split_dir, preds, probe, out = args.plain_run
        return plain_run(Path(split_dir), Path(preds), probe, Path(out))
    if args.subset_videos < 1 or args.subset_expressions < args.subset_videos:
        parser.error("expected --subset-expressions >= --subset-videos >= 1")

    work = args.keep or Path(tempfile.mkdtemp(prefix="pixbench-bench-mocentric-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        return run_benchmark(args, work)
    finally:
        if not args.keep:  # ~120 MB at the full size
            shutil.rmtree(work, ignore_errors=True)


def run_benchmark(args: argparse.Namespace, work: Path) -> int:
    """Every step, the table and the verdicts; 1 when a target is missed."""
    height, width = args.size
    print(f"work folder: {work}; frames {height} x {width}, pair canvas {height} x {2 * width}; "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")
    sets = {"subset": subset_profile(args.subset_videos, args.subset_expressions)}
    if args.full:
        sets["full"] = FULL
    data: dict[str, tuple[Path, dict[str, Any]]] = {}
    rows: list[str] = []
    for name, profile in sets.items():
        folder, described, build = _prepare_data(work, name, profile, args)
        data[name] = (folder, described)
        print(_describe(name, described))
        if build:
            rows.append(_row(f"{name}: pixbench build --no-frames", build))

    missed: list[str] = []
    subset, described = data["subset"]
    comparison: dict[str, tuple[dict[str, float], dict[str, float]]] = {}
    rates: dict[str, float] = {}
    speedups: dict[str, float] = {}
    pixbench_runs: list[tuple[str, Run]] = []
    for probe, _ in PROBES:
        frames = described["expression_frames"][probe]
        report = subset / f"report-{probe}.json"
        fast = measure(_score_command(subset, probe, 1, report))
        rows.append(_row(f"subset {probe}: pixbench score", fast, frames))
        pixbench_runs.append((f"subset {probe}", fast))
        plain_out = subset / f"plain-{probe}.json"
        print(f"subset {probe}: the plain implementation ({frames:,} frames) ...", flush=True)
        plain = measure([sys.executable, __file__, "--plain-run", str(subset / "mevis" / "valid_u"),
                         str(subset / f"preds-{probe}.jsonl"), probe, str(plain_out)])
        rows.append(_row(f"subset {probe}: plain full-frame", plain, frames))
        comparison[probe] = (_metrics(report, probe), json.loads(plain_out.read_text(encoding="utf-8"))["metrics"])
        rates[probe] = plain.wall / frames
        speedups[probe] = plain.wall / fast.wall

    full_metrics: dict[str, dict[int, dict[str, float]]] = {}
    full_walls: dict[str, float] = {}
    if args.full:
        folder, described = data["full"]
        for probe, _ in PROBES:
            frames = described["expression_frames"][probe]
            for workers in args.workers:
                report = folder / f"report-{probe}-w{workers}.json"
                run = measure(_score_command(folder, probe, workers, report))
                rows.append(_row(f"full {probe}: pixbench score --workers {workers}", run, frames))
                pixbench_runs.append((f"full {probe} --workers {workers}", run))
                full_metrics.setdefault(probe, {})[workers] = _metrics(report, probe)
                if workers == 1 or probe not in full_walls:
                    full_walls[probe] = run.wall

    print()
    print(f"{'step':44} {'wall s':>8} {'cpu s':>7} {'peak MB':>8} {'tree MB':>8} {'frames':>8} {'ms/frame':>9}")
    for row in rows:
        print(row)

    print()
    print("numbers on the subset (percent): pixbench score | plain full-frame")
    worst = 0.0
    for probe, (fast_metrics, plain_metrics) in comparison.items():
        parts = []
        for name, value in fast_metrics.items():
            other = plain_metrics.get(name)
            difference = abs(value - other) if other is not None else float("inf")
            worst = max(worst, difference)
            parts.append(f"{name} {value:.4f} | {other if other is None else f'{other:.4f}'}")
        print(f"  {probe:12} " + ", ".join(parts))
    if args.full:
        print("numbers on the full size (percent, pixbench score):")
        for probe, by_workers in full_metrics.items():
            first = next(iter(by_workers.values()))
            print(f"  {probe:12} " + ", ".join(f"{name} {value:.4f}" for name, value in first.items()))
            if any(m != first for m in by_workers.values()):
                missed.append(f"full {probe}: the numbers depend on --workers")
        full = data["full"][1]
        for probe, wall in full_walls.items():
            plain_estimate = rates[probe] * full["expression_frames"][probe]
            print(f"  {probe}: pixbench {wall:.0f} s; the plain implementation would take ~{plain_estimate:.0f} s "
                  f"(~{plain_estimate / 3600:.1f} h) at its subset rate ({plain_estimate / wall:.0f}x)")

    print(f"load average at the end {os.getloadavg()[0]:.2f} (a shared machine: other processes take CPUs)")
    print()
    speed_ok = all(s >= TARGET_SPEEDUP for s in speedups.values())
    print("speedup over the plain implementation on the subset, one process each: "
          + ", ".join(f"{probe} {s:.1f}x" for probe, s in speedups.items())
          + f" (target >= {TARGET_SPEEDUP:.0f}x): " + ("ok" if speed_ok else "MISSED"))
    heaviest = max(pixbench_runs, key=lambda item: max(item[1].peak_mb, item[1].tree_mb))
    memory_ok = all(max(r.peak_mb, r.tree_mb) < TARGET_MB for _, r in pixbench_runs)
    print(f"peak memory of pixbench score: at most {max(heaviest[1].peak_mb, heaviest[1].tree_mb):.0f} MB "
          f"({heaviest[0]}) (target < {TARGET_MB:.0f} MB): " + ("ok" if memory_ok else "MISSED"))
    same_ok = worst <= TOLERANCE_PP and not any("depend on --workers" in m for m in missed)
    print(f"identical numbers: largest difference {worst:.2e} percentage points (target <= {TOLERANCE_PP:g})"
          + (", full-size numbers the same for --workers " + ",".join(map(str, args.workers)) if args.full else "")
          + ": " + ("ok" if same_ok else "MISSED"))
    if not speed_ok:
        missed.append("speedup")
    if not memory_ok:
        missed.append("memory")
    if worst > TOLERANCE_PP:
        missed.append("numbers differ from the plain implementation")
    if missed:
        print("MISSED: " + "; ".join(dict.fromkeys(missed)))
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
