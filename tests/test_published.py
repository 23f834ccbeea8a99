"""The papers' numbers beside yours (``pixbench/published.py``, ``pixbench score --published`` / ``--as``): the shipped
tables equal their source, every row's protocol is read and checked, ``--as`` names match as documented, and a
result beside a published row gives the differences and a warning for each protocol difference, in every format."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest

from pixbench.benchmarks import REGISTRY
from pixbench.benchmarks.base import read_published
from pixbench.benchmarks.mevis import build as mevis
from pixbench.benchmarks.mevis.synthetic import write_synthetic_release
from pixbench.cli import main
from pixbench.judge import FakeJudge
from pixbench.predictions import Prediction, write_predictions
from pixbench.published import (
    RowProtocol,
    UnknownMethodError,
    Yours,
    compare,
    find_rows,
    method_key,
    nearest,
    published_entries,
    published_section,
)
from pixbench.references import load_reference
from pixbench.results import ExpressionCounts, ScoreResult, ScoreSettings
from pixbench.score_files import JudgeChoice, evaluate
from pixbench.view.tables import leaderboard

IMAGE_BENCHMARKS = ("pixmmvp", "pixcvbench")
TABLE_METRICS = ("A_dagger", "A", "M_dagger", "M", "S")


def _write(path: Path, lines: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return path


def _letters_and_masks(mmvp_rows: dict[int, Any]) -> list[dict[str, Any]]:
    """The letters of tests/test_score.py (pairs 1 and 3 of 4 right: A = 50.0; row 8 without a line); the ground
    truth as mask on rows 1-3, none on 4-8 (M over the 6 rows with an expression: rows 1-3, and 6 whose truth is
    empty, score 1; rows 4 and 5 score 0)."""
    answers = {1: "A", 2: "B", 3: "a", 4: "A", 5: "Yes", 6: "The answer is B.", 7: "C"}
    letters = [{"benchmark": "pixmmvp", "id": i, "probe": "letter", "response": r} for i, r in answers.items()]
    masks = [{"benchmark": "pixmmvp", "id": i, "probe": "segment", "mask": mmvp_rows[i].mask if i <= 3 else None}
             for i in range(1, 9)]
    return letters + masks


@pytest.fixture()
def image_run(tiny_built: dict[str, Path], tmp_path: Path) -> tuple[Path, dict[str, str]]:
    reference = load_reference("pixmmvp", str(tiny_built["pixmmvp"]))
    path = _write(tmp_path / "llava-1.5-7b.jsonl", _letters_and_masks(reference.rows))
    return path, {"pixmmvp": str(tiny_built["pixmmvp"])}


# ------------------------------------------------------------------------------ the shipped tables


def test_shipped_table_one_equals_the_source_rows(shared_data: Path) -> None:
    """Both image tables are the source's Table 1, cell for cell (skipped without ../shared/data)."""
    source = shared_data / "published" / "pixfoundation-table1.tsv"
    if not source.is_file():
        pytest.skip(f"{source} not found (set PIXBENCH_SHARED_DATA)")
    with source.open(encoding="utf-8", newline="") as handle:
        paper = list(csv.DictReader(handle, delimiter="\t"))
    for name in IMAGE_BENCHMARKS:
        rows = REGISTRY[name].published_rows()
        assert [row.method for row in rows] == [line["method"] for line in paper]
        for row, line in zip(rows, paper):
            assert row.section == line["section"]
            assert row.notes["pixel_grounding_training"] == line["pixel_grounding_training"]
            for key in TABLE_METRICS:
                printed = line[f"{name}_{key}"]
                assert row.metrics[key] == (None if printed == "-" else float(printed)), (name, row.method, key)


def _caption_base_llm(method: str) -> str:
    """The caption's rule (the source README): ``**`` InternLM2 (7B), ``*`` Llama-3-Ins (8B), the others Vicuna."""
    if "**" in method:
        return "InternLM2 (7B)"
    if "*" in method:
        return "Llama-3-Ins (8B)"
    size = re.search(r"\((\d+B)\)", method)
    assert size is not None, method
    return f"Vicuna ({size.group(1)})"


@pytest.mark.parametrize("name", IMAGE_BENCHMARKS)
def test_table_one_protocols_follow_the_caption(name: str) -> None:
    entries = published_entries(name)
    assert len(entries) == 17
    for entry in entries:
        row = entry.protocol
        assert row.base_llm == _caption_base_llm(entry.method), entry.method
        assert row.judge == "gpt-4o" and row.letter_parser == "reference"
        assert entry.source == "PixFoundation (arXiv 2502.04192, ICML 2025), Table 1"
        expected = ("oracle" if "[†]" in entry.method else "automatic" if entry.method.startswith("PixFoundation")
                    else "score" if "(a+s)" in entry.method else "given" if row.pixel_grounding_training == "yes"
                    else "none")
        assert row.selection == expected, entry.method
        assert (row.section == "oracle-upper-bound") == (expected == "oracle")
        if expected == "none":  # a model without masks prints no M, M† or S
            assert [entry.metrics[k] for k in ("M_dagger", "M", "S")] == [None, None, None]


def test_mevis_rows_carry_their_protocol_and_source() -> None:
    valid_u, valid = published_entries("mevis")
    assert valid_u.method == valid.method == "LMPM (Swin-Tiny & RoBERTa)"
    assert dict(valid_u.metrics) == {"JF": 40.23, "J": 36.51, "F": 43.90}
    assert dict(valid.metrics) == {"JF": 37.21, "J": 34.25, "F": 40.17}
    assert (valid_u.protocol.probe, valid_u.protocol.split, valid_u.protocol.protocol, valid_u.protocol.fps,
            valid_u.protocol.failures, valid_u.protocol.scored) == ("v1", "valid_u", "official", "native", "scored 0",
                                                                    (793, 793))
    assert (valid.protocol.split, valid.protocol.protocol, valid.protocol.fps) == ("valid", None, None)
    assert "henghuiding/MeViS/blob/7c0620b9dc0ab7802747957f221674f175c8a47b/README.md" in valid.source
    assert published_entries("mocentric") == []


def test_read_published_names_file_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "published.tsv"
    path.write_text("section\tmethod\tJ\tsource\nmain\tA\t1.5\t\nmain\tB\t-\tpaper B, Table 2\n", encoding="utf-8")
    first, second = read_published(path, ["J", "F"], "default paper")
    assert (first.metrics, first.source, second.metrics, second.source) == (
        {"J": 1.5}, "default paper", {"J": None}, "paper B, Table 2")  # F: no column, not in the row
    for text, message in (("section\tmethod\tJ\nmain\tA\tx\n", "published.tsv:2: column J: expected a number or "
                                                               "'-', but got 'x'"),
                          ("section\tmethod\tJ\nmain\tA\n", "published.tsv:2: 2 cells for 3 columns"),
                          ("section\tmethod\tJ\tJ\nmain\tA\t1\t2\n", "published.tsv:1: column(s) ['J'] named twice"),
                          ("section\tmethod\nmain\t \n", "published.tsv:2: column method: expected the method's name")):
        path.write_text(text, encoding="utf-8")
        with pytest.raises(ValueError, match=re.escape(message)):
            read_published(path, ["J"])


@pytest.mark.parametrize(("notes", "message"), [
    ({"selection": "best"}, "m: column selection: expected one of ['none', 'given', 'score', 'automatic', 'oracle'], "
                            "but got 'best'"),
    ({"fps": "fast"}, "m: column fps: expected 'native' or frames per second above 0, but got 'fast'"),
    ({"fps": "0"}, "m: column fps: expected 'native' or frames per second above 0, but got '0'"),
    ({"scored": "794 of 793"}, "m: column scored: expected 'N of M' (N <= M), but got '794 of 793'"),
    ({"failures": "ignored"}, "m: column failures: expected one of ['scored 0', 'dropped'], but got 'ignored'"),
])
def test_row_protocol_refuses_what_it_does_not_take(notes: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        RowProtocol.from_notes("main", notes, "m")


def test_row_protocol_reads_rates_counts_and_unstated_cells() -> None:
    row = RowProtocol.from_notes("s", {"fps": "6", "scored": "781 of 793", "split": "-", "evaluator": " x ",
                                       "extra": "kept"}, "m")
    assert (row.fps, row.frames, row.scored, row.split, row.evaluator) == (6.0, "frames re-sampled at 6 fps",
                                                                           (781, 793), None, "x")
    assert row.other == {"extra": "kept"}
    assert row.described(["section", "fps", "scored"]) == "section: s; frames re-sampled at 6 fps; scored: 781 of 793"


# ------------------------------------------------------------------------------ naming a row


def test_names_match_ignoring_case_spacing_and_reference_numbers() -> None:
    entries = published_entries("pixmmvp")
    (row,) = find_rows("llava 1.5  (7b) + (A+S)", entries, "pixmmvp")
    assert row.method == "Llava 1.5 (7B) + (a+s) [2]"
    (oracle,) = find_rows("PixFoundation [†] (7B) (Ours)", entries, "pixmmvp")
    (automatic,) = find_rows("PixFoundation (7B) (Ours)", entries, "pixmmvp")  # [†] is not a reference number
    assert (oracle.protocol.selection, automatic.protocol.selection) == ("oracle", "automatic")
    assert method_key("Cambrian (8B)* [14]") == "cambrian (8b)*"
    with pytest.raises(UnknownMethodError) as caught:
        find_rows("Llava 1.5 (7B) + (a+s", entries, "pixmmvp")
    assert str(caught.value).startswith("--as 'Llava 1.5 (7B) + (a+s': no published row of pixmmvp is named so")
    assert "nearest: 'Llava 1.5 (7B) + (a+s) [2]'" in str(caught.value)


def test_nearest_guesses_by_model_name_only_when_close() -> None:
    entries = published_entries("pixmmvp")
    guess = nearest("llava-1.5-13b", entries)
    assert guess is not None and guess.method == "Llava 1.5 (13B) [10]" and guess.similarity == 1.0
    assert nearest("lisa_7b", entries).method == "LISA (7B) [7]"  # type: ignore[union-attr]
    assert nearest("qwen2.5-vl-7b-instruct", entries) is None
    assert nearest("my-model", entries) is None


# ------------------------------------------------------------------------------ comparing


def _image_result(path: Path, data: dict[str, str], judge: Any = None, **settings: Any) -> tuple[ScoreResult, Yours]:
    chosen = ScoreSettings(**settings)
    run = evaluate([path], data=data, settings=chosen, judge=judge or JudgeChoice(None, "skipped with --no-judge"))
    (result,) = run.results
    judged = {"enabled": False, "reason": "skipped with --no-judge"} if judge is None else {
        "enabled": True, "model": judge.judge.model}
    return result, Yours.from_report(dataclasses.asdict(chosen), judged, {})


def test_differences_and_warnings_against_the_a_s_row(image_run: tuple[Path, dict[str, str]]) -> None:
    result, yours = _image_result(*image_run)
    (row,) = find_rows("Llava 1.5 (7B) + (a+s)", published_entries("pixmmvp"), "pixmmvp")
    comparison = compare(result, row, yours)
    by_metric = {d.metric: (d.yours, d.published, d.difference) for d in comparison.differences}
    assert list(by_metric) == list(TABLE_METRICS)  # the row's table: its five metrics
    assert by_metric["A"] == (50.0, 28.0, 22.0)
    assert by_metric["M"][0] == pytest.approx(400 / 6) and by_metric["M"][2] == pytest.approx(400 / 6 - 11.2)
    assert by_metric["A_dagger"] == (None, 27.3, None)  # not judged: no difference
    assert comparison.warnings == (
        "selection: the row used attend-and-segment (a+s) (--select score); yours --select given",
        "judge: the row's answers were judged by gpt-4o; yours were not judged (skipped with --no-judge), so judged "
        "accuracy is not compared",
        "letters: the row's option letters were read by the reference parser; yours by --letter-parser default")


def test_the_row_s_own_settings_give_no_warning(image_run: tuple[Path, dict[str, str]]) -> None:
    """The a+s row's protocol: --select score, the reference parser and gpt-4o (a dated snapshot names it too)."""
    judge = JudgeChoice(FakeJudge(lambda messages: "Yes", model="gpt-4o-2024-08-06"))
    result, yours = _image_result(*image_run, judge=judge, select="score", letter_parser="reference")
    (row,) = find_rows("Llava 1.5 (7B) + (a+s)", published_entries("pixmmvp"), "pixmmvp")
    assert compare(result, row, yours).warnings == ()
    other = Yours(yours.settings, "qwen2.5-7b-instruct")
    assert compare(result, row, other).warnings == (
        "judge: the row's answers were judged by gpt-4o; yours by qwen2.5-7b-instruct (another judge gives other "
        "verdicts)",)


def test_a_benchmark_without_rows_says_so() -> None:
    result = ScoreResult(model="m", benchmark="mocentric", select=None, metrics={"JF": 50.0},
                         counts=ExpressionCounts(expressions=3, missing=0), probe="original")
    section = published_section([result], Yours({}), show=True)
    assert [(rows.benchmark, rows.entries) for rows in section.shown] == [("mocentric", ())]
    assert section.to_json()["without_rows"] == ["mocentric"]
    with pytest.raises(UnknownMethodError, match=r"no published row of mocentric is named so"):
        published_section([result], Yours({}), show=False, names=["LMPM (Swin-Tiny & RoBERTa)"])


# ------------------------------------------------------------------------------ the command line


def _score(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_published_rows_beside_yours_in_a_table(image_run: tuple[Path, dict[str, str]],
                                                capsys: pytest.CaptureFixture[str]) -> None:
    path, data = image_run
    code, out, _ = _score(["score", str(path), "--data", f"pixmmvp={data['pixmmvp']}", "--no-judge", "--published"],
                          capsys)
    assert code == 0
    lines = out.splitlines()
    start = lines.index("PixMMVP: published rows (not measured here)")
    header = lines[start + 1].split()
    assert header == ["model", "benchmark", "select", "A†", "A", "M†", "M", "S", "protocol", "source"]
    row = next(line for line in lines if line.startswith("Llava 1.5 (7B) + (a+s) [2] (published)"))
    assert re.search(r"pixmmvp\s+score\s+27\.3\s+28\.0\s+11\.1\s+11\.2\s+16\.0\s+section: main; base LLM: Vicuna "
                     r"\(7B\); pixel-grounding trained: no\s+\[1\]$", row), row
    assert sum(" (published) " in line for line in lines) == 17
    assert "all rows: judge: gpt-4o; letter parser: reference" in lines
    assert "[1] PixFoundation (arXiv 2502.04192, ICML 2025), Table 1" in lines
    assert ("guess (by name only, not checked): model 'llava-1.5-7b' is nearest to the published 'Llava 1.5 (7B) "
            "[10]' (pixmmvp; similarity 1.00); --as llava-1.5-7b=\"Llava 1.5 (7B) [10]\" compares them") in lines


def test_as_in_every_format(image_run: tuple[Path, dict[str, str]], capsys: pytest.CaptureFixture[str]) -> None:
    path, data = image_run
    argv = ["score", str(path), "--data", f"pixmmvp={data['pixmmvp']}", "--no-judge", "--as",
            "Llava 1.5 (7B) + (a+s)"]
    code, out, _ = _score([*argv, "--format", "json"], capsys)
    assert code == 0
    section = json.loads(out)["published"]
    assert section["benchmarks"] == [] and section["guesses"] == []  # --as alone: no table, the model is named
    (compared,) = section["as"]
    assert (compared["model"], compared["method"], compared["section"]) == ("llava-1.5-7b",
                                                                           "Llava 1.5 (7B) + (a+s) [2]", "main")
    assert compared["metrics"]["A"] == {"yours": 50.0, "published": 28.0, "difference": 22.0}
    assert compared["metrics"]["M"]["difference"] == pytest.approx(400 / 6 - 11.2, abs=1e-6)
    assert compared["warnings"][0].startswith("selection: the row used attend-and-segment")

    code, out, _ = _score([*argv, "--format", "table"], capsys)
    assert code == 0
    assert ("llava-1.5-7b (pixmmvp; 8 of 8 questions scored) as 'Llava 1.5 (7B) + (a+s) [2]' (published, section "
            "main): yours - published, in points") in out
    assert re.search(r"^A\s+50\.0\s+28\.0\s+\+22\.0$", out, re.M) and re.search(r"^A†\s+-\s+27\.3\s+-$", out, re.M)
    assert "warning: selection: the row used attend-and-segment (a+s) (--select score); yours --select given" in out

    code, out, _ = _score([*argv, "--format", "markdown"], capsys)
    assert code == 0
    assert "| A | 50.0 | 28.0 | +22.0 |" in out and "- warning: selection: the row used" in out

    code, out, _ = _score([*argv, "--format", "csv", "--published"], capsys)
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    published = [row for row in rows if row["variant"] == "(published)"]
    assert len(published) == 17 and published[8]["model"] == "Llava 1.5 (7B) + (a+s) [2]"
    assert (published[8]["A"], published[8]["select"], published[8]["source"]) == (
        "28.0", "score", "PixFoundation (arXiv 2502.04192, ICML 2025), Table 1")
    (difference,) = [row for row in rows if row["variant"] == "(yours - published: Llava 1.5 (7B) + (a+s) [2])"]
    assert difference["A"] == "22.0" and difference["warnings"].startswith("selection: the row used")


def test_unknown_as_fails_before_scoring(image_run: tuple[Path, dict[str, str]],
                                        capsys: pytest.CaptureFixture[str]) -> None:
    path, data = image_run
    code, out, err = _score(["score", str(path), "--data", f"pixmmvp={data['pixmmvp']}", "--no-judge", "--as",
                             "Llava 1.5 (7B) + (a+s"], capsys)
    assert code == 1 and out == ""
    assert err.startswith("error: --as 'Llava 1.5 (7B) + (a+s': no published row of any benchmark is named so")
    assert "nearest: 'Llava 1.5 (7B) + (a+s) [2]'" in err and "missing predictions" not in err  # nothing scored


def test_model_equals_method_picks_one_model(image_run: tuple[Path, dict[str, str]], tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    path, data = image_run
    other = _write(tmp_path / "lisa.jsonl", [{**json.loads(line), "model": "lisa-7b"}
                                             for line in path.read_text(encoding="utf-8").splitlines()])
    argv = ["score", str(path), str(other), "--data", f"pixmmvp={data['pixmmvp']}", "--no-judge", "--format", "json"]
    code, out, _ = _score([*argv, "--as", "lisa-7b=LISA (7B)", "--published"], capsys)
    assert code == 0
    section = json.loads(out)["published"]
    assert [(c["model"], c["method"]) for c in section["as"]] == [("lisa-7b", "LISA (7B) [7]")]
    assert section["as"][0]["metrics"]["A"] == {"yours": 50.0, "published": None, "difference": None}  # "-" printed
    assert [(g["model"], g["method"]) for g in section["guesses"]] == [("llava-1.5-7b", "Llava 1.5 (7B) [10]")]
    code, _, err = _score([*argv, "--as", "gpt-4o=LISA (7B)"], capsys)
    assert code == 1 and "'gpt-4o' is not a model of the predictions (models: llava-1.5-7b, lisa-7b)" in err


# ------------------------------------------------------------------------------ MeViS


@pytest.fixture(scope="module")
def mevis_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """A synthetic MeViS build (v1 and v2, split valid_u) and two files: every third v1 expression without a line
    (the others the truth on even frames), and the same for v2."""
    root = tmp_path_factory.mktemp("mevis-published")
    raw = write_synthetic_release(root / "raw" / "mevis")
    mevis.build(mevis_root=raw.root, out_dir=root / "MeViS")
    reference = load_reference("mevis", str(root / "MeViS"))
    files = []
    for version in ("v1", "v2"):
        lines = [Prediction(benchmark="mevis", id=row_id, probe=version, model=f"lmpm-{version}",
                            frames=tuple(mask if t % 2 == 0 else None for t, mask in enumerate(row.masks)))
                 for k, (row_id, row) in enumerate(reference.rows_for(version).items()) if k % 3 != 2]
        write_predictions(root / f"{version}.jsonl", lines)
        files.append(root / f"{version}.jsonl")
    return root / "MeViS", files[0], files[1]


def test_mevis_rows_warn_of_protocol_frames_scored_split_and_version(mevis_run: tuple[Path, Path, Path],
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    built, v1, v2 = mevis_run
    argv = ["score", str(v1), "--data", f"mevis={built}", "--protocol", "lmms-eval", "--format", "json", "--as",
            "lmpm (swin-tiny & roberta)", "--published"]
    code, out, _ = _score(argv, capsys)
    assert code == 0
    document = json.loads(out)
    (result,) = document["results"]
    stamp = result["analysis"]["protocol"]
    valid_u, valid = document["published"]["as"]
    assert (valid_u["section"], valid["section"]) == ("Val^u", "Val")
    assert valid_u["metrics"]["JF"] == {"yours": result["metrics"]["JF"], "published": 40.23,
                                        "difference": pytest.approx(result["metrics"]["JF"] - 40.23, abs=1e-5)}
    assert valid_u["warnings"] == [
        "protocol: the row is scored under official; yours under lmms-eval",
        "frames: the row's J and F are on native frames; yours on frames re-sampled at 6 fps",
        f"scored: the row's means are over 793 of 793 expressions; yours over {stamp['scored']} of "
        f"{stamp['expressions']}"]
    assert valid["warnings"] == ["split: the row is on valid; your build is of valid_u"]
    assert document["published"]["benchmarks"][0]["sources"] == [valid["source"]]

    code, out, _ = _score(["score", str(v2), "--data", f"mevis={built}", "--format", "json", "--as",
                           "LMPM (Swin-Tiny & RoBERTa)"], capsys)
    assert code == 0
    valid_u, _ = json.loads(out)["published"]["as"]
    assert valid_u["warnings"][0] == "version: the row measures v1; yours v2"


def test_site_leaderboard_cites_the_rows_sources(mevis_run: tuple[Path, Path, Path]) -> None:
    built, v1, _ = mevis_run
    run = evaluate([v1], data={"mevis": str(built)}, settings=ScoreSettings(), judge=JudgeChoice(None, "off"))
    board = leaderboard(REGISTRY["mevis"], run.results, None)
    assert board is not None and board.caption.endswith(
        "published rows from MeViS README, 'Models' table (LMPM, Swin-Tiny & RoBERTa), https://github.com/henghuiding/"
        "MeViS/blob/7c0620b9dc0ab7802747957f221674f175c8a47b/README.md")
    assert [row[1].text for row, published in zip(board.rows, board.published) if published] == [
        "LMPM (Swin-Tiny & RoBERTa) [Val^u]", "LMPM (Swin-Tiny & RoBERTa) [Val]"]
