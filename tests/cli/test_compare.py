"""`pixbench compare`: paired differences on common rows, McNemar counts by hand, bad input."""

from __future__ import annotations

import json

import pytest

from pixbench.cli import main


def write(path, lines):
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def letters(answers):
    return [{"benchmark": "pixmmvp", "id": i, "probe": "letter", "response": r} for i, r in answers.items()]


@pytest.fixture()
def data_args(tiny_built):
    return ["--data", f"pixmmvp={tiny_built['pixmmvp']}", "--data", f"pixcvbench={tiny_built['pixcvbench']}"]


def test_compare_pixmmvp_letters(tmp_path, data_args, capsys):
    truth = {1: "A", 2: "B", 3: "A", 4: "B", 5: "A", 6: "B", 7: "A", 8: "B"}
    a = write(tmp_path / "a.jsonl", letters(truth))
    b = write(tmp_path / "b.jsonl", letters({**truth, 2: "A", 4: "A", 6: "A"}))  # B wrong on 2, 4, 6
    assert main(["compare", str(a), str(b), *data_args, "--bootstrap", "2000", "--format", "json"]) == 0
    (comparison,) = json.loads(capsys.readouterr().out)["comparisons"]
    assert comparison["model_a"] == "a" and comparison["model_b"] == "b" and comparison["rows"] == 8
    per_question = comparison["metrics"]["A_per_question"]
    assert per_question["a"] == 100.0 and per_question["b"] == 62.5 and per_question["difference"] == 37.5
    assert per_question["mcnemar"] == {"a_only": 3, "b_only": 0, "p_value": 0.25}  # 2 * (1/2)^3
    pairs = comparison["metrics"]["A"]
    assert pairs["a"] == 100.0 and pairs["b"] == 25.0 and pairs["mcnemar"]["a_only"] == 3
    assert pairs["low"] > 0 and pairs["p_value"] < 0.05
    assert main(["compare", str(a), str(b), *data_args, "--bootstrap", "200"]) == 0
    assert "McNemar" in capsys.readouterr().out


def test_compare_uses_common_rows_only(tmp_path, data_args, capsys):
    a = write(tmp_path / "a.jsonl", letters({1: "A", 2: "B", 3: "A", 4: "B"}))
    b = write(tmp_path / "b.jsonl", letters({1: "A", 2: "B", 3: "B", 4: "B", 5: "A", 6: "B"}))
    assert main(["compare", str(a), str(b), *data_args, "--bootstrap", "200", "--format", "json"]) == 0
    comparison = json.loads(capsys.readouterr().out)["comparisons"][0]
    assert comparison["rows"] == 4
    assert comparison["metrics"]["A_per_question"]["a"] == 100.0
    assert comparison["metrics"]["A_per_question"]["b"] == 75.0


def test_compare_errors(tmp_path, data_args, capsys):
    a = write(tmp_path / "a.jsonl", letters({1: "A"}))
    b = write(tmp_path / "b.jsonl", [{"benchmark": "pixcvbench", "id": 0, "probe": "letter", "response": "A"}])
    assert main(["compare", str(a), str(b), *data_args]) == 1
    assert "share no benchmark" in capsys.readouterr().err
    c = write(tmp_path / "c.jsonl", letters({2: "B"}))
    assert main(["compare", str(a), str(c), *data_args]) == 1
    assert "share no pixmmvp row" in capsys.readouterr().err


def _mask_lines(data, probe, keep):
    """``probe`` lines carrying each row's ground-truth mask where ``keep(id)``, else the empty mask."""
    from pixbench.annotation import rle
    from pixbench.loaders.hub import decode_masks, load

    lines = []
    for row in load(str(data)):
        mask = decode_masks(row)["mask"]
        if not keep(int(row["id"])):
            mask = mask & False
        lines.append({"benchmark": "pixmmvp", "id": int(row["id"]), "probe": probe, "response": "it",
                      "mask": rle.encode(mask)})
    return lines


def test_each_models_s_is_the_one_score_prints(tmp_path, tiny_built, data_args, capsys):
    truth = {1: "A", 2: "B", 3: "A", 4: "B", 5: "A", 6: "B", 7: "A", 8: "B"}
    data = tiny_built["pixmmvp"]
    a = write(tmp_path / "a.jsonl", letters(truth) + _mask_lines(data, "segment", lambda i: True))
    b = write(tmp_path / "b.jsonl", letters({**truth, 2: "A"}) + _mask_lines(data, "vqa", lambda i: i % 2 == 0))
    scored = {}
    for path in (a, b):
        assert main(["score", str(path), *data_args, "--no-judge", "--format", "json"]) == 0
        (result,) = json.loads(capsys.readouterr().out)["results"]
        scored[path.stem] = result["metrics"]
    assert scored["b"]["M_dagger"] is not None and scored["b"]["M"] is None and scored["a"]["M_dagger"] is None
    assert main(["compare", str(a), str(b), *data_args, "--bootstrap", "200", "--format", "json"]) == 0
    (comparison,) = json.loads(capsys.readouterr().out)["comparisons"]
    s = comparison["metrics"]["S"]
    assert s["a"] == pytest.approx(scored["a"]["S"]) and s["b"] == pytest.approx(scored["b"]["S"])
    assert s["units"] == comparison["rows"]
    assert comparison["not_compared"] == {
        "a": {"M": pytest.approx(scored["a"]["M"]), "cIoU": pytest.approx(scored["a"]["cIoU"])},
        "b": {"M_dagger": pytest.approx(scored["b"]["M_dagger"]),
              "cIoU_dagger": pytest.approx(scored["b"]["cIoU_dagger"])}}
    assert "M" not in comparison["metrics"] and "M_dagger" not in comparison["metrics"]
    assert main(["compare", str(a), str(b), *data_args, "--bootstrap", "200"]) == 0
    out = capsys.readouterr().out
    assert f"not compared (one model lacks them): M {scored['a']['M']:.1f} (only A), cIoU 100.0 (only A), M† " in out
    s_row = next(line for line in out.splitlines() if line.split()[1:2] == ["S"])
    assert s_row.split()[-1] == str(comparison["rows"])  # the units column is filled
