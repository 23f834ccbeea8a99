"""Wall time of :func:`pixbench.served.run_served` (``pixbench run``) against a slow local server.

Builds PixMMVP annotations-only from ``../shared/data`` (as ``bench_score.py`` does), sends each of its
rows (a stand-in black image of the row's size, marked with its id) x 3 probes to a local OpenAI-compatible
server answering after ``--latency`` seconds (letters, text, a ``bbox_2d`` box), with a stub SAM (the box,
filled), then reruns.
Target: wall <= 1.3 x rows x probes x latency / concurrency, and a rerun makes 0 requests.

    python perf/bench_run.py [--rows 300] [--latency 0.5] [--concurrency 32]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from judge_server import running_server


class BoxFill:
    name = "box-fill"

    def set_image(self, image: np.ndarray) -> None:
        self.shape = image.shape[:2]

    def predict_box(self, box: np.ndarray) -> np.ndarray:
        mask = np.zeros(self.shape, dtype=bool)
        x1, y1, x2, y2 = (int(v) for v in box)
        mask[y1:y2, x1:x2] = True
        return mask


def reply(body: dict[str, Any]) -> str:
    text = next(p["text"] for p in body["messages"][-1]["content"] if p["type"] == "text")
    if "bbox" in text:
        return json.dumps([{"bbox_2d": [2, 2, 20, 20], "label": "x"}])
    return "A" if "letter" in text else "The first option."


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=300)
    parser.add_argument("--latency", type=float, default=0.5)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared" / "data"))
    args = parser.parse_args()

    from pixbench.benchmarks.pixmmvp import build as pixmmvp
    from pixbench.chat import ChatClient, ReplyCache
    from pixbench.loaders.hub import load
    from pixbench.served import ServedConfig, run_served

    work = Path(tempfile.mkdtemp(prefix="bench-run-"))
    pixmmvp.build(annotations_dir=Path(args.data) / "pixmmvp", out_dir=work / "PixMMVP", with_images=False)
    dataset = load(str(work / "PixMMVP"))
    rows = min(args.rows, len(dataset))
    probes = ("letter", "vqa", "segment")
    needs = sum(1 for k in range(rows) for p in probes if p != "segment" or dataset[k].get("expression"))
    out = work / "preds.jsonl"

    def image_of(row: Any) -> np.ndarray:
        image = np.zeros((int(row["height"]), int(row["width"]), 3), dtype=np.uint8)
        image[:8, :8] = int(row["id"]) % 256  # a distinct image per row: no two requests are identical
        image[8:16, :8] = int(row["id"]) // 256
        return image

    timings = []
    with running_server(reply, delay=args.latency) as server:
        for attempt in ("first", "rerun"):
            server.reset()
            client = ChatClient(model="bench-vlm", base_url=server.base_url, temperature=0.0, max_tokens=64, seed=0,
                                concurrency=args.concurrency, cache=ReplyCache(work / "cache.sqlite"),
                                role="served model")
            config = ServedConfig(benchmark="pixmmvp", data=str(work / "PixMMVP"), out=out, model="bench-vlm",
                                  endpoint=client.endpoint, box_format="frame-pixels", concurrency=args.concurrency,
                                  limit=rows)
            start = time.perf_counter()
            summary = run_served(config, client=client, load_segmenter=BoxFill, dataset=dataset, image_of=image_of)
            wall = time.perf_counter() - start
            client.close()
            timings.append((attempt, wall, server.request_count, server.max_in_flight, summary))
    ideal = needs * args.latency / args.concurrency
    for attempt, wall, requests, in_flight, summary in timings:
        print(f"{attempt}: {wall:.2f} s, {requests} requests (max {in_flight} in flight), {summary.written} lines "
              f"written, {summary.skipped} skipped, {summary.failed} failed")
    first_wall = timings[0][1]
    print(f"rows {rows} x {len(probes)} probes = {rows * len(probes)} lines, {needs} requests; ideal "
          f"{needs} x {args.latency} / {args.concurrency} = {ideal:.2f} s; ratio {first_wall / ideal:.2f} "
          f"(target <= 1.3); rerun requests {timings[1][2]} (target 0)")
    return 0 if first_wall <= 1.3 * ideal and timings[1][2] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
