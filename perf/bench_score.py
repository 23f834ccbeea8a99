"""Whole-process wall time and peak memory of ``pixbench score`` on the real annotations.

Builds PixMMVP (300 rows, 224 x 224) and PixCV-Bench (1,438 rows, 256 x 256 to 640 x 640) from
``../shared/data`` (annotations only, stand-in sizes), then writes predictions files (a letter answer on
every row, and masks):

- ``pixmmvp_boxes.jsonl``: 60 candidates a row on the ``vqa`` probe (18,000 RLE masks): boxes, and the
  ground truth shifted by a few pixels (every third); boxes have short RLE strings (two runs a column).
- ``pixmmvp_realistic.jsonl``: 60 candidates a row shaped like a segmenter's outputs (18,000 masks): the
  ground truth shifted with a ragged boundary (box-blurred and thresholded with smooth noise added), at
  times with stray blobs; unions of 1-3 ragged blobs (star-shaped polygons with noisy radii, from 2 pixels
  to half the image across) with 0-2 holes; and, one in ten, a large region with holes and islands
  (thresholded smooth noise, up to nearly the whole image).
- ``pixcvbench.jsonl``: a ``segment`` mask a row (the ground truth shifted): 1,438 masks.
- ``pixcvbench_realistic.jsonl``: a realistic ``segment`` mask and 6 realistic candidates a row on the
  ``vqa`` probe (10,066 masks, at sizes 3 to 6 times PixMMVP's).

Each scoring run is its own process (``wait4`` gives its peak RSS); the measuring process imports only the
standard library (on Linux a child starts with its parent's peak RSS), and the files are written by a child.

    python perf/bench_score.py [--data ../shared/data] [--keep DIR] [--repeat 5]
    python perf/bench_score.py --keep /tmp/bench --baseline /tmp/old_tree   # before/after

``--baseline TREE`` (a checkout of another commit, e.g. ``git worktree add /tmp/old_tree HEAD~3``) runs
every step against that tree too, interleaved with this one (one run each in turn, ``PYTHONPATH`` set to
the tree, started in the work folder), prints both and the ratio of the medians, and checks that the two
JSON reports of every step are byte-identical. Times are the minimum and the median of ``--repeat`` runs.

Targets (2-core machine): PixMMVP with oracle selection under 1.5 s on boxes and under 1.0 s on realistic
masks, under 500 MB each.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
#: Candidates per row: PixMMVP (boxes and realistic), PixCV-Bench (realistic).
PIXMMVP_CANDIDATES, PIXCVBENCH_CANDIDATES = 60, 6


# ---------------------------------------------------------------------------------------------- masks


class Shapes:
    """Mask generators (numpy only): boxes, and shapes like a segmenter's outputs."""

    def __init__(self, seed: int) -> None:
        import numpy as np

        self.np = np
        self.rng = np.random.default_rng(seed)

    def box(self, height: int, width: int) -> Any:
        m = self.np.zeros((height, width), dtype=self.np.uint8)
        y, x = self.rng.integers(0, height - 8), self.rng.integers(0, width - 8)
        m[y:y + self.rng.integers(4, height // 2), x:x + self.rng.integers(4, width // 2)] = 1
        return m

    def shifted(self, gt: Any, most: int = 6) -> Any:
        dy, dx = (int(self.rng.integers(-most, most + 1)) for _ in range(2))
        return self.np.roll(gt, (dy, dx), axis=(0, 1))

    def smooth_noise(self, height: int, width: int, cell: int) -> Any:
        """Noise in [-1, 1] that varies over ``cell`` pixels: a coarse random grid, bilinearly upsampled."""
        np = self.np
        grid = self.rng.uniform(-1, 1, (height // cell + 2, width // cell + 2))
        y, x = np.arange(height) / cell, np.arange(width) / cell
        y0, x0 = y.astype(int), x.astype(int)
        fy, fx = (y - y0)[:, None], (x - x0)[None, :]
        top = grid[y0][:, x0] * (1 - fx) + grid[y0][:, x0 + 1] * fx
        bottom = grid[y0 + 1][:, x0] * (1 - fx) + grid[y0 + 1][:, x0 + 1] * fx
        return top * (1 - fy) + bottom * fy

    def blur(self, mask: Any, k: int) -> Any:
        """Box blur (edge-padded) over ``2k + 1`` pixels, as floats."""
        np = self.np
        padded = np.pad(mask.astype(np.float64), k, mode="edge")
        table = np.pad(np.cumsum(np.cumsum(padded, 0), 1), ((1, 0), (1, 0)))
        s = 2 * k + 1
        return (table[s:, s:] - table[:-s, s:] - table[s:, :-s] + table[:-s, :-s]) / (s * s)

    def blob(self, height: int, width: int, cy: float, cx: float, radius: float) -> list[float]:
        """A ragged star-shaped polygon around ``(cy, cx)``: its radius varies by a few harmonics and jitter."""
        np = self.np
        n = int(np.clip(radius * 2, 12, 160))
        t = np.linspace(0, 2 * np.pi, n, endpoint=False)
        r = radius * (1 + sum(self.rng.uniform(0, 0.25) * np.sin(k * t + self.rng.uniform(0, 6.3))
                              for k in range(1, 5)))
        r = r * self.rng.uniform(0.94, 1.06, n)
        xs, ys = np.clip(cx + r * np.cos(t), 0, width), np.clip(cy + r * np.sin(t), 0, height)
        return np.stack([xs, ys], axis=1).ravel().tolist()

    def blobs(self, height: int, width: int, parts: int, holes: int) -> Any:
        """A union of ``parts`` ragged blobs (2 pixels to half the image across) less ``holes`` small ones."""
        from pixbench.annotation import rle

        np = self.np
        polygons = []
        for _ in range(parts):
            radius = float(np.exp(self.rng.uniform(np.log(2), np.log(min(height, width) * 0.45))))
            polygons.append(self.blob(height, width, self.rng.uniform(0, height), self.rng.uniform(0, width), radius))
        mask = rle.decode(rle.from_polygons(polygons, height, width))
        for _ in range(holes):
            ys, xs = np.nonzero(mask)
            if ys.size == 0:
                break
            j = self.rng.integers(ys.size)
            hole = self.blob(height, width, ys[j], xs[j], self.rng.uniform(1.5, 12))
            mask &= ~rle.decode(rle.from_polygons([hole], height, width))
        return mask

    def perturbed(self, gt: Any) -> Any:
        """The ground truth shifted, its boundary made ragged, sometimes with stray blobs."""
        height, width = gt.shape
        moved = self.shifted(gt, 8)
        noise = self.smooth_noise(height, width, int(self.rng.integers(4, 16)))
        field = self.blur(moved, int(self.rng.integers(1, 5))) + self.rng.uniform(0.1, 0.3) * noise
        mask = field > self.rng.uniform(0.4, 0.6)
        if self.rng.random() < 0.5:
            mask |= self.blobs(height, width, int(self.rng.integers(1, 4)), 0)
        return mask

    def region(self, height: int, width: int) -> Any:
        """A large ragged region with holes and islands (thresholded smooth noise)."""
        noise = self.smooth_noise(height, width, int(self.rng.integers(16, 48)))
        noise += 0.15 * self.smooth_noise(height, width, 6)
        return noise > self.rng.uniform(-0.8, 0.5)

    def realistic(self, gt: Any, k: int) -> Any:
        """Candidate ``k`` of a row: the ground truth perturbed (4 in 10), a region (1 in 10), blobs."""
        height, width = gt.shape
        kind = k % 10
        if kind < 4 and gt.any():
            return self.perturbed(gt)
        if kind == 4:
            return self.region(height, width)
        return self.blobs(height, width, int(self.rng.integers(1, 4)), int(self.rng.integers(0, 3)))


def prepare(data: Path, work: Path) -> int:
    """Build both benchmarks into ``work`` and write the predictions files (run in a child process)."""
    from pixbench.annotation import rle
    from pixbench.benchmarks.pixcvbench import build as pixcvbench
    from pixbench.benchmarks.pixcvbench.synthetic import write_cvbench_parquet
    from pixbench.benchmarks.pixmmvp import build as pixmmvp
    from pixbench.references import load_reference

    work.mkdir(parents=True, exist_ok=True)
    if not (work / "PixMMVP" / "build_summary.json").exists():
        pixmmvp.build(annotations_dir=data / "pixmmvp", out_dir=work / "PixMMVP", with_images=False)
    if not (work / "PixCV-Bench" / "build_summary.json").exists():
        parquet = write_cvbench_parquet(data / "pixcvbench", work / "CV-Bench" / "test.parquet")
        pixcvbench.build(cvbench_paths=[parquet], annotations_dir=data / "pixcvbench", out_dir=work / "PixCV-Bench",
                         with_images=False)

    def candidate(mask: Any, score: float) -> dict[str, Any]:
        return {"mask": rle.encode(mask), "phrase": "the thing", "char_start": 0, "char_end": 9, "score": score}

    def line(benchmark: str, row_id: int, probe: str, **fields: Any) -> str:
        return json.dumps({"benchmark": benchmark, "id": row_id, "probe": probe, **fields}) + "\n"

    mmvp = load_reference("pixmmvp", str(work / "PixMMVP"))
    cv = load_reference("pixcvbench", str(work / "PixCV-Bench"))
    def pixmmvp_boxes(shapes: Shapes) -> Iterator[str]:
        for i, row in mmvp.rows.items():
            gt = rle.decode(row.mask)
            yield line("pixmmvp", i, "letter", response="A")
            cands = [candidate(shapes.shifted(gt) if k % 3 == 0 else shapes.box(row.height, row.width),
                               float(shapes.rng.random())) for k in range(PIXMMVP_CANDIDATES)]
            yield line("pixmmvp", i, "vqa", response="the thing is A.", candidates=cands)

    def pixmmvp_realistic(shapes: Shapes) -> Iterator[str]:
        for i, row in mmvp.rows.items():
            gt = rle.decode(row.mask)
            yield line("pixmmvp", i, "letter", response="A")
            cands = [candidate(shapes.realistic(gt, k), float(shapes.rng.random())) for k in range(PIXMMVP_CANDIDATES)]
            yield line("pixmmvp", i, "vqa", response="the thing is A.", candidates=cands)

    def pixcvbench_jittered(shapes: Shapes) -> Iterator[str]:
        for i, row in cv.rows.items():
            yield line("pixcvbench", i, "letter", response="(B)")
            yield line("pixcvbench", i, "segment", mask=rle.encode(shapes.shifted(rle.decode(row.mask))))

    def pixcvbench_realistic(shapes: Shapes) -> Iterator[str]:
        for n, (i, row) in enumerate(cv.rows.items()):
            gt = rle.decode(row.mask)
            yield line("pixcvbench", i, "letter", response="(B)")
            yield line("pixcvbench", i, "segment", mask=rle.encode(shapes.realistic(gt, 0)))
            cands = [candidate(shapes.realistic(gt, n * PIXCVBENCH_CANDIDATES + k), float(shapes.rng.random()))
                     for k in range(PIXCVBENCH_CANDIDATES)]  # the kinds in turn, across rows
            yield line("pixcvbench", i, "vqa", response="the thing is A.", candidates=cands)

    files = {"pixmmvp_boxes": pixmmvp_boxes, "pixmmvp_realistic": pixmmvp_realistic, "pixcvbench": pixcvbench_jittered,
             "pixcvbench_realistic": pixcvbench_realistic}
    for seed, (name, make) in enumerate(files.items()):  # each file has its own seed; existing ones are kept
        path = work / f"{name}.jsonl"
        if not path.exists():
            with open(path.with_suffix(".part"), "w") as f:
                f.writelines(make(Shapes(seed)))
            path.with_suffix(".part").rename(path)
    return 0


# ---------------------------------------------------------------------------------------------- runs


def measure(command: list[str], tree: Path, cwd: Path, stdout: Path) -> tuple[float, float]:
    """Run a command with ``tree`` first on the path; (wall seconds, peak RSS MB) of that process alone."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "PYTHONPATH": str(tree)}
    with open(stdout, "wb") as out:
        start = time.perf_counter()
        process = subprocess.Popen(command, env=env, cwd=cwd, stdout=out, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed ({tree}): {' '.join(command)}\n"
                         f"{process.stderr.read().decode() if process.stderr else ''}")
    if process.stderr:
        process.stderr.close()
    return wall, usage.ru_maxrss / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it (files there are reused)")
    parser.add_argument("--repeat", type=int, default=5, help="runs per step and tree (min and median reported)")
    parser.add_argument("--baseline", type=Path, metavar="TREE",
                        help="also run every step on this source tree, interleaved; compare times and reports")
    parser.add_argument("--only", nargs="+", metavar="STEP", help="run only the steps whose names start so")
    parser.add_argument("--prepare", type=Path, help=argparse.SUPPRESS)  # the child that writes the files
    args = parser.parse_args()
    if args.prepare:
        return prepare(args.data, args.prepare)
    work = (args.keep or Path(tempfile.mkdtemp(prefix="pixbench-bench-score-"))).resolve()
    work.mkdir(parents=True, exist_ok=True)
    files = ("pixmmvp_boxes", "pixmmvp_realistic", "pixcvbench", "pixcvbench_realistic")
    if not all((work / f"{name}.jsonl").exists() for name in files):
        start = time.perf_counter()
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        subprocess.run([sys.executable, __file__, "--data", str(args.data), "--prepare", str(work)], check=True,
                       env=env)
        print(f"prepared data and predictions in {time.perf_counter() - start:.1f} s")
    for name in files:
        print(f"  {name}.jsonl: {(work / f'{name}.jsonl').stat().st_size / 1e6:.1f} MB")
    score = [sys.executable, "-m", "pixbench.cli", "score", "--no-judge", "--format", "json",
             "--data", f"pixmmvp={work / 'PixMMVP'}", "--data", f"pixcvbench={work / 'PixCV-Bench'}"]
    oracle = [*score, "--select", "oracle"]
    steps: list[tuple[str, list[str], tuple[float, float] | None]] = [
        ("pixmmvp boxes, oracle", [*oracle, "pixmmvp_boxes.jsonl"], (1.5, 500)),
        ("pixmmvp realistic, oracle", [*oracle, "pixmmvp_realistic.jsonl"], (1.0, 500)),
        ("pixmmvp realistic, score", [*score, "--select", "score", "pixmmvp_realistic.jsonl"], None),
        ("pixcvbench, 1,438 masks", [*score, "pixcvbench.jsonl"], None),
        ("pixcvbench realistic, oracle", [*oracle, "pixcvbench_realistic.jsonl"], None),
        ("both realistic, oracle", [*oracle, "pixmmvp_realistic.jsonl", "pixcvbench_realistic.jsonl"], None),
    ]
    if args.only:
        steps = [step for step in steps if any(step[0].startswith(prefix) for prefix in args.only)]
    trees = [("this", ROOT)] + ([("baseline", args.baseline.resolve())] if args.baseline else [])
    head = f"{'step':30} {'tree':8} {'min s':>7} {'median s':>9} {'peak MB':>8}"
    print(f"{head}  target" if not args.baseline else f"{head} {'ratio':>6}  target")
    missed = differ = False
    for name, command, target in steps:
        walls: dict[str, list[float]] = {label: [] for label, _ in trees}
        peaks: dict[str, float] = dict.fromkeys(walls, 0.0)
        for _ in range(args.repeat):
            for label, tree in trees:
                wall, peak = measure(command, tree, work, work / f"report_{label}.json")
                walls[label].append(wall)
                peaks[label] = max(peaks[label], peak)
        for label, _ in trees:
            best, median = min(walls[label]), statistics.median(walls[label])
            row = f"{name if label == 'this' else '':30} {label:8} {best:7.2f} {median:9.2f} {peaks[label]:8.0f}"
            if args.baseline:
                ratio = median / statistics.median(walls["baseline"])
                row += f" {ratio:6.2f}" if label == "this" else " " * 7
            if label == "this" and target:
                ok = median < target[0] and peaks[label] < target[1]
                missed |= not ok
                row += f"  < {target[0]} s and < {target[1]} MB: " + ("ok" if ok else "MISSED")
            print(row)
        report = json.loads((work / "report_this.json").read_text())
        values = "; ".join(f"{r['benchmark']} M_dagger={r['metrics']['M_dagger']} M={r['metrics']['M']}"
                           for r in report["results"])
        if args.baseline:
            same = (work / "report_this.json").read_bytes() == (work / "report_baseline.json").read_bytes()
            differ |= not same
            values += "; reports " + ("byte-identical" if same else "DIFFER")
        print(f"{'':30} {values}")
    if args.baseline:
        print("reports of both trees: " + ("byte-identical on every step" if not differ else "DIFFER"))
    return 1 if missed or differ else 0


if __name__ == "__main__":
    raise SystemExit(main())
