"""``pixbench convert --from lmms-eval|vlmevalkit``: small files in the harnesses' real formats, mapped by id.

lmms-eval lines are shaped like its ``--log_samples`` output: legacy (``doc_id``, ``doc`` without images,
``target``, ``arguments``, ``resps``, ``filtered_resps``, hashes, the task's metric dicts) and the 0.4+ writer's
(no ``doc`` or ``arguments``; ``input``, the metric dicts carry the id); VLMEvalKit tables have its
dataset TSV columns plus ``prediction``. Lines are written out of order on purpose: ids, not positions, count.
The tiny build (``tiny_built``) has PixMMVP ids 1..8 and PixCV-Bench ids 0, 1, 2, 633, 634, 635.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from pixbench.cli import main
from pixbench.cli.convert import configure_parser, run
from pixbench.ingest import BridgeError, convert_bridge, read_lmms_eval, read_vlmevalkit
from pixbench.predictions import read_predictions
from pixbench.references import load_reference

LETTER = "Answer with the option's letter from the given choices directly."
MMVP_Q = {1: ("Is the square red or blue?", "(a) Red (b) Blue"), 2: ("Is the square red or blue?", "(a) Red (b) Blue"),
          3: ("Is the disc on the left or the right?", "(a) Left (b) Right"),
          4: ("Is the disc on the left or the right?", "(a) Left (b) Right"),
          5: ("Is there a triangle in the image?", "(a) Yes (b) No"),
          6: ("Is there a triangle in the image?", "(a) Yes (b) No"),
          7: ("Is the scene bright or dark?", "(a) Bright (b) Dark"),
          8: ("Is the scene bright or dark?", "(a) Bright (b) Dark")}
CV_Q = {0: "How many lamps are in the image?", 1: "How many curtains are in the image?",
        2: "Considering the relative positions of the table and the lamp in the image provided, where is the "
           "table located with respect to the lamp?",
        633: "How many trains are in the image?"}


def cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="pixbench convert")
    configure_parser(parser)
    return run(parser.parse_args(argv))


def mmvp_sample(doc_id: int, index: Any, response: Any, *, question: str | None = None) -> dict[str, Any]:
    """One lmms-eval ``mmvp`` sample (dataset lmms-lab-eval/MMVP: Index counts from 1)."""
    position = index - 1 if isinstance(index, int) else -1
    q, options = MMVP_Q.get(index, ("Is it there?", "(a) Yes (b) No"))
    q = question or q
    a, b = options[4:].split(" (b) ")
    prompt = f"{q}\nA. {a}\nB. {b}\n{LETTER}"
    return {"doc_id": doc_id,
            "doc": {"Index": index, "Question": q, "Options": options, "Correct Answer": "(a)"},
            "target": "A", "arguments": [prompt, {"max_new_tokens": 16, "temperature": 0, "do_sample": False}],
            "resps": [[response]] if isinstance(response, str) else [], "filtered_resps": response,
            "doc_hash": "d" * 64, "prompt_hash": "p" * 64, "target_hash": "t" * 64,
            "mmvp_accuracy": {"index": position, "pair_index": position // 2, "pred": response},
            "mmvp_pair_accuracy": {"index": position, "pair_index": position // 2, "pred": response}}


def cv_sample(doc_id: int, idx: int, response: str, *, kind: str = "2D") -> dict[str, Any]:
    """One lmms-eval ``cv_bench`` sample (dataset nyu-visionx/CV-Bench, doc minus the image)."""
    question = CV_Q.get(idx, "How far is the chair from the camera?")
    choices = ["0", "1", "2", "3"] if "How many" in question else ["above", "below"]
    prompt = f"{question} Select from the following choices.\n" + \
        "\n".join(f"({chr(65 + k)}) {c}" for k, c in enumerate(choices))
    doc = {"idx": idx, "type": kind, "task": "Count" if kind == "2D" else "Depth", "question": question,
           "choices": choices, "answer": "(A)", "prompt": prompt, "filename": f"img/{kind}/x_{idx}.png",
           "source": "ADE20K" if kind == "2D" else "Omni3D", "source_dataset": "ADE20K Validation Set",
           "source_filename": f"ADE_val_{idx:08d}.jpg", "target_class": None, "target_size": None, "bbox": None}
    note = "Note: You only need to respond with A, B, C, D without providing any additional information.\n"
    return {"doc_id": doc_id, "doc": doc, "target": "(A)",
            "arguments": [note + "\n" + prompt, {"max_new_tokens": 1024}], "resps": [[response]],
            "filtered_resps": [response], "doc_hash": "d", "prompt_hash": "p", "target_hash": "t",
            "cv_bench_acc": {"id": idx, "pred": response, "type": kind}}


def write_jsonl(path: Path, objects: list[Any]) -> Path:
    path.write_text("".join((o if isinstance(o, str) else json.dumps(o)) + "\n" for o in objects), encoding="utf-8")
    return path


def write_tsv(path: Path, header: list[str], rows: list[list[Any]]) -> Path:
    """A TSV as pandas ``to_csv(sep='\\t')`` writes it (minimal quoting)."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    return path


# ----------------------------------------------------------------------------- lmms-eval


def test_lmms_eval_mmvp_field_by_field(tiny_built: dict[str, Path], tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    # doc_id is the position in lmms-eval's dataset; the lines come in another order: Index decides.
    samples = [mmvp_sample(7, 8, "B"), mmvp_sample(0, 1, "A"), mmvp_sample(2, 3, " (a) Left"),
               mmvp_sample(1, 2, ["B."]), mmvp_sample(3, 4, "B"), mmvp_sample(4, 5, "A"), mmvp_sample(5, 6, "B"),
               mmvp_sample(6, 7, "")]
    source = write_jsonl(tmp_path / "20250101_120000_samples_mmvp.jsonl", samples)
    out = tmp_path / "llava-1.5-7b.jsonl"
    assert cli(["--from", "lmms-eval", str(source), "--data", str(tiny_built["pixmmvp"]), "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert f"lmms-eval {source} -> pixmmvp: 8 row(s) read: 8 mapped, 0 could not be mapped" in err
    assert "8 line(s) of pixmmvp/letter for model 'llava-1.5-7b'" in err
    lines = [json.loads(t) for t in out.read_text().splitlines()]
    assert [line["id"] for line in lines] == list(range(1, 9))
    assert lines[0] == {"benchmark": "pixmmvp", "id": 1, "probe": "letter", "model": "llava-1.5-7b",
                        "prompt": f"Is the square red or blue?\nA. Red\nB. Blue\n{LETTER}", "response": "A"}
    by_id = {line["id"]: line for line in lines}
    assert by_id[2]["response"] == "B." and by_id[3]["response"] == " (a) Left"  # verbatim, unwrapped
    assert by_id[7]["response"] == ""  # an empty answer is the model's answer
    assert by_id[8]["response"] == "B" and by_id[8]["prompt"].startswith("Is the scene bright or dark?\nA. Bright")
    index = {"pixmmvp": load_reference("pixmmvp", str(tiny_built["pixmmvp"])).sizes}
    read = read_predictions(out, index=index)
    assert read.problems == [] and len(read.predictions) == 8 and read.models == ["llava-1.5-7b"]


def test_lmms_eval_cv_bench_skips_3d(tiny_built: dict[str, Path], tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    samples = [cv_sample(0, 0, "(A)"), cv_sample(633, 633, "B"), cv_sample(2, 2, "A"),
               cv_sample(1500, 1500, "C", kind="3D"), cv_sample(1, 1, "D")]
    source = write_jsonl(tmp_path / "samples_cv_bench.jsonl", samples)
    out, report = tmp_path / "cv.jsonl", tmp_path / "report.json"
    assert cli(["--from", "lmms-eval", str(source), "--model", "qwen", "--data", str(tiny_built["pixcvbench"]),
                "--out", str(out), "--report", str(report)]) == 0
    err = capsys.readouterr().err
    assert "5 row(s) read: 4 mapped, 1 skipped (CV-Bench 3D, not in PixCV-Bench), 0 could not be mapped" in err
    assert "2 dataset row(s) have no prediction" in err  # 634 and 635
    lines = [json.loads(t) for t in out.read_text().splitlines()]
    assert [(line["id"], line["response"]) for line in lines] == [(0, "(A)"), (1, "D"), (2, "A"), (633, "B")]
    assert all(line["benchmark"] == "pixcvbench" and line["probe"] == "letter" and line["model"] == "qwen"
               for line in lines)
    assert lines[0]["prompt"].startswith("Note: You only need to respond with A, B, C, D") and \
        lines[0]["prompt"].endswith("(D) 3")
    data = json.loads(report.read_text())
    assert data["mapped"] == 4 and data["unmapped"] == [] and data["missing_ids"] == [634, 635]
    assert data["skipped"] == [{"file": str(source), "line": 4, "key": "doc_id 1500 (idx 1500)",
                                "reason": "cvbench-3d",
                                "message": "a CV-Bench 3D row (PixCV-Bench holds the 2D questions only)"}]
    assert read_predictions(out).problems == []


def test_lmms_eval_unmapped_rows_fail_unless_allowed(tiny_built: dict[str, Path], tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    image_only = {"doc_id": 9, "doc": {}, "resps": [["A"]], "filtered_resps": ["A"]}  # MMVP/MMVP logs no Index
    samples = [mmvp_sample(0, 1, "A"),                                   # line 1: fine
               mmvp_sample(1, 2, "B"),                                   # line 2: fine
               mmvp_sample(5, 2, "A"),                                   # line 3: duplicate of Index 2
               mmvp_sample(8, 9, "A"),                                   # line 4: not in the tiny dataset
               mmvp_sample(2, 3, []),                                    # line 5: no response
               "{not json",                                              # line 6
               image_only,                                               # line 7
               mmvp_sample(3, 4, "B", question="Is the cube big or small?"),  # line 8: another question
               cv_sample(10, 0, "A"),                                    # line 9: a CV-Bench row
               mmvp_sample(4, "5x", "A")]                                # line 10: unreadable Index
    source = write_jsonl(tmp_path / "samples_mmvp.jsonl", samples)
    out, report = tmp_path / "m.jsonl", tmp_path / "r.json"
    argv = ["--from", "lmms-eval", str(source), "--data", str(tiny_built["pixmmvp"]), "--out", str(out),
            "--report", str(report)]
    assert cli(argv) == 1
    err = capsys.readouterr().err
    assert not out.exists() and "8 row(s) could not be mapped; nothing written" in err
    assert "--allow-unmapped writes the 2 that map" in err
    expected = {
        3: ("duplicate", "second row for row id 2 (a different response); the first, line 2, is kept"),
        4: ("unknown-id", "gives row id 9, which is not in the dataset"),
        5: ("no-prediction", "`filtered_resps` holds no response"),
        6: ("malformed", "invalid JSON: Expecting property name enclosed in double quotes (column 2)"),
        7: ("malformed", "`doc` holds neither MMVP's `Index` nor CV-Bench's `idx`"),
        8: ("question-mismatch", "question 'Is the cube big or small?' differs from dataset row 4's"),
        9: ("other-benchmark", "a pixcvbench row in a conversion to pixmmvp"),
        10: ("malformed", "`doc.Index` must be an int, but got '5x'"),
    }
    unmapped = json.loads(report.read_text())["unmapped"]
    assert [u["line"] for u in unmapped] == sorted(expected)
    for issue in unmapped:
        reason, message = expected[issue["line"]]
        assert issue["reason"] == reason and issue["message"].startswith(message), issue
        assert f"{source}:{issue['line']}: {issue['key']}: {reason}: " in err
    assert "unmapped rows (1 duplicate, 1 unknown-id, 1 no-prediction, 3 malformed" in err
    # --allow-unmapped writes what maps, and still reports the rest.
    assert cli([*argv, "--allow-unmapped"]) == 0
    err = capsys.readouterr().err
    assert "10 row(s) read: 2 mapped, 8 could not be mapped" in err and "wrote" in err
    assert [(p.id, p.response) for p in read_predictions(out).predictions] == [(1, "A"), (2, "B")]


def test_lmms_eval_without_data_checks_the_full_id_range(tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "s.jsonl", [mmvp_sample(0, 1, "A"), mmvp_sample(299, 300, "B"),
                                                mmvp_sample(300, 301, "A")])
    result = convert_bridge("lmms-eval", source, model="m")
    assert [p.id for p in result.predictions] == [1, 300] and result.missing_ids is None
    assert [(u.reason, u.message) for u in result.unmapped] == \
        [("unknown-id", "gives row id 301, which is not in pixmmvp")]
    # The older layout: one JSON file with the samples under "logs".
    old = tmp_path / "mmvp.json"
    old.write_text(json.dumps({"args": {}, "model_configs": {}, "logs": [mmvp_sample(0, 1, "A")]}))
    assert [p.id for p in convert_bridge("lmms-eval", old, model="m").predictions] == [1]
    assert read_lmms_eval(source).benchmark == "pixmmvp"


# lmms-eval 0.4 and later: the writer (``EvaluationTracker.save_results_samples``) sets ``input`` to the
# prompt (``arguments[0]``), turns ``resps``/``filtered_resps`` into strings, unwraps one-request lists (0.7+;
# 0.4-0.6 keep ``filtered_resps`` a one-element list), drops ``resps`` when it equals ``filtered_resps``, and
# pops ``doc`` and ``arguments``. The task's metric dicts (``process_results``) stay as they are.


def mmvp_current(doc_id: int, index: int, response: str, *, question: str | None = None,
                 flat: bool = True) -> dict[str, Any]:
    """A current-writer ``mmvp`` line: ``mmvp_accuracy.index`` = MMVP Index - 1 (-1 for a doc without one)."""
    q, options = MMVP_Q.get(index, ("Is it there?", "(a) Yes (b) No"))
    a, b = options[4:].split(" (b) ")
    position = index - 1 if index > 0 else -1
    letter = response.strip().strip("().")[:1].upper()
    result = {"index": position, "pair_index": position // 2, "pred": response.strip(), "pred_letter": letter,
              "gt": "A", "original_gt": "A", "correction_applied": False, "is_correct": letter == "A"}
    line: dict[str, Any] = {"doc_id": doc_id, "target": "A", "filtered_resps": response if flat else [response]}
    if flat:
        line["token_counts"] = [None]
    line.update({"doc_hash": "d" * 64, "mmvp_accuracy": result, "mmvp_pair_accuracy": dict(result),
                 "input": f"{question or q}\nA. {a}\nB. {b}\n{LETTER}"})
    return line


def cv_current(doc_id: int, idx: int, response: str, *, kind: str = "2D", question: str | None = None,
               raw: str | None = None) -> dict[str, Any]:
    """A current-writer ``cv_bench`` line: ``cv_bench_acc.id`` = CV-Bench idx; ``raw`` keeps ``resps``."""
    question = question or CV_Q.get(idx, "How far is the chair from the camera?")
    choices = ["0", "1", "2", "3"] if "How many" in question else ["above", "below"]
    letters = ", ".join("ABCD"[: len(choices)])
    prompt = f"{question} Select from the following choices.\n" + \
        "\n".join(f"({chr(65 + k)}) {c}" for k, c in enumerate(choices))
    note = f"Note: You only need to respond with {letters} without providing any additional information.\n"
    line: dict[str, Any] = {"doc_id": doc_id, "target": "(A)"}
    if raw is not None:
        line["resps"] = [raw]
    line.update({"filtered_resps": response, "token_counts": [None], "doc_hash": "d" * 64,
                 "cv_bench_acc": {"id": idx, "gt_content": "A", "pred_parsed": response.strip("() ")[:1],
                                  "pred": response.strip(), "type": kind, "task": "Count" if kind == "2D" else
                                  "Depth", "source": ("COCO" if idx >= 633 else "ADE20K") if kind == "2D" else
                                  "Omni3D", "is_correct": response.strip("() ")[:1] == "A"},
                 "input": note + "\n" + prompt})
    return line


def test_lmms_eval_current_mmvp(tiny_built: dict[str, Path], tmp_path: Path,
                                capsys: pytest.CaptureFixture[str]) -> None:
    # No doc: the id is mmvp_accuracy.index + 1; doc_id and line order do not count. Line 2 is 0.4-0.6's
    # writer (filtered_resps still a list).
    samples = [mmvp_current(7, 8, "B"), mmvp_current(0, 1, "A", flat=False), mmvp_current(2, 3, " (a) Left"),
               mmvp_current(1, 2, "B."), mmvp_current(3, 4, "B"), mmvp_current(4, 5, "A"), mmvp_current(5, 6, "B"),
               mmvp_current(6, 7, "")]
    assert "doc" not in samples[0] and "arguments" not in samples[0] and samples[0]["mmvp_accuracy"]["index"] == 7
    source = write_jsonl(tmp_path / "20250101_120000_samples_mmvp.jsonl", samples)
    table = read_lmms_eval(source)
    assert table.benchmark == "pixmmvp" and [r.number for r in table.rows] == [8, 1, 3, 2, 4, 5, 6, 7]
    assert table.rows[0].key == "doc_id 7 (mmvp_accuracy.index 7)"
    out = tmp_path / "llava.jsonl"
    assert cli(["--from", "lmms-eval", str(source), "--data", str(tiny_built["pixmmvp"]), "--out", str(out)]) == 0
    assert "8 row(s) read: 8 mapped, 0 could not be mapped" in capsys.readouterr().err
    lines = [json.loads(t) for t in out.read_text().splitlines()]
    assert [line["id"] for line in lines] == list(range(1, 9))
    assert lines[0] == {"benchmark": "pixmmvp", "id": 1, "probe": "letter", "model": "llava",
                        "prompt": f"Is the square red or blue?\nA. Red\nB. Blue\n{LETTER}", "response": "A"}
    by_id = {line["id"]: line for line in lines}
    assert by_id[2]["response"] == "B." and by_id[3]["response"] == " (a) Left" and by_id[7]["response"] == ""
    assert read_predictions(out).problems == []


def test_lmms_eval_current_cv_bench_skips_3d(tiny_built: dict[str, Path], tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    samples = [cv_current(0, 0, "(A)"), cv_current(633, 633, "B", raw="<think>two</think>B"),
               cv_current(2, 2, "A"), cv_current(1500, 1500, "C", kind="3D"), cv_current(1, 1, "D")]
    source = write_jsonl(tmp_path / "samples_cv_bench.jsonl", samples)
    assert read_lmms_eval(source).benchmark == "pixcvbench"
    out, report = tmp_path / "cv.jsonl", tmp_path / "report.json"
    assert cli(["--from", "lmms-eval", str(source), "--model", "qwen", "--data", str(tiny_built["pixcvbench"]),
                "--out", str(out), "--report", str(report)]) == 0
    err = capsys.readouterr().err
    assert "5 row(s) read: 4 mapped, 1 skipped (CV-Bench 3D, not in PixCV-Bench), 0 could not be mapped" in err
    lines = [json.loads(t) for t in out.read_text().splitlines()]
    assert [(line["id"], line["response"]) for line in lines] == [(0, "(A)"), (1, "D"), (2, "A"), (633, "B")]
    assert lines[0]["prompt"] == samples[0]["input"] and lines[0]["prompt"].startswith(
        "Note: You only need to respond with A, B, C, D without providing any additional information.\n\n")
    data = json.loads(report.read_text())
    assert data["unmapped"] == [] and data["missing_ids"] == [634, 635]
    assert [(s["line"], s["key"], s["reason"]) for s in data["skipped"]] == \
        [(4, "doc_id 1500 (cv_bench_acc.id 1500)", "cvbench-3d")]
    # Without the dataset: the 3D row is still skipped from its metric dict's type (or source).
    three_d = cv_current(1438, 1438, "A", kind="3D")
    del three_d["cv_bench_acc"]["type"]
    result = convert_bridge("lmms-eval", write_jsonl(tmp_path / "3d.jsonl", [three_d, cv_current(0, 0, "A")]),
                            model="m")
    assert [p.id for p in result.predictions] == [0] and [s.line for s in result.skipped] == [1]
    assert result.unmapped == []


def test_lmms_eval_current_question_check(tiny_built: dict[str, Path], tmp_path: Path) -> None:
    # With the dataset, the dataset row's question must appear in `input` (case and spacing ignored).
    reference = load_reference("pixmmvp", str(tiny_built["pixmmvp"]))
    shouted = mmvp_current(0, 1, "A")
    shouted["input"] = "  IS THE SQUARE\n red   or blue?\nA. Red\nB. Blue"
    samples = [shouted,                                                            # line 1: fine
               mmvp_current(2, 3, "A", question="Is the square red or blue?"),     # line 2: row 3 asks another
               mmvp_current(4, 5, "B")]                                            # line 3: fine
    source = write_jsonl(tmp_path / "samples_mmvp.jsonl", samples)
    result = convert_bridge("lmms-eval", source, model="m", reference=reference)
    assert [p.id for p in result.predictions] == [1, 5]
    [issue] = result.unmapped
    assert (issue.line, issue.key, issue.reason) == (2, "doc_id 2 (mmvp_accuracy.index 2)", "question-mismatch")
    assert issue.message == "dataset row 3's question 'Is the disc on the left or the right?' is not in the " \
                            f"row's `input` {samples[1]['input']!r} (wrong id?)"
    # Without the dataset nothing is compared.
    assert [p.id for p in convert_bridge("lmms-eval", source, model="m").predictions] == [1, 3, 5]
    cv = write_jsonl(tmp_path / "samples_cv_bench_2d.jsonl",
                     [cv_current(633, 633, "A", question=CV_Q[0]), cv_current(0, 0, "A")])
    result = convert_bridge("lmms-eval", cv, model="m", reference=load_reference("pixcvbench",
                                                                              str(tiny_built["pixcvbench"])))
    assert [p.id for p in result.predictions] == [0]
    assert [(u.line, u.reason) for u in result.unmapped] == [(1, "question-mismatch")]
    assert "dataset row 633's question 'How many trains are in the image?' is not in" in result.unmapped[0].message


def test_lmms_eval_mixed_layouts_and_garbage(tiny_built: dict[str, Path], tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    both = mmvp_current(9, 3, "A")
    both["cv_bench_acc"] = cv_current(3, 3, "A")["cv_bench_acc"]
    image_only = mmvp_current(10, 0, "A")  # MMVP/MMVP: the doc has no Index, process_results logs -1
    no_index = mmvp_current(11, 4, "A")
    del no_index["mmvp_accuracy"]["index"], no_index["mmvp_pair_accuracy"]
    bad_index = mmvp_current(12, 4, "A")
    bad_index["mmvp_accuracy"]["index"] = "4x"
    aggregated = {"doc_id": 13, "target": "A", "filtered_resps": "A", "mmvp_accuracy": 0.5, "input": "q"}
    old_v03 = mmvp_sample(14, 6, "B")  # 0.3.x: doc kept, `arguments` a dict, `input` the prompt
    old_v03["input"], old_v03["arguments"] = old_v03["arguments"][0], {"0": "max_new_tokens"}
    samples = [mmvp_current(0, 1, "A"),                                          # line 1: current, fine
               mmvp_sample(1, 2, "B"),                                           # line 2: legacy, fine
               mmvp_current(5, 2, "A"),                                          # line 3: duplicate of line 2
               {"doc_id": 3, "target": "A", "filtered_resps": "A", "input": "Is it?"},  # line 4: neither
               [1, 2],                                                           # line 5: not an object
               both,                                                             # line 6
               image_only,                                                       # line 7
               no_index,                                                         # line 8
               bad_index,                                                        # line 9
               aggregated,                                                       # line 10
               cv_current(11, 0, "A"),                                           # line 11: a CV-Bench row
               {"doc_id": 12, "cv_bench_acc_score": 1.0, "filtered_resps": "A"},  # line 12: reasoning task
               old_v03,                                                          # line 13: fine
               mmvp_current(4, 5, "")]                                           # line 14: fine (empty answer)
    source = write_jsonl(tmp_path / "samples_mmvp.jsonl", samples)
    out, report = tmp_path / "m.jsonl", tmp_path / "r.json"
    argv = ["--from", "lmms-eval", str(source), "--data", str(tiny_built["pixmmvp"]), "--out", str(out),
            "--report", str(report)]
    assert cli(argv) == 1
    err = capsys.readouterr().err
    assert not out.exists() and "10 row(s) could not be mapped; nothing written" in err
    neither = "fits neither lmms-eval sample layout: no `doc` (the legacy writer's dataset row) and no " \
              "`mmvp_accuracy` or `cv_bench_acc` metric dict (the current writer's); its keys: "
    expected = {
        3: ("duplicate", "second row for row id 2 (a different response); the first, line 2, is kept"),
        4: ("malformed", neither + "doc_id, filtered_resps, input, target"),
        5: ("malformed", "expected a JSON object, got list"),
        6: ("malformed", "holds the metric dicts of both tasks (`mmvp_accuracy`, `mmvp_pair_accuracy`, "
                         "`cv_bench_acc`)"),
        7: ("malformed", "`mmvp_accuracy.index` is -1: the doc had no Index (lmms-eval's mmvp task on the "
                         "image-only MMVP/MMVP dataset"),
        8: ("malformed", "`mmvp_accuracy` has no `index` (the row id)"),
        9: ("malformed", "`mmvp_accuracy.index` must be an int, but got '4x'"),
        10: ("malformed", "`mmvp_accuracy` must be the task's per-sample dict (with `index`), but is float"),
        11: ("other-benchmark", "a pixcvbench row in a conversion to pixmmvp"),
        12: ("malformed", neither + "cv_bench_acc_score, doc_id, filtered_resps"),
    }
    unmapped = json.loads(report.read_text())["unmapped"]
    assert [u["line"] for u in unmapped] == sorted(expected)
    for issue in unmapped:
        reason, message = expected[issue["line"]]
        assert issue["reason"] == reason and issue["message"].startswith(message), issue
        assert f"{source}:{issue['line']}: {issue['key']}: {reason}: " in err
    assert cli([*argv, "--allow-unmapped"]) == 0
    capsys.readouterr()
    lines = read_predictions(out).predictions
    assert [(p.id, p.response) for p in lines] == [(1, "A"), (2, "B"), (5, ""), (6, "B")]
    assert lines[3].prompt == old_v03["input"]  # 0.3.x: the prompt from `input`


def test_lmms_eval_detection_needs_a_known_line(tmp_path: Path) -> None:
    garbage = write_jsonl(tmp_path / "samples_x.jsonl", [{"doc_id": 0, "filtered_resps": "A", "input": "q"},
                                                        {"doc_id": 1, "mmvp_acc": 1.0}])
    with pytest.raises(BridgeError, match=r"cannot tell which benchmark the file is for \(no line has a `doc`, "
                                          r"nor an `mmvp_accuracy` or `cv_bench_acc` metric dict\); pass"):
        convert_bridge("lmms-eval", garbage, model="m")
    result = convert_bridge("lmms-eval", garbage, model="m", benchmark="pixmmvp")
    assert result.predictions == [] and [(u.line, u.reason) for u in result.unmapped] == \
        [(1, "malformed"), (2, "malformed")]
    # The first line that names a benchmark decides; either metric dict of the mmvp task does.
    pair_only = mmvp_current(0, 1, "A")
    del pair_only["mmvp_accuracy"]
    cv_first = write_jsonl(tmp_path / "c.jsonl", [{"doc_id": 0}, cv_current(0, 0, "A"), pair_only])
    assert read_lmms_eval(cv_first).benchmark == "pixcvbench"
    assert read_lmms_eval(write_jsonl(tmp_path / "p.jsonl", [pair_only])).benchmark == "pixmmvp"
    result = convert_bridge("lmms-eval", cv_first, model="m")
    assert [p.id for p in result.predictions] == [0]
    assert [(u.line, u.reason) for u in result.unmapped] == [(1, "malformed"), (3, "other-benchmark")]


# ----------------------------------------------------------------------------- VLMEvalKit

MMVP_COLUMNS = ["index", "question", "A", "B", "answer", "category", "prediction"]


def mmvp_table_row(index: int, prediction: str, question: str | None = None) -> list[Any]:
    """A row of VLMEvalKit's MMVP output (index counts from 0: MMVP row index + 1)."""
    q, options = MMVP_Q[index + 1]
    a, b = options[4:].split(" (b) ")
    return [index, question or q, a, b, "A" if index % 2 == 0 else "B", "Color and Appearance", prediction]


def test_vlmevalkit_mmvp_tsv(tiny_built: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = [mmvp_table_row(k, p) for k, p in [(3, "B"), (0, "A"), (1, "The answer is B"), (2, "A"), (7, "B"),
                                               (4, "A"), (5, "B"), (6, "A")]]
    source = write_tsv(tmp_path / "llava_v1.5_7b_MMVP.tsv", MMVP_COLUMNS, rows)
    out = tmp_path / "llava.jsonl"
    assert cli(["--from", "vlmevalkit", str(source), "--data", str(tiny_built["pixmmvp"]), "--out", str(out)]) == 0
    assert "8 row(s) read: 8 mapped, 0 could not be mapped" in capsys.readouterr().err
    lines = [json.loads(t) for t in out.read_text().splitlines()]
    assert lines[0] == {"benchmark": "pixmmvp", "id": 1, "probe": "letter", "model": "llava", "response": "A"}
    assert [(line["id"], line["response"]) for line in lines][1:4] == [(2, "The answer is B"), (3, "A"), (4, "B")]
    assert read_predictions(out).problems == []
    # Counting from 1 puts index 0 outside the benchmark and shifts every row onto the wrong question
    # for half the rows: the question check catches it.
    result = convert_bridge("vlmevalkit", source, model="m", id_base=1,
                            reference=load_reference("pixmmvp", str(tiny_built["pixmmvp"])))
    reasons = sorted((u.key, u.reason) for u in result.unmapped)
    assert ("index 0", "unknown-id") in reasons
    assert {k for k, r in reasons if r == "question-mismatch"} == {"index 2", "index 4", "index 6"}


CV_COLUMNS = ["index", "question", "prompt", "answer", "A", "B", "C", "D", "split", "source", "category",
              "prediction"]


def cv_table_row(index: int, prediction: str | None, *, split: str = "2D") -> list[Any]:
    question = CV_Q.get(index, "Which object is closer to the camera?")
    prompt = f"{question} Select from the following choices.\n(A) 0\n(B) 1\n(C) 2\n(D) 3"
    source = "Omni3D" if split == "3D" else ("COCO" if index >= 633 else "ADE20K")
    return [index, question, prompt, "(A)", "0", "1", "2", "3", split, source, "Count",
            "" if prediction is None else prediction]


def test_vlmevalkit_cv_bench_tsv(tiny_built: dict[str, Path], tmp_path: Path,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    rows = [cv_table_row(633, "B"), cv_table_row(0, "(A) 0"), cv_table_row(2, "A\tmaybe"),
            cv_table_row(1438, "C", split="3D"), cv_table_row(1, None), cv_table_row(1437, "A")]
    source = write_tsv(tmp_path / "qwen_CV-Bench-2D.tsv", CV_COLUMNS, rows)
    out = tmp_path / "qwen.jsonl"
    argv = ["--from", "vlmevalkit", str(source), "--data", str(tiny_built["pixcvbench"]), "--out", str(out)]
    assert cli(argv) == 1
    err = capsys.readouterr().err
    assert "6 row(s) read: 3 mapped, 1 skipped (CV-Bench 3D, not in PixCV-Bench), 2 could not be mapped" in err
    assert f"{source}:6: index 1: no-prediction: empty `prediction`" in err  # row 6 of the sheet (header = 1)
    assert f"{source}:7: index 1437: unknown-id: gives row id 1437, which is not in the dataset" in err
    assert not out.exists()
    assert cli([*argv, "--allow-unmapped"]) == 0
    capsys.readouterr()
    lines = [json.loads(t) for t in out.read_text().splitlines()]
    assert [(line["id"], line["response"]) for line in lines] == [(0, "(A) 0"), (2, "A\tmaybe"), (633, "B")]
    assert lines[0]["prompt"] == f"{CV_Q[0]} Select from the following choices.\n(A) 0\n(B) 1\n(C) 2\n(D) 3"
    assert read_predictions(out).problems == []
    # Without the dataset, 1437 is a CV-Bench 2D idx and maps.
    result = convert_bridge("vlmevalkit", source, model="m")
    assert 1437 in [p.id for p in result.predictions] and [u.reason for u in result.unmapped] == ["no-prediction"]


def test_vlmevalkit_benchmark_detection_and_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plain = write_tsv(tmp_path / "preds.tsv", MMVP_COLUMNS, [mmvp_table_row(0, "A")])
    with pytest.raises(BridgeError, match="cannot tell which benchmark the file is for; pass --benchmark"):
        convert_bridge("vlmevalkit", plain, model="m")
    assert [p.id for p in convert_bridge("vlmevalkit", plain, model="m", benchmark="pixmmvp").predictions] == [1]
    cv = write_tsv(tmp_path / "x_CV-Bench-2D.tsv", CV_COLUMNS, [cv_table_row(0, "A")])
    assert read_vlmevalkit(cv).benchmark == "pixcvbench"
    with pytest.raises(BridgeError, match="looks like pixcvbench"):
        convert_bridge("vlmevalkit", cv, model="m", benchmark="pixmmvp")
    bad = write_tsv(tmp_path / "y_MMVP.tsv", ["index", "question", "answer"], [[0, "q", "A"]])
    with pytest.raises(BridgeError, match=r"not a VLMEvalKit prediction file: no column\(s\) \['prediction'\]"):
        read_vlmevalkit(bad)
    with pytest.raises(BridgeError, match=r"expected a VLMEvalKit \.xlsx or \.tsv file"):
        read_vlmevalkit(write_jsonl(tmp_path / "z.jsonl", [{}]))
    # A CV-Bench-3D file (no split/source columns) maps nothing: an error, not an empty file.
    three_d = write_tsv(tmp_path / "m_CV-Bench-3D.tsv", ["index", "question", "prompt", "prediction"],
                        [[0, "Which is closer?", "p", "A"]])
    out = tmp_path / "o.jsonl"
    assert cli(["--from", "vlmevalkit", str(three_d), "--out", str(out)]) == 1
    assert "no row of" in capsys.readouterr().err and not out.exists()


def test_vlmevalkit_xlsx_needs_openpyxl(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "m_MMVP.xlsx"
    path.write_bytes(b"PK\x03\x04 not really a workbook")
    monkeypatch.setitem(sys.modules, "openpyxl", None)  # as when it is not installed
    with pytest.raises(BridgeError, match=r"reading .xlsx files needs openpyxl: pip install openpyxl"):
        read_vlmevalkit(path)


def test_vlmevalkit_xlsx(tiny_built: dict[str, Path], tmp_path: Path) -> None:
    openpyxl = pytest.importorskip("openpyxl", reason="openpyxl is not installed (it is optional: .tsv covers "
                                                      "the same code path after reading)")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append([*MMVP_COLUMNS, "image"])
    for k in (1, 0, 2):
        sheet.append([*mmvp_table_row(k, "AB"[k % 2]), "aGVsbG8="])
    path = tmp_path / "m_MMVP.xlsx"
    book.save(path)
    result = convert_bridge("vlmevalkit", path, model="m",
                            reference=load_reference("pixmmvp", str(tiny_built["pixmmvp"])))
    assert [(p.id, p.response) for p in result.predictions] == [(1, "A"), (2, "B"), (3, "A")]
    assert result.unmapped == []


# ----------------------------------------------------------------------------- command line


def test_cli_argument_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = write_jsonl(tmp_path / "s.jsonl", [mmvp_sample(0, 1, "A")])
    out = tmp_path / "o.jsonl"
    cases = [
        (["--from", "lmms-eval", "--out", str(out)], "--from lmms-eval needs the input file"),
        (["--from", "lmms-eval", str(source), "--probe", "vqa", "--out", str(out)], "the probe is letter, not vqa"),
        (["--from", "lmms-eval", str(source), "--id-base", "1", "--out", str(out)], "--id-base applies to"),
        (["--from", "lmms-eval", str(source), "--answers", str(source), "--out", str(out)],
         "--answers apply to --from reference only"),
        (["--from", "lmms-eval", str(tmp_path / "nope.jsonl"), "--out", str(out)], "nope.jsonl: file not found"),
        (["--from", "lmms-eval", str(source), "--data", str(tmp_path / "missing"), "--out", str(out)],
         "pixmmvp data folder not found"),
        (["--from", "reference", "--answers", str(source), "--out", str(out)],
         "--from reference needs --benchmark and --probe"),
        (["--benchmark", "pixmmvp", "--probe", "letter", str(source), "--out", str(out)],
         "--from reference takes no FILE"),
        (["--benchmark", "pixmmvp", "--probe", "letter", "--answers", str(source), "--allow-unmapped",
          "--out", str(out)], "--report and --allow-unmapped apply to --from lmms-eval|vlmevalkit"),
    ]
    for argv, message in cases:
        assert cli(argv) == 1, argv
        assert message in capsys.readouterr().err, argv
    assert not out.exists()


def test_cli_append_and_main(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "model.jsonl"
    mmvp = write_jsonl(tmp_path / "samples_mmvp.jsonl", [mmvp_sample(0, 1, "A"), mmvp_sample(1, 2, "B")])
    cv = write_jsonl(tmp_path / "samples_cv_bench_2d.jsonl", [cv_sample(0, 0, "A")])
    assert main(["convert", "--from", "lmms-eval", str(mmvp), "--out", str(out)]) == 0
    assert main(["convert", "--from", "lmms-eval", str(cv), "--out", str(out)]) == 1
    assert "exists; pass --append" in capsys.readouterr().err
    assert main(["convert", "--from", "lmms-eval", str(cv), "--out", str(out), "--append"]) == 0
    before = out.read_text()
    assert main(["convert", "--from", "lmms-eval", str(mmvp), "--out", str(out), "--append"]) == 1
    assert "already has lines for model 'model', pixmmvp, probe letter, ids [1, 2]" in capsys.readouterr().err
    assert out.read_text() == before
    read = read_predictions(out)
    assert read.problems == [] and sorted((p.benchmark, p.id) for p in read.predictions) == \
        [("pixcvbench", 0), ("pixmmvp", 1), ("pixmmvp", 2)]
    parser = argparse.ArgumentParser(prog="pixbench convert")
    configure_parser(parser)
    text = parser.format_help()
    assert "--allow-unmapped" in text and "--report FILE.json" in text and "counted from 0 for MMVP" in text
