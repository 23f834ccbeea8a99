"""Selection modes (contract section 5): given, oracle, score."""

from __future__ import annotations

import numpy as np
import pytest

from pixbench.annotation.rle import Rle, area, empty, encode
from pixbench.metrics.selection import (
    DEFAULT_SCORE_THRESHOLD,
    Selection,
    SelectionError,
    select_mask,
)

H, W = 6, 6


def _box(top: int, left: int, bottom: int, right: int) -> Rle:
    mask = np.zeros((H, W), dtype=bool)
    mask[top:bottom, left:right] = True
    return encode(mask)


GT = _box(0, 0, 3, 3)  # 9 pixels
NEAR = _box(0, 0, 3, 2)  # IoU 6/9
EXACT = _box(0, 0, 3, 3)  # IoU 1
FAR = _box(4, 4, 6, 6)  # IoU 0
BLANK = empty(H, W)


def _is_empty(rle: Rle) -> bool:
    return rle["size"] == [H, W] and int(area([rle])[0]) == 0


# --- given --------------------------------------------------------------------------------------------

def test_given_prefers_the_lines_mask() -> None:
    chosen = select_mask(mode="given", gt=GT, mask=NEAR, candidates=[EXACT], selected=0)
    assert chosen == Selection(None, NEAR)


def test_given_uses_selected_candidate() -> None:
    assert select_mask(mode="given", gt=GT, candidates=[FAR, NEAR], selected=1) == Selection(1, NEAR)


def test_given_none_means_empty() -> None:
    chosen = select_mask(mode="given", gt=GT, candidates=[EXACT], selected="none")
    assert chosen.index is None and _is_empty(chosen.mask)


def test_given_without_mask_or_candidates_is_the_empty_mask() -> None:
    chosen = select_mask(mode="given", gt=GT)
    assert chosen.index is None and _is_empty(chosen.mask)


def test_given_with_candidates_but_no_choice_says_to_pick_a_mode() -> None:
    with pytest.raises(SelectionError, match="--select oracle or --select score"):
        select_mask(mode="given", gt=GT, candidates=[NEAR, FAR])


@pytest.mark.parametrize("selected", [2, -1, True])
def test_given_rejects_bad_selected(selected: int) -> None:
    with pytest.raises(SelectionError, match="Expected `selected`"):
        select_mask(mode="given", gt=GT, candidates=[NEAR, FAR], selected=selected)


# --- oracle -------------------------------------------------------------------------------------------

def test_oracle_picks_best_iou() -> None:
    assert select_mask(mode="oracle", gt=GT, candidates=[NEAR, EXACT, FAR]) == Selection(1, EXACT)


def test_oracle_ties_go_to_the_later_candidate() -> None:
    other_near = _box(0, 1, 3, 3)  # also 6 of 9 pixels, IoU 6/9
    assert select_mask(mode="oracle", gt=GT, candidates=[NEAR, other_near, FAR]).index == 1


def test_oracle_ignores_given_mask_and_selected() -> None:
    assert select_mask(mode="oracle", gt=GT, mask=FAR, candidates=[FAR, NEAR], selected=0).index == 1


def test_oracle_empty_ground_truth_gives_the_empty_mask() -> None:
    chosen = select_mask(mode="oracle", gt=BLANK, candidates=[NEAR, EXACT])
    assert chosen.index is None and _is_empty(chosen.mask)


def test_oracle_no_candidates_gives_the_empty_mask() -> None:
    chosen = select_mask(mode="oracle", gt=GT, candidates=[])
    assert chosen.index is None and _is_empty(chosen.mask)


def test_oracle_line_without_candidates_keeps_its_mask() -> None:
    assert select_mask(mode="oracle", gt=GT, mask=NEAR) == Selection(None, NEAR)


# --- score --------------------------------------------------------------------------------------------

def test_score_picks_highest_score() -> None:
    chosen = select_mask(mode="score", gt=GT, candidates=[NEAR, FAR, EXACT], scores=[0.8, 0.95, 0.9])
    assert chosen == Selection(1, FAR)


def test_score_ties_go_to_the_later_candidate() -> None:
    chosen = select_mask(mode="score", gt=GT, candidates=[NEAR, EXACT, FAR], scores=[0.9, 0.9, 0.1])
    assert chosen.index == 1


def test_score_below_threshold_gives_the_empty_mask() -> None:
    chosen = select_mask(mode="score", gt=GT, candidates=[NEAR, EXACT], scores=[0.5, 0.69])
    assert chosen.index is None and _is_empty(chosen.mask)
    assert DEFAULT_SCORE_THRESHOLD == 0.7


def test_score_at_threshold_is_kept_and_threshold_is_configurable() -> None:
    assert select_mask(mode="score", gt=GT, candidates=[NEAR], scores=[0.7]).index == 0
    assert select_mask(mode="score", gt=GT, candidates=[NEAR], scores=[0.5], score_threshold=0.4).index == 0


def test_score_skips_unscored_candidates() -> None:
    chosen = select_mask(mode="score", gt=GT, candidates=[NEAR, EXACT, FAR], scores=[0.8, None, 0.75])
    assert chosen.index == 0


def test_score_with_no_scores_at_all_is_an_error() -> None:
    with pytest.raises(SelectionError, match="no candidate has one"):
        select_mask(mode="score", gt=GT, candidates=[NEAR, EXACT], scores=[None, None])
    with pytest.raises(SelectionError, match="one score"):
        select_mask(mode="score", gt=GT, candidates=[NEAR, EXACT])
    with pytest.raises(SelectionError, match="one score"):
        select_mask(mode="score", gt=GT, candidates=[NEAR, EXACT], scores=[0.9])


def test_score_rejects_nan() -> None:
    with pytest.raises(SelectionError, match="score to be a number"):
        select_mask(mode="score", gt=GT, candidates=[NEAR], scores=[float("nan")])


def test_score_no_candidates_gives_the_empty_mask() -> None:
    chosen = select_mask(mode="score", gt=GT, candidates=[], scores=[])
    assert chosen.index is None and _is_empty(chosen.mask)


# --- arguments ----------------------------------------------------------------------------------------

def test_unknown_mode_and_bad_threshold() -> None:
    with pytest.raises(ValueError, match="given, oracle, score"):
        select_mask(mode="best", gt=GT)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="score_threshold"):
        select_mask(mode="score", gt=GT, candidates=[], score_threshold=float("nan"))


def test_selection_is_frozen() -> None:
    chosen = select_mask(mode="given", gt=GT, mask=NEAR)
    with pytest.raises(AttributeError):
        chosen.index = 3  # type: ignore[misc]
