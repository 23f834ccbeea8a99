"""RLE core: values by hand, and the RLE path against dense numpy."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from pycocotools import mask as coco_mask

from pixbench.annotation import rle

masks = st.tuples(st.integers(1, 24), st.integers(1, 24)).flatmap(
    lambda hw: arrays(np.bool_, hw))


def test_encode_decode_hand_case():
    mask = np.array([[0, 1], [1, 1], [0, 0]], dtype=np.uint8)
    encoded = rle.encode(mask)
    assert encoded["size"] == [3, 2]
    # column-major runs: col 0 = 0,1,0 ; col 1 = 1,1,0 -> 0-run 1, 1-run 1, 0-run 1, 1-run 2, 0-run 1
    assert rle.run_lengths(encoded["counts"]).tolist() == [1, 1, 1, 2, 1]
    assert rle.decode(encoded).tolist() == mask.astype(bool).tolist()
    assert rle.area([encoded]).tolist() == [3]


@settings(max_examples=150, deadline=None)
@given(masks)
def test_roundtrip_and_runs_match_pycocotools(mask):
    encoded = rle.encode(mask)
    assert isinstance(encoded["counts"], str)
    assert np.array_equal(rle.decode(encoded), mask)
    runs = rle.run_lengths(encoded["counts"])
    assert runs.sum() == mask.size
    assert runs[1::2].sum() == mask.sum() == rle.area([encoded])[0]


def test_normalize_accepts_uncompressed_and_bytes():
    mask = np.zeros((4, 3), dtype=np.uint8)
    mask[1:3, 1] = 1
    compressed = rle.encode(mask)
    uncompressed = {"size": [4, 3], "counts": [5, 2, 5]}
    assert rle.normalize(uncompressed) == compressed
    assert rle.normalize({"size": [4, 3], "counts": compressed["counts"].encode()}) == compressed


@pytest.mark.parametrize("bad, message", [
    ({"size": [4, 3], "counts": [5, 2, 4]}, "sum to 11"),
    ({"size": [4, 3], "counts": "abc"}, "middle of a run"),
    ({"size": [4, 3], "counts": "~~"}, "alphabet"),
    ({"size": [4], "counts": "0"}, "size"),
    ({"size": [2, 2], "counts": 5}, "string or a list"),
    ({"counts": "0"}, "'size' and 'counts'"),
    ({"size": [10, 10], "counts": "52"}, "cover 7 pixels"),
])
def test_normalize_rejects_corrupt_rle(bad, message):
    with pytest.raises(rle.MaskError, match=message):
        rle.normalize(bad)


def test_area_batches_past_255():
    masks_list = [rle.encode(np.eye(5, dtype=np.uint8) * (k % 2)) for k in range(600)]
    areas = rle.area(masks_list)
    assert areas.shape == (600,)
    assert areas.sum() == 300 * 5


def test_union_and_intersection():
    a = np.zeros((4, 4), dtype=np.uint8)
    a[:2] = 1
    b = np.zeros((4, 4), dtype=np.uint8)
    b[:, :2] = 1
    union = rle.union([rle.encode(a), rle.encode(b)], 4, 4)
    assert rle.area([union])[0] == 12
    assert rle.intersection_area(rle.encode(a), rle.encode(b)) == 4
    assert rle.area([rle.union([], 4, 4)])[0] == 0
    with pytest.raises(rle.MaskError, match=r"\[4, 4\] into \[3, 4\]"):
        rle.union([rle.encode(a)], 3, 4)


def test_polygon_rasterised_as_coco():
    square = [1.0, 1.0, 5.0, 1.0, 5.0, 5.0, 1.0, 5.0]
    ours = rle.from_polygons([square], 8, 8)
    theirs = coco_mask.merge(coco_mask.frPyObjects([square], 8, 8))
    assert np.array_equal(rle.decode(ours), coco_mask.decode(theirs).astype(bool))
    assert rle.area([ours])[0] == 16  # COCO covers the 4x4 pixels inside the outline
    assert rle.area([rle.from_polygons([], 8, 8)])[0] == 0


def test_resize_nearest_by_hand():
    source = np.array([[1, 0], [0, 1]], dtype=np.uint8)
    up = rle.decode(rle.resize_nearest(rle.encode(source), 4, 4)).astype(int)
    assert up.tolist() == [[1, 1, 0, 0], [1, 1, 0, 0], [0, 0, 1, 1], [0, 0, 1, 1]]
    down = rle.decode(rle.resize_nearest(rle.encode(np.kron(source, np.ones((3, 3)))), 2, 2)).astype(int)
    assert down.tolist() == [[1, 0], [0, 1]]
    # pixel-centre sampling: output column c reads source column floor((c + 0.5) * 3 / 2)
    row = np.array([[1, 0, 1]], dtype=np.uint8)
    assert rle.decode(rle.resize_nearest(rle.encode(row), 1, 2)).astype(int).tolist() == [[1, 1]]


@settings(max_examples=60, deadline=None)
@given(masks, st.integers(1, 30), st.integers(1, 30))
def test_resize_matches_exact_centre_sampling(mask, height, width):
    from fractions import Fraction

    src_h, src_w = mask.shape
    expected = np.array([[mask[int((Fraction(r) + Fraction(1, 2)) * src_h / height),
                               int((Fraction(c) + Fraction(1, 2)) * src_w / width)]
                          for c in range(width)] for r in range(height)])
    assert np.array_equal(rle.decode(rle.resize_nearest(rle.encode(mask), height, width)), expected)


def test_encode_rejects_3d():
    with pytest.raises(rle.MaskError, match="2-D"):
        rle.encode(np.zeros((2, 2, 3)))


@settings(max_examples=40, deadline=None)
@given(st.lists(masks, min_size=1, max_size=12))
def test_check_counts_many_agrees_with_single_decoding(mask_list):
    encoded = [rle.encode(m) for m in mask_list]
    pixels = [m.size for m in mask_list]
    assert rle.check_counts_many([e["counts"] for e in encoded], pixels) == [None] * len(encoded)
    wrong = [p + 1 for p in pixels]
    problems = rle.check_counts_many([e["counts"] for e in encoded], wrong)
    assert all(p is not None and f"cover {m.size} pixels" in p for p, m in zip(problems, mask_list))


def test_check_counts_many_mixed_batch():
    good = rle.encode(np.eye(6, dtype=np.uint8))
    problems = rle.check_counts_many([good["counts"], "abc", good["counts"], "~", ""], [36, 9, 36, 1, 0])
    assert problems[0] is None and problems[2] is None and problems[4] is None
    assert "middle of a run" in problems[1] and "alphabet" in problems[3]


def test_runs_cache_serves_subsets_in_any_order(monkeypatch):
    masks_list = [rle.encode(np.random.default_rng(k).random((7, 9)) < 0.4) for k in range(6)]
    counts = [m["counts"] for m in masks_list]
    cache = rle.RunsCache()
    full = rle.decode_runs_many(counts, cache=cache)
    subset = [counts[4], counts[1], counts[4]]
    fresh = rle._decode_runs_many(subset)
    decoded: list[int] = []
    original = rle._decode_runs_many
    monkeypatch.setattr(rle, "_decode_runs_many", lambda c: decoded.append(len(c)) or original(c))
    served = rle.decode_runs_many(subset, cache=cache)  # from the cache
    assert decoded == []
    assert np.array_equal(served.runs, fresh.runs) and np.array_equal(served.first, fresh.first)
    assert np.array_equal(served.owner, fresh.owner)
    assert full.first[-1] == full.runs.size
    other = rle.encode(np.ones((3, 3), dtype=np.uint8))["counts"]
    assert rle.decode_runs_many([other], cache=cache).runs.tolist() == [0, 9]  # not in the cache: decoded
    assert decoded == [1]
    rle.decode_runs_many(subset)  # no cache, no memory of earlier calls: decoded again
    assert decoded == [1, 3]


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_place_and_crop_on_runs_equal_dense(data):
    height, width = data.draw(st.integers(1, 8)), data.draw(st.integers(1, 8))
    bits = data.draw(st.lists(st.booleans(), min_size=height * width, max_size=height * width))
    mask = np.array(bits, dtype=bool).reshape(height, width)
    canvas_h, canvas_w = height + data.draw(st.integers(0, 5)), width + data.draw(st.integers(0, 5))
    row, column = data.draw(st.integers(0, canvas_h - height)), data.draw(st.integers(0, canvas_w - width))
    canvas = np.zeros((canvas_h, canvas_w), dtype=bool)
    canvas[row:row + height, column:column + width] = mask
    assert rle.place(rle.encode(mask), canvas_h, canvas_w, row=row, column=column) == rle.encode(canvas)
    top, bottom = sorted(data.draw(st.lists(st.integers(0, height), min_size=2, max_size=2)))
    left, right = sorted(data.draw(st.lists(st.integers(0, width), min_size=2, max_size=2)))
    if bottom > top and right > left:
        assert rle.crop(rle.encode(mask), slice(top, bottom), slice(left, right)) == rle.encode(
            mask[top:bottom, left:right])
    with pytest.raises(rle.MaskError):
        rle.place(rle.encode(mask), height, width, row=1, column=0)


def test_the_empty_mask_is_the_encoded_zero_array_without_pixels():
    import numpy as np

    from pixbench.annotation import rle as rle_ops

    for height, width in [(0, 0), (0, 5), (5, 0), (1, 1), (3, 4), (7, 1), (1080, 1920), (1200, 1600), (4097, 3)]:
        assert rle_ops.empty(height, width) == rle_ops.encode(np.zeros((height, width), dtype=np.uint8))
        assert not rle_ops.decode(rle_ops.empty(height, width)).any()
