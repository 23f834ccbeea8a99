"""The point-prompt video baseline (``video-ground --prompt points``): questions, back ends, the method and the
runner on a synthetic MoCentric-Bench (64 x 96 frames, 5-9 frames per video).

The OpenAI back end talks to a real local server (tests/judge_server.py) that answers planted point tracks
(each object's ground-truth centre at the times shown); the Qwen back end runs a tiny random Qwen2.5-VL built
here (its random reply is recorded as unparsable; planted replies check the processor path); the plumbing is
checked with a stub segmenter that paints a square around each prompt point of the nearest prompt frame (so the
lines score meaningfully), and the real tiny random SAM 2 runs once through the CLI.
"""

from __future__ import annotations

import base64
import io
import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from baseline_helpers import run_cli
from PIL import Image

from pixbench.annotation import rle as rle_ops
from pixbench.baselines.box_models import QwenBoxModel
from pixbench.baselines.point_models import (
    POINT_SYSTEM,
    OpenAIPointModel,
    PointQuestion,
    QwenPointModel,
    molmo_prompt,
    molmo_question,
    question_settings,
    time_label,
    track_prompt,
    track_question,
)
from pixbench.baselines.point_tracks import PointTrackAnswer, failed_answer, read_point_tracks
from pixbench.baselines.video_runner import (
    NO_POINT_ANYWHERE,
    Clip,
    PointsThenPropagate,
    VideoRunConfig,
    run_video_baseline,
)
from pixbench.benchmarks.mocentric import MOCENTRIC
from pixbench.cli import main
from pixbench.predictions import read_predictions

SECRET = "sk-test-point-baseline-secret"
FPS = 6.0


# ------------------------------------------------------------------------------------------------ shared helpers


class PointStub:
    """A segmenter painting, on every frame, a square of side ``2 * radius + 1`` around each point of the
    nearest prompt frame (the earlier one on a tie); records every call's prompts."""

    name = "stub-points"

    def __init__(self, radius: int = 6) -> None:
        self.radius = radius
        self.calls: list[dict[int, dict[str, list[tuple[float, float]]]]] = []

    def segment_points(self, frames: Sequence[np.ndarray], *, points: Mapping[int, Mapping[str, Sequence[Any]]]
                       ) -> list[np.ndarray]:
        self.calls.append({f: {k: list(v) for k, v in objects.items()} for f, objects in points.items()})
        height, width = frames[0].shape[:2]
        out = []
        for t in range(len(frames)):
            nearest = min(points, key=lambda f: (abs(f - t), f))
            mask = np.zeros((height, width), dtype=bool)
            for xy in points[nearest].values():
                for x, y in xy:
                    r = self.radius
                    mask[max(0, int(y) - r):int(y) + r + 1, max(0, int(x) - r):int(x) + r + 1] = True
            out.append(mask)
        return out


def object_centres(mask_dict: Mapping[str, Sequence[Any]], anno_ids: Sequence[int], num_frames: int
                   ) -> list[list[tuple[int, int]]]:
    """Per frame, each present object's centre in 0-1000 coordinates (pixel centres), in anno id order."""
    per_frame: list[list[tuple[int, int]]] = []
    for t in range(num_frames):
        centres = []
        for anno in anno_ids:
            encoded = mask_dict[str(anno)][t]
            if encoded is None:
                continue
            mask = rle_ops.decode(encoded).astype(bool)
            if not mask.any():
                continue
            rows, cols = np.nonzero(mask)
            height, width = mask.shape
            centres.append((round((cols.mean() + 0.5) / width * 1000), round((rows.mean() + 0.5) / height * 1000)))
        per_frame.append(centres)
    return per_frame


def tracks_reply(centres: Sequence[Sequence[tuple[int, int]]] | None, times: Sequence[float], label: str) -> str:
    """An lmms-eval-style reply: for each time shown, every object's centre at frame ``round(t * 6)``."""
    if centres is None:
        return '<tracks coords="">none</tracks>'
    segments = []
    for t in times:
        frame = round(t * FPS)
        objects = centres[frame]
        segments.append(" ".join([f"{t:g}", *(f"{k} {x} {y}" for k, (x, y) in enumerate(objects))]))
    return f'The objects move as follows.\n<tracks coords="{"; ".join(segments)}">{label}</tracks>'


def expression_of(body: dict[str, Any]) -> str:
    text = body["messages"][1]["content"][0]["text"]
    return str(text.split("refers to: ", 1)[1].split(". Answer with", 1)[0].split(". Answer in this XML", 1)[0])


def times_of(body: dict[str, Any]) -> list[float]:
    return [float(p["text"][len("Time "):-len(" s:")]) for p in body["messages"][1]["content"][1:]
            if p["type"] == "text"]


def planted_tracks_server(planted: Mapping[str, Sequence[Sequence[tuple[int, int]]] | None]) -> Any:
    """A local endpoint answering each expression's planted centres at the times its question shows."""
    from judge_server import running_server

    return running_server(lambda body: tracks_reply(planted[expression_of(body)], times_of(body),
                                                    expression_of(body)))


def sent_images(body: dict[str, Any]) -> list[Image.Image]:
    images = []
    for part in body["messages"][-1]["content"]:
        if part.get("type") == "image_url":
            images.append(Image.open(io.BytesIO(base64.b64decode(part["image_url"]["url"].split(",", 1)[1]))))
    return images


def lines_of(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def hand_j(lines: Sequence[dict[str, Any]], rows: Mapping[str, Any]) -> list[float]:
    """Each line's J by hand: the mean IoU over frames (1 when both masks are empty)."""
    values = []
    for line in lines:
        row = rows[line["id"]]
        ious = []
        for pred_rle, gt_rle in zip(line["masks"], row.masks):
            gt = rle_ops.decode(gt_rle).astype(bool)
            pred = np.zeros_like(gt) if pred_rle is None else rle_ops.decode(pred_rle).astype(bool)
            union = (pred | gt).sum()
            ious.append(1.0 if union == 0 else (pred & gt).sum() / union)
        values.append(float(np.mean(ious)))
    return values


# ------------------------------------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def raw_and_built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path]:
    from pixbench.benchmarks.mocentric import build as mocentric
    from pixbench.benchmarks.mocentric.synthetic import write_synthetic_mevis

    root = tmp_path_factory.mktemp("mocentric-points")
    raw = write_synthetic_mevis(root / "raw")
    mocentric.build(mevis_root=raw.root, keyframes=raw.keyframes, reverse_expressions=raw.reverse_expressions,
                    out_dir=root / "MoCentric-Bench")
    return raw, root / "MoCentric-Bench"


@pytest.fixture(scope="module")
def built(raw_and_built: tuple[Any, Path]) -> Path:
    return raw_and_built[1]


@pytest.fixture(scope="module")
def reference(built: Path) -> Any:
    from pixbench.references import load_reference

    return load_reference("mocentric", str(built))


@pytest.fixture(scope="module")
def planted(raw_and_built: tuple[Any, Path], reference: Any) -> dict[str, Any]:
    mask_dict = json.loads(raw_and_built[0].mask_dict.read_text())
    planted = {row.expression: object_centres(mask_dict, row.anno_ids, len(row.frame_names))
               for row in reference.expressions.values()}
    for row in reference.reversed.values():  # the reversed clip: presented frame t is original frame T - 1 - t
        planted[row.expression] = object_centres(mask_dict, row.anno_ids, len(row.frame_names))[::-1]
    return planted


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from pixbench.baselines.tiny import tiny_qwen2vl
    from pixbench.baselines.video_segmenters import make_tiny_sam2_video

    folder = tmp_path_factory.mktemp("tiny-points")
    model, processor = tiny_qwen2vl(0, version="2.5")
    model.save_pretrained(folder / "qwen2.5-vl")
    processor.save_pretrained(folder / "qwen2.5-vl")
    return {"qwen2.5-vl": folder / "qwen2.5-vl", "sam2": make_tiny_sam2_video(folder / "sam2")}


def _clip(count: int = 7, size: tuple[int, int] = (48, 64), seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 255, size=(*size, 3), dtype=np.uint8) for _ in range(count)]


# ------------------------------------------------------------------------------------------------ questions


def test_track_question_shows_sampled_frames_with_their_times():
    question = track_question("the dog", num_frames=20, fps=6, point_fps=2)
    assert question.point_format == "xml" and question.system == POINT_SYSTEM
    assert question.frames == (0, 3, 6, 9, 12, 15, 18) and question.times == (0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0)
    assert question.text == track_prompt("the dog") and "refers to: the dog. Answer in this XML format" in question.text
    assert '<tracks coords="t0 id0 x0 y0 id1 x1 y1; t1 id0 x2 y2 id1 x3 y3; ...">' in question.text
    parts = question.parts()
    assert parts[:5] == [("text", question.text), ("text", "Time 0 s:"), ("image", 0), ("text", "Time 0.5 s:"),
                         ("image", 3)]
    assert len(parts) == 1 + 2 * 7 and time_label(1 / 3) == "Time 0.333 s:"
    capped = track_question("x", num_frames=100, fps=6, point_fps=6, max_frames=5)
    assert capped.frames == (0, 25, 50, 74, 99) and capped.times[1] == pytest.approx(25 / 6)
    molmo = molmo_question("the dog", 4)
    assert molmo.frames == (4,) and molmo.times is None and molmo.parts() == [("text", molmo_prompt("the dog")),
                                                                             ("image", 4)]
    assert question_settings("xml", fps=6)["prompt"] == track_prompt("{expression}")
    with pytest.raises(ValueError, match="point_fps"):
        track_question("x", num_frames=3, fps=6, point_fps=0)


# ------------------------------------------------------------------------------------------------ OpenAI back end


def test_openai_points_messages_scaling_cache_and_failures(tmp_path, monkeypatch):
    pytest.importorskip("openai")
    from judge_server import running_server, server_error

    from pixbench.judge import JudgeCache

    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    reply = 'Sure: <tracks coords="0 0 500 250; 0.5 0 250 500 1 1000 1000">the dog</tracks>'
    clip = _clip()
    with running_server(lambda body: reply) as server, JudgeCache(tmp_path / "judge.sqlite") as cache:
        model = OpenAIPointModel.from_endpoint("gpt-test", base_url=server.base_url, cache=cache, backoff=0.01)
        question = track_question("the dog", num_frames=len(clip), fps=6, point_fps=2)
        answer = model.ask(clip, question)
        body = server.requests[0].body
        assert server.requests[0].headers["authorization"] == f"Bearer {SECRET}"
        assert body["messages"][0] == {"role": "system", "content": POINT_SYSTEM}
        texts = [p["text"] for p in body["messages"][1]["content"] if p["type"] == "text"]
        assert texts == [track_prompt("the dog"), "Time 0 s:", "Time 0.5 s:", "Time 1 s:"]  # frames 0, 3, 6
        assert [im.size for im in sent_images(body)] == [(32, 24)] * 3  # (w, h) halved
        # 0-1000 coordinates on the presented 48 x 64 frame: the downscale changes nothing
        assert [p.as_list() for p in answer.points] == [[0.0, "0", 32.0, 12.0], [0.5, "0", 16.0, 24.0],
                                                        [0.5, "1", 64.0, 48.0]]
        assert answer.point_format == "xml" and not answer.cached and answer.error is None
        again = model.ask(clip, question)
        assert server.request_count == 1 and again.cached and again.points == answer.points
        assert model.settings()["downscale"] == 2 and model.settings()["backend"] == "openai"
        model.close()
    stored = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("judge.sqlite"))
    assert SECRET.encode() not in stored
    with running_server(lambda body: reply, always=server_error(502)) as server:
        model = OpenAIPointModel.from_endpoint("gpt-test", base_url=server.base_url, backoff=0.01)
        failed = model.ask(clip, molmo_question("the dog", 2))
        model.close()
    assert failed.call_failed and failed.reply is None and "HTTP 502" in str(failed.error)
    assert "point model" in str(failed.error)
    assert [im.size for im in sent_images(server.requests[0].body)] == [(32, 24)]  # one frame for molmo


# ------------------------------------------------------------------------------------------------ Qwen back end


@pytest.fixture(scope="module")
def tiny_qwen25() -> tuple[Any, Any]:
    from pixbench.baselines.tiny import tiny_qwen2vl

    return tiny_qwen2vl(seed=0, version="2.5")


def test_qwen_points_real_generation_and_planted_replies(tiny_qwen25, monkeypatch):
    model, processor = tiny_qwen25
    qwen = QwenBoxModel(model, processor, max_new_tokens=6, when_max_pixels=28 * 28 * 4, max_pixels=28 * 28 * 16)
    points = QwenPointModel(qwen)
    clip = _clip(size=(60, 90))
    question = track_question("the cat", num_frames=len(clip), fps=6, point_fps=2)
    real = points.ask(clip, question)
    assert isinstance(real.reply, str) and real.points == () and real.error is not None  # random text, recorded
    assert points.ask(clip, question).reply == real.reply  # greedy: the same reply

    seen: list[Any] = []

    def generate(inputs: Any) -> str:
        seen.append(inputs)
        return '<tracks coords="0 0 500 500; 1 0 100 900">cat</tracks>'

    prepared: list[Any] = []
    prepare = qwen.prepare
    monkeypatch.setattr(qwen, "generate", generate)
    monkeypatch.setattr(qwen, "prepare", lambda *args: prepared.append(args) or prepare(*args))
    answer = points.ask(clip, question)
    assert [p.as_list() for p in answer.points] == [[0.0, "0", 45.0, 30.0], [1.0, "0", 9.0, 54.0]]
    assert seen[0]["image_grid_thw"].tolist() == [[1, 2, 4]] * 3  # three frames at the frames' pixel budget
    system, content, images, budget = prepared[0]
    assert system == POINT_SYSTEM and budget == 28 * 28 * 4 and [im.shape for im in images] == [(60, 90, 3)] * 3
    assert content == [{"type": "text", "text": track_prompt("the cat")}, {"type": "text", "text": "Time 0 s:"},
                       {"type": "image"}, {"type": "text", "text": "Time 0.5 s:"}, {"type": "image"},
                       {"type": "text", "text": "Time 1 s:"}, {"type": "image"}]
    assert processor.batch_decode(seen[0]["input_ids"])[0].count("<|vision_start|>") == 3
    monkeypatch.setattr(qwen, "generate", lambda inputs: seen.append(inputs) or '<point x="50" y="50">cat</point>')
    single = points.ask(clip, molmo_question("the cat", 1))
    assert seen[-1]["image_grid_thw"].tolist() == [[1, 4, 6]]  # one frame at max_pixels
    assert single.points[0].as_list() == [None, "1", 45.0, 30.0] and single.point_format == "molmo"
    settings = points.settings()
    assert settings["family"] == "qwen2_5_vl" and settings["frame_max_pixels"] == 28 * 28 * 4
    assert "box_format" not in settings


# ------------------------------------------------------------------------------------------------ the method


class ScriptedPoints:
    """A point back end answering scripted replies in call order and recording the questions."""

    def __init__(self, replies: Sequence[str | None]) -> None:
        self.replies = list(replies)
        self.questions: list[PointQuestion] = []

    def ask(self, frames: Sequence[np.ndarray], question: PointQuestion) -> PointTrackAnswer:
        self.questions.append(question)
        reply = self.replies.pop(0)
        size = (int(frames[0].shape[0]), int(frames[0].shape[1]))
        if reply is None:
            return failed_answer("HTTP 503", frame_size=size)
        return read_point_tracks(reply, frame_size=size, point_format=question.point_format)

    def settings(self) -> dict[str, Any]:
        return {"backend": "scripted"}


def _method_clip(keyframe: int | None = 4) -> Clip:
    return Clip("v_0", "original", None, "the dog", _clip(count=9, size=(40, 100)), keyframe)


def test_xml_points_go_on_their_frames_and_are_propagated():
    stub = PointStub()
    model = ScriptedPoints(['<tracks coords="0 0 500 500; 0.5 0 600 500 1 100 100; 2.9 1 0 0">x</tracks>'])
    result = PointsThenPropagate(model, stub, fps=6, point_fps=2)(_method_clip())
    assert model.questions[0].frames == (0, 3, 6) and result.failed is None
    # 0.5 s -> frame 3; 2.9 s -> 17.4 -> frame 17, clamped to 8; (1000 * 0 / 1000) stays 0
    assert stub.calls == [{0: {"0": [(50.0, 20.0)]}, 3: {"0": [(60.0, 20.0)], "1": [(10.0, 4.0)]},
                           8: {"1": [(0.0, 0.0)]}}]
    details = result.details
    assert details["prompt_frames"] == [0, 3, 8] and details["prompt_objects"] == 2 and details["prompt_points"] == 4
    assert details["error"] is None and details["point_format"] == "xml"
    (attempt,) = details["attempts"]
    assert attempt["question"] == {"format": "xml", "frames": [0, 3, 6], "times": [0.0, 0.5, 1.0]}
    assert attempt["answer"]["reply"].startswith("<tracks") and attempt["answer"]["point_count"] == 4
    assert len(result.masks) == 9 and result.masks[3][20, 60]


def test_molmo_tries_frames_until_points_and_empty_answers():
    stub = PointStub()
    model = ScriptedPoints(["I see nothing.", '<points x1="10" y1="50" x2="90" y2="50">dogs</points>'])
    result = PointsThenPropagate(model, stub, point_format="molmo", init="keyframe")(_method_clip(keyframe=4))
    assert [q.frames for q in model.questions] == [(4,), (0,)]  # the keyframe, then the others from 0
    assert stub.calls == [{0: {"1": [(10.0, 20.0)], "2": [(90.0, 20.0)]}}] and result.details["error"] is None
    assert len(result.details["attempts"]) == 2 and result.details["attempts"][0]["answer"]["error"]

    nothing = PointsThenPropagate(ScriptedPoints(["No."] * 2), PointStub(), point_format="molmo", max_tries=2)(
        _method_clip())
    assert nothing.masks is None and nothing.details["error"].startswith(NO_POINT_ANYWHERE)
    assert len(nothing.details["attempts"]) == 2
    clean = PointsThenPropagate(ScriptedPoints(['<tracks coords="">none</tracks>']), stub)(_method_clip())
    assert clean.masks is None and clean.details["error"] is None and clean.details["prompt_frames"] == []
    failed = PointsThenPropagate(ScriptedPoints([None]), stub)(_method_clip())
    assert failed.failed == "the point call failed: HTTP 503"
    with pytest.raises(ValueError, match="keyframe"):
        PointsThenPropagate(ScriptedPoints([]), stub, point_format="molmo", init="keyframe")(_method_clip(None))
    with pytest.raises(ValueError, match="'first' or 'keyframe'"):
        PointsThenPropagate(ScriptedPoints([]), stub, init="window")


# ------------------------------------------------------------------------------------------------ the runner


def _config(built: Path, out: Path, **kwargs: Any) -> VideoRunConfig:
    values: dict[str, Any] = {"data": str(built), "out": out, "model_name": "gpt-test-points+stub",
                              "probes": ("original",), "method": {"kind": "test", "prompt": "points"},
                              "progress": False, "init": None, **kwargs}
    return VideoRunConfig(**values)


def test_planted_tracks_score_and_resume_on_mocentric(built, reference, planted, tmp_path, monkeypatch, capsys):
    pytest.importorskip("openai")
    from pixbench.judge import JudgeCache

    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    out, stub = tmp_path / "preds.jsonl", PointStub()
    with planted_tracks_server(planted) as server, JudgeCache(tmp_path / "judge.sqlite") as cache:
        def load(device: str) -> PointsThenPropagate:
            model = OpenAIPointModel.from_endpoint("gpt-test", base_url=server.base_url, cache=cache, backoff=0.01)
            return PointsThenPropagate(model, stub, fps=FPS, point_fps=2)

        summary = run_video_baseline(_config(built, out), load_method=load)
        assert server.request_count == len(reference.expressions)  # one question per expression
    assert summary.problems == [] and summary.lines == len(reference.expressions)
    checked = read_predictions(out, index={"mocentric": MOCENTRIC.line_index(reference)})
    assert not checked.problems
    lines = lines_of(out)
    for line in lines:
        row = reference.expressions[line["id"]]
        details = line["details"]
        assert details["prompt"] == "points" and details["presented_keyframe"] == row.keyframe
        shown = details["attempts"][0]["question"]["frames"]
        assert shown == list(range(0, len(row.frame_names), 3))
        assert details["prompt_frames"] == [f for f in shown if planted[row.expression][f]]
        assert details["error"] is None and len(line["masks"]) == len(row.frame_names)
        for time, _, x, y in details["attempts"][0]["answer"]["points"]:  # each planted centre, read back, is
            gt = rle_ops.decode(row.masks[round(time * FPS)]).astype(bool)  # on its object in frame pixels
            assert gt[int(y), int(x)]
    assert main(["score", str(out), "--data", f"mocentric={built}", "--format", "json"]) == 0
    (result,) = json.loads(capsys.readouterr().out)["results"]
    by_hand = hand_j(lines, reference.expressions)
    assert result["metrics"]["J"] == pytest.approx(100 * float(np.mean(by_hand)), abs=1e-3)
    assert result["metrics"]["J"] > 20 and 10 < result["metrics"]["JF"] <= 100 and min(by_hand) > 0.1

    with pytest.raises(Exception, match="method"):  # other settings on resume are refused
        run_video_baseline(_config(built, out, method={"kind": "test", "prompt": "points", "point_fps": 1}),
                           load_method=lambda device: None)


def test_pair_probe_points_are_on_the_canvas(built, reference, tmp_path):
    # static-pair, target-left: the canvas is 64 x 192; x 750 / 1000 of 192 = 144 lies in the right (still) half
    stub = PointStub(radius=2)
    model = ScriptedPoints(['<tracks coords="0 0 750 500">x</tracks>'])
    out = tmp_path / "preds.jsonl"
    summary = run_video_baseline(_config(built, out, probes=("static-pair",), max_expressions=1),
                                 load_method=lambda device: PointsThenPropagate(model, stub))
    assert summary.problems == []
    (line,) = lines_of(out)
    assert line["layout"] == "target-left" and line["details"]["mirror_axis"] is None
    assert stub.calls == [{0: {"0": [(144.0, 32.0)]}}]
    mask = rle_ops.decode(line["masks"][0]).astype(bool)
    assert mask.shape == (64, 192) and mask[30:35, 142:147].all() and mask.sum() == 25


# ------------------------------------------------------------------------------------------------ CLI


def test_cli_points_with_the_real_tiny_sam2(built, reference, planted, tiny_models, tmp_path, monkeypatch, capsys):
    pytest.importorskip("openai")
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    out = tmp_path / "preds.jsonl"
    with planted_tracks_server(planted) as server:
        code = run_cli(["video-ground", "--data", str(built), "--probe", "original", "reversed",
                        "--max-expressions", "1", "--prompt", "points", "--point-fps", "3", "--openai-model",
                        "gpt-test", "--base-url", server.base_url, "--sam2", str(tiny_models["sam2"]),
                        "--judge-cache", str(tmp_path / "judge.sqlite"), "--out", str(out), "--no-progress",
                        "--device", "cpu"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert SECRET not in captured.out + captured.err + out.read_text()
    assert not read_predictions(out, index={"mocentric": MOCENTRIC.line_index(reference)}).problems
    original, reversed_line = lines_of(out)
    assert original["model"] == "gpt-test-points+sam2" and original["details"]["prompt_points"] > 0
    assert original["details"]["attempts"][0]["question"]["frames"] == list(
        range(0, len(reference.expressions[original["id"]].frame_names), 2))  # 3 of 6 fps: every 2nd frame
    assert reversed_line["probe"] == "reversed"
    run = json.loads(out.with_name("preds.jsonl.run.json").read_text())["settings"]
    method = run["method"]
    assert method["prompt"] == "points" and run["init"] is None
    assert {k: method["points"][k] for k in ("backend", "point_format", "fps", "point_fps", "max_frames")} == {
        "backend": "openai", "point_format": "xml", "fps": 6.0, "point_fps": 3.0, "max_frames": 64}
    assert method["points"]["prompt"] == track_prompt("{expression}") and method["segmenter"]["sha256"]
    assert main(["score", str(out), "--data", f"mocentric={built}", "--format", "json"]) == 0
    results = json.loads(capsys.readouterr().out)["results"]
    assert [r["probe"] for r in results] == ["original", "reversed"]
    assert all(isinstance(r["metrics"]["JF"], float) and not np.isnan(r["metrics"]["JF"]) for r in results)


def test_cli_tiny_qwen_molmo_points_record_unparsable_replies(built, tiny_models, tmp_path, capsys):
    out = tmp_path / "preds.jsonl"
    code = run_cli(["video-ground", "--data", str(built), "--probe", "static-pair", "--max-expressions", "1",
                    "--prompt", "points", "--point-format", "molmo", "--init", "keyframe", "--max-tries", "2",
                    "--model", str(tiny_models["qwen2.5-vl"]), "--max-new-tokens", "6", "--sam2",
                    str(tiny_models["sam2"]), "--out", str(out), "--no-progress", "--device", "cpu"])
    assert code == 0, capsys.readouterr().err
    (line,) = lines_of(out)
    assert line["model"] == "qwen2.5-vl-molmo-points+sam2" and line["layout"] == "target-left"
    details = line["details"]
    assert all(m is None for m in line["masks"]) and details["empty_masks"]
    assert details["error"].startswith(NO_POINT_ANYWHERE) and len(details["attempts"]) == 2
    assert details["attempts"][0]["question"]["frames"] == [details["presented_keyframe"]]
    run = json.loads(out.with_name("preds.jsonl.run.json").read_text())["settings"]
    assert run["method"]["points"]["family"] == "qwen2_5_vl" and run["init"] == "keyframe"
    assert run["method"]["points"]["prompt"] == molmo_prompt("{expression}")


@pytest.mark.parametrize("extra, fragment", [
    (["--prompt", "points", "--flip-merge"], "--flip-merge is for --prompt boxes"),
    (["--prompt", "points", "--box-format", "norm-1000"], "--box-format is for --prompt boxes"),
    (["--prompt", "points", "--init", "first"], "--init and --max-tries are for --prompt boxes"),
    (["--prompt", "points", "--point-format", "molmo", "--init", "window"], "--init window is for --prompt boxes"),
    (["--prompt", "points", "--point-fps", "0"], "--point-fps must be > 0"),
    (["--probe", "v1"], "probes among"),
])
def test_cli_point_usage_errors(built, tiny_models, tmp_path, capsys, extra, fragment):
    base = ["video-ground", "--data", str(built), "--out", str(tmp_path / "p.jsonl"), "--sam2",
            str(tiny_models["sam2"]), "--openai-model", "n"]
    assert run_cli([*base, *extra]) == 2
    assert fragment in capsys.readouterr().err
    assert not (tmp_path / "p.jsonl").exists()


def test_the_prompt_text_names_the_format_strictly():
    assert re.search(r"integers in \[0, 1000\]", track_prompt("x"))
    assert "percent (0 to 100)" in molmo_prompt("x")
