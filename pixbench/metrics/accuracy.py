"""Accuracy reductions and the combined score S (contract sections 1 and 4).

Conventions:

- Correctness is given per dataset row id as ``Mapping[int, bool]``; an id absent from the mapping is
  a missing prediction and counts as **wrong**.
- A paired benchmark (PixMMVP) pairs rows ``2k-1`` and ``2k`` (k = 1..``n_pairs``) by id, never by line
  order; a pair is correct only when both rows are. The number of pairs is the caller's (the benchmark's rules
  know it from its reference); no function here assumes one. :func:`pair_accuracy` is the benchmark's A / A†;
  :func:`per_question_accuracy` is the per-row figure reported beside it under its own name.
- PixCV-Bench has no pairs: its A (and M) is :func:`source_mean`, the unweighted mean of the ADE20K
  and COCO values (CV-Bench's convention).
- Every value returned is a percent (0..100); :func:`harmonic_score` takes and returns percents.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Mapping, Sequence

__all__ = [
    "harmonic_score",
    "pair_accuracy",
    "pair_correct",
    "per_question_accuracy",
    "source_mean",
]

def _check_n_pairs(n_pairs: int) -> None:
    if isinstance(n_pairs, bool) or not isinstance(n_pairs, int) or n_pairs < 1:
        raise ValueError(f"Expected `n_pairs` to be a positive int, but got {n_pairs!r}")


def pair_correct(correct: Mapping[int, bool], *, n_pairs: int) -> dict[int, bool]:
    """Correctness of each pair ``k = 1..n_pairs``: rows ``2k-1`` and ``2k`` both correct.

    Raises ``ValueError`` for ids outside ``1..2*n_pairs`` (0-based ids would silently shift every pair).

    Examples:
        >>> pair_correct({1: True, 2: True, 3: True}, n_pairs=2)  # row 4 missing: pair 2 is wrong
        {1: True, 2: False}
    """
    _check_n_pairs(n_pairs)
    outside = sorted(i for i in correct if not 1 <= i <= 2 * n_pairs)
    if outside:
        raise ValueError(f"Expected row ids in 1..{2 * n_pairs}, but got {outside[:5]}"
                         + (" ..." if len(outside) > 5 else ""))
    return {k: bool(correct.get(2 * k - 1, False)) and bool(correct.get(2 * k, False))
            for k in range(1, n_pairs + 1)}


def pair_accuracy(correct: Mapping[int, bool], *, n_pairs: int, pairs: Iterable[int] | None = None) -> float:
    """Percent of correct pairs (PixMMVP's A and A†): correct pairs / ``n_pairs`` * 100.

    ``pairs`` restricts the count to those pair numbers ``k`` (e.g. one visual pattern) and divides by
    their number instead.

    Examples:
        >>> pair_accuracy({1: True, 2: True, 3: True, 4: False}, n_pairs=2)  # pair 1 right, pair 2 not
        50.0
        >>> pair_accuracy({1: True, 2: True, 3: True, 4: False}, n_pairs=2, pairs=[1])
        100.0
    """
    by_pair = pair_correct(correct, n_pairs=n_pairs)
    chosen = list(by_pair) if pairs is None else list(dict.fromkeys(pairs))
    if not chosen:
        raise ValueError("Expected at least one pair, but got none")
    unknown = [k for k in chosen if k not in by_pair]
    if unknown:
        raise ValueError(f"Expected pair numbers in 1..{n_pairs}, but got {unknown[:5]}")
    return sum(by_pair[k] for k in chosen) / len(chosen) * 100.0


def per_question_accuracy(correct: Mapping[int, bool], ids: Iterable[int]) -> float:
    """Percent of the rows ``ids`` that are correct, each row on its own (missing ids count wrong)."""
    wanted = list(dict.fromkeys(ids))
    if not wanted:
        raise ValueError("Expected at least one row id, but got none")
    return sum(bool(correct.get(i, False)) for i in wanted) / len(wanted) * 100.0


def source_mean(values_by_source: Mapping[str, float]) -> float:
    """Unweighted mean over sources (PixCV-Bench: ADE20K and COCO weigh the same whatever their sizes)."""
    if not values_by_source:
        raise ValueError("Expected at least one source, but got none")
    values = [float(v) for v in values_by_source.values()]
    if not all(math.isfinite(v) for v in values):
        raise ValueError(f"Expected finite values, but got {dict(values_by_source)!r}")
    return sum(values) / len(values)


def _best(values: Sequence[float | None], name: str) -> float | None:
    measured = [v for v in values if v is not None]
    for value in measured:
        if isinstance(value, bool) or not (isinstance(value, numbers.Real) and 0.0 <= value <= 100.0):
            raise ValueError(f"Expected `{name}` to hold percents in [0, 100] or None, but got {value!r}")
    return float(max(measured)) if measured else None


def harmonic_score(*, accuracies: Sequence[float | None], masks: Sequence[float | None]) -> float | None:
    """S = 2xy / (x + y) with x = max of the measured accuracies (A, A†), y = max of the measured mask
    terms (M, M†); percents in and out.

    ``None`` entries are terms that were not measured and are left out of the max. S is 0 when x or y
    is 0, and ``None`` (undefined, reported as null) when no accuracy or no mask term was measured.

    Examples:
        >>> harmonic_score(accuracies=[60.0, None], masks=[40.0, None])  # 2 * 60 * 40 / 100
        48.0
        >>> harmonic_score(accuracies=[60.0, 80.0], masks=[40.0, 20.0])  # the best of each: 80 and 40
        53.333333333333336
        >>> harmonic_score(accuracies=[70.0], masks=[None]) is None  # no mask term measured
        True
    """
    x = _best(accuracies, "accuracies")
    y = _best(masks, "masks")
    if x is None or y is None:
        return None
    if x == 0.0 or y == 0.0:
        return 0.0
    return 2.0 * x * y / (x + y)
