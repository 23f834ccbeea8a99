"""Bridges from other evaluation harnesses' outputs to a predictions file (``pixbench convert --from ...``).

Both harnesses run the MMVP and CV-Bench multiple-choice questions with an option-letter instruction, so
their answers become ``letter`` probe lines (``response`` = the harness's raw model output, ``model`` =
``--model`` or the output file's stem). Rows map **by the benchmark's ids, never by position**.

**lmms-eval** (``--log_samples``; ``samples_*.jsonl``, one JSON object per line; a ``.json`` array of those
objects, or an object with them under ``logs`` as older versions wrote, is read too). Each line is read in the
layout it has (a file may mix them; a line that fits neither is ``malformed``, with its line number):

- *current* (the writer of lmms-eval 0.4 and later, ``loggers/evaluation_tracker.py``: no ``doc``, no
  ``arguments``): ``doc_id``, ``target``, ``input`` (the prompt text the model got), ``filtered_resps`` (and
  ``resps`` when it differs), ``doc_hash``, ... and the task's metric dicts, which carry the id:

  - task ``mmvp``: ``mmvp_accuracy`` (and ``mmvp_pair_accuracy``) = ``{"index": Index - 1, "pair_index",
    "pred", "gt", ...}``; row id = ``index + 1`` (a run on the image-only ``MMVP/MMVP`` logs ``index`` -1 and
    cannot be mapped).
  - tasks ``cv_bench``, ``cv_bench_2d``, ``cv_bench_3d``: ``cv_bench_acc`` = ``{"id": idx, "type", "task",
    "source", "pred", ...}``; row id = ``id``; ``type`` 3D or ``source`` Omni3D rows are skipped.

  The benchmark comes from those keys. With the dataset, the dataset row's question must appear in ``input``
  (case and spacing ignored), which catches a wrong id; ``input`` goes to ``prompt``.
- *legacy* (with ``doc``, the dataset row minus image columns; before 0.4): ``doc_id`` (position in the task's
  dataset; only named in messages), ``doc``, ``filtered_resps`` (else ``resps``) and ``arguments`` (its first
  string, the prompt, goes to ``prompt``; else ``input``).

  - task ``mmvp`` (dataset ``lmms-lab-eval/MMVP``): ``doc`` = ``Index`` (1..300), ``Question``, ``Options``,
    ``Correct Answer``; row id = ``Index`` (PixMMVP ids are MMVP's). Runs on the image-only ``MMVP/MMVP`` log an
    empty ``doc`` and cannot be mapped.
  - tasks ``cv_bench``, ``cv_bench_2d``, ``cv_bench_3d`` (``nyu-visionx/CV-Bench``): ``doc`` = ``idx``, ``type``
    (``2D``/``3D``), ``task``, ``question``, ``choices``, ``prompt``, ``source``, ...; row id = ``idx``. 3D rows
    (``type`` 3D or ``source`` Omni3D) are not part of PixCV-Bench: they are *skipped* and listed, not errors.

In both, ``filtered_resps`` holds one entry per request, a string or a one-element list holding it.

**VLMEvalKit** (``{model}_{dataset}.xlsx``, or ``.tsv``: the dataset's TSV columns minus ``image`` plus
``prediction``). Fields used: ``index``, ``prediction``, and ``question``, ``prompt``, ``split``, ``source``.

- ``MMVP``: ``index`` counts from 0 (the pair 99/100 of MMVP's labels is VLMEvalKit's 98/99, lmms-eval issue
  #1018), so row id = ``index + 1``; ``--id-base 1`` for a file that counts from 1.
- ``CV-Bench-2D``: ``index`` = CV-Bench ``idx`` (id base 0); ``split`` 3D or ``source`` Omni3D rows (a
  ``CV-Bench-3D`` file) are skipped.

The benchmark comes from the rows (``doc`` or metric-dict keys; the columns ``split``/``source``/``prompt`` or
a file name with ``CV-Bench``/``MMVP``) unless given. With the dataset (``reference``), ids must exist in it and
a row's question must match the dataset row's (case and spacing ignored; one may contain the other; for a
current lmms-eval line, ``input`` must contain it), which catches a wrong id base.

A row that cannot be mapped is *unmapped*, with a reason: ``malformed`` (unreadable row or id),
``no-prediction`` (missing or empty prediction), ``unknown-id`` (not a row of the benchmark/dataset),
``question-mismatch``, ``duplicate`` (a second row for an id; the first is kept) or ``other-benchmark``. The
command line exits 1 and writes nothing when any row is unmapped, unless ``--allow-unmapped``.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import re
import sys
from collections.abc import Collection, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from pixbench.convert import FIRST_ID, ID_RANGES, _existing_keys
from pixbench.predictions import BENCHMARKS, Prediction, write_predictions
from pixbench.references import Reference, ReferenceError, load_reference

__all__ = ["SOURCES", "VLMEVALKIT_ID_BASE", "BridgeError", "BridgeResult", "RowIssue", "SourceRow",
           "SourceTable", "convert_bridge", "map_rows", "read_lmms_eval", "read_source", "read_vlmevalkit"]

Source = Literal["lmms-eval", "vlmevalkit"]
SOURCES: tuple[str, ...] = ("lmms-eval", "vlmevalkit")
#: What VLMEvalKit's ``index`` gives the benchmark's first row (see the module docstring).
VLMEVALKIT_ID_BASE = {"pixmmvp": 0, "pixcvbench": 0}
#: Reasons a row is unmapped.
REASONS = ("malformed", "no-prediction", "unknown-id", "question-mismatch", "duplicate", "other-benchmark")
SKIP_3D = "cvbench-3d"
REPORT_LIMIT = 50

_INT_TEXT = re.compile(r"^\s*-?\d+\s*$")


class BridgeError(ValueError):
    """An input that cannot be read at all (missing file, wrong format, unknown benchmark, no openpyxl)."""


@dataclass(frozen=True)
class SourceRow:
    """One row of a harness's output, read but not yet mapped to a dataset row.

    ``number`` is the file's own id (MMVP ``Index``, CV-Bench ``idx``, VLMEvalKit ``index``); ``problem`` is
    ``(reason, message)`` when the row cannot be read. ``question`` is the row's question text (compared with
    the dataset's either way round); ``context``, for a row without one, is a text that must contain the
    dataset's question (a current lmms-eval line's ``input``).
    """

    line: int
    key: str
    benchmark: str | None = None
    number: int | None = None
    response: str | None = None
    prompt: str | None = None
    question: str | None = None
    is_3d: bool = False
    problem: tuple[str, str] | None = None
    context: str | None = None


@dataclass(frozen=True)
class SourceTable:
    """The rows of one input file and the benchmark its layout points to (``None``: cannot tell)."""

    source: str
    path: Path
    rows: list[SourceRow]
    benchmark: str | None = None


@dataclass(frozen=True)
class RowIssue:
    """A row that was skipped or could not be mapped: where, what the file called it, why."""

    file: str
    line: int
    key: str
    reason: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.key}: {self.reason}: {self.message}"


@dataclass
class BridgeResult:
    """The predictions made from one file, with every row that was skipped or could not be mapped."""

    source: str
    file: str
    benchmark: str
    model: str
    rows: int
    predictions: list[Prediction] = field(default_factory=list)
    unmapped: list[RowIssue] = field(default_factory=list)
    skipped: list[RowIssue] = field(default_factory=list)
    missing_ids: list[int] | None = None

    def summary(self) -> str:
        """One line: rows read, mapped, skipped, unmapped (and dataset rows without a prediction)."""
        parts = [f"{len(self.predictions)} mapped"]
        if self.skipped:
            parts.append(f"{len(self.skipped)} skipped (CV-Bench 3D, not in PixCV-Bench)")
        parts.append(f"{len(self.unmapped)} could not be mapped")
        text = f"{self.source} {self.file} -> {self.benchmark}: {self.rows} row(s) read: " + ", ".join(parts)
        if self.missing_ids:
            text += f"; {len(self.missing_ids)} dataset row(s) have no prediction (scored as missing)"
        return text

    def report_text(self, limit: int = REPORT_LIMIT) -> str:
        """The summary, then the unmapped rows (at most ``limit``), each ``file:line: key: reason: message``."""
        lines = [self.summary()]
        if self.unmapped:
            counts: dict[str, int] = {}
            for issue in self.unmapped:
                counts[issue.reason] = counts.get(issue.reason, 0) + 1
            lines.append("unmapped rows (" + ", ".join(f"{n} {r}" for r, n in counts.items()) + "):")
            lines.extend(f"  {issue}" for issue in self.unmapped[:limit])
            if len(self.unmapped) > limit:
                lines.append(f"  ... and {len(self.unmapped) - limit} more")
        return "\n".join(lines)

    def report_json(self) -> dict[str, Any]:
        """The report as a JSON object (what ``--report FILE`` writes)."""
        return {"source": self.source, "file": self.file, "benchmark": self.benchmark, "model": self.model,
                "rows": self.rows, "mapped": len(self.predictions),
                "unmapped": [asdict(i) for i in self.unmapped], "skipped": [asdict(i) for i in self.skipped],
                "missing_ids": self.missing_ids}


# ----------------------------------------------------------------------------- reading values


def _as_int(value: Any) -> int | None:
    """An id value as an int (ints, integral floats as xlsx gives them, digit strings), else ``None``."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    if isinstance(value, str) and _INT_TEXT.match(value):
        return int(value)
    return None


def _cell_text(value: Any) -> str | None:
    """A spreadsheet cell as text; ``None`` for an empty cell (None, NaN, blank)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    text = value if isinstance(value, str) else str(value)
    return text if text.strip() else None


def _lmms_response(obj: dict[str, Any]) -> tuple[str | None, tuple[str, str] | None]:
    """The model's text of a sample: ``filtered_resps`` (else ``resps``) unwrapped to one string."""
    name = "filtered_resps" if "filtered_resps" in obj else "resps"
    value = obj.get(name)
    while isinstance(value, list) and len(value) == 1:
        value = value[0]
    if isinstance(value, str):
        return value, None
    if value is None or value == []:
        return None, ("no-prediction", f"`{name}` holds no response")
    if isinstance(value, list):
        return None, ("malformed", f"`{name}` holds {len(value)} responses for one doc; expected one")
    return None, ("malformed", f"`{name}` must hold a string, but holds {type(value).__name__}")


#: The metric dicts of a current (0.4+) lmms-eval sample line that carry the id: key -> (benchmark, id field).
LMMS_METRICS: dict[str, tuple[str, str]] = {"mmvp_accuracy": ("pixmmvp", "index"),
                                            "mmvp_pair_accuracy": ("pixmmvp", "index"),
                                            "cv_bench_acc": ("pixcvbench", "id")}
_IMAGE_ONLY_MMVP = ("lmms-eval's mmvp task on the image-only MMVP/MMVP dataset logs no Index: run it on "
                    "lmms-lab-eval/MMVP")


def _lmms_row(number: int, obj: Any) -> SourceRow:
    """A sample line in whichever layout it has: legacy (with ``doc``) or current (metric dicts, ``input``)."""
    if not isinstance(obj, dict):
        return SourceRow(number, "sample", problem=("malformed", f"expected a JSON object, got {type(obj).__name__}"))
    key = f"doc_id {obj['doc_id']}" if "doc_id" in obj else "sample"
    if "doc" in obj:
        return _lmms_legacy_row(number, key, obj)
    metrics = [name for name in LMMS_METRICS if name in obj]
    if metrics:
        return _lmms_current_row(number, key, obj, metrics)
    keys = ", ".join(sorted(map(str, obj))[:12]) or "none"
    return SourceRow(number, key, problem=(
        "malformed", "fits neither lmms-eval sample layout: no `doc` (the legacy writer's dataset row) and no "
                     f"`mmvp_accuracy` or `cv_bench_acc` metric dict (the current writer's); its keys: {keys}"))


def _lmms_prompt(obj: dict[str, Any]) -> str | None:
    """The prompt of a sample: the first string of ``arguments`` (legacy), else ``input``."""
    arguments = obj.get("arguments")
    if isinstance(arguments, list):
        found = next((a for a in arguments if isinstance(a, str)), None)
        if found is not None:
            return found
    value = obj.get("input")
    return value if isinstance(value, str) else None


def _lmms_legacy_row(number: int, key: str, obj: dict[str, Any]) -> SourceRow:
    doc = obj.get("doc")
    if not isinstance(doc, dict):
        return SourceRow(number, key, problem=("malformed", "`doc` must be the dataset row (a JSON object), "
                                                            f"but is {type(doc).__name__}"))
    response, problem = _lmms_response(obj)
    prompt = _lmms_prompt(obj)
    if "idx" in doc:
        benchmark, name, question = "pixcvbench", "idx", doc.get("question")
        is_3d = str(doc.get("type", "")).upper() == "3D" or str(doc.get("source", "")).lower() == "omni3d"
    elif "Index" in doc or "index" in doc:
        name = "Index" if "Index" in doc else "index"
        benchmark, question, is_3d = "pixmmvp", doc.get("Question", doc.get("question")), False
    else:
        return SourceRow(number, key, response=response, prompt=prompt, problem=(
            "malformed", f"`doc` holds neither MMVP's `Index` nor CV-Bench's `idx` ({_IMAGE_ONLY_MMVP})"))
    value = _as_int(doc[name])
    key = f"{key} ({name} {doc[name]!r})"
    if value is None:
        problem = ("malformed", f"`doc.{name}` must be an int, but got {doc[name]!r}")
    return SourceRow(number, key, benchmark, value, response, prompt,
                     question if isinstance(question, str) else None, is_3d, problem)


def _lmms_current_row(number: int, key: str, obj: dict[str, Any], metrics: list[str]) -> SourceRow:
    """A line of lmms-eval 0.4+'s writer: the id is in the task's metric dict, the prompt text in ``input``."""
    response, problem = _lmms_response(obj)
    prompt = _lmms_prompt(obj)
    benchmarks = {LMMS_METRICS[name][0] for name in metrics}
    if len(benchmarks) > 1:
        return SourceRow(number, key, response=response, prompt=prompt, problem=(
            "malformed", f"holds the metric dicts of both tasks ({', '.join(f'`{m}`' for m in metrics)})"))
    metric = metrics[0]
    benchmark, field_name = LMMS_METRICS[metric]
    values = obj[metric]
    where = f"`{metric}.{field_name}`"
    if not isinstance(values, dict):
        return SourceRow(number, key, benchmark, response=response, prompt=prompt, problem=(
            "malformed", f"`{metric}` must be the task's per-sample dict (with `{field_name}`), "
                         f"but is {type(values).__name__}"))
    if field_name not in values:
        return SourceRow(number, key, benchmark, response=response, prompt=prompt,
                         problem=("malformed", f"`{metric}` has no `{field_name}` (the row id)"))
    raw = values[field_name]
    value = _as_int(raw)
    key = f"{key} ({metric}.{field_name} {raw!r})"
    is_3d = False
    if value is None:
        problem = ("malformed", f"{where} must be an int, but got {raw!r}")
    elif benchmark == "pixmmvp":
        if value < 0:  # mmvp_process_results gives -1 to a doc without an Index
            problem = ("malformed", f"{where} is {value}: the doc had no Index ({_IMAGE_ONLY_MMVP})")
        value += 1  # process_results logs Index - 1
    else:
        is_3d = str(values.get("type", "")).upper() == "3D" or str(values.get("source", "")).lower() == "omni3d"
    context = obj.get("input")
    return SourceRow(number, key, benchmark, value, response, prompt, None, is_3d, problem,
                     context if isinstance(context, str) else None)


@dataclass(frozen=True)
class _Invalid:
    """A samples-file line that is not JSON."""

    message: str


def _json_objects(path: Path) -> Iterator[tuple[int, Any]]:
    """``(line or entry number, object)`` of a samples file; invalid JSON lines give ``(n, _Invalid)``."""
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise BridgeError(f"{path}: invalid JSON: {exc.msg} (line {exc.lineno})") from None
        if isinstance(data, dict) and isinstance(data.get("logs"), list):
            data = data["logs"]
        if not isinstance(data, list):
            raise BridgeError(f"{path}: expected a list of samples (or an object with `logs`), "
                              f"but got {type(data).__name__}")
        yield from enumerate(data, start=1)
        return
    with path.open(encoding="utf-8") as handle:
        for number, text in enumerate(handle, start=1):
            if not text.strip():
                continue
            try:
                yield number, json.loads(text)
            except json.JSONDecodeError as exc:
                yield number, _Invalid(f"invalid JSON: {exc.msg} (column {exc.colno})")


def read_lmms_eval(path: str | Path) -> SourceTable:
    """The samples of an lmms-eval ``--log_samples`` file (``.jsonl``, or ``.json``)."""
    path = _existing(path)
    rows = [SourceRow(n, "line", problem=("malformed", obj.message)) if isinstance(obj, _Invalid) else _lmms_row(n, obj)
            for n, obj in _json_objects(path)]
    benchmark = next((r.benchmark for r in rows if r.benchmark is not None), None)
    return SourceTable("lmms-eval", path, rows, benchmark)


#: The VLMEvalKit columns the bridge reads (others, such as a base64 ``image``, are dropped while reading).
_VLMEVALKIT_COLUMNS = ("index", "prediction", "question", "prompt", "split", "source")
Records = list[tuple[int, dict[str, Any]]]


def _tsv_records(path: Path) -> tuple[list[str], Records]:
    """Header and ``(row number, {column: cell})`` of a TSV (row 1 = header, as in a spreadsheet)."""
    csv.field_size_limit(2**31 - 1)  # a base64 image column can hold megabytes
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle, delimiter="\t")
        header = [h.strip() for h in next(reader, [])]
        keep = {name: k for k, name in enumerate(header) if name in _VLMEVALKIT_COLUMNS}
        records = [(number, {name: row[k] if k < len(row) else None for name, k in keep.items()})
                   for number, row in enumerate(reader, start=2) if any(cell.strip() for cell in row)]
    return header, records


def _xlsx_records(path: Path) -> tuple[list[str], Records]:
    """The same for the first sheet of an ``.xlsx`` workbook (needs openpyxl)."""
    try:
        from openpyxl import load_workbook
    except ImportError:
        raise BridgeError(f"{path}: reading .xlsx files needs openpyxl: pip install openpyxl "
                          "(or save the sheet as .tsv)") from None
    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl/zipfile raise many types for a file that is not a workbook
        raise BridgeError(f"{path}: not a readable .xlsx workbook: {exc}") from None
    try:
        values = book.worksheets[0].iter_rows(values_only=True)
        header = ["" if h is None else str(h).strip() for h in next(values, ())]
        keep = {name: k for k, name in enumerate(header) if name in _VLMEVALKIT_COLUMNS}
        records = [(number, {name: row[k] if k < len(row) else None for name, k in keep.items()})
                   for number, row in enumerate(values, start=2)
                   if any(_cell_text(cell) is not None for cell in row)]
    finally:
        book.close()
    return header, records


def read_vlmevalkit(path: str | Path) -> SourceTable:
    """The rows of a VLMEvalKit prediction file (``.xlsx`` needs openpyxl; ``.tsv``)."""
    path = _existing(path)
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        header, records = _xlsx_records(path)
    elif suffix in (".tsv", ".txt"):
        header, records = _tsv_records(path)
    else:
        raise BridgeError(f"{path}: expected a VLMEvalKit .xlsx or .tsv file, but got {suffix or 'no suffix'!r}")
    missing = [c for c in ("index", "prediction") if c not in header]
    if missing:
        raise BridgeError(f"{path}: not a VLMEvalKit prediction file: no column(s) {missing} "
                          f"(the header has {header[:12]})")
    columns, name = set(header), path.stem.lower()
    is_cv = bool({"split", "source", "prompt"} & columns) or "cv-bench" in name or "cvbench" in name
    benchmark = "pixcvbench" if is_cv else ("pixmmvp" if "mmvp" in name else None)
    whole_3d = "3d" in name and not ({"split", "source"} & columns)
    out: list[SourceRow] = []
    for number, cells in records:
        raw = cells["index"]
        value, response = _as_int(raw), _cell_text(cells["prediction"])
        is_3d = whole_3d or str(cells.get("split") or "").strip().upper() == "3D" \
            or str(cells.get("source") or "").strip().lower() == "omni3d"
        problem = None
        if value is None:
            problem = ("malformed", f"`index` must be an int, but got {raw!r}")
        elif response is None:
            problem = ("no-prediction", "empty `prediction`")
        out.append(SourceRow(number, f"index {_cell_text(raw)}", None, value, response,
                             _cell_text(cells.get("prompt")) if is_cv else None, _cell_text(cells.get("question")),
                             is_3d, problem))
    return SourceTable("vlmevalkit", path, out, benchmark)


def read_source(source: str, path: str | Path) -> SourceTable:
    """Read an input of ``source`` (``lmms-eval`` or ``vlmevalkit``)."""
    if source == "lmms-eval":
        return read_lmms_eval(path)
    if source == "vlmevalkit":
        return read_vlmevalkit(path)
    raise ValueError(f"Expected `source` to be one of {', '.join(SOURCES)}, but got {source!r}")


def _existing(path: str | Path) -> Path:
    path = Path(path)
    if not path.is_file():
        raise BridgeError(f"{path}: file not found")
    return path


# ----------------------------------------------------------------------------- mapping


def _normalise(text: str) -> str:
    return " ".join(text.casefold().split())


def _same_question(ours: str, theirs: str) -> bool:
    a, b = _normalise(ours), _normalise(theirs)
    return bool(a) and bool(b) and (a == b or a in b or b in a)


def _in_text(question: str, text: str) -> bool:
    """Whether ``text`` (a whole prompt) contains ``question``, case and spacing ignored."""
    a = _normalise(question)
    return bool(a) and a in _normalise(text)


def resolve_benchmark(table: SourceTable, benchmark: str | None) -> str:
    """The benchmark to map to: ``benchmark`` when given (it must agree with the file), else the file's."""
    if benchmark is not None and benchmark not in BENCHMARKS:
        raise ValueError(f"Expected `benchmark` to be one of {', '.join(BENCHMARKS)}, but got {benchmark!r}")
    if table.source == "vlmevalkit" and benchmark is not None and table.benchmark not in (None, benchmark):
        raise BridgeError(f"{table.path}: the file looks like {table.benchmark} (its columns or name), "
                          f"not {benchmark}")
    found = benchmark or table.benchmark
    if found is None:
        hint = " (no line has a `doc`, nor an `mmvp_accuracy` or `cv_bench_acc` metric dict)" \
            if table.source == "lmms-eval" else ""
        raise BridgeError(f"{table.path}: cannot tell which benchmark the file is for{hint}; pass --benchmark")
    return found


def map_rows(table: SourceTable, *, model: str, benchmark: str | None = None, reference: Reference | None = None,
             id_base: int | None = None) -> BridgeResult:
    """Map a table's rows to ``letter`` predictions by the benchmark's ids; see the module docstring.

    ``id_base`` (VLMEvalKit only) is the ``index`` of the benchmark's first row (default
    :data:`VLMEVALKIT_ID_BASE`). With ``reference``, ids are checked against the dataset and questions compared.
    """
    if not model:
        raise ValueError("Expected `model` to be a non-empty name")
    name = resolve_benchmark(table, benchmark)
    if reference is not None and reference.benchmark != name:
        raise BridgeError(f"the dataset given is {reference.benchmark}, but {table.path} is for {name}")
    if table.source == "lmms-eval" and id_base is not None:
        raise ValueError("`id_base` applies to VLMEvalKit files only: lmms-eval docs carry the benchmark's ids")
    offset = 0 if table.source == "lmms-eval" else \
        FIRST_ID[name] - (VLMEVALKIT_ID_BASE[name] if id_base is None else id_base)
    valid: Collection[int] = reference.rows if reference is not None else ID_RANGES[name]
    where = "the dataset" if reference is not None else name
    result = BridgeResult(table.source, str(table.path), name, model, len(table.rows))
    first: dict[int, SourceRow] = {}

    def unmapped(row: SourceRow, reason: str, message: str) -> None:
        result.unmapped.append(RowIssue(str(table.path), row.line, row.key, reason, message))

    for row in table.rows:
        if row.benchmark is not None and row.benchmark != name:
            unmapped(row, "other-benchmark", f"a {row.benchmark} row in a conversion to {name}")
            continue
        if row.is_3d:
            result.skipped.append(RowIssue(str(table.path), row.line, row.key, SKIP_3D,
                                           "a CV-Bench 3D row (PixCV-Bench holds the 2D questions only)"))
            continue
        if row.problem is not None and row.problem[0] != "no-prediction":
            unmapped(row, *row.problem)
            continue
        if row.number is None:
            unmapped(row, "malformed", "no id")
            continue
        row_id = row.number + offset
        if row_id not in valid:
            unmapped(row, "unknown-id", f"gives row id {row_id}, which is not in {where}")
            continue
        if reference is not None and row.question is not None \
                and not _same_question(reference.rows[row_id].question, row.question):
            unmapped(row, "question-mismatch", f"question {row.question[:80]!r} differs from dataset row {row_id}'s "
                                               f"{reference.rows[row_id].question[:80]!r} (wrong id base?)")
            continue
        if reference is not None and row.question is None and row.context is not None \
                and not _in_text(reference.rows[row_id].question, row.context):
            unmapped(row, "question-mismatch", f"dataset row {row_id}'s question "
                                               f"{reference.rows[row_id].question[:80]!r} is not in the row's "
                                               f"`input` {row.context[:120]!r} (wrong id?)")
            continue
        if row.problem is not None or row.response is None:
            unmapped(row, *(row.problem or ("no-prediction", "no response")))
            continue
        if row_id in first:
            same = "the same" if first[row_id].response == row.response else "a different"
            unmapped(row, "duplicate", f"second row for row id {row_id} ({same} response); "
                                       f"the first, line {first[row_id].line}, is kept")
            continue
        first[row_id] = row
        result.predictions.append(Prediction(benchmark=name, id=row_id, probe="letter", model=model,
                                             response=row.response, prompt=row.prompt))
    result.predictions.sort(key=lambda p: p.id)
    if reference is not None:
        result.missing_ids = sorted(set(reference.rows) - set(first))
    return result


def convert_bridge(source: str, path: str | Path, *, model: str, benchmark: str | None = None,
                   reference: Reference | None = None, id_base: int | None = None) -> BridgeResult:
    """Read an lmms-eval or VLMEvalKit file and map it to ``letter`` predictions (:func:`map_rows`)."""
    return map_rows(read_source(source, path), model=model, benchmark=benchmark, reference=reference,
                    id_base=id_base)


# ----------------------------------------------------------------------------- command line

EPILOG = """
lmms-eval and VLMEvalKit (--from lmms-eval FILE, --from vlmevalkit FILE):
  FILE               lmms-eval --log_samples output of the mmvp or cv_bench(_2d) task (samples_*.jsonl),
                     or VLMEvalKit's {model}_MMVP / {model}_CV-Bench-2D prediction file (.xlsx needs
                     openpyxl, or .tsv); becomes `letter` lines, response = the harness's output
  ids                lmms-eval 0.4+ lines (no doc): mmvp_accuracy.index + 1 (MMVP Index) and
                     cv_bench_acc.id (CV-Bench idx); older lines with doc: doc Index and doc idx;
                     VLMEvalKit: index, counted from 0 for MMVP (row id = index + 1; --id-base 1 if
                     yours counts from 1) and = CV-Bench idx for CV-Bench-2D; never by position
  --benchmark        detected from the file; --probe may only be letter
  --data             checks ids and questions against the built dataset (lmms-eval 0.4+: the
                     question must appear in the line's input) and counts dataset rows without
                     a prediction
  unmapped rows      unreadable rows or ids, empty predictions, ids not in the benchmark, questions
                     that differ from the dataset's, duplicates and rows of the other benchmark are
                     listed on stderr (and in --report FILE, JSON); any of them makes the command exit 1
                     and write nothing unless --allow-unmapped. CV-Bench 3D rows are skipped and
                     counted, not errors (--report lists them).

  pixbench convert --from lmms-eval logs/llava/20250101_samples_mmvp.jsonl --model llava-1.5-7b \\
      --data pixmmvp --out llava-1.5-7b.jsonl
  pixbench convert --from vlmevalkit outputs/llava/llava_CV-Bench-2D.tsv --out llava.jsonl --append"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the bridge options (``--report``, ``--allow-unmapped``) to the ``convert`` parser."""
    group = parser.add_argument_group("lmms-eval and VLMEvalKit (--from lmms-eval|vlmevalkit FILE)")
    group.add_argument("--report", metavar="FILE.json",
                       help="write the mapping report (mapped, skipped and unmapped rows) as JSON")
    group.add_argument("--allow-unmapped", action="store_true",
                       help="write the rows that map even when some cannot be mapped (exit 0)")


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 1


def _reference_only(args: argparse.Namespace) -> list[str]:
    names = ("answers", "masks", "candidates", "meta", "selection")
    return [f"--{n}" for n in names if getattr(args, n, None) is not None] + \
        (["--selection-id-base"] if getattr(args, "selection_id_base", 0) not in (0, None) else [])


def _write_report(path: str, result: BridgeResult) -> None:
    Path(path).write_text(json.dumps(result.report_json(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def run(args: argparse.Namespace) -> int:
    """``pixbench convert --from lmms-eval|vlmevalkit FILE``: map, report, write; 1 on any unmapped row."""
    source = args.source_format
    if getattr(args, "source", None) is None:
        return _fail(f"--from {source} needs the input file: pixbench convert --from {source} FILE --out PREDS.jsonl")
    stray = _reference_only(args)
    if stray:
        return _fail(f"{', '.join(stray)} apply to --from reference only")
    if args.probe not in (None, "letter"):
        return _fail(f"{source} files hold option-letter answers: the probe is letter, not {args.probe}")
    if source == "lmms-eval" and args.id_base is not None:
        return _fail("--id-base applies to --from reference and vlmevalkit (lmms-eval docs carry the ids)")
    out = Path(args.out)
    model = args.model or out.stem
    if out.exists() and not (args.append or args.force):
        return _fail(f"{out} exists; pass --append to add to it or --force to overwrite it")
    try:
        table = read_source(source, args.source)
        benchmark = resolve_benchmark(table, args.benchmark)
        reference = load_reference(benchmark, args.data) if args.data else None
        result = map_rows(table, model=model, benchmark=benchmark, reference=reference, id_base=args.id_base)
    except (BridgeError, ReferenceError, ValueError, OSError) as exc:
        return _fail(str(exc))
    print(result.report_text(), file=sys.stderr)
    if args.report:
        try:
            _write_report(args.report, result)
        except OSError as exc:
            return _fail(f"cannot write the report {args.report}: {exc}")
    if result.unmapped and not args.allow_unmapped:
        return _fail(f"{len(result.unmapped)} row(s) could not be mapped; nothing written (see above"
                     f"{' and ' + args.report if args.report else ''}; --allow-unmapped writes the "
                     f"{len(result.predictions)} that map)")
    if not result.predictions:
        return _fail(f"no row of {args.source} maps to {benchmark}; nothing written")
    if args.append and out.exists():
        existing = _existing_keys(out)
        clash = sorted(p.id for p in result.predictions if p.key[:4] in existing)
        if clash:
            return _fail(f"{out} already has lines for model {model!r}, {benchmark}, probe letter, ids "
                         f"{clash[:10]}{' ...' if len(clash) > 10 else ''}; nothing written")
    write_predictions(out, result.predictions, append=args.append)
    print(f"{'appended to' if args.append else 'wrote'} {out}: {len(result.predictions)} line(s) of "
          f"{benchmark}/letter for model {model!r}", file=sys.stderr)
    return 0
