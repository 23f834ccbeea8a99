"""Bootstrap statistics and tests: hand-computed values, direct loops over resamples, properties."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pixbench.metrics.accuracy import harmonic_score, source_mean
from pixbench.metrics.masks import ciou, miou
from pixbench.metrics.stats import (
    MAX_WEIGHT_ELEMENTS,
    Interval,
    bootstrap_weights,
    expand_weights,
    harmonic,
    harmonic_score_samples,
    mcnemar_exact,
    paired_bootstrap,
    percentile_interval,
    stratum_mean,
    stratum_ratio,
    weighted_mean,
    weighted_ratio,
)


def _discordant(a_only: int, b_only: int, both: int = 3, neither: int = 2) -> tuple[np.ndarray, np.ndarray]:
    a = [True] * a_only + [False] * b_only + [True] * both + [False] * neither
    b = [False] * a_only + [True] * b_only + [True] * both + [False] * neither
    return np.array(a), np.array(b)


# ----------------------------------------------------------------------------------------- McNemar


def test_mcnemar_all_discordant_one_way() -> None:
    result = mcnemar_exact(*_discordant(0, 5))
    assert (result.a_only, result.b_only) == (0, 5)
    assert result.p_value == 0.0625  # 2 * C(5, 0) / 2**5


def test_mcnemar_one_against_nine_by_hand() -> None:
    by_hand = 2 * (math.comb(10, 0) + math.comb(10, 1)) / 2**10  # 2 * 11 / 1024
    result = mcnemar_exact(*_discordant(1, 9))
    assert result.p_value == pytest.approx(by_hand) == 0.021484375
    assert mcnemar_exact(*_discordant(9, 1)).p_value == result.p_value


@pytest.mark.parametrize("k", [1, 4, 50])
def test_mcnemar_balanced_is_one(k: int) -> None:
    assert mcnemar_exact(*_discordant(k, k)).p_value == 1.0


def test_mcnemar_no_discordant_is_one() -> None:
    a = np.array([True, False, True])
    assert mcnemar_exact(a, a.copy()).p_value == 1.0
    assert mcnemar_exact(np.zeros(0, dtype=bool), np.zeros(0, dtype=bool)).p_value == 1.0


def test_mcnemar_large_n_matches_log_space() -> None:
    b01, b10 = 1400, 1600
    n = b01 + b10
    logs = [math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1) - n * math.log(2)
            for k in range(b01 + 1)]
    top = max(logs)
    expected = 2 * math.exp(top) * sum(math.exp(v - top) for v in logs)
    result = mcnemar_exact(*_discordant(b01, b10))
    assert 0.0 < result.p_value < 1e-3
    assert result.p_value == pytest.approx(expected, rel=1e-9)
    # Far in the tail the exact value underflows to 0.0 instead of failing.
    assert mcnemar_exact(*_discordant(0, 2000)).p_value == 0.0


def test_mcnemar_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="boolean"):
        mcnemar_exact(np.array([1, 0]), np.array([True, False]))
    with pytest.raises(ValueError, match="same units"):
        mcnemar_exact(np.array([True]), np.array([True, False]))


# ----------------------------------------------------------------------------------------- weights


def test_weights_rows_sum_to_n_and_are_counts() -> None:
    w = bootstrap_weights(37, resamples=500, seed=3)
    assert w.shape == (500, 37) and w.dtype == np.float32
    assert np.all(w.sum(axis=1) == 37)
    assert np.all(w == np.round(w)) and w.min() >= 0
    assert w.mean() == pytest.approx(1.0)  # every unit is drawn once per resample on average
    assert abs(w[:, 0].mean() - 1.0) < 0.15


def test_stratified_weights_keep_stratum_sizes() -> None:
    strata = np.array([2, 0, 2, 2, 1, 0, 2, 1, 1, 2])
    w = bootstrap_weights(10, resamples=300, seed=1, strata=strata)
    for label in (0, 1, 2):
        assert np.all(w[:, strata == label].sum(axis=1) == np.count_nonzero(strata == label))
    # String labels work the same way.
    named = np.where(strata == 0, "ade20k", np.where(strata == 1, "coco", "other"))
    assert np.array_equal(bootstrap_weights(10, resamples=300, seed=1, strata=named), w)


def test_weights_are_deterministic_with_a_seed() -> None:
    first = bootstrap_weights(150, resamples=2000, seed=7)
    assert np.array_equal(first, bootstrap_weights(150, resamples=2000, seed=7))
    assert not np.array_equal(first, bootstrap_weights(150, resamples=2000, seed=8))


def test_weights_reject_bad_arguments() -> None:
    with pytest.raises(ValueError, match="`n_units`"):
        bootstrap_weights(0, resamples=10, seed=0)
    with pytest.raises(ValueError, match="`resamples`"):
        bootstrap_weights(5, resamples=0, seed=0)
    with pytest.raises(ValueError, match="`seed`"):
        bootstrap_weights(5, resamples=10, seed=True)
    with pytest.raises(ValueError, match="`strata`"):
        bootstrap_weights(5, resamples=10, seed=0, strata=[0, 1])
    with pytest.raises(ValueError, match="at most"):
        bootstrap_weights(MAX_WEIGHT_ELEMENTS, resamples=2, seed=0)


def test_expand_weights_gives_rows_their_pair_weight() -> None:
    pairs = bootstrap_weights(4, resamples=20, seed=0)
    rows = expand_weights(pairs, np.repeat(np.arange(4), 2))
    assert rows.shape == (20, 8)
    assert np.array_equal(rows[:, 0::2], pairs) and np.array_equal(rows[:, 1::2], pairs)
    with pytest.raises(ValueError, match="unit indices"):
        expand_weights(pairs, [0, 4])


# -------------------------------------------------------------------------------------- statistics


def test_mean_of_a_constant_is_constant() -> None:
    w = bootstrap_weights(50, resamples=400, seed=0)
    assert np.allclose(weighted_mean(w, np.full(50, 0.3)), 30.0)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(0.0, 1.0), min_size=1, max_size=20), st.integers(0, 2**31))
def test_weighted_mean_equals_mean_of_drawn_rows(values: list[float], seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = len(values)
    draws = rng.integers(0, n, size=(5, n))
    w = np.stack([np.bincount(d, minlength=n) for d in draws]).astype(np.float32)
    expected = [np.mean(np.asarray(values)[d]) * 100 for d in draws]
    assert np.allclose(weighted_mean(w, values), expected)


def test_full_sample_statistics_match_the_metrics() -> None:
    rng = np.random.default_rng(0)
    ious = rng.random(40)
    unions = rng.integers(0, 50, size=40)
    inters = (unions * rng.random(40)).astype(np.int64)
    ones = np.ones((1, 40), dtype=np.float32)
    assert weighted_mean(ones, ious)[0] == pytest.approx(miou(ious))
    assert weighted_ratio(ones, inters, unions)[0] == pytest.approx(ciou(inters, unions))
    strata = np.array([0] * 15 + [1] * 25)
    by_source = {"a": miou(ious[:15]), "b": miou(ious[15:])}
    assert stratum_mean(ones, ious, strata)[0] == pytest.approx(source_mean(by_source))


def test_large_sample_interval_covers_and_has_normal_width() -> None:
    n = 2000
    values = np.random.default_rng(11).random(n)  # true mean 0.5
    samples = weighted_mean(bootstrap_weights(n, resamples=4000, seed=0), values)
    low, high = percentile_interval(samples, 0.95)
    assert low < 50.0 < high
    assert low < values.mean() * 100 < high
    normal_width = 2 * 1.96 * values.std(ddof=1) / math.sqrt(n) * 100
    assert high - low == pytest.approx(normal_width, rel=0.1)


def test_weighted_ratio_equals_a_direct_loop() -> None:
    rng = np.random.default_rng(5)
    unions = rng.integers(1, 100, size=12)
    inters = rng.integers(0, 1 + unions)
    w = bootstrap_weights(12, resamples=6, seed=2)
    got = weighted_ratio(w, inters, unions)
    for r in range(6):
        top = bottom = 0.0
        for i in range(12):
            top += float(w[r, i]) * inters[i]
            bottom += float(w[r, i]) * unions[i]
        assert got[r] == pytest.approx(top / bottom * 100)


def test_weighted_ratio_empty_and_undrawn() -> None:
    w = np.array([[1, 1, 0], [0, 0, 3], [0, 0, 0]], dtype=np.float32)
    got = weighted_ratio(w, [0, 0, 2], [0, 0, 4])
    assert got[0] == 100.0  # only empty/empty rows drawn: 0/0 is 100, as masks.ciou
    assert got[1] == 50.0
    assert np.isnan(got[2])  # nothing drawn: undefined
    assert np.isnan(weighted_mean(w, [1, 0, 1])[2])


def test_stratum_mean_by_hand() -> None:
    values = np.array([1.0, 0.0, 1.0, 0.5, 0.0])
    strata = np.array(["ade", "ade", "coco", "coco", "coco"])
    w = np.array([[2, 0, 1, 1, 1], [1, 1, 0, 3, 0]], dtype=np.float32)
    # Row 0: ADE20K (2*1)/2 = 1; COCO (1 + 0.5 + 0)/3 = 0.5 -> mean 0.75.
    # Row 1: ADE20K 1/2 = 0.5; COCO (3*0.5)/3 = 0.5 -> mean 0.5.
    assert np.allclose(stratum_mean(w, values, strata), [75.0, 50.0])


def test_stratum_ratio_by_hand() -> None:
    inters = np.array([1, 0, 3, 0])
    unions = np.array([2, 4, 3, 0])
    strata = np.array([0, 0, 1, 1])
    w = np.array([[1, 1, 1, 1], [2, 0, 0, 2]], dtype=np.float32)
    # Row 0: (1+0)/(2+4) = 1/6 and 3/3 = 1 -> (1/6 + 1) / 2.  Row 1: 2/4 and 0/0 -> 100 -> (0.5 + 1) / 2.
    assert np.allclose(stratum_ratio(w, inters, unions, strata), [(1 / 6 + 1) / 2 * 100, 75.0])


def test_statistics_reject_bad_input() -> None:
    w = np.ones((2, 3), dtype=np.float32)
    with pytest.raises(ValueError, match="fractions"):
        weighted_mean(w, [0.5, 50.0, 1.0])
    with pytest.raises(ValueError, match="one value per unit"):
        weighted_mean(w, [0.5, 0.5])
    with pytest.raises(ValueError, match="numerator <= denominator"):
        weighted_ratio(w, [1, 5, 0], [2, 4, 0])
    with pytest.raises(ValueError, match="non-negative"):
        weighted_mean(-w, [0, 0, 0])
    with pytest.raises(ValueError, match="`weights`"):
        weighted_mean(np.ones(3), [0, 0, 0])


# ---------------------------------------------------------------------------------------------- S


def test_harmonic_handles_zeros() -> None:
    assert np.allclose(harmonic([0.0, 50.0, 30.0], [50.0, 50.0, 0.0]), [0.0, 50.0, 0.0])
    assert harmonic([20.0], [60.0])[0] == pytest.approx(30.0)


def test_harmonic_score_samples_matches_harmonic_score() -> None:
    a_dagger, a, m_dagger, m = (np.array([v, 0.0]) for v in (12.0, 42.1, 50.5, 38.0))
    got = harmonic_score_samples(accuracies=[a_dagger, a], masks=[None, m])
    assert got is not None
    assert got[0] == pytest.approx(harmonic_score(accuracies=[12.0, 42.1], masks=[None, 38.0]))
    assert got[1] == 0.0
    both = harmonic_score_samples(accuracies=[a_dagger, a], masks=[m_dagger, m])
    assert both is not None and both[0] == pytest.approx(45.9, abs=0.05)  # the paper's check value


def test_harmonic_score_samples_undefined_without_a_term() -> None:
    assert harmonic_score_samples(accuracies=[None, None], masks=[np.array([1.0])]) is None
    assert harmonic_score_samples(accuracies=[np.array([1.0])], masks=[]) is None
    with pytest.raises(ValueError, match="one length"):
        harmonic_score_samples(accuracies=[np.ones(2), np.ones(3)], masks=[np.ones(2)])


# --------------------------------------------------------------------------------------- intervals


def test_percentile_interval_by_hand() -> None:
    assert percentile_interval(np.arange(101.0), 0.9) == (5.0, 95.0)
    assert percentile_interval([np.nan, 1.0, 3.0], 0.5) == (1.5, 2.5)  # NaN left out
    with pytest.raises(ValueError, match="`level`"):
        percentile_interval([1.0], 1.0)
    with pytest.raises(ValueError, match="finite"):
        percentile_interval([np.nan])


def test_interval_records_how_it_was_made() -> None:
    interval = Interval.from_samples(np.arange(101.0), level=0.9, seed=4)
    assert interval == Interval(low=5.0, high=95.0, level=0.9, resamples=101, seed=4)
    assert interval.as_dict()["method"] == "percentile"


# ------------------------------------------------------------------------------------------- paired


def test_paired_bootstrap_of_identical_inputs() -> None:
    values = np.random.default_rng(0).random(80)
    w = bootstrap_weights(80, resamples=1000, seed=0)
    samples = weighted_mean(w, values)
    result = paired_bootstrap(samples, samples.copy(), difference=0.0)
    assert (result.difference, result.low, result.high, result.p_value) == (0.0, 0.0, 0.0, 1.0)
    assert paired_bootstrap(samples, samples).difference == 0.0


def test_paired_bootstrap_of_clearly_different_inputs() -> None:
    rng = np.random.default_rng(1)
    a_correct = rng.random(300) < 0.8
    b_correct = rng.random(300) < 0.4
    w = bootstrap_weights(300, resamples=2000, seed=0)
    ones = np.ones((1, 300))
    point = weighted_mean(ones, a_correct)[0] - weighted_mean(ones, b_correct)[0]
    result = paired_bootstrap(weighted_mean(w, a_correct), weighted_mean(w, b_correct), difference=point)
    assert result.difference == point > 0
    assert result.low < point < result.high and result.low > 0
    assert result.p_value == pytest.approx(2 / 2001)  # no resample reaches 0
    assert mcnemar_exact(a_correct, b_correct).p_value < 1e-10


def test_paired_bootstrap_p_value_counts_both_tails() -> None:
    d = np.array([-1.0, 1.0, 2.0, 3.0])
    result = paired_bootstrap(d, np.zeros(4))
    assert result.p_value == pytest.approx(2 * (1 + 1) / 5)
    with pytest.raises(ValueError, match="same length"):
        paired_bootstrap(d, np.zeros(3))
