"""``pixbench compare`` on MeViS when the two files answer different expressions: under ``--protocol lmms-eval``
(expressions without a line dropped) a paired comparison on the expressions both answered, saying how many of
each side's were left out, with each model's own figures as ``pixbench score`` prints them; the official
protocol unchanged (both results hold every expression; the pairs are the expressions both answered)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from pixbench.annotation import rle
from pixbench.benchmarks.mevis import build as mevis
from pixbench.benchmarks.mevis.rows import MevisReference, MevisRow
from pixbench.benchmarks.mevis.synthetic import write_synthetic_release
from pixbench.cli import main
from pixbench.outcomes import RowUnits
from pixbench.predictions import Prediction, write_predictions
from pixbench.references import load_reference
from pixbench.uncertainty import ComparisonError, common_rows


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    raw = write_synthetic_release(tmp_path_factory.mktemp("mevis-raw") / "mevis")
    out = tmp_path_factory.mktemp("mevis") / "MeViS"
    mevis.build(mevis_root=raw.root, out_dir=out, with_frames=False)
    return out


@pytest.fixture(scope="module")
def reference(built: Path) -> MevisReference:
    return load_reference("mevis", str(built))


def _a(k: int, row: MevisRow) -> list[Any] | None:
    """Model A: no line on every fourth expression; else the truth, every frame empty, or the truth on the first
    half only."""
    if k % 4 == 1:
        return None
    if k % 3 == 1:
        return [None] * len(row.masks)
    if k % 3 == 2:
        return [m if t < len(row.masks) // 2 else None for t, m in enumerate(row.masks)]
    return list(row.masks)


def _b(k: int, row: MevisRow) -> list[Any] | None:
    """Model B: no line on every fifth expression; else the truth 3 px to the right (a no-target expression:
    empty)."""
    if k % 5 == 2:
        return None
    if row.no_target:
        return [None] * len(row.masks)
    return [rle.encode(np.roll(rle.decode(m), 3, axis=1)) for m in row.masks]


def _write(path: Path, model: str, lines: dict[str, list[Any] | None], keep: set[str] | None = None) -> Path:
    write_predictions(path, [Prediction(benchmark="mevis", id=i, probe="v2", model=model, frames=tuple(frames))
                             for i, frames in lines.items() if frames is not None and (keep is None or i in keep)])
    return path


@pytest.fixture(scope="module")
def files(reference: MevisReference, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    rows = reference.rows_for("v2")
    folder = tmp_path_factory.mktemp("preds")
    a = {i: _a(k, row) for k, (i, row) in enumerate(rows.items())}
    b = {i: _b(k, row) for k, (i, row) in enumerate(rows.items())}
    common = {i for i in rows if a[i] is not None and b[i] is not None}
    return {"a": _write(folder / "a.jsonl", "model-a", a), "b": _write(folder / "b.jsonl", "model-b", b),
            "a_common": _write(folder / "a-common.jsonl", "model-a", a, common),
            "b_common": _write(folder / "b-common.jsonl", "model-b", b, common),
            "common": common, "answered": {"a": sum(v is not None for v in a.values()),
                                           "b": sum(v is not None for v in b.values())}}


def _score(path: Path, built: Path, capsys: Any, *extra: str) -> dict[str, Any]:
    assert main(["score", str(path), "--data", f"mevis={built}", "--format", "json", *extra]) == 0
    [result] = json.loads(capsys.readouterr().out)["results"]
    return result


def _compare(files: dict[str, Any], built: Path, capsys: Any, *extra: str) -> dict[str, Any]:
    assert main(["compare", str(files["a"]), str(files["b"]), "--data", f"mevis={built}", "--format", "json",
                 "--bootstrap", "200", *extra]) == 0
    [comparison] = json.loads(capsys.readouterr().out)["comparisons"]
    return comparison


def test_lmms_eval_pairs_the_expressions_both_answered(built, reference, files, capsys):
    common, answered = files["common"], files["answered"]
    assert 0 < len(common) < min(answered.values()) and answered["a"] != answered["b"]
    comparison = _compare(files, built, capsys, "--protocol", "lmms-eval")
    assert comparison["rows"] == len(common)
    assert comparison["left_out"] == {"a": answered["a"] - len(common), "b": answered["b"] - len(common)}
    # A and B are each model's numbers on the common expressions: what scoring only those lines gives
    on_common = {side: _score(files[f"{side}_common"], built, capsys, "--protocol", "lmms-eval")["metrics"]
                 for side in ("a", "b")}
    for name, entry in comparison["metrics"].items():
        assert entry["a"] == pytest.approx(on_common["a"][name], abs=1e-5), name
        assert entry["b"] == pytest.approx(on_common["b"][name], abs=1e-5), name
        assert entry["difference"] == pytest.approx(entry["a"] - entry["b"], abs=1e-5) and entry["units"] == len(
            common)
    # and each model's own figures, as `pixbench score --protocol lmms-eval` prints them
    for side in ("a", "b"):
        own = _score(files[side], built, capsys, "--protocol", "lmms-eval")
        assert comparison["own"][side]["rows"] == answered[side] == own["counts"]["expressions"]
        assert comparison["own"][side]["metrics"] == {k: v for k, v in own["metrics"].items() if v is not None}
        assert comparison["own"][side]["note"] == own["notes"][0]
        assert own["metrics"]["JF"] != pytest.approx(comparison["metrics"]["JF"][side], abs=1e-3)
    first, own_a, own_b = comparison["notes"]
    assert (f"A = model-a and B = model-b were scored on different expressions (A on {answered['a']}, B on "
            f"{answered['b']}): A, B, A - B and its interval above are paired on the {len(common)} expressions both "
            f"answered, leaving out {comparison['left_out']['a']} of A's and {comparison['left_out']['b']} of "
            "B's") in first
    assert own_a.startswith(f"A's own figures, as `pixbench score` prints them (its {answered['a']} expressions): "
                            f"J&F {comparison['own']['a']['metrics']['JF']:.1f}, J ")
    assert "MeViS v2, lmms-eval protocol" in own_b


def test_the_table_says_so(built, files, capsys):
    argv = ["compare", str(files["a"]), str(files["b"]), "--data", f"mevis={built}", "--bootstrap", "200",
            "--protocol", "lmms-eval"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "note [mevis v2]: A = model-a and B = model-b were scored on different expressions" in out
    assert "note [mevis v2]: B's own figures, as `pixbench score` prints them" in out
    assert main([*argv, "--format", "markdown"]) == 0
    assert "- note [mevis v2]: A's own figures" in capsys.readouterr().out
    assert main([*argv, "--format", "csv"]) == 0
    captured = capsys.readouterr()
    assert "note" not in captured.out and "note [mevis v2]: A = model-a" in captured.err


def test_official_is_unchanged(built, reference, files, capsys):
    """Both results hold every expression (a missing one scores 0 there); the pairs are those both answered."""
    rows = reference.rows_for("v2")
    comparison = _compare(files, built, capsys)
    assert comparison["rows"] == len(files["common"]) and len(rows) > len(files["common"])
    assert not {"left_out", "own", "notes"} & set(comparison)
    assert main(["compare", str(files["a"]), str(files["b"]), "--data", f"mevis={built}", "--bootstrap",
                 "200"]) == 0
    assert "note [" not in capsys.readouterr().out


def test_no_common_expression_is_an_error(tmp_path, built, reference, capsys):
    rows = reference.rows_for("v2")
    ids = list(rows)
    a = _write(tmp_path / "a.jsonl", "a", {i: list(rows[i].masks) for i in ids[:3]})
    b = _write(tmp_path / "b.jsonl", "b", {i: list(rows[i].masks) for i in ids[3:6]})
    assert main(["compare", str(a), str(b), "--data", f"mevis={built}", "--protocol", "lmms-eval"]) == 1
    assert "The two files share no mevis row that both answer on every probe" in capsys.readouterr().err


def _units(ids: list[str], values: list[float], stratum: list[str], pair: np.ndarray | None = None) -> RowUnits:
    return RowUnits(benchmark="mevis", ids=np.array(ids), mask_rows=np.ones(len(ids), dtype=bool), pair=pair,
                    stratum=np.array(stratum), answers={}, masks={}, values={"JF": np.array(values)},
                    covered=np.ones(len(ids), dtype=bool))


def test_common_rows_aligns_by_id():
    a = _units(["x", "y", "z", "q"], [0.1, 0.2, 0.3, 0.4], ["target", "no-target", "target", "target"])
    b = _units(["q", "z", "w", "x"], [0.9, 0.8, 0.7, 0.6], ["target", "target", "target", "target"])
    a2, b2, left_out = common_rows(a, b)
    assert a2.ids.tolist() == b2.ids.tolist() == ["x", "z", "q"] and left_out == {"a": 1, "b": 1}
    assert a2.values["JF"].tolist() == [0.1, 0.3, 0.4] and b2.values["JF"].tolist() == [0.6, 0.8, 0.9]
    assert a2.stratum is not None and a2.stratum.tolist() == ["target"] * 3
    with pytest.raises(ComparisonError, match="its rows go in pairs"):
        common_rows(_units(["x"], [0.1], ["t"], pair=np.array([1])), b)
