"""Video mask scores: values by hand, and the RLE/windowed path against a dense full-frame reference.

The reference follows DAVIS 2017's ``db_eval_iou`` / ``f_measure`` / ``_seg2bmap`` line by line, decoding
whole frames and dilating whole boundary maps by an explicit disk (numpy shifts), as the published
evaluator does with skimage's ``disk``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from pixbench.annotation.rle import MaskError, decode, empty, encode
from pixbench.metrics import boundaries, video
from pixbench.metrics.video import (
    ExpressionScores,
    StaticScores,
    boundary_map,
    disk,
    expression_scores,
    frame_f,
    frame_j,
    static_metrics,
    static_scores,
    tolerance,
    video_metrics,
)

# --- the dense reference -------------------------------------------------------------------------------


def _seg2bmap(seg: np.ndarray) -> np.ndarray:
    seg = seg.astype(bool)
    e = np.zeros_like(seg)
    s = np.zeros_like(seg)
    se = np.zeros_like(seg)
    e[:, :-1] = seg[:, 1:]
    s[:-1, :] = seg[1:, :]
    se[:-1, :-1] = seg[1:, 1:]
    b = seg ^ e | seg ^ s | seg ^ se
    b[-1, :] = seg[-1, :] ^ e[-1, :]
    b[:, -1] = seg[:, -1] ^ s[:, -1]
    b[-1, -1] = 0
    return b


def _dilate_reference(b: np.ndarray, radius: int) -> np.ndarray:
    """Binary dilation of the whole map by the disk ``dx^2 + dy^2 <= radius^2``, one shift per disk offset."""
    h, w = b.shape
    out = np.zeros_like(b)
    for dy in range(-radius, radius + 1):
        for dx in range(-radius, radius + 1):
            if dx * dx + dy * dy > radius * radius or abs(dy) >= h or abs(dx) >= w:
                continue
            out[max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] |= \
                b[max(-dy, 0):h + min(-dy, 0), max(-dx, 0):w + min(-dx, 0)]
    return out


def _dense_f(pred: np.ndarray, gt: np.ndarray, radius: int | None = None) -> float:
    bound_pix = int(np.ceil(0.008 * np.linalg.norm(pred.shape))) if radius is None else radius
    fg_boundary, gt_boundary = _seg2bmap(pred), _seg2bmap(gt)
    fg_dil, gt_dil = _dilate_reference(fg_boundary, bound_pix), _dilate_reference(gt_boundary, bound_pix)
    gt_match = gt_boundary * fg_dil
    fg_match = fg_boundary * gt_dil
    n_fg, n_gt = np.sum(fg_boundary), np.sum(gt_boundary)
    if n_fg == 0 and n_gt > 0:
        precision, recall = 1.0, 0.0
    elif n_fg > 0 and n_gt == 0:
        precision, recall = 0.0, 1.0
    elif n_fg == 0 and n_gt == 0:
        precision, recall = 1.0, 1.0
    else:
        precision, recall = np.sum(fg_match) / float(n_fg), np.sum(gt_match) / float(n_gt)
    if precision + recall == 0:
        return 0.0
    return float(2 * precision * recall / (precision + recall))


def _dense_j(pred: np.ndarray, gt: np.ndarray) -> float:
    union = np.sum(pred | gt)
    return 1.0 if union == 0 else float(np.sum(pred & gt) / union)


# --- masks ---------------------------------------------------------------------------------------------


def _blobs(rng: np.random.Generator, h: int, w: int, count: int) -> np.ndarray:
    """A few boxes and ellipses, some of them cut by the canvas' edges."""
    mask = np.zeros((h, w), dtype=bool)
    yy, xx = np.mgrid[0:h, 0:w]
    for _ in range(count):
        cy, cx = rng.integers(-h // 4, h + h // 4), rng.integers(-w // 4, w + w // 4)
        ry, rx = rng.integers(1, max(2, h // 3)), rng.integers(1, max(2, w // 3))
        if rng.random() < 0.5:
            mask |= ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1
        else:
            mask[max(cy - ry, 0):cy + ry, max(cx - rx, 0):cx + rx] = True
    return mask


def _special(h: int, w: int) -> list[np.ndarray]:
    """Masks on the canvas' edges and corners, full, empty, single pixels, noise."""
    masks = [np.zeros((h, w), bool), np.ones((h, w), bool)]
    for y, x in [(0, 0), (0, w - 1), (h - 1, 0), (h - 1, w - 1), (h // 2, w // 2)]:
        m = np.zeros((h, w), bool)
        m[y, x] = True
        masks.append(m)
        masks.append(~m)
    for rows, cols in [(slice(-1, None), slice(None)), (slice(None), slice(-1, None)), (slice(0, 1), slice(None)),
                       (slice(None), slice(0, 1)), (slice(h // 2, None), slice(w // 2, None))]:
        m = np.zeros((h, w), bool)
        m[rows, cols] = True
        masks.append(m)
    masks.append(np.random.default_rng(h * 1000 + w).random((h, w)) < 0.3)
    return masks


def _pair_masks(h: int, w: int) -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(h * 7 + w)
    special = _special(h, w)
    pairs = [(a, b) for a in special for b in special[::3]]
    for _ in range(40):
        gt = _blobs(rng, h, w, int(rng.integers(1, 4)))
        shift = (int(rng.integers(-3, 4)), int(rng.integers(-3, 4)))
        pred = np.roll(gt, shift, axis=(0, 1)) if rng.random() < 0.6 else _blobs(rng, h, w, 2)
        pairs.append((pred, gt))
    return pairs


# --- values by hand ------------------------------------------------------------------------------------


def test_tolerance_of_the_benchmark_canvases() -> None:
    # ceil(0.008 * 115.4) = 1; ceil(0.008 * 1468.6) = ceil(11.75) = 12; ceil(0.008 * 2659.3) = ceil(21.27) = 22
    assert tolerance(64, 96) == 1
    assert tolerance(720, 1280) == 12
    assert tolerance(720, 2560) == 22


@pytest.mark.parametrize("height", [1, 2, 9, 63, 64, 125, 480, 720, 1080])
@pytest.mark.parametrize("width", [1, 3, 96, 125, 640, 854, 1280, 2560])
def test_tolerance_equals_the_published_formula(height: int, width: int) -> None:
    assert tolerance(height, width) == int(np.ceil(0.008 * np.linalg.norm((height, width))))


def test_disk_is_skimage_disk() -> None:
    assert disk(0).tolist() == [[True]]
    assert disk(2).astype(int).tolist() == [
        [0, 0, 1, 0, 0],
        [0, 1, 1, 1, 0],
        [1, 1, 1, 1, 1],
        [0, 1, 1, 1, 0],
        [0, 0, 1, 0, 0],
    ]
    assert int(disk(12).sum()) == 441  # lattice points in a disk of radius 12 (Gauss circle problem)
    with pytest.raises(ValueError, match="radius"):
        disk(-1)


def test_boundary_map_of_a_5x5_mask_by_hand() -> None:
    s = np.array([
        [0, 0, 0, 0, 0],
        [0, 1, 1, 0, 0],
        [0, 1, 1, 0, 0],
        [0, 0, 0, 0, 1],
        [0, 0, 0, 1, 1],
    ], dtype=bool)
    # Interior (rows 0-3, cols 0-3): 1 where the 2x2 block s[i:i+2, j:j+2] is not constant.
    #   row 0: blocks at cols 0-2 hold a 1 of the square, col 3 is all 0.
    #   row 1: (1,0) mixed, (1,1) all 1 -> 0, (1,2) mixed, (1,3) all 0 -> 0.
    #   row 2: (2,0), (2,1), (2,2) mixed (square above row 3's zeros); (2,3) holds s[3,4] = 1 -> 1.
    #   row 3: (3,0), (3,1) all 0 -> 0; (3,2) holds s[4,3] = 1 -> 1; (3,3) holds s[3,4], s[4,3], s[4,4] -> 1.
    # Last row: s ^ right neighbour: (4,2) 0^1 -> 1, (4,3) 1^1 -> 0; (4,0), (4,1) 0.
    # Last column: s ^ below neighbour: (2,4) 0^1 -> 1, (3,4) 1^1 -> 0; (0,4), (1,4) 0. Corner (4,4) = 0.
    expected = np.array([
        [1, 1, 1, 0, 0],
        [1, 0, 1, 0, 0],
        [1, 1, 1, 1, 1],
        [0, 0, 1, 1, 0],
        [0, 0, 1, 0, 0],
    ], dtype=bool)
    assert boundary_map(s).astype(int).tolist() == expected.astype(int).tolist()
    assert np.array_equal(boundary_map(s), _seg2bmap(s))


def test_constant_masks_have_no_boundary() -> None:
    for shape in [(1, 1), (1, 5), (5, 1), (4, 6)]:
        assert not boundary_map(np.zeros(shape)).any()
        assert not boundary_map(np.ones(shape)).any()
    assert boundary_map(np.array([[0, 1]])).tolist() == [[True, False]]
    with pytest.raises(ValueError, match="2-D"):
        boundary_map(np.zeros(4))


@settings(max_examples=300, deadline=None)
@given(arrays(np.bool_, st.tuples(st.integers(1, 9), st.integers(1, 9))))
def test_boundary_map_equals_seg2bmap(mask: np.ndarray) -> None:
    assert np.array_equal(boundary_map(mask), _seg2bmap(mask))


@settings(max_examples=300, deadline=None)
@given(arrays(np.bool_, st.tuples(st.integers(1, 9), st.integers(1, 9))), st.data())
def test_a_windows_boundary_is_the_crop_of_the_canvas_boundary(mask: np.ndarray, data: st.DataObject) -> None:
    """A window reads one row and one column of context below and right of it, unless it ends at the
    canvas' last row or column, where the canvas' rule applies; transposed windows swap the two."""
    from pixbench.metrics.boundaries import _boundary

    h, w = mask.shape
    top, left = data.draw(st.integers(0, h - 1)), data.draw(st.integers(0, w - 1))
    bottom, right = data.draw(st.integers(top + 1, h)), data.draw(st.integers(left + 1, w))
    rows, cols = slice(top, min(bottom + 1, h)), slice(left, min(right + 1, w))
    expected = _seg2bmap(mask)[top:bottom, left:right]
    assert np.array_equal(_boundary(mask[rows, cols], bottom == h, right == w), expected)
    assert np.array_equal(_boundary(mask[rows, cols].T, right == w, bottom == h), expected.T)


def _box(h: int, w: int, top: int, left: int, bottom: int, right: int) -> np.ndarray:
    mask = np.zeros((h, w), dtype=bool)
    mask[top:bottom, left:right] = True
    return mask


def test_j_edge_cases() -> None:
    box = encode(_box(6, 8, 1, 1, 4, 4))
    assert frame_j(pred=None, gt=empty(6, 8)) == 1.0
    assert frame_j(pred=empty(6, 8), gt=empty(6, 8)) == 1.0
    assert frame_j(pred=box, gt=empty(6, 8)) == 0.0
    assert frame_j(pred=None, gt=box) == 0.0
    assert frame_j(pred=encode(_box(6, 8, 1, 2, 4, 5)), gt=box) == 6 / 12  # 3x3 boxes 1 column apart


def test_f_edge_cases() -> None:
    box = encode(_box(6, 8, 1, 1, 4, 4))
    full = encode(np.ones((6, 8)))
    assert frame_f(pred=None, gt=empty(6, 8)) == 1.0  # no boundary either side: (1, 1)
    assert frame_f(pred=box, gt=empty(6, 8)) == 0.0  # prediction boundary only: (0, 1)
    assert frame_f(pred=None, gt=box) == 0.0  # ground-truth boundary only: (1, 0)
    assert frame_f(pred=full, gt=full) == 1.0  # a full mask has no boundary either
    assert frame_f(pred=full, gt=box) == 0.0
    assert frame_f(pred=box, gt=box) == 1.0


def test_f_of_a_one_pixel_shift_within_and_beyond_r() -> None:
    # 20x30 box in a 64x96 canvas (r = 1); its boundary ring has 2 * 31 + 2 * 19 = 100 pixels.
    gt = _box(64, 96, 10, 10, 30, 40)
    shifted = np.roll(gt, 1, axis=1)
    assert frame_f(pred=encode(shifted), gt=encode(gt)) == 1.0  # every pixel 1 px from the other ring
    # r = 0: only coinciding boundary pixels match. Ground-truth ring: rows 9 and 29 over cols 9..39, cols
    # 9 and 39 over rows 10..28; shifted ring: rows 9 and 29 over cols 10..40, cols 10 and 40. They share
    # rows 9 and 29 at cols 10..39 (60 pixels) and no side: 60 of 100 on both sides.
    assert frame_f(pred=encode(shifted), gt=encode(gt), radius=0) == 0.6
    # 2 px off with r = 1: top and bottom rows match at cols 11..40 (60), the left side's two end pixels
    # touch the ground truth's top and bottom rows (2), the right side misses: 62 of 100.
    assert frame_f(pred=encode(np.roll(gt, 2, axis=1)), gt=encode(gt)) == 0.62
    assert frame_f(pred=encode(np.roll(gt, 2, axis=1)), gt=encode(gt), radius=2) == 1.0


def test_f_of_a_diagonal_shift_uses_euclidean_distance() -> None:
    # A single pixel, moved by (1, 1): distance sqrt(2) > 1 with r = 1, <= 2 with r = 2.
    gt = _box(9, 9, 4, 4, 5, 5)
    pred = _box(9, 9, 5, 5, 6, 6)
    assert frame_f(pred=encode(pred), gt=encode(gt), radius=1) == _dense_f(pred, gt, 1)
    assert frame_f(pred=encode(pred), gt=encode(gt), radius=2) == 1.0


def test_static_scores_by_hand() -> None:
    key = encode(_box(4, 5, 0, 0, 2, 2))  # |K| = 4, N = 20
    preds = [encode(_box(4, 5, 0, 0, 1, 2)), None, encode(_box(4, 5, 2, 0, 4, 5))]
    scores = static_scores(preds=preds, keyframe_gt=key)
    assert scores.fg_fpr.tolist() == [0.5, 0.0, 0.0]
    assert scores.jbg.tolist() == [0.5, 1.0, 1.0]
    assert scores.fpr.tolist() == [0.1, 0.0, 0.5]
    assert scores.jall.tolist() == [0.9, 1.0, 0.5]
    jbg, jall = 2.5 / 3, 2.4 / 3
    assert scores.h_bg == pytest.approx(2 / (1 / jbg + 1 / jall), abs=1e-9)


def test_static_scores_with_an_empty_keyframe() -> None:
    scores = static_scores(preds=[encode(_box(4, 5, 0, 0, 2, 5)), None], keyframe_gt=empty(4, 5))
    assert scores.jbg.tolist() == [1.0, 1.0]  # J_bg = 100 whatever is predicted
    assert scores.fg_fpr.tolist() == [0.0, 0.0]
    assert scores.fpr.tolist() == [0.5, 0.0]  # FPR and H_bg still penalise it
    assert scores.h_bg == pytest.approx(2 / (1 / (1 + 1e-10) + 1 / (0.75 + 1e-10)))


def test_missing_expressions() -> None:
    missing = ExpressionScores.missing_expression(4, pair=True)
    assert (missing.mean_j, missing.mean_f, missing.mean_f_native, missing.mean_d_fpr) == (0.0, 0.0, 0.0, 1.0)
    assert ExpressionScores.missing_expression(4).d_fpr is None
    static = StaticScores.missing_expression(3)
    assert (static.mean_jbg, static.h_bg, static.mean_fpr, static.mean_fg_fpr) == (0.0, 0.0, 1.0, 1.0)
    metrics = static_metrics([static])
    assert (metrics.j_bg, metrics.h_bg, metrics.fpr, metrics.fg_fpr, metrics.missing) == (0.0, 0.0, 100.0, 100.0, 1)
    with pytest.raises(ValueError, match="frames"):
        ExpressionScores.missing_expression(0)


def test_pair_canvas_d_fpr_and_f_native() -> None:
    # Two 64x96 frames side by side; the target is the right half. r = 1 on the half, 2 on the canvas.
    h, w = 64, 96
    gt = np.zeros((h, 2 * w), bool)
    gt[10:30, w + 10:w + 40] = True
    pred = np.roll(gt, 2, axis=1)
    pred[0:8, 0:12] = True  # 96 pixels on the distractor
    target = (slice(None), slice(w, 2 * w))
    scores = expression_scores(preds=[encode(pred), encode(gt), None], gts=[encode(gt)] * 3, target=target)
    assert tolerance(h, 2 * w) == 2 and tolerance(h, w) == 1
    assert scores.d_fpr is not None and scores.f_native is not None
    assert scores.d_fpr.tolist() == [96 / (h * w), 0.0, 0.0]
    assert scores.f_native.tolist() == [0.62, 1.0, 0.0]  # 2 px off with r = 1, as in the single frame
    # on the canvas (r = 2) the box matches fully, but the distractor box's boundary does not
    assert scores.f[0] == _dense_f(pred, gt)
    assert scores.f[0] < 1.0
    assert scores.j.tolist() == [_dense_j(pred, gt), 1.0, 0.0]
    metrics = video_metrics([scores, ExpressionScores.missing_expression(3, pair=True)])
    assert metrics.d_fpr == pytest.approx((96 / (h * w) / 3 + 1.0) / 2 * 100)
    assert metrics.jf_native == pytest.approx((metrics.j + metrics.f_native) / 2)  # type: ignore[operator]
    assert set(metrics.to_json()["metrics"]) == {"J", "F", "JF", "F_native", "JF_native", "D_FPR"}


def test_reductions() -> None:
    one = ExpressionScores(np.array([1.0, 0.5]), np.array([0.25, 0.75]))
    two = ExpressionScores(np.array([0.0]), np.array([1.0]))
    metrics = video_metrics([one, two])
    assert (metrics.j, metrics.f, metrics.jf) == (37.5, 75.0, 56.25)
    assert metrics.f_native is None and metrics.to_json()["metrics"] == {"J": 37.5, "F": 75.0, "JF": 56.25}
    with pytest.raises(ValueError, match="one kind"):
        video_metrics([one, ExpressionScores.missing_expression(2, pair=True)])
    with pytest.raises(ValueError, match="at least one"):
        video_metrics([])


def test_errors_name_what_is_wrong() -> None:
    with pytest.raises(MaskError, match=r"gts\[1\]"):
        expression_scores(preds=[None, None], gts=[empty(4, 4), empty(4, 5)])
    with pytest.raises(MaskError, match="differ"):
        expression_scores(preds=[empty(4, 5)], gts=[empty(4, 4)])
    with pytest.raises(ValueError, match="same length"):
        expression_scores(preds=[None], gts=[empty(4, 4)] * 2)
    with pytest.raises(ValueError, match="other half"):
        expression_scores(preds=[None], gts=[empty(4, 4)], target=(slice(None), slice(None)))
    with pytest.raises(ValueError, match="rectangle"):
        frame_f(pred=None, gt=empty(4, 4), region=(slice(None), slice(3, 1)))
    with pytest.raises(ValueError, match="radius"):
        frame_f(pred=None, gt=empty(4, 4), radius=-1)


# --- against the dense reference -----------------------------------------------------------------------


PATHS = ("default", "runs", "window", "small-passes")


def _use_path(patch: pytest.MonkeyPatch, name: str) -> None:
    """The module as shipped (noise-like frames on the window), the run path for every frame, the
    decoded-window path for every frame (a few pixels per pass), or the run path cut into one frame per group
    and pass and one search per call."""
    if name == "runs":
        patch.setattr(boundaries, "WINDOW_PIXELS_PER_BOUNDARY", 0)
    elif name == "window":
        patch.setattr(boundaries, "WINDOW_PIXELS_PER_BOUNDARY", 1 << 40)
        patch.setattr(boundaries, "_PASS_SEARCHES", 50)
    elif name == "small-passes":
        patch.setattr(boundaries, "WINDOW_PIXELS_PER_BOUNDARY", 0)
        patch.setattr(boundaries, "_PASS_PIXELS", 1)
        patch.setattr(boundaries, "_PASS_SEARCHES", 1)
        patch.setattr(video, "_GROUP_CHARS", 1)


@pytest.fixture(params=PATHS)
def path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Each comparison that takes this fixture runs on every path."""
    _use_path(monkeypatch, request.param)
    return str(request.param)


@pytest.mark.parametrize(("h", "w"), [(1, 1), (1, 7), (7, 1), (2, 2), (5, 9), (17, 13), (32, 48)])
@pytest.mark.parametrize("radius", [None, 0, 1, 3, 6])
def test_frames_equal_the_dense_reference(h: int, w: int, radius: int | None, path: str) -> None:
    pairs = _pair_masks(h, w)
    preds, gts = [encode(p) for p, _ in pairs], [encode(g) for _, g in pairs]
    for pred, gt, (p, g) in zip(preds, gts, pairs):
        assert frame_f(pred=pred, gt=gt, radius=radius) == _dense_f(p, g, radius)
        assert frame_j(pred=pred, gt=gt) == _dense_j(p, g)
    if radius is None:
        scores = expression_scores(preds=preds, gts=gts)
        assert scores.f.tolist() == [_dense_f(p, g) for p, g in pairs]
        assert scores.j.tolist() == [_dense_j(p, g) for p, g in pairs]


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 14), st.integers(1, 14), st.integers(0, 4), st.data())
def test_random_masks_equal_the_dense_reference(h: int, w: int, radius: int, data: st.DataObject) -> None:
    pred = data.draw(arrays(np.bool_, (h, w)))
    gt = data.draw(arrays(np.bool_, (h, w)))
    expected = _dense_f(pred, gt, radius)
    for name in PATHS:
        with pytest.MonkeyPatch.context() as patch:
            _use_path(patch, name)
            assert frame_f(pred=encode(pred), gt=encode(gt), radius=radius) == expected, name


@settings(max_examples=100, deadline=None)
@given(st.integers(2, 12), st.integers(1, 10), st.integers(0, 3), st.booleans(), st.data())
def test_regions_equal_the_dense_reference_on_the_crop(h: int, w: int, radius: int, left: bool,
                                                       data: st.DataObject) -> None:
    pred = data.draw(arrays(np.bool_, (h, 2 * w)))
    gt = data.draw(arrays(np.bool_, (h, 2 * w)))
    cols = slice(0, w) if left else slice(w, 2 * w)
    rows = slice(data.draw(st.integers(0, h - 1)), None)
    expected = _dense_f(pred[rows, cols], gt[rows, cols], radius)
    for name in PATHS:
        with pytest.MonkeyPatch.context() as patch:
            _use_path(patch, name)
            assert frame_f(pred=encode(pred), gt=encode(gt), radius=radius, region=(rows, cols)) == expected, name


@pytest.mark.parametrize("target_left", [True, False])
def test_pair_expression_equals_the_dense_reference(target_left: bool, path: str) -> None:
    rng = np.random.default_rng(5 + target_left)
    h, w = 40, 72
    cols = slice(0, w) if target_left else slice(w, 2 * w)
    other = slice(w, 2 * w) if target_left else slice(0, w)
    preds, gts = [], []
    for t in range(12):
        gt = np.zeros((h, 2 * w), bool)
        if t % 5:
            gt[:, cols] = _blobs(rng, h, w, 2)
        pred = np.roll(gt, (int(rng.integers(-2, 3)), int(rng.integers(-2, 3))), axis=(0, 1))
        if t % 3 == 0:
            pred[:, other] |= _blobs(rng, h, w, 1)
        preds.append(pred)
        gts.append(gt)
    scores = expression_scores(preds=[encode(p) for p in preds], gts=[encode(g) for g in gts],
                               target=(slice(None), cols))
    assert scores.j.tolist() == [_dense_j(p, g) for p, g in zip(preds, gts)]
    assert scores.f.tolist() == [_dense_f(p, g) for p, g in zip(preds, gts)]
    assert scores.f_native is not None and scores.d_fpr is not None
    assert scores.f_native.tolist() == [_dense_f(p[:, cols], g[:, cols]) for p, g in zip(preds, gts)]
    assert scores.d_fpr.tolist() == [float(p[:, other].mean()) for p in preds]


def test_static_scores_equal_the_dense_reference() -> None:
    rng = np.random.default_rng(3)
    key = _blobs(rng, 30, 50, 2)
    preds = [_blobs(rng, 30, 50, 2) for _ in range(20)]  # 20 frames share K: the prefix-sum path
    scores = static_scores(preds=[encode(p) for p in preds], keyframe_gt=encode(key))
    inter = np.array([(p & key).sum() for p in preds])
    assert scores.fg_fpr.tolist() == (inter / key.sum()).tolist()
    assert scores.fpr.tolist() == [p.sum() / p.size for p in preds]
    assert np.allclose(scores.jbg, 1 - inter / key.sum(), rtol=0, atol=1e-12)


def test_a_realistic_frame_equals_the_dense_reference(path: str) -> None:
    # 180 x 320 (r = 3), and the full-size radius 12 on it: objects cut by every edge and corner.
    rng = np.random.default_rng(11)
    for _ in range(3):
        gt = _blobs(rng, 180, 320, 4)
        pred = np.roll(gt, (int(rng.integers(-9, 10)), int(rng.integers(-9, 10))), axis=(0, 1)) | _blobs(
            rng, 180, 320, 1)
        for radius in (None, 12):
            assert frame_f(pred=encode(pred), gt=encode(gt), radius=radius) == _dense_f(pred, gt, radius)


def test_the_window_path_decodes_like_pycocotools() -> None:
    """The decoded window is the crop of the whole decoded mask (column-major runs, transposed window)."""
    from pixbench.metrics.boundaries import FrameRuns as _Runs

    rng = np.random.default_rng(1)
    masks = [_blobs(rng, 23, 31, 3) for _ in range(5)]
    rles = [encode(m) for m in masks]
    runs = _Runs.of(rles, [str(k) for k in range(5)], 23)
    for k, mask in enumerate(masks):
        assert np.array_equal(decode(rles[k]), mask)
        for rows, cols in [((0, 23), (0, 31)), ((3, 9), (4, 30)), ((22, 23), (30, 31))]:
            window = runs.window(k, rows, cols)
            assert np.array_equal(window.T, mask[rows[0]:rows[1], cols[0]:cols[1]])
        pieces = runs.pieces((2, 20, 5, 25))
        painted = np.zeros((18, 20), bool)
        for owner, col, lo, hi in zip(pieces.owner, pieces.col, pieces.lo, pieces.hi):
            if owner == k:
                assert not painted[lo:hi, col].any()
                painted[lo:hi, col] = True
        assert np.array_equal(painted, mask[2:20, 5:25])


def test_window_dilation_is_the_disk_dilation() -> None:
    from pixbench.metrics.boundaries import _dilate

    rng = np.random.default_rng(2)
    for h, w in [(1, 1), (1, 9), (9, 1), (7, 30), (30, 7)]:
        bound = rng.random((h, w)) < 0.1
        for radius in range(0, 12):
            assert np.array_equal(_dilate(bound, radius), _dilate_reference(bound, radius)), (h, w, radius)


@pytest.mark.parametrize(("name", "unused"), [("runs", "_f_window"), ("small-passes", "_f_window"),
                                              ("window", "_f_runs")])
def test_each_path_is_the_one_named(name: str, unused: str, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object) -> None:
        raise AssertionError(f"{unused} was used on the {name} path")

    _use_path(monkeypatch, name)
    monkeypatch.setattr(boundaries, unused, refuse)
    gt = np.random.default_rng(0).random((20, 30)) < 0.5
    assert frame_f(pred=encode(np.roll(gt, 1, axis=0)), gt=encode(gt)) == _dense_f(np.roll(gt, 1, axis=0), gt)


def test_noise_goes_to_the_window_and_objects_to_the_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []

    def spy(name: str) -> Callable[..., object]:
        original = getattr(boundaries, name)

        def call(*args: object) -> object:
            calls.append(name)
            return original(*args)

        return call

    for name in ("_f_window", "_f_runs"):
        monkeypatch.setattr(boundaries, name, spy(name))
    rng = np.random.default_rng(4)
    noise, blob = rng.random((60, 80)) < 0.5, _blobs(rng, 60, 80, 2)
    expression_scores(preds=[encode(noise)], gts=[encode(blob)])
    assert calls == ["_f_window"]
    calls.clear()
    expression_scores(preds=[encode(np.roll(blob, 2, axis=1))], gts=[encode(blob)])
    assert calls == ["_f_runs"]
