"""Build time and size of ``pixbench view`` sites, and how fast their pages render in headless Chromium.

PixCV-Bench (1,438 rows) from the real annotations in ``../shared/data``, twice:

- ``real``: built as ``perf/bench_score.py`` builds it (annotations only, stand-in sizes 189 x 369 to 2200 x
  1650, no images: the site draws grey canvases);
- ``images``: the same rows with real-size, non-square JPEG photographs-alike (textured colour fields, grain
  and an object in the middle): each row's canvas scaled up to a longer side of 1280 or 1600 pixels (1280 x 960,
  1600 x 1200, 1200 x 1600, ...; canvases already larger are kept, up to 2200 x 1650), so that decoding,
  resizing and encoding images is measured; every mask is resized to the image by the builder.

Each build gets five models' predictions files (a letter answer on every row, and masks shaped like a
segmenter's outputs, :class:`bench_score.Shapes`): two with a ``segment`` mask a row, two with a ``vqa``
answer and 6 candidates (each candidate's phrase, offsets and score; the line chooses one), and one with
both. Masks are made at a size of at most 640 pixels and resized by nearest neighbour to the row's size.

Steps, each its own process (``wait4`` gives its peak RSS): ``pixbench view`` of the five files into a new
folder (cold), the same command again into the same folder (resumed: media kept), then the site's size
(bytes, files, the largest data file) and the bytes each page loads. Then headless Chromium opens, from
``file://``, the index, a grid page, a sample page and a compare page (a fresh context each time) and reports
the time to first contentful paint, to DOMContentLoaded (the index's scripts have run: it is interactive) and
until the page shows its data (grid and compare: the count and the first thumbnails; sample: the image and
both masks loaded).

    python perf/bench_view.py [--data ../shared/data] [--keep DIR] [--repeat 3] [--only real|images]
    python perf/bench_view.py --keep /tmp/bench-view --baseline /tmp/old_tree  # and an older tree's cold build
    python perf/bench_view.py --keep /tmp/bench-view --profile images   # cProfile of one cold build (rows drawn
                                                                        # in one process)

Targets (2-core machine): a cold build of PixCV-Bench x 5 models under 60 s, under 1 MB loaded by any page,
the index interactive under 1 s.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
MODELS = ("segmenter-a", "segmenter-b", "attend-a", "attend-b", "both")
CANDIDATES = 6
#: Masks are drawn at most this large, then resized to the row's size (as the builder resizes canvases).
DRAW_SIDE = 640
#: A cold build under cProfile, its rows drawn in this process (so that the profile sees them).
PROFILE = ("import cProfile, sys; from pixbench.view import image_samples; image_samples.POOL_MIN_ROWS = 1 << 62; "
           "from pixbench.cli import main; cProfile.run('main(sys.argv[2:])', sys.argv[1])")
TARGETS = {"build_s": 60.0, "page_bytes": 1_000_000, "index_interactive_ms": 1000.0}


# ---------------------------------------------------------------------------------------------- inputs


def real_size(height: int, width: int, idx: int) -> tuple[int, int]:
    """A photograph's size for a canvas: its longer side scaled up to 1280 or 1600 (by row), never down."""
    longer = max(height, width)
    target = 1600 if idx % 2 == 0 else 1280
    if longer >= target:
        return height, width
    scale = target / longer
    return round(height * scale), round(width * scale)


def photo(height: int, width: int, seed: int, region: Any) -> bytes:
    """A JPEG (quality 88) with a photograph's texture: smooth colour fields, fine grain and edges, the
    ``region`` (bool array of the image's size, or None) painted in its own colour."""
    import io

    import numpy as np
    from PIL import Image, ImageFilter

    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, 256, (max(2, height // 96), max(2, width // 96), 3), dtype=np.uint8)
    image = Image.fromarray(coarse).resize((width, height), Image.Resampling.BICUBIC)
    grain = rng.normal(0, 14, (height, width, 1)).astype(np.float32)
    pixels = np.asarray(image, dtype=np.float32) + grain
    if region is not None and region.any():
        colour = rng.integers(0, 256, 3).astype(np.float32)
        pixels[region] = pixels[region] * 0.35 + colour * 0.65
    edges = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).filter(ImageFilter.DETAIL)
    buffer = io.BytesIO()
    edges.save(buffer, format="JPEG", quality=88)
    return buffer.getvalue()


def write_image_parquet(source: Path, out: Path) -> Path:
    """CV-Bench's stand-in parquet (``source``) with real-size photographs-alike for its 2D rows."""
    import io

    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq
    from PIL import Image, ImageDraw

    table = pq.read_table(source)
    records = table.to_pylist()
    for record in records:
        if record["type"] != "2D":
            continue
        with Image.open(io.BytesIO(record["image"]["bytes"])) as canvas:
            width, height = canvas.size
        big_h, big_w = real_size(height, width, record["idx"])
        region = Image.new("1", (big_w, big_h))
        # the object: an ellipse in the middle third (the masks' own places are only known after the build)
        ImageDraw.Draw(region).ellipse((big_w // 3, big_h // 3, 2 * big_w // 3, 2 * big_h // 3), fill=1)
        record["image"] = {"bytes": photo(big_h, big_w, record["idx"], np.asarray(region)), "path": None}
    out.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(records, schema=table.schema), out, row_group_size=64)
    return out


def model_lines(reference: Any, seed: int) -> Iterator[tuple[str, str]]:
    """(model, line) of the five models on every row (see the module docstring)."""
    import numpy as np

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_score import Shapes

    from pixbench.annotation import rle

    shapes = Shapes(seed)
    rng = np.random.default_rng(seed + 1)

    def line(model: str, row_id: int, probe: str, **fields: Any) -> tuple[str, str]:
        return model, json.dumps({"benchmark": reference.benchmark, "id": row_id, "probe": probe, "model": model,
                                  **fields}) + "\n"

    for n, (row_id, row) in enumerate(reference.rows.items()):
        factor = max(1, -(-max(row.height, row.width) // DRAW_SIDE))
        small = (max(1, row.height // factor), max(1, row.width // factor))
        gt = rle.decode(rle.resize_nearest(row.mask, *small))

        def full(mask: Any, height: int = row.height, width: int = row.width) -> dict[str, Any]:
            return dict(rle.resize_nearest(rle.encode(np.asarray(mask, dtype=np.uint8)), height, width))

        drawn = [full(shapes.realistic(gt, n * CANDIDATES + k)) for k in range(CANDIDATES)]
        segments = [full(shapes.perturbed(gt) if gt.any() else shapes.blobs(*small, 1, 0)) for _ in range(2)]
        truth = int(rng.integers(0, len(row.options)))
        for model in MODELS:
            letter = f"({chr(65 + (truth if rng.random() < 0.6 else (truth + 1) % len(row.options)))})"
            yield line(model, row_id, "letter", response=letter)
        yield line("segmenter-a", row_id, "segment", mask=segments[0])
        yield line("segmenter-b", row_id, "segment", mask=segments[1])
        phrase = row.expression or "the thing"
        response = f"Looking at {phrase}, the answer is {row.options[0]}."
        start = response.index(phrase)
        for model, order in (("attend-a", range(CANDIDATES)), ("attend-b", reversed(range(CANDIDATES)))):
            candidates = [{"mask": drawn[k], "phrase": phrase, "char_start": start, "char_end": start + len(phrase),
                           "score": round(float(rng.random()), 3)} for k in order]
            yield line(model, row_id, "vqa", response=response, candidates=candidates,
                       selected=int(rng.integers(0, CANDIDATES)))
        yield line("both", row_id, "segment", mask=segments[1])
        yield line("both", row_id, "vqa", response=response, candidates=[
            {"mask": drawn[k], "phrase": phrase, "char_start": start, "char_end": start + len(phrase),
             "score": round(float(rng.random()), 3)} for k in range(3)], selected=0)


def prepare(data: Path, work: Path) -> int:
    """Build both PixCV-Benches and write each one's five predictions files (run in a child process)."""
    from pixbench.benchmarks.pixcvbench import build as pixcvbench
    from pixbench.benchmarks.pixcvbench.synthetic import write_cvbench_parquet
    from pixbench.references import load_reference

    parquet = work / "CV-Bench" / "test.parquet"
    if not parquet.exists():
        write_cvbench_parquet(data / "pixcvbench", parquet)
    builds = {"real": (parquet, False), "images": (work / "CV-Bench-images" / "test.parquet", True)}
    for name, (source, with_images) in builds.items():
        folder = work / f"PixCV-Bench-{name}"
        if with_images and not source.exists():
            start = time.perf_counter()
            write_image_parquet(parquet, source)
            print(f"  wrote {source} in {time.perf_counter() - start:.0f} s", flush=True)
        if not (folder / "build_summary.json").exists():
            pixcvbench.build(cvbench_paths=[source], annotations_dir=data / "pixcvbench", out_dir=folder,
                             with_images=with_images)
        paths = {model: work / f"{name}-{model}.jsonl" for model in MODELS}
        if all(path.exists() for path in paths.values()):
            continue
        start = time.perf_counter()
        reference = load_reference("pixcvbench", str(folder))
        with contextlib.ExitStack() as stack:
            handles = {model: stack.enter_context(open(path.with_suffix(".part"), "w", encoding="utf-8"))
                       for model, path in paths.items()}
            for model, text in model_lines(reference, seed=0):
                handles[model].write(text)
        for path in paths.values():
            path.with_suffix(".part").rename(path)
        print(f"  wrote {name} predictions in {time.perf_counter() - start:.0f} s", flush=True)
    return 0


# ---------------------------------------------------------------------------------------------- builds


def measure(command: list[str], cwd: Path, tree: Path = ROOT) -> tuple[float, float, float]:
    """Run a command (``tree`` first on the path): wall seconds, peak RSS MB (of the process or its largest
    worker) and CPU seconds (user and system, the workers' included)."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "PYTHONPATH": str(tree)}
    start = time.perf_counter()
    process = subprocess.Popen(command, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    error = process.stderr.read().decode() if process.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: {' '.join(command)}\n{error}")
    return wall, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime


def view_command(work: Path, name: str, site: Path) -> list[str]:
    return [sys.executable, "-m", "pixbench.cli", "view", *(str(work / f"{name}-{m}.jsonl") for m in MODELS),
            "--data", f"pixcvbench={work / f'PixCV-Bench-{name}'}", "--no-judge", "--out", str(site)]


def site_size(site: Path) -> dict[str, Any]:
    files = [p for p in site.rglob("*") if p.is_file()]
    data = [p for p in files if p.suffix == ".js" and "data" in p.relative_to(site).parts]
    largest = max(data, key=lambda p: p.stat().st_size)
    media = [p for p in files if p.relative_to(site).parts[0] == "media"]
    return {"bytes": sum(p.stat().st_size for p in files), "files": len(files),
            "media_bytes": sum(p.stat().st_size for p in media),
            "largest_data": (str(largest.relative_to(site)), largest.stat().st_size)}


# ---------------------------------------------------------------------------------------------- browser

#: When a page is done, per page: the index once its scripts ran and it painted; a grid once its count and first
#: thumbnails are there; a sample once its image and both masks are loaded; a compare page (two models with
#: many differences) once its list and first thumbnails are there.
READY = {
    "index": "() => document.readyState !== 'loading' && performance.getEntriesByName('first-contentful-paint')"
             ".length > 0",
    "grid": "() => document.getElementById('count').textContent !== '0' && Array.from("
            "document.querySelectorAll('#grid .card img')).slice(0, 8).every(i => i.complete && i.naturalWidth)",
    "sample": "() => { const imgs = Array.from(document.querySelectorAll('#stage img')).filter(i => !i.hidden);"
              " return imgs.length >= 3 && imgs.every(i => i.complete && i.naturalWidth > 0); }",
    "compare": "() => document.getElementById('summary').textContent !== '' && Array.from("
               "document.querySelectorAll('#grid .card img')).slice(0, 8).every(i => i.complete && i.naturalWidth)",
}


def page_timings(site: Path, chromium: str, repeat: int) -> dict[str, dict[str, Any]]:
    """Per page: median FCP, DOMContentLoaded and ready times (ms) and the bytes it loaded (file sizes)."""
    from urllib.parse import unquote, urlsplit

    from playwright.sync_api import sync_playwright

    from pixbench.view.layout import slug

    row_id = min(int(p.stem.removeprefix("row-")) for p in (site / "data" / "pixcvbench").glob("row-*.js"))
    pages = {"index": "index.html", "grid": f"samples.html?b=pixcvbench&m={slug(MODELS[3])}",
             "sample": f"sample.html?b=pixcvbench&id={row_id}&m={slug(MODELS[4])}",
             "compare": f"compare.html?b=pixcvbench&a={slug(MODELS[3])}&c={slug(MODELS[4])}"}
    out: dict[str, dict[str, Any]] = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
        for name, address in pages.items():
            runs: list[dict[str, float]] = []
            loaded: set[str] = set()
            errors: list[str] = []
            for _ in range(repeat):
                context = browser.new_context(viewport={"width": 1280, "height": 900})
                page = context.new_page()
                page.on("requestfinished", lambda request, seen=loaded: seen.add(request.url))
                page.on("console", lambda m, out=errors: out.append(m.text) if m.type == "error" else None)
                page.on("requestfailed", lambda request, out=errors: out.append(f"failed {request.url}"))
                page.goto(f"{site.resolve().as_uri()}/{address}", wait_until="domcontentloaded")
                page.wait_for_function(READY[name], timeout=30_000)
                ready = page.evaluate("performance.now()")
                timing = page.evaluate("""() => {
                    const n = performance.getEntriesByType('navigation')[0];
                    const p = performance.getEntriesByName('first-contentful-paint')[0];
                    return {dcl: n.domContentLoadedEventEnd, fcp: p ? p.startTime : null};
                }""")
                runs.append({"fcp": timing["fcp"] or float("nan"), "dcl": timing["dcl"], "ready": ready})
                context.close()
            files = {Path(unquote(urlsplit(url).path)) for url in loaded if url.startswith("file://")}
            out[name] = {key: statistics.median(run[key] for run in runs) for key in ("fcp", "dcl", "ready")}
            out[name]["bytes"] = sum(p.stat().st_size for p in files if p.is_file())
            out[name]["requests"] = len(files)
            out[name]["errors"] = errors
        browser.close()
    return out


# ---------------------------------------------------------------------------------------------- main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it (inputs there are reused)")
    parser.add_argument("--repeat", type=int, default=3, help="cold builds and page loads per step (median)")
    parser.add_argument("--only", choices=("real", "images"), help="one of the two builds")
    parser.add_argument("--baseline", type=Path, metavar="TREE",
                        help="also time one cold build with this source tree (e.g. a `git worktree` of an older "
                             "commit)")
    parser.add_argument("--profile", choices=("real", "images"),
                        help="run one cold build under cProfile and print its 30 costliest functions")
    parser.add_argument("--chromium", default=os.environ.get("PIXBENCH_CHROMIUM") or shutil.which("chromium"),
                        help="the Chromium to time pages with (default: $PIXBENCH_CHROMIUM, else chromium)")
    parser.add_argument("--prepare", type=Path, help=argparse.SUPPRESS)  # the child that writes the inputs
    args = parser.parse_args()
    if args.prepare:
        return prepare(args.data, args.prepare)
    work = (args.keep or Path(tempfile.mkdtemp(prefix="pixbench-bench-view-"))).resolve()
    work.mkdir(parents=True, exist_ok=True)
    if not all((work / f"{name}-{m}.jsonl").exists() for name in ("real", "images") for m in MODELS):
        start = time.perf_counter()
        subprocess.run([sys.executable, __file__, "--data", str(args.data), "--prepare", str(work)], check=True,
                       env={**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1",
                            "HF_DATASETS_OFFLINE": "1"})
        print(f"prepared builds and predictions in {time.perf_counter() - start:.0f} s")
    if args.profile:
        site = work / f"site-{args.profile}-profile"
        shutil.rmtree(site, ignore_errors=True)
        command = view_command(work, args.profile, site)
        stats = work / "view.prof"
        measure([command[0], "-c", PROFILE, str(stats), *command[3:]], work)
        import pstats

        pstats.Stats(str(stats)).sort_stats("cumulative").print_stats(30)
        pstats.Stats(str(stats)).sort_stats("tottime").print_stats(20)
        return 0
    missed = False
    for name in ("real", "images") if not args.only else (args.only,):
        inputs = sum((work / f"{name}-{m}.jsonl").stat().st_size for m in MODELS) / 1e6
        print(f"== PixCV-Bench {name}: 1,438 rows x {len(MODELS)} models ({inputs:.0f} MB of predictions)")
        site = work / f"site-{name}"
        walls, cpus, peak = [], [], 0.0
        for _ in range(args.repeat):
            shutil.rmtree(site, ignore_errors=True)
            wall, rss, cpu = measure(view_command(work, name, site), work)
            walls.append(wall)
            cpus.append(cpu)
            peak = max(peak, rss)
        resumed, _, resumed_cpu = measure(view_command(work, name, site), work)
        if args.baseline:
            old_site = work / f"site-{name}-baseline"
            shutil.rmtree(old_site, ignore_errors=True)
            wall, rss, cpu = measure(view_command(work, name, old_site), work, args.baseline.resolve())
            print(f"  baseline {args.baseline}: cold build {wall:.1f} s (CPU {cpu:.0f} s), peak {rss:.0f} MB; site "
                  f"{site_size(old_site)['bytes'] / 1e6:.1f} MB")
        cold = statistics.median(walls)
        ok = cold < TARGETS["build_s"]
        missed |= not ok
        print(f"  cold build: median {cold:.1f} s (min {min(walls):.1f}, {len(walls)} runs; CPU "
              f"{statistics.median(cpus):.0f} s), peak {peak:.0f} MB  < {TARGETS['build_s']:.0f} s: "
              f"{'ok' if ok else 'MISSED'}")
        print(f"  resumed build (media kept): {resumed:.1f} s (CPU {resumed_cpu:.0f} s)")
        size = site_size(site)
        print(f"  site: {size['bytes'] / 1e6:.1f} MB in {size['files']:,} files (media {size['media_bytes'] / 1e6:.1f}"
              f" MB); largest data file {size['largest_data'][0]} {size['largest_data'][1] / 1e3:.0f} kB")
        if not args.chromium:
            print("  pages: no Chromium (set PIXBENCH_CHROMIUM or --chromium)")
            continue
        for page, timing in page_timings(site, args.chromium, args.repeat).items():
            heavy = timing["bytes"] > TARGETS["page_bytes"]
            slow = page == "index" and timing["dcl"] > TARGETS["index_interactive_ms"]
            missed |= heavy or slow or bool(timing["errors"])
            print(f"  {page:7} FCP {timing['fcp']:6.0f} ms, DOMContentLoaded {timing['dcl']:6.0f} ms, ready "
                  f"{timing['ready']:6.0f} ms; {timing['bytes'] / 1e3:6.0f} kB in {timing['requests']} files"
                  f"{'  OVER 1 MB' if heavy else ''}{'  SLOW' if slow else ''}"
                  f"{'  errors: ' + '; '.join(timing['errors'][:3]) if timing['errors'] else ''}")
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
