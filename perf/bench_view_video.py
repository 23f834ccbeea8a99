"""Timing: the video part of ``pixbench view`` on a MeViS-sized MoCentric-Bench run, or on MeViS v2 itself.

What it makes (:func:`make_mevis_run`, reusable by other timing scripts): the raw MeViS inputs of
``perf/bench_mocentric.py``'s generator (its ``full`` profile by default: 50 videos of 25-216 frames, mean ~69,
793 expressions, 152 of them reversed; objects that move, leave and come back), the videos' JPEG frames
(720 x 1280, quality 90: each object painted in its own colour over a gradient with a little noise, from the
same masks), built with frames (``pixbench build mocentric``'s builder), and one predictions file per made-up
model, each with a line for every expression of every probe (pair probes in their default layouts):

- ``truth``: the ground truth of every probe (nothing on ``static``);
- ``appearance-only``: what the demo's appearance-only model does (the keyframe's object on ``static``, both
  halves of a pair, the original order of a reversed clip);
- ``shifted-<k>`` (k = 1, 2, ...): the truth moved ``12 k`` pixels to the right (on ``static``: the keyframe's
  truth moved so).

``--benchmark mevis`` makes a MeViS v2 ``valid_u`` instead (:func:`make_mevis_release_run`): the release of
``perf/bench_mevis.py``'s generator (907 expressions over 50 videos of 30-180 frames, ~10 % no-target, types
``motion`` / ``reasoning``), its frames painted as above, built with frames (``pixbench build mevis``'s
builder, ``--version v2``), and the made-up models ``perturbed`` (bench_mevis's perturbed truth, ~3 % of the
expressions without a line, no-target ones mostly answered empty), ``truth`` and ``shifted-<k>``, all on v2.

Then, in this process: scoring as ``pixbench view`` does (``score files``, reported, not the point), the site
(:func:`pixbench.view.build_site`, timed: first build, then a second one into the same folder, which must
write no media), and the site's size: all files, the largest data file, the largest expression page (its HTML,
scripts, data files and the media it loads for one model) and the first page of the expressions grid (with its
48 thumbnails). Peak RSS of the process is reported too (it holds the predictions, as ``pixbench view`` does).

    python perf/bench_view_video.py                        # 2 models, full profile, 720 x 1280 (~15 min)
    python perf/bench_view_video.py --models 5             # the issue's 5 models (scoring dominates: ~20 min)
    python perf/bench_view_video.py --keep /tmp/mevis-run  # keep (and reuse) the generated run
    python perf/bench_view_video.py --videos 4 --expressions 40 --size 360x640   # a quick try
    python perf/bench_view_video.py --benchmark mevis --expressions 60 --size 360x640   # MeViS v2, a quick try

Measured on the 2-core development machine, shared with other jobs (load 2-4), full profile at 720 x 1280:

=======  ========  =========  ========  =======  ========  ===========  ==========  =====================
models   score s   build s    again s   site MB  files     page kB      grid kB     first render s
=======  ========  =========  ========  =======  ========  ===========  ==========  =====================
2        190-405   108        3.3       135      8,163     690          438         grid 0.5, page 1.1
5        757-775   306        3.6       288      16,215    720          439         grid 0.5-0.6, page 1.0-1.2
=======  ========  =========  ========  =======  ========  ===========  ==========  =====================

(``score s``: ``--workers 2``; ``build s``: the site, one process; ``again s``: the second build, no media
written; ``page kB``: the heaviest expression page with one model's masks (its data file 21-51 kB); ``grid kB``:
the grid's first page with its 48 thumbnails (its data file 276 kB); peak RSS 1.8 GB with 5 models, the
predictions held as ``pixbench view`` holds them.) About 70 % of ``build s`` is the mask sheets (19 ms a sheet
through ``media.MaskDrawer`` and ``media.bits_png``; the same bytes took 8 ms with the sheet module's own
drawing, 82 s and 207 s for the two rows; two changes to ``media.py`` measured 9.6 ms). Two worker processes
drawing the sheets measured no faster on the two shared cores (78 s against 82 s). The frames sheets here are
350-400 kB a video (flat synthetic frames with noise); real footage compresses worse at WebP quality 80, so an
expression page of a real MeViS clip may reach 1 MB (``video_side`` or ``video_frames`` lower it).

``--benchmark mevis`` at v2 size (907 expressions, 50 videos, 3,501 frames of 720 x 1280), 2 models, same
machine: made in 81 s, score 28 s, site 37 s, again 0.6 s (no media written), 61.9 MB in 3,841 files, the
heaviest expression page 491 kB (its data file 5.6 kB: one player), the grid's first page 480 kB (its data file
270 kB), first render 0.2 s (grid) and 0.4 s (page), peak RSS 657 MB.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import json
import os
import resource
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
#: Bump when the made data change: a kept folder made by another version is made again.
MAKER_VERSION = 2
MODEL_NAMES = ("truth", "appearance-only", "shifted-1", "shifted-2", "shifted-3", "shifted-4", "shifted-5")
#: The made-up models of a MeViS run (``--benchmark mevis``).
MEVIS_MODEL_NAMES = ("perturbed", "truth", "shifted-1", "shifted-2", "shifted-3", "shifted-4", "shifted-5")


def _perf_module(name: str) -> Any:
    """``perf/<name>.py`` as a module."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, HERE / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _bench_mocentric() -> Any:
    """``perf/bench_mocentric.py`` as a module (its MeViS generator)."""
    return _perf_module("bench_mocentric")


@dataclass(frozen=True)
class MevisRun:
    """A made run: the built folder, the predictions files (one per model), its shape and its benchmark
    (``mocentric``: MoCentric-Bench on MeViS-sized inputs; ``mevis``: MeViS v2)."""

    built: Path
    predictions: tuple[Path, ...]
    models: tuple[str, ...]
    videos: int
    frames: int
    expressions: int
    reversed: int
    benchmark: str = "mocentric"


def _paint_frames(root: Path, height: int, width: int, seed: int, meta_file: str | None = None) -> int:
    """JPEG frames for every video of ``root``'s MeViS inputs (their ``meta_file``, default v1's), painted from
    its masks; returns the frame count."""
    import numpy as np

    from pixbench.annotation import rle as rle_ops
    from pixbench.benchmarks.mocentric.synthetic import FRAMES_FOLDER, MASK_FILE, META_FILE, SPLIT, jpeg_bytes

    split = root / SPLIT
    meta = json.loads((split / (meta_file or META_FILE)).read_text(encoding="utf-8"))["videos"]
    masks = json.loads((split / MASK_FILE).read_text(encoding="utf-8"))
    rng = np.random.default_rng([seed, 7])
    ramp = (np.linspace(0, 60, width, dtype=np.float32)[None, :, None]
            + np.linspace(0, 40, height, dtype=np.float32)[:, None, None])
    count = 0
    for video_id, video in meta.items():
        annos = sorted({a for e in video["expressions"].values() for a in e["anno_id"]})
        colours = {a: rng.integers(40, 256, size=3).astype(np.uint8) for a in annos}
        background = np.clip(rng.integers(40, 110, size=3)[None, None, :] + ramp, 0, 255)
        folder = split / FRAMES_FOLDER / video_id
        folder.mkdir(parents=True, exist_ok=True)
        for t, name in enumerate(video["frames"]):
            noise = rng.integers(0, 12, size=(height // 8, width // 8, 1)).repeat(8, 0).repeat(8, 1)
            image = (background + noise).clip(0, 255).astype(np.uint8)
            for anno in annos:
                mask = masks[str(anno)][t]
                if mask is not None:
                    image[rle_ops.decode(mask).astype(bool)] = colours[anno]
            (folder / f"{name}.jpg").write_bytes(jpeg_bytes(image, 90))
            count += 1
    return count


def _shift(mask: Any, pixels: int) -> Any:
    """``mask`` moved ``pixels`` columns to the right (what leaves the canvas is cut)."""
    from pixbench.annotation import rle as rle_ops

    if mask is None:
        return None
    height, width = rle_ops.size_of(mask)
    starts, ends = rle_ops.foreground_intervals(mask)
    offset = pixels * height
    return rle_ops.from_intervals((starts + offset).clip(0, height * width), (ends + offset).clip(0, height * width),
                                  height, width)


def _model_lines(reference: Any, model: str) -> Iterator[Any]:
    """Every line of one made-up model (see the module docstring)."""
    from pixbench.annotation import rle as rle_ops
    from pixbench.benchmarks.mocentric.views import PROBES, probe_view, resolve_layout
    from pixbench.prediction_records import Prediction

    for probe in PROBES:
        layout = resolve_layout(probe, None)
        for row_id, row in reference.rows_for(probe).items():
            view = probe_view(probe=probe, layout=layout, frame_names=row.frame_names, keyframe=row.keyframe,
                              height=row.height, width=row.width)
            truth = view.ground_truth(list(row.masks))
            if model == "truth":
                frames = [None] * view.length if probe == "static" else list(truth)
            elif model == "appearance-only":
                frames = list(reversed(truth)) if probe in ("reversed", "reversed-pair") else list(truth)
                if view.other is not None and view.other_frames is not None:
                    top, left = view.other[0].start, view.other[1].start
                    frames = [rle_ops.union([mask, rle_ops.place(row.masks[other], *view.canvas, row=top,
                                                                 column=left)], *view.canvas)
                              for mask, other in zip(frames, view.other_frames)]
            else:
                step = 12 * int(model.rsplit("-", 1)[1])
                frames = [_shift(mask, step) for mask in truth]
            yield Prediction(benchmark=reference.benchmark, id=row_id, probe=probe, layout=layout, model=model,
                             frames=tuple(frames))


def make_mevis_run(work: Path, *, models: int = 5, videos: int = 50, expressions: int = 793, reversed_count: int = 152,
                   frames: tuple[int, int, float] = (25, 216, 69.0), size: tuple[int, int] = (720, 1280),
                   seed: int = 0) -> MevisRun:
    """A MeViS-sized MoCentric-Bench run under ``work`` (see the module docstring): the first ``models`` of
    :data:`MODEL_NAMES`; ``frames``: (min, max, mean) frames a video. What was made there before with the same
    arguments is reused (a predictions file already written is kept; another ``models`` writes the missing ones).
    """
    from pixbench.benchmarks.mocentric import build as builder
    from pixbench.predictions import write_predictions
    from pixbench.references import load_reference

    if not 1 <= models <= len(MODEL_NAMES):
        raise ValueError(f"Expected 1 to {len(MODEL_NAMES)} models, but got {models}")
    key = {"version": MAKER_VERSION, "videos": videos, "expressions": expressions, "reversed": reversed_count,
           "frames": list(frames), "size": list(size), "seed": seed}
    made = work / "made.json"
    names = MODEL_NAMES[:models]
    built = work / "MoCentric-Bench"
    found = json.loads(made.read_text(encoding="utf-8")) if made.is_file() else {}
    if found.get("key") != key:
        if work.exists():
            shutil.rmtree(work)
        work.mkdir(parents=True)
        bench = _bench_mocentric()
        profile = bench.Profile(videos=videos, expressions=expressions, reversed=reversed_count,
                                min_frames=frames[0], max_frames=frames[1], mean_frames=frames[2])
        root = work / "mevis"
        bench.write_mevis(root, profile, seed, *size)
        frame_count = _paint_frames(root, *size, seed)
        split = root / "valid_u"
        builder.build(mevis_root=root, keyframes=root / "mevis_keyframes.csv",
                      reverse_expressions=split / "meta_expressions_reverse_filtered.json", out_dir=built)
        reference = load_reference("mocentric", str(built))
        found = {"key": key, "models": [], "shape": {
            "videos": len({row.video_id for row in reference.expressions.values()}), "frames": frame_count,
            "expressions": len(reference.expressions), "reversed": len(reference.reversed)}}
    reference = None
    for name in names:
        if name not in found["models"]:
            reference = reference or load_reference("mocentric", str(built))
            write_predictions(work / f"preds-{name}.jsonl", _model_lines(reference, name))
            found["models"].append(name)
            made.write_text(json.dumps(found, indent=2) + "\n", encoding="utf-8")
    made.write_text(json.dumps(found, indent=2) + "\n", encoding="utf-8")
    return MevisRun(built, tuple(work / f"preds-{name}.jsonl" for name in names), names, **found["shape"])


def _mevis_lines(reference: Any, model: str) -> Iterator[Any]:
    """Every v2 line of the made-up model ``truth`` or ``shifted-<k>`` (the truth moved ``12 k`` pixels right)."""
    from pixbench.prediction_records import Prediction

    step = 0 if model == "truth" else 12 * int(model.rsplit("-", 1)[1])
    for row_id, row in reference.rows_for("v2").items():
        frames = tuple(row.masks) if not step else tuple(_shift(mask, step) for mask in row.masks)
        yield Prediction(benchmark=reference.benchmark, id=row_id, probe="v2", model=model, frames=frames)


def make_mevis_release_run(work: Path, *, models: int = 2, expressions: int = 907, size: tuple[int, int] = (720, 1280),
                           seed: int = 0) -> MevisRun:
    """A MeViS v2 ``valid_u`` run under ``work`` (module docstring: ``--benchmark mevis``), the first ``models`` of
    :data:`MEVIS_MODEL_NAMES`; what was made there before with the same arguments is reused."""
    from pixbench.benchmarks.mevis import build as builder
    from pixbench.predictions import write_predictions
    from pixbench.references import load_reference

    if not 1 <= models <= len(MEVIS_MODEL_NAMES):
        raise ValueError(f"Expected 1 to {len(MEVIS_MODEL_NAMES)} models, but got {models}")
    bench = _perf_module("bench_mevis")
    shape = bench.full_shape(expressions)
    key = {"version": MAKER_VERSION, "benchmark": "mevis", "shape": asdict(shape), "size": list(size), "seed": seed}
    made = work / "made.json"
    names = MEVIS_MODEL_NAMES[:models]
    built = work / "MeViS"
    found = json.loads(made.read_text(encoding="utf-8")) if made.is_file() else {}
    if found.get("key") != key:
        if work.exists():
            shutil.rmtree(work)
        work.mkdir(parents=True)
        root = work / "mevis"
        plan = bench.write_release(root, shape, seed, *size)
        frame_count = _paint_frames(root, *size, seed, meta_file=bench.META_V2)
        builder.build(mevis_root=root, out_dir=built, version="v2")
        write_predictions(work / "preds-perturbed.jsonl",
                          (dataclasses.replace(line, model="perturbed") for line in bench._lines(plan, shape, seed)))
        reference = load_reference("mevis", str(built))
        rows = reference.rows_for("v2")
        found = {"key": key, "models": ["perturbed"], "shape": {
            "videos": len({row.video_id for row in rows.values()}), "frames": frame_count, "expressions": len(rows),
            "reversed": 0}}
    reference = None
    for name in names:
        if name not in found["models"]:
            reference = reference or load_reference("mevis", str(built))
            write_predictions(work / f"preds-{name}.jsonl", _mevis_lines(reference, name))
            found["models"].append(name)
            made.write_text(json.dumps(found, indent=2) + "\n", encoding="utf-8")
    made.write_text(json.dumps(found, indent=2) + "\n", encoding="utf-8")
    return MevisRun(built, tuple(work / f"preds-{name}.jsonl" for name in names), names, **found["shape"],
                    benchmark="mevis")


# ------------------------------------------------------------------------------------------ measuring


def _tree_bytes(root: Path) -> tuple[int, int]:
    files = [p for p in root.rglob("*") if p.is_file()]
    return len(files), sum(p.stat().st_size for p in files)


def _data(root: Path, key: str) -> Any:
    text = (root / "data" / f"{key}.js").read_text(encoding="utf-8")
    return json.loads(text[text.index(",") + 1:text.rindex(");")])


def page_weights(root: Path, benchmark: str = "mocentric") -> dict[str, Any]:
    """The bytes a browser loads for the heaviest expression page (one model's masks) and the grid's first page."""
    size = lambda relative: (root / relative).stat().st_size  # noqa: E731
    shared = size("static/site.js") + size("static/site.css") + size("static/video.css")
    models = _data(root, f"{benchmark}/models")
    heaviest = (0, "", 0)
    for expression_id, key in models["expressions"]:
        document = _data(root, f"{benchmark}/exp-{key}")
        media = {document["video"]["src"], *(p["gt"]["src"] for p in document["probes"])}
        first = next(iter(document["models"].values()))
        media |= {entry["mask"]["src"] for entry in first["probes"].values() if "mask" in entry}
        data = size(f"data/{benchmark}/exp-{key}.js")
        total = size("video.html") + size("static/video.js") + shared + size(f"data/{benchmark}/models.js") + data \
            + sum(size(m) for m in media)
        heaviest = max(heaviest, (total, expression_id, data))
    grid_key = models["models"][0]["key"]
    grid = _data(root, f"{benchmark}/grid-{grid_key}")
    thumbs = sum(size(r["thumb"]) + size(r["gt_thumb"]) for r in grid["rows"][:grid["page_size"]])
    grid_total = size("videos.html") + size("static/videos.js") + shared + size(f"data/{benchmark}/models.js") \
        + size(f"data/{benchmark}/grid-{grid_key}.js") + thumbs
    data_files = [p for p in (root / "data").rglob("*.js")]
    largest = max(data_files, key=lambda p: p.stat().st_size)
    return {"expression_page_kb": heaviest[0] / 1e3, "expression_id": heaviest[1],
            "expression_data_kb": heaviest[2] / 1e3, "grid_page_kb": grid_total / 1e3,
            "largest_data_file": str(largest.relative_to(root)), "largest_data_kb": largest.stat().st_size / 1e3}


def first_render(site: Path, expression_id: str, benchmark: str = "mocentric") -> dict[str, float] | None:
    """Seconds from opening to drawn in headless Chromium (``None`` without Playwright or a Chromium): the
    expressions grid (its first page of rows) and the heaviest expression page (every player's frame and mask
    drawn); each opened once cold and once more."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None
    chromium = next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)
    if chromium is None:
        return None
    from urllib.parse import urlencode

    drawn = """() => { const masks = Array.from(document.querySelectorAll('canvas.mask.pred'));
        return masks.length > 0 && masks.every(c => c.dataset.tile === '' || c.dataset.drawn === 'true'); }"""
    pages = {"grid": ((site / "videos.html").as_uri() + "?" + urlencode({"b": benchmark}),
                      "() => document.querySelector('#rows tr')"),
             "expression": ((site / "video.html").as_uri() + "?" + urlencode({"b": benchmark, "id": expression_id}),
                            drawn)}
    out: dict[str, float] = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        try:
            for name, (url, ready) in pages.items():
                for attempt in ("cold", "again"):
                    page = browser.new_page(viewport={"width": 1400, "height": 1000})
                    start = time.perf_counter()
                    page.goto(url)
                    page.wait_for_function(ready, timeout=60_000)
                    out[f"{name}_{attempt}_s"] = time.perf_counter() - start
                    page.close()
        finally:
            browser.close()
    return out


def measure(run: MevisRun, site: Path, workers: int) -> dict[str, Any]:
    from pixbench.cli.scoring import score_arguments, score_files
    from pixbench.view import SiteOptions, build_site

    parser = argparse.ArgumentParser()
    score_arguments(parser)
    args = parser.parse_args([*map(str, run.predictions), "--data", f"{run.benchmark}={run.built}", "--no-judge",
                              "--workers", str(workers)])
    start = time.perf_counter()
    scored = score_files(args)
    if isinstance(scored, int):
        raise SystemExit(f"scoring failed ({scored})")
    score_s = time.perf_counter() - start
    options = SiteOptions(folders={run.benchmark: run.built})
    if site.exists():
        shutil.rmtree(site)
    start = time.perf_counter()
    first = build_site(site, run=scored.run, report=scored.report, options=options, progress=sys.stderr.isatty())
    build_s = time.perf_counter() - start
    media_before = {p: p.stat().st_mtime_ns for p in (site / "media").rglob("*") if p.is_file()}
    start = time.perf_counter()
    second = build_site(site, run=scored.run, report=scored.report, options=options, progress=False)
    resumed_s = time.perf_counter() - start
    media_after = {p: p.stat().st_mtime_ns for p in (site / "media").rglob("*") if p.is_file()}
    rewritten = sum(1 for p, t in media_after.items() if media_before.get(p) != t)
    files, total = _tree_bytes(site)
    media_files, media_bytes = _tree_bytes(site / "media")
    weights = page_weights(site, run.benchmark)
    return {"score_s": score_s, "build_s": build_s, "resumed_s": resumed_s, "files": files, "site_mb": total / 1e6,
            "media_files": media_files, "media_mb": media_bytes / 1e6, "written_first": first.written,
            "written_second": second.written, "kept_second": second.kept, "media_rewritten": rewritten,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3, **weights,
            "render": first_render(site, weights["expression_id"], run.benchmark)}


def _size(text: str) -> tuple[int, int]:
    height, _, width = text.lower().partition("x")
    return int(height), int(width)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--benchmark", choices=("mocentric", "mevis"), default="mocentric",
                        help="MoCentric-Bench on MeViS-sized inputs (default) or MeViS v2 itself")
    parser.add_argument("--models", type=int, default=2, help="made-up models (1-7; default 2)")
    parser.add_argument("--videos", type=int, default=50, help="mocentric only (mevis: 50 per 907 expressions)")
    parser.add_argument("--expressions", type=int, help="default 793 (mocentric) or 907 (mevis)")
    parser.add_argument("--reversed", type=int, default=152, help="mocentric only")
    parser.add_argument("--size", type=_size, default=(720, 1280), metavar="HxW")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2, help="scoring processes (the site is built in one)")
    parser.add_argument("--keep", type=Path, help="make (or reuse) the run in this folder and keep the site there")
    args = parser.parse_args(argv)
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-view-video-"))
    try:
        start = time.perf_counter()
        if args.benchmark == "mevis":
            run = make_mevis_release_run(work / "run-mevis", models=args.models, expressions=args.expressions or 907,
                                         size=args.size, seed=args.seed)
        else:
            run = make_mevis_run(work / "run", models=args.models, videos=args.videos,
                                 expressions=args.expressions or 793, reversed_count=args.reversed, size=args.size,
                                 seed=args.seed)
        print(f"run: {run.videos} videos, {run.frames} frames of {args.size[0]}x{args.size[1]}, {run.expressions} "
              f"expressions ({run.reversed} reversed), models {', '.join(run.models)} "
              f"(made or found in {time.perf_counter() - start:.0f} s)", flush=True)
        figures = measure(run, work / "site", args.workers)
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    print(json.dumps({"run": {**asdict(run), "built": str(run.built), "predictions": [str(p) for p in run.predictions]},
                      "cpus": os.cpu_count(), **figures}, indent=2))
    return 0 if figures["media_rewritten"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
