"""How certain every number is: bootstrap intervals of a result's metrics, and paired model comparisons.

Both work on the per-row outcomes a result keeps (:class:`pixbench.outcomes.RowUnits`) with the
vectorised statistics of :mod:`pixbench.metrics.stats`. Each benchmark says how its rows are resampled
(:meth:`pixbench.benchmarks.base.Benchmark.resampling_plans`); as the protocol asks:

- PixMMVP: **pairs** for pair accuracy (A, A†); **rows** otherwise (per-question accuracy over the 300
  rows; M, M† and cIoU over the mask rows). Each scheme draws its own weights from the seed.
- PixCV-Bench: **rows, stratified by source**, for every metric (the metrics are means of the ADE20K
  and COCO values, so each resample keeps both sources' sizes).

S is recomputed in every resample from the resampled A, A†, M, M†. Intervals use the percentile method.
A comparison uses the rows (or pairs) that both files cover, the same weights for both models, a paired
bootstrap of the difference with its p-value, and an exact McNemar test for the accuracies.

Two results usually hold the same rows (a row without a line is kept and marked not covered). Where a protocol
leaves such rows out of a result altogether (MeViS under ``lmms-eval`` drops expressions without a line), the
two results hold different rows; the comparison then pairs the rows both hold (in A's order) and says how many
of each result's rows it left out (``left_out``), so the difference is a paired one on the common set, not the
difference of the two models' own figures.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pixbench.benchmarks import get_benchmark
from pixbench.metrics import stats
from pixbench.outcomes import Plan, RowUnits
from pixbench.results import ConfidenceIntervals


def plans(units: RowUnits, keep: np.ndarray | None = None, keep_pairs: np.ndarray | None = None) -> dict[str, Plan]:
    """The statistic of every measured metric; ``keep`` (rows) / ``keep_pairs`` restrict the units."""
    rows = np.ones(units.ids.size, dtype=bool) if keep is None else keep
    return get_benchmark(units.benchmark).resampling_plans(units, rows, keep_pairs)


def _weights(plan: Plan, units: RowUnits, keep: np.ndarray | None, resamples: int, seed: int,
             cache: dict[tuple[str, int], np.ndarray]) -> np.ndarray:
    """Weights of a plan's scheme, drawn once per (scheme, size) and shared by its metrics."""
    key = (plan.scheme, plan.units)
    if key not in cache:
        offset = {"pairs": 0, "rows": 1, "mask_rows": 2, "strata": 3}[plan.scheme]
        strata = None
        if plan.scheme == "strata":
            if units.stratum is None:
                raise ValueError(f"Expected {units.benchmark} rows grouped in strata for a stratified plan")
            strata = units.stratum if keep is None else units.stratum[keep]
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
                         resamples: int = stats.DEFAULT_RESAMPLES,
                         seed: int = stats.DEFAULT_SEED) -> ConfidenceIntervals:
    """Percentile bootstrap interval of every measured metric of one result."""
    samples = _samples(units, plans(units), None, resamples, seed)
    bounds = {name: stats.percentile_interval(values, level) for name, values in samples.items()}
    return ConfidenceIntervals(level=level, resamples=resamples, seed=seed,
                               metrics={name: (float(low), float(high)) for name, (low, high) in bounds.items()})


class ComparisonError(ValueError):
    """Two predictions files that cannot be compared (different benchmarks, no common rows)."""


def compare(a: RowUnits, b: RowUnits, *, level: float = stats.DEFAULT_LEVEL,
            resamples: int = stats.DEFAULT_RESAMPLES, seed: int = stats.DEFAULT_SEED) -> dict[str, Any]:
    """Paired differences (a - b) per metric on the rows both cover, with intervals, p-values, McNemar.

    Each model's S is computed from all of its own metrics (as ``pixbench score`` does), so a model with M†
    and no M keeps M† in its S. A metric only one model has is not paired: it is returned, with its
    value on the common rows, under ``not_compared`` (``{"a": {name: value}, "b": {...}}``, sides that
    have none left out). S is paired when both models have one. Where the two results hold different rows
    (:func:`common_rows`), the comparison is on the rows both hold and ``left_out`` (``{"a": n, "b": m}``) counts
    each result's rows it did not use; the key is absent when both hold the same rows.
    """
    if a.benchmark != b.benchmark:
        raise ComparisonError("Expected two results on the same benchmark, but got "
                              f"{a.benchmark} and {b.benchmark}")
    left_out: dict[str, int] | None = None
    if not np.array_equal(a.ids, b.ids):
        a, b, left_out = common_rows(a, b)
    covered = np.ones(a.ids.size, dtype=bool)
    for units in (a, b):
        for _, present in units.answers.values():
            covered &= present
        for *_, present in units.masks.values():
            covered &= present
        if units.covered is not None:
            covered &= units.covered
    if not covered.any():
        raise ComparisonError(f"The two files share no {a.benchmark} row that both answer on every probe")
    keep_pairs = get_benchmark(a.benchmark).comparable_pairs(a, covered)
    plans_a, plans_b = _measured(plans(a, covered, keep_pairs)), _measured(plans(b, covered, keep_pairs))
    # each model's S from all of its own metrics, as `pixbench score` computes it (on the common rows)
    samples_a = _samples(a, plans_a, covered, resamples, seed)
    samples_b = _samples(b, plans_b, covered, resamples, seed)
    full_a, full_b = _full(plans_a), _full(plans_b)
    shared = [name for name in samples_a if name in samples_b]
    if not shared:
        raise ComparisonError(f"The two files measure no common metric on {a.benchmark}")
    metrics: dict[str, Any] = {}
    for name in shared:
        paired = stats.paired_bootstrap(samples_a[name], samples_b[name],
                                        difference=full_a[name] - full_b[name], level=level)
        unit_count = plans_a[name].units if name in plans_a else int(covered.sum())
        entry: dict[str, Any] = {"a": full_a[name], "b": full_b[name], "difference": paired.difference,
                                 "low": paired.low, "high": paired.high, "p_value": paired.p_value,
                                 "units": unit_count}
        correct_a = plans_a[name].correctness if name in plans_a else None
        correct_b = plans_b[name].correctness if name in plans_b else None
        if correct_a is not None and correct_b is not None:
            test = stats.mcnemar_exact(correct_a, correct_b)
            entry["mcnemar"] = {"a_only": test.a_only, "b_only": test.b_only, "p_value": test.p_value}
        metrics[name] = entry
    not_compared = {side: {name: values[name] for name in values if name not in metrics}
                    for side, values in (("a", full_a), ("b", full_b))}
    outcome = {"benchmark": a.benchmark, "rows": int(covered.sum()), "level": level, "resamples": resamples,
               "seed": seed, "metrics": metrics, "not_compared": {k: v for k, v in not_compared.items() if v}}
    if left_out is not None:
        outcome["left_out"] = {side: count + int((~covered).sum()) for side, count in left_out.items()}
    return outcome


def _subset(units: RowUnits, index: np.ndarray) -> RowUnits:
    """``units`` restricted to the rows at ``index`` (in that order)."""
    return RowUnits(
        benchmark=units.benchmark, ids=units.ids[index], mask_rows=units.mask_rows[index], pair=None,
        stratum=None if units.stratum is None else units.stratum[index],
        answers={name: (correct[index], present[index]) for name, (correct, present) in units.answers.items()},
        masks={name: (iou[index], inter[index], union[index], present[index])
               for name, (iou, inter, union, present) in units.masks.items()},
        values={name: array[index] for name, array in units.values.items()},
        covered=None if units.covered is None else units.covered[index])


def common_rows(a: RowUnits, b: RowUnits) -> tuple[RowUnits, RowUnits, dict[str, int]]:
    """Two results' units restricted to the rows both hold, in ``a``'s order, and how many rows of each were
    left out (``{"a": ..., "b": ...}``); :class:`ComparisonError` when they share none, or when a benchmark
    groups its rows in pairs (a pair cut in two is no pair).

    Examples:
        >>> import numpy as np
        >>> def units(ids, values):
        ...     return RowUnits("mevis", np.array(ids), np.ones(len(ids), dtype=bool), None, None, {}, {},
        ...                     {"J": np.array(values)})
        >>> a, b, left = common_rows(units(["x", "y", "z"], [0.1, 0.2, 0.3]), units(["z", "w", "x"], [0.9, 0.8, 0.7]))
        >>> a.ids.tolist(), b.values["J"].tolist(), left
        (['x', 'z'], [0.7, 0.9], {'a': 1, 'b': 1})
    """
    if a.pair is not None or b.pair is not None:
        raise ComparisonError(f"The two {a.benchmark} results hold different rows, and its rows go in pairs: "
                              "compare files scored on the same rows")
    where = {row_id: k for k, row_id in enumerate(b.ids.tolist())}
    in_a = np.array([k for k, row_id in enumerate(a.ids.tolist()) if row_id in where], dtype=np.int64)
    if not in_a.size:
        raise ComparisonError(f"The two files share no {a.benchmark} row that both answer on every probe")
    in_b = np.array([where[row_id] for row_id in a.ids[in_a].tolist()], dtype=np.int64)
    return (_subset(a, in_a), _subset(b, in_b),
            {"a": int(a.ids.size - in_a.size), "b": int(b.ids.size - in_b.size)})


def _measured(metric_plans: dict[str, Plan]) -> dict[str, Plan]:
    """The plans of metrics measured on at least one unit."""
    return {name: plan for name, plan in metric_plans.items() if plan.units > 0}
