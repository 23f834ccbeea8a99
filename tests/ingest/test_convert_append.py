"""``pixbench convert ... --append`` onto files that are not clean JSON lines, on every converter path.

The paths with ``--append``: ``--from reference`` (answers files), ``--from lmms-eval`` and ``--from vlmevalkit``
(one harness path, two readers) and ``--from mevis-pngs`` (MoCentric-Bench PNG folders). Before anything is
written (the predictions file, or a ``--report``), the file appended to must be a regular file of JSON objects,
one a line; a last line without its final newline gets it, so the old and the first new line never run
together.
"""

from __future__ import annotations

import csv
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pixbench.annotation import rle as rle_ops
from pixbench.benchmarks.mocentric import build as mocentric
from pixbench.benchmarks.mocentric.synthetic import write_synthetic_mevis
from pixbench.benchmarks.mocentric.views import probe_view
from pixbench.cli import main
from pixbench.ingest.common import existing_keys
from pixbench.jsonl import lacks_final_newline
from pixbench.prediction_records import Prediction
from pixbench.predictions import read_predictions, write_predictions
from pixbench.references import load_reference

LETTER = "Answer with the option's letter from the given choices directly."


def write_jsonl(path: Path, objects: list[object]) -> Path:
    path.write_text("".join(json.dumps(o) + "\n" for o in objects), encoding="utf-8")
    return path


# ------------------------------------------------------------------------------------ the four inputs


def reference_inputs(tmp_path: Path) -> list[str]:
    """A PixFoundation protocol-2 answers file (letter probe) for PixMMVP rows 1 and 2."""
    answers = write_jsonl(tmp_path / "answers_model_protocol2.jsonl", [
        {"question_id": row_id, "prompt": f"Q{row_id}\nA. x\nB. y\n{LETTER}", "answer": letter,
         "gt_answer": "(a)", "model_id": "LLava", "text_options": ["x", "y"]}
        for row_id, letter in ((1, "A"), (2, "B"))])
    return ["--benchmark", "pixmmvp", "--probe", "letter", "--answers", str(answers)]


def lmms_eval_inputs(tmp_path: Path) -> list[str]:
    """Two lines of lmms-eval's current ``mmvp`` samples writer (``mmvp_accuracy.index`` = MMVP Index - 1)."""
    lines = []
    for doc_id, letter in ((0, "A"), (1, "B")):
        result = {"index": doc_id, "pair_index": doc_id // 2, "pred": letter, "pred_letter": letter, "gt": "A"}
        lines.append({"doc_id": doc_id, "target": "A", "filtered_resps": letter, "doc_hash": "d" * 64,
                      "mmvp_accuracy": result, "mmvp_pair_accuracy": dict(result),
                      "input": f"Is the square red or blue?\nA. Red\nB. Blue\n{LETTER}"})
    return ["--from", "lmms-eval", str(write_jsonl(tmp_path / "samples_mmvp.jsonl", lines))]


def vlmevalkit_inputs(tmp_path: Path) -> list[str]:
    """VLMEvalKit's MMVP output table (index counts from 0)."""
    path = tmp_path / "model_MMVP.tsv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        writer.writerow(["index", "question", "A", "B", "answer", "category", "prediction"])
        writer.writerows([[0, "Is the square red or blue?", "Red", "Blue", "A", "Color", "A"],
                          [1, "Is the square red or blue?", "Red", "Blue", "B", "Color", "B"]])
    return ["--from", "vlmevalkit", str(path)]


@pytest.fixture(scope="module")
def mocentric_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("append-mocentric")
    raw = write_synthetic_mevis(base / "mevis")
    out = base / "MoCentric-Bench"
    mocentric.build(mevis_root=raw.root, keyframes=raw.keyframes, reverse_expressions=raw.reverse_expressions,
                    out_dir=out, with_frames=False)
    return out


def mevis_inputs(tmp_path: Path, data: Path) -> list[str]:
    """The published PNG layout of a perfect model on the ``original`` probe (two expressions)."""
    reference = load_reference("mocentric", str(data))
    root = tmp_path / "pred_root"
    for row in list(reference.rows_for("original").values())[:2]:
        view = probe_view(probe="original", layout=None, frame_names=row.frame_names, keyframe=row.keyframe,
                          height=row.height, width=row.width)
        folder = root / row.video_id / str(row.exp_id)
        folder.mkdir(parents=True)
        for name, mask in zip(view.names, view.ground_truth(row.masks), strict=True):
            Image.fromarray(rle_ops.decode(mask).astype(np.uint8) * 255).save(folder / f"{name}.png")
    return ["--from", "mevis-pngs", str(root), "--data", str(data), "--probe", "original"]


PATHS = ["reference", "lmms-eval", "vlmevalkit", "mevis-pngs"]


@dataclass(frozen=True)
class Converter:
    """One converter path of ``pixbench convert``: ``converter(out, model, *extra)`` runs it into ``out``."""

    path: str
    inputs: list[str]

    def __call__(self, out: Path, model: str, *extra: str) -> int:
        return main(["convert", *self.inputs, "--model", model, "--out", str(out), *extra])


@pytest.fixture(params=PATHS)
def converter(request: pytest.FixtureRequest, tmp_path: Path) -> Converter:
    source = tmp_path / "inputs"
    source.mkdir()
    if request.param == "reference":
        inputs = reference_inputs(source)
    elif request.param == "lmms-eval":
        inputs = lmms_eval_inputs(source)
    elif request.param == "vlmevalkit":
        inputs = vlmevalkit_inputs(source)
    else:
        inputs = mevis_inputs(source, request.getfixturevalue("mocentric_data"))
    return Converter(request.param, inputs)


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


# ------------------------------------------------------------------------------------ every path


def test_append_adds_a_missing_final_newline(converter, tmp_path, capsys):
    out = tmp_path / "preds.jsonl"
    assert converter(out, "first") == 0
    first = out.read_bytes()
    assert first.endswith(b"\n") and first.count(b"\n") == 2
    out.write_bytes(first[:-1])  # an editor, or `printf`, left the last line open
    assert lacks_final_newline(out)
    capsys.readouterr()
    assert converter(out, "second", "--append") == 0
    err = capsys.readouterr().err
    assert "appended to" in err and "after adding the missing final newline" in err
    text = out.read_bytes()
    assert text.startswith(first) and text.endswith(b"\n") and text.count(b"\n") == 4
    assert [line["model"] for line in _lines(out)] == ["first", "first", "second", "second"]
    read = read_predictions(out)
    assert read.problems == [] and sorted(read.models) == ["first", "second"]
    # with the newline in place, nothing is added
    assert converter(out, "third", "--append") == 0
    assert "missing final newline" not in capsys.readouterr().err
    assert out.read_bytes().startswith(text) and len(_lines(out)) == 6


@pytest.mark.parametrize(("content", "found"), [
    (None, "line 1: not UTF-8 text (byte 1)"),  # a real PNG
    (b'{"model": "a", "id": 1}\nnot json at all\n{"model": "b", "id": 2}\n', "line 2: invalid JSON"),
    (b'{"model": "a", "id": 1}\n\n[1, 2]\n', "line 3: expected a JSON object, but got an array '[1, 2]'"),
    (b'"just a string"\n', "line 1: expected a JSON object, but got a string"),
    (b'{"model": "a", "id": 1}\n{"model": "a", "id"', "line 2: invalid JSON"),  # a writer killed mid-line
    (b'{"model": "a", "id": 1}\n\xff\xfe{"id": 2}\n', "line 2: not UTF-8 text"),
])
def test_append_refuses_a_file_that_is_not_json_lines(converter, tmp_path, capsys, content, found):
    out = tmp_path / "preds.jsonl"
    if content is None:
        Image.fromarray(np.full((8, 8, 3), 200, np.uint8)).save(out, format="PNG")
    else:
        out.write_bytes(content)
    before = out.read_bytes()
    report = tmp_path / "report.json"
    extra = ["--report", str(report)] if converter.path in ("lmms-eval", "vlmevalkit") else []  # never written
    capsys.readouterr()
    assert converter(out, "m", "--append", *extra) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and len(err.splitlines()) == 1
    assert f"{out}: {found}" in err and "--append adds to a file of JSON lines only" in err
    assert out.read_bytes() == before
    assert not report.exists()


def test_append_refuses_what_is_not_a_regular_file(converter, tmp_path, capsys):
    folder = tmp_path / "folder.jsonl"
    folder.mkdir()
    assert converter(folder, "m", "--append") == 1
    assert "it is a folder" in capsys.readouterr().err
    fifo = tmp_path / "fifo.jsonl"
    os.mkfifo(fifo)  # opening it would wait for a writer forever: refused from its type alone
    assert converter(fifo, "m", "--append") == 1
    assert "not a regular file" in capsys.readouterr().err
    assert list(folder.iterdir()) == []


# ------------------------------------------------------------------------------------ the library parts


def test_lacks_final_newline(tmp_path):
    path = tmp_path / "x.jsonl"
    assert not lacks_final_newline(path)  # missing
    for content, expected in ((b"", False), (b"{}\n", False), (b"{}", True), (b"{}\r", True), (b"{}\r\n", False),
                              (b"{}\n  ", True)):
        path.write_bytes(content)
        assert lacks_final_newline(path) is expected, content
    assert not lacks_final_newline(tmp_path)  # a folder
    os.mkfifo(tmp_path / "fifo")
    assert not lacks_final_newline(tmp_path / "fifo")  # never opened


def test_write_predictions_appends_on_a_line_of_its_own(tmp_path):
    path = tmp_path / "p.jsonl"
    path.write_bytes(b'{"benchmark": "pixmmvp", "id": 1, "probe": "letter", "model": "a", "response": "A"}')
    lines = [Prediction(benchmark="pixmmvp", id=2, probe="letter", model="a", response="B")]
    assert write_predictions(path, lines, append=True) == 1
    assert [line["id"] for line in _lines(path)] == [1, 2] and path.read_bytes().endswith(b"\n")
    assert write_predictions(path, [], append=True) == 0
    assert path.read_bytes().count(b"\n") == 2  # nothing to append: the file is not touched


def test_existing_keys_names_the_first_bad_line(tmp_path):
    path = tmp_path / "p.jsonl"
    path.write_bytes(b'{"benchmark": "pixmmvp", "id": 1, "probe": "letter", "model": "a"}\n\n{"id": 2}\n5\n[]\n')
    with pytest.raises(ValueError, match=r"p\.jsonl: line 4: expected a JSON object, but got a number '5'"):
        existing_keys(path)
    path.write_bytes(b'{"benchmark": "pixmmvp", "id": 1, "probe": "letter", "model": "a"}\n{"id": 2}')
    assert existing_keys(path) == {("a", "pixmmvp", 1, "letter", None, None), ("p", "None", 2, "None", None, None)}
