"""The video baselines on MeViS: a synthetic release with v1 and v2 (64 x 96 frames, 5-9 frames per video), built
with its frames, run with box prompts and point prompts, then scored with ``pixbench score``.

A MeViS line's probe is its version and its clip the native frames (no layout, no keyframe); the benchmark is
read from the build (``--data PATH``) or named (``--data mevis=PATH``). The endpoints are real local servers
(tests/judge_server.py) answering planted boxes or point tracks from the ground truth; the segmenters are stubs
that paint the boxes or squares around the points, so J&F is a real number checked against a hand computation.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from baseline_helpers import run_cli
from test_point_baseline import (
    FPS,
    PointStub,
    ScriptedPoints,
    hand_j,
    lines_of,
    object_centres,
    planted_tracks_server,
)

from pixbench.annotation import rle as rle_ops
from pixbench.baselines.box_models import OpenAIBoxModel
from pixbench.baselines.point_models import OpenAIPointModel
from pixbench.baselines.video_runner import (
    BoxThenPropagate,
    PointsThenPropagate,
    VideoRunConfig,
    benchmark_of_build,
    clip_source,
    run_video_baseline,
    video_benchmarks,
)
from pixbench.benchmarks import REGISTRY
from pixbench.benchmarks.mevis import MEVIS
from pixbench.cli import main
from pixbench.predictions import read_predictions

SECRET = "sk-test-mevis-runner-secret"


@pytest.fixture(scope="module")
def raw(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from pixbench.benchmarks.mevis.synthetic import write_synthetic_release

    return write_synthetic_release(tmp_path_factory.mktemp("mevis-raw") / "mevis")


@pytest.fixture(scope="module")
def built(raw: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from pixbench.benchmarks.mevis import build as mevis

    out = tmp_path_factory.mktemp("mevis") / "MeViS"
    mevis.build(mevis_root=raw.root, out_dir=out)
    return out


@pytest.fixture(scope="module")
def reference(built: Path) -> Any:
    from pixbench.references import load_reference

    return load_reference("mevis", str(built))


@pytest.fixture(scope="module")
def planted(raw: Any, reference: Any) -> dict[str, Any]:
    """Per v2 expression, each object's centre per frame (None for the no-target ones: nothing to point at)."""
    mask_dict = json.loads(raw.mask_dict.read_text())
    return {row.expression: None if row.no_target else object_centres(mask_dict, row.anno_ids,
                                                                       len(row.frame_names))
            for row in reference.rows_for("v2").values()}


class BoxStub:
    """A segmenter returning the union of the seed boxes (pixels they cover) as every frame's mask."""

    name = "stub-box"

    def segment(self, frames: Sequence[np.ndarray], *, init_frame: int,
                boxes: Sequence[tuple[float, ...]]) -> list[np.ndarray]:
        height, width = frames[0].shape[:2]
        mask = np.zeros((height, width), dtype=bool)
        for x1, y1, x2, y2 in boxes:
            mask[math.floor(y1):math.ceil(y2), math.floor(x1):math.ceil(x2)] = True
        return [mask.copy() for _ in frames]


def _first_box(row: Any) -> list[int] | None:
    """The ground truth's box on the first frame where it is not empty, in the pixels of the image sent (halved)."""
    for encoded in row.masks:
        mask = rle_ops.decode(encoded).astype(bool)
        if mask.any():
            rows, cols = np.nonzero(mask)
            return [int(cols.min()) // 2, int(rows.min()) // 2, -(-(int(cols.max()) + 1) // 2),
                    -(-(int(rows.max()) + 1) // 2)]
    return None


def _expression_of_box_question(body: dict[str, Any]) -> str:
    text = body["messages"][1]["content"][0]["text"]
    return str(text.split("Given the query ", 1)[1].split(", detect and localize", 1)[0])


def _config(built: Path, out: Path, **kwargs: Any) -> VideoRunConfig:
    values: dict[str, Any] = {"data": str(built), "out": out, "model_name": "test+stub", "probes": ("v1",),
                              "method": {"kind": "test"}, "progress": False, **kwargs}
    return VideoRunConfig(**values)


# ------------------------------------------------------------------------------------------------ the clips


def test_mevis_clips_are_the_native_frames(built, reference):
    assert benchmark_of_build(built) == "mevis" and set(video_benchmarks()) >= {"mevis", "mocentric"}
    clips = clip_source(MEVIS)
    assert clips is not None and not clips.keyframes and clips.exclusive_probes and clips.layouts("v2") == ()
    row = next(iter(reference.rows_for("v2").values()))
    view = clips.view(row, "v2", None)
    assert (view.length, view.canvas, view.keyframe, view.mirror_axis) == (len(row.frame_names), (64, 96), None,
                                                                           None)
    frames = [np.full((64, 96, 3), t, dtype=np.uint8) for t in range(view.length)]
    assert [int(f[0, 0, 0]) for f in view.compose(frames)] == list(range(view.length))
    with pytest.raises(ValueError, match="takes no layout"):
        clips.view(row, "v2", "target-left")
    assert clip_source(REGISTRY["pixmmvp"]) is None  # the base class's default: no clips


def test_config_refusals_name_the_reason(built, tmp_path):
    out = tmp_path / "p.jsonl"
    with pytest.raises(ValueError, match="init 'keyframe' starts from each expression's keyframe, but MeViS"):
        _config(built, out, init="keyframe")
    with pytest.raises(ValueError, match=r"one model's MeViS lines answer one probe, but \['v1', 'v2'\]"):
        _config(built, out, probes=("v1", "v2"))
    with pytest.raises(ValueError, match=r"MeViS probes among \['v1', 'v2'\]"):
        _config(built, out, probes=("original",))
    with pytest.raises(ValueError, match="Layouts apply to the pair probes"):
        _config(built, out, layouts=("target-left",))
    with pytest.raises(ValueError, match="PixMMVP has no video clips"):
        _config(built, out, benchmark="pixmmvp")
    with pytest.raises(ValueError, match=r"build_summary\.json: cannot tell which benchmark"):
        _config(tmp_path, out)
    assert _config(built, out).benchmark == "mevis"


# ------------------------------------------------------------------------------------------------ boxes


def test_boxes_on_v1_score_and_check_clean(built, reference, tmp_path, monkeypatch, capsys):
    pytest.importorskip("openai")
    from judge_server import running_server

    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    rows = reference.rows_for("v1")
    planted = {row.expression: _first_box(row) for row in rows.values()}

    def reply(body: dict[str, Any]) -> str:
        box = planted[_expression_of_box_question(body)]
        return "[]" if box is None else json.dumps([{"bbox_2d": box, "label": "x"}])

    out = tmp_path / "preds.jsonl"
    with running_server(reply) as server:
        def load(device: str) -> BoxThenPropagate:
            box_model = OpenAIBoxModel.from_endpoint("gpt-test", base_url=server.base_url, backoff=0.01)
            return BoxThenPropagate(box_model, BoxStub(), init="first")

        summary = run_video_baseline(_config(built, out, model_name="gpt-test+stub"), load_method=load)
    assert summary.problems == [] and summary.lines == len(rows) == 14
    checked = read_predictions(out, index={"mevis": MEVIS.line_index(reference)})
    assert not checked.problems and len(checked.predictions) == 14
    lines = lines_of(out)
    assert [line["id"] for line in lines] == list(rows)  # the build's order
    for line in lines:
        row = rows[line["id"]]
        assert line["benchmark"] == "mevis" and line["probe"] == "v1" and "layout" not in line
        assert len(line["masks"]) == len(row.frame_names) and line["details"]["presented_keyframe"] is None
        assert line["details"]["boxes"] and line["details"]["mirror_axis"] is None
    run = json.loads(out.with_name("preds.jsonl.run.json").read_text())
    assert run["settings"]["benchmark"] == "mevis" and run["settings"]["probes"] == ["v1"]
    assert main(["score", str(out), "--data", f"mevis={built}", "--format", "json"]) == 0
    (result,) = json.loads(capsys.readouterr().out)["results"]
    assert result["probe"] == "v1"
    by_hand = hand_j(lines, rows)
    assert result["metrics"]["J"] == pytest.approx(100 * float(np.mean(by_hand)), abs=1e-3)
    assert 20 < result["metrics"]["JF"] <= 100


# ------------------------------------------------------------------------------------------------ points


def test_points_on_v2_score_with_the_no_target_rule(built, reference, planted, tmp_path, monkeypatch, capsys):
    pytest.importorskip("openai")
    from pixbench.judge import JudgeCache

    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    rows = reference.rows_for("v2")
    out, stub = tmp_path / "preds.jsonl", PointStub()
    with planted_tracks_server(planted) as server, JudgeCache(tmp_path / "judge.sqlite") as cache:
        def load(device: str) -> PointsThenPropagate:
            model = OpenAIPointModel.from_endpoint("gpt-test", base_url=server.base_url, cache=cache, backoff=0.01)
            return PointsThenPropagate(model, stub, fps=FPS, point_fps=2)

        summary = run_video_baseline(_config(built, out, probes=("v2",), init=None), load_method=load)
        assert server.request_count == len(rows) == 18
    assert summary.problems == [] and summary.lines == 18
    assert not read_predictions(out, index={"mevis": MEVIS.line_index(reference)}).problems
    lines = lines_of(out)
    no_target = {row_id for row_id, row in rows.items() if row.no_target}
    assert len(no_target) == 3
    for line in lines:
        details = line["details"]
        assert details["prompt"] == "points" and details["error"] is None
        if line["id"] in no_target:  # the model says nothing matches: empty masks, no error
            assert line["masks"] == [None] * len(rows[line["id"]].frame_names) and details["empty_masks"]
            assert details["prompt_frames"] == [] and details["attempts"][0]["answer"]["format"] == "xml"
        else:
            assert details["prompt_points"] > 0 and any(m is not None for m in line["masks"])
    assert main(["score", str(out), "--data", f"mevis={built}", "--format", "json"]) == 0
    (result,) = json.loads(capsys.readouterr().out)["results"]
    assert result["probe"] == "v2"
    metrics = result["metrics"]
    assert metrics["N_acc"] == 100.0 and metrics["T_acc"] == 100.0  # every no-target empty, every target not
    targets = [line for line in lines if line["id"] not in no_target]
    assert metrics["J"] == pytest.approx(100 * float(np.mean(hand_j(targets, rows))), abs=1e-3)
    assert metrics["J"] > 20 and 10 < metrics["JF"] <= 100


def test_cli_points_and_boxes_on_mevis_with_the_real_tiny_sam2(built, reference, planted, tmp_path, monkeypatch,
                                                               capsys):
    pytest.importorskip("openai")
    from pixbench.baselines.video_segmenters import make_tiny_sam2_video

    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    sam2 = make_tiny_sam2_video(tmp_path / "sam2")
    out = tmp_path / "points.jsonl"
    with planted_tracks_server(planted) as server:
        code = run_cli(["video-ground", "--data", f"mevis={built}", "--probe", "v2", "--max-expressions", "2",
                        "--prompt", "points", "--openai-model", "gpt-test", "--base-url", server.base_url,
                        "--sam2", str(sam2), "--judge-cache", str(tmp_path / "judge.sqlite"), "--out", str(out),
                        "--no-progress", "--device", "cpu"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert captured.out.strip() == str(out) and SECRET not in captured.err + out.read_text()
    lines = lines_of(out)
    assert [line["probe"] for line in lines] == ["v2", "v2"] and lines[0]["model"] == "gpt-test-points+sam2"
    assert not read_predictions(out, index={"mevis": MEVIS.line_index(reference)}).problems
    run = json.loads(out.with_name("points.jsonl.run.json").read_text())["settings"]
    assert run["benchmark"] == "mevis" and run["probes"] == ["v2"] and run["init"] is None
    assert main(["score", str(out), "--data", f"mevis={built}", "--format", "json"]) == 0
    (result,) = json.loads(capsys.readouterr().out)["results"]
    assert isinstance(result["metrics"]["JF"], float) and not math.isnan(result["metrics"]["JF"])

    # the plain form of --data reads the benchmark from the build; a keyframe start is refused with a reason
    base = ["video-ground", "--data", str(built), "--probe", "v1", "--openai-model", "gpt-test", "--sam2",
            str(sam2), "--out", str(tmp_path / "boxes.jsonl"), "--no-progress", "--device", "cpu"]
    assert run_cli([*base, "--init", "keyframe"]) == 2
    assert "MeViS expressions have none" in capsys.readouterr().err
    assert run_cli([*base[:4], "v1", "v2", *base[5:]]) == 2
    assert "answer one probe" in capsys.readouterr().err
    assert run_cli(["video-ground", "--data", f"mocentric={built}", *base[3:]]) == 2  # not a MoCentric build
    assert (f"--data mocentric={built}: that folder is a mevis build (its build_summary.json), not mocentric"
            in capsys.readouterr().err)
    assert not (tmp_path / "boxes.jsonl").exists()


def test_text_track_config_and_default_probe_on_mevis(built, tmp_path, capsys):
    # without --probe, a MeViS run answers the first version; the SAM 3 check comes first where it is missing
    import transformers

    if not hasattr(transformers, "Sam3VideoModel"):
        pytest.skip("transformers without SAM 3")
    from pixbench.baselines.video_segmenters import make_tiny_sam3_video

    sam3 = make_tiny_sam3_video(tmp_path / "sam3")
    out = tmp_path / "text.jsonl"
    assert run_cli(["text-track", "--data", str(built), "--max-expressions", "1", "--sam3", str(sam3), "--out",
                    str(out), "--no-progress", "--device", "cpu"]) == 0, capsys.readouterr().err
    (line,) = lines_of(out)
    assert line["probe"] == "v1" and line["benchmark"] == "mevis"


def test_scripted_points_on_one_expression_land_on_native_frames(built, reference, tmp_path):
    row_id, row = next(iter(reference.rows_for("v1").items()))
    stub = PointStub(radius=1)
    model = ScriptedPoints(['<tracks coords="0.5 0 500 500">x</tracks>'])
    out = tmp_path / "preds.jsonl"
    run_video_baseline(_config(built, out, max_expressions=1, init=None),
                       load_method=lambda device: PointsThenPropagate(model, stub, fps=FPS))
    (line,) = lines_of(out)
    assert line["id"] == row_id and stub.calls == [{3: {"0": [(48.0, 32.0)]}}]  # 0.5 s at 6 fps: frame 3
    assert model.questions[0].frames == tuple(range(0, len(row.frame_names), 3))
    mask = rle_ops.decode(line["masks"][3]).astype(bool)
    assert mask.shape == (64, 96) and mask[31:34, 47:50].all() and mask.sum() == 9
