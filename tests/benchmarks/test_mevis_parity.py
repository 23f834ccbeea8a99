"""MoCentric-Bench keeps its MeViS v1 basis: its ``original`` probe and ``mevis`` v1 give the same J, F and J&F
(and the same per-expression values and intervals) on the same predictions, built from the same release."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from pixbench.annotation import rle
from pixbench.benchmarks.mevis import build as mevis
from pixbench.benchmarks.mevis.synthetic import write_synthetic_release
from pixbench.benchmarks.mocentric import build as mocentric
from pixbench.cli import main
from pixbench.predictions import Prediction, write_predictions
from pixbench.references import load_reference


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("parity")
    raw = write_synthetic_release(root / "raw")
    mevis.build(mevis_root=raw.root, out_dir=root / "MeViS", version="v1", with_frames=False)
    mocentric.build(mevis_root=raw.root, keyframes=raw.keyframes, reverse_expressions=raw.reverse_expressions,
                    out_dir=root / "MoCentric-Bench", with_frames=False)
    return root / "MeViS", root / "MoCentric-Bench"


def _answer(k: int, masks: tuple[rle.Rle, ...]) -> list[rle.Rle | None] | None:
    """Expression k's line: the truth, 2 px off, its last frames dropped, or none at all."""
    if k % 4 == 0:
        return list(masks)
    if k % 4 == 1:
        return [rle.encode(np.roll(rle.decode(m), 2, axis=1)) for m in masks]
    if k % 4 == 2:
        return [*masks[:2], *[None] * (len(masks) - 2)]
    return None


def _scored(path: Path, data: str, capsys: Any, samples: Path) -> dict[str, Any]:
    assert main(["score", str(path), "--data", data, "--format", "json", "--ci", "0.95", "--bootstrap", "500",
                 "--per-sample", str(samples)]) == 0
    [result] = json.loads(capsys.readouterr().out)["results"]
    return result


def test_mocentric_original_and_mevis_v1_agree(builds, tmp_path, capsys):
    mevis_dir, mocentric_dir = builds
    v1 = load_reference("mevis", str(mevis_dir)).rows_for("v1")
    original = load_reference("mocentric", str(mocentric_dir)).expressions
    assert list(v1) == list(original)
    ours, theirs = [], []
    for k, (row_id, row) in enumerate(v1.items()):
        assert row.masks == original[row_id].masks
        frames = _answer(k, row.masks)
        if frames is not None:
            ours.append(Prediction(benchmark="mevis", id=row_id, probe="v1", model="m", frames=tuple(frames)))
            theirs.append(Prediction(benchmark="mocentric", id=row_id, probe="original", model="m",
                                     frames=tuple(frames)))
    write_predictions(tmp_path / "mevis.jsonl", ours)
    write_predictions(tmp_path / "mocentric.jsonl", theirs)
    a = _scored(tmp_path / "mevis.jsonl", f"mevis={mevis_dir}", capsys, tmp_path / "a.jsonl")
    b = _scored(tmp_path / "mocentric.jsonl", f"mocentric={mocentric_dir}", capsys, tmp_path / "b.jsonl")
    assert 0 < a["metrics"]["JF"] < 100 and a["counts"] == b["counts"] == {"expressions": 14, "missing": 3}
    for name in ("J", "F", "JF"):
        assert a["metrics"][name] == b["metrics"][name], name
        assert a["ci"]["metrics"][name] == b["ci"]["metrics"][name], name
    records_a = [json.loads(line) for line in (tmp_path / "a.jsonl").read_text().splitlines()]
    records_b = [json.loads(line) for line in (tmp_path / "b.jsonl").read_text().splitlines()]
    assert [(r["id"], r["J_t"], r["F_t"], r["missing"]) for r in records_a] == \
        [(r["id"], r["J_t"], r["F_t"], r["missing"]) for r in records_b]
