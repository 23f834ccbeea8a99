"""Benchmark: streaming attention capture against ``output_attentions=True``.

A randomly initialised LLaVA with LLaVA-1.5-7B's text depth and width of attention (32 layers, 32 heads)
but a reduced hidden size, a CLIP tower giving 576 image tokens (24 x 24 at 336 px), answers one prompt
with exactly ``--new-tokens`` tokens (256), eager attention in both modes:

- ``streaming``: :class:`pixbench.baselines.attention.AttentionRecorder` hooks reduce each layer's weights
  to the image-token slice at once (what the baselines use);
- ``output_attentions``: ``generate(output_attentions=True, return_dict_in_generate=True)`` keeps every
  layer's weights of every step, and the maps are computed from them afterwards.

Each (mode, repeat) runs in a fresh subprocess. Reported per mode: the bytes of captured attention held
at the end (the maps, or the ``attentions`` tensors), the peak resident memory above the level before
``generate`` (sampled every 2 ms; on CUDA, ``max_memory_allocated`` above the start), and the wall time
of generation plus map extraction (median of the repeats). The maps of both modes are compared.
Targets: captured attention at least 10x smaller, peak memory above the start at least 10x smaller, and
at most 10% slower. Usage: ``python perf/bench_attention.py [--hidden 256] [--repeats 3]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]


def _worker(mode: str, args: argparse.Namespace, maps_out: Path) -> dict[str, Any]:
    """Build the model, run one generation in ``mode``, return the measurements."""
    import numpy as np
    import psutil
    import torch
    from PIL import Image

    from pixbench.baselines.attention import (
        GenerationSettings,
        adapter_for,
        generate,
        maps_from_output_attentions,
    )
    from pixbench.baselines.tiny import tiny_llava

    torch.set_num_threads(args.threads) if args.threads else None
    device = args.device
    model, processor = tiny_llava(seed=0, image_size=336, patch_size=14, layers=args.layers, heads=args.heads,
                                  hidden=args.hidden, vision_hidden=64, vision_layers=1)
    model = model.to(device)
    adapter = adapter_for(model, processor)
    rng = np.random.default_rng(0)
    image = Image.fromarray(rng.integers(0, 255, size=(480, 640, 3), dtype=np.uint8))
    prepared = adapter.prepare(image, "Identify the hands holding the hat in the scene.")
    settings = GenerationSettings(max_new_tokens=args.new_tokens)
    extra = {"min_new_tokens": args.new_tokens}
    generate(adapter, prepared, GenerationSettings(max_new_tokens=4), capture=mode == "streaming")  # warm-up

    process = psutil.Process()
    samples: list[int] = []
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            samples.append(process.memory_info().rss)
            time.sleep(0.002)

    cuda = str(device).startswith("cuda")
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        start_bytes = torch.cuda.memory_allocated()
    before = process.memory_info().rss
    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    start = time.perf_counter()
    if mode == "streaming":
        result = generate(adapter, prepared, settings, **extra)
        maps = result.maps.reshape(result.maps.shape[0], -1)
        held = maps.nbytes
    else:
        result = generate(adapter, prepared, settings, capture=False, output_attentions=True, **extra)
        attentions = result.extra["attentions"]
        held = sum(w.numel() * w.element_size() for step in attentions for w in step)
        maps = maps_from_output_attentions(attentions, positions=prepared.layout.positions,
                                           prompt_length=prepared.prompt_length)
    if cuda:
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    stop.set()
    thread.join()
    peak = max([*samples, process.memory_info().rss]) - before
    if cuda:
        peak = torch.cuda.max_memory_allocated() - start_bytes
    np.save(maps_out, maps)
    return {"mode": mode, "seconds": seconds, "held_bytes": int(held), "peak_bytes": int(peak),
            "tokens": int(result.token_ids.size), "image_tokens": int(prepared.layout.positions.size),
            "prompt_tokens": prepared.prompt_length, "device": str(device), "threads": torch.get_num_threads()}


def _run(mode: str, args: argparse.Namespace, folder: Path, repeat: int) -> dict[str, Any]:
    maps = folder / f"{mode}-{repeat}.npy"
    command = [sys.executable, __file__, "--worker", mode, "--maps", str(maps), "--layers", str(args.layers),
               "--heads", str(args.heads), "--hidden", str(args.hidden), "--new-tokens", str(args.new_tokens),
               "--device", args.device, "--threads", str(args.threads)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"worker {mode} failed:\n{done.stderr[-3000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]), maps=str(maps))


def _mib(value: float) -> str:
    return f"{value / 2**20:,.1f} MiB"


def main(argv: list[str] | None = None) -> int:
    """Run the modes alternately, print a table (and JSON with --json); exit 1 if a target is missed."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--layers", type=int, default=32, help="decoder layers (LLaVA-1.5-7B: 32)")
    parser.add_argument("--heads", type=int, default=32, help="attention heads (LLaVA-1.5-7B: 32)")
    parser.add_argument("--hidden", type=int, default=256, help="hidden size (LLaVA-1.5-7B: 4096; reduced)")
    parser.add_argument("--new-tokens", type=int, default=256, help="generated tokens (default 256)")
    parser.add_argument("--repeats", type=int, default=3, help="runs per mode, alternating (default 3)")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--maps", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(_worker(args.worker, args, args.maps)))
        return 0

    import numpy as np

    modes = ("streaming", "output_attentions")
    runs: dict[str, list[dict[str, Any]]] = {m: [] for m in modes}
    with tempfile.TemporaryDirectory() as tmp:
        for repeat in range(args.repeats):
            for mode in (modes if repeat % 2 == 0 else modes[::-1]):
                runs[mode].append(_run(mode, args, Path(tmp), repeat))
                last = runs[mode][-1]
                print(f"  {mode:18s} run {repeat + 1}: {last['seconds']:.2f} s, peak {_mib(last['peak_bytes'])}",
                      file=sys.stderr)
        difference = float(np.abs(np.load(runs["streaming"][0]["maps"])
                                  - np.load(runs["output_attentions"][0]["maps"])).max())
    summary: dict[str, Any] = {"config": {"layers": args.layers, "heads": args.heads, "hidden": args.hidden,
                                          "new_tokens": args.new_tokens, "repeats": args.repeats,
                                          "device": runs["streaming"][0]["device"],
                                          "threads": runs["streaming"][0]["threads"],
                                          "image_tokens": runs["streaming"][0]["image_tokens"],
                                          "prompt_tokens": runs["streaming"][0]["prompt_tokens"]}}
    for mode in modes:
        summary[mode] = {"seconds_median": statistics.median(r["seconds"] for r in runs[mode]),
                         "seconds": [round(r["seconds"], 3) for r in runs[mode]],
                         "held_bytes": runs[mode][0]["held_bytes"],
                         "peak_bytes_median": statistics.median(r["peak_bytes"] for r in runs[mode]),
                         "tokens": runs[mode][0]["tokens"]}
    stream, full = summary["streaming"], summary["output_attentions"]
    summary["held_ratio"] = full["held_bytes"] / stream["held_bytes"]
    summary["peak_ratio"] = full["peak_bytes_median"] / max(stream["peak_bytes_median"], 1)
    summary["slowdown"] = stream["seconds_median"] / full["seconds_median"] - 1
    summary["max_abs_map_difference"] = difference
    config = summary["config"]
    print(f"random LLaVA: {config['layers']} layers x {config['heads']} heads, hidden {config['hidden']}, "
          f"{config['image_tokens']} image tokens, prompt {config['prompt_tokens']} tokens, "
          f"{stream['tokens']} generated tokens, {config['device']} ({config['threads']} threads), "
          f"median of {args.repeats}")
    print(f"{'mode':18s} {'captured attention':>20s} {'peak memory':>14s} {'time':>9s}")
    for mode in modes:
        row = summary[mode]
        print(f"{mode:18s} {_mib(row['held_bytes']):>20s} {_mib(row['peak_bytes_median']):>14s} "
              f"{row['seconds_median']:>7.2f} s")
    print(f"captured attention {summary['held_ratio']:,.0f}x smaller, peak memory {summary['peak_ratio']:.1f}x "
          f"smaller, time {summary['slowdown']:+.1%}; maps differ by at most {difference:.2e}")
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    ok = (summary["held_ratio"] >= 10 and summary["peak_ratio"] >= 10 and summary["slowdown"] <= 0.10
          and difference < 1e-5)
    print("targets met" if ok else "TARGET MISSED: want >= 10x less memory and <= 10% slower, equal maps")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
