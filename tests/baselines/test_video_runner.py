"""The video grounding runner on a synthetic MoCentric-Bench (64 x 96 frames, 5-9 frames per video).

The plumbing is checked with a stub segmenter that returns the seed boxes as the mask of every frame
(so the output scores meaningfully); the real tiny random SAM 2, a tiny random Qwen2.5-VL and a tiny
SAM 3 run end to end through the CLI. The OpenAI back end talks to a real local server
(tests/judge_server.py) that answers planted boxes.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import socket
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from baseline_helpers import REPO_ROOT, run_cli

from pixbench.annotation import rle as rle_ops
from pixbench.baselines.box_models import OpenAIBoxModel
from pixbench.baselines.boxes import NO_BOX_ANYWHERE, BoxAnswer, WindowAnswer, read_boxes
from pixbench.baselines.video_runner import (
    BoxThenPropagate,
    VideoRunConfig,
    mirrored_canvas,
    normalise_expression,
    run_video_baseline,
)
from pixbench.benchmarks.mocentric import MOCENTRIC
from pixbench.cli import main
from pixbench.predictions import read_predictions

SECRET = "sk-test-video-runner-secret"


# ------------------------------------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from pixbench.benchmarks.mocentric import build as mocentric
    from pixbench.benchmarks.mocentric.synthetic import write_synthetic_mevis

    root = tmp_path_factory.mktemp("mocentric")
    raw = write_synthetic_mevis(root / "raw")
    mocentric.build(mevis_root=raw.root, keyframes=raw.keyframes, reverse_expressions=raw.reverse_expressions,
                    out_dir=root / "MoCentric-Bench")
    return root / "MoCentric-Bench"


@pytest.fixture(scope="module")
def reference(built: Path) -> Any:
    from pixbench.references import load_reference

    return load_reference("mocentric", str(built))


@pytest.fixture(scope="module")
def tiny_video_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from pixbench.baselines.tiny import tiny_qwen2vl
    from pixbench.baselines.video_segmenters import make_tiny_sam2_video

    folder = tmp_path_factory.mktemp("tiny-video")
    model, processor = tiny_qwen2vl(0, version="2.5")
    model.save_pretrained(folder / "qwen2.5-vl")
    processor.save_pretrained(folder / "qwen2.5-vl")
    return {"qwen2.5-vl": folder / "qwen2.5-vl", "sam2": make_tiny_sam2_video(folder / "sam2")}


class BoxStub:
    """A segmenter returning the union of the seed boxes (pixels they cover) as every frame's mask."""

    name = "stub-box"

    def __init__(self) -> None:
        self.calls: list[tuple[int, list[tuple[float, ...]], Sequence[np.ndarray]]] = []

    def segment(self, frames: Sequence[np.ndarray], *, init_frame: int,
                boxes: Sequence[tuple[float, ...]]) -> list[np.ndarray]:
        self.calls.append((init_frame, list(boxes), frames))
        height, width = frames[0].shape[:2]
        mask = np.zeros((height, width), dtype=bool)
        for x1, y1, x2, y2 in boxes:
            mask[math.floor(y1):math.ceil(y2), math.floor(x1):math.ceil(x2)] = True
        return [mask.copy() for _ in frames]


def _gt_box(row: Any, frame: int) -> tuple[int, int, int, int]:
    """The ground truth's bounding box at original frame ``frame``: (x1, y1, x2, y2), x2/y2 exclusive."""
    mask = rle_ops.decode(row.masks[frame]).astype(bool)
    rows, cols = np.nonzero(mask)
    return int(cols.min()), int(rows.min()), int(cols.max()) + 1, int(rows.max()) + 1


def _sent_box(box: tuple[int, int, int, int], downscale: int = 2) -> list[int]:
    """A frame box in the pixels of the image sent (halved), rounded outwards."""
    x1, y1, x2, y2 = box
    return [x1 // downscale, y1 // downscale, -(-x2 // downscale), -(-y2 // downscale)]


def _expression_of(body: dict[str, Any]) -> str:
    text = body["messages"][1]["content"][0]["text"]
    return str(text.split("Given the query ", 1)[1].split(", detect and localize", 1)[0])


def _planted_server(reference: Any, ids: Sequence[str]) -> Any:
    """A local endpoint answering, for each expression, its keyframe ground truth's box (sent pixels)."""
    from judge_server import running_server

    planted = {}
    for row_id in ids:
        row = reference.expressions[row_id]
        planted[row.expression] = _sent_box(_gt_box(row, row.keyframe))
    return running_server(lambda body: json.dumps([{"bbox_2d": planted[_expression_of(body)], "label": "x"}]))


def _config(built: Path, out: Path, **kwargs: Any) -> VideoRunConfig:
    values: dict[str, Any] = {"data": str(built), "out": out, "model_name": "gpt-test+stub", "probes": ("original",),
                              "method": {"kind": "test"}, "progress": False, **kwargs}
    return VideoRunConfig(**values)


def _openai_run(built: Path, out: Path, server: Any, cache_path: Path, stub: BoxStub, **kwargs: Any) -> Any:
    from pixbench.judge import JudgeCache

    init = kwargs.get("init", "first")
    with JudgeCache(cache_path) as cache:
        def load(device: str) -> BoxThenPropagate:
            box_model = OpenAIBoxModel.from_endpoint("gpt-test", base_url=server.base_url, cache=cache, backoff=0.01)
            return BoxThenPropagate(box_model, stub, init=init)

        return run_video_baseline(_config(built, out, **kwargs), load_method=load)


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


# ------------------------------------------------------------------------------------------------ OpenAI + stub


def test_planted_boxes_give_masks_in_the_box_score_and_resume(built, reference, tmp_path, monkeypatch, capsys):
    pytest.importorskip("openai")
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    ids = list(reference.expressions)[:3]
    out, cache_path, stub = tmp_path / "preds.jsonl", tmp_path / "judge.sqlite", BoxStub()
    with _planted_server(reference, ids) as server:
        summary = _openai_run(built, out, server, cache_path, stub, init="keyframe", max_expressions=3)
        assert server.request_count == 3  # one per expression: the keyframe's boxes parse
    assert summary.problems == [] and summary.lines == 3 and summary.written == 3
    checked = read_predictions(out, index={"mocentric": MOCENTRIC.line_index(reference)})
    assert not checked.problems and len(checked.predictions) == 3
    for line, row_id in zip(_lines(out), ids):
        row = reference.expressions[row_id]
        assert line["id"] == row_id and "layout" not in line and len(line["masks"]) == len(row.frame_names)
        details = line["details"]
        assert details["initial_frame"] == row.keyframe == details["presented_keyframe"]
        x1, y1, x2, y2 = _gt_box(row, row.keyframe)
        # boxes scaled back x2 from the sent image cover the ground truth's box, within the rounding
        bx1, by1, bx2, by2 = details["boxes"][0]
        assert bx1 <= x1 <= bx1 + 1 and by1 <= y1 <= by1 + 1 and bx2 - 1 <= x2 <= bx2 and by2 - 1 <= y2 <= by2
        mask = rle_ops.decode(line["masks"][row.keyframe]).astype(bool)
        gt = rle_ops.decode(row.masks[row.keyframe]).astype(bool)
        inside = np.zeros_like(mask)
        inside[int(by1):math.ceil(by2), int(bx1):math.ceil(bx2)] = True
        assert mask.any() and not (mask & ~inside).any() and not (gt & ~mask).any()
        assert details["search"]["attempts"][0]["answer"]["reply"].startswith('[{"bbox_2d"')
    run = json.loads(out.with_name("preds.jsonl.run.json").read_text())["settings"]
    assert run["init"] == "keyframe" and run["expression_normalisation"] == "none" and run["data"] == str(built)

    # J&F through `pixbench score`: the box masks on the keyframe's box over the clip
    assert main(["score", str(out), "--data", f"mocentric={built}", "--format", "json"]) == 0
    results = json.loads(capsys.readouterr().out)["results"]
    (result,) = results
    assert result["counts"] == {"expressions": len(reference.expressions), "missing": len(reference.expressions) - 3}
    per_expression = []  # J by hand: mean IoU over the frames, the missing expressions count 0
    for line in _lines(out):
        row = reference.expressions[line["id"]]
        ious = []
        for pred_rle, gt_rle in zip(line["masks"], row.masks):
            pred, gt = rle_ops.decode(pred_rle).astype(bool), rle_ops.decode(gt_rle).astype(bool)
            ious.append((pred & gt).sum() / (pred | gt).sum())
        per_expression.append(float(np.mean(ious)))
    assert result["metrics"]["J"] == pytest.approx(100 * sum(per_expression) / len(reference.expressions), abs=1e-3)
    assert min(per_expression) > 0.2

    # (c) a rerun writes nothing and asks nothing; without the output, the cache answers every call
    before = out.read_bytes()
    with _planted_server(reference, ids) as server:
        again = _openai_run(built, out, server, cache_path, BoxStub(), init="keyframe", max_expressions=3)
        assert server.request_count == 0 and again.skipped == 3 and again.written == 0
        assert out.read_bytes() == before
        out.unlink()
        cached = _openai_run(built, out, server, cache_path, BoxStub(), init="keyframe", max_expressions=3)
        assert server.request_count == 0 and cached.written == 3
    assert [{**x, "details": None} for x in _lines(out)] == [{**x, "details": None} for x in
                                                               (json.loads(t) for t in before.decode().splitlines())]
    # other settings on resume are refused
    from pixbench.baselines.runner import RunError

    with pytest.raises(RunError, match="init"):
        run_video_baseline(_config(built, out, init="first", max_expressions=3), load_method=lambda d: None)


def test_unparsable_replies_give_empty_masks_recorded(built, reference, tmp_path, monkeypatch):
    pytest.importorskip("openai")
    from judge_server import running_server

    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    out, stub = tmp_path / "preds.jsonl", BoxStub()
    with running_server(lambda body: "I cannot find it, sorry.") as server:
        summary = _openai_run(built, out, server, tmp_path / "judge.sqlite", stub, max_expressions=1,
                              lowercase_expressions=True)
        frames = len(reference.expressions[next(iter(reference.expressions))].frame_names)
        assert server.request_count == frames  # every frame tried once (init first)
    assert summary.problems == [] and not stub.calls  # the segmenter is never run without boxes
    (line,) = _lines(out)
    assert line["masks"] == [None] * frames
    details = line["details"]
    assert details["error"] == NO_BOX_ANYWHERE and details["empty_masks"] and details["initial_frame"] is None
    assert len(details["search"]["attempts"]) == frames
    assert details["search"]["attempts"][0]["answer"]["reply"] == "I cannot find it, sorry."
    assert details["expression_normalisation"] == "lowercase-collapse-whitespace"


def test_expression_normalisation_and_mirrored_canvas():
    assert normalise_expression("  The Red\n box ", lowercase=True) == "the red box"
    assert normalise_expression("  The Red\n box ", lowercase=False) == "  The Red\n box "
    canvas = np.arange(4 * 6).reshape(4, 6)
    assert (mirrored_canvas(canvas, "x") == np.concatenate([canvas[:, 3:], canvas[:, :3]], axis=1)).all()
    assert (mirrored_canvas(canvas, "y") == np.concatenate([canvas[2:], canvas[:2]], axis=0)).all()


# ------------------------------------------------------------------------------------------------ flip merge


class ScriptedBoxes:
    """A box back end answering scripted replies (frame pixels) in call order, recording the frames asked."""

    family = "test"
    box_format = "frame-pixels"

    def __init__(self, replies: Sequence[str]) -> None:
        self.replies = list(replies)
        self.asked: list[Sequence[np.ndarray]] = []

    def locate(self, frames: Sequence[np.ndarray], expression: str, frame_index: int) -> BoxAnswer:
        self.asked.append(frames)
        size = frames[frame_index].shape[:2]
        return read_boxes(self.replies.pop(0), frame_index=frame_index, box_format="frame-pixels",
                          frame_size=(int(size[0]), int(size[1])))

    def when(self, frames: Sequence[np.ndarray], expression: str) -> WindowAnswer:
        raise AssertionError("not asked")

    def settings(self) -> dict[str, Any]:
        return {"backend": "scripted"}


def test_flip_merge_maps_the_mirrored_boxes_back(built, reference, tmp_path):
    # static-pair, target-left: canvas 64 x 192, seam at x = 96. Presented frame 0 = [I_0 | I_k].
    presented = '[{"bbox_2d": [100, 10, 120, 30]}]'                            # wholly right: kept
    mirrored = '[{"bbox_2d": [10, 10, 30, 30]}, {"bbox_2d": [90, 5, 102, 20]}]'  # left -> +96; across: kept
    boxes, stub = ScriptedBoxes([presented, mirrored]), BoxStub()
    out = tmp_path / "preds.jsonl"
    config = _config(built, out, probes=("static-pair",), flip_merge=True, max_expressions=1)
    summary = run_video_baseline(config, load_method=lambda d: BoxThenPropagate(boxes, stub, init="first"))
    assert summary.problems == []
    (line,) = _lines(out)
    assert line["layout"] == "target-left" and line["details"]["mirror_axis"] == "x"
    expected = [[100.0, 10.0, 120.0, 30.0], [106.0, 10.0, 126.0, 30.0], [90.0, 5.0, 102.0, 20.0]]
    assert line["details"]["boxes"] == expected
    (init_frame, seeds, _frames), = stub.calls
    assert init_frame == 0 and [list(b) for b in seeds] == expected
    shown, flipped = boxes.asked
    assert shown[0].shape == (64, 192, 3) and (flipped[0] == mirrored_canvas(shown[0], "x")).all()
    mask = rle_ops.decode(line["masks"][0]).astype(bool)
    want = np.zeros((64, 192), dtype=bool)
    for x1, y1, x2, y2 in expected:
        want[int(y1):int(y2), int(x1):int(x2)] = True
    assert (mask == want).all()


# ------------------------------------------------------------------------------------------------ CLI end to end


def test_cli_openai_with_the_real_tiny_sam2(built, reference, tiny_video_models, tmp_path, monkeypatch, capsys):
    pytest.importorskip("openai")
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    ids = list(reference.expressions)[:1]
    out = tmp_path / "preds.jsonl"
    with _planted_server(reference, ids) as server:
        code = run_cli(["video-ground", "--data", str(built), "--probe", "original", "--max-expressions", "1",
                        "--openai-model", "gpt-test", "--base-url", server.base_url, "--sam2",
                        str(tiny_video_models["sam2"]), "--init", "keyframe", "--judge-cache",
                        str(tmp_path / "judge.sqlite"), "--out", str(out), "--no-progress", "--device", "cpu"])
        assert server.requests[0].headers["authorization"] == f"Bearer {SECRET}"
    captured = capsys.readouterr()
    assert code == 0, captured.err
    written = out.read_text() + out.with_name("preds.jsonl.run.json").read_text()
    assert SECRET not in captured.out + captured.err + written
    checked = read_predictions(out, index={"mocentric": MOCENTRIC.line_index(reference)})
    assert not checked.problems and len(checked.predictions) == 1
    (line,) = _lines(out)
    assert line["model"] == "gpt-test+sam2" and line["details"]["boxes"]  # propagated by the random SAM 2
    assert len(line["masks"]) == len(reference.expressions[ids[0]].frame_names)
    run = json.loads(out.with_name("preds.jsonl.run.json").read_text())["settings"]
    assert run["method"]["box"]["box_format"] == "input-pixels" and run["method"]["box"]["downscale"] == 2
    assert run["method"]["segmenter"]["sha256"] and run["method"]["segmenter"]["path"] == str(tiny_video_models["sam2"])


def test_cli_tiny_qwen25_runs_end_to_end(built, reference, tiny_video_models, tmp_path, capsys):
    out = tmp_path / "preds.jsonl"
    code = run_cli(["video-ground", "--data", str(built), "--probe", "original", "static-pair", "--layout",
                    "target-left", "target-bottom", "--max-expressions", "1", "--model",
                    str(tiny_video_models["qwen2.5-vl"]), "--max-new-tokens", "6", "--max-tries", "2",
                    "--sam2", str(tiny_video_models["sam2"]), "--flip-merge", "--out", str(out), "--no-progress",
                    "--device", "cpu"])
    assert code == 0, capsys.readouterr().err
    lines = _lines(out)
    assert [(x["probe"], x.get("layout")) for x in lines] == [("original", None), ("static-pair", "target-left"),
                                                              ("static-pair", "target-bottom")]
    for line in lines:  # random text: recorded as unparsable, empty masks
        assert all(m is None for m in line["masks"]) and line["details"]["empty_masks"]
        assert line["details"]["error"].startswith(NO_BOX_ANYWHERE)
        attempt = line["details"]["search"]["attempts"][0]
        assert attempt["answer"]["error"] and attempt["answer"]["box_format"] == "input-pixels"
    assert lines[2]["details"]["mirror_axis"] == "y" and lines[1]["details"]["search"]["attempts"][0]["mirrored"]
    run = json.loads(out.with_name("preds.jsonl.run.json").read_text())["settings"]
    assert run["method"]["box"]["family"] == "qwen2_5_vl" and run["flip_merge"] is True
    assert run["layouts"] == [None, "target-left", "target-bottom"]


def test_cli_usage_errors(built, tiny_video_models, tmp_path, capsys):
    base = ["video-ground", "--data", str(built), "--out", str(tmp_path / "p.jsonl"), "--sam2",
            str(tiny_video_models["sam2"])]
    assert run_cli(base) == 2  # neither --model nor --openai-model
    assert run_cli([*base, "--model", "m", "--openai-model", "n"]) == 2
    assert run_cli([*base, "--openai-model", "n", "--layout", "target-left"]) == 2  # no pair probe asked
    assert "pair probes" in capsys.readouterr().err


def test_text_track_with_tiny_sam3(built, reference, tmp_path, capsys):
    import transformers

    if not hasattr(transformers, "Sam3VideoModel"):
        assert run_cli(["text-track", "--data", str(built), "--sam3", "x", "--out", str(tmp_path / "p.jsonl")]) == 1
        assert "Sam3VideoModel" in capsys.readouterr().err
        return
    from pixbench.baselines.video_segmenters import make_tiny_sam3_video

    sam3 = make_tiny_sam3_video(tmp_path / "sam3")
    out = tmp_path / "preds.jsonl"
    code = run_cli(["text-track", "--data", str(built), "--probe", "reversed", "--max-expressions", "1", "--sam3",
                    str(sam3), "--out", str(out), "--no-progress", "--device", "cpu", "--lowercase-expressions"])
    assert code == 0, capsys.readouterr().err
    (line,) = _lines(out)
    row = reference.reversed[line["id"]]
    assert line["probe"] == "reversed" and len(line["masks"]) == len(row.frame_names)
    assert line["details"]["prompt"] == normalise_expression(row.expression, lowercase=True)
    assert not read_predictions(out, index={"mocentric": MOCENTRIC.line_index(reference)}).problems


# ------------------------------------------------------------------------------------------------ accelerate


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_two_processes_give_the_same_file_as_one(built, tiny_video_models, tmp_path):
    """Clips shared by 2 CPU processes (tiny Qwen2.5-VL: seeded random replies, so every line's details must
    match too) merge into the same bytes as one process."""
    pytest.importorskip("accelerate")

    def args(out: Path) -> list[str]:
        return ["video-ground", "--data", str(built), "--probe", "original", "static-pair", "--max-expressions",
                "2", "--model", str(tiny_video_models["qwen2.5-vl"]), "--max-new-tokens", "4", "--max-tries", "1",
                "--sam2", str(tiny_video_models["sam2"]), "--out", str(out), "--no-progress", "--device", "cpu"]

    single, parallel = tmp_path / "single" / "preds.jsonl", tmp_path / "parallel" / "preds.jsonl"
    assert run_cli(args(single)) == 0
    accelerate = shutil.which("accelerate", path=str(Path(sys.executable).parent)) or "accelerate"
    command = [accelerate, "launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1",
               "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port", str(_free_port()),
               "-m", "pixbench.baselines", "-v", *args(parallel)]
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "PYTHONPATH": str(REPO_ROOT)}
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "process 0/2: 2 clip(s) to do of 4" in done.stderr and "process 1/2: 2 clip(s) to do of 4" in done.stderr
    assert parallel.read_bytes() == single.read_bytes()
    assert not list(parallel.parent.glob("*.shard-*"))


# ------------------------------------------------------------------------------------------------ hostile


def test_a_key_in_base_url_never_reaches_the_run_file_and_spellings_resume(built, reference, tiny_video_models,
                                                                           tmp_path, capsys):
    pytest.importorskip("openai")
    ids = list(reference.expressions)[:1]
    out = tmp_path / "preds.jsonl"
    with _planted_server(reference, ids) as server:
        keyed = server.base_url.replace("http://", "http://user:sk-in-userinfo-123@")

        def cli(base_url: str) -> int:
            return run_cli(["video-ground", "--data", str(built), "--probe", "original", "--max-expressions", "1",
                            "--openai-model", "gpt-test", "--base-url", base_url, "--sam2",
                            str(tiny_video_models["sam2"]), "--judge-cache", str(tmp_path / "judge.sqlite"),
                            "--out", str(out), "--no-progress", "--device", "cpu"])

        assert cli(keyed) == 0, capsys.readouterr().err
        first = server.request_count
        # the same server spelt another way (localhost, a trailing slash) resumes the finished run
        assert cli(keyed.replace("127.0.0.1", "localhost") + "/") == 0, capsys.readouterr().err
        assert server.request_count == first
        base_url = server.base_url
    captured = capsys.readouterr()
    written = out.read_text() + out.with_name("preds.jsonl.run.json").read_text()
    assert "sk-in-userinfo-123" not in written + captured.out + captured.err
    run = json.loads(out.with_name("preds.jsonl.run.json").read_text())["settings"]
    assert run["method"]["box"]["base_url"] == base_url.replace("http://", "http://***@")


def test_a_second_writer_of_the_same_out_is_refused_at_once(built, reference, tmp_path):
    from pixbench.runs import OutputLocked, exclusive_output

    out = tmp_path / "preds.jsonl"
    loaded: list[str] = []

    def load(device: str) -> Any:
        loaded.append(device)
        raise AssertionError("no model is loaded for a refused run")

    with exclusive_output(out, command="video-ground (the first)"), \
            pytest.raises(OutputLocked, match=r"pid \d+, `video-ground \(the first\)`"):
        run_video_baseline(_config(built, out), load_method=load, reference=reference)
    assert not loaded and not out.exists() and not out.with_name("preds.jsonl.run.json").exists()


def test_a_huge_reply_leaves_a_line_that_reads_back(built, reference, tmp_path):
    from judge_server import running_server

    from pixbench.baselines.boxes import MAX_BOXES_PER_REPLY, MAX_STORED_REPLY_CHARS

    boxes = [{"bbox_2d": [1 + k % 20, 1 + k % 10, 25 + k % 20, 20 + k % 10]} for k in range(5_000)]
    reply = json.dumps(boxes) + " " + "x" * 3_000_000  # 3 MB of prose after 5,000 boxes
    out = tmp_path / "preds.jsonl"
    with running_server(lambda body: reply) as server:
        summary = _openai_run(built, out, server, tmp_path / "c.sqlite", BoxStub(), max_expressions=1)
    assert summary.lines == 1 and not summary.problems
    assert out.stat().st_size < 1_000_000
    (line,) = _lines(out)
    text = json.dumps(line["details"])
    assert f'"reply_chars": {len(reply)}' in text
    stored = [len(a) for a in re.findall(r'"reply": "((?:[^"\\]|\\.)*)"', text)]
    assert stored and max(stored) <= 2 * MAX_STORED_REPLY_CHARS
    assert text.count('"bbox_2d"') <= MAX_BOXES_PER_REPLY
