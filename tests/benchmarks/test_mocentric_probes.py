"""MoCentric-Bench: probe views, predictions lines, and scoring end to end on the synthetic MeViS."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from pixbench.annotation import rle
from pixbench.benchmarks.mocentric import build as builder
from pixbench.benchmarks.mocentric import synthetic as synthetic_video
from pixbench.benchmarks.mocentric.views import LAYOUTS, PAIR_PROBES, PROBES, ViewError, canvas_size, probe_view
from pixbench.cli import main
from pixbench.predictions import Prediction, ReadOptions, read_predictions, write_predictions
from pixbench.references import load_reference


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("mocentric")
    raw = synthetic_video.write_synthetic_mevis(root / "raw")
    builder.build(mevis_root=raw.root, keyframes=raw.keyframes, reverse_expressions=raw.reverse_expressions,
                  out_dir=root / "MoCentric-Bench")
    return root / "MoCentric-Bench"


@pytest.fixture(scope="module")
def reference(built: Path) -> Any:
    return load_reference("mocentric", str(built))


def _groups() -> list[tuple[str, str | None]]:
    return [(probe, layout) for probe in PROBES for layout in (LAYOUTS if probe in PAIR_PROBES else (None,))]


def _view(row: Any, probe: str, layout: str | None) -> Any:
    return probe_view(probe=probe, layout=layout, frame_names=row.frame_names, keyframe=row.keyframe,
                      height=row.height, width=row.width)


# ------------------------------------------------------------------ views


def test_canvas_sizes_and_offsets():
    assert canvas_size(720, 1280, "original", None) == (720, 1280)
    assert canvas_size(720, 1280, "static-pair", "target-left") == (720, 2560)
    assert canvas_size(720, 1280, "reversed-pair", "target-right") == (720, 2560)
    assert canvas_size(720, 1280, "static-pair", "target-bottom") == (1440, 1280)
    view = probe_view(probe="reversed-pair", layout="target-right", frame_names=["a", "b", "c"], keyframe=1,
                      height=2, width=3)
    assert view.target_frames == (2, 1, 0) and view.other_frames == (0, 1, 2)
    assert view.target == (slice(0, 2), slice(3, 6)) and view.other == (slice(0, 2), slice(0, 3))
    assert view.names == ("a", "b", "c")  # presented frame t keeps the original name frames[t]
    static = probe_view(probe="static-pair", layout="target-bottom", frame_names=["a", "b"], keyframe=1, height=2,
                        width=3)
    assert static.target_frames == (0, 1) and static.other_frames == (1, 1) and static.canvas == (4, 3)
    assert static.target == (slice(2, 4), slice(0, 3))


@pytest.mark.parametrize(("probe", "layout", "message"), [
    ("static-pair", None, "needs a layout"), ("original", "target-left", "takes no layout"),
    ("static-pair", "diagonal", "unknown layout"), ("sideways", None, "unknown probe")])
def test_bad_probe_or_layout(probe, layout, message):
    with pytest.raises(ViewError, match=message):
        probe_view(probe=probe, layout=layout, frame_names=["a"], keyframe=0, height=1, width=1)


def test_composition_and_ground_truth_agree_on_every_probe(reference):
    row = next(iter(reference.reversed.values()))
    frames = [np.random.default_rng(k).integers(0, 255, (row.height, row.width, 3), dtype=np.uint8)
              for k in range(len(row.frame_names))]
    dense = [rle.decode(mask) for mask in row.masks]
    for probe, layout in _groups():
        view = _view(row, probe, layout)
        images, truths = view.compose(frames), view.ground_truth(list(row.masks))
        assert len(images) == len(truths) == len(row.frame_names)
        for t, (image, truth) in enumerate(zip(images, truths)):
            assert image.shape[:2] == view.canvas == tuple(truth["size"])
            source = view.target_frames[t]
            assert np.array_equal(image[view.target], frames[source])
            expected = np.zeros(view.canvas, dtype=bool)
            expected[view.target] = dense[source]
            assert np.array_equal(rle.decode(truth), expected), (probe, layout, t)
            if view.other is not None:
                assert view.other_frames is not None
                assert np.array_equal(image[view.other], frames[view.other_frames[t]])
        if probe == "reversed":
            assert view.target_frames[0] == len(row.frame_names) - 1
        if probe == "static":
            assert set(view.target_frames) == {row.keyframe}


# ------------------------------------------------------------------ predictions lines


def _index(built: Path) -> dict[str, Any]:
    from pixbench.benchmarks import REGISTRY

    return {"mocentric": REGISTRY["mocentric"].line_index(load_reference("mocentric", str(built)))}


def _line(**fields: Any) -> dict[str, Any]:
    return {"benchmark": "mocentric", "model": "m", **fields}


def _write(path: Path, lines: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return path


def test_video_lines_are_validated(tmp_path, built, reference):
    index = _index(built)
    row = next(r for r in reference.expressions.values() if r.id not in reference.reversed)
    frames = len(row.frame_names)
    single = rle.empty(row.height, row.width)
    pair = rle.empty(row.height, 2 * row.width)
    lines = [
        _line(id=row.id, probe="original", masks=[single] * frames),                                   # 1 ok
        _line(id=row.id, probe="original", masks=[single] * (frames - 1)),                             # 2 count
        _line(id=row.id, probe="static-pair", layout="target-left", masks=[single] * frames),          # 3 size
        _line(id=row.id, probe="static-pair", masks=[pair] * frames),                                  # 4 layout
        _line(id=row.id, probe="static", layout="target-left", masks=[single] * frames),               # 5 no layout
        _line(id=row.id, probe="reversed", masks=[single] * frames),                                   # 6 reversed
        _line(id="nope_0", probe="original", masks=[single] * frames),                                 # 7 unknown id
        _line(id=row.id, probe="original", masks=[None] * frames),                                     # 8 duplicate
        _line(id=row.id, probe="static-pair", layout="target-left", masks=[pair] * frames),            # 9 ok
        _line(id=row.id, probe="static-pair", layout="target-right", masks=[pair] * frames),           # 10 ok
        _line(id=row.id, probe="sideways", masks=[]),                                                  # 11 probe
        _line(id=7, probe="original", masks=[]),                                                       # 12 id type
    ]
    path = _write(tmp_path / "p.jsonl", lines)
    result = read_predictions(path, index=index)
    problems = {p.line: str(p) for p in result.problems}
    assert sorted(problems) == [2, 3, 4, 5, 6, 7, 8, 11, 12]
    assert f"{path}:2: id {row.id}: `masks` has {frames - 1} mask(s), but the probe presents {frames}" in problems[2]
    assert f"`masks[0]` size [{row.height}, {row.width}] != ground truth [{row.height}, {2 * row.width}]" in problems[3]
    assert "needs a layout" in problems[4] and "takes no layout" in problems[5]
    assert "no reversed form" in problems[6] and "id not in the mocentric dataset" in problems[7]
    assert "duplicate line" in problems[8] and "unknown probe" in problems[11]
    assert "`id` must be a string" in problems[12]
    assert [(p.line, p.layout) for p in result.predictions] == [(1, None), (9, "target-left"), (10, "target-right")]


def test_png_dir_masks(tmp_path, built, reference):
    row = next(iter(reference.expressions.values()))
    view = _view(row, "original", None)
    folder = tmp_path / "run" / "pngs"
    folder.mkdir(parents=True)
    truths = view.ground_truth(list(row.masks))
    for name, truth in zip(view.names, truths):
        Image.fromarray(rle.decode(truth).astype(np.uint8) * 255).save(folder / f"{name}.png")
    path = _write(tmp_path / "run" / "p.jsonl", [_line(id=row.id, probe="original", masks={"png_dir": "pngs"})])
    result = read_predictions(path, index=_index(built))
    assert result.problems == []
    assert list(result.predictions[0].frames or ()) == truths
    (folder / f"{view.names[1]}.png").unlink()
    [problem] = read_predictions(path, index=_index(built)).problems
    assert f"lacks 1 of {len(view.names)} frame(s): {view.names[1]}.png" in problem.message
    outside = _write(tmp_path / "run" / "q.jsonl", [_line(id=row.id, probe="original", masks={"png_dir": "../x"})])
    [problem] = read_predictions(outside, index=_index(built)).problems
    assert "leads outside" in problem.message
    assert read_predictions(outside, index=_index(built), options=ReadOptions(allow_outside_paths=True)).problems


# ------------------------------------------------------------------ scoring


def _predictions(reference: Any, model: str, make: Any, skip: set[str] = frozenset()) -> list[Prediction]:
    out = []
    for probe, layout in _groups():
        for row_id, row in reference.rows_for(probe).items():
            if row_id in skip:
                continue
            view = _view(row, probe, layout)
            out.append(Prediction(benchmark="mocentric", id=row_id, probe=probe, layout=layout, model=model,
                                  frames=tuple(make(view, row, probe))))
    return out


def _oracle(view: Any, row: Any, probe: str) -> list[Any]:
    return [None] * view.length if probe == "static" else view.ground_truth(list(row.masks))


def _empty(view: Any, row: Any, probe: str) -> list[Any]:
    return [None] * view.length


def _score_json(path: Path, built: Path, capsys: Any, *extra: str) -> list[dict[str, Any]]:
    assert main(["score", str(path), "--data", f"mocentric={built}", "--format", "json", *extra]) == 0
    return json.loads(capsys.readouterr().out)["results"]


def test_oracle_and_empty_predictions(tmp_path, built, reference, capsys):
    path = tmp_path / "preds.jsonl"
    write_predictions(path, _predictions(reference, "oracle", _oracle) + _predictions(reference, "empty", _empty))
    results = _score_json(path, built, capsys)
    assert len(results) == 2 * len(_groups())
    for result in results:
        assert list(result) == ["model", "benchmark", "probe", "layout", "metrics", "counts"]
        rows = reference.rows_for(result["probe"])
        assert result["counts"] == {"expressions": len(rows), "missing": 0}
        metrics = result["metrics"]
        if result["probe"] == "static":
            assert metrics == {"J_bg": 100.0, "H_bg": 100.0, "FPR": 0.0, "FG_FPR": 0.0}
            continue
        pair = result["probe"] in PAIR_PROBES
        assert list(metrics) == (["J", "F", "JF", "F_native", "JF_native", "D_FPR"] if pair else ["J", "F", "JF"])
        if result["model"] == "oracle":
            assert metrics["J"] == metrics["F"] == metrics["JF"] == 100.0
            assert not pair or (metrics["F_native"] == 100.0 and metrics["D_FPR"] == 0.0)
        else:  # an empty mask is right exactly on the frames where the object is absent
            absent = np.mean([np.mean([rle.area([m])[0] == 0 for m in row.masks]) for row in rows.values()]) * 100
            assert metrics["J"] == pytest.approx(absent, abs=1e-6) and metrics["F"] == pytest.approx(absent, abs=1e-6)


def test_missing_expressions_static_hand_case_and_strict(tmp_path, built, reference, capsys):
    skipped = next(iter(reference.expressions))
    path = tmp_path / "m.jsonl"

    def keyframe_everywhere(view: Any, row: Any, probe: str) -> list[Any]:  # segments the still object
        return [row.masks[row.keyframe]] * view.length if probe == "static" else _oracle(view, row, probe)

    write_predictions(path, _predictions(reference, "m", keyframe_everywhere, skip={skipped}))
    by_group = {(r["probe"], r["layout"]): r for r in _score_json(path, built, capsys)}
    original = by_group[("original", None)]
    n = len(reference.expressions)
    assert original["counts"] == {"expressions": n, "missing": 1}
    assert original["metrics"]["J"] == pytest.approx((n - 1) / n * 100, abs=1e-6)  # the missing one scores 0
    assert by_group[("static-pair", "target-left")]["metrics"]["D_FPR"] == pytest.approx(100 / n, abs=1e-6)
    static = by_group[("static", None)]["metrics"]
    rows = [r for r in reference.expressions.values() if r.id != skipped]
    keys = [int(rle.area([r.masks[r.keyframe]])[0]) for r in rows]
    fractions = [k / (r.height * r.width) for k, r in zip(keys, rows)]
    jbg = [0.0 if k else 1.0 for k in keys]  # predicting K is the worst answer when K is not empty
    assert static["FG_FPR"] == pytest.approx((sum(1.0 for k in keys if k) + 1.0) / n * 100, abs=1e-6)
    assert static["FPR"] == pytest.approx((sum(fractions) + 1.0) / n * 100, abs=1e-6)
    assert static["J_bg"] == pytest.approx(sum(jbg) / n * 100, abs=1e-6)
    h_bg = [2 / (1 / (j + 1e-10) + 1 / (1 - f + 1e-10)) for j, f in zip(jbg, fractions)]
    assert static["H_bg"] == pytest.approx(sum(h_bg) / n * 100, abs=1e-6)
    assert main(["score", str(path), "--data", f"mocentric={built}", "--strict"]) == 1
    assert f"1 expression(s) without a line (--strict): ['{skipped}']" in capsys.readouterr().err


def test_per_sample_intervals_workers_and_compare(tmp_path, built, reference, capsys):
    good = tmp_path / "good.jsonl"
    write_predictions(good, _predictions(reference, "good", _oracle))
    bad = tmp_path / "bad.jsonl"
    write_predictions(bad, _predictions(reference, "bad", _empty))
    samples = tmp_path / "samples.jsonl"
    one = _score_json(good, built, capsys, "--per-sample", str(samples), "--ci", "0.9", "--bootstrap", "200")
    records = [json.loads(line) for line in samples.read_text().splitlines()]
    original = [r for r in records if r["probe"] == "original"]
    assert len(original) == len(reference.expressions)
    row = reference.expressions[original[0]["id"]]
    assert original[0]["J_t"] == [1.0] * len(row.frame_names) and original[0]["F"] == 1.0
    assert one[0]["ci"]["metrics"]["J"] == [100.0, 100.0]
    two = _score_json(good, built, capsys, "--workers", "2")
    assert [r["metrics"] for r in two] == [r["metrics"] for r in one]
    assert main(["compare", str(good), str(bad), "--data", f"mocentric={built}", "--format", "json",
                 "--bootstrap", "200"]) == 0
    comparisons = json.loads(capsys.readouterr().out)["comparisons"]
    assert len(comparisons) == len(_groups())
    first = comparisons[0]
    assert (first["benchmark"], first["probe"], first["rows"]) == ("mocentric", "original", len(reference.expressions))
    assert first["metrics"]["J"]["a"] == 100.0 and first["metrics"]["J"]["difference"] > 0
    # the table's notes name each comparison's probe (and layout), once each
    assert main(["compare", str(good), str(bad), "--data", f"mocentric={built}", "--bootstrap", "200"]) == 0
    notes = [line for line in capsys.readouterr().out.splitlines() if line.startswith("A = good, B = bad on")]
    wheres = [line.split(" on ", 1)[1].split(":", 1)[0] for line in notes]
    assert len(wheres) == len(set(wheres)) == len(comparisons)
    assert "mocentric original" in wheres and any(w.startswith("mocentric static-pair target-") for w in wheres)


def test_mocentric_needs_its_data(tmp_path, capsys):
    path = _write(tmp_path / "m.jsonl", [_line(id="abc_0", probe="original", masks=[])])
    assert main(["score", str(path)]) == 1
    err = capsys.readouterr().err
    assert "there is no public copy of MoCentric-Bench on the hub yet" in err and "--data mocentric=PATH" in err


def test_details_are_kept_and_checked(tmp_path, built, reference):
    row = next(iter(reference.expressions.values()))
    masks = [None] * len(row.frame_names)
    details = {"reply": "```json\n[]\n```", "boxes": [], "initial_frame": None}
    path = _write(tmp_path / "p.jsonl", [_line(id=row.id, probe="original", masks=masks, details=details),
                                         _line(id=row.id, probe="reversed-pair", layout="target-left", masks=masks,
                                               model="n", details="free text")])
    result = read_predictions(path)
    assert result.predictions[0].details == details
    assert "`details` must be an object" in result.problems[0].message
    again = tmp_path / "again.jsonl"
    write_predictions(again, result.predictions)
    assert json.loads(again.read_text())["details"] == details
