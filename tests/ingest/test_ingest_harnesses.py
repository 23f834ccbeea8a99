"""The converters of other harnesses' files read each benchmark's declared facts (``harnesses`` in its rules,
:mod:`pixbench.benchmarks.harnesses`): changing a registry entry's facts changes what a real file converts to,
the order in which layouts are tried is the declared one (CV-Bench's before MMVP's, as before), and the rows a file
holds that the benchmark does not (PixCV-Bench: CV-Bench's 3D questions) are the ones the benchmark it converts to
declares."""

from __future__ import annotations

import csv
import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from pixbench.benchmarks import get_image_benchmark
from pixbench.benchmarks.harnesses import LmmsDoc
from pixbench.ingest import (
    REFERENCE_ID_BASE,
    VLMEVALKIT_ID_BASE,
    ConvertError,
    convert_bridge,
    convert_reference,
    read_lmms_eval,
    read_vlmevalkit,
)
from pixbench.ingest.lmms_eval import LMMS_DOCS, LMMS_METRICS, lmms_tables

PIXMMVP, PIXCVBENCH = get_image_benchmark("pixmmvp"), get_image_benchmark("pixcvbench")


def _declare(monkeypatch: pytest.MonkeyPatch, benchmark: Any, **changes: Any) -> None:
    """Change what ``benchmark`` declares of one tool (``vlmevalkit=...`` etc.) for this test."""
    harnesses = dataclasses.replace(benchmark.harnesses, **changes)
    monkeypatch.setattr(type(benchmark), "harnesses", harnesses)


def write_jsonl(path: Path, objects: list[Any]) -> Path:
    path.write_text("".join(json.dumps(o) + "\n" for o in objects), encoding="utf-8")
    return path


def write_tsv(path: Path, header: list[str], rows: list[list[Any]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    return path


def test_the_exported_tables_are_the_benchmarks_declarations() -> None:
    assert REFERENCE_ID_BASE == {"pixmmvp": 1, "pixcvbench": 0}
    assert VLMEVALKIT_ID_BASE == {"pixmmvp": 0, "pixcvbench": 0}
    assert list(LMMS_METRICS) == ["mmvp_accuracy", "mmvp_pair_accuracy", "cv_bench_acc"]
    assert LMMS_METRICS["mmvp_accuracy"][0] == "pixmmvp" and LMMS_METRICS["mmvp_accuracy"][1].id_offset == 1
    # The legacy doc layouts in the order they are tried: CV-Bench's idx, then MMVP's Index, then index.
    assert [(name, doc.id_field) for name, doc in LMMS_DOCS] == [("pixcvbench", "idx"), ("pixmmvp", "Index"),
                                                                  ("pixmmvp", "index")]


def test_reference_scripts_id_base_comes_from_the_benchmark(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    answers = write_jsonl(tmp_path / "answers.jsonl", [{"question_id": 1, "response": "a"},
                                                       {"question_id": 300, "response": "b"}])
    preds = convert_reference(benchmark="pixmmvp", probe="vqa", model="m", answers=answers)
    assert [(p.id, p.response) for p in preds] == [(1, "a"), (300, "b")]  # question_id = row id (base 1)
    _declare(monkeypatch, PIXMMVP, reference_scripts=dataclasses.replace(PIXMMVP.harnesses.reference_scripts,
                                                                         answers_id_base=0))
    with pytest.raises(ConvertError, match=r"answers\.jsonl:2: question_id 300 .*row id 301, which is not in pixmmvp"):
        convert_reference(benchmark="pixmmvp", probe="vqa", model="m", answers=answers)
    _declare(monkeypatch, PIXMMVP, reference_scripts=None)
    with pytest.raises(ValueError, match="the PixFoundation reference scripts do not cover pixmmvp: pass `id_base`"):
        convert_reference(benchmark="pixmmvp", probe="vqa", model="m", answers=answers)
    assert [p.id for p in convert_reference(benchmark="pixmmvp", probe="vqa", model="m", answers=answers,
                                            id_base=1)] == [1, 300]


MMVP_COLUMNS = ["index", "question", "A", "B", "answer", "prediction"]


def test_vlmevalkit_id_base_and_detection_come_from_the_benchmarks(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    source = write_tsv(tmp_path / "llava_MMVP.tsv", MMVP_COLUMNS, [[0, "Is it red?", "Yes", "No", "A", "A"],
                                                                   [5, "Is it blue?", "Yes", "No", "B", "B"]])
    assert [p.id for p in convert_bridge("vlmevalkit", source, model="m").predictions] == [1, 6]
    vlmevalkit = PIXMMVP.harnesses.vlmevalkit
    _declare(monkeypatch, PIXMMVP, vlmevalkit=dataclasses.replace(vlmevalkit, id_base=5))
    result = convert_bridge("vlmevalkit", source, model="m")
    assert [p.id for p in result.predictions] == [1] and [u.reason for u in result.unmapped] == ["unknown-id"]
    _declare(monkeypatch, PIXMMVP, vlmevalkit=dataclasses.replace(vlmevalkit, name_words=("llava-only",)))
    assert read_vlmevalkit(source).benchmark is None  # "mmvp" in the name no longer names it


def test_vlmevalkit_datasets_are_tried_in_declared_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A name with both benchmarks' words: CV-Bench is tried first (priority 0), and its prompt column is kept.
    header = ["index", "question", "prompt", "prediction"]
    both = write_tsv(tmp_path / "mmvp_vs_cv-bench.tsv", header, [[0, "How many?", "How many? (A) 1", "A"]])
    table = read_vlmevalkit(both)
    assert table.benchmark == "pixcvbench" and table.rows[0].prompt == "How many? (A) 1"
    plain = write_tsv(tmp_path / "run_mmvp.tsv", ["index", "question", "prediction"], [[0, "Is it?", "A"]])
    assert read_vlmevalkit(plain).benchmark == "pixmmvp"
    # Swap the priorities: MMVP's words now win (and its rows keep no prompt).
    _declare(monkeypatch, PIXMMVP, vlmevalkit=dataclasses.replace(PIXMMVP.harnesses.vlmevalkit, priority=-1))
    table = read_vlmevalkit(both)
    assert table.benchmark == "pixmmvp" and table.rows[0].prompt is None


def _legacy(doc: dict[str, Any]) -> dict[str, Any]:
    return {"doc_id": 0, "doc": doc, "target": "A", "arguments": ["the prompt"], "filtered_resps": ["A"]}


def test_lmms_eval_doc_layouts_are_tried_in_declared_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A doc with several layouts' id fields is read by the first in priority order, as before the facts moved."""
    source = write_jsonl(tmp_path / "samples.jsonl", [
        _legacy({"idx": 7, "Index": 3, "question": "How many?"}),  # CV-Bench's idx before MMVP's Index
        _legacy({"Index": 4, "index": 9, "Question": "Is it?"})])  # MMVP's Index before index
    rows = read_lmms_eval(source).rows
    assert [(r.benchmark, r.number, r.question) for r in rows] == [("pixcvbench", 7, "How many?"),
                                                                   ("pixmmvp", 4, "Is it?")]
    # MMVP's layouts declared first (and index before Index): the same file reads otherwise.
    _declare(monkeypatch, PIXMMVP, lmms_eval=dataclasses.replace(
        PIXMMVP.harnesses.lmms_eval, docs=(LmmsDoc("Index", ("Question",), priority=-1),
                                           LmmsDoc("index", ("Question",), priority=-2))))
    rows = read_lmms_eval(source).rows
    assert [(r.benchmark, r.number) for r in rows] == [("pixmmvp", 3), ("pixmmvp", 9)]


def test_lmms_eval_messages_name_what_the_benchmarks_declare(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tables = lmms_tables()
    assert tables.named_metrics == "`mmvp_accuracy` or `cv_bench_acc`"
    assert tables.no_doc_id == ("`doc` holds neither MMVP's `Index` nor CV-Bench's `idx` (lmms-eval's mmvp task on "
                                "the image-only MMVP/MMVP dataset logs no Index: run it on lmms-lab-eval/MMVP)")
    _declare(monkeypatch, PIXCVBENCH, lmms_eval=None)
    source = write_jsonl(tmp_path / "samples.jsonl", [_legacy({"idx": 7, "question": "How many?"})])
    row = read_lmms_eval(source).rows[0]
    assert row.problem is not None and row.problem[1].startswith("`doc` holds neither MMVP's `Index` (lmms-eval's")
    assert lmms_tables().detection_hint == "no line has a `doc`, nor an `mmvp_accuracy` metric dict"


# ----------------------------------------------------------------------------- rows a benchmark does not hold

CV_COLUMNS = ["index", "question", "prompt", "split", "source", "prediction"]


def _cv_rows() -> list[list[Any]]:
    return [[0, "How many?", "How many? (A) 1", "2D", "ADE20K", "A"],
            [5, "How far?", "How far? (A) 1", "3D", "Omni3D", "B"],
            [633, "How many trains?", "How many trains? (A) 1", "2D", "COCO", "C"]]


def test_pixcvbench_declares_its_3d_rule() -> None:
    vlmevalkit, lmms = PIXCVBENCH.harnesses.vlmevalkit, PIXCVBENCH.harnesses.lmms_eval
    assert vlmevalkit is not None and lmms is not None and vlmevalkit.skipped is not None
    assert lmms.skipped is not None and lmms_tables().skipped == {"pixcvbench": lmms.skipped}
    assert dict(vlmevalkit.skipped.values) == {"split": ("3D",), "source": ("Omni3D",)}
    assert vlmevalkit.skipped.name_words == ("3d",)
    assert dict(lmms.skipped.values) == {"type": ("3D",), "source": ("Omni3D",)} and lmms.skipped.name_words == ()
    for rule in (vlmevalkit.skipped, lmms.skipped):
        assert (rule.reason, rule.message, rule.summary) == ("cvbench-3d", "a CV-Bench 3D row (PixCV-Bench holds the "
                                                             "2D questions only)", "CV-Bench 3D, not in PixCV-Bench")
    mmvp = PIXMMVP.harnesses
    assert mmvp.vlmevalkit is not None and mmvp.vlmevalkit.skipped is None
    assert mmvp.lmms_eval is not None and mmvp.lmms_eval.skipped is None


@pytest.mark.parametrize("kind", ["3D", " 3d ", "2D", "", None, 0, 3, "3D?", "Omni3D"])
@pytest.mark.parametrize("source", ["Omni3D", "omni3d ", "OMNI3D", "COCO", "", None, 1])
def test_the_declared_3d_rule_is_the_one_the_converters_had(kind: Any, source: Any) -> None:
    """The rule the converters wrote out before it moved to PixCV-Bench (CV-Bench's ``type``/``split`` and
    ``source``), against the declared one on the same values."""
    before = str(kind or "").strip().upper() == "3D" or str(source or "").strip().lower() == "omni3d"
    vlmevalkit, lmms = PIXCVBENCH.harnesses.vlmevalkit, PIXCVBENCH.harnesses.lmms_eval
    assert vlmevalkit is not None and vlmevalkit.skipped is not None
    assert lmms is not None and lmms.skipped is not None
    assert vlmevalkit.skipped.marks({"split": kind, "source": source}, "qwen_CV-Bench-2D") is before
    assert lmms.skipped.marks({"type": kind, "source": source}) is before


def test_vlmevalkit_rows_skipped_are_the_benchmarks_declaration(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    source = write_tsv(tmp_path / "qwen_CV-Bench.tsv", CV_COLUMNS, _cv_rows())
    result = convert_bridge("vlmevalkit", source, model="m")
    assert [p.id for p in result.predictions] == [0, 633]
    assert [(s.line, s.key, s.reason, s.message) for s in result.skipped] == [
        (3, "index 5", "cvbench-3d", "a CV-Bench 3D row (PixCV-Bench holds the 2D questions only)")]
    assert "3 row(s) read: 2 mapped, 1 skipped (CV-Bench 3D, not in PixCV-Bench), 0 could not be mapped" \
        in result.summary()
    # Another declared rule: COCO rows are the ones PixCV-Bench does not hold; its words say so.
    vlmevalkit = PIXCVBENCH.harnesses.vlmevalkit
    assert vlmevalkit is not None and vlmevalkit.skipped is not None
    coco = dataclasses.replace(vlmevalkit.skipped, reason="coco", message="a COCO row", summary="COCO, made up",
                               values={"source": ("coco",)})
    _declare(monkeypatch, PIXCVBENCH, vlmevalkit=dataclasses.replace(vlmevalkit, skipped=coco))
    result = convert_bridge("vlmevalkit", source, model="m")
    assert [p.id for p in result.predictions] == [0, 5]
    assert [(s.key, s.reason, s.message) for s in result.skipped] == [("index 633", "coco", "a COCO row")]
    assert "3 row(s) read: 2 mapped, 1 skipped (COCO, made up), 0 could not be mapped" in result.summary()
    assert result.report_json()["skipped"][0]["reason"] == "coco"
    # No rule: every row is PixCV-Bench's.
    _declare(monkeypatch, PIXCVBENCH, vlmevalkit=dataclasses.replace(vlmevalkit, skipped=None))
    result = convert_bridge("vlmevalkit", source, model="m")
    assert [p.id for p in result.predictions] == [0, 5, 633] and result.skipped == []
    assert "3 row(s) read: 3 mapped, 0 could not be mapped" in result.summary()


def test_vlmevalkit_file_name_marks_a_file_without_the_columns(tmp_path: Path) -> None:
    """A file without ``split`` and ``source`` is all 3D when its name says so, in a PixCV-Bench conversion only;
    with either column, the column decides."""
    rows = [[0, "How many?", "How many? (A) 1", "A"], [1, "How far?", "How far? (A) 1", "B"]]
    three_d = write_tsv(tmp_path / "qwen_CV-Bench-3D.tsv", ["index", "question", "prompt", "prediction"], rows)
    result = convert_bridge("vlmevalkit", three_d, model="m")
    assert result.benchmark == "pixcvbench" and result.predictions == []
    assert [(s.line, s.reason) for s in result.skipped] == [(2, "cvbench-3d"), (3, "cvbench-3d")]
    with_split = write_tsv(tmp_path / "qwen_CV-Bench-3D_split.tsv", ["index", "question", "split", "prediction"],
                           [[0, "How many?", "2D", "A"], [1, "How far?", "3D", "B"]])
    result = convert_bridge("vlmevalkit", with_split, model="m")
    assert [p.id for p in result.predictions] == [0] and [s.line for s in result.skipped] == [3]
    # An MMVP file whose name holds "3d": MMVP declares no such rows, so none is skipped as CV-Bench 3D (the
    # converter's own rule skipped every row of it whatever the benchmark).
    mmvp = write_tsv(tmp_path / "llava_MMVP_3d.tsv", ["index", "question", "prediction"], [[0, "Is it?", "A"],
                                                                                          [1, "Is it?", "B"]])
    result = convert_bridge("vlmevalkit", mmvp, model="m")
    assert result.benchmark == "pixmmvp" and [p.id for p in result.predictions] == [1, 2] and result.skipped == []
    assert "2 row(s) read: 2 mapped, 0 could not be mapped" in result.summary()


def test_lmms_eval_rows_skipped_are_the_row_benchmarks_declaration(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    cv = [_legacy({"idx": 0, "type": "2D", "source": "ADE20K", "question": "How many?"}),
          _legacy({"idx": 5, "type": "3D", "source": "Omni3D", "question": "How far?"}),
          {"doc_id": 2, "filtered_resps": "B", "input": "How many?", "cv_bench_acc": {"id": 6, "type": "2D",
                                                                                      "source": "Omni3D"}}]
    source = write_jsonl(tmp_path / "samples_cv_bench.jsonl", cv)
    result = convert_bridge("lmms-eval", source, model="m")
    assert [p.id for p in result.predictions] == [0]
    assert [(s.key, s.reason) for s in result.skipped] == [("doc_id 0 (idx 5)", "cvbench-3d"),
                                                           ("doc_id 2 (cv_bench_acc.id 6)", "cvbench-3d")]
    lmms = PIXCVBENCH.harnesses.lmms_eval
    assert lmms is not None and lmms.skipped is not None
    _declare(monkeypatch, PIXCVBENCH, lmms_eval=dataclasses.replace(lmms, skipped=None))
    result = convert_bridge("lmms-eval", source, model="m")
    assert [p.id for p in result.predictions] == [0, 5, 6] and result.skipped == []
    # A rule PixMMVP declares reads the dict of MMVP rows (here its doc's Question), and only PixMMVP's.
    mmvp = [_legacy({"Index": 3, "Question": "Is it?"}), _legacy({"Index": 4, "Question": "Not ours?"})]
    mmvp_source = write_jsonl(tmp_path / "samples_mmvp.jsonl", mmvp)
    assert [p.id for p in convert_bridge("lmms-eval", mmvp_source, model="m").predictions] == [3, 4]
    mmvp_lmms = PIXMMVP.harnesses.lmms_eval
    assert mmvp_lmms is not None
    rule = dataclasses.replace(lmms.skipped, reason="made-up", message="not a PixMMVP row", summary="made up",
                               values={"Question": ("not ours?",)})
    _declare(monkeypatch, PIXMMVP, lmms_eval=dataclasses.replace(mmvp_lmms, skipped=rule))
    result = convert_bridge("lmms-eval", mmvp_source, model="m")
    assert [p.id for p in result.predictions] == [3]
    assert [(s.line, s.reason, s.message) for s in result.skipped] == [(2, "made-up", "not a PixMMVP row")]
    assert "2 row(s) read: 1 mapped, 1 skipped (made up), 0 could not be mapped" in result.summary()
    assert [p.id for p in convert_bridge("lmms-eval", source, model="m").predictions] == [0, 5, 6]
