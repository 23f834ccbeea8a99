"""Per-row outcomes of a scored model, their reductions, and the units resampling draws from.

Scoring turns each (row, probe) into an :class:`AnswerOutcome` or a :class:`MaskOutcome`; a benchmark
(:mod:`pixbench.benchmarks`) reduces them to its metrics with :func:`mean_iou`, :func:`cumulative_iou`
and :func:`group_metrics`, and says how its rows group for the bootstrap through :class:`RowUnits`
and :class:`Plan`. Pure: no I/O, no benchmark names.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pixbench.metrics import accuracy, masks

#: Metric names of the probes that give masks, and of their cumulative IoU.
MASK_METRIC = {"segment": "M", "vqa": "M_dagger"}
CUMULATIVE_METRIC = {"M": "cIoU", "M_dagger": "cIoU_dagger"}
#: Accuracy metrics: ``A`` (the letter probe), ``A_dagger`` (the judged vqa probe).
ACCURACIES = ("A", "A_dagger")


@dataclass
class MaskOutcome:
    """One row's mask score for one probe."""

    missing: bool
    iou: float
    intersection: int
    union: int
    pred_fraction: float
    candidate: int | None = None


@dataclass
class AnswerOutcome:
    """One row's answer score for one probe."""

    missing: bool
    correct: bool
    parsed: str | None = None
    judge_reply: str | None = None
    verdict: str | None = None
    error: str | None = None


#: ``{"A": {row id: outcome}, "A_dagger": ...}``; ``None`` when that probe was not measured.
Answers = Mapping[str, Mapping[int, AnswerOutcome] | None]
#: ``{"segment": {row id: outcome}, "vqa": ...}``; ``None`` when that probe was not measured.
MaskResults = Mapping[str, Mapping[int, MaskOutcome] | None]


def mean_iou(outcomes: Mapping[int, MaskOutcome], ids: Sequence[int]) -> float | None:
    """mIoU (percent) of the rows ``ids``; ``None`` when there are none."""
    return masks.miou([outcomes[i].iou for i in ids]) if ids else None


def cumulative_iou(outcomes: Mapping[int, MaskOutcome] | None, ids: Sequence[int]) -> float | None:
    """cIoU (percent) of the rows ``ids``; ``None`` when not measured or no rows."""
    if not outcomes or not ids:
        return None
    return masks.ciou([outcomes[i].intersection for i in ids], [outcomes[i].union for i in ids])


def group_metrics(answers: Answers, mask_results: MaskResults, ids: list[int]) -> dict[str, Any]:
    """Per-question accuracies, mIoU and cIoU of a group of rows (a breakdown entry)."""
    entry: dict[str, Any] = {"rows": len(ids)}
    for name, outcomes in answers.items():
        entry[name] = (accuracy.per_question_accuracy({i: o.correct for i, o in outcomes.items()}, ids)
                       if outcomes is not None and ids else None)
    for probe, metric in MASK_METRIC.items():
        scored = mask_results.get(probe)
        entry[metric] = mean_iou(scored, ids) if scored is not None else None
        entry[CUMULATIVE_METRIC[metric]] = cumulative_iou(scored, ids)
    return entry


@dataclass
class RowUnits:
    """Per-row outcomes of one result, aligned with ``ids`` (the reference's row order), for resampling.

    ``answers[name]`` (``A``, ``A_dagger``) holds (correct, covered) boolean arrays; ``masks[metric]``
    (``M``, ``M_dagger``) holds (iou, intersection, union, covered) arrays. ``covered`` is False where the
    file has no line for the row (the row is then scored as missing). ``mask_rows`` marks the rows that
    enter M; ``pair`` (1-based pair of each row) and ``stratum`` (a label per row) say how rows group,
    when the benchmark groups them so. ``values[metric]`` holds a per-row value (percent) whose mean is the
    metric, for benchmarks scored so (a video benchmark's expressions), with ``covered`` marking rows that
    had a line.
    """

    benchmark: str
    ids: np.ndarray
    mask_rows: np.ndarray
    pair: np.ndarray | None
    stratum: np.ndarray | None
    answers: dict[str, tuple[np.ndarray, np.ndarray]]
    masks: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]
    values: dict[str, np.ndarray] = field(default_factory=dict)
    covered: np.ndarray | None = None


#: A statistic: weights (resamples x units) -> one value per resample (percent).
Statistic = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Plan:
    """For one metric: how many units it resamples, which weight scheme, and the statistic.

    Schemes: ``pairs`` and ``rows`` and ``mask_rows`` (independent draws of that many units),
    ``strata`` (draws within each of :attr:`RowUnits.stratum`'s groups, keeping their sizes).
    ``correctness`` (per unit) feeds McNemar's test in comparisons.
    """

    scheme: str
    units: int
    statistic: Statistic
    correctness: np.ndarray | None = None


def pairs_correct(units: RowUnits, correct: np.ndarray) -> np.ndarray:
    """Pair k (1-based ``units.pair``) is correct when both of its rows are."""
    if units.pair is None:
        raise ValueError(f"Expected rows grouped in pairs, but {units.benchmark} has no pairs")
    n_pairs = int(units.pair.max())
    right = np.bincount(units.pair - 1, weights=correct.astype(np.float64), minlength=n_pairs)
    size = np.bincount(units.pair - 1, minlength=n_pairs)
    return (right == size) & (size > 0)
