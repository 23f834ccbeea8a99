"""Every report's first line (``pixbench/coverage.py``): how many rows were scored of how many, under which
protocol, for every benchmark and format (text, Markdown and LaTeX first line, JSON ``summary``, CSV columns)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest

from pixbench.benchmarks.mevis import build as mevis
from pixbench.benchmarks.mevis.synthetic import write_synthetic_release
from pixbench.cli import main
from pixbench.predictions import Prediction, write_predictions
from pixbench.references import load_reference
from pixbench.score_report import render as render_report
from pixbench.score_report import report_document

LETTERS = {1: "A", 2: "B", 3: "a", 4: "A", 5: "Yes", 6: "The answer is B.", 7: "C"}  # row 8 without a line
IMAGE_LINE = "pixmmvp: 8 of 8 questions scored, official protocol (without a line, scored as wrong: letter 1)"


def _write(path: Path, lines: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return path


def _letters(benchmark: str = "pixmmvp", ids: range = range(1, 8), model: str | None = None) -> list[dict[str, Any]]:
    return [{"benchmark": benchmark, "id": i, "probe": "letter", "response": LETTERS.get(i, "A"),
             **({"model": model} if model else {})} for i in ids]


def _out(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    assert main(argv) == 0
    return capsys.readouterr().out


def test_first_line_in_every_format(tiny_built: dict[str, Path], tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path / "m.jsonl", _letters())
    argv = ["score", str(path), "--data", f"pixmmvp={tiny_built['pixmmvp']}", "--no-judge", "--format"]
    for fmt, first in (("table", IMAGE_LINE), ("markdown", IMAGE_LINE), ("latex", f"% {IMAGE_LINE}")):
        lines = _out([*argv, fmt], capsys).splitlines()
        assert lines[0] == first, fmt
        assert lines[1] == "" or fmt == "latex"
    document = json.loads(_out([*argv, "json"], capsys))
    assert next(iter(document)) == "summary" and document["summary"] == IMAGE_LINE
    assert document["coverage"] == [{"model": "m", "benchmark": "pixmmvp", "groups": [], "scored": 8, "total": 8,
                                     "unit": "questions", "protocol": "official", "frames": None, "fps": None,
                                     "dropped": 0, "missing": 1, "missing_by_probe": {"letter": 1}}]
    (row,) = csv.DictReader(io.StringIO(_out([*argv, "csv"], capsys)))
    assert (row["scored"], row["of"], row["protocol"], row["frames"]) == ("8", "8", "official", "")


def test_models_that_agree_share_a_part_and_others_are_named(tiny_built: dict[str, Path], tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    full = _write(tmp_path / "full.jsonl", _letters(ids=range(1, 9), model="full"))
    same = _write(tmp_path / "same.jsonl", _letters(ids=range(1, 9), model="same"))
    data = ["--data", f"pixmmvp={tiny_built['pixmmvp']}", "--data", f"pixcvbench={tiny_built['pixcvbench']}",
            "--no-judge"]
    first = _out(["score", str(full), str(same), *data], capsys).splitlines()[0]
    assert first == "pixmmvp: 8 of 8 questions scored, official protocol"
    short = _write(tmp_path / "short.jsonl", _letters(ids=range(1, 6), model="short")
                   + _letters("pixcvbench", range(1, 3), model="short"))
    first = _out(["score", str(full), str(short), *data], capsys).splitlines()[0]
    assert first == ("pixmmvp: 8 of 8 questions scored, official protocol [full]; pixmmvp: 8 of 8 questions scored, "
                     "official protocol (without a line, scored as wrong: letter 3) [short]; pixcvbench: 6 of 6 "
                     "questions scored, official protocol (without a line, scored as wrong: letter 4)")


def test_an_empty_report_says_nothing_was_scored() -> None:
    document = report_document([], settings={"protocol": "official", "select": "given", "letter_parser": "default"},
                               datasets={}, judge={"enabled": False, "reason": "off"})
    assert render_report(document, "table").splitlines()[0] == "no results scored"
    assert json.loads(render_report(document, "json"))["summary"] == "no results scored"


@pytest.fixture(scope="module")
def mevis_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, int]:
    """A synthetic MeViS build and a v1 file answering all but every third expression."""
    root = tmp_path_factory.mktemp("mevis-first-line")
    raw = write_synthetic_release(root / "raw" / "mevis")
    mevis.build(mevis_root=raw.root, out_dir=root / "MeViS")
    rows = load_reference("mevis", str(root / "MeViS")).rows_for("v1")
    lines = [Prediction(benchmark="mevis", id=row_id, probe="v1", model="m", frames=tuple(row.masks))
             for k, (row_id, row) in enumerate(rows.items()) if k % 3 != 2]
    write_predictions(root / "v1.jsonl", lines)
    return root / "MeViS", root / "v1.jsonl", len(rows)


def test_mevis_first_line_names_protocol_rows_and_frames(mevis_files: tuple[Path, Path, int],
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    built, path, total = mevis_files
    answered = sum(1 for k in range(total) if k % 3 != 2)
    dropped = total - answered
    argv = ["score", str(path), "--data", f"mevis={built}"]
    assert _out(argv, capsys).splitlines()[0] == (
        f"mevis v1: {total} of {total} expressions scored, official protocol, native frames ({dropped} without a "
        "line, scored as wrong)")
    assert _out([*argv, "--protocol", "lmms-eval"], capsys).splitlines()[0] == (
        f"mevis v1: {answered} of {total} expressions scored, lmms-eval protocol, frames re-sampled at 6 fps "
        f"({dropped} without a line dropped from the mean)")
    document = json.loads(_out([*argv, "--protocol", "lmms-eval", "--fps", "3", "--format", "json"], capsys))
    assert document["summary"].startswith(f"mevis v1: {answered} of {total} expressions scored, lmms-eval protocol, "
                                          "frames re-sampled at 3 fps")
    (covered,) = document["coverage"]
    assert (covered["groups"], covered["scored"], covered["total"], covered["fps"], covered["dropped"]) == (
        ["v1"], answered, total, 3.0, dropped)
    (row,) = csv.DictReader(io.StringIO(_out([*argv, "--protocol", "lmms-eval", "--format", "csv"], capsys)))
    assert (row["scored"], row["of"], row["protocol"], row["frames"]) == (
        str(answered), str(total), "lmms-eval", "frames re-sampled at 6 fps")
