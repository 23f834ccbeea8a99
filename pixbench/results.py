"""What a score is: the settings it depends on, and the typed result of one model on one benchmark.

A :class:`ScoreResult` holds, for one (model, benchmark[, prompt variant]):

- ``model``, ``benchmark``, ``select`` (the selection mode), ``variant`` (a prompt template id or ``None``);
- ``metrics``: metric name -> percent or ``None`` (not measured). ``A`` and ``A_dagger`` (option-letter
  and judged accuracy; PixMMVP: pair accuracy, with ``A_per_question`` / ``A_dagger_per_question``),
  ``M`` and ``M_dagger`` (mIoU of the segment and vqa masks), ``cIoU`` and ``cIoU_dagger``, and ``S``
  (harmonic mean of max(A, A†) and max(M, M†));
- ``counts`` (:class:`Counts`): rows, mask rows, missing lines per probe, unparsed letters, undetermined
  and failed judge verdicts;
- ``breakdown``: the benchmark's breakdowns (PixMMVP ``pattern``; PixCV-Bench ``source``, ``task``,
  ``source_task``, ``pooled``), each a group name -> metrics of that group;
- ``analysis``: the benchmark's analyses (PixMMVP ``failure_modes``) and ``emergence`` (where in the
  answer grounding emerges; ``None`` without candidates);
- ``judge_served_models`` (the models the judge endpoint named), ``notes`` (why a metric is null);
- ``per_sample``: one record per (row, probe present); ``units``: the per-row outcomes behind the metrics
  (:class:`pixbench.outcomes.RowUnits`), for intervals and comparisons;
- ``ci`` (:class:`ConfidenceIntervals`) once intervals were asked for;
- ``probe`` and ``layout`` for a result per probe (a video benchmark gives one per probe and layout);
- ``shape`` (:class:`ResultShape`): how the result is named and printed. :data:`QUESTION_SHAPE` (the image
  benchmarks: one result per model, named by its selection mode, with breakdowns and analyses) or
  :data:`PROBE_SHAPE` (one result per probe and layout); the scorer that makes a result chooses it, and every
  report, comparison and message follows it instead of asking which kind of benchmark it came from.

:meth:`ScoreResult.to_json` is the result's entry in the report's ``results`` list (per-sample records
and units left out, floats rounded to 6 decimals).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import numpy as np

from pixbench.metrics.selection import DEFAULT_SCORE_THRESHOLD, SelectMode
from pixbench.outcomes import RowUnits

#: The scoring protocol every report names.
PROTOCOL = "pixfoundation-v1"
LetterParser = Literal["default", "reference"]


@dataclass(frozen=True)
class ScoreSettings:
    """The choices a score depends on (all reported with it)."""

    select: SelectMode = "given"
    score_threshold: float = DEFAULT_SCORE_THRESHOLD
    include_none: bool = False
    letter_parser: LetterParser = "default"
    allow_judge_errors: bool = False
    #: The benchmark's scoring protocol (``--protocol``): ``official`` everywhere; a benchmark may define others
    #: (:attr:`pixbench.benchmarks.base.Benchmark.protocols`) and refuses any it does not define.
    protocol: str = "official"
    #: The frame rate a protocol re-samples at (``--fps``; ``None``: the protocol's default or no re-sampling).
    fps: float | None = None
    #: The rate a protocol that re-samples takes the release's frames at (``--release-fps``; ``None``: the
    #: benchmark's assumption).
    release_fps: float | None = None


@dataclass(frozen=True)
class Counts:
    """How many rows a result covers and what could not be scored.

    ``missing`` maps each probe to its rows without a line (``None``: the probe was not in the file).
    """

    rows: int
    mask_rows: int
    missing: Mapping[str, int | None]
    unparsed_letters: int = 0
    judge_undetermined: int = 0
    judge_errors: int = 0

    #: The report's CSV columns of these counts, in order (:meth:`cells`).
    CSV_COLUMNS: ClassVar[tuple[str, ...]] = ("rows", "mask_rows", "missing_vqa", "missing_segment", "missing_letter",
                                              "unparsed_letters", "judge_undetermined", "judge_errors")

    @property
    def total_missing(self) -> int:
        return sum(v for v in self.missing.values() if v is not None)

    def cells(self) -> dict[str, Any]:
        """The values of :data:`CSV_COLUMNS` (a probe absent from the file: empty)."""
        return {"rows": self.rows, "mask_rows": self.mask_rows,
                **{f"missing_{p}": "" if self.missing[p] is None else self.missing[p]
                   for p in ("vqa", "segment", "letter")},
                "unparsed_letters": self.unparsed_letters, "judge_undetermined": self.judge_undetermined,
                "judge_errors": self.judge_errors}

    def note(self) -> str | None:
        """What a report says of these counts when anything was not scored (None: nothing to say)."""
        missing = {k: v for k, v in self.missing.items() if v}
        if not (missing or self.unparsed_letters or self.judge_undetermined):
            return None
        return (f"missing {missing or 0}, unparsed letters {self.unparsed_letters}, "
                f"judge undetermined {self.judge_undetermined}")

    def missing_note(self) -> str | None:
        """What ``pixbench score`` warns of lines missing (None: none)."""
        missing = {probe: n for probe, n in self.missing.items() if n}
        return f"missing predictions {missing} (scored as wrong, IoU 0)" if missing else None

    def to_json(self) -> dict[str, Any]:
        return {"rows": self.rows, "mask_rows": self.mask_rows, "missing": dict(self.missing),
                "unparsed_letters": self.unparsed_letters, "judge_undetermined": self.judge_undetermined,
                "judge_errors": self.judge_errors}


@dataclass(frozen=True)
class ExpressionCounts:
    """How many expressions a video result covers and how many had no line (scored as missing)."""

    expressions: int
    missing: int
    #: No judge scores a video probe.
    judge_errors: ClassVar[int] = 0
    #: The report's CSV columns of these counts, in order (:meth:`cells`).
    CSV_COLUMNS: ClassVar[tuple[str, ...]] = ("expressions", "missing")

    @property
    def total_missing(self) -> int:
        return self.missing

    def cells(self) -> dict[str, Any]:
        return {"expressions": self.expressions, "missing": self.missing}

    def note(self) -> str | None:
        """What a report says of these counts when expressions had no line (None: all had one)."""
        return f"missing {self.missing} of {self.expressions} expressions (scored as wrong)" if self.missing else None

    def missing_note(self) -> str | None:
        """What ``pixbench score`` warns of lines missing (None: none)."""
        if not self.missing:
            return None
        return f"{self.missing} of {self.expressions} expressions without a line (scored as wrong: J = F = 0)"

    def to_json(self) -> dict[str, Any]:
        return {"expressions": self.expressions, "missing": self.missing}


#: Every kind of counts, in the order a report's CSV puts their columns.
COUNT_KINDS: tuple[type[Counts] | type[ExpressionCounts], ...] = (Counts, ExpressionCounts)


@dataclass(frozen=True)
class ConfidenceIntervals:
    """Percentile bootstrap intervals of a result's metrics: metric -> ``(low, high)`` in percent."""

    level: float
    resamples: int
    seed: int
    metrics: Mapping[str, tuple[float, float]]
    method: str = "percentile"
    numpy: str = np.__version__

    def to_json(self, digits: int | None = None) -> dict[str, Any]:
        bounds = {name: [v if digits is None else round(v, digits) for v in interval]
                  for name, interval in self.metrics.items()}
        return {"level": self.level, "resamples": self.resamples, "seed": self.seed, "method": self.method,
                "numpy": self.numpy, "metrics": bounds}


@dataclass(frozen=True)
class ResultShape:
    """How a result is named and printed.

    Attributes:
        groups: the result's fields that, with ``benchmark``, name what one result of a model measures (a
            result per probe: ``probe``, ``layout``); a comparison pairs results on them and names them.
        labels: the fields its JSON entry gives after ``benchmark``, in order (``select``; ``probe``, ``layout``).
        sections: the parts its JSON entry gives after ``counts``, in order (of ``breakdown``,
            ``judge_served_models``, ``notes``, ``analysis``).
        keep_empty: whether an empty section is still given (``False``: left out while empty).
    """

    groups: tuple[str, ...]
    labels: tuple[str, ...]
    sections: tuple[str, ...]
    keep_empty: bool


#: One result per model of a benchmark of questions: named by its selection mode, with every section.
QUESTION_SHAPE = ResultShape(groups=(), labels=("select",),
                             sections=("breakdown", "judge_served_models", "notes", "analysis"), keep_empty=True)
#: One result per probe and layout: named by them, with notes only when there are some.
PROBE_SHAPE = ResultShape(groups=("probe", "layout"), labels=("probe", "layout"), sections=("notes",),
                          keep_empty=False)


@dataclass(frozen=True)
class ScoreResult:
    """One model on one benchmark: every metric, count, breakdown and analysis (see the module docstring)."""

    model: str
    benchmark: str
    select: str | None
    metrics: Mapping[str, float | None]
    counts: Counts | ExpressionCounts
    breakdown: Mapping[str, Any] = field(default_factory=dict)
    analysis: Mapping[str, Any] = field(default_factory=dict)
    judge_served_models: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    variant: str | None = None
    per_sample: tuple[dict[str, Any], ...] = field(default=(), repr=False)
    units: RowUnits | None = field(default=None, repr=False, compare=False)
    ci: ConfidenceIntervals | None = None
    probe: str | None = None
    layout: str | None = None
    shape: ResultShape = QUESTION_SHAPE

    @property
    def label(self) -> str:
        """``model`` or ``model [variant]``."""
        return self.model if self.variant is None else f"{self.model} [{self.variant}]"

    @property
    def where(self) -> str:
        """``model / benchmark`` and the groups that are set (``/ probe [layout]``): the result in messages."""
        named = [value for value in self.named_groups.values() if value]
        return f"{self.model} / {self.benchmark}" + (f" / {' '.join(named)}" if named else "")

    @property
    def named_groups(self) -> dict[str, str | None]:
        """The :attr:`ResultShape.groups` fields and their values (``{}`` for a result per model)."""
        return {name: getattr(self, name) for name in self.shape.groups}

    @property
    def group(self) -> tuple[str, str | None, str | None]:
        """``(benchmark, probe, layout)``: what a result of one model measures (one per group)."""
        return self.benchmark, self.probe, self.layout

    def to_json(self) -> dict[str, Any]:
        """The result's entry in a report (``per_sample`` and ``units`` left out, floats rounded): ``model``,
        ``benchmark``, the :attr:`shape`'s labels, ``metrics``, ``counts``, its sections, then ``variant`` and
        ``ci`` when set."""
        entry: dict[str, Any] = {"model": self.model, "benchmark": self.benchmark}
        entry.update((name, getattr(self, name)) for name in self.shape.labels)
        entry.update(metrics=rounded(self.metrics), counts=self.counts.to_json())
        sections = {"breakdown": lambda: rounded(self.breakdown),
                    "judge_served_models": lambda: list(self.judge_served_models),
                    "notes": lambda: list(self.notes), "analysis": lambda: dict(self.analysis)}
        for name in self.shape.sections:
            value = sections[name]()
            if value or self.shape.keep_empty:
                entry[name] = value
        if self.variant is not None:
            entry["variant"] = self.variant
        if self.ci is not None:
            entry["ci"] = self.ci.to_json(digits=6)
        return entry


def rounded(values: Mapping[str, Any], digits: int = 6) -> dict[str, Any]:
    """Round floats (recursively) for JSON output."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, float):
            out[key] = round(value, digits)
        elif isinstance(value, (np.floating,)):
            out[key] = round(float(value), digits)
        elif isinstance(value, Mapping):
            out[key] = rounded(value, digits)
        else:
            out[key] = value
    return out
