"""Bootstrap confidence intervals, paired comparisons and the exact McNemar test (pure numpy).

Everything here works on per-unit arrays the scorer already has (0/1 correctness, per-row IoU
fractions, intersection and union counts) and returns percents like the rest of :mod:`pixbench.metrics`.
No scipy; no Python loop over resamples.

**Resampling scheme (nonparametric bootstrap).** A resample draws ``n`` units with replacement from the
``n`` units of the evaluation; it is stored as a row of *counts* (how often each unit was drawn), so a
whole bootstrap is one ``(resamples, n)`` weight matrix from :func:`bootstrap_weights` and every
statistic is a ratio of weighted sums over it. The units are:

- **PixMMVP: pairs for pair accuracy, rows otherwise** (the protocol's choice, :mod:`pixbench.uncertainty`).
  Rows ``2k-1`` and ``2k`` ask the same question and the pair is the unit of A and A†. Per-question
  accuracy, M, M† and cIoU resample rows; note that the two rows of a pair are not independent, so
  row-level intervals are a little narrower than pair-level ones would be (:func:`expand_weights` gives
  each row its pair's weight, for users who prefer pairs throughout).
- **PixCV-Bench: rows, stratified by source.** Its metrics are unweighted means of the ADE20K and COCO
  values (:func:`stratum_mean`, :func:`stratum_ratio`), so the sources' sizes are part of the design:
  with ``strata`` the units of each stratum are resampled within it and each stratum keeps its size.

**Weights.** Each resample is ``n`` independent uniform draws of a unit index, counted with
``numpy.bincount``: exactly a ``multinomial(n, [1/n] * n)`` draw, about six times faster than
``Generator.multinomial``. Counts are stored as float32 (exact for counts below 2**24). Draws are made
in chunks of about 2**20 indices, so the only large array is the result, ``resamples * n * 4`` bytes
(10,000 x 1,438 units: 57.5 MB); requests above :data:`MAX_WEIGHT_ELEMENTS` (1 GiB) are refused.

**Determinism.** ``numpy.random.default_rng(seed)`` (PCG64), draws in a fixed order (chunks, then strata
in sorted label order): the same inputs, seed and numpy version give the same weights and intervals.
numpy does not promise identical streams across versions (NEP 19), so a report should state the seed,
the number of resamples and the numpy version.

**Statistics.** Weighted sums are accumulated in float64 with ``numpy.einsum`` over chunks of rows, not
BLAS: the result does not depend on the BLAS build or its thread count, and a skinny product does not
stall on oversubscribed multithreaded BLAS. Statistics return one value per resample, in percent. A
resample in which a group has zero total weight (possible only for a subset of units, e.g. mask rows
under pair weights) has an undefined value, NaN; intervals and p-values leave NaN resamples out. A ratio
whose weighted denominator is 0 while some unit was drawn (every drawn row empty/empty) is 100, like
:func:`pixbench.metrics.masks.ciou`. The full-sample statistic is the same function with weights of
ones: ``weighted_mean(np.ones((1, n)), values)[0]``.

**Intervals.** The percentile method: the ``(1-level)/2`` and ``(1+level)/2`` quantiles of the bootstrap
values, with numpy's default linear interpolation (Hyndman-Fan type 7). It is transformation-invariant
and stays inside ``[0, 100]``; it is not bias-corrected (BCa would need a jackknife per metric).

**Paired comparison.** Both models' statistics are computed with *the same* weights over the units both
files cover; ``d = a - b`` per resample. The interval is the percentile interval of ``d``; the two-sided
p-value is ``min(1, 2 * min(#(d <= 0) + 1, #(d >= 0) + 1) / (B + 1))`` over the ``B`` defined
resamples: the smallest ``1 - level`` at which the percentile interval would exclude 0, with the +1
correction so it is never 0 (the smallest value is ``2 / (B + 1)``). Identical inputs give ``d = 0`` in
every resample and p = 1.

**McNemar.** For two models' correctness on the same units (rows; pairs for PixMMVP pair accuracy),
only the discordant units count: ``b = a_only``, ``c = b_only``, ``n = b + c``. Under the null each
discordant unit is a fair coin, so the exact two-sided p-value is
``min(1, 2 * sum_{k <= min(b, c)} C(n, k) / 2**n)``, computed with exact integers (correctly rounded
to a float; below ~1e-308 it underflows to 0.0). ``n = 0`` gives p = 1.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

__all__ = [
    "DEFAULT_LEVEL",
    "DEFAULT_RESAMPLES",
    "DEFAULT_SEED",
    "MAX_WEIGHT_ELEMENTS",
    "Interval",
    "McNemarResult",
    "PairedResult",
    "bootstrap_weights",
    "expand_weights",
    "harmonic",
    "harmonic_score_samples",
    "mcnemar_exact",
    "paired_bootstrap",
    "percentile_interval",
    "stratum_mean",
    "stratum_ratio",
    "weighted_mean",
    "weighted_ratio",
]

DEFAULT_RESAMPLES = 10_000
"""Bootstrap resamples when none are asked for (a 95% endpoint's quantile has Monte Carlo s.e. ~0.16 points)."""

DEFAULT_SEED = 0
"""Seed of ``numpy.random.default_rng`` when none is given."""

DEFAULT_LEVEL = 0.95
"""Confidence level when none is given."""

MAX_WEIGHT_ELEMENTS = 2**28
"""Largest ``resamples * n_units`` :func:`bootstrap_weights` builds (1 GiB of float32)."""

_DRAW_CHUNK = 2**20  # unit indices drawn per chunk (8 MB of int64)
_SUM_CHUNK = 2**18  # weight entries converted to float64 per chunk (2 MB)


# ----------------------------------------------------------------------------------------- checks


def _positive_int(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or int(value) < 1:
        raise ValueError(f"Expected `{name}` to be a positive int, but got {value!r}")
    return int(value)


def _check_level(level: float) -> float:
    if isinstance(level, bool) or not isinstance(level, numbers.Real) or not 0.0 < float(level) < 1.0:
        raise ValueError(f"Expected `level` to be a number in (0, 1), but got {level!r}")
    return float(level)


def _labels(strata: ArrayLike, n: int, name: str = "strata") -> tuple[np.ndarray, int]:
    """Dense stratum indices ``0..S-1`` (in sorted label order) and ``S``."""
    labels = np.asarray(strata)
    if labels.ndim != 1 or labels.shape[0] != n:
        raise ValueError(f"Expected `{name}` to be 1-D with one label per unit ({n}), but got shape {labels.shape}")
    unique, inverse = np.unique(labels, return_inverse=True)
    return inverse.reshape(-1), len(unique)


def _weights(weights: ArrayLike) -> np.ndarray:
    array = np.asarray(weights)
    if array.ndim != 2 or array.shape[0] == 0 or not np.issubdtype(array.dtype, np.number):
        raise ValueError(f"Expected `weights` to be a (resamples, units) numeric array with at least one row, "
                         f"but got shape {array.shape} and dtype {array.dtype}")
    if array.size and not array.min() >= 0:
        raise ValueError("Expected `weights` to hold non-negative counts, but got a negative or NaN entry")
    return array


def _fractions(values: ArrayLike, n: int, name: str) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    if array.shape != (n,):
        raise ValueError(f"Expected `{name}` to be 1-D with one value per unit ({n}), but got shape {array.shape}")
    inside = (array >= 0.0) & (array <= 1.0)
    if not np.all(inside):
        raise ValueError(f"Expected `{name}` to hold fractions in [0, 1] (0/1 correctness or IoU), "
                         f"but got {array[~inside][0]!r}")
    return array


def _counts(numerators: ArrayLike, denominators: ArrayLike, n: int) -> tuple[np.ndarray, np.ndarray]:
    num = np.asarray(numerators, dtype=np.float64)
    den = np.asarray(denominators, dtype=np.float64)
    if num.shape != (n,) or den.shape != (n,):
        raise ValueError(f"Expected `numerators` and `denominators` to be 1-D with one value per unit ({n}), "
                         f"but got shapes {num.shape} and {den.shape}")
    if not (np.all(np.isfinite(den)) and np.all(num >= 0) and np.all(num <= den)):
        raise ValueError("Expected 0 <= numerator <= denominator for every unit, but got a unit outside it")
    return num, den


def _samples(samples: ArrayLike, name: str) -> np.ndarray:
    array = np.asarray(samples, dtype=np.float64)
    if array.ndim != 1 or array.size == 0:
        raise ValueError(f"Expected `{name}` to be a non-empty 1-D array of bootstrap values, "
                         f"but got shape {array.shape}")
    return array


# ---------------------------------------------------------------------------------------- weights


def bootstrap_weights(n_units: int, *, resamples: int = DEFAULT_RESAMPLES, seed: int = DEFAULT_SEED,
                      strata: ArrayLike | None = None) -> np.ndarray:
    """Bootstrap counts, float32 of shape ``(resamples, n_units)``: how often each unit is drawn.

    Each row sums to ``n_units``. With ``strata`` (one label per unit, e.g. the PixCV-Bench source),
    units are drawn within their stratum and every row keeps each stratum's size.
    """
    n = _positive_int(n_units, "n_units")
    b = _positive_int(resamples, "resamples")
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or int(seed) < 0:
        raise ValueError(f"Expected `seed` to be a non-negative int, but got {seed!r}")
    if b * n > MAX_WEIGHT_ELEMENTS:
        raise ValueError(f"Expected `resamples * n_units` to be at most {MAX_WEIGHT_ELEMENTS}, "
                         f"but got {b} * {n} = {b * n} (ask for fewer resamples)")
    if strata is None:
        members = [np.arange(n)]
    else:
        index, n_strata = _labels(strata, n)
        members = [np.flatnonzero(index == s) for s in range(n_strata)]
    rng = np.random.default_rng(int(seed))
    out = np.empty((b, n), dtype=np.float32)
    rows_per_chunk = max(1, _DRAW_CHUNK // n)
    for start in range(0, b, rows_per_chunk):
        rows = min(rows_per_chunk, b - start)
        for units in members:
            size = units.size
            draws = rng.integers(0, size, size=(rows, size))
            draws += (np.arange(rows) * size)[:, None]
            counts = np.bincount(draws.ravel(), minlength=rows * size).reshape(rows, size)
            if size == n:
                out[start:start + rows] = counts
            else:
                out[start:start + rows, units] = counts
    return out


def expand_weights(weights: ArrayLike, units: ArrayLike) -> np.ndarray:
    """Weights of rows from weights of the units they belong to: ``weights[:, units]``.

    ``units[i]`` is the 0-based unit (e.g. PixMMVP pair ``k - 1``) of row ``i``; the rows of a drawn unit
    all count as often as the unit was drawn (a cluster bootstrap).
    """
    w = _weights(weights)
    index = np.asarray(units)
    if index.ndim != 1 or not (index.size == 0 or np.issubdtype(index.dtype, np.integer)):
        raise ValueError(f"Expected `units` to be a 1-D array of unit indices, but got shape {index.shape} "
                         f"and dtype {index.dtype}")
    if index.size and (index.min() < 0 or index.max() >= w.shape[1]):
        raise ValueError(f"Expected unit indices in 0..{w.shape[1] - 1}, but got {index.min()}..{index.max()}")
    return w[:, index]


# ------------------------------------------------------------------------------------- statistics


def _weighted_sums(weights: np.ndarray, columns: np.ndarray) -> np.ndarray:
    """``weights @ columns`` in float64, chunked over rows, without BLAS (shape ``(resamples, k)``)."""
    b, n = weights.shape
    rows_t = np.ascontiguousarray(columns.T, dtype=np.float64)
    out = np.empty((b, rows_t.shape[0]), dtype=np.float64)
    step = max(1, _SUM_CHUNK // max(n, 1))
    for start in range(0, b, step):
        chunk = weights[start:start + step].astype(np.float64)
        out[start:start + step] = np.einsum("ij,kj->ik", chunk, rows_t)
    return out


def _strata_of(strata: ArrayLike | None, n: int) -> tuple[np.ndarray, int]:
    if strata is None:
        return np.zeros(n, dtype=np.intp), 1
    index, n_strata = _labels(strata, n)
    if n_strata == 0:
        raise ValueError("Expected at least one unit, but got none")
    return index, n_strata


def _mean_of_strata(weights: np.ndarray, values: np.ndarray, strata: ArrayLike | None) -> np.ndarray:
    n = weights.shape[1]
    index, n_strata = _strata_of(strata, n)
    onehot = np.zeros((n, n_strata), dtype=np.float64)
    onehot[np.arange(n), index] = 1.0
    sums = _weighted_sums(weights, np.hstack([onehot * values[:, None], onehot]))
    num, total = sums[:, :n_strata], sums[:, n_strata:]
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(total > 0, num / np.where(total > 0, total, 1.0), np.nan)
    return means.mean(axis=1) * 100.0


def _ratio_of_strata(weights: np.ndarray, num: np.ndarray, den: np.ndarray,
                     strata: ArrayLike | None) -> np.ndarray:
    n = weights.shape[1]
    index, n_strata = _strata_of(strata, n)
    onehot = np.zeros((n, n_strata), dtype=np.float64)
    onehot[np.arange(n), index] = 1.0
    sums = _weighted_sums(weights, np.hstack([onehot * num[:, None], onehot * den[:, None], onehot]))
    top, bottom, total = sums[:, :n_strata], sums[:, n_strata:2 * n_strata], sums[:, 2 * n_strata:]
    ratio = np.where(bottom > 0, top / np.where(bottom > 0, bottom, 1.0), 1.0)
    return np.where(total > 0, ratio, np.nan).mean(axis=1) * 100.0


def weighted_mean(weights: ArrayLike, values: ArrayLike) -> np.ndarray:
    """Per resample, the weighted mean of ``values`` (0/1 correctness or IoU fractions) in percent.

    Accuracy over rows or pairs, mIoU over rows. NaN for a resample with zero total weight.
    """
    w = _weights(weights)
    return _mean_of_strata(w, _fractions(values, w.shape[1], "values"), None)


def weighted_ratio(weights: ArrayLike, numerators: ArrayLike, denominators: ArrayLike) -> np.ndarray:
    """Per resample, ``sum(w * numerators) / sum(w * denominators)`` in percent (cIoU).

    100 where the weighted denominator is 0 (only empty/empty rows drawn); NaN for zero total weight.
    """
    w = _weights(weights)
    num, den = _counts(numerators, denominators, w.shape[1])
    return _ratio_of_strata(w, num, den, None)


def stratum_mean(weights: ArrayLike, values: ArrayLike, strata: ArrayLike) -> np.ndarray:
    """Per resample, the unweighted mean over strata of each stratum's weighted mean, in percent.

    PixCV-Bench's A and M (mean of the ADE20K and COCO values). NaN when a stratum has zero weight.
    """
    w = _weights(weights)
    return _mean_of_strata(w, _fractions(values, w.shape[1], "values"), strata)


def stratum_ratio(weights: ArrayLike, numerators: ArrayLike, denominators: ArrayLike,
                  strata: ArrayLike) -> np.ndarray:
    """Per resample, the unweighted mean over strata of each stratum's :func:`weighted_ratio` (percent).

    PixCV-Bench's cIoU (mean of the per-source cIoU).
    """
    w = _weights(weights)
    num, den = _counts(numerators, denominators, w.shape[1])
    return _ratio_of_strata(w, num, den, strata)


def harmonic(x: ArrayLike, y: ArrayLike) -> np.ndarray:
    """Elementwise S = ``2xy / (x + y)`` of percents; 0 where ``x`` or ``y`` is 0 (NaN stays NaN otherwise)."""
    a = np.asarray(x, dtype=np.float64)
    b = np.asarray(y, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"Expected `x` and `y` to have the same shape, but got {a.shape} != {b.shape}")
    zero = (a == 0.0) | (b == 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        value = 2.0 * a * b / np.where(zero, 1.0, a + b)
    return np.where(zero, 0.0, value)


def _best_samples(terms: Sequence[ArrayLike | None], name: str) -> np.ndarray | None:
    measured = [np.asarray(t, dtype=np.float64) for t in terms if t is not None]
    if not measured:
        return None
    shapes = {t.shape for t in measured}
    if len(shapes) != 1 or measured[0].ndim != 1:
        raise ValueError(f"Expected `{name}` to hold 1-D arrays of one length, but got shapes {sorted(shapes)}")
    return np.maximum.reduce(measured)


def harmonic_score_samples(*, accuracies: Sequence[ArrayLike | None],
                           masks: Sequence[ArrayLike | None]) -> np.ndarray | None:
    """Bootstrap values of S: :func:`harmonic` of the elementwise max of the measured accuracy arrays
    (A, A†) and of the measured mask arrays (M, M†), all computed with the same weights.

    ``None`` entries are terms that were not measured; the result is ``None`` (S undefined) when no
    accuracy or no mask term was measured, as in :func:`pixbench.metrics.accuracy.harmonic_score`.
    """
    x = _best_samples(accuracies, "accuracies")
    y = _best_samples(masks, "masks")
    if x is None or y is None:
        return None
    return harmonic(x, y)


# -------------------------------------------------------------------------------------- intervals


def percentile_interval(samples: ArrayLike, level: float = DEFAULT_LEVEL) -> tuple[float, float]:
    """Percentile bootstrap interval: the ``(1-level)/2`` and ``(1+level)/2`` quantiles (linear interpolation).

    NaN values (undefined resamples) are left out; raises ``ValueError`` when none is left.
    """
    values = _samples(samples, "samples")
    tail = round(50.0 * (1.0 - _check_level(level)), 10)  # 0.9 -> exactly 5th and 95th percentiles
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        raise ValueError("Expected `samples` to hold at least one finite value, but got none")
    low, high = np.percentile(finite, [tail, 100.0 - tail])
    return float(low), float(high)


@dataclass(frozen=True)
class Interval:
    """A percentile bootstrap interval (percents) and how it was made."""

    low: float
    high: float
    level: float
    resamples: int
    seed: int

    @classmethod
    def from_samples(cls, samples: ArrayLike, *, level: float = DEFAULT_LEVEL, seed: int = DEFAULT_SEED) -> Interval:
        """The :func:`percentile_interval` of ``samples``, recording the level, resample count and seed."""
        low, high = percentile_interval(samples, level)
        return cls(low=low, high=high, level=float(level), resamples=int(np.asarray(samples).size), seed=int(seed))

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready fields plus ``"method": "percentile"``."""
        return {**asdict(self), "method": "percentile"}


@dataclass(frozen=True)
class PairedResult:
    """Paired difference ``a - b`` of one metric, its percentile interval and two-sided bootstrap p-value."""

    difference: float
    low: float
    high: float
    p_value: float
    level: float
    resamples: int


def paired_bootstrap(samples_a: ArrayLike, samples_b: ArrayLike, *, difference: float | None = None,
                     level: float = DEFAULT_LEVEL) -> PairedResult:
    """Compare two models' bootstrap values of one metric, computed with the same weights.

    ``difference`` is the point estimate ``a - b`` (pass the full-sample statistics' difference; when
    ``None`` the mean of the bootstrap differences is used). Resamples where either value is NaN are
    left out; ``resamples`` is the number used.
    """
    a = _samples(samples_a, "samples_a")
    b = _samples(samples_b, "samples_b")
    if a.shape != b.shape:
        raise ValueError(f"Expected `samples_a` and `samples_b` to have the same length (same weights), "
                         f"but got {a.size} != {b.size}")
    level = _check_level(level)
    d = (a - b)[np.isfinite(a) & np.isfinite(b)]
    if d.size == 0:
        raise ValueError("Expected at least one resample where both values are defined, but got none")
    low, high = percentile_interval(d, level)
    used = d.size
    below = int(np.count_nonzero(d <= 0.0))
    above = int(np.count_nonzero(d >= 0.0))
    p_value = min(1.0, 2.0 * (min(below, above) + 1) / (used + 1))
    estimate = float(d.mean()) if difference is None else float(difference)
    return PairedResult(difference=estimate, low=low, high=high, p_value=p_value, level=level, resamples=used)


# --------------------------------------------------------------------------------------- McNemar


@dataclass(frozen=True)
class McNemarResult:
    """Discordant counts (units only ``a`` got right, only ``b`` got right) and the exact two-sided p-value."""

    a_only: int
    b_only: int
    p_value: float


def _correctness(values: ArrayLike, name: str) -> np.ndarray:
    array = np.asarray(values)
    if array.ndim != 1 or array.dtype != np.bool_:
        raise ValueError(f"Expected `{name}` to be a 1-D boolean array, but got shape {array.shape} "
                         f"and dtype {array.dtype}")
    return array


def mcnemar_exact(a_correct: ArrayLike, b_correct: ArrayLike) -> McNemarResult:
    """Exact McNemar test of two models' correctness on the same units (rows, or PixMMVP pairs).

    ``p = min(1, 2 * sum_{k <= min(a_only, b_only)} C(n, k) / 2**n)`` with ``n = a_only + b_only``,
    in exact integer arithmetic; 1.0 when there is no discordant unit.
    """
    a = _correctness(a_correct, "a_correct")
    b = _correctness(b_correct, "b_correct")
    if a.shape != b.shape:
        raise ValueError(f"Expected `a_correct` and `b_correct` to cover the same units, "
                         f"but got lengths {a.size} != {b.size}")
    a_only = int(np.count_nonzero(a & ~b))
    b_only = int(np.count_nonzero(b & ~a))
    n = a_only + b_only
    if n == 0:
        return McNemarResult(a_only=a_only, b_only=b_only, p_value=1.0)
    tail, term = 0, 1  # term = C(n, k)
    for k in range(min(a_only, b_only) + 1):
        tail += term
        term = term * (n - k) // (k + 1)
    p_value = min(1.0, 2 * tail / 2**n)  # int / int is correctly rounded for any size
    return McNemarResult(a_only=a_only, b_only=b_only, p_value=p_value)
