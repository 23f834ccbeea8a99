"""Mask scores: hand-computed values, the RLE path against a dense numpy path, and the error cases."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from pixbench.annotation.rle import MaskError, empty, encode
from pixbench.metrics.masks import (
    area_fractions,
    best_iou_index,
    ciou,
    intersections_and_unions,
    iou,
    ious_from_counts,
    matched_ious,
    miou,
)


def _box(h: int, w: int, top: int, left: int, bottom: int, right: int) -> np.ndarray:
    mask = np.zeros((h, w), dtype=bool)
    mask[top:bottom, left:right] = True
    return mask


def _dense_iou(pred: np.ndarray, gt: np.ndarray) -> float:
    union = int(np.logical_or(pred, gt).sum())
    return 1.0 if union == 0 else int(np.logical_and(pred, gt).sum()) / union


@st.composite
def _mask_pairs(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    h = draw(st.integers(1, 12))
    w = draw(st.integers(1, 12))
    return draw(arrays(np.bool_, (h, w))), draw(arrays(np.bool_, (h, w)))


# --- values by hand -----------------------------------------------------------------------------------

def test_iou_of_two_overlapping_boxes() -> None:
    # 4x4 box and a 4x4 box shifted by 2 columns: intersection 8, union 24.
    pred = encode(_box(10, 10, 0, 0, 4, 4))
    gt = encode(_box(10, 10, 0, 2, 4, 6))
    assert iou(pred=pred, gt=gt) == pytest.approx(8 / 24)


def test_iou_identical_disjoint_and_empty() -> None:
    box = encode(_box(5, 7, 1, 1, 3, 4))
    other = encode(_box(5, 7, 4, 5, 5, 7))
    assert iou(pred=box, gt=box) == 1.0
    assert iou(pred=box, gt=other) == 0.0
    assert iou(pred=empty(5, 7), gt=box) == 0.0
    assert iou(pred=box, gt=empty(5, 7)) == 0.0


def test_iou_both_empty_is_one() -> None:
    assert iou(pred=empty(4, 6), gt=empty(4, 6)) == 1.0


def test_iou_full_masks_and_mask_starting_with_foreground() -> None:
    full = encode(np.ones((3, 3), dtype=bool))
    corner = encode(_box(3, 3, 0, 0, 1, 1))  # first pixel is foreground: counts start with a 0 run
    assert iou(pred=full, gt=full) == 1.0
    assert iou(pred=corner, gt=full) == pytest.approx(1 / 9)


def test_iou_size_mismatch_names_both_sizes() -> None:
    with pytest.raises(MaskError, match=r"\[480, 640\].*\[640, 480\]"):
        iou(pred=empty(480, 640), gt=empty(640, 480))


def test_iou_rejects_uncompressed_counts() -> None:
    with pytest.raises(MaskError, match="compressed"):
        iou(pred={"size": [2, 2], "counts": [4]}, gt=empty(2, 2))  # type: ignore[typeddict-item]


def test_intersections_and_unions_by_hand() -> None:
    a = encode(_box(6, 6, 0, 0, 2, 3))  # 6 pixels
    b = encode(_box(6, 6, 1, 1, 3, 3))  # 4 pixels, 2 shared with a
    inters, unions = intersections_and_unions(preds=[a, b, empty(6, 6)], gts=[b, b, empty(6, 6)])
    assert inters.tolist() == [2, 4, 0]
    assert unions.tolist() == [8, 4, 0]
    assert inters.dtype == np.int64 and unions.dtype == np.int64
    assert matched_ious(preds=[a, b, empty(6, 6)], gts=[b, b, empty(6, 6)]).tolist() == [0.25, 1.0, 1.0]


def test_intersections_and_unions_empty_input() -> None:
    inters, unions = intersections_and_unions(preds=[], gts=[])
    assert inters.shape == (0,) and unions.shape == (0,)


def test_intersections_and_unions_length_and_size_errors() -> None:
    with pytest.raises(MaskError, match="same length"):
        intersections_and_unions(preds=[empty(2, 2)], gts=[])
    with pytest.raises(MaskError, match=r"pair 1.*\[2, 3\].*\[2, 2\]"):
        intersections_and_unions(preds=[empty(2, 2), empty(2, 3)], gts=[empty(2, 2), empty(2, 2)])


def test_ious_from_counts() -> None:
    assert ious_from_counts([1, 0, 3], [4, 0, 3]).tolist() == [0.25, 1.0, 1.0]
    with pytest.raises(ValueError, match="same shape"):
        ious_from_counts([1], [1, 2])


def test_miou_is_mean_percent() -> None:
    assert miou([1.0, 0.5, 0.0, 0.25]) == pytest.approx(43.75)
    assert miou(np.array([0.3])) == pytest.approx(30.0)


@pytest.mark.parametrize("bad", [[], [1.5], [-0.1], [float("nan")], [[0.5]]])
def test_miou_rejects_bad_input(bad: list[float]) -> None:
    with pytest.raises(ValueError, match="Expected"):
        miou(bad)


def test_ciou_by_hand_and_all_empty() -> None:
    assert ciou([2, 4, 0], [8, 4, 0]) == pytest.approx(50.0)
    assert ciou([0, 0], [0, 0]) == 100.0
    assert ciou(np.array([0]), np.array([5])) == 0.0


@pytest.mark.parametrize(("inters", "unions"), [([], []), ([1], [1, 2]), ([3], [2]), ([-1], [2])])
def test_ciou_rejects_bad_input(inters: list[int], unions: list[int]) -> None:
    with pytest.raises(ValueError, match="Expected"):
        ciou(inters, unions)


def test_best_iou_index_picks_highest_and_ties_go_later() -> None:
    gt = encode(_box(8, 8, 0, 0, 4, 4))
    low = encode(_box(8, 8, 0, 0, 1, 1))
    high = encode(_box(8, 8, 0, 0, 4, 3))
    same_as_high = encode(_box(8, 8, 0, 1, 4, 4))  # also 12 of 16 pixels, union 16
    assert best_iou_index(candidates=[low, high], gt=gt) == (1, 0.75)
    assert best_iou_index(candidates=[high, low], gt=gt) == (0, 0.75)
    assert best_iou_index(candidates=[high, same_as_high, low], gt=gt) == (1, 0.75)
    # All zero: the tie goes to the last candidate.
    far = encode(_box(8, 8, 6, 6, 8, 8))
    assert best_iou_index(candidates=[far, far, far], gt=gt) == (2, 0.0)


def test_best_iou_index_no_candidates_and_empty_gt() -> None:
    assert best_iou_index(candidates=[], gt=empty(3, 3)) == (None, 0.0)
    box = encode(_box(3, 3, 0, 0, 2, 2))
    assert best_iou_index(candidates=[empty(3, 3), box], gt=empty(3, 3)) == (0, 1.0)


def test_best_iou_index_size_mismatch() -> None:
    with pytest.raises(MaskError, match="differ"):
        best_iou_index(candidates=[empty(3, 3), empty(3, 4)], gt=empty(3, 3))


def test_area_fractions() -> None:
    masks = [encode(_box(4, 5, 0, 0, 2, 5)), empty(4, 5), encode(np.ones((2, 2), dtype=bool))]
    assert area_fractions(masks).tolist() == [0.5, 0.0, 1.0]


# --- RLE path against a dense numpy path ----------------------------------------------------------------

@settings(max_examples=200, deadline=None)
@given(_mask_pairs())
def test_iou_matches_dense(pair: tuple[np.ndarray, np.ndarray]) -> None:
    pred, gt = pair
    assert iou(pred=encode(pred), gt=encode(gt)) == _dense_iou(pred, gt)


@settings(max_examples=50, deadline=None)
@given(st.integers(1, 9), st.integers(1, 9), st.data())
def test_batched_counts_match_dense(h: int, w: int, data: st.DataObject) -> None:
    n = data.draw(st.integers(0, 40))
    preds = data.draw(st.lists(arrays(np.bool_, (h, w)), min_size=n, max_size=n))
    gt_pool = data.draw(st.lists(arrays(np.bool_, (h, w)), min_size=1, max_size=3))
    gt_rles = [encode(g) for g in gt_pool]
    picks = [data.draw(st.integers(0, len(gt_pool) - 1)) for _ in range(n)]
    inters, unions = intersections_and_unions(preds=[encode(p) for p in preds],
                                              gts=[gt_rles[k] for k in picks])
    expected_i = [int(np.logical_and(p, gt_pool[k]).sum()) for p, k in zip(preds, picks, strict=True)]
    expected_u = [int(np.logical_or(p, gt_pool[k]).sum()) for p, k in zip(preds, picks, strict=True)]
    assert inters.tolist() == expected_i
    assert unions.tolist() == expected_u
    if n:
        dense = [_dense_iou(p, gt_pool[k]) for p, k in zip(preds, picks, strict=True)]
        assert miou(ious_from_counts(inters, unions)) == pytest.approx(100 * float(np.mean(dense)))
        total_u = sum(expected_u)
        expected_ciou = 100.0 if total_u == 0 else 100 * sum(expected_i) / total_u
        assert ciou(inters, unions) == pytest.approx(expected_ciou)


def test_many_pairs_cross_the_area_batch() -> None:
    # More than 255 RLEs per pycocotools area call (the helper batches them); one shared ground truth.
    rng = np.random.default_rng(7)
    preds = rng.random((600, 9, 11)) < 0.4
    gt = rng.random((9, 11)) < 0.5
    inters, unions = intersections_and_unions(preds=[encode(p) for p in preds], gts=[encode(gt)] * 600)
    assert inters.tolist() == np.logical_and(preds, gt).sum(axis=(1, 2)).tolist()
    assert unions.tolist() == np.logical_or(preds, gt).sum(axis=(1, 2)).tolist()


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 8), st.integers(1, 8), st.data())
def test_best_iou_index_matches_dense(h: int, w: int, data: st.DataObject) -> None:
    gt = data.draw(arrays(np.bool_, (h, w)))
    candidates = data.draw(st.lists(arrays(np.bool_, (h, w)), max_size=8))
    index, value = best_iou_index(candidates=[encode(c) for c in candidates], gt=encode(gt))
    if not candidates:
        assert (index, value) == (None, 0.0)
        return
    dense = [_dense_iou(c, gt) for c in candidates]
    expected = max(i for i, v in enumerate(dense) if v == max(dense))
    assert (index, value) == (expected, dense[expected])


@settings(max_examples=100, deadline=None)
@given(_mask_pairs())
def test_iou_is_symmetric_and_bounded(pair: tuple[np.ndarray, np.ndarray]) -> None:
    a, b = (encode(m) for m in pair)
    value = iou(pred=a, gt=b)
    assert value == iou(pred=b, gt=a)
    assert 0.0 <= value <= 1.0
