"""Peak memory and wall time of ``pixbench score`` on hostile predictions files, one process each.

Builds PixMMVP (annotations only, real image sizes) from ``../shared/data``, then writes one file per
kind of damage found when pixbench was attacked (far-away and dense polygons, huge RLE strings, a
12000x12000 PNG, /dev/zero, a FIFO, 1 MB lines of every mask form, deep nesting) and scores each in its
own process (``wait4`` gives its peak RSS). Every run must refuse the input cleanly (exit status 1, a
message naming the file and line, no traceback), except the case that is only expensive
(``polygons_at_budget``), which must be scored.

    python benchmarks/bench_hostile.py [--data ../shared/data] [--keep DIR]

Targets (2-core machine): every case under 1 GB and 5 s. The measuring process imports nothing heavy:
on Linux a child starts with its parent's peak RSS, which would hide the child's own.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

TARGET_SECONDS, TARGET_MB = 5.0, 1024.0
#: Cases that are valid, only expensive: they must be scored (exit 0) within the same limits.
ACCEPTED = {"polygons_at_budget"}


def _line(**fields: object) -> str:
    return json.dumps({"benchmark": "pixmmvp", "id": 1, "probe": "segment", **fields})


def cases(folder: Path, height: int, width: int) -> dict[str, Callable[[], Path]]:
    """Name -> a function writing that case's predictions file (or naming a special file)."""
    import numpy as np

    rng = np.random.default_rng(0)

    def write(name: str, text: str) -> Path:
        path = folder / f"{name}.jsonl"
        path.write_text(text + "\n", encoding="utf-8")
        return path

    def polygon(n: int, spread: float) -> list[float]:
        return [round(float(v), 1) for v in rng.uniform(-spread, spread, size=2 * n)]

    def far_1000() -> Path:  # the 15 kB line of the report: far-away vertices, a size that is not the image's
        return write("far_1000", _line(mask={"size": [height * 20, width * 20],
                                             "polygons": [polygon(1000, 20 * width)]}))

    def far_10000() -> Path:
        return write("far_10000", _line(mask={"size": [height, width], "polygons": [polygon(10_000, 1e7)]}))

    def dense_300k() -> Path:  # valid size, every vertex inside the image, 300,000 of them
        points = np.stack([rng.uniform(0, width, 300_000), rng.uniform(0, height, 300_000)], axis=1)
        return write("dense_300k", _line(mask={"size": [height, width],
                                               "polygons": [np.round(points, 1).ravel().tolist()]}))

    def polygons_at_budget() -> Path:  # in bounds, just under the perimeter budget: rasterised, then scored
        points = np.stack([rng.uniform(-width, 2 * width, 400_000), rng.uniform(-height, 2 * height, 400_000)], 1)
        steps = np.abs(np.diff(points, axis=0, append=points[:1])).max(axis=1)
        count = int(np.searchsorted(np.cumsum(steps), 3_900_000))  # closing edge included below the budget
        chosen = np.round(points[:max(count - 2, 3)], 1)
        return write("polygons_at_budget", _line(mask={"size": [height, width], "polygons": [chosen.ravel().tolist()]}))

    def polygons_1mb() -> Path:  # many in-bounds polygons of moderate size in a 1 MB line
        parts = [polygon(50, max(height, width)) for _ in range(1_600)]
        return write("polygons_1mb", _line(mask={"size": [height, width], "polygons": parts}))

    def rle_50mb() -> Path:
        return write("rle_50mb", _line(mask={"size": [height, width], "counts": "0" * 50_000_000}))

    def rle_1mb() -> Path:
        return write("rle_1mb", _line(mask={"size": [height, width], "counts": "1" * 1_000_000}))

    def rle_1mb_big_canvas() -> Path:  # no ground-truth size can be claimed around: one far bigger
        return write("rle_1mb_big_canvas", _line(mask={"size": [16_000, 16_000], "counts": "1" * 1_000_000}))

    def counts_list_1mb() -> Path:
        return write("counts_list_1mb", _line(mask={"size": [height, width], "counts": [1] * 330_000}))

    def candidates_1mb() -> Path:
        candidate = {"mask": {"size": [height, width], "counts": "1" * 1_000}, "phrase": "x"}
        return write("candidates_1mb", _line(probe="vqa", response="x", candidates=[candidate] * 900))

    def png_12000() -> Path:
        from PIL import Image

        masks = folder / "masks"
        masks.mkdir(exist_ok=True)
        Image.new("1", (12_000, 12_000)).save(masks / "huge.png")
        return write("png_12000", _line(mask={"png": "masks/huge.png"}))

    def png_fifo() -> Path:
        fifo = folder / "masks" / "fifo.png"
        fifo.parent.mkdir(exist_ok=True)
        if not fifo.exists():
            os.mkfifo(fifo)
        return write("png_fifo", _line(mask={"png": "masks/fifo.png"}))

    def deep_1mb() -> Path:
        return write("deep_1mb", '{"benchmark": "pixmmvp", "id": 1, "probe": "segment", "mask": '
                     + "[" * 500_000 + "]" * 500_000 + "}")

    def huge_int() -> Path:
        return write("huge_int", '{"benchmark": "pixmmvp", "probe": "segment", "id": ' + "7" * 1_000_000 + "}")

    def dev_zero() -> Path:
        return Path("/dev/zero")

    return {f.__name__: f for f in (far_1000, far_10000, dense_300k, polygons_at_budget,
                                    polygons_1mb, rle_50mb, rle_1mb,
                                    rle_1mb_big_canvas, counts_list_1mb, candidates_1mb, png_12000, png_fifo,
                                    deep_1mb, huge_int, dev_zero)}


def measure(command: list[str], timeout: float = 120.0) -> tuple[float, float, int, str]:
    """(wall seconds, peak RSS MB, exit status, stderr) of one process."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    start = time.perf_counter()
    with tempfile.TemporaryFile() as err:
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=err)
        deadline = start + timeout
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                process.kill()
                _, status, usage = os.wait4(process.pid, 0)
                break
            time.sleep(0.02)
        wall = time.perf_counter() - start
        err.seek(0)
        text = err.read().decode("utf-8", errors="replace")
    return wall, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status), text


def prepare(data: Path, work: Path) -> int:
    """Build the ground truth and write every case's file; their paths go to ``cases.json``."""
    from pixbench.loaders import pixmmvp
    from pixbench.references import load_reference

    work.mkdir(parents=True, exist_ok=True)
    built = work / "PixMMVP"
    if not (built / "build_summary.json").exists():
        pixmmvp.build(annotations_dir=data / "pixmmvp", out_dir=built, with_images=False)
    row = load_reference("pixmmvp", str(built)).rows[1]
    paths = {name: str(make()) for name, make in cases(work, row.height, row.width).items()}
    (work / "cases.json").write_text(json.dumps({"height": row.height, "width": row.width, "cases": paths}))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it")
    parser.add_argument("--prepare", type=Path, help=argparse.SUPPRESS)  # the child that writes the files
    args = parser.parse_args()
    if args.prepare:
        return prepare(args.data, args.prepare)
    work = args.keep or Path(tempfile.mkdtemp(prefix="pixbench-bench-hostile-"))
    work.mkdir(parents=True, exist_ok=True)
    # written by a child process: a forked process starts with its parent's peak RSS on Linux
    subprocess.run([sys.executable, __file__, "--data", str(args.data), "--prepare", str(work)], check=True)
    built = work / "PixMMVP"
    sizes = json.loads((work / "cases.json").read_text())
    print(f"ground truth of row 1: {sizes['height']} x {sizes['width']}")
    score = [sys.executable, "-m", "pixbench.cli", "score", "--no-judge", "--data", f"pixmmvp={built}"]
    print(f"{'case':20} {'file MB':>8} {'wall s':>7} {'peak MB':>8} {'exit':>5}  message")
    missed = False
    for name, where in sizes["cases"].items():
        path = Path(where)
        size = path.stat().st_size / 1e6 if path.is_file() else 0.0
        wall, peak, status, err = measure([*score, str(path)])
        expected = 0 if name in ACCEPTED else 1
        clean = status == expected and "Traceback" not in err and (expected == 0 or str(path) in err)
        ok = clean and wall < TARGET_SECONDS and peak < TARGET_MB
        missed |= not ok
        message = next((line for line in err.splitlines() if line.startswith("error: ") and str(path) in line), "")
        message = message.replace(f"error: {path}", "").strip()
        print(f"{name:20} {size:8.1f} {wall:7.2f} {peak:8.0f} {status:5d}  {message[:90]}"
              + ("" if ok else "   <- MISSED"))
    print(f"target: exit 1 with the file named, no traceback, < {TARGET_SECONDS} s and < {TARGET_MB:.0f} MB each: "
          + ("MISSED" if missed else "ok"))
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
