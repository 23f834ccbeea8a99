"""Rows of another harness's output, mapped to ``letter`` predictions by the benchmark's ids.

The readers (:mod:`pixbench.ingest.lmms_eval`, :mod:`pixbench.ingest.vlmevalkit`) turn a file into a
:class:`SourceTable` of :class:`SourceRow` records without deciding anything; :func:`map_rows` maps them,
**by the benchmark's ids, never by position**, and returns a :class:`BridgeResult`: the predictions and every
row that was skipped or could not be mapped, with a reason.

A row's ``number`` is the file's own id. Where the file counts rows from its own base (``SourceTable.id_bases``,
a fact of the format), row id = ``number - base + first`` (``first``: the benchmark's first row id); otherwise
``number`` already is the row id. The benchmark comes from the rows or the file (``SourceTable.benchmark``)
unless given. With the dataset (``reference``), ids must exist in it and a row's question must match the
dataset row's (case and spacing ignored; one may contain the other; a row with only a ``context``, such as a
current lmms-eval line's ``input``, must contain it), which catches a wrong id base.

A row that cannot be mapped is *unmapped*, with a reason: ``malformed`` (unreadable row or id),
``no-prediction`` (missing or empty prediction), ``unknown-id`` (not a row of the benchmark/dataset),
``question-mismatch``, ``duplicate`` (a second row for an id; the first is kept) or ``other-benchmark``.
Rows the benchmark declares it does not hold (``harnesses``' :class:`~pixbench.benchmarks.harnesses.SkippedRows`,
e.g. CV-Bench's 3D questions in a PixCV-Bench conversion) are *skipped* and listed, not errors: the reader keeps
each row's values of the fields such rules read (``SourceRow.marks``) and the rule of each benchmark
(``SourceTable.skipped``), and the benchmark the rows map to decides.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pixbench.benchmarks import BENCHMARK_NAMES
from pixbench.benchmarks.harnesses import SkippedRows
from pixbench.ingest.common import benchmark_of, id_offset
from pixbench.predictions import Prediction
from pixbench.problems import ProblemLog, shorten

if TYPE_CHECKING:
    from pixbench.references import Reference

__all__ = ["REASONS", "REPORT_LIMIT", "BridgeError", "BridgeResult", "RowIssue", "SourceRow", "SourceTable", "as_int",
           "existing_file", "map_rows", "resolve_benchmark"]

#: Reasons a row is unmapped.
REASONS = ("malformed", "no-prediction", "unknown-id", "question-mismatch", "duplicate", "other-benchmark")
#: How many unmapped rows :meth:`BridgeResult.report_text` lists (it counts all of them).
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
    dataset's question (a current lmms-eval line's ``input``). ``marks`` holds the row's values of the fields that
    the benchmarks' :class:`~pixbench.benchmarks.harnesses.SkippedRows` read, those it has.
    """

    line: int
    key: str
    benchmark: str | None = None
    number: int | None = None
    response: str | None = None
    prompt: str | None = None
    question: str | None = None
    problem: tuple[str, str] | None = None
    context: str | None = None
    marks: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SourceTable:
    """The rows of one input file and the benchmark its layout points to (``None``: cannot tell).

    ``id_bases`` (benchmark name -> the ``number`` the format gives the benchmark's first row) is set by a
    format whose ids count from their own base; ``None`` when the rows' numbers are row ids already (then
    :func:`map_rows` refuses an ``id_base``). ``detection_hint`` explains, when no benchmark was found, what
    the reader looked for. ``skipped`` (benchmark name -> its rule, declared for the file's tool) tells the rows
    that a benchmark does not hold.
    """

    source: str
    path: Path
    rows: list[SourceRow]
    benchmark: str | None = None
    id_bases: Mapping[str, int] | None = None
    detection_hint: str = ""
    skipped: Mapping[str, SkippedRows] = field(default_factory=dict)

    @property
    def rows_name_benchmark(self) -> bool:
        """Whether the rows carry their benchmark (then rows of another one are unmapped one by one);
        otherwise :attr:`benchmark` is a guess from the whole file, which a given benchmark must agree with."""
        return any(row.benchmark is not None for row in self.rows)


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
    """The predictions made from one file, with every row that was skipped or could not be mapped (``skipped_as``:
    what the summary calls the skipped rows, :attr:`~pixbench.benchmarks.harnesses.SkippedRows.summary`)."""

    source: str
    file: str
    benchmark: str
    model: str
    rows: int
    predictions: list[Prediction] = field(default_factory=list)
    unmapped: list[RowIssue] = field(default_factory=list)
    skipped: list[RowIssue] = field(default_factory=list)
    missing_ids: list[int] | None = None
    skipped_as: str | None = None

    def summary(self) -> str:
        """One line: rows read, mapped, skipped, unmapped (and dataset rows without a prediction)."""
        parts = [f"{len(self.predictions)} mapped"]
        if self.skipped:
            parts.append(f"{len(self.skipped)} skipped" + (f" ({self.skipped_as})" if self.skipped_as else ""))
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
            log: ProblemLog[RowIssue] = ProblemLog(limit=limit)
            for issue in self.unmapped:
                counts[issue.reason] = counts.get(issue.reason, 0) + 1
                log.add(issue)
            lines.append("unmapped rows (" + ", ".join(f"{n} {r}" for r, n in counts.items()) + "):")
            lines.extend(f"  {line}" for line in log.lines())
        return "\n".join(lines)

    def report_json(self) -> dict[str, Any]:
        """The report as a JSON object (what ``--report FILE`` writes)."""
        return {"source": self.source, "file": self.file, "benchmark": self.benchmark, "model": self.model,
                "rows": self.rows, "mapped": len(self.predictions),
                "unmapped": [asdict(i) for i in self.unmapped], "skipped": [asdict(i) for i in self.skipped],
                "missing_ids": self.missing_ids}


# ----------------------------------------------------------------------------- reading values


def as_int(value: Any) -> int | None:
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


def existing_file(path: str | Path) -> Path:
    """``path`` as a :class:`~pathlib.Path`; :class:`BridgeError` unless it is a regular file."""
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
    if benchmark is not None and benchmark not in BENCHMARK_NAMES:
        raise ValueError(f"Expected `benchmark` to be one of {', '.join(BENCHMARK_NAMES)}, but got "
                         f"{shorten(benchmark)}")
    if benchmark is not None and table.benchmark is not None and table.benchmark != benchmark \
            and not table.rows_name_benchmark:
        raise BridgeError(f"{table.path}: the file looks like {table.benchmark} (its columns or name), "
                          f"not {benchmark}")
    found = benchmark or table.benchmark
    if found is None:
        hint = f" ({table.detection_hint})" if table.detection_hint else ""
        raise BridgeError(f"{table.path}: cannot tell which benchmark the file is for{hint}; pass --benchmark")
    return found


def map_rows(table: SourceTable, *, model: str, benchmark: str | None = None, reference: Reference | None = None,
             id_base: int | None = None) -> BridgeResult:
    """Map a table's rows to ``letter`` predictions by the benchmark's ids; see the module docstring.

    ``id_base`` (formats with ``id_bases`` only, VLMEvalKit) is the file's id of the benchmark's first row
    (default: the format's, ``table.id_bases``). With ``reference``, ids are checked against the dataset and
    questions compared.
    """
    if not model:
        raise ValueError("Expected `model` to be a non-empty name")
    name = resolve_benchmark(table, benchmark)
    if reference is not None and reference.benchmark != name:
        raise BridgeError(f"the dataset given is {reference.benchmark}, but {table.path} is for {name}")
    if table.id_bases is None and id_base is not None:
        raise ValueError(f"`id_base` applies to VLMEvalKit files only: {table.source} rows carry the benchmark's ids")
    offset = 0 if table.id_bases is None else id_offset(name, table.id_bases[name] if id_base is None else id_base)
    valid: Collection[int] = reference.rows if reference is not None else benchmark_of(name).ids
    where = "the dataset" if reference is not None else name
    skip = table.skipped.get(name)
    result = BridgeResult(table.source, str(table.path), name, model, len(table.rows),
                          skipped_as=None if skip is None else skip.summary)
    first: dict[int, SourceRow] = {}

    def unmapped(row: SourceRow, reason: str, message: str) -> None:
        result.unmapped.append(RowIssue(str(table.path), row.line, row.key, reason, message))

    for row in table.rows:
        if row.benchmark is not None and row.benchmark != name:
            unmapped(row, "other-benchmark", f"a {row.benchmark} row in a conversion to {name}")
            continue
        if skip is not None and skip.marks(row.marks, table.path.stem):
            result.skipped.append(RowIssue(str(table.path), row.line, row.key, skip.reason, skip.message))
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
