"""How certain every number is: bootstrap intervals of a result's metrics, and paired model comparisons.

Both work on the per-row outcomes a result keeps (:class:`pixbench.score.RowUnits`) with the
vectorised statistics of :mod:`pixbench.metrics.stats`. Resampling units, as the protocol asks:

- PixMMVP: **pairs** for pair accuracy (A, A†); **rows** otherwise (per-question accuracy over the 300
  rows; M, M† and cIoU over the mask rows). Each scheme draws its own weights from the seed.
- PixCV-Bench: **rows, stratified by source**, for every metric (the metrics are means of the ADE20K
  and COCO values, so each resample keeps both sources' sizes).

S is recomputed in every resample from the resampled A, A†, M, M†. Intervals use the percentile method.
A comparison uses the rows (or pairs) that both files cover, the same weights for both models, a paired
bootstrap of the difference with its p-value, and an exact McNemar test for the accuracies.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np

from pixbench.metrics import stats
from pixbench.score import RowUnits

ACCURACIES = ("A", "A_dagger")
MASKS = (("M", "cIoU"), ("M_dagger", "cIoU_dagger"))

#: A statistic: weights (resamples x units) -> one value per resample (percent).
Statistic = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Plan:
    """For one metric: how many units it resamples, which weight scheme, and the statistic."""

    scheme: str
    units: int
    statistic: Statistic
    correctness: np.ndarray | None = None  # per unit, for McNemar


def _pairs_correct(units: RowUnits, correct: np.ndarray) -> np.ndarray:
    """Pair k (1-based ``units.pair``) is correct when both of its rows are."""
    assert units.pair is not None
    n_pairs = int(units.pair.max())
    right = np.bincount(units.pair - 1, weights=correct.astype(np.float64), minlength=n_pairs)
    size = np.bincount(units.pair - 1, minlength=n_pairs)
    return (right == size) & (size > 0)


def plans(units: RowUnits, keep: np.ndarray | None = None, keep_pairs: np.ndarray | None = None) -> dict[str, Plan]:
    """The statistic of every measured metric; ``keep`` (rows) / ``keep_pairs`` restrict the units."""
    rows = np.ones(units.ids.size, dtype=bool) if keep is None else keep
    result: dict[str, Plan] = {}
    if units.benchmark == "pixmmvp":
        for name in ACCURACIES:
            if name not in units.answers:
                continue
            correct = units.answers[name][0]
            pairs = _pairs_correct(units, correct)
            if keep_pairs is not None:
                pairs = pairs[keep_pairs]
            result[name] = Plan("pairs", pairs.size, partial(stats.weighted_mean, values=pairs), pairs)
            per_row = correct[rows]
            result[f"{name}_per_question"] = Plan("rows", per_row.size,
                                                  partial(stats.weighted_mean, values=per_row), per_row)
        mask_rows = units.mask_rows & rows
        for metric, cumulative in MASKS:
            if metric not in units.masks:
                continue
            iou, inter, union, _ = (a[mask_rows] for a in units.masks[metric])
            result[metric] = Plan("mask_rows", iou.size, partial(stats.weighted_mean, values=iou))
            result[cumulative] = Plan("mask_rows", iou.size,
                                      partial(stats.weighted_ratio, numerators=inter, denominators=union))
        return result
    assert units.source is not None
    strata = units.source[rows]
    for name in ACCURACIES:
        if name in units.answers:
            correct = units.answers[name][0][rows]
            result[name] = Plan("strata", correct.size,
                                partial(stats.stratum_mean, values=correct, strata=strata), correct)
    for metric, cumulative in MASKS:
        if metric not in units.masks:
            continue
        iou, inter, union, _ = (a[rows] for a in units.masks[metric])
        result[metric] = Plan("strata", iou.size, partial(stats.stratum_mean, values=iou, strata=strata))
        result[cumulative] = Plan("strata", iou.size,
                                  partial(stats.stratum_ratio, numerators=inter, denominators=union, strata=strata))
    return result


def _weights(plan: Plan, units: RowUnits, keep: np.ndarray | None, resamples: int, seed: int,
             cache: dict[tuple[str, int], np.ndarray]) -> np.ndarray:
    """Weights of a plan's scheme, drawn once per (scheme, size) and shared by its metrics."""
    key = (plan.scheme, plan.units)
    if key not in cache:
        offset = {"pairs": 0, "rows": 1, "mask_rows": 2, "strata": 3}[plan.scheme]
        strata = None
        if plan.scheme == "strata":
            assert units.source is not None
            strata = units.source if keep is None else units.source[keep]
        cache[key] = stats.bootstrap_weights(plan.units, resamples=resamples, seed=seed + offset, strata=strata)
    return cache[key]


def _samples(units: RowUnits, metric_plans: dict[str, Plan], keep: np.ndarray | None, resamples: int,
             seed: int) -> dict[str, np.ndarray]:
    cache: dict[tuple[str, int], np.ndarray] = {}
    samples = {name: plan.statistic(_weights(plan, units, keep, resamples, seed, cache))
               for name, plan in metric_plans.items() if plan.units > 0}
    s = stats.harmonic_score_samples(accuracies=[samples.get("A"), samples.get("A_dagger")],
                                     masks=[samples.get("M"), samples.get("M_dagger")])
    if s is not None:
        samples["S"] = s
    return samples


def _full(metric_plans: dict[str, Plan]) -> dict[str, float]:
    values = {name: float(plan.statistic(np.ones((1, plan.units), dtype=np.float32))[0])
              for name, plan in metric_plans.items() if plan.units > 0}
    s = stats.harmonic_score_samples(
        accuracies=[np.array([values[k]]) if k in values else None for k in ("A", "A_dagger")],
        masks=[np.array([values[k]]) if k in values else None for k in ("M", "M_dagger")])
    if s is not None:
        values["S"] = float(s[0])
    return values


def confidence_intervals(units: RowUnits, *, level: float = stats.DEFAULT_LEVEL,
                         resamples: int = stats.DEFAULT_RESAMPLES, seed: int = stats.DEFAULT_SEED) -> dict[str, Any]:
    """Percentile bootstrap interval of every measured metric of one result."""
    samples = _samples(units, plans(units), None, resamples, seed)
    return {"level": level, "resamples": resamples, "seed": seed, "method": "percentile",
            "numpy": np.__version__,
            "metrics": {name: list(stats.percentile_interval(values, level)) for name, values in samples.items()}}


class ComparisonError(ValueError):
    """Two predictions files that cannot be compared (different benchmarks, no common rows)."""


def compare(a: RowUnits, b: RowUnits, *, level: float = stats.DEFAULT_LEVEL,
            resamples: int = stats.DEFAULT_RESAMPLES, seed: int = stats.DEFAULT_SEED) -> dict[str, Any]:
    """Paired differences (a - b) per metric on the rows both cover, with intervals, p-values, McNemar."""
    if a.benchmark != b.benchmark or not np.array_equal(a.ids, b.ids):
        raise ComparisonError("Expected two results on the same benchmark, but got "
                              f"{a.benchmark} and {b.benchmark}")
    covered = np.ones(a.ids.size, dtype=bool)
    for units in (a, b):
        for _, present in units.answers.values():
            covered &= present
        for *_, present in units.masks.values():
            covered &= present
    if not covered.any():
        raise ComparisonError(f"The two files share no {a.benchmark} row that both answer on every probe")
    keep_pairs = None
    if a.benchmark == "pixmmvp":
        assert a.pair is not None
        keep_pairs = _pairs_correct(a, covered)  # pairs whose two rows are both covered
    plans_a, plans_b = plans(a, covered, keep_pairs), plans(b, covered, keep_pairs)
    shared = [name for name in plans_a if name in plans_b and plans_a[name].units > 0]
    if not shared:
        raise ComparisonError(f"The two files measure no common metric on {a.benchmark}")
    samples_a = _samples(a, {n: plans_a[n] for n in shared}, covered, resamples, seed)
    samples_b = _samples(b, {n: plans_b[n] for n in shared}, covered, resamples, seed)
    full_a, full_b = _full({n: plans_a[n] for n in shared}), _full({n: plans_b[n] for n in shared})
    metrics: dict[str, Any] = {}
    for name in [*shared, "S"]:
        if name not in samples_a or name not in samples_b:
            continue
        paired = stats.paired_bootstrap(samples_a[name], samples_b[name],
                                        difference=full_a[name] - full_b[name], level=level)
        entry: dict[str, Any] = {"a": full_a[name], "b": full_b[name], "difference": paired.difference,
                                 "low": paired.low, "high": paired.high, "p_value": paired.p_value,
                                 "units": plans_a[name].units if name in plans_a else None}
        correct_a = plans_a[name].correctness if name in plans_a else None
        correct_b = plans_b[name].correctness if name in plans_b else None
        if correct_a is not None and correct_b is not None:
            test = stats.mcnemar_exact(correct_a, correct_b)
            entry["mcnemar"] = {"a_only": test.a_only, "b_only": test.b_only, "p_value": test.p_value}
        metrics[name] = entry
    return {"benchmark": a.benchmark, "rows": int(covered.sum()), "level": level, "resamples": resamples,
            "seed": seed, "metrics": metrics}
