"""`pixbench baseline explain`: per-phrase images, summary image and JSON, oracle / judge / score choices."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("torch")
pytest.importorskip("transformers")

from baseline_helpers import DiscSegmenter, PlantedAttention, forced, make_image, run_cli

from pixbench.baselines.attention import GenerationSettings, adapter_for
from pixbench.baselines.explain import explain, location_percent, write_explanation
from pixbench.baselines.phrases import load_phrase_tools
from pixbench.baselines.tiny import tiny_llava


@pytest.fixture()
def inputs(tmp_path):
    image = make_image(96, 128)
    image_path = tmp_path / "image.png"
    image.save(image_path)
    gt = np.zeros((96, 128), dtype=np.uint8)
    gt[30:70, 40:100] = 255
    gt_path = tmp_path / "gt.png"
    Image.fromarray(gt).save(gt_path)
    return image_path, gt_path


def _common(models, image_path, out):
    return ["explain", "--image", str(image_path), "--expression", "the red table", "--model", str(models["llava"]),
            "--sam-model", str(models["sam"]), "--phrases", "rules", "--max-new-tokens", "16", "--temperature", "1",
            "--seed", "3", "--out", str(out)]


def test_explain_with_a_ground_truth_uses_the_oracle(tiny_models_dir, inputs, tmp_path, capsys):
    image_path, gt_path = inputs
    out = tmp_path / "explain"
    assert run_cli([*_common(tiny_models_dir, image_path, out), "--gt-mask", str(gt_path)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["expression"] == "the red table"
    assert summary["prompt"] == "Identify the red table in the scene."
    assert summary["grid"] == [6, 6] and summary["fit"] == "pad"
    phrases = summary["phrases"]
    assert phrases, "the tiny model should produce noun phrases"
    for k, phrase in enumerate(phrases):
        assert (out / f"phrase-{k:02d}.png").is_file()
        assert summary["response"][phrase["char_start"]:phrase["char_end"]] == phrase["phrase"]
        assert phrase["location_percent"] == pytest.approx(location_percent(phrase["char_start"], summary["response"]),
                                                           abs=1e-4)
        assert [m["sam_index"] for m in phrase["masks"]] == [0, 1, 2]
        assert all("iou" in m and m["mask"]["size"] == [96, 128] for m in phrase["masks"])
    selection = summary["selection"]
    assert selection["method"] == "oracle" and selection["status"] == "selected"
    best = max(m["iou"] for p in phrases for m in p["masks"])
    assert selection["iou"] == pytest.approx(best)
    chosen = phrases[selection["phrase_index"]]
    assert selection["phrase"] == chosen["phrase"]
    assert selection["location_percent"] == chosen["location_percent"]
    with Image.open(out / "summary.png") as summary_png:
        assert summary_png.width > 300
    printed = capsys.readouterr()
    assert "best grounding (oracle)" in printed.err and str(out / "summary.json") in printed.out


def test_explain_with_the_judge(tiny_models_dir, inputs, tmp_path):
    pytest.importorskip("openai")
    from judge_server import running_server

    image_path, _ = inputs
    out = tmp_path / "explain"

    def reply(body):
        text = body["messages"][0]["content"][0]["text"]
        return "yes" if text.startswith("Does") else "1"

    with running_server(reply) as server:
        code = run_cli([*_common(tiny_models_dir, image_path, out), "--judge-base-url", server.base_url,
                        "--judge-cache", str(tmp_path / "judge.sqlite")])
    assert code == 0
    selection = json.loads((out / "summary.json").read_text())["selection"]
    assert selection["method"] == "judge" and selection["candidate"] == 0
    assert selection["judge_replies"][0] == "yes"


def test_explain_planted_grounding_is_found_where_it_was_planted(tmp_path):
    """The phrase whose tokens attend to the ground truth's cell is chosen, at its place in the answer."""
    model, processor = tiny_llava(seed=4)
    adapter = adapter_for(model, processor)
    image = make_image(96, 128)
    prepared = adapter.prepare(image, "Identify the red table in the scene.")
    positions = prepared.layout.positions
    # "the lamp is on the red table": tokens 4-6 ("the red table") look at cell 27 (row 4, column 3),
    # which covers rows 85.3..106.7 of the padded 128 px square (69.3..90.7 of the image), columns 64..85.3.
    planted = PlantedAttention(lambda step: int(positions[27 if step in (4, 5, 6) else 8]))
    planted.install(model)
    gt = np.zeros((96, 128), dtype=bool)
    gt[69:91, 64:86] = True
    result = explain(adapter=adapter, segmenter=DiscSegmenter(), phrases=load_phrase_tools("rules"), image=image,
                     expression="the red table", settings=GenerationSettings(max_new_tokens=20), method="oracle",
                     gt_mask=gt, **forced(adapter.tokenizer, ["the", "lamp", "is", "on", "the", "red", "table"],
                                          prepared.prompt_length))
    assert result.result.response == "the lamp is on the red table"
    selection = result.selection
    assert selection.status == "selected" and selection.candidate is not None and selection.candidate >= 3
    table = result.result.groundings[selection.candidate // 3]
    assert table.group.text == "the red table" and gt[table.point[1], table.point[0]]
    assert location_percent(table.group.char_start, result.result.response) == pytest.approx(15 / 28 * 100)
    summary = json.loads(write_explanation(result, image, tmp_path)[-1].read_text())
    assert summary["selection"]["phrase"] == "the red table"
    assert summary["selection"]["location_percent"] == pytest.approx(53.5714, abs=1e-3)


def test_write_explanation_without_phrases(tmp_path):
    from pixbench.baselines.attention import ImageTokenLayout
    from pixbench.baselines.explain import ExplainResult, ExplainSelection
    from pixbench.baselines.pipeline import AttendSegmentResult

    result = AttendSegmentResult("Identify x.", "", np.zeros(0, np.int64), np.zeros((0, 2), np.int64),
                                 np.zeros((0, 2, 2), np.float32), ImageTokenLayout(np.arange(4), (2, 2), "pad"), [])
    explained = ExplainResult("x", result, [], ExplainSelection("score", None, "no_candidates"))
    written = write_explanation(explained, make_image(20, 30), tmp_path)
    assert [p.name for p in written] == ["summary.png", "summary.json"]
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["phrases"] == [] and summary["selection"]["candidate"] is None


def test_explain_usage_errors(tiny_models_dir, inputs, tmp_path, capsys):
    image_path, _ = inputs
    base = _common(tiny_models_dir, image_path, tmp_path / "x")
    assert run_cli([*base, "--select", "oracle"]) == 2
    assert "--select oracle needs --gt-mask" in capsys.readouterr().err
    small = tmp_path / "small.png"
    Image.fromarray(np.zeros((5, 5), dtype=np.uint8)).save(small)
    assert run_cli([*base, "--gt-mask", str(small)]) == 2
    assert "--gt-mask is 5x5, the image is 96x128" in capsys.readouterr().err
    assert run_cli([*base[:base.index("--sam-model")], *base[base.index("--sam-model") + 2:]]) == 2
    assert "SAM is needed" in capsys.readouterr().err


def test_explain_without_a_judge_key_says_what_to_do(tiny_models_dir, inputs, tmp_path, capsys, monkeypatch):
    pytest.importorskip("openai")
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.setenv("PIXBENCH_CACHE_DIR", str(tmp_path / "cache"))
    image_path, _ = inputs
    assert run_cli(_common(tiny_models_dir, image_path, tmp_path / "x")) == 2
    err = capsys.readouterr().err
    assert "OPENAI_API_KEY" in err and "--select score" in err and "sk-" not in err
    assert run_cli([*_common(tiny_models_dir, image_path, tmp_path / "x"), "--select", "score"]) == 0
