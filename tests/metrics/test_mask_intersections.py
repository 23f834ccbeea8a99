"""Intersections on the runs at realistic shapes: both counting strategies against dense numpy, masks served
from a validation cache, chunked decoding, and the masks whose runs do not fit their size."""

from __future__ import annotations

import numpy as np
import pytest

from pixbench.annotation import rle
from pixbench.annotation.rle import MaskError, encode
from pixbench.metrics import masks
from pixbench.metrics.masks import intersections_and_unions

H, W = 37, 53  # odd sizes: columns do not line up with anything


def _blobs(rng: np.random.Generator, parts: int, holes: int) -> np.ndarray:
    """Ragged blobs (discs with a noisy radius) less a few small holes: several parts, sizes from tiny to large."""
    rows, cols = np.mgrid[:H, :W]
    mask = np.zeros((H, W), dtype=bool)
    for k in range(parts + holes):
        cy, cx = rng.uniform(0, H), rng.uniform(0, W)
        radius = rng.uniform(1, 9) if k >= parts else np.exp(rng.uniform(0, np.log(H / 1.5)))
        angle = np.arctan2(rows - cy, cols - cx)
        edge = radius * (1 + 0.3 * np.sin(3 * angle + rng.uniform(0, 6)) + 0.1 * rng.standard_normal((H, W)))
        inside = np.hypot(rows - cy, cols - cx) < edge
        mask = mask & ~inside if k >= parts else mask | inside
    return mask


def _shapes(seed: int, count: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    shapes = [_blobs(rng, int(rng.integers(1, 4)), int(rng.integers(0, 3))) for _ in range(count)]
    shapes[0] = np.zeros((H, W), dtype=bool)
    shapes[1] = np.ones((H, W), dtype=bool)
    return shapes


def _dense(preds: list[np.ndarray], gts: list[np.ndarray]) -> tuple[list[int], list[int]]:
    return ([int((p & g).sum()) for p, g in zip(preds, gts)], [int((p | g).sum()) for p, g in zip(preds, gts)])


@pytest.mark.parametrize("pixels_per_interval", [0, 10**9], ids=["binary-search", "prefix-sum"])
def test_both_strategies_equal_dense_numpy(monkeypatch, pixels_per_interval):
    monkeypatch.setattr(masks, "PIXELS_PER_INTERVAL_FOR_PREFIX_SUM", pixels_per_interval)
    preds = _shapes(1, 90)
    truths = [*_shapes(2, 5), np.zeros((H, W), dtype=bool)]
    truth_rles = [encode(t) for t in truths]
    picks = np.random.default_rng(3).integers(0, len(truths), len(preds))  # unsorted, repeated by reference
    inters, unions = intersections_and_unions(preds=[encode(p) for p in preds], gts=[truth_rles[k] for k in picks])
    expected = _dense(preds, [truths[k] for k in picks])
    assert (inters.tolist(), unions.tolist()) == expected
    assert inters.dtype == np.int64 and unions.dtype == np.int64


def test_masks_served_from_the_validation_cache_give_the_same_counts():
    preds, truth = _shapes(4, 40), _shapes(5, 3)[2]
    encoded = [encode(p) for p in preds]
    cache = rle.RunsCache()
    assert rle.check_counts_many([e["counts"] for e in encoded], [H * W] * len(encoded), cache=cache) == [None] * 40
    assert cache.foreground([e["counts"] for e in encoded[5:9]], np.full(4, H * W)) is not None
    gt = encode(truth)
    cached = intersections_and_unions(preds=encoded[::-1], gts=[gt] * 40, runs=cache)
    fresh = intersections_and_unions(preds=encoded[::-1], gts=[gt] * 40)
    assert [a.tolist() for a in cached] == [a.tolist() for a in fresh] == list(_dense(preds[::-1], [truth] * 40))


@pytest.mark.parametrize("count, order", [(0, "random"), (1, "random"), (7, "random"), (600, "random"),
                                          (600, "blocks")])
def test_the_cache_serves_masks_in_any_order_and_number(count, order):
    shapes = _shapes(8, max(count, 2))[:count]
    counts = [encode(s)["counts"] for s in shapes]
    cache = rle.RunsCache()
    rle.check_counts_many(counts, [H * W] * count, cache=cache)
    # in random order, and in three long blocks of consecutive masks
    picked_order = np.random.default_rng(9).permutation(count) if order == "random" else np.r_[100:300, 0:50, 400:600]
    picked = [counts[k] for k in picked_order]
    served = cache.foreground(picked, np.full(len(picked), H * W))
    fresh = rle.foreground_many(picked, [H * W] * len(picked))
    if count == 0:
        assert served is None and fresh.intervals()[2].tolist() == [0]
        return
    assert served is not None
    for got, expected in zip(served.intervals(), fresh.intervals()):
        assert got.tolist() == expected.tolist()
    assert served.areas.tolist() == fresh.areas.tolist() == [int(shapes[k].sum()) for k in picked_order]


def test_chunk_boundaries_do_not_change_counts(monkeypatch):
    preds, truth = _shapes(6, 30), _shapes(7, 3)[2]
    expected = intersections_and_unions(preds=[encode(p) for p in preds], gts=[encode(truth)] * 30)
    monkeypatch.setattr(rle, "_CHUNK_CHARS", 40)  # a few strings a chunk, long ones alone
    chunked = intersections_and_unions(preds=[encode(p) for p in preds], gts=[encode(truth)] * 30)
    assert [a.tolist() for a in chunked] == [a.tolist() for a in expected] == list(_dense(preds, [truth] * 30))


def test_a_prediction_whose_runs_do_not_cover_its_size_is_refused_by_index():
    six_by_four = encode(np.eye(6, 4, dtype=bool))  # runs cover 24 pixels
    truth = encode(np.zeros((5, 6), dtype=bool))
    bad = {"size": [5, 6], "counts": six_by_four["counts"]}
    with pytest.raises(MaskError, match=r"preds\[1\]: RLE runs cover 24 pixels, expected height\*width = 30"):
        intersections_and_unions(preds=[truth, bad], gts=[truth, truth])
    cache = rle.RunsCache()  # valid as a 6 x 4 mask in the cache, still refused as a 5 x 6 one
    assert rle.check_counts_many([six_by_four["counts"]], [24], cache=cache) == [None]
    with pytest.raises(MaskError, match=r"preds\[0\]: RLE runs cover 24 pixels"):
        intersections_and_unions(preds=[bad], gts=[truth], runs=cache)


def test_a_corrupt_ground_truth_is_refused_by_index():
    good = encode(np.ones((3, 3), dtype=bool))
    with pytest.raises(MaskError, match=r"gts\[1\]: RLE 'counts' ends in the middle of a run"):
        intersections_and_unions(preds=[good, good], gts=[good, {"size": [3, 3], "counts": "0a"}])
