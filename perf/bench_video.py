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

Box step (the MLLM call that seeds propagation; ``--no-box`` skips it), a second table, seconds per expression
(a few expressions, each run a fresh subprocess, one warm-up call not counted):

- the tiny random Qwen2.5-VL of :func:`pixbench.baselines.tiny.tiny_qwen2vl` with transformers' default image
  processor (what a checkpoint gets without ``--max-pixels``: a 720 x 1280 frame is seen at 728 x 1288)
  through :class:`~pixbench.baselines.box_models.QwenBoxModel`, greedy, ``max_new_tokens`` 1024 (the
  runner's defaults): ``locate`` on one frame, and ``--init window``
  (:func:`~pixbench.baselines.box_models.initial_frame` with ``max_tries=1``: the ``when`` question on 16
  sampled frames of the 216-frame clip, then one ``locate``). A random model never emits its end token, so
  every call decodes all 1024 tokens (an upper bound for a real model's short reply);
- :class:`~pixbench.baselines.box_models.OpenAIBoxModel` built by ``from_endpoint`` with a
  :class:`~pixbench.judge.JudgeCache` in a temporary folder, against a local OpenAI-compatible server on
  127.0.0.1 started by the worker (at most ``expressions + 2`` requests, then, or after 5 minutes, it stops
  by itself) that answers the red square's box after 200 ms: the published video prompt on the 216-frame
  clip, frame stride 2 and downscale 2 (108 JPEG frames of 640 x 360 per request, rendered, resized and
  encoded each call), a first run and a cached rerun (0 requests; the frames are still encoded to find the
  cache key). The answered boxes are checked against the planted one.

Target: from the shortest to the longest clip, the peak memory above the start grows by less than 5 % of the
extra frames' own bytes (``162 x 720 x 1280 x 3`` = 448 MB at the defaults), with and without offload; the
trimmed tracking state is the same at the two longest lengths (it saturates at twice the memory window).
The box step has no target (it is reported). Default run: about three minutes on two CPU cores
(the box step about one).

    python perf/bench_video.py [--frames 54,108,216] [--height 720 --width 1280] [--threads 1]
        [--no-box] [--frames-box 216] [--expressions 3] [--max-new-tokens 1024] [--frame-stride 2] [--downscale 2]
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


#: Expressions the box step is asked about (one call each; a warm-up expression comes first and is not counted).
EXPRESSIONS = ("the red square moving right", "the green square moving left", "the square on the left")
#: Latency of the local OpenAI-compatible server, seconds per request.
SERVER_LATENCY = 0.2


class _PlantedServer:
    """A local OpenAI-compatible chat-completions server on 127.0.0.1 (a free port): every request is answered
    with ``reply`` after ``latency`` seconds; it stops by itself after ``max_requests`` requests or
    ``deadline`` seconds (whichever first), and when the ``with`` block ends."""

    def __init__(self, reply: str, *, latency: float, max_requests: int, deadline: float = 300.0) -> None:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        owner = self
        self.reply, self.latency, self.max_requests = reply, latency, max_requests
        self.requests = 0
        self._lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with owner._lock:
                    owner.requests += 1
                    last = owner.requests >= owner.max_requests
                    over = owner.requests > owner.max_requests
                time.sleep(owner.latency)
                ok = self.path.rstrip("/").endswith("/chat/completions") and body[:1] == b"{" and not over
                payload = json.dumps({
                    "id": f"chatcmpl-bench-{owner.requests}", "object": "chat.completion", "created": int(time.time()),
                    "model": "bench", "choices": [{"index": 0, "finish_reason": "stop", "logprobs": None,
                                                   "message": {"role": "assistant", "content": owner.reply}}],
                    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}).encode() if ok else (
                    b'{"error": {"message": "bench server: bad or too many requests"}}')
                self.send_response(200 if ok else 400)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
                if last:
                    threading.Thread(target=owner.stop, daemon=True).start()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._stopped = threading.Event()
        self._timer = threading.Timer(deadline, self.stop)
        self._timer.daemon = True

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def stop(self) -> None:
        if not self._stopped.is_set():
            self._stopped.set()
            self._timer.cancel()
            self._httpd.shutdown()

    def __enter__(self) -> _PlantedServer:
        threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
        self._timer.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()
        self._httpd.server_close()


def _tiny_qwen25_default_budget() -> tuple[Any, Any]:
    """The tiny random Qwen2.5-VL of :func:`pixbench.baselines.tiny.tiny_qwen2vl` with transformers' default
    image processor (``56 * 56`` to ``28 * 28 * 1280`` pixels, as a real checkpoint without ``--max-pixels``)."""
    from transformers.models.qwen2_vl.image_processing_qwen2_vl import Qwen2VLImageProcessor

    from pixbench.baselines.tiny import tiny_qwen2vl

    model, processor = tiny_qwen2vl(seed=0, version="2.5")
    processor.image_processor = Qwen2VLImageProcessor(patch_size=14, merge_size=2, temporal_patch_size=2)
    return model, processor


def _box_worker(args: argparse.Namespace) -> dict[str, Any]:
    """One box-step configuration (``--box-worker``): ``qwen-locate``, ``qwen-window`` or ``openai``."""
    import torch

    from pixbench.baselines.box_models import OpenAIBoxModel, QwenBoxModel, initial_frame

    if args.threads:
        torch.set_num_threads(args.threads)
    clip = SyntheticClip(args.box_frames, args.height, args.width)
    expressions = EXPRESSIONS[:args.expressions]
    result: dict[str, Any] = {"config": args.box_worker, "expressions": len(expressions),
                              "threads": torch.get_num_threads()}
    if args.box_worker.startswith("qwen"):
        model, processor = _tiny_qwen25_default_budget()
        box_model = QwenBoxModel(model, processor, max_new_tokens=args.max_new_tokens)  # the runner's defaults
        generated: list[int] = []
        generate = model.generate

        def counting(*a: Any, **k: Any) -> Any:
            output = generate(*a, **k)
            generated.append(int(output.shape[1] - k["input_ids"].shape[1]))
            return output

        model.generate = counting  # type: ignore[method-assign]
        when_seconds: list[float] = []
        when = box_model.when

        def timed_when(*a: Any, **k: Any) -> Any:
            start = time.perf_counter()
            try:
                return when(*a, **k)
            finally:
                when_seconds.append(time.perf_counter() - start)

        box_model.when = timed_when  # type: ignore[method-assign]
        frame = [clip[args.box_frames // 2]]
        box_model.locate(frame, "the image", 0)  # warm-up
        generated.clear()
        seconds = []
        for expression in expressions:
            start = time.perf_counter()
            if args.box_worker == "qwen-locate":
                answer = box_model.locate(frame, expression, 0)
                result["input_size"] = list(answer.input_size or ())
            else:
                found = initial_frame("window", box_model, clip, expression, max_tries=1)
                result["window_parsed"] = found.window is not None and found.window.middle is not None
            seconds.append(time.perf_counter() - start)
        result.update(seconds_per_expression=sum(seconds) / len(seconds), calls=len(generated),
                      tokens_per_call=sum(generated) / max(len(generated), 1),
                      when_seconds=sum(when_seconds) / len(when_seconds) if when_seconds else None,
                      parameters=sum(p.numel() for p in model.parameters()), family=box_model.family,
                      max_new_tokens=args.max_new_tokens, when_frames=box_model.when_frames,
                      when_max_pixels=box_model.when_max_pixels)
        return result

    from pixbench.judge import JudgeCache

    index = 0
    red = clip.boxes(index)[0]
    planted = json.dumps([{"bbox_2d": [int(v) // args.downscale for v in red]}])  # in the sent image's pixels
    os.environ.setdefault("OPENAI_API_KEY", "bench-local-no-key")
    with _PlantedServer(planted, latency=SERVER_LATENCY, max_requests=len(expressions) + 2) as server, \
            JudgeCache(args.cache) as cache:
        box_model = OpenAIBoxModel.from_endpoint("bench-gpt", base_url=server.base_url, cache=cache, backoff=0.01,
                                                 frame_stride=args.frame_stride, downscale=args.downscale)
        seconds, cached, boxes_ok = [], [], True
        for expression in expressions:
            start = time.perf_counter()
            answer = box_model.locate(clip, expression, index)
            seconds.append(time.perf_counter() - start)
            cached.append(answer.cached)
            boxes_ok = boxes_ok and answer.error is None and len(answer.boxes) == 1 and all(
                abs(a - b) <= args.downscale for a, b in zip(answer.boxes[0].as_list(), red))
        start = time.perf_counter()
        sent = box_model.messages(clip, expressions[0], index)  # what each call builds before the cache lookup
        prepare = time.perf_counter() - start
        box_model.close()
        requests = server.requests
    images = [p for p in sent[1]["content"] if p["type"] == "image_url"]
    result.update(seconds_per_expression=sum(seconds) / len(seconds), requests=requests, all_cached=all(cached),
                  boxes_ok=boxes_ok, prepare_seconds=prepare, images_sent=len(images),
                  request_bytes=len(json.dumps(sent)), frames=args.box_frames, frame_stride=args.frame_stride,
                  downscale=args.downscale, latency=SERVER_LATENCY)
    return result


def _run_box(args: argparse.Namespace, config: str, **options: Any) -> dict[str, Any]:
    command = [sys.executable, __file__, "--box-worker", config, "--height", str(args.height), "--width",
               str(args.width), "--threads", str(args.threads), "--box-frames", str(args.frames_box),
               "--expressions", str(args.expressions), "--max-new-tokens", str(args.max_new_tokens),
               "--frame-stride", str(args.frame_stride), "--downscale", str(args.downscale)]
    for key, value in options.items():
        command += [f"--{key.replace('_', '-')}", str(value)]
    done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=600)
    if done.returncode != 0:
        raise RuntimeError(f"box worker failed ({' '.join(command[2:])}):\n{done.stderr[-3000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


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


def _box_step(args: argparse.Namespace) -> list[dict[str, Any]]:
    """Run the box-step configurations (each a subprocess) and print their table."""
    import tempfile

    runs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench-video-") as folder:
        cache = Path(folder) / "judge.sqlite"
        for config, options, label in (("qwen-locate", {}, "qwen locate"), ("qwen-window", {}, "qwen --init window"),
                                       ("openai", {"cache": cache}, "endpoint first run"),
                                       ("openai", {"cache": cache}, "endpoint cached rerun")):
            runs.append({**_run_box(args, config, **options), "label": label})
            print(f"  box step {label}: {runs[-1]['seconds_per_expression']:.2f} s/expression", file=sys.stderr)
    locate, window, first, rerun = runs
    print()
    print(f"box step, {args.expressions} expressions per run, {args.threads} thread(s); tiny random Qwen2.5-VL "
          f"({locate['parameters'] / 1e6:.2f} M parameters, transformers' default pixel budget, greedy, "
          f"max_new_tokens {args.max_new_tokens}) and an OpenAI-compatible endpoint on 127.0.0.1 answering a "
          f"planted box after {SERVER_LATENCY * 1000:.0f} ms")
    print(f"{'configuration':>22s} {'s/expression':>12s} {'calls':>5s}  details")
    print(f"{locate['label']:>22s} {locate['seconds_per_expression']:>12.2f} {locate['calls']:>5d}  "
          f"one {args.height} x {args.width} frame seen at {locate['input_size'][0]} x {locate['input_size'][1]}, "
          f"{locate['tokens_per_call']:.0f} new tokens per call")
    print(f"{window['label']:>22s} {window['seconds_per_expression']:>12.2f} {window['calls']:>5d}  "
          f"when() on {window['when_frames']} of {args.frames_box} frames at <= {window['when_max_pixels']:,} px "
          f"each: {window['when_seconds']:.2f} s, then one locate; {window['tokens_per_call']:.0f} new tokens per call")
    for r in (first, rerun):
        print(f"{r['label']:>22s} {r['seconds_per_expression']:>12.2f} {r['requests']:>5d}  "
              f"{r['images_sent']} JPEG frames of {args.width // args.downscale} x {args.height // args.downscale} "
              f"(stride {args.frame_stride}, downscale {args.downscale}) of {r['frames']}, "
              f"{r['request_bytes'] / 2**20:.1f} MiB request; building it {r['prepare_seconds']:.2f} s; "
              f"boxes {'as planted' if r['boxes_ok'] else 'WRONG'}{', all cached' if r['all_cached'] else ''}")
    print("The Qwen rows are compute on the CPU (a random model never stops early: every call decodes "
          "max_new_tokens); the endpoint rows are the frames' rendering, resizing and JPEG encoding plus the "
          "server's latency, and the rerun makes no request (every reply from the judge cache).")
    return runs


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
    parser.add_argument("--no-box", action="store_true", help="skip the box-step runs")
    parser.add_argument("--frames-box", type=int, default=216,
                        help="clip length of the box step's window and endpoint runs (default 216)")
    parser.add_argument("--expressions", type=int, default=3, choices=range(1, len(EXPRESSIONS) + 1),
                        metavar="N", help=f"box step: expressions per run (default 3, at most {len(EXPRESSIONS)})")
    parser.add_argument("--max-new-tokens", type=int, default=1024,
                        help="Qwen-VL box step: longest reply (default 1024, the runner's)")
    parser.add_argument("--frame-stride", type=int, default=2, help="endpoint: send every N-th frame (default 2)")
    parser.add_argument("--downscale", type=int, default=2, help="endpoint: divide the frames' sides by N (default 2)")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--worker-frames", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--offload", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--untrimmed", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--input", default="lazy", choices=("lazy", "iterator"), help=argparse.SUPPRESS)
    parser.add_argument("--box-worker", choices=("qwen-locate", "qwen-window", "openai"), help=argparse.SUPPRESS)
    parser.add_argument("--box-frames", type=int, default=216, help=argparse.SUPPRESS)
    parser.add_argument("--cache", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(_worker(args)))
        return 0
    if args.box_worker:
        print(json.dumps(_box_worker(args)))
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
    box_runs = [] if args.no_box else _box_step(args)
    if args.json:
        args.json.write_text(json.dumps({"runs": runs, "box_runs": box_runs, "target_met": ok}, indent=2) + "\n",
                             encoding="utf-8")
    print("target met" if ok else "TARGET MISSED: peak memory grows with the clip's length")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
