"""Whole-process wall time and peak memory of ``pixbench score`` on the real annotations.

Builds PixMMVP and PixCV-Bench (annotations only, stand-in sizes) from ``../shared/data``, then writes
predictions: PixMMVP 300 rows with a letter answer and 60 candidate masks each on the ``vqa`` probe
(18,000 RLE masks: boxes around, inside and away from the ground truth), and PixCV-Bench 1,438 rows with a
letter answer and a ``segment`` mask. Each scoring run is its own process (``wait4`` gives its peak RSS):

    python benchmarks/bench_score.py [--data ../shared/data] [--keep DIR]

Target (2-core machine): PixMMVP with oracle selection under 1.5 s and 500 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PREPARE = r"""
import json, sys
from pathlib import Path
import numpy as np
from pixbench.annotation import rle
from pixbench.loaders import pixcvbench, pixmmvp, synthetic
from pixbench.references import load_reference

data, work = Path(sys.argv[1]), Path(sys.argv[2])
pixmmvp.build(annotations_dir=data / "pixmmvp", out_dir=work / "PixMMVP", with_images=False)
parquet = synthetic.write_cvbench_parquet(data / "pixcvbench", work / "CV-Bench" / "test.parquet")
pixcvbench.build(cvbench_paths=[parquet], annotations_dir=data / "pixcvbench", out_dir=work / "PixCV-Bench",
                 with_images=False)
rng = np.random.default_rng(0)

def box(h, w):
    m = np.zeros((h, w), dtype=np.uint8)
    y, x = rng.integers(0, h - 8), rng.integers(0, w - 8)
    m[y:y + rng.integers(4, h // 2), x:x + rng.integers(4, w // 2)] = 1
    return m

def jitter(gt):
    g = rle.decode(gt)
    return np.roll(g, (int(rng.integers(-6, 7)), int(rng.integers(-6, 7))), axis=(0, 1))

ref = load_reference("pixmmvp", str(work / "PixMMVP"))
with open(work / "pixmmvp.jsonl", "w") as f:
    for i, row in ref.rows.items():
        f.write(json.dumps({"benchmark": "pixmmvp", "id": i, "probe": "letter", "response": "A"}) + "\n")
        cands = []
        for k in range(60):
            m = jitter(row.mask) if k % 3 == 0 else box(row.height, row.width)
            cands.append({"mask": rle.encode(m), "phrase": "the thing", "char_start": 0, "char_end": 9,
                          "score": float(rng.random())})
        f.write(json.dumps({"benchmark": "pixmmvp", "id": i, "probe": "vqa", "response": "the thing is A.",
                            "candidates": cands}) + "\n")
ref = load_reference("pixcvbench", str(work / "PixCV-Bench"))
with open(work / "pixcvbench.jsonl", "w") as f:
    for i, row in ref.rows.items():
        f.write(json.dumps({"benchmark": "pixcvbench", "id": i, "probe": "letter", "response": "(B)"}) + "\n")
        f.write(json.dumps({"benchmark": "pixcvbench", "id": i, "probe": "segment",
                            "mask": rle.encode(jitter(row.mask))}) + "\n")
"""


def measure(command: list[str], stdout: Path | None = None) -> tuple[float, float]:
    """Run a command; (wall seconds, peak RSS MB) of that process alone."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    out = open(stdout, "w") if stdout else subprocess.DEVNULL  # noqa: SIM115
    start = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    if stdout:
        out.close()  # type: ignore[union-attr]
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: {' '.join(command)}\n{process.stderr.read().decode() if process.stderr else ''}")
    return wall, usage.ru_maxrss / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it")
    parser.add_argument("--repeat", type=int, default=3, help="runs per step (the best is reported)")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="pixbench-bench-score-"))
    work.mkdir(parents=True, exist_ok=True)
    wall, _ = measure([sys.executable, "-c", PREPARE, str(args.data), str(work)])
    print(f"prepared data and predictions in {wall:.1f} s "
          f"(pixmmvp.jsonl {(work / 'pixmmvp.jsonl').stat().st_size / 1e6:.1f} MB)")
    score = [sys.executable, "-m", "pixbench.cli", "score", "--no-judge", "--format", "json",
             "--data", f"pixmmvp={work / 'PixMMVP'}", "--data", f"pixcvbench={work / 'PixCV-Bench'}"]
    steps = [("PixMMVP, 18,000 candidates, oracle", [*score, "--select", "oracle", str(work / "pixmmvp.jsonl")],
              (1.5, 500)),
             ("PixCV-Bench, 1,438 masks", [*score, str(work / "pixcvbench.jsonl")], None),
             ("both files, oracle", [*score, "--select", "oracle", str(work / "pixmmvp.jsonl"),
                                     str(work / "pixcvbench.jsonl")], None)]
    print(f"{'step':40} {'wall s':>8} {'peak MB':>9}  target")
    missed = False
    for name, command, target in steps:
        runs = [measure(command, work / "report.json") for _ in range(args.repeat)]
        wall, peak = min(r[0] for r in runs), max(r[1] for r in runs)
        verdict = ""
        if target:
            ok = wall < target[0] and peak < target[1]
            missed |= not ok
            verdict = f"< {target[0]} s and < {target[1]} MB: " + ("ok" if ok else "MISSED")
        print(f"{name:40} {wall:8.2f} {peak:9.0f}  {verdict}")
    report = json.loads((work / "report.json").read_text())
    for result in report["results"]:
        print(f"  {result['benchmark']}: M_dagger={result['metrics']['M_dagger']} M={result['metrics']['M']}")
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
