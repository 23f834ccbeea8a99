"""MeViS scoring under the official rules, end to end on a synthetic release: every number against a dense
full-frame evaluator written here (MeViS's ``tools/eval_mevis.py`` with DAVIS 2017's ``db_eval_iou``,
``f_measure`` and ``db_statistics``, GRES's N-acc / T-acc), missing lines, ``--strict``, no-target expressions
answered right and wrong, versions mixed, line checks, breakdowns, intervals, comparisons and per-sample lines."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from pixbench.annotation import rle
from pixbench.benchmarks import REGISTRY
from pixbench.benchmarks.mevis import build as mevis
from pixbench.benchmarks.mevis.rows import MevisReference, MevisRow
from pixbench.benchmarks.mevis.synthetic import SyntheticRelease, write_synthetic_release
from pixbench.cli import main
from pixbench.metrics.video import davis_decay, davis_recall
from pixbench.predictions import Prediction, read_predictions, write_predictions
from pixbench.references import load_reference
from pixbench.uncertainty import confidence_intervals, plans

# ------------------------------------------------------------------ the dense evaluator


def _bmap(seg: np.ndarray) -> np.ndarray:
    e, s, se = np.zeros_like(seg), np.zeros_like(seg), np.zeros_like(seg)
    e[:, :-1], s[:-1, :], se[:-1, :-1] = seg[:, 1:], seg[1:, :], seg[1:, 1:]
    b = seg ^ e | seg ^ s | seg ^ se
    b[-1, :] = seg[-1, :] ^ e[-1, :]
    b[:, -1] = seg[:, -1] ^ s[:, -1]
    b[-1, -1] = 0
    return b


def _dense_f(pred: np.ndarray, gt: np.ndarray) -> float:
    radius = math.ceil(0.008 * np.linalg.norm(gt.shape))
    yy, xx = np.mgrid[-radius:radius + 1, -radius:radius + 1]
    kernel = (xx ** 2 + yy ** 2 <= radius ** 2).astype(np.uint8)
    fg, truth = _bmap(pred), _bmap(gt)
    fg_dil, gt_dil = (cv2.dilate(b.astype(np.uint8), kernel).astype(bool) for b in (fg, truth))
    n_fg, n_gt = fg.sum(), truth.sum()
    if n_fg == 0 and n_gt == 0:
        return 1.0
    if n_fg == 0 or n_gt == 0:
        return 0.0
    precision, recall = (fg & gt_dil).sum() / n_fg, (truth & fg_dil).sum() / n_gt
    return 0.0 if precision + recall == 0 else float(2 * precision * recall / (precision + recall))


def _db_statistics(values: np.ndarray) -> tuple[float, float, float]:
    """DAVIS 2017's ``db_statistics`` (bounds as int: the published uint8 cast wraps past 256 frames)."""
    ids = (np.round(np.linspace(1, len(values), 5) + 1e-10) - 1).astype(int)
    bins = [values[ids[i]:ids[i + 1] + 1] for i in range(4)]
    return float(np.mean(values)), float(np.mean(values > 0.5)), float(np.mean(bins[0]) - np.mean(bins[3]))


def _dense(rows: dict[str, MevisRow], lines: dict[str, list[Any]]) -> dict[str, float | None]:
    """The official rules by decoding every frame: per expression J, F and their statistics (0 without a line),
    means over target expressions; N-acc, T-acc and J&F over all where there are no-target expressions."""
    per: dict[str, dict[str, float]] = {}
    empty: dict[str, bool] = {}
    for row_id, row in rows.items():
        frames = lines.get(row_id)
        if frames is None:
            j = f = np.zeros(len(row.masks))
        else:
            gts = [rle.decode(m).astype(bool) for m in row.masks]
            preds = [np.zeros_like(g) if p is None else rle.decode(p).astype(bool) for p, g in zip(frames, gts)]
            empty[row_id] = not any(p.any() for p in preds)
            j = np.array([1.0 if not (p | g).any() else (p & g).sum() / (p | g).sum() for p, g in zip(preds, gts)])
            f = np.array([_dense_f(p, g) for p, g in zip(preds, gts)])
        (mj, rj, dj), (mf, rf, df) = _db_statistics(j), _db_statistics(f)
        per[row_id] = {"J": mj, "F": mf, "JF": (mj + mf) / 2, "J_recall": rj, "J_decay": dj, "F_recall": rf,
                       "F_decay": df}
    targets = [i for i, row in rows.items() if not row.no_target]
    metrics: dict[str, float | None] = {k: float(np.mean([per[i][k] for i in targets]) * 100) for k in per[targets[0]]}
    nones = [i for i, row in rows.items() if row.no_target]
    if nones:
        metrics["N_acc"] = float(np.mean([empty.get(i, False) for i in nones]) * 100)
        metrics["T_acc"] = float(np.mean([i in empty and not empty[i] for i in targets]) * 100)
        metrics["JF_all"] = float(np.mean([per[i]["JF"] for i in rows]) * 100)
    return metrics


# ------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def raw(tmp_path_factory: pytest.TempPathFactory) -> SyntheticRelease:
    return write_synthetic_release(tmp_path_factory.mktemp("mevis-raw") / "mevis")


@pytest.fixture(scope="module")
def built(raw: SyntheticRelease, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("mevis") / "MeViS"
    mevis.build(mevis_root=raw.root, out_dir=out)
    return out


@pytest.fixture(scope="module")
def reference(built: Path) -> MevisReference:
    return load_reference("mevis", str(built))


def _shifted(mask: rle.Rle, dx: int) -> rle.Rle:
    return rle.encode(np.roll(rle.decode(mask), dx, axis=1))


def _mixed(rows: dict[str, MevisRow]) -> tuple[dict[str, list[Any]], dict[str, str]]:
    """Lines of every kind, cycling over the rows: the truth, the truth 3 px off, the truth lost after the
    first half, every frame empty, no line; a no-target expression answered with another object."""
    kinds = ("truth", "shifted", "half", "empty", "missing")
    lines: dict[str, list[Any]] = {}
    chosen: dict[str, str] = {}
    other = next(row for row in rows.values() if not row.no_target and len(row.masks) >= 6)
    for k, (row_id, row) in enumerate(rows.items()):
        kind = kinds[k % len(kinds)]
        if row.no_target:
            kind = ("empty", "other", "missing")[sum(r.no_target for r in list(rows.values())[:k]) % 3]
        chosen[row_id] = kind
        masks = list(row.masks)
        if kind == "truth":
            lines[row_id] = masks
        elif kind == "shifted":
            lines[row_id] = [_shifted(m, 3) for m in masks]
        elif kind == "half":
            lines[row_id] = masks[:len(masks) // 2] + [None] * (len(masks) - len(masks) // 2)
        elif kind == "empty":
            lines[row_id] = [None] * len(masks)
        elif kind == "other":  # any object of the right size, on every frame it has
            lines[row_id] = [other.masks[t % len(other.masks)] for t in range(len(masks))]
    return lines, chosen


def _write(path: Path, version: str, model: str, lines: dict[str, list[Any]]) -> Path:
    write_predictions(path, [Prediction(benchmark="mevis", id=i, probe=version, model=model, frames=tuple(frames))
                             for i, frames in lines.items()])
    return path


def _score(path: Path, built: Path, capsys: Any, *extra: str) -> list[dict[str, Any]]:
    assert main(["score", str(path), "--data", f"mevis={built}", "--format", "json", *extra]) == 0
    return json.loads(capsys.readouterr().out)["results"]


# ------------------------------------------------------------------ the rules


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_every_metric_equals_the_dense_official_evaluator(tmp_path, built, reference, capsys, version):
    rows = reference.rows_for(version)
    lines, chosen = _mixed(rows)
    [result] = _score(_write(tmp_path / "p.jsonl", version, "m", lines), built, capsys)
    expected = _dense(rows, lines)
    assert result["probe"] == version and result["benchmark"] == "mevis"
    assert sorted(result["metrics"]) == sorted(expected)
    for name, value in expected.items():
        assert result["metrics"][name] == pytest.approx(value, abs=1e-6), name
    assert result["counts"] == {"expressions": len(rows), "missing": sum(k == "missing" for k in chosen.values())}
    if version == "v1":
        assert "N_acc" not in result["metrics"] and len(result["notes"]) == 1
    else:
        assert {k for i, k in chosen.items() if rows[i].no_target} == {"empty", "other", "missing"}


def test_no_target_expressions_right_and_wrong_by_hand(tmp_path, built, reference, capsys, raw):
    rows = reference.rows_for("v2")
    targets = [i for i, row in rows.items() if not row.no_target]
    right, wrong, _missing = raw.no_target
    some_object = rows[targets[0]].masks
    lines: dict[str, list[Any]] = {i: list(rows[i].masks) for i in targets[1:]}  # targets[0]: no line
    lines[targets[1]] = [None] * len(rows[targets[1]].masks)  # a target answered empty: T-acc counts it wrong
    lines[right] = [None] * len(rows[right].masks)
    lines[wrong] = [None] * (len(rows[wrong].masks) - 1) + [some_object[0]]  # one frame with a mask: wrong
    [result] = _score(_write(tmp_path / "p.jsonl", "v2", "m", lines), built, capsys)
    metrics, n = result["metrics"], len(targets)
    assert metrics["N_acc"] == pytest.approx(100 / 3) and metrics["T_acc"] == pytest.approx((n - 2) / n * 100)
    absent = float(np.mean([rle.area([m])[0] == 0 for m in rows[targets[1]].masks]))  # right where nothing is
    assert metrics["J"] == pytest.approx((n - 2 + absent) / n * 100)
    frames = len(rows[wrong].masks)
    assert metrics["JF_all"] == pytest.approx((n - 2 + absent + 1 + (frames - 1) / frames) / (n + 3) * 100)
    assert result["counts"] == {"expressions": n + 3, "missing": 2}
    no_target = result["breakdown"]["target"]["no-target"]
    assert no_target == {"expressions": 3, "missing": 1, "J": None, "F": None, "JF": None, "J_recall": None,
                         "J_decay": None, "F_recall": None, "F_decay": None, "N_acc": pytest.approx(100 / 3),
                         "T_acc": None, "JF_all": pytest.approx((1 + (frames - 1) / frames) / 3 * 100)}


def test_breakdowns_by_target_kind_and_type(tmp_path, built, reference, capsys):
    rows = reference.rows_for("v2")
    lines = {i: list(row.masks) for i, row in rows.items()}
    [result] = _score(_write(tmp_path / "p.jsonl", "v2", "oracle", lines), built, capsys)
    assert result["metrics"]["JF"] == result["metrics"]["N_acc"] == result["metrics"]["T_acc"] == 100.0
    target, types = result["breakdown"]["target"], result["breakdown"]["type"]
    kinds = [("no-target" if r.no_target else "multi-object" if len(r.anno_ids) > 1 else "single-object")
             for r in rows.values()]
    assert {k: v["expressions"] for k, v in target.items()} == {k: kinds.count(k) for k in set(kinds)}
    assert {k: v["expressions"] for k, v in types.items()} == {"motion": 16, "reasoning": 2}
    assert target["single-object"]["JF"] == 100.0 and target["single-object"]["N_acc"] is None
    assert types["motion"]["N_acc"] == 100.0  # the no-target expressions are typed motion
    [v1] = _score(_write(tmp_path / "q.jsonl", "v1", "oracle", {i: list(r.masks) for i, r in
                                                                 reference.rows_for("v1").items()}), built, capsys)
    assert list(v1["breakdown"]) == ["target"]  # v1 gives no types
    assert "no-target" not in v1["breakdown"]["target"]


def test_recall_and_decay_follow_davis(tmp_path):
    rng = np.random.default_rng(0)
    for length in (1, 2, 3, 4, 5, 7, 69, 255, 256, 300):
        values = rng.random(length)
        _, recall, decay = _db_statistics(values)
        assert davis_recall(values) == recall and davis_decay(values) == pytest.approx(decay, abs=1e-15)
    with pytest.raises(ValueError, match="non-empty 1-D"):
        davis_decay([])


# ------------------------------------------------------------------ lines, versions, strict


def test_missing_lines_score_zero_and_strict_refuses(tmp_path, built, reference, capsys):
    rows = reference.rows_for("v1")
    skipped = list(rows)[:2]
    lines = {i: list(row.masks) for i, row in rows.items() if i not in skipped}
    path = _write(tmp_path / "p.jsonl", "v1", "m", lines)
    [result] = _score(path, built, capsys)
    n = len(rows)
    assert result["metrics"]["J"] == pytest.approx((n - 2) / n * 100) and result["counts"]["missing"] == 2
    assert main(["score", str(path), "--data", f"mevis={built}", "--strict"]) == 1
    assert f"m / mevis / v1: 2 expression(s) without a line (--strict): {skipped}" in capsys.readouterr().err


def test_mixing_versions_is_an_error(tmp_path, built, reference, capsys):
    v1_id = next(iter(reference.rows_for("v1")))
    v2_id = next(iter(reference.rows_for("v2")))
    first = _write(tmp_path / "a.jsonl", "v1", "m", {v1_id: list(reference.rows_for("v1")[v1_id].masks)})
    second = _write(tmp_path / "b.jsonl", "v2", "m", {v2_id: list(reference.rows_for("v2")[v2_id].masks)})
    assert main(["score", str(first), str(second), "--data", f"mevis={built}"]) == 1
    err = capsys.readouterr().err
    assert (f"m / mevis: lines of MeViS v1 and v2 mixed ({first}:1: id {v1_id} is a v1 line; {second}:1: id {v2_id} "
            "is a v2 line)") in err
    other = _write(tmp_path / "c.jsonl", "v2", "n", {v2_id: list(reference.rows_for("v2")[v2_id].masks)})
    assert main(["score", str(first), str(other), "--data", f"mevis={built}"]) == 0  # two models: fine


def test_lines_are_checked_against_their_version(tmp_path, built, reference, raw):
    only_v1, only_v2 = raw.only_v1[0], raw.only_v2[0]
    row = reference.rows_for("v1")[only_v1]
    frames = [rle.empty(row.height, row.width)] * len(row.frame_names)
    lines = [{"id": only_v1, "probe": "v1", "masks": frames},                              # 1 ok
             {"id": only_v1, "probe": "v2", "masks": frames},                              # 2 a v1-only id
             {"id": only_v1, "probe": "original", "masks": frames},                        # 3 not a version
             {"id": only_v1, "probe": "v1", "layout": "target-left", "masks": frames},     # 4 a layout
             {"id": only_v2, "probe": "v2", "masks": frames[:1]},                          # 5 mask count
             {"id": "nope_0", "probe": "v1", "masks": frames}]                             # 6 unknown id
    path = tmp_path / "p.jsonl"
    path.write_text("".join(json.dumps({"benchmark": "mevis", "model": "m", **line}) + "\n" for line in lines))
    index = {"mevis": REGISTRY["mevis"].line_index(reference)}
    problems = {p.line: p.message for p in read_predictions(path, index=index).problems}
    assert sorted(problems) == [2, 3, 4, 5, 6]
    assert "not a MeViS v2 expression (the id is a v1 one)" in problems[2]
    assert "unknown probe 'original': a MeViS line's probe is its version, one of ['v1', 'v2']" in problems[3]
    assert "a MeViS line takes no layout, but got 'target-left'" in problems[4]
    assert f"but the probe presents {len(reference.rows_for('v2')[only_v2].frame_names)}" in problems[5]
    assert "id not in the mevis dataset" in problems[6]


def test_a_build_without_the_version_says_so(tmp_path, raw):
    out = tmp_path / "v1-only"
    mevis.build(mevis_root=raw.root, out_dir=out, version="v1", with_frames=False)
    reference = load_reference("mevis", str(out))
    row_id = next(iter(reference.rows_for("v1")))
    row = reference.rows_for("v1")[row_id]
    path = tmp_path / "p.jsonl"
    path.write_text(json.dumps({"benchmark": "mevis", "model": "m", "id": row_id, "probe": "v2",
                                "masks": [None] * len(row.frame_names)}) + "\n")
    [problem] = read_predictions(path, index={"mevis": REGISTRY["mevis"].line_index(reference)}).problems
    assert "this build holds no MeViS v2 expressions (it holds v1; build with --version v2)" in problem.message


# ------------------------------------------------------------------ report, intervals, comparisons


def test_report_per_sample_intervals_workers_and_compare(tmp_path, built, reference, capsys):
    rows = reference.rows_for("v2")
    good_lines, _ = _mixed(rows)
    good = _write(tmp_path / "good.jsonl", "v2", "good", good_lines)
    bad = _write(tmp_path / "bad.jsonl", "v2", "bad", {i: [None] * len(r.masks) for i, r in rows.items()})
    samples = tmp_path / "samples.jsonl"
    [one] = _score(good, built, capsys, "--per-sample", str(samples), "--ci", "0.9", "--bootstrap", "300")
    records = [json.loads(line) for line in samples.read_text().splitlines()]
    assert [r["id"] for r in records] == list(rows)
    first = records[0]
    assert set(first) >= {"model", "benchmark", "id", "probe", "missing", "no_target", "type", "answered_empty", "J",
                          "F", "JF", "J_recall", "J_decay", "F_recall", "F_decay", "J_t", "F_t"}
    assert first["probe"] == "v2" and len(first["J_t"]) == len(rows[first["id"]].frame_names)
    assert {r["answered_empty"] for r in records if r["missing"]} == {None}
    ci = one["ci"]["metrics"]
    assert set(ci) == set(one["metrics"])
    for name, (low, high) in ci.items():
        assert low <= one["metrics"][name] + 1e-9 and one["metrics"][name] - 1e-9 <= high, name
    [two] = _score(good, built, capsys, "--workers", "2")
    assert two["metrics"] == {k: v for k, v in one["metrics"].items()}
    assert main(["score", str(good), "--data", f"mevis={built}"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].startswith(f"mevis v2: {len(rows)} of {len(rows)} expressions scored, official protocol, "
                               "native frames") and table[1] == ""  # the report's first line
    assert table[2].split() == ["model", "benchmark", "version", "J&F", "J", "F", "N-acc", "T-acc", "J&F", "all",
                                "J-R", "J-D", "F-R", "F-D", "missing"]
    assert table[4].split()[:3] == ["good", "mevis", "v2"]
    assert any(line.startswith("note [good / mevis / v2]: MeViS v2, official rules") for line in table)
    assert main(["compare", str(good), str(bad), "--data", f"mevis={built}", "--format", "json",
                 "--bootstrap", "300"]) == 0
    [comparison] = json.loads(capsys.readouterr().out)["comparisons"]
    assert (comparison["benchmark"], comparison["probe"]) == ("mevis", "v2")
    assert comparison["rows"] == len(rows) - one["counts"]["missing"]  # the expressions both files answer
    n_acc = comparison["metrics"]["N_acc"]
    assert n_acc["a"] == 50.0 and n_acc["b"] == 100.0  # of the 2 no-target expressions good answers, one empty
    assert "mcnemar" in n_acc and comparison["metrics"]["JF"]["difference"] > 0


def test_resampling_keeps_the_counts_of_both_kinds(tmp_path, built, reference, capsys):
    from pixbench.benchmarks.mevis.scoring import score_version

    rows = reference.rows_for("v2")
    lines, _ = _mixed(rows)
    predictions = {i: Prediction(benchmark="mevis", id=i, probe="v2", model="m", frames=tuple(f))
                   for i, f in lines.items()}
    result = score_version(benchmark="mevis", model="m", version="v2", rows=rows, lines=predictions)
    assert result.units is not None
    metric_plans = plans(result.units)
    assert {plan.scheme for plan in metric_plans.values()} == {"strata"}
    for name, plan in metric_plans.items():  # the full-sample statistic is the metric
        assert float(plan.statistic(np.ones((1, plan.units)))[0]) == pytest.approx(result.metrics[name]), name
    ci = confidence_intervals(result.units, resamples=200)
    assert ci.metrics["N_acc"][0] <= result.metrics["N_acc"] <= ci.metrics["N_acc"][1]
    v1 = reference.rows_for("v1")
    only = score_version(benchmark="mevis", model="m", version="v1", rows=v1,
                         lines={i: Prediction(benchmark="mevis", id=i, probe="v1", model="m", frames=tuple(r.masks))
                                for i, r in v1.items()})
    assert only.units is not None and {p.scheme for p in plans(only.units).values()} == {"rows"}
