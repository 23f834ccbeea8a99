"""Wall time and peak memory of building PixMMVP and PixCV-Bench from the real annotations.

Stand-in images are generated first (in a child process, not timed); then each step runs in its own
process, so its peak resident memory (from ``wait4``) is its own: the builds through the
``pixbench build`` command, and ``datasets.load_dataset`` of each result with the hub offline.
PixCV-Bench is built twice: with images of the masks' canvas size (no resizing), and with images 1.25x
larger, so that every one of its 2,851 RLE masks must be resized (the worst case).

    python perf/bench_build.py [--data ../shared/data] [--keep DIR]

Targets (2-core machine): PixCV-Bench (1438 rows) under 60 s and 2 GB; PixMMVP under 10 s.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GENERATE = """
import sys
from pathlib import Path
from pixbench.benchmarks.pixcvbench.synthetic import write_cvbench_parquet
from pixbench.benchmarks.pixmmvp.synthetic import write_mmvp_release
data, work = Path(sys.argv[1]), Path(sys.argv[2])
write_mmvp_release(data / "pixmmvp", work / "MMVP")
write_cvbench_parquet(data / "pixcvbench", work / "CV-Bench" / "test.parquet")
write_cvbench_parquet(data / "pixcvbench", work / "CV-Bench-larger" / "test.parquet", scale=1.25)
"""
LOAD = ("import sys; from datasets import load_dataset; ds = load_dataset(sys.argv[1], split='test'); "
        "n = sum(1 for _ in ds); assert n == ds.num_rows, n; print(ds.num_rows)")


def measure(command: list[str]) -> tuple[float, float]:
    """Run a command; return (wall seconds, peak RSS in MB) of that process alone."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    start = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        error = process.stderr.read().decode() if process.stderr else ""
        raise SystemExit(f"failed: {' '.join(command)}\n{error}")
    return wall, usage.ru_maxrss / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    default_data = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
    parser.add_argument("--data", type=Path, default=default_data)
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="pixbench-bench-"))
    wall, _ = measure([sys.executable, "-c", GENERATE, str(args.data), str(work)])
    print(f"generated stand-in images in {wall:.1f} s")
    cli = [sys.executable, "-m", "pixbench.cli"]
    cv_build = [*cli, "build", "pixcvbench", "--annotations", str(args.data / "pixcvbench")]
    steps = [
        ("build PixMMVP (300 rows)", [*cli, "build", "pixmmvp", "--mmvp", str(work / "MMVP"), "--annotations",
                                      str(args.data / "pixmmvp"), "--out", str(work / "PixMMVP")], 10.0),
        ("build PixCV-Bench (1438 rows)", [*cv_build, "--cvbench", str(work / "CV-Bench" / "test.parquet"),
                                           "--out", str(work / "PixCV-Bench")], 60.0),
        ("  same, every RLE mask resized", [*cv_build, "--cvbench", str(work / "CV-Bench-larger" / "test.parquet"),
                                            "--out", str(work / "PixCV-Bench-larger")], 60.0),
        ("load_dataset PixMMVP", [sys.executable, "-c", LOAD, str(work / "PixMMVP")], None),
        ("load_dataset PixCV-Bench", [sys.executable, "-c", LOAD, str(work / "PixCV-Bench")], None),
    ]
    print(f"{'step':34} {'wall s':>8} {'peak MB':>9}  target")
    missed = False
    for name, command, target in steps:
        wall, peak = measure(command)
        verdict = ""
        if target is not None:
            ok = wall < target and peak < 2048
            missed |= not ok
            verdict = f"< {target:.0f} s and < 2048 MB: " + ("ok" if ok else "MISSED")
        print(f"{name:34} {wall:8.2f} {peak:9.0f}  {verdict}")
    print(f"outputs in {work}")
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
