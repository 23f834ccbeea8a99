"""How other tools name an image benchmark's rows: the facts of the PixFoundation reference scripts, VLMEvalKit
and lmms-eval that the converters (:mod:`pixbench.ingest`) need, declared by each benchmark
(:attr:`~pixbench.benchmarks.image.ImageBenchmark.harnesses`, filled in its ``rules.py``).

These are facts of the other tools (which number their files give a benchmark's first row, which columns or
file-name words tell their files apart, where their logs keep the row id) and of which of their rows the benchmark
does not hold (:class:`SkippedRows`: PixCV-Bench's rule for CV-Bench's 3D questions); a benchmark that a tool does
not cover leaves that tool's entry ``None``. Plain frozen records: the converters
sit above the registry and build their tables from it (:mod:`pixbench.ingest.pixfoundation`,
:mod:`pixbench.ingest.vlmevalkit`, :mod:`pixbench.ingest.lmms_eval`), and where several benchmarks' entries are
tried in turn, each entry's ``priority`` orders them (lowest first) whatever the registry's order.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["Harnesses", "LmmsDoc", "LmmsEval", "LmmsMetric", "ReferenceScripts", "SkippedRows", "VlmEvalKit"]


@dataclass(frozen=True)
class SkippedRows:
    """Rows a tool's files hold that the benchmark does not (PixCV-Bench: CV-Bench's 3D questions), and how to tell
    them. They are *skipped* and listed (with ``reason`` and ``message``), not errors; a conversion's summary
    counts them as ``N skipped ({summary})``.

    A row is one when a field of ``values`` (a column of the file, a key of the row's dict) holds one of that
    field's values (spaces around it and case ignored); in a file whose rows have none of those fields, every row
    is one when a word of ``name_words`` (lower case) is in the file's name.

    Examples:
        >>> rule = SkippedRows("3d", "a 3D row", "3D", {"split": ("3D",), "source": ("Omni3D",)}, name_words=("3d",))
        >>> rule.marks({"split": " 3d ", "source": "COCO"}), rule.marks({"split": "2D", "source": "omni3d"})
        (True, True)
        >>> rule.marks({"split": "2D"}, "qwen_cv-bench-3d"), rule.marks({}, "qwen_cv-bench-3d")
        (False, True)
    """

    reason: str
    message: str
    summary: str
    values: Mapping[str, tuple[str, ...]]
    name_words: tuple[str, ...] = ()

    def marks(self, fields: Mapping[str, Any], file_name: str = "") -> bool:
        """Whether a row is one of these: ``fields`` holds its values by field (at least of those of :attr:`values`
        that it has), ``file_name`` is the name of its file (the stem)."""
        present = [name for name in self.values if name in fields]
        if not present:
            lowered = file_name.lower()
            return any(word in lowered for word in self.name_words)
        return any(str(fields[name] or "").strip().lower() in {value.lower() for value in self.values[name]}
                   for name in present)


@dataclass(frozen=True)
class ReferenceScripts:
    """The PixFoundation reference scripts (github.com/MSiam/PixFoundation) on this benchmark.

    ``answers_id_base``: the ``question_id`` (or ``questionId``) their answers files give the benchmark's first
    row (``--id-base`` of ``pixbench convert --from reference`` overrides it).
    """

    answers_id_base: int


@dataclass(frozen=True)
class VlmEvalKit:
    """VLMEvalKit's dataset of this benchmark, as its prediction files (``{model}_{dataset}.xlsx``) show it.

    ``id_base``: the ``index`` its files give the benchmark's first row. ``columns``: columns only this
    dataset's TSV has, and ``name_words``: lower-case words of a file name; a file with any of those columns or
    words is this benchmark's (datasets are tried by ``priority``, lowest first: the first that matches names the
    file). ``keeps_prompt``: whether the file's ``prompt`` column (the prompt the model got) becomes the lines'
    ``prompt``. ``skipped``: the rows of a file converted to this benchmark that it does not hold.
    """

    id_base: int
    priority: int
    columns: frozenset[str] = frozenset()
    name_words: tuple[str, ...] = ()
    keeps_prompt: bool = False
    skipped: SkippedRows | None = None


@dataclass(frozen=True)
class LmmsMetric:
    """A metric dict of a current (0.4+) lmms-eval sample line that carries the row id: its ``key`` in the line,
    the field holding the id, what to add to it to get the row id and the message for an id below 0 (the task logs
    that for a doc it could not place)."""

    key: str
    id_field: str
    id_offset: int = 0
    negative_id: str | None = None


@dataclass(frozen=True)
class LmmsDoc:
    """A legacy (before 0.4) ``doc`` layout: the id field that identifies the task's dataset, where its question
    is, and its ``priority`` among every benchmark's layouts (lowest first: the first whose id field a doc has
    wins)."""

    id_field: str
    question_fields: tuple[str, ...]
    priority: int


@dataclass(frozen=True)
class LmmsEval:
    """lmms-eval's tasks of this benchmark.

    ``dataset``: the dataset's name in messages (``MMVP``). ``metrics``: the metric dicts of a current sample
    line that carry the row id, in the order a line's are read (the first the line has is used); the first
    is the one messages name. ``docs``: the legacy ``doc`` layouts (the first is the one messages name).
    ``missing_id``: why a task's line may carry no id at all, for the message of a doc that has none.
    ``skipped``: the rows of the task that the benchmark does not hold, told by the fields of the dict a line's
    id is read from (its ``doc``, or its metric dict).
    """

    dataset: str
    metrics: tuple[LmmsMetric, ...]
    docs: tuple[LmmsDoc, ...]
    missing_id: str | None = None
    skipped: SkippedRows | None = None


@dataclass(frozen=True)
class Harnesses:
    """What each other tool calls this benchmark's rows (``None``: the tool does not cover it)."""

    reference_scripts: ReferenceScripts | None = None
    vlmevalkit: VlmEvalKit | None = None
    lmms_eval: LmmsEval | None = None
