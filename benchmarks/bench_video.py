"""Benchmark: SAM 2 box propagation on long 720p clips, time per frame and peak memory against clip length.

The tiny random SAM 2 video model of :func:`pixbench.baselines.video_segmenters.tiny_sam2_video` (64 px
input; its masks are arbitrary, the mechanics are real) propagates two boxes, seeded on the middle frame,
forward to the last frame and backward to frame 0 through a synthetic clip of 720 x 1280 frames (two
squares moving), with :meth:`~pixbench.baselines.video_segmenters.Sam2VideoSegmenter.iter_segment`
(masks are consumed as they come, as a writer would). Clip lengths 54, 108 and 216 frames, each with and
without ``offload``; the frames are a lazy sequence that renders frame ``t`` when it is read, so the clip
itself is never in memory. Two more runs at the longest length: ``input=iterator`` (a generator: the
segmenter keeps the frames resized to the model's input) and ``trim_state=False`` (the session keeps every
frame's state, as ``transformers`` does).

Each run is a fresh subprocess. Reported: seconds per frame (the whole propagation: reading and resizing
the frame, the model, upsampling and the union of the masks; the initial frame is counted once),
the peak resident memory above the level just before propagation (sampled every 2 ms), the largest
tracking state the session held (bytes of the tensors in its per-object outputs), and the bytes of the
frames kept by the segmenter. On CPU ``offload`` changes nothing but the code path (every device is the CPU).

Resident memory counts heap that ``free`` keeps for reuse: with glibc's default dynamic mmap threshold
the decoded frames that a generator yields (2.7 MB each, released at once) stay in the heap, interleaved
with the small resized copies the segmenter keeps, so ``input=iterator`` shows a few hundred MiB that
``malloc_trim`` returns and that no object references. The workers therefore run with
``MALLOC_MMAP_THRESHOLD_=131072`` (glibc's default threshold, kept fixed), so the peak is what is held;
``--glibc-default`` measures with the default allocator (the lazy runs are the same either way).

Target: from the shortest to the longest clip, the peak memory above the start grows by less than 5 % of the
extra frames' own bytes (``162 x 720 x 1280 x 3`` = 448 MB at the defaults), with and without offload; the
trimmed tracking state is the same at the two longest lengths (it saturates at twice the memory window).
Default run: about a minute and a half on two CPU cores.

    python benchmarks/bench_video.py [--frames 54,108,216] [--height 720 --width 1280] [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]


class SyntheticClip:
    """``frames`` frames of ``height x width``: a red square moving right, a green one moving left; frame
    ``t`` is rendered when read (a lazy random-access sequence)."""

    def __init__(self, frames: int, height: int, width: int) -> None:
        self.frames, self.height, self.width = frames, height, width
        self.side = height // 6

    def __len__(self) -> int:
        return self.frames

    def positions(self, t: int) -> tuple[int, int]:
        span = self.width - self.side
        step = span * t // max(self.frames - 1, 1)
        return step, span - step

    def boxes(self, t: int) -> list[tuple[float, float, float, float]]:
        red, green = self.positions(t)
        s, top, bottom = self.side, self.height // 4, self.height // 2
        return [(red, top, red + s, top + s), (green, bottom, green + s, bottom + s)]

    def __getitem__(self, t: int) -> np.ndarray:
        if not 0 <= t < self.frames:
            raise IndexError(t)
        frame = np.full((self.height, self.width, 3), 40, dtype=np.uint8)
        for (x1, y1, x2, y2), colour in zip(self.boxes(t), ((220, 40, 40), (40, 200, 60))):
            frame[int(y1):int(y2), int(x1):int(x2)] = colour
        return frame

    def __iter__(self) -> Iterator[np.ndarray]:
        return (self[t] for t in range(self.frames))


def _tensor_bytes(value: Any) -> int:
    if hasattr(value, "element_size") and hasattr(value, "numel"):
        return int(value.element_size() * value.numel())
    if isinstance(value, dict):
        return sum(_tensor_bytes(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return sum(_tensor_bytes(v) for v in value)
    return 0


def _worker(args: argparse.Namespace) -> dict[str, Any]:
    import psutil
    import torch

    from pixbench.baselines.video_segmenters import Sam2VideoSegmenter, tiny_sam2_video

    if args.threads:
        torch.set_num_threads(args.threads)
    model, processor = tiny_sam2_video(seed=0, image_size=args.image_size)
    segmenter = Sam2VideoSegmenter(model, processor, offload=args.offload, trim_state=not args.untrimmed)
    clip = SyntheticClip(args.worker_frames, args.height, args.width)
    init = args.worker_frames // 2
    boxes = clip.boxes(init)
    frames: Any = iter(clip) if args.input == "iterator" else clip

    state = {"max_state": 0, "frames_kept": 0}
    after = segmenter._after_frame

    def measure(session: Any, frame: int, reverse: bool, init_frame: int) -> None:
        after(session, frame, reverse, init_frame)
        state["max_state"] = max(state["max_state"], _tensor_bytes(session.output_dict_per_obj))
        store = session.processed_frames
        state["frames_kept"] = _tensor_bytes(getattr(store, "_resized", []))

    segmenter._after_frame = measure  # type: ignore[method-assign]
    list(segmenter.iter_segment(SyntheticClip(4, args.height, args.width), init_frame=1, boxes=boxes))  # warm-up

    process = psutil.Process()
    samples: list[int] = []
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            samples.append(process.memory_info().rss)
            time.sleep(0.002)

    before = process.memory_info().rss
    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    start = time.perf_counter()
    count, pixels = 0, 0
    for _, mask in segmenter.iter_segment(frames, init_frame=init, boxes=boxes):
        count += 1
        pixels += int(mask.sum())
    seconds = time.perf_counter() - start
    stop.set()
    thread.join()
    peak = max([*samples, process.memory_info().rss]) - before
    return {"frames": args.worker_frames, "offload": args.offload, "input": args.input,
            "trim_state": not args.untrimmed, "masks": count, "seconds": seconds,
            "seconds_per_frame": seconds / count, "peak_above_start": int(peak), "max_state_bytes": state["max_state"],
            "frames_kept_bytes": state["frames_kept"], "mask_pixels": pixels, "threads": torch.get_num_threads(),
            "parameters": sum(p.numel() for p in model.parameters())}


def _run(args: argparse.Namespace, frames: int, *, offload: bool, input: str = "lazy",
         untrimmed: bool = False) -> dict[str, Any]:
    command = [sys.executable, __file__, "--worker", "--worker-frames", str(frames), "--height", str(args.height),
               "--width", str(args.width), "--threads", str(args.threads), "--image-size", str(args.image_size),
               "--input", input]
    command += ["--offload"] if offload else []
    command += ["--untrimmed"] if untrimmed else []
    env = dict(os.environ)
    if not args.glibc_default:
        env["MALLOC_MMAP_THRESHOLD_"] = str(MMAP_THRESHOLD)
    done = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
    if done.returncode != 0:
        raise RuntimeError(f"worker failed ({' '.join(command[2:])}):\n{done.stderr[-3000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


#: Workers' glibc ``M_MMAP_THRESHOLD`` (its default, 128 KiB, made fixed): see the module docstring.
MMAP_THRESHOLD = 128 * 1024


def _mib(value: float) -> str:
    return f"{value / 2**20:,.1f} MiB"


def main(argv: list[str] | None = None) -> int:
    """Run the configurations, print a table (and JSON with --json); exit 1 if the target is missed."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", default="54,108,216", help="clip lengths, comma-separated (default 54,108,216)")
    parser.add_argument("--height", type=int, default=720, help="frame height (default 720)")
    parser.add_argument("--width", type=int, default=1280, help="frame width (default 1280)")
    parser.add_argument("--image-size", type=int, default=64, help="the tiny model's input size (default 64)")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1; 0: torch's choice)")
    parser.add_argument("--glibc-default", action="store_true",
                        help="keep glibc's dynamic mmap threshold in the workers (see above)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--worker-frames", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--offload", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--untrimmed", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--input", default="lazy", choices=("lazy", "iterator"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(_worker(args)))
        return 0

    lengths = sorted(int(n) for n in args.frames.split(","))
    runs: list[dict[str, Any]] = []
    plan = [(n, {"offload": offload}) for n in lengths for offload in (False, True)]
    plan += [(lengths[-1], {"offload": False, "input": "iterator"}),
             (lengths[-1], {"offload": False, "untrimmed": True})]
    for n, options in plan:
        runs.append(_run(args, n, **options))
        last = runs[-1]
        print(f"  {n} frames {options}: {last['seconds_per_frame'] * 1000:.1f} ms/frame, "
              f"peak {_mib(last['peak_above_start'])}", file=sys.stderr)

    print(f"tiny random SAM 2 video ({runs[0]['parameters'] / 1e6:.2f} M parameters, {args.image_size} px input), "
          f"{args.height} x {args.width} frames, 2 boxes on the middle frame, forward then backward, "
          f"{runs[0]['threads']} thread(s)")
    print(f"{'frames':>6s} {'input':>8s} {'offload':>7s} {'trim':>5s} {'ms/frame':>9s} {'peak above start':>17s} "
          f"{'max state':>12s} {'frames kept':>12s}")
    for r in runs:
        print(f"{r['frames']:>6d} {r['input']:>8s} {r['offload']!s:>7s} {r['trim_state']!s:>5s} "
              f"{r['seconds_per_frame'] * 1000:>9.1f} {_mib(r['peak_above_start']):>17s} "
              f"{_mib(r['max_state_bytes']):>12s} {_mib(r['frames_kept_bytes']):>12s}")
    frame_bytes = args.height * args.width * 3
    allowance = 0.05 * (lengths[-1] - lengths[0]) * frame_bytes
    ok = True
    for offload in (False, True):
        lazy = {r["frames"]: r for r in runs if r["offload"] == offload and r["input"] == "lazy" and r["trim_state"]}
        growth = lazy[lengths[-1]]["peak_above_start"] - lazy[lengths[0]]["peak_above_start"]
        # the state saturates once the clip is longer than twice the memory window (32 frames after init)
        state_growth = lazy[lengths[-1]]["max_state_bytes"] - lazy[lengths[-2 if len(lengths) > 1 else -1]][
            "max_state_bytes"]
        print(f"offload={offload}: peak memory {lengths[0]} -> {lengths[-1]} frames {growth / 2**20:+,.1f} MiB "
              f"(allowed {allowance / 2**20:,.1f} MiB = 5 % of the extra frames' {_mib(allowance * 20)}), "
              f"tracking state {lengths[-2 if len(lengths) > 1 else -1]} -> {lengths[-1]} frames "
              f"{state_growth / 2**20:+,.2f} MiB")
        ok = ok and growth < allowance and state_growth <= 0
    untrimmed = next(r for r in runs if not r["trim_state"])
    print(f"trim_state=False: {_mib(untrimmed['max_state_bytes'])} of state at {untrimmed['frames']} frames "
          f"({untrimmed['max_state_bytes'] / untrimmed['frames'] / 1024:,.1f} KiB per frame for 2 objects)")
    print(f"segment() would also hold the masks: {lengths[-1]} x {args.height} x {args.width} bools = "
          f"{_mib(lengths[-1] * args.height * args.width)} (iter_segment holds one)")
    if args.json:
        args.json.write_text(json.dumps({"runs": runs, "target_met": ok}, indent=2) + "\n", encoding="utf-8")
    print("target met" if ok else "TARGET MISSED: peak memory grows with the clip's length")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
