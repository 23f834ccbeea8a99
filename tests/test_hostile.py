"""Hostile and careless predictions files: bounded work, every problem placed, no traceback.

One test per kind of damage found when pixbench was attacked (memory bombs, silent misspellings,
unplaced problems, unsafe PNG paths, unwritable outputs), at the reader and at the command line, plus
a hypothesis fuzz over all of them. Memory and time of the worst lines are measured by
``perf/bench_hostile.py``, not here.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageFile

from pixbench import mask_values
from pixbench import predictions as predictions_module
from pixbench.annotation import rle
from pixbench.cli import main
from pixbench.predictions import MAX_POLYGON_PERIMETER, ReadOptions, read_predictions

INDEX = {"pixmmvp": {1: (4, 4), 2: (4, 4)}}


def _line(**fields: Any) -> dict[str, Any]:
    return {"benchmark": "pixmmvp", "id": 1, "probe": "segment", **fields}


def _write(path: Path, lines: list[Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines), encoding="utf-8")
    return path


def _problems(path: Path, **kwargs: Any) -> list[str]:
    result = read_predictions(path, **kwargs)
    for problem in result.problems:
        assert problem.file == str(path)
    return [str(p) for p in result.problems]


# ------------------------------------------------------------------ 1. bounded work per line


def test_wrong_size_polygons_are_not_rasterised(tmp_path, monkeypatch):
    def boom(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("rasterised before the size check")

    monkeypatch.setattr(rle, "from_polygons", boom)
    far = [float(v) for v in np.random.default_rng(0).uniform(-1e6, 1e6, 2000)]
    path = _write(tmp_path / "p.jsonl", [_line(mask={"size": [4000, 4000], "polygons": [far]})])
    [problem] = _problems(path, index=INDEX)
    assert problem == f"{path}:1: id 1: `mask` size [4000, 4000] != ground truth [4, 4]"


def test_far_polygon_points_are_refused(tmp_path):
    path = _write(tmp_path / "p.jsonl", [_line(mask={"size": [4, 4], "polygons": [[0, 0, 1e7, 0, 1, 1]]})])
    [problem] = _problems(path, index=INDEX)
    assert "within one image size" in problem


def test_polygon_work_budget_per_line(tmp_path):
    # every vertex inside the image, but the edges add up past the budget (zig-zag across the canvas)
    size = 2000
    zigzag = [v for k in range(MAX_POLYGON_PERIMETER // size // 2 + 10) for v in (0, k % size, size, k % size)]
    path = _write(tmp_path / "p.jsonl", [_line(id=2, mask={"size": [size, size], "polygons": [zigzag]})])
    [problem] = _problems(path)
    assert f"{path}:1: id 2: `mask.polygons`: the line's polygon edges are longer than" in problem
    # the budget is per line: candidates add up
    half = zigzag[:len(zigzag) // 2 + 1 - (len(zigzag) // 2 + 1) % 2]
    candidates = [{"mask": {"size": [size, size], "polygons": [half]}} for _ in range(3)]
    path = _write(tmp_path / "c.jsonl", [_line(candidates=candidates)])
    [problem] = _problems(path)
    assert "`candidates[2].mask.polygons`: the line's polygon edges" in problem or "candidates[1]" in problem


def test_too_many_vertices(tmp_path, monkeypatch):
    monkeypatch.setattr(mask_values, "MAX_POLYGON_VERTICES", 10)
    polygon = [1, 1, 2, 1, 2, 2, 1, 2] * 3
    path = _write(tmp_path / "p.jsonl", [_line(mask={"size": [4, 4], "polygons": [polygon]})])
    [problem] = _problems(path)
    assert "more than 10 vertices" in problem


def test_rle_longer_than_any_mask_of_its_size(tmp_path):
    path = _write(tmp_path / "p.jsonl", [_line(mask={"size": [4, 4], "counts": "1" * 81}),
                                         _line(id=2, mask={"size": [4, 4], "counts": [1] * 18})])
    first, second = _problems(path)
    assert "RLE 'counts' has 81 characters, more than any 4x4 mask needs (80)" in first
    assert "uncompressed RLE has 18 runs, more than a 4x4 mask can have (17)" in second


def test_masks_beyond_the_pixel_limit(tmp_path):
    path = _write(tmp_path / "p.jsonl", [_line(mask={"size": [32768, 32768], "counts": "0"})])
    [problem] = _problems(path)
    assert "more than the 268,435,456 pixels a mask may have" in problem


def test_rle_runs_longer_than_pycocotools_decodes_are_refused(tmp_path):
    # a 7-character run: pycocotools' int arithmetic would overflow on it
    path = _write(tmp_path / "p.jsonl", [_line(mask={"size": [4, 4], "counts": "PPPPPP01"})])
    [problem] = _problems(path)
    assert "run longer than 30 bits" in problem


def test_png_header_is_checked_before_decoding(tmp_path, monkeypatch):
    big = tmp_path / "masks" / "big.png"
    big.parent.mkdir()
    Image.new("1", (300, 200)).save(big)
    decoded: list[str] = []
    original = ImageFile.ImageFile.load
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda self: decoded.append("x") or original(self))
    path = _write(tmp_path / "p.jsonl", [_line(mask={"png": "masks/big.png"})])
    [problem] = _problems(path, index=INDEX)
    assert "size [200, 300] != ground truth [4, 4]" in problem and not decoded
    monkeypatch.setattr(mask_values, "MAX_PNG_PIXELS", 1000)
    [problem] = _problems(path)
    assert "200x300 pixels is more than the 1,000 a mask may have" in problem and not decoded
    monkeypatch.setattr(mask_values, "MAX_PNG_PIXELS", 10**6)
    assert _problems(path) == [] and decoded  # the recorder does see a decode


def test_overlong_line_is_one_problem_and_reading_goes_on(tmp_path):
    path = _write(tmp_path / "p.jsonl", [_line(mask={"size": [4, 4], "counts": "0" * 5000}), _line(id=2)])
    result = read_predictions(path, options=ReadOptions(max_line_bytes=1000))
    assert [str(p) for p in result.problems] == [f"{path}:1: line longer than 1,000 bytes (skipped)"]
    assert [(p.line, p.id) for p in result.predictions] == [(2, 2)]


@pytest.mark.parametrize("special", ["/dev/zero", "fifo", "folder"])
def test_only_regular_files_are_read(tmp_path, special):
    if special == "fifo":
        path = tmp_path / "preds.jsonl"
        os.mkfifo(path)
    elif special == "folder":
        path = tmp_path / "preds.jsonl"
        path.mkdir()
    else:
        path = Path(special)
    result = read_predictions(path)
    assert [p.line for p in result.problems] == [0]
    assert "cannot read: it is" in str(result.problems[0]) and str(path) in str(result.problems[0])


# ------------------------------------------------------------------ 2. silent mistakes


def test_misspelt_field_is_an_error_with_a_suggestion(tmp_path):
    perfect = rle.encode(np.eye(4))
    path = _write(tmp_path / "p.jsonl", [_line(Mask=perfect)])
    [problem] = _problems(path, index=INDEX)
    assert problem == f"{path}:1: id 1: unknown field `Mask`; did you mean `mask`?"


def test_unknown_fields_everywhere(tmp_path):
    mask = {"size": [4, 4], "counts": "0", "colour": "red"}
    lines = [_line(mask=mask), _line(id=2, candidates=[{"mask": rle.empty(4, 4), "scroe": 0.5}]),
             _line(probe="letter", response="A", extra=1),
             _line(id=2, probe="letter", response="A", mask={"png": "m.png", "counts": "0"})]
    problems = _problems(_write(tmp_path / "p.jsonl", lines))
    assert "unknown field `mask.colour` (known: size, counts)" in problems[0]
    assert "unknown field `candidates[0].scroe`; did you mean `score`?" in problems[1]
    assert "unknown field `extra`" in problems[2]
    assert "`mask` mixes mask forms (counts, png)" in problems[3]


def test_allow_unknown_fields_warns_and_scores(tmp_path, tiny_built, capsys):
    lines = [_line(probe="letter", response="A", confidence=0.9), _line(id=2, probe="letter", response="B")]
    path = _write(tmp_path / "m.jsonl", lines)
    data = f"pixmmvp={tiny_built['pixmmvp']}"
    assert main(["score", str(path), "--data", data, "--no-judge"]) == 1
    assert "unknown field `confidence`" in capsys.readouterr().err
    assert main(["score", str(path), "--data", data, "--no-judge", "--allow-unknown-fields"]) == 0
    captured = capsys.readouterr()
    assert f"warning: {path}: " in captured.err and "`confidence`" in captured.err and "m  " in captured.out


# ------------------------------------------------------------------ 3. every problem placed and counted


def test_all_problems_counted_beyond_the_limit(tmp_path, tiny_built, capsys):
    path = _write(tmp_path / "m.jsonl", ["{"] * 250)
    result = read_predictions(path)
    assert len(result.problems) == 200 and result.problem_count == 250
    with pytest.raises(predictions_module.PredictionsError, match="250 problem"):
        result.raise_for_problems()
    assert main(["score", str(path), "--data", f"pixmmvp={tiny_built['pixmmvp']}", "--no-judge"]) == 1
    err = capsys.readouterr().err
    assert "error: ... and 200 more" in err and "nothing scored (250 problem(s))" in err


def test_candidates_without_selection_name_file_line_and_id(tmp_path, tiny_built, capsys):
    candidate = {"mask": {"size": [96, 128], "counts": [96 * 128]}}
    lines = [_line(probe="vqa", response="x", candidates=[candidate], model=model) for model in ("a", "b")]
    lines.append(_line(id=3, probe="vqa", response="x", candidates=[candidate], model="a"))
    path = _write(tmp_path / "m.jsonl", lines)
    assert main(["score", str(path), "--data", f"pixmmvp={tiny_built['pixmmvp']}", "--no-judge"]) == 1
    err = capsys.readouterr().err
    for line, row_id in ((1, 1), (2, 1), (3, 3)):
        assert f"error: {path}:{line}: id {row_id}: Expected `mask` or `selected`" in err


def test_lone_surrogates_are_placed(tmp_path, tiny_built, capsys):
    path = tmp_path / "m.jsonl"
    path.write_text('{"benchmark": "pixmmvp", "id": 1, "probe": "letter", "response": "A", "model": "m\\ud800"}\n'
                    '{"benchmark": "pixmmvp", "id": 2, "probe": "letter", "response": "A", "variant": "\\udfff"}\n'
                    '{"benchmark": "pixmmvp", "id": 3, "probe": "vqa", "response": "ok \\ud83d\\ude00 \\udc00"}\n'
                    '{"benchmark": "pixmmvp", "id": 4, "probe": "vqa", "response": "fine \\ud83d\\ude00"}\n')
    problems = _problems(path)
    assert [p.split(": ", 2)[:2] for p in problems] == [[f"{path}:1", "id 1"], [f"{path}:2", "id 2"],
                                                        [f"{path}:3", "id 3"]]
    assert "`model` is not valid Unicode text" in problems[0] and "`response`" in problems[2]
    assert main(["score", str(path), "--data", f"pixmmvp={tiny_built['pixmmvp']}", "--no-judge"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and "nothing scored (3 problem(s))" in err


def test_huge_values_are_shortened_in_messages(tmp_path):
    huge = "x" * 5_000_000
    lines = [_line(probe=huge), _line(id=2, model=["m"] * 100_000), _line(id=huge), {huge: 1}]
    problems = _problems(_write(tmp_path / "p.jsonl", lines))
    assert len(problems) == 4 and all(len(p) < 500 for p in problems), [len(p) for p in problems]
    assert "(5000000 characters)" in problems[0]


# ------------------------------------------------------------------ 4. PNG paths


def test_png_paths_stay_inside_the_predictions_folder(tmp_path):
    outside = tmp_path / "outside.png"
    Image.fromarray(np.eye(4, dtype=np.uint8) * 255).save(outside)
    run = tmp_path / "run"
    (run / "masks").mkdir(parents=True)
    (run / "masks" / "link.png").symlink_to(outside)
    lines = [_line(mask={"png": str(outside)}), _line(id=2, mask={"png": "../outside.png"}),
             _line(id=1, probe="vqa", response="x", mask={"png": "masks/link.png"})]
    path = _write(run / "p.jsonl", lines)
    problems = _problems(path)
    assert len(problems) == 3 and all("leads outside the predictions file's folder" in p for p in problems)
    assert all("--allow-outside-paths" in p for p in problems)
    allowed = read_predictions(path, options=ReadOptions(allow_outside_paths=True))
    assert allowed.problems == [] and len(allowed.predictions) == 3


def test_fifo_as_png_is_refused_without_hanging(tmp_path):
    (tmp_path / "masks").mkdir()
    os.mkfifo(tmp_path / "masks" / "m.png")
    [problem] = _problems(_write(tmp_path / "p.jsonl", [_line(mask={"png": "masks/m.png"})]))
    assert "masks/m.png is not a regular file" in problem


# ------------------------------------------------------------------ 7. command line: no traceback


def test_unwritable_outputs_are_refused_before_scoring(tmp_path, tiny_built, capsys):
    path = _write(tmp_path / "m.jsonl", [_line(probe="letter", response="A")])
    base = ["score", str(path), "--data", f"pixmmvp={tiny_built['pixmmvp']}", "--no-judge"]
    folder = tmp_path / "folder"
    folder.mkdir()
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    for extra, message in ((["--output", str(folder)], "is a folder"),
                           (["--output", str(tmp_path / "no" / "r.txt")], "does not exist"),
                           (["--per-sample", str(folder)], "is a folder"),
                           (["--plots", str(a_file)], "exists and is not a folder")):
        assert main([*base, *extra]) == 1
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err, err


def test_bootstrap_must_be_positive(tmp_path, capsys):
    with pytest.raises(SystemExit) as exited:
        main(["score", "x.jsonl", "--ci", "0.95", "--bootstrap", "0"])
    assert exited.value.code == 2
    assert "expected a positive integer, but got 0" in capsys.readouterr().err


def test_unexpected_failures_are_one_line(tmp_path, tiny_built, capsys, monkeypatch):
    from pixbench import score_files as evaluate

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("disk on fire\nsecond line")

    monkeypatch.setattr(evaluate, "evaluate", broken)
    path = _write(tmp_path / "m.jsonl", [_line(probe="letter", response="A")])
    assert main(["score", str(path), "--no-judge"]) == 1
    err = capsys.readouterr().err
    assert err == "error: RuntimeError: disk on fire (run with -v for the traceback)\n"
    assert main(["-v", "score", str(path), "--no-judge"]) == 1
    assert "Traceback" in capsys.readouterr().err

    def interrupted(*args: Any, **kwargs: Any) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(evaluate, "evaluate", interrupted)
    assert main(["score", str(path), "--no-judge"]) == 130
    err = capsys.readouterr().err
    assert err.startswith("interrupted: stopped") and err.count("\n") == 1


# ------------------------------------------------------------------ fuzz: every kind of damage at once

_damage = st.sampled_from([
    lambda obj: {**obj, "Mask": obj.get("mask")},                                     # misspelt field
    lambda obj: {**obj, "model": "m\ud800"},                                          # lone surrogate
    lambda obj: {**obj, "response": "r\udc00", "probe": "vqa"},
    lambda obj: {**obj, "probe": "p" * 5000},                                         # huge value
    lambda obj: {**obj, "mask": {"size": [4, 4], "polygons": [[0, 0, 1e9, 0, 1, 1]]}},  # far polygon
    lambda obj: {**obj, "mask": {"size": [4000, 4000], "polygons": [[0, 0, 3000, 0, 1, 1]]}},
    lambda obj: {**obj, "mask": {"size": [4, 4], "counts": "1" * 200}},               # long RLE
    lambda obj: {**obj, "mask": {"size": [4, 4], "counts": [1] * 40}},
    lambda obj: {**obj, "mask": {"size": [4, 4], "counts": "PPPPPPP0"}},
    lambda obj: {**obj, "mask": {"png": "/etc/hostname"}},                            # outside path
    lambda obj: {**obj, "mask": {"png": "../x.png"}},
    lambda obj: {**obj, "mask": {"png": "masks/fifo.png"}},                           # special file
    lambda obj: {**obj, "mask": {"png": "masks/big.png"}},                            # wrong size PNG
    lambda obj: {**obj, "mask": {"png": "m.png", "counts": "0"}},                     # mixed forms
    lambda obj: {**obj, "candidates": [{"mask": {"size": [4, 4], "counts": "0"}, "scroe": 1}]},
    lambda obj: {**obj, "candidates": [{"mask": {"size": [4, 4], "counts": [16]}}]},  # no selection
    lambda obj: {**obj, "variant": "v"},                                              # variants on some lines
    lambda obj: {k: v for k, v in obj.items() if k != "id"},
    lambda obj: obj,
])


@pytest.fixture(scope="module")
def hostile_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    (root / "masks").mkdir()
    os.mkfifo(root / "masks" / "fifo.png")
    Image.new("1", (50, 40)).save(root / "masks" / "big.png")
    return root


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(damages=st.lists(st.tuples(_damage, st.integers(1, 2), st.sampled_from(["segment", "vqa", "letter"])),
                        min_size=1, max_size=6),
       limit=st.integers(1, 5), use_index=st.booleans())
def test_fuzz_hostile_lines_are_placed_and_bounded(hostile_dir, damages, limit, use_index):
    lines = []
    for damage, row_id, probe in damages:
        base = {"benchmark": "pixmmvp", "id": row_id, "probe": probe, "response": "A", "model": "m"}
        lines.append(json.dumps(damage(base)))
    path = hostile_dir / "fuzz.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8", errors="surrogatepass")
    result = read_predictions(path, index=INDEX if use_index else None, limit=limit)
    assert len(result.problems) <= limit and result.problem_count >= len(result.problems)
    for problem in result.problems:
        assert problem.file == str(path) and 1 <= problem.line <= len(lines)
        assert len(problem.message) < 600
    bad_lines = {p.line for p in result.problems}
    assert not bad_lines & {p.line for p in result.predictions}
    assert result.problem_count + len(result.predictions) == len(lines)  # one verdict per line


# ------------------------------------------------------------------ 5. a dead judge


def _closed_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_dead_judge_exits_3_even_when_judge_errors_are_allowed(tmp_path, tiny_built, capsys, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    path = _write(tmp_path / "m.jsonl", [_line(id=k, probe="vqa", response="open") for k in (1, 2, 3, 4)])
    url = f"http://user:sk-secret@127.0.0.1:{_closed_port()}/v1?api_key=sk-query"
    code = main(["score", str(path), "--data", f"pixmmvp={tiny_built['pixmmvp']}", "--judge-base-url", url,
                 "--judge-cache", str(tmp_path / "judge.sqlite"), "--judge-retries", "1", "--allow-judge-errors"])
    err = capsys.readouterr().err
    assert code == 3, err
    assert "the judge could not be reached" in err and "sk-secret" not in err and "sk-query" not in err


def test_compare_records_the_judge(tmp_path, tiny_built, capsys):
    a = _write(tmp_path / "a.jsonl", [_line(id=k, probe="letter", response="A", model="a") for k in (1, 2)])
    b = _write(tmp_path / "b.jsonl", [_line(id=k, probe="letter", response="B", model="b") for k in (1, 2)])
    assert main(["compare", str(a), str(b), "--data", f"pixmmvp={tiny_built['pixmmvp']}", "--no-judge",
                 "--format", "json", "--bootstrap", "50"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["settings"]["judge"] == {"enabled": False, "reason": "skipped with --no-judge"}
