"""Accuracy reductions and S: hand-computed values, the paper's check values, properties."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pixbench.metrics.accuracy import (
    harmonic_score,
    pair_accuracy,
    pair_correct,
    per_question_accuracy,
    source_mean,
)


def test_pair_needs_both_rows() -> None:
    # Pair 1 both right, pair 2 one wrong, pair 3 one missing, pairs 4..150 absent (PixMMVP's 150 pairs).
    correct = {1: True, 2: True, 3: True, 4: False, 5: True}
    assert pair_accuracy(correct, n_pairs=150) == pytest.approx(1 / 150 * 100)
    by_pair = pair_correct(correct, n_pairs=150)
    assert len(by_pair) == 150
    assert [by_pair[k] for k in (1, 2, 3, 4)] == [True, False, False, False]


def test_the_number_of_pairs_is_the_callers() -> None:
    """No pair count is assumed: the same rows over 3 or 4 pairs give their own accuracy, and none is an error."""
    correct = {1: True, 2: True, 3: True, 4: True, 5: True, 6: False}
    assert pair_accuracy(correct, n_pairs=3) == pytest.approx(2 / 3 * 100)
    assert pair_accuracy(correct, n_pairs=4) == 50.0  # pair 4 (rows 7, 8) missing
    assert pair_correct(correct, n_pairs=4) == {1: True, 2: True, 3: False, 4: False}
    with pytest.raises(TypeError, match="n_pairs"):
        pair_accuracy(correct)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="n_pairs"):
        pair_correct(correct)  # type: ignore[call-arg]


def test_pairing_is_by_id_not_order() -> None:
    # Insertion order interleaves pairs; only ids decide.
    correct = {2: True, 3: True, 1: True, 4: True}
    assert pair_accuracy(correct, n_pairs=2) == 100.0
    assert pair_accuracy({1: True, 3: True, 2: False, 4: True}, n_pairs=2) == 50.0


def test_all_correct_and_none() -> None:
    assert pair_accuracy({i: True for i in range(1, 301)}, n_pairs=150) == 100.0
    assert pair_accuracy({}, n_pairs=150) == 0.0


def test_pair_accuracy_on_a_subset_of_pairs() -> None:
    correct = {1: True, 2: True, 3: True, 4: False, 5: True, 6: True}
    assert pair_accuracy(correct, n_pairs=3, pairs=[1, 2]) == 50.0
    assert pair_accuracy(correct, n_pairs=3, pairs=[3, 1, 3]) == 100.0
    with pytest.raises(ValueError, match="pair numbers"):
        pair_accuracy(correct, n_pairs=3, pairs=[4])
    with pytest.raises(ValueError, match="at least one pair"):
        pair_accuracy(correct, n_pairs=3, pairs=[])


@pytest.mark.parametrize("ids", [[0], [301], [-1]])
def test_pair_accuracy_rejects_ids_outside_the_dataset(ids: list[int]) -> None:
    with pytest.raises(ValueError, match=r"row ids in 1\.\.300"):
        pair_accuracy(dict.fromkeys(ids, True), n_pairs=150)
    with pytest.raises(ValueError, match=r"row ids in 1\.\.4\b"):
        pair_accuracy(dict.fromkeys([*ids, 5], True), n_pairs=2)


@pytest.mark.parametrize("n_pairs", [0, -1, True, 1.5])
def test_pair_accuracy_rejects_bad_n_pairs(n_pairs: int) -> None:
    with pytest.raises(ValueError, match="n_pairs"):
        pair_accuracy({}, n_pairs=n_pairs)


def test_per_question_accuracy() -> None:
    correct = {1: True, 2: False, 3: True, 7: True}
    assert per_question_accuracy(correct, [1, 2, 3, 4]) == 50.0  # 4 is missing: wrong
    assert per_question_accuracy(correct, iter([7])) == 100.0
    assert per_question_accuracy(correct, [1, 1, 2]) == 50.0  # repeated ids count once
    with pytest.raises(ValueError, match="at least one row id"):
        per_question_accuracy(correct, [])


@given(st.integers(1, 150).flatmap(lambda n: st.tuples(st.just(n), st.dictionaries(st.integers(1, 2 * n),
                                                                                     st.booleans()))))
def test_pair_accuracy_never_exceeds_per_question(drawn: tuple[int, dict[int, bool]]) -> None:
    n_pairs, correct = drawn
    pairs = pair_accuracy(correct, n_pairs=n_pairs)
    questions = per_question_accuracy(correct, range(1, 2 * n_pairs + 1))
    assert 0.0 <= pairs <= questions <= 100.0
    assert pairs == pytest.approx(sum(pair_correct(correct, n_pairs=n_pairs).values()) / n_pairs * 100)


def test_source_mean_is_unweighted() -> None:
    assert source_mean({"ADE20K": 40.0, "COCO": 60.0}) == 50.0
    assert source_mean({"only": 12.5}) == 12.5
    with pytest.raises(ValueError, match="at least one source"):
        source_mean({})
    with pytest.raises(ValueError, match="finite"):
        source_mean({"a": float("nan")})


@pytest.mark.parametrize(
    ("a_dagger", "a", "m_dagger", "m", "expected"),
    [(27.3, 28.0, 11.1, 11.2, 16.0), (12.0, 12.0, 17.8, 38.0, 18.2), (12.0, 42.1, None, 50.5, 45.9)],
)
def test_harmonic_score_paper_check_values(a_dagger: float, a: float, m_dagger: float | None, m: float,
                                           expected: float) -> None:
    score = harmonic_score(accuracies=[a_dagger, a], masks=[m_dagger, m])
    assert score is not None
    assert round(score, 1) == expected


def test_harmonic_score_by_hand_and_edges() -> None:
    assert harmonic_score(accuracies=[50.0], masks=[50.0]) == 50.0
    assert harmonic_score(accuracies=[30.0, None], masks=[60.0]) == pytest.approx(40.0)
    assert harmonic_score(accuracies=[0.0], masks=[80.0]) == 0.0
    assert harmonic_score(accuracies=[80.0], masks=[0.0, None]) == 0.0
    assert harmonic_score(accuracies=[None, None], masks=[50.0]) is None
    assert harmonic_score(accuracies=[50.0], masks=[]) is None


@pytest.mark.parametrize("bad", [-1.0, 100.5, float("nan"), "50", True])
def test_harmonic_score_rejects_non_percents(bad: float) -> None:
    with pytest.raises(ValueError, match="percents"):
        harmonic_score(accuracies=[bad], masks=[50.0])


@given(st.floats(0.01, 100), st.floats(0.01, 100))
def test_harmonic_score_lies_between_min_and_max(x: float, y: float) -> None:
    score = harmonic_score(accuracies=[x], masks=[y])
    assert score is not None
    assert min(x, y) - 1e-9 <= score <= max(x, y) + 1e-9
    assert score == pytest.approx(harmonic_score(accuracies=[y], masks=[x]))
