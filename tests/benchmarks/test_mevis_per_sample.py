"""``--per-sample FILE``: the CSV writer by hand (columns, cells, quoting; JSON lines as before), and MeViS's
per-expression table through real scoring of a synthetic v2 build under both protocols: one row per expression
with its video, target kind, type, line, dropped flag, frames scored and values, the means of its rows equal to
the result's metrics."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from pixbench.annotation import rle
from pixbench.benchmarks.mevis import build as mevis
from pixbench.benchmarks.mevis.protocols import resampled_frames
from pixbench.benchmarks.mevis.rows import MevisReference, MevisRow
from pixbench.benchmarks.mevis.synthetic import write_synthetic_release
from pixbench.cli import main
from pixbench.cli.per_sample import csv_columns, write_per_sample
from pixbench.predictions import Prediction, write_predictions
from pixbench.references import load_reference
from pixbench.results import ScoreResult, ScoreSettings
from pixbench.score_files import JudgeChoice, evaluate

# ------------------------------------------------------------------ the writer


RECORDS: list[dict[str, Any]] = [
    {"model": "m", "id": "v_0", "missing": False, "J": 0.5, "J_t": [1.0, 0.0], "type": None},
    {"model": "m", "id": "v_1", "missing": True, "dropped": True, "type": "motion"},
    {"model": "m, \"quoted\"", "id": 7, "J": 1 / 3, "J_t": [], "extra": {"a": [1, 2]}, "text": "two\nlines é"},
]


def test_csv_columns_cells_and_quoting_by_hand(tmp_path):
    path = tmp_path / "samples.CSV"
    write_per_sample(path, RECORDS)
    assert path.read_bytes().decode("utf-8") == (
        "model,id,missing,J,J_t,type,dropped,extra,text\n"
        "m,v_0,false,0.5,\"[1.0,0.0]\",,,,\n"
        "m,v_1,true,,,motion,true,,\n"
        "\"m, \"\"quoted\"\"\",7,,0.3333333333333333,[],,,\"{\"\"a\"\":[1,2]}\",\"two\nlines é\"\n")
    rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))
    assert rows[2]["model"] == 'm, "quoted"' and rows[2]["text"] == "two\nlines é"
    assert float(rows[2]["J"]) == 1 / 3 and json.loads(rows[0]["J_t"]) == [1.0, 0.0]
    assert json.loads(rows[2]["extra"]) == {"a": [1, 2]}
    assert csv_columns(RECORDS) == next(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))


def test_other_names_get_json_lines_as_before(tmp_path):
    path = tmp_path / "samples.jsonl"
    write_per_sample(path, RECORDS)
    assert path.read_text(encoding="utf-8") == "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in RECORDS)
    assert [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] == RECORDS
    write_per_sample(tmp_path / "none.csv", [])
    write_per_sample(tmp_path / "none.jsonl", [])
    assert (tmp_path / "none.csv").read_text() == (tmp_path / "none.jsonl").read_text() == ""


# ------------------------------------------------------------------ MeViS, scored for real


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    raw = write_synthetic_release(tmp_path_factory.mktemp("mevis-raw") / "mevis")
    out = tmp_path_factory.mktemp("mevis") / "MeViS"
    mevis.build(mevis_root=raw.root, out_dir=out, with_frames=False)
    return out


@pytest.fixture(scope="module")
def reference(built: Path) -> MevisReference:
    return load_reference("mevis", str(built))


def _lines(rows: dict[str, MevisRow]) -> tuple[dict[str, list[Any]], list[str]]:
    """Cycling over the rows: the truth, the truth 3 px off, every frame empty, no line (a no-target expression:
    empty, another object, no line)."""
    lines: dict[str, list[Any]] = {}
    missing = []
    other = next(row for row in rows.values() if not row.no_target)
    nones = 0
    for k, (row_id, row) in enumerate(rows.items()):
        kind = ("truth", "shifted", "empty", "missing")[k % 4]
        if row.no_target:
            kind, nones = ("empty", "other", "missing")[nones % 3], nones + 1
        if kind == "missing":
            missing.append(row_id)
        elif kind == "truth":
            lines[row_id] = list(row.masks)
        elif kind == "shifted":
            lines[row_id] = [rle.encode(np.roll(rle.decode(m), 3, axis=1)) for m in row.masks]
        elif kind == "empty":
            lines[row_id] = [None] * len(row.masks)
        else:
            lines[row_id] = [other.masks[t % len(other.masks)] for t in range(len(row.masks))]
    return lines, missing


def _scored(path: Path, built: Path, **settings: Any) -> tuple[ScoreResult, list[dict[str, Any]]]:
    run = evaluate([path], data={"mevis": str(built)}, settings=ScoreSettings(**settings),
                   judge=JudgeChoice(None, "off"))
    assert not run.problems and not run.errors
    [result] = run.results
    return result, run.per_sample


def _read(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _mean(rows: list[dict[str, str]], name: str) -> float:
    return float(np.mean([float(r[name]) for r in rows])) * 100


@pytest.fixture(scope="module")
def predictions(reference: MevisReference, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    lines, missing = _lines(reference.rows_for("v2"))
    path = tmp_path_factory.mktemp("preds") / "p.jsonl"
    write_predictions(path, [Prediction(benchmark="mevis", id=i, probe="v2", model="m", frames=tuple(f))
                             for i, f in lines.items()])
    return path, missing


REQUIRED = ["model", "benchmark", "id", "probe", "layout", "protocol", "video", "exp_id", "expression", "target",
            "type", "no_target", "missing", "dropped", "answered_empty", "frames_scored", "J", "F", "JF", "J_recall",
            "J_decay", "F_recall", "F_decay", "J_t", "F_t"]


def test_official_one_row_per_expression_whose_means_are_the_metrics(tmp_path, built, reference, predictions):
    path, missing = predictions
    rows = reference.rows_for("v2")
    result, records = _scored(path, built)
    write_per_sample(tmp_path / "v2.csv", records)
    table = _read(tmp_path / "v2.csv")
    assert list(table[0]) == REQUIRED
    assert [r["id"] for r in table] == list(rows)
    by_id = {r["id"]: r for r in table}
    for row_id, row in rows.items():
        entry = by_id[row_id]
        assert (entry["video"], entry["exp_id"], entry["expression"]) == (row.video_id, str(row.exp_id),
                                                                          row.expression)
        assert entry["target"] == ("no-target" if row.no_target else
                                   "multi-object" if len(set(row.anno_ids)) > 1 else "single-object")
        assert entry["type"] == row.type and entry["protocol"] == "official" and entry["probe"] == "v2"
        assert entry["dropped"] == "false" and entry["frames_scored"] == str(len(row.masks))
        assert entry["missing"] == ("true" if row_id in missing else "false")
        assert len(json.loads(entry["J_t"])) == len(json.loads(entry["F_t"])) == len(row.masks)
    assert {r["answered_empty"] for r in table if r["missing"] == "true"} == {""}
    assert {r["J"] for r in table if r["missing"] == "true"} == {"0.0"}
    assert {r["target"] for r in table} == {"single-object", "multi-object", "no-target"}
    targets = [r for r in table if r["target"] != "no-target"]
    for name in ("J", "F", "JF", "J_recall", "J_decay", "F_recall", "F_decay"):  # 6 decimals in the cells
        assert _mean(targets, name) == pytest.approx(result.metrics[name], abs=1e-4), name
    nones = [r for r in table if r["target"] == "no-target"]
    assert (result.metrics["N_acc"] == pytest.approx(100 * sum(r["answered_empty"] == "true" for r in nones)
                                                     / len(nones)))
    assert result.metrics["JF_all"] == pytest.approx(_mean(table, "JF"), abs=1e-4)


def test_lmms_eval_rows_mark_the_dropped_expressions(tmp_path, built, reference, predictions):
    path, missing = predictions
    rows = reference.rows_for("v2")
    result, records = _scored(path, built, protocol="lmms-eval", fps=3.0)
    write_per_sample(tmp_path / "v2.csv", records)
    table = _read(tmp_path / "v2.csv")
    assert [r["id"] for r in table] == list(rows)  # every expression, the dropped ones too
    dropped = [r for r in table if r["dropped"] == "true"]
    scored = [r for r in table if r["dropped"] == "false"]
    stamp = result.analysis["protocol"]
    assert [r["id"] for r in dropped] == missing and stamp["dropped"] == len(missing)
    assert {(r["missing"], r["frames_scored"], r["J"], r["J_t"], r["answered_empty"]) for r in dropped} == {
        ("true", "0", "", "", "")}
    assert {r["protocol"] for r in table} == {"lmms-eval"} and {r["missing"] for r in scored} == {"false"}
    for entry in scored:
        expected = resampled_frames(len(rows[entry["id"]].masks), 3.0)
        assert json.loads(entry["frames"]) == list(expected) and entry["frames_scored"] == str(len(expected))
        assert len(json.loads(entry["J_t"])) == len(expected)
    assert sum(int(r["frames_scored"]) for r in table) == stamp["frames"]
    targets = [r for r in scored if r["target"] != "no-target"]
    assert _mean(targets, "JF") == pytest.approx(result.metrics["JF"], abs=1e-4)
    assert result.counts.expressions == len(scored)


def test_the_cli_records_are_the_ones_written(tmp_path, built, predictions, capsys):
    """``pixbench score --per-sample`` (JSON lines today) holds the records the CSV is made of."""
    path, _ = predictions
    assert main(["score", str(path), "--data", f"mevis={built}", "--protocol", "lmms-eval", "--per-sample",
                 str(tmp_path / "cli.jsonl")]) == 0
    capsys.readouterr()
    _, records = _scored(path, built, protocol="lmms-eval")
    write_per_sample(tmp_path / "direct.jsonl", records)
    assert (tmp_path / "cli.jsonl").read_text(encoding="utf-8") == (tmp_path / "direct.jsonl").read_text(
        encoding="utf-8")


def test_score_per_sample_csv_writes_one_row_per_expression(tmp_path, built, predictions, capsys):
    import csv

    path, _ = predictions
    out = tmp_path / "per-expression.csv"
    assert main(["score", str(path), "--data", f"mevis={built}", "--per-sample", str(out)]) == 0
    capsys.readouterr()
    _, records = _scored(path, built, protocol="official")
    with open(out, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == len(records) and [r["id"] for r in rows] == [str(r["id"]) for r in records]
    assert [float(row["JF"]) for row in rows] == pytest.approx([float(r["JF"]) for r in records])
