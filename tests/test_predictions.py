"""Predictions files: every Mask form by hand, every error of the spec, round trip, and fuzzing."""

from __future__ import annotations

import json
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from pixbench.annotation import rle
from pixbench.predictions import (
    BENCHMARKS,
    PROBES,
    Candidate,
    Prediction,
    PredictionProblem,
    PredictionsError,
    ReadOptions,
    read_predictions,
    write_predictions,
)

INDEX = {"pixmmvp": {1: (4, 4), 2: (4, 4)}}


def _line(**fields: Any) -> dict[str, Any]:
    """A valid segment line for pixmmvp id 1, with ``fields`` overriding (``None`` values kept)."""
    return {"benchmark": "pixmmvp", "id": 1, "probe": "segment", **fields}


def _write(path: Path, lines: list[dict[str, Any] | str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines)
    path.write_text(text, encoding="utf-8")
    return path


def _png(path: Path, array: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)
    return path


def _only(path: Path, **kwargs: Any) -> Prediction:
    result = read_predictions(path, **kwargs)
    assert result.problems == []
    assert len(result.predictions) == 1
    return result.predictions[0]


def _one_problem(path: Path, *, line: int, record_id: object, **kwargs: Any) -> PredictionProblem:
    """The single problem of ``path``, checked to name the file, the line number and the id."""
    result = read_predictions(path, **kwargs)
    assert len(result.problems) == 1, result.problems
    problem = result.problems[0]
    assert isinstance(problem, PredictionProblem)
    assert (problem.file, problem.line, problem.id) == (str(path), line, record_id)
    prefix = f"{path}:{line}: id {record_id}: " if record_id is not None else f"{path}:{line}: "
    assert str(problem).startswith(prefix), str(problem)
    return problem


# ------------------------------------------------------------------ masks by hand

# A 3 x 4 mask; column-major scan: 0 0 1 | 1 1 0 | 0 0 0 | 0 0 1 -> runs 2, 3, 6, 1.
HAND = np.array([[0, 1, 0, 0],
                 [0, 1, 0, 0],
                 [1, 0, 0, 1]], dtype=bool)


def test_compressed_rle(tmp_path):
    mask = rle.encode(HAND)
    path = _write(tmp_path / "p.jsonl", [_line(mask=mask)])
    prediction = _only(path)
    assert prediction.mask == mask
    assert prediction.has_mask
    assert rle.decode(prediction.mask).tolist() == HAND.tolist()


def test_uncompressed_rle(tmp_path):
    path = _write(tmp_path / "p.jsonl", [_line(mask={"size": [3, 4], "counts": [2, 3, 6, 1]})])
    prediction = _only(path)
    assert isinstance(prediction.mask["counts"], str)  # normalised to compressed text
    assert prediction.mask == rle.encode(HAND)
    assert rle.decode(prediction.mask).tolist() == HAND.tolist()


def test_uncompressed_rle_starting_with_foreground(tmp_path):
    # runs start with zeros: a leading 0-run of length 0 makes the first pixel foreground
    path = _write(tmp_path / "p.jsonl", [_line(mask={"size": [2, 2], "counts": [0, 1, 3]})])
    assert rle.decode(_only(path).mask).tolist() == [[True, False], [False, False]]


@pytest.mark.parametrize("foreground", [255, 1])
def test_png_relative_to_the_file_folder(tmp_path, foreground):
    _png(tmp_path / "run" / "masks" / "1.png", HAND.astype(np.uint8) * foreground)
    path = _write(tmp_path / "run" / "p.jsonl", [_line(mask={"png": "masks/1.png"})])
    prediction = _only(path)
    assert prediction.mask["size"] == [3, 4]
    assert rle.decode(prediction.mask).tolist() == HAND.tolist()


def test_png_rgb_grey_level_decides_foreground(tmp_path):
    """An RGB PNG reads as OpenCV's grayscale read: foreground where the grey level is above 0."""
    rgb = np.zeros((3, 4, 3), dtype=np.uint8)
    rgb[0, 1, 0] = 7      # red only
    rgb[1, 1, 1] = 255    # green only
    rgb[2, 0, 2] = 9      # blue only: 9 is the least blue that reads as grey 1
    rgb[1, 3, 2] = 1      # blue 1 reads as grey 0: background
    rgb[2, 3] = (9, 9, 9)
    _png(tmp_path / "masks" / "rgb.png", rgb)
    path = _write(tmp_path / "p.jsonl", [_line(mask={"png": "masks/rgb.png"})])
    assert rle.decode(_only(path).mask).tolist() == HAND.tolist()


def test_png_absolute_path(tmp_path):
    elsewhere = _png(tmp_path / "elsewhere" / "m.png", HAND.astype(np.uint8) * 255).resolve()
    path = _write(tmp_path / "run" / "p.jsonl", [_line(mask={"png": str(elsewhere)})])
    assert "outside the predictions file's folder" in _one_problem(path, line=1, record_id=1).message
    allowed = _only(path, options=ReadOptions(allow_outside_paths=True))
    assert rle.decode(allowed.mask).tolist() == HAND.tolist()


def test_polygons_rasterised_as_coco(tmp_path):
    # COCO takes a pixel when its centre (c + .5, r + .5) is inside: x in [1, 4] -> columns 1..3,
    # y in [1, 3] -> rows 1..2; the second part x in [5, 6], y in [4, 6] -> column 5, rows 4..5.
    polygons = [[1, 1, 4, 1, 4, 3, 1, 3], [5.0, 4.0, 6.0, 4.0, 6.0, 6.0, 5.0, 6.0]]
    path = _write(tmp_path / "p.jsonl", [_line(mask={"size": [6, 6], "polygons": polygons})])
    expected = np.zeros((6, 6), dtype=bool)
    expected[1:3, 1:4] = True
    expected[4:6, 5] = True
    prediction = _only(path)
    assert prediction.mask["size"] == [6, 6]
    assert rle.decode(prediction.mask).tolist() == expected.tolist()


def test_empty_polygon_list_is_the_empty_mask(tmp_path):
    path = _write(tmp_path / "p.jsonl", [_line(mask={"size": [3, 5], "polygons": []})])
    prediction = _only(path)
    assert prediction.mask == rle.empty(3, 5)


def test_null_mask_versus_absent_mask(tmp_path):
    path = _write(tmp_path / "p.jsonl", [_line(id=1, mask=None), _line(id=2)])
    null, absent = read_predictions(path).predictions
    assert (null.mask, null.has_mask, null.has_masks) == (None, True, True)
    assert (absent.mask, absent.has_mask, absent.has_masks) == (None, False, False)


def test_candidates_with_all_optional_fields(tmp_path):
    first = rle.encode(HAND)
    second = {"size": [3, 4], "counts": [12]}
    response = "the red dog"
    candidates = [
        {"mask": first, "phrase": "red dog", "char_start": 4, "char_end": 11, "token_start": 2,
         "score": 0.75, "point": [1, 2.5]},
        {"mask": second},
    ]
    path = _write(tmp_path / "p.jsonl", [_line(response=response, candidates=candidates, selected=1)])
    prediction = _only(path)
    assert prediction.has_masks and not prediction.has_mask
    assert prediction.selected == 1
    full, bare = prediction.candidates
    assert full == Candidate(mask=first, phrase="red dog", char_start=4, char_end=11, token_start=2, score=0.75,
                             point=(1.0, 2.5))
    assert response[full.char_start:full.char_end] == full.phrase
    assert isinstance(full.point[0], float)
    assert bare == Candidate(mask=rle.empty(3, 4))
    assert not rle.decode(bare.mask).any()


@pytest.mark.parametrize(("selected", "expected"), [(0, 0), ("none", "none"), (None, None)])
def test_selected(tmp_path, selected, expected):
    line = _line(candidates=[{"mask": rle.encode(HAND)}], selected=selected)
    assert _only(_write(tmp_path / "p.jsonl", [line])).selected == expected


def test_selected_none_without_candidates(tmp_path):
    assert _only(_write(tmp_path / "p.jsonl", [_line(selected="none")])).selected == "none"


def test_default_model_is_the_file_stem(tmp_path):
    path = _write(tmp_path / "llava-7b.jsonl", [_line(id=1), _line(id=1, model="other")])
    result = read_predictions(path)
    assert result.problems == []
    assert [p.model for p in result.predictions] == ["llava-7b", "other"]
    assert result.models == ["llava-7b", "other"]


def test_text_fields_variant_and_blank_lines(tmp_path):
    path = tmp_path / "p.jsonl"
    path.write_text("\n" + json.dumps(_line(probe="vqa", prompt="Q?", response="(a)", variant="t1")) + "\n"
                    "   \n\t\r\n"
                    + json.dumps(_line(probe="vqa", prompt="Q?", response="(b)", variant=2)) + "\r\n"
                    + json.dumps(_line(probe="letter", response="a", benchmark="pixcvbench", id=0)) + "\n\n",
                    encoding="utf-8")
    result = read_predictions(path)
    assert result.problems == []
    first, second, third = result.predictions
    assert (first.line, first.prompt, first.response, first.variant) == (2, "Q?", "(a)", "t1")
    assert (second.line, second.response, second.variant) == (5, "(b)", "2")  # int template ids become text
    assert (third.line, third.benchmark, third.id, third.probe, third.variant) == (6, "pixcvbench", 0, "letter", None)
    assert first.key != second.key  # lines differing only in variant are not duplicates
    assert (first.mask, first.has_mask, first.candidates, first.selected) == (None, False, None, None)


def test_segment_probe_needs_no_response(tmp_path):
    prediction = _only(_write(tmp_path / "p.jsonl", [_line(mask=None)]))
    assert prediction.response is None


def test_index_accepts_known_ids_and_matching_sizes(tmp_path):
    mask = rle.encode(np.eye(4, dtype=bool))
    path = _write(tmp_path / "p.jsonl", [_line(id=1, mask=mask), _line(id=2, candidates=[{"mask": mask}])])
    result = read_predictions(path, index=INDEX)
    assert result.problems == []
    assert [p.id for p in result.predictions] == [1, 2]


# ------------------------------------------------------------------ errors


def test_invalid_json(tmp_path):
    path = _write(tmp_path / "p.jsonl", [_line(id=1), '{"benchmark": "pixmmvp", "id": 2, ', _line(id=2)])
    problem = _one_problem(path, line=2, record_id=None)
    assert "invalid JSON" in problem.message


def test_a_line_that_is_not_an_object(tmp_path):
    problem = _one_problem(_write(tmp_path / "p.jsonl", ["[1, 2]"]), line=1, record_id=None)
    assert "expected a JSON object" in problem.message


@pytest.mark.parametrize(("field", "value", "words"), [("benchmark", "mmvp", "unknown benchmark 'mmvp'"),
                                                        ("probe", "caption", "unknown probe 'caption'")])
def test_unknown_benchmark_or_probe(tmp_path, field, value, words):
    path = _write(tmp_path / "p.jsonl", [_line(id=7, **{field: value})])
    assert words in _one_problem(path, line=1, record_id=7).message


@pytest.mark.parametrize("field", ["benchmark", "id", "probe"])
def test_missing_required_field(tmp_path, field):
    line = _line(id=5)
    del line[field]
    path = _write(tmp_path / "p.jsonl", [_line(id=1), line])
    problem = _one_problem(path, line=2, record_id=None if field == "id" else 5)
    assert f"missing required field `{field}`" in problem.message


@pytest.mark.parametrize("probe", ["vqa", "letter"])
def test_missing_response_for_text_probes(tmp_path, probe):
    path = _write(tmp_path / "p.jsonl", [_line(id=3, probe=probe)])
    problem = _one_problem(path, line=1, record_id=3)
    assert "missing required field `response`" in problem.message
    assert probe in problem.message


def test_id_not_in_the_dataset(tmp_path):
    path = _write(tmp_path / "p.jsonl", [_line(id=1), _line(id=3), _line(id=2)])
    problem = _one_problem(path, line=2, record_id=3, index=INDEX)
    assert "id not in the pixmmvp dataset" in problem.message
    assert [p.id for p in read_predictions(path, index=INDEX).predictions] == [1, 2]


def test_duplicate_line(tmp_path):
    path = _write(tmp_path / "m.jsonl", [_line(id=1), _line(id=2), _line(id=1, model="m", mask=None)])
    problem = _one_problem(path, line=3, record_id=1)
    assert "duplicate" in problem.message and "first at line 1" in problem.message
    result = read_predictions(path)
    assert [(p.id, p.line, p.has_mask) for p in result.predictions] == [(1, 1, False), (2, 2, False)]


def test_same_id_for_another_model_probe_or_benchmark_is_no_duplicate(tmp_path):
    path = _write(tmp_path / "m.jsonl", [_line(), _line(model="other"), _line(probe="vqa", response="x"),
                                         _line(benchmark="pixcvbench")])
    assert len(_only_all(path)) == 4


def _only_all(path: Path) -> list[Prediction]:
    result = read_predictions(path)
    assert result.problems == []
    return result.predictions


def test_mask_size_differs_from_the_ground_truth(tmp_path):
    index = {"pixmmvp": {1: (640, 480)}}
    path = _write(tmp_path / "p.jsonl", [_line(mask={"size": [480, 640], "counts": [480 * 640]})])
    problem = _one_problem(path, line=1, record_id=1, index=index)
    assert problem.message == "`mask` size [480, 640] != ground truth [640, 480]"


def test_candidate_mask_size_differs_from_the_ground_truth(tmp_path):
    good, bad = rle.empty(4, 4), rle.empty(4, 5)
    path = _write(tmp_path / "p.jsonl", [_line(candidates=[{"mask": good}, {"mask": bad}], selected=0)])
    problem = _one_problem(path, line=1, record_id=1, index=INDEX)
    assert problem.message == "`candidates[1].mask` size [4, 5] != ground truth [4, 4]"
    assert read_predictions(path, index=INDEX).predictions == []


def test_unreadable_png(tmp_path):
    (tmp_path / "masks").mkdir()
    (tmp_path / "masks" / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n this is not a png")
    path = _write(tmp_path / "p.jsonl", [_line(id=2, mask={"png": "masks/bad.png"})])
    problem = _one_problem(path, line=1, record_id=2)
    assert "unreadable PNG" in problem.message and "bad.png" in problem.message


def test_png_that_is_a_folder(tmp_path):
    (tmp_path / "masks").mkdir()
    path = _write(tmp_path / "p.jsonl", [_line(id=2, mask={"png": "masks"})])
    assert "`mask.png`" in _one_problem(path, line=1, record_id=2).message


def test_missing_png(tmp_path):
    path = _write(tmp_path / "p.jsonl", [_line(id=2, candidates=[{"mask": {"png": "masks/404.png"}}])])
    problem = _one_problem(path, line=1, record_id=2)
    assert "`candidates[0].mask.png`: file not found" in problem.message
    assert str(tmp_path / "masks" / "404.png") in problem.message


@pytest.mark.parametrize(("candidates", "selected", "words"), [
    (1, 1, "index 1 out of range for 1 candidate(s)"),
    (2, -1, "index -1 out of range for 2 candidate(s)"),
    (0, 0, "index 0 out of range for 0 candidate(s)"),
    (None, 0, "index 0 out of range for 0 candidate(s)"),
    (1, True, "must be an int index"),
    (1, "0", "must be an int index"),
])
def test_selected_out_of_range(tmp_path, candidates, selected, words):
    line = _line(id=2, selected=selected)
    if candidates is not None:
        line["candidates"] = [{"mask": rle.empty(2, 2)}] * candidates
    path = _write(tmp_path / "p.jsonl", [line])
    assert words in _one_problem(path, line=1, record_id=2).message


@pytest.mark.parametrize(("mask", "words"), [
    ({"size": [2, 2], "counts": "4~"}, "outside COCO's alphabet"),
    ({"size": [2, 2], "counts": "4\u00e9"}, "outside COCO's alphabet"),  # non-ASCII would pass as '?'
    ({"size": [1, 15], "counts": "\u00e9"}, "outside COCO's alphabet"),
    ({"size": [2, 2], "counts": "P"}, "ends in the middle of a run"),
    ({"size": [2, 2], "counts": "3"}, "cover 3 pixels, expected height*width = 4"),
    ({"size": [2, 2], "counts": ""}, "cover 0 pixels"),
    ({"size": [2, 2], "counts": "5O"}, "negative run length"),  # "O" is -1
    ({"size": [2, 2], "counts": [1, 2]}, "sum to 3"),
    ({"size": [2, 2], "counts": [5, -1]}, "non-negative"),
    ({"size": [2, 2], "counts": 4}, "must be a string or a list of ints"),
    ({"size": [0, 2], "counts": ""}, "`mask.size`"),
    ({"size": [True, 2], "counts": [2]}, "`mask.size`"),
    ({"size": [2**40, 2**40], "counts": [2**80]}, "`mask.size`"),
    ({"counts": [4]}, "`mask.size`"),
    ({"size": [2, 2], "polygons": [[0, 0, 1, 1, 2]]}, "`mask.polygons`"),
    ({"size": [2, 2], "polygons": [[0, 0, 1, 1, float("nan"), 2]]}, "`mask.polygons`"),
    ({"size": [2, 2], "polygons": [[0, 0, 1, 1, 10**400, 2]]}, "`mask.polygons`"),
    ({"size": [2, 2], "polygons": [[0, 0, 1, 1, 1e9, 2]]}, "within one image size"),
    ({"size": [2, 2]}, "must have `counts` (RLE), `png` or `polygons`"),
    ({"png": 3}, "must be a path string"),
    ([1, 2], "must be an object"),
])
def test_corrupt_masks(tmp_path, mask, words):
    path = _write(tmp_path / "p.jsonl", [_line(id=2, mask=mask)])
    problem = _one_problem(path, line=1, record_id=2)
    assert words in problem.message, problem.message
    assert read_predictions(path).predictions == []


@pytest.mark.parametrize(("fields", "words"), [
    ({"id": "1"}, "`id` must be an int"),
    ({"id": True}, "`id` must be an int"),
    ({"model": ""}, "`model` must be a non-empty string"),
    ({"response": 3}, "`response` must be a string"),
    ({"prompt": ["a"]}, "`prompt` must be a string"),
    ({"variant": True}, "`variant` must be a template id"),
    ({"candidates": {"mask": None}}, "`candidates` must be a list"),
    ({"candidates": [3]}, "`candidates[0]` must be an object"),
    ({"candidates": [{"phrase": "x"}]}, "`candidates[0].mask` is required"),
    ({"candidates": [{"mask": rle.empty(1, 1), "char_start": -1}]}, "`candidates[0].char_start`"),
    ({"candidates": [{"mask": rle.empty(1, 1), "score": float("nan")}]}, "`candidates[0].score`"),
    ({"candidates": [{"mask": rle.empty(1, 1), "score": 10**400}]}, "`candidates[0].score`"),
    ({"candidates": [{"mask": rle.empty(1, 1), "point": [1, 2, 3]}]}, "`candidates[0].point`"),
])
def test_bad_field_values(tmp_path, fields, words):
    path = _write(tmp_path / "p.jsonl", [_line(**fields)])
    problem = _one_problem(path, line=1, record_id=fields.get("id", 1))
    assert words in problem.message, problem.message


def test_hostile_json_is_a_problem_of_its_line(tmp_path):
    path = tmp_path / "p.jsonl"
    path.write_text('{"benchmark": "pixmmvp", "id": ' + "9" * 5000 + ', "probe": "segment"}\n'
                    + '{"benchmark": "pixmmvp", "id": 1, "probe": ' + "[" * 50_000 + "]" * 50_000 + "}\n"
                    + json.dumps(_line(id=1)) + "\n", encoding="utf-8")
    result = read_predictions(path)
    assert [(p.line, p.message.startswith("invalid JSON")) for p in result.problems] == [(1, True), (2, True)]
    assert [p.line for p in result.predictions] == [3]


def test_nested_id_is_not_named(tmp_path):
    path = _write(tmp_path / "p.jsonl", [{"benchmark": "pixmmvp", "id": [[1]], "probe": "segment"}])
    assert "`id` must be an int" in _one_problem(path, line=1, record_id=None).message


def test_not_utf8_line_is_reported_and_the_others_read(tmp_path):
    path = tmp_path / "p.jsonl"
    path.write_bytes(json.dumps(_line(id=1)).encode() + b"\n"
                     + b'{"benchmark": "pixmmvp", "id": 2, "probe": "vqa", "response": "\xff\xfe"}\n'
                     + json.dumps(_line(id=2, response="caf\u00e9")).encode() + b"\n")
    problem = _one_problem(path, line=2, record_id=None)
    assert "not UTF-8" in problem.message
    assert [(p.id, p.response) for p in read_predictions(path).predictions] == [(1, None), (2, "caf\u00e9")]


def test_missing_file(tmp_path):
    result = read_predictions(tmp_path / "nope.jsonl")
    assert result.predictions == []
    assert len(result.problems) == 1
    assert str(result.problems[0]).startswith(f"{tmp_path / 'nope.jsonl'}: cannot open")


def _bad_file(tmp_path: Path) -> tuple[Path, dict[int, str]]:
    """A file mixing good lines with one of each problem; returns it and {line: words of its problem}."""
    (tmp_path / "masks").mkdir(exist_ok=True)
    (tmp_path / "masks" / "bad.png").write_bytes(b"garbage")
    lines: list[dict[str, Any] | str] = [
        _line(id=1, mask=rle.empty(4, 4)),                                   # 1 good
        "{not json",                                                          # 2
        _line(id=2, benchmark="mmvp"),                                        # 3
        _line(id=2, probe="caption"),                                         # 4
        {"benchmark": "pixmmvp", "id": 2},                                    # 5
        _line(id=2, probe="vqa"),                                             # 6
        _line(id=9),                                                          # 7 not in the dataset
        _line(id=1),                                                          # 8 duplicate of 1
        _line(id=2, probe="vqa", response="x", mask={"size": [4, 5], "counts": [20]}),   # 9 size
        _line(id=2, probe="letter", response="a", mask={"png": "masks/bad.png"}),        # 10 unreadable
        _line(id=2, model="b", mask={"png": "masks/none.png"}),             # 11 missing
        _line(id=2, model="c", candidates=[{"mask": rle.empty(4, 4)}], selected=1),     # 12 selected
        _line(id=2, model="d", mask={"size": [4, 4], "counts": "0"}),        # 13 corrupt RLE
        _line(id=2, mask=rle.encode(np.eye(4))),                              # 14 good
    ]
    expected = {2: "invalid JSON", 3: "unknown benchmark", 4: "unknown probe", 5: "`probe`", 6: "`response`",
                7: "not in the pixmmvp dataset", 8: "duplicate", 9: "!= ground truth [4, 4]",
                10: "unreadable PNG", 11: "file not found", 12: "out of range", 13: "RLE runs cover 0"}
    return _write(tmp_path / "p.jsonl", lines), expected


def test_all_problems_are_reported_and_good_lines_kept(tmp_path):
    path, expected = _bad_file(tmp_path)
    result = read_predictions(path, index=INDEX)
    assert sorted(p.line for p in result.problems) == sorted(expected)
    for problem in result.problems:
        assert expected[problem.line] in problem.message, problem
        assert str(problem).startswith(f"{path}:{problem.line}: ")
        if problem.line != 2:
            assert problem.id is not None
    assert [(p.line, p.id) for p in result.predictions] == [(1, 1), (14, 2)]
    with pytest.raises(PredictionsError) as raised:
        result.raise_for_problems()
    assert len(raised.value.problems) == len(expected)
    assert f"{path}:13: id 2: " in str(raised.value)


def test_limit_caps_the_problems(tmp_path):
    path, _ = _bad_file(tmp_path)
    result = read_predictions(path, index=INDEX, limit=3)
    assert len(result.problems) == 3
    assert [(p.line, p.id) for p in result.predictions] == [(1, 1), (14, 2)]  # reading went on


def test_default_limit(tmp_path):
    path = _write(tmp_path / "p.jsonl", ["{"] * 250 + [_line()])
    result = read_predictions(path)
    assert len(result.problems) == 200
    assert len(result.predictions) == 1


# ------------------------------------------------------------------ round trip


def test_write_then_read_gives_equal_records(tmp_path):
    records = [
        Prediction(benchmark="pixmmvp", id=1, probe="vqa", model="m", response="(a) yes", prompt="Is it?",
                   variant="t0"),
        Prediction(benchmark="pixmmvp", id=1, probe="segment", model="m", mask=rle.encode(HAND), has_mask=True),
        Prediction(benchmark="pixmmvp", id=2, probe="segment", model="m", mask=None, has_mask=True),
        Prediction(benchmark="pixcvbench", id=0, probe="letter", model="other", response="B", prompt="\u00e9\u4e2d"),
        Prediction(benchmark="pixcvbench", id=5, probe="segment", model="m", response="a cat and a dog",
                   candidates=(Candidate(mask=rle.encode(HAND), phrase="a cat", char_start=0, char_end=5,
                                         token_start=1, score=0.5, point=(1.0, 2.0)),
                               Candidate(mask=rle.empty(3, 4))),
                   selected=0),
        Prediction(benchmark="pixcvbench", id=6, probe="segment", model="m", candidates=(), selected="none"),
    ]
    path = tmp_path / "out.jsonl"
    assert write_predictions(path, records[:3]) == 3
    assert write_predictions(path, records[3:], append=True) == 3
    result = read_predictions(path)
    assert result.problems == []
    assert result.predictions == [replace(r, line=k) for k, r in enumerate(records, start=1)]
    # and again: what was read writes the same text
    again = tmp_path / "again.jsonl"
    write_predictions(again, result.predictions)
    assert again.read_text(encoding="utf-8") == path.read_text(encoding="utf-8")


def test_writer_overwrites_without_append(tmp_path):
    path = tmp_path / "out.jsonl"
    write_predictions(path, [Prediction(benchmark="pixmmvp", id=1, probe="segment", model="m")])
    write_predictions(path, [Prediction(benchmark="pixmmvp", id=2, probe="segment", model="m")])
    assert [p.id for p in read_predictions(path).predictions] == [2]


# ------------------------------------------------------------------ fuzzing


def _check_result(path: Path, result: Any, line_count: int) -> None:
    for problem in result.problems:
        assert isinstance(problem, PredictionProblem)
        assert str(problem).startswith(str(path))
        assert 0 <= problem.line <= line_count
    for prediction in result.predictions:
        assert prediction.benchmark in BENCHMARKS and prediction.probe in PROBES
        assert isinstance(prediction.id, int) and not isinstance(prediction.id, bool)
        masks = [prediction.mask] if prediction.mask is not None else []
        masks += [c.mask for c in prediction.candidates or ()]
        for mask in masks:  # every accepted mask is usable by pycocotools
            height, width = rle.size_of(mask)
            assert 0 <= rle.area([mask])[0] <= height * width
            if height * width <= 10_000:
                assert rle.decode(mask).shape == (height, width)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=300))
def test_fuzz_bytes_never_raise(tmp_path, data):
    path = tmp_path / "fuzz.jsonl"
    path.write_bytes(data)
    _check_result(path, read_predictions(path, index=INDEX, limit=5), data.count(b"\n") + data.count(b"\r") + 1)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=300))
def test_fuzz_text_never_raise(tmp_path, text):
    path = tmp_path / "fuzz.jsonl"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    _check_result(path, read_predictions(path), len(text) + 1)


MISSING = object()
_scalars = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.just(10**400),
                     st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=6))
GARBAGE = st.recursive(_scalars, lambda inner: st.lists(inner, max_size=3)
                       | st.dictionaries(st.text(max_size=6), inner, max_size=3), max_leaves=8)
_coco_text = st.text(alphabet=st.characters(min_codepoint=48, max_codepoint=111), max_size=10)
_bad_sizes = st.one_of(st.lists(st.one_of(st.integers(-2, 3), st.booleans(), st.just(2**40), st.just(10**400),
                                          st.floats(), st.text(max_size=2)), max_size=3), GARBAGE)
_numbers = st.one_of(st.floats(-3, 9), st.integers(-3, 9), st.floats(), st.just(10**400), st.booleans(),
                     st.text(max_size=2))


@st.composite
def _masks(draw: Any) -> Any:
    kind = draw(st.sampled_from(["rle", "rle_bent", "counts", "png", "polygons", "garbage"]))
    height, width = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    size = draw(st.one_of(st.just([height, width]), st.just([height, width]), _bad_sizes))
    if kind in ("rle", "rle_bent"):
        bits = draw(st.lists(st.booleans(), min_size=height * width, max_size=height * width))
        counts = rle.encode(np.array(bits, dtype=bool).reshape(height, width))["counts"]
        if kind == "rle_bent":
            cut = draw(st.integers(0, len(counts)))
            counts = counts[:cut] + draw(st.one_of(_coco_text, st.text(max_size=3))) + counts[cut + 1:]
        return {"size": size, "counts": draw(st.one_of(st.just(counts), st.just(counts), _coco_text, GARBAGE))}
    if kind == "counts":
        runs = st.lists(st.one_of(st.integers(0, 16), st.integers(-3, 2**40), st.booleans(), st.floats()),
                        max_size=6)
        return {"size": size, "counts": draw(st.one_of(runs, GARBAGE))}
    if kind == "png":
        names = st.sampled_from(["masks/good.png", "masks/rgb.png", "masks/bad.png", "masks/none.png", "masks",
                                 "", "/nonexistent/m.png", "masks/good.png\x00"])
        return {"png": draw(st.one_of(names, names, GARBAGE))}
    if kind == "polygons":
        polygon = st.lists(_numbers, max_size=9)
        return {"size": size, "polygons": draw(st.one_of(st.lists(polygon, max_size=3), GARBAGE))}
    return draw(GARBAGE)


def _field(valid: st.SearchStrategy[Any], *invalid: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.just(MISSING), valid, valid, GARBAGE, *invalid)


_candidate = st.fixed_dictionaries({
    "mask": _field(_masks()),
    "phrase": _field(st.text(max_size=5)),
    "char_start": _field(st.integers(0, 9), st.integers(-5, -1)),
    "char_end": _field(st.integers(0, 9)),
    "token_start": _field(st.integers(0, 9), st.just(10**400)),
    "score": _field(st.floats(-1, 1), st.floats(), st.just(10**400)),
    "point": _field(st.lists(st.floats(0, 5), min_size=2, max_size=2), st.lists(_numbers, max_size=3)),
})
_fields = st.fixed_dictionaries({
    "benchmark": _field(st.sampled_from(BENCHMARKS), st.text(max_size=4)),
    "id": _field(st.integers(0, 3), st.integers(-(2**70), 2**70), st.floats()),
    "probe": _field(st.sampled_from(PROBES), st.text(max_size=4)),
    "model": _field(st.sampled_from(["a", "b"]), st.just("")),
    "prompt": _field(st.text(max_size=5)),
    "response": _field(st.text(max_size=5)),
    "variant": _field(st.sampled_from(["t0", 1]), st.booleans()),
    "mask": _field(_masks(), st.none()),
    "candidates": _field(st.lists(_candidate, max_size=3), st.none(), st.lists(GARBAGE, max_size=2)),
    "selected": _field(st.integers(0, 3), st.just("none"), st.integers(-3, -1), st.just(10**400)),
})


def _present(fields: dict[str, Any]) -> dict[str, Any]:
    """The fields that were drawn (a field drawn as MISSING is left out, recursively)."""
    out = {}
    for name, value in fields.items():
        if value is MISSING:
            continue
        if isinstance(value, dict):
            value = _present(value)
        elif isinstance(value, list):
            value = [_present(v) if isinstance(v, dict) else v for v in value]
        out[name] = value
    return out


@st.composite
def _lines(draw: Any) -> str:
    kind = draw(st.sampled_from(["object"] * 6 + ["garbage", "truncated", "huge", "deep"]))
    if kind == "garbage":
        return json.dumps(draw(GARBAGE))
    if kind == "huge":
        return '{"benchmark": "pixmmvp", "probe": "segment", "id": ' + "7" * 4400 + "}"
    if kind == "deep":
        depth = draw(st.integers(500, 3000))
        return '{"benchmark": "pixmmvp", "probe": "segment", "id": 1, "mask": ' + "[" * depth + "]" * depth + "}"
    text = json.dumps(_present(draw(_fields)), ensure_ascii=draw(st.booleans()))
    if kind == "truncated":
        return text[:draw(st.integers(0, len(text)))]
    return text


@pytest.fixture(scope="module")
def fuzz_dir():
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        _png(root / "masks" / "good.png", np.eye(3, dtype=np.uint8) * 255)
        _png(root / "masks" / "rgb.png", np.full((2, 2, 3), 5, dtype=np.uint8))
        (root / "masks" / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\nnope")
        yield root


@settings(max_examples=300, deadline=None)
@given(lines=st.lists(_lines(), min_size=1, max_size=5), use_index=st.booleans(), limit=st.integers(1, 10))
def test_fuzz_structured_lines_never_raise(fuzz_dir, lines, use_index, limit):
    path = fuzz_dir / "fuzz.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8", errors="surrogatepass")
    result = read_predictions(path, index={"pixmmvp": {0: (3, 3), 1: (2, 2)}} if use_index else None, limit=limit)
    assert len(result.problems) <= limit
    _check_result(path, result, len(lines) + sum(line.count("\r") for line in lines))


def test_a_json_array_is_named_once_as_not_json_lines(tmp_path):
    lines = [_line(), {**_line(), "id": 2}]
    for name, text in (("pretty.json", json.dumps(lines, indent=2)), ("one.json", json.dumps(lines))):
        path = tmp_path / name
        path.write_text(text + "\n")
        read = read_predictions(path)
        assert read.problem_count == 1 and not read.predictions
        assert "expected one JSON object per line (JSON Lines), but this file is a JSON array" in \
            read.problems[0].message


def test_a_benchmark_name_in_other_case_gets_a_did_you_mean(tmp_path):
    path = _write(tmp_path / "p.jsonl", [{**_line(), "benchmark": "PixMMVP"}, {**_line(), "benchmark": "pix_cvbench"}])
    read = read_predictions(path)
    messages = [p.message for p in read.problems]
    assert read.problem_count == 2
    assert "did you mean 'pixmmvp'?" in messages[0] and "did you mean 'pixcvbench'?" in messages[1]
