"""Video mask scores on COCO RLE: MoCentric-Bench's J, F, F_native, D_FPR and the ``static`` probe's scores.

Rules (the scoring contract, mocentric.md section 5). They reproduce the published evaluator (MeViS's,
which runs DAVIS 2017's ``db_eval_iou`` and ``db_eval_boundary`` with ``bound_th=0.008``): every per-frame
value is the same float64 the published code computes.

- A frame pairs a prediction ``P`` with a ground truth ``Q`` on one canvas of ``H x W`` pixels (for a pair
  probe, two frames side by side). ``None`` as a prediction is the empty mask. Per-frame values are fractions
  (0..1); the reductions over expressions (:func:`video_metrics`, :func:`static_metrics`) are percents.
- ``J = |P AND Q| / |P OR Q|``, and **J = 1 when both are empty**.
- ``F``: the DAVIS boundary F-measure on the whole canvas. :func:`boundary_map` gives a mask's boundary
  pixels; a boundary pixel of one map *matches* when a boundary pixel of the other lies within Euclidean
  distance ``r = tolerance(H, W) = ceil(0.008 * sqrt(H^2 + W^2))`` (the :func:`disk` ``x^2 + y^2 <= r^2``).
  precision = matched prediction boundary / prediction boundary, recall = matched ground-truth boundary /
  ground-truth boundary; no boundary on either side gives ``(1, 1)``, a prediction boundary only ``(0, 1)``,
  a ground-truth boundary only ``(1, 0)``. ``F = 2pr / (p + r)``, 0 when ``p + r = 0``.
- Per expression (:class:`ExpressionScores`): J and F are the means over frames. Benchmark J and F are the
  means over expressions, ``JF = (J + F) / 2``.
- Pair probes (``target`` = the target half's ``(rows, columns)`` slices on the canvas; the other half is
  the distractor): ``F_native`` is F of the target half taken as its own canvas (its own last row and column
  for the boundary rule, its own tolerance: 12 px for a 720 x 1280 half, where the 720 x 2560 canvas gives
  22), ``JF_native = (J + F_native) / 2``; ``D_FPR`` is the fraction of the pixels outside the target
  predicted as foreground. Not in the published evaluator; reported beside F and JF.
- ``static`` probe (:class:`StaticScores`; no J or F): with ``K`` the ground truth at the keyframe and
  ``N = H * W``, per frame ``FG_FPR = |P AND K| / |K|`` (0 when K is empty), ``J_bg = 1 - FG_FPR``
  (1 when K is empty), ``FPR = |P| / N``, ``J_all = 1 - FPR``; per expression the means over frames and
  ``H_bg = 2 / (1 / (J_bg + 1e-10) + 1 / (J_all + 1e-10))`` of those means.
- A **missing** expression (no prediction line) scores J = F = F_native = 0 and D_FPR = 1
  (:meth:`ExpressionScores.missing_expression`); for ``static`` J_bg = H_bg = 0 and FPR = FG_FPR = 1
  (:meth:`StaticScores.missing_expression`).

How (contract section 6): nothing is decoded to full frames. J, areas and intersections are computed on
the runs (:mod:`pixbench.metrics.masks`). A mask's boundary is empty exactly when the mask is constant (empty
or full), which alone decides F, so frames where both masks are empty (or full) cost nothing. Otherwise the
boundary pixels of every frame of an expression are found at once from the runs (column segments;
:class:`_Boundaries` gives the rule in those terms), and a boundary pixel is matched by looking, in the other
map's sorted pixel keys, for a pixel within the disk's half-width on each column within r of it; most are
settled by the same column, the same row, or a coarse grid of cells of side >= r showing nothing near.
Frames whose boundaries fill a good part of the canvas (noise-like masks) are scored instead on the decoded
window holding both boundary maps (plus the one row and column below and right of it that the rule reads,
unless the window ends at the canvas' last row or column), dilated by the disk row by row. Every boundary
pixel lies in that window, so it needs no margin of r. Work is cut into passes of bounded size, so memory
stays bounded whatever the masks.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from pixbench.annotation.rle import MaskError, Rle, RunBatch, area, decode_runs_many, empty, size_of
from pixbench.metrics.masks import intersections_and_unions, ious_from_counts

__all__ = [
    "BOUND_TH",
    "HARMONIC_EPS",
    "ExpressionScores",
    "Region",
    "StaticMetrics",
    "StaticScores",
    "VideoMetrics",
    "boundary_map",
    "disk",
    "expression_scores",
    "frame_f",
    "frame_j",
    "static_metrics",
    "static_scores",
    "tolerance",
    "video_metrics",
]

#: The boundary tolerance as a fraction of the canvas diagonal (DAVIS' ``bound_th``).
BOUND_TH = 0.008
#: Added to each term of the static probe's harmonic mean H_bg (as the published evaluator does).
HARMONIC_EPS = 1e-10

#: A rectangle of a canvas as ``(rows, columns)`` slices (step 1), e.g. a pair canvas' target half.
Region = tuple[slice, slice]


def tolerance(height: int, width: int) -> int:
    """The boundary tolerance ``r = ceil(0.008 * sqrt(height^2 + width^2))`` of an ``height x width`` canvas.

    Examples:
        >>> tolerance(720, 1280), tolerance(720, 2560), tolerance(64, 96)
        (12, 22, 1)
    """
    return math.ceil(BOUND_TH * math.sqrt(height * height + width * width))


def disk(radius: int) -> np.ndarray:
    """The disk ``x^2 + y^2 <= radius^2`` as a boolean ``(2 radius + 1, 2 radius + 1)`` footprint (skimage's ``disk``).

    Examples:
        >>> disk(1).astype(int).tolist()
        [[0, 1, 0], [1, 1, 1], [0, 1, 0]]
    """
    if radius < 0:
        raise ValueError(f"Expected `radius` to be a non-negative int, but got {radius!r}")
    offsets = np.arange(-radius, radius + 1)
    return np.asarray(offsets[:, None] ** 2 + offsets[None, :] ** 2 <= radius * radius)


def _boundary(s: np.ndarray, bottom_edge: bool, right_edge: bool) -> np.ndarray:
    """Boundary map of a boolean window whose last row / column is the canvas' (``*_edge``) or context.

    A context row or column only feeds the rule and is cut from the result, so the result is exactly the
    window's part of the whole canvas' boundary map. The rule is symmetric under transposition (swap the flags).
    """
    h, w = s.shape
    b = np.zeros((h, w), dtype=bool)
    corner = s[:-1, :-1]
    inner = b[:-1, :-1]
    np.bitwise_xor(corner, s[:-1, 1:], out=inner)
    inner |= corner ^ s[1:, :-1]
    inner |= corner ^ s[1:, 1:]
    if bottom_edge:
        np.bitwise_xor(s[-1, :-1], s[-1, 1:], out=b[-1, :-1])
    if right_edge:
        np.bitwise_xor(s[:-1, -1], s[1:, -1], out=b[:-1, -1])
    return b[: h if bottom_edge else h - 1, : w if right_edge else w - 1]


def boundary_map(mask: np.ndarray) -> np.ndarray:
    """DAVIS' ``seg2bmap`` of a 2-D mask (non-zero is foreground): a boolean ``H x W`` map.

    With ``e``, ``so``, ``se`` the mask shifted from the right, below and below-right (zero past the edge),
    ``b = (s ^ e) | (s ^ so) | (s ^ se)``; the last row is ``s ^ e`` only, the last column ``s ^ so`` only,
    and the bottom-right pixel is 0. A constant mask (empty or full) has no boundary.

    Examples:
        >>> mask = np.zeros((4, 4), dtype=bool)
        >>> mask[1:3, 1:3] = True
        >>> boundary_map(mask).astype(int).tolist()
        [[1, 1, 1, 0], [1, 0, 1, 0], [1, 1, 1, 0], [0, 0, 0, 0]]
    """
    array = np.asarray(mask)
    if array.ndim != 2 or array.size == 0:
        raise ValueError(f"Expected `mask` to be a non-empty 2-D array, but got shape {array.shape}")
    return _boundary(array != 0, True, True)


#: A frame whose two boundaries hold more than the canvas' pixels over this is scored on a decoded window:
#: a noise-like mask has boundary pixels nearly everywhere, where pixel keys cost more than pixels (measured
#: crossing: about 100,000 boundary pixels on a 720 x 1280 canvas).
WINDOW_PIXELS_PER_BOUNDARY = 8
#: Boundary pixels (an upper bound) handled per vectorised pass of the run path (bounds its temporaries).
_PASS_PIXELS = 1 << 22
#: Searches per vectorised call when matching boundary pixels away from the other boundary.
_PASS_SEARCHES = 1 << 21
#: Characters of RLE text scored at once by :func:`expression_scores` (bounds the decoded runs).
_GROUP_CHARS = 1 << 21
_FAR = np.int64(1) << 60


def _f_from_counts(n_pred: np.ndarray, n_gt: np.ndarray, pred_matched: np.ndarray,
                   gt_matched: np.ndarray) -> np.ndarray:
    """DAVIS' F from boundary sizes and matched counts, elementwise (the float operations of ``f_measure``)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(n_pred > 0, pred_matched / n_pred.astype(np.float64), 1.0)
        recall = np.where(n_gt > 0, gt_matched / n_gt.astype(np.float64), 1.0)
        precision = np.where((n_pred > 0) & (n_gt == 0), 0.0, precision)
        recall = np.where((n_pred == 0) & (n_gt > 0), 0.0, recall)
        total = precision + recall
        return np.where(total == 0, 0.0, 2 * precision * recall / np.where(total == 0, 1.0, total))


@dataclass(frozen=True)
class _Pieces:
    """Foreground column segments of masks in a region, sorted by (owner, col, lo): mask ``owner``, region
    column ``col``, region rows ``[lo, hi)``."""

    owner: np.ndarray
    col: np.ndarray
    lo: np.ndarray
    hi: np.ndarray

    def select(self, masks: np.ndarray) -> _Pieces:
        take = np.isin(self.owner, masks)
        return _Pieces(self.owner[take], self.col[take], self.lo[take], self.hi[take])


@dataclass(frozen=True)
class _Runs:
    """Many masks' runs (a :class:`RunBatch`) with each run's end offset (column-major) in its own mask."""

    batch: RunBatch
    ends: np.ndarray
    foreground: np.ndarray
    height: int

    @classmethod
    def of(cls, rles: Sequence[Rle], names: Sequence[str], height: int) -> _Runs:
        batch = decode_runs_many([r["counts"] if isinstance(r["counts"], str) else bytes(r["counts"]).decode("ascii")
                                  for r in rles])
        if batch.flagged:
            k, reason = next(iter(batch.flagged.items()))
            raise MaskError(f"{names[k]}: {reason}")
        ends = np.cumsum(batch.runs)
        ends -= np.concatenate(([0], ends))[batch.first[batch.owner]]
        local = np.arange(batch.runs.size) - batch.first[batch.owner]
        return cls(batch, ends, ((local & 1) == 1) & (batch.runs > 0), height)

    def pieces(self, region: tuple[int, int, int, int]) -> _Pieces:
        """Every mask's foreground runs cut at column ends and clipped to ``region`` (region coordinates)."""
        top, bottom, left, right = region
        fg = np.flatnonzero(self.foreground)
        end = self.ends[fg]
        start = end - self.batch.runs[fg]
        first_col = np.maximum(start // self.height, left)
        spans = np.minimum((end - 1) // self.height, right - 1) - first_col + 1
        kept = spans > 0
        fg, start, end, first_col, spans = fg[kept], start[kept], end[kept], first_col[kept], spans[kept]
        total = int(spans.sum())
        run = np.repeat(np.arange(fg.size), spans)
        col = first_col[run] + np.arange(total) - np.repeat(np.cumsum(spans) - spans, spans)
        lo = np.maximum(start[run] - col * self.height, top)
        hi = np.minimum(end[run] - col * self.height, bottom)
        ok = lo < hi
        return _Pieces(self.batch.owner[fg][run][ok], col[ok] - left, lo[ok] - top, hi[ok] - top)

    def window(self, k: int, rows: tuple[int, int], cols: tuple[int, int]) -> np.ndarray:
        """Mask ``k``'s pixels in rows ``[rows)`` x columns ``[cols)``, transposed: shape ``(columns, rows)``."""
        lo, hi = cols[0] * self.height, cols[1] * self.height
        first, stop = int(self.batch.first[k]), int(self.batch.first[k + 1])
        ends = self.ends[first:stop]
        start = int(np.searchsorted(ends, lo, side="right"))
        end = int(np.searchsorted(ends, hi, side="left")) + 1
        run_ends = ends[start:end]
        lengths = np.minimum(run_ends, hi) - np.maximum(run_ends - self.batch.runs[first + start:first + end], lo)
        values = (np.arange(start, end) & 1).astype(bool)
        flat = np.repeat(values, lengths)
        return flat.reshape(cols[1] - cols[0], self.height)[:, rows[0]:rows[1]]


def _cancel_pairs(keys: np.ndarray) -> np.ndarray:
    """Sorted ``keys`` without the values present twice (each value occurs at most twice)."""
    twice = np.flatnonzero(keys[1:] == keys[:-1])
    if twice.size == 0:
        return keys
    keep = np.ones(keys.size, dtype=bool)
    keep[twice] = keep[twice + 1] = False
    return keys[keep]


@dataclass(frozen=True)
class _Boundaries:
    """Every mask's boundary on a ``height x width`` region, before expansion to pixels.

    Keys are ``(owner * width + col) * (height + 1) + row``, columns first (runs are column-major; the rule
    is symmetric under transposition). With ``v(i, j)`` "column j changes between rows i and i + 1"
    (i < height - 1) and ``d(i, j)`` "columns j and j + 1 differ at row i" (j < width - 1), the boundary rule
    reads ``b(i, j) = v(i, j) | d(i, j) | d(i + 1, j)``, the canvas' last row and column and its corner
    included. A column's transitions ``T_j`` are its segments' ends (segments that touch cancel); ``v`` is
    row ``t - 1`` for each inner ``t`` of ``T_j`` (``vertical``); ``d(., j)`` is the set of intervals between
    the sorted transitions ``T_j xor T_{j+1}``, and ``d(i, j) | d(i + 1, j)`` the same grown one row up
    (``[first, stop)``).
    """

    vertical: np.ndarray
    first: np.ndarray
    stop: np.ndarray
    height: int
    width: int

    @classmethod
    def of(cls, pieces: _Pieces, height: int, width: int) -> _Boundaries:
        stride = height + 1
        base = (pieces.owner * width + pieces.col) * stride
        ends = np.empty(2 * base.size, dtype=np.int64)
        ends[0::2] = base + pieces.lo
        ends[1::2] = base + pieces.hi
        ends = _cancel_pairs(ends)
        column, row = np.divmod(ends, stride)
        column %= width
        vertical = ends[(row >= 1) & (row < height)] - 1
        mixed = np.concatenate((ends[column < width - 1], ends[column > 0] - stride))
        mixed.sort(kind="stable")  # two sorted runs: a merge
        mixed = _cancel_pairs(mixed)
        first, stop = mixed[0::2], mixed[1::2]
        return cls(vertical, first - (first % stride > 0), stop, height, width)

    def owner(self, keys: np.ndarray) -> np.ndarray:
        return keys // (self.width * (self.height + 1))

    def sizes(self, masks: int) -> np.ndarray:
        """An upper bound of each mask's boundary pixels (``vertical`` and the intervals may overlap)."""
        return (np.bincount(self.owner(self.vertical), minlength=masks)
                + np.bincount(self.owner(self.first), weights=self.stop - self.first, minlength=masks).astype(np.int64))

    def pixels(self, masks: np.ndarray) -> np.ndarray:
        """Sorted keys of the boundary pixels of ``masks``."""
        vertical = self.vertical[np.isin(self.owner(self.vertical), masks)]
        chosen = np.isin(self.owner(self.first), masks)
        first, stop = self.first[chosen], self.stop[chosen]
        lengths = stop - first
        pixels = np.repeat(first - (np.cumsum(lengths) - lengths), lengths) + np.arange(int(lengths.sum()))
        return _sorted_unique(np.concatenate((vertical, pixels)))  # two sorted runs: a merge


def _sorted_unique(values: np.ndarray) -> np.ndarray:
    """The distinct values, sorted (a sort, cheaper than numpy's hashing ``unique`` here; a merge when
    ``values`` is a few sorted runs)."""
    values = np.sort(values, kind="stable")
    if values.size < 2:
        return values
    keep = np.empty(values.size, dtype=bool)
    keep[0] = True
    np.not_equal(values[1:], values[:-1], out=keep[1:])
    return values[keep]


def _near_on_lines(needles: np.ndarray, padded: np.ndarray, half: np.ndarray | int) -> np.ndarray:
    """Whether each needle has a key of ``padded`` (sorted, sentinels at both ends) within ``half`` on its line."""
    at = np.searchsorted(padded, needles)
    return (padded[at] - needles <= half) | (needles - padded[at - 1] <= half)


@dataclass(frozen=True)
class _Points:
    """Boundary pixels of one side of many frames: ``frame``, ``col``, ``row`` (sorted by frame, col, row)."""

    frame: np.ndarray
    col: np.ndarray
    row: np.ndarray


def _matched(query: _Points, other: _Points, radius: int, height: int, width: int) -> np.ndarray:
    """Which ``query`` pixels have an ``other`` pixel of the same frame within Euclidean distance ``radius``.

    Pixels become keys ``line * stride + position`` on lines (columns, or rows) with ``stride`` >= positions +
    radius and frames ``radius + 1`` lines apart, so a key within ``half`` of a needle lies on the needle's line.
    In turn: an ``other`` pixel on the same column within ``radius`` (matched); no ``other`` pixel in the 3 x 3
    cells of side >= ``radius`` around (unmatched); one on the same row (matched); then each column within
    ``radius`` with its half-width of the disk.
    """
    col_stride = height + radius + 1
    padded = np.concatenate(([-_FAR], (other.frame * (width + radius + 1) + other.col) * col_stride + other.row,
                             [_FAR]))
    query_cols = (query.frame * (width + radius + 1) + query.col) * col_stride + query.row
    hit = _near_on_lines(query_cols, padded, radius)
    rest = np.flatnonzero(~hit)
    if rest.size == 0 or radius == 0 or other.frame.size == 0:
        return hit
    # cells of side >= radius (one cell of padding around each frame): a pixel within radius of the query
    # lies in the query's cell or a neighbouring one
    side = max(radius, 8)
    across, down = width // side + 3, height // side + 3
    frames = int(max(query.frame[-1], other.frame[-1])) + 1
    occupied = np.zeros((frames, across, down), dtype=bool)
    occupied[other.frame, other.col // side + 1, other.row // side + 1] = True
    near = occupied.copy()
    near[:, 1:] |= occupied[:, :-1]
    near[:, :-1] |= occupied[:, 1:]
    occupied = near.copy()
    near[:, :, 1:] |= occupied[:, :, :-1]
    near[:, :, :-1] |= occupied[:, :, 1:]
    rest = rest[near[query.frame[rest], query.col[rest] // side + 1, query.row[rest] // side + 1]]
    if rest.size == 0:
        return hit
    row_stride = width + radius + 1
    by_rows = np.sort((other.frame * (height + radius + 1) + other.row) * row_stride + other.col)
    needles = (query.frame[rest] * (height + radius + 1) + query.row[rest]) * row_stride + query.col[rest]
    found = _near_on_lines(needles, np.concatenate(([-_FAR], by_rows, [_FAR])), radius)
    hit[rest[found]] = True
    rest = rest[~found]
    if rest.size == 0:
        return hit
    lines = np.array([d for d in range(-radius, radius + 1) if d != 0], dtype=np.int64)
    half = np.array([math.isqrt(radius * radius - d * d) for d in lines.tolist()], dtype=np.int64)[:, None]
    shifts = (lines * col_stride)[:, None]
    step = max(1, _PASS_SEARCHES // lines.size)
    for start in range(0, rest.size, step):
        chosen = rest[start:start + step]
        hit[chosen] = _near_on_lines(query_cols[chosen][None, :] + shifts, padded, half).any(axis=0)
    return hit


def _f_runs(boundaries: _Boundaries, frames: np.ndarray, n: int, radius: int) -> np.ndarray:
    """F of ``frames`` (masks ``frames`` and ``n + frames`` in ``boundaries``) from their runs, all at once."""
    height, width = boundaries.height, boundaries.width
    stride = height + 1
    keys = boundaries.pixels(np.concatenate((frames, frames + n)))
    owner, rest = np.divmod(keys, width * stride)
    col, row = np.divmod(rest, stride)
    frame = np.where(owner >= n, owner - n, owner)
    split = int(np.searchsorted(owner, n))
    pred = _Points(frame[:split], col[:split], row[:split])
    gt = _Points(frame[split:], col[split:], row[split:])
    pred_hit, gt_hit = _matched(pred, gt, radius, height, width), _matched(gt, pred, radius, height, width)
    count = np.bincount
    return _f_from_counts(count(pred.frame, minlength=n)[frames], count(gt.frame, minlength=n)[frames],
                          count(pred.frame[pred_hit], minlength=n)[frames],
                          count(gt.frame[gt_hit], minlength=n)[frames])


def _dilate(bound: np.ndarray, radius: int) -> np.ndarray:
    """Dilation of a boolean map by the disk: per row, a window count for each distinct half-width of the
    disk's rows (one prefix sum), then the OR of the ``2 radius + 1`` row-shifted windows."""
    h, w = bound.shape
    half = [math.isqrt(radius * radius - d * d) for d in range(radius + 1)]
    prefix = np.zeros((h, w + 2 * radius + 1), dtype=np.int32)
    prefix[:, radius + 1:radius + 1 + w] = bound
    np.cumsum(prefix, axis=1, out=prefix)
    rows = {b: (prefix[:, radius + 1 + b:radius + 1 + b + w] - prefix[:, radius - b:radius - b + w]) > 0
            for b in set(half)}
    out = np.zeros_like(bound)
    for dy in range(-min(radius, h - 1), min(radius, h - 1) + 1):
        out[max(dy, 0):h + min(dy, 0)] |= rows[half[abs(dy)]][max(-dy, 0):h + min(-dy, 0)]
    return out


def _f_window(runs: _Runs, pieces: _Pieces, k: int, n: int, region: tuple[int, int, int, int],
              radius: int) -> float:
    """F of frame ``k`` on the decoded window holding both boundary maps, dilated as a whole."""
    top, bottom, left, right = region
    both = pieces.select(np.array([k, n + k]))
    first_row = max(int(both.lo.min()) - 1, 0) + top
    last_row = int(both.hi.max()) - 1 + top
    first_col = max(int(both.col.min()) - 1, 0) + left
    last_col = int(both.col.max()) + left
    rows = (first_row, min(last_row + 2, bottom))
    cols = (first_col, min(last_col + 2, right))
    bottom_edge, right_edge = rows[1] == bottom, cols[1] == right
    # windows are transposed (columns first), so the canvas' right edge is their last row
    pred = _boundary(runs.window(k, rows, cols), right_edge, bottom_edge)
    gt = _boundary(runs.window(n + k, rows, cols), right_edge, bottom_edge)
    counts = np.array([[np.count_nonzero(pred)], [np.count_nonzero(gt)],
                       [np.count_nonzero(pred & _dilate(gt, radius))], [np.count_nonzero(gt & _dilate(pred, radius))]])
    return float(_f_from_counts(*counts)[0])


def _f_frames(runs: _Runs, pieces: _Pieces, n: int, region: tuple[int, int, int, int], radius: int) -> np.ndarray:
    """F of frames ``k`` (prediction ``k``, ground truth ``n + k`` in ``runs``) on ``region`` taken as the canvas
    (``pieces``: ``runs.pieces(region)``)."""
    top, bottom, left, right = region
    height, width = bottom - top, right - left
    areas = np.bincount(pieces.owner, weights=pieces.hi - pieces.lo, minlength=2 * n)
    constant = (areas == 0) | (areas == height * width)
    f = np.where(constant[:n] == constant[n:], 1.0, 0.0)  # one constant mask: no boundary on one side only
    todo = np.flatnonzero(~constant[:n] & ~constant[n:])
    if todo.size == 0:
        return f
    # a mask has about a boundary pixel per run or more: frames with many runs go to the window at once
    run_counts = np.diff(runs.batch.first)
    fragmented = (run_counts[todo] + run_counts[todo + n]) * WINDOW_PIXELS_PER_BOUNDARY > 2 * height * width
    window = todo[fragmented]
    todo = todo[~fragmented]
    boundaries = _Boundaries.of(pieces.select(np.concatenate((todo, todo + n))), height, width)
    sizes = boundaries.sizes(2 * n)
    frame_sizes = sizes[todo] + sizes[todo + n]
    fragmented = frame_sizes * WINDOW_PIXELS_PER_BOUNDARY > height * width
    for k in sorted([*window.tolist(), *todo[fragmented].tolist()]):
        f[k] = _f_window(runs, pieces, k, n, region, radius)
    todo, frame_sizes = todo[~fragmented], frame_sizes[~fragmented]
    passes = np.cumsum(frame_sizes) // _PASS_PIXELS
    for number in np.unique(passes).tolist():
        frames = todo[passes == number]
        f[frames] = _f_runs(boundaries, frames, n, radius)
    return f


def _region(region: Region | None, height: int, width: int, what: str) -> tuple[int, int, int, int]:
    """``(top, bottom, left, right)`` (half-open) of a non-empty ``(rows, columns)`` slice pair on the canvas."""
    if region is None:
        return 0, height, 0, width
    try:
        rows, cols = region
        top, bottom, row_step = rows.indices(height)
        left, right, col_step = cols.indices(width)
    except (TypeError, ValueError, AttributeError):
        raise ValueError(f"Expected `{what}` to be a (rows, columns) pair of slices, but got {region!r}") from None
    if row_step != 1 or col_step != 1 or bottom <= top or right <= left:
        raise ValueError(f"Expected `{what}` to be a non-empty rectangle of the {height} x {width} canvas "
                         f"(slices with step 1), but got {region!r}")
    return top, bottom, left, right


def _canvas(gts: Sequence[Rle]) -> tuple[int, int]:
    """The one ``(height, width)`` of all ground truths (at least one pixel)."""
    if not gts:
        raise ValueError("Expected at least one frame, but got an empty `gts`")
    height, width = size_of(gts[0])
    for k, gt in enumerate(gts):
        if size_of(gt) != (height, width):
            raise MaskError(f"Expected every ground truth to be {height} x {width} like gts[0], "
                            f"but gts[{k}] is {size_of(gt)[0]} x {size_of(gt)[1]}")
    if height * width == 0:
        raise MaskError(f"Expected a canvas with pixels, but got {height} x {width}")
    return height, width


@functools.lru_cache(maxsize=4)
def _empty(height: int, width: int) -> Rle:
    """The empty mask of a canvas, encoded once (read only)."""
    return empty(height, width)


def _filled(preds: Sequence[Rle | None], height: int, width: int) -> list[Rle]:
    """``preds`` with ``None`` replaced by the empty mask; raises :class:`MaskError` naming a prediction that
    is not a compressed RLE of the canvas' size."""
    filled: list[Rle] = []
    for k, pred in enumerate(preds):
        if pred is None:
            filled.append(_empty(height, width))
            continue
        try:
            size, counts = size_of(pred), pred["counts"]
        except (TypeError, KeyError, IndexError, ValueError):
            raise MaskError(f"Expected preds[{k}] to be an RLE dict with 'size' [h, w] and 'counts', "
                            f"but got {type(pred).__name__}") from None
        if size != (height, width):
            raise MaskError(f"Mask sizes differ at frame {k}: prediction {list(size)} != ground truth "
                            f"{[height, width]}")
        if not isinstance(counts, (str, bytes)):
            raise MaskError(f"Expected preds[{k}] to be a compressed RLE (normalize it first), "
                            f"but got counts of type {type(counts).__name__}")
        filled.append(pred)
    return filled


def _mean(values: np.ndarray) -> float:
    return float(np.mean(values))


@dataclass(frozen=True, eq=False)
class ExpressionScores:
    """One expression's per-frame scores (float64 fractions, shape ``(T,)`` for T frames).

    ``j`` and ``f`` are J_t and F_t; ``f_native`` and ``d_fpr`` are F_native_t and D_FPR_t for a pair
    probe (``None`` otherwise). ``missing`` marks an expression without a prediction line
    (:meth:`missing`). The ``mean_*`` properties are the expression's values (means over frames).
    """

    j: np.ndarray
    f: np.ndarray
    f_native: np.ndarray | None = None
    d_fpr: np.ndarray | None = None
    missing: bool = False

    @classmethod
    def missing_expression(cls, frames: int, *, pair: bool = False) -> ExpressionScores:
        """The scores of an expression without a line: J = F = F_native = 0 and D_FPR = 1 on every frame.

        Examples:
            >>> ExpressionScores.missing_expression(3, pair=True).mean_d_fpr
            1.0
        """
        if frames < 1:
            raise ValueError(f"Expected `frames` to be at least 1, but got {frames}")
        zeros = np.zeros(frames)
        return cls(zeros, zeros, zeros if pair else None, np.ones(frames) if pair else None, missing=True)

    @property
    def pair(self) -> bool:
        return self.f_native is not None

    @property
    def mean_j(self) -> float:
        return _mean(self.j)

    @property
    def mean_f(self) -> float:
        return _mean(self.f)

    @property
    def mean_f_native(self) -> float | None:
        return None if self.f_native is None else _mean(self.f_native)

    @property
    def mean_d_fpr(self) -> float | None:
        return None if self.d_fpr is None else _mean(self.d_fpr)


def expression_scores(*, preds: Sequence[Rle | None], gts: Sequence[Rle],
                      target: Region | None = None) -> ExpressionScores:
    """Per-frame J and F of one expression (and F_native, D_FPR when ``target`` is given).

    ``preds[t]`` and ``gts[t]`` are frame t's prediction (``None``: empty) and ground truth, all of one
    ``H x W`` canvas. ``target`` is the target half's ``(rows, columns)`` slices on a pair canvas. Raises
    :class:`MaskError` on sizes that differ or runs that do not decode, ``ValueError`` on lengths that differ.

    Examples:
        >>> from pixbench.annotation.rle import encode
        >>> gt = np.zeros((4, 8), dtype=bool)
        >>> gt[1:3, 1:3] = True
        >>> pred = np.zeros((4, 8), dtype=bool)
        >>> pred[1:3, 1:3] = pred[0, 6] = True  # the object and one pixel in the other half
        >>> scores = expression_scores(preds=[encode(pred), None], gts=[encode(gt)] * 2,
        ...                            target=(slice(None), slice(0, 4)))
        >>> scores.j.tolist(), scores.f_native.tolist(), scores.d_fpr.tolist()  # F_native sees the half only
        ([0.8, 0.0], [1.0, 0.0], [0.0625, 0.0])
    """
    if len(preds) != len(gts):
        raise ValueError(f"Expected `preds` and `gts` to have the same length, but got {len(preds)} != {len(gts)}")
    height, width = _canvas(gts)
    half = None if target is None else _region(target, height, width, "target")
    if half == (0, height, 0, width):
        raise ValueError(f"Expected `target` to leave part of the {height} x {width} canvas to the other half, "
                         f"but got {target!r}")
    filled = _filled(preds, height, width)
    parts = [_group_scores(filled[group], gts[group], group.start, height, width, half)
             for group in _groups([len(p["counts"]) + len(g["counts"]) for p, g in zip(filled, gts)])]
    j, f, f_native, d_fpr = (np.concatenate([part[k] for part in parts]) for k in range(4))
    return ExpressionScores(j, f, None if half is None else f_native, None if half is None else d_fpr)


def _groups(chars: Sequence[int]) -> list[slice]:
    """Consecutive frames cut into groups of about :data:`_GROUP_CHARS` characters of RLE text (at least one)."""
    passes = np.cumsum(np.asarray(chars, dtype=np.int64)) // _GROUP_CHARS
    bounds = [0, *(np.flatnonzero(np.diff(passes)) + 1).tolist(), len(chars)]
    return [slice(a, b) for a, b in itertools.pairwise(bounds)]


def _group_scores(preds: Sequence[Rle], gts: Sequence[Rle], offset: int, height: int, width: int,
                  half: tuple[int, int, int, int] | None) -> tuple[np.ndarray, ...]:
    """J, F, F_native and D_FPR (empty arrays without ``half``) of frames ``offset ...`` of an expression."""
    n = len(gts)
    names = [f"preds[{offset + k}]" for k in range(n)] + [f"gts[{offset + k}]" for k in range(n)]
    runs = _Runs.of([*preds, *gts], names, height)  # checks the runs, naming the frame in the expression
    inters, unions = intersections_and_unions(preds=preds, gts=gts)
    whole = (0, height, 0, width)
    j = ious_from_counts(inters, unions)
    f = _f_frames(runs, runs.pieces(whole), n, whole, tolerance(height, width))
    if half is None:
        return j, f, np.zeros(0), np.zeros(0)
    native = runs.pieces(half)
    f_native = _f_frames(runs, native, n, half, tolerance(half[1] - half[0], half[3] - half[2]))
    inside = np.bincount(native.owner, weights=native.hi - native.lo, minlength=2 * n)[:n].astype(np.int64)
    pred_areas = unions - np.asarray(area(gts), dtype=np.int64) + inters
    outside_pixels = height * width - (half[1] - half[0]) * (half[3] - half[2])
    return j, f, f_native, (pred_areas - inside) / outside_pixels


def frame_j(*, pred: Rle | None, gt: Rle) -> float:
    """J of one frame: ``|pred AND gt| / |pred OR gt|``, 1.0 when both are empty (``None``: empty).

    Examples:
        >>> from pixbench.annotation.rle import empty, encode
        >>> frame_j(pred=encode(np.array([[1, 1], [0, 0]])), gt=encode(np.array([[1, 0], [0, 0]])))
        0.5
        >>> frame_j(pred=None, gt=empty(2, 2))
        1.0
    """
    height, width = _canvas([gt])
    inters, unions = intersections_and_unions(preds=_filled([pred], height, width), gts=[gt])
    return float(ious_from_counts(inters, unions)[0])


def frame_f(*, pred: Rle | None, gt: Rle, radius: int | None = None, region: Region | None = None) -> float:
    """F of one frame: DAVIS' boundary F-measure (``None``: empty prediction).

    ``region`` (``(rows, columns)`` slices) scores that rectangle as its own canvas, as F_native does with
    the target half; ``radius`` overrides the tolerance, by default :func:`tolerance` of the canvas or region.

    Examples:
        >>> from pixbench.annotation.rle import encode
        >>> gt = np.zeros((64, 96), dtype=bool)
        >>> gt[10:30, 10:40] = True
        >>> frame_f(pred=encode(gt), gt=encode(gt))
        1.0
        >>> frame_f(pred=encode(np.roll(gt, 1, axis=1)), gt=encode(gt))  # 1 px off: within r = 1
        1.0
        >>> frame_f(pred=encode(np.roll(gt, 2, axis=1)), gt=encode(gt))  # 2 px off: 62 of 100 boundary px match
        0.62
        >>> frame_f(pred=None, gt=encode(gt))
        0.0
    """
    height, width = _canvas([gt])
    filled = _filled([pred], height, width)
    box = _region(region, height, width, "region")
    if radius is None:
        radius = tolerance(box[1] - box[0], box[3] - box[2])
    elif isinstance(radius, bool) or not isinstance(radius, (int, np.integer)) or radius < 0:
        raise ValueError(f"Expected `radius` to be a non-negative int, but got {radius!r}")
    runs = _Runs.of([filled[0], gt], ["pred", "gt"], height)
    return float(_f_frames(runs, runs.pieces(box), 1, box, int(radius))[0])


@dataclass(frozen=True, eq=False)
class StaticScores:
    """One ``static`` expression's per-frame scores (float64 fractions, shape ``(T,)``).

    ``jbg`` = 1 - |P AND K| / |K| (1 when K is empty), ``jall`` = 1 - |P| / N, ``fg_fpr`` = |P AND K| / |K|
    (0 when K is empty), ``fpr`` = |P| / N. ``missing`` marks an expression without a line. The ``mean_*``
    properties are the means over frames; :attr:`h_bg` their harmonic combination.
    """

    jbg: np.ndarray
    jall: np.ndarray
    fg_fpr: np.ndarray
    fpr: np.ndarray
    missing: bool = False

    @classmethod
    def missing_expression(cls, frames: int) -> StaticScores:
        """The scores of a ``static`` expression without a line: J_bg = H_bg = 0, FPR = FG_FPR = 1.

        Examples:
            >>> StaticScores.missing_expression(2).h_bg
            0.0
        """
        if frames < 1:
            raise ValueError(f"Expected `frames` to be at least 1, but got {frames}")
        zeros, ones = np.zeros(frames), np.ones(frames)
        return cls(zeros, zeros, ones, ones, missing=True)

    @property
    def mean_jbg(self) -> float:
        return _mean(self.jbg)

    @property
    def mean_jall(self) -> float:
        return _mean(self.jall)

    @property
    def mean_fg_fpr(self) -> float:
        return _mean(self.fg_fpr)

    @property
    def mean_fpr(self) -> float:
        return _mean(self.fpr)

    @property
    def h_bg(self) -> float:
        """``2 / (1 / (J_bg + 1e-10) + 1 / (J_all + 1e-10))`` of the means; 0 for a missing expression."""
        if self.missing:
            return 0.0
        return 2 / (1 / (self.mean_jbg + HARMONIC_EPS) + 1 / (self.mean_jall + HARMONIC_EPS))


def static_scores(*, preds: Sequence[Rle | None], keyframe_gt: Rle) -> StaticScores:
    """Per-frame scores of one ``static`` expression: every frame's prediction against the keyframe's truth K.

    Examples:
        >>> from pixbench.annotation.rle import encode
        >>> key = encode(np.array([[1, 1], [0, 0]]))
        >>> scores = static_scores(preds=[encode(np.array([[1, 0], [0, 1]])), None], keyframe_gt=key)
        >>> scores.jbg.tolist(), scores.fpr.tolist(), round(scores.h_bg, 4)  # J_bg 0.75, J_all 0.75
        ([0.5, 1.0], [0.5, 0.0], 0.75)
    """
    height, width = _canvas([keyframe_gt])
    filled = _filled(preds, height, width)
    if not filled:
        raise ValueError("Expected at least one frame, but got an empty `preds`")
    keys = [keyframe_gt] * len(filled)  # one object: decoded once, intersected through a prefix sum
    counts = [intersections_and_unions(preds=filled[group], gts=keys[group])
              for group in _groups([len(p["counts"]) for p in filled])]
    inters, unions = (np.concatenate([c[k] for c in counts]) for k in range(2))
    key_area = int(area([keyframe_gt])[0])
    fpr = (unions - key_area + inters) / (height * width)
    fg_fpr = inters / key_area if key_area else np.zeros(len(filled))
    return StaticScores(1.0 - fg_fpr, 1.0 - fpr, fg_fpr, fpr)


def _percent_mean(values: Sequence[float | None]) -> float:
    return float(np.mean(np.asarray(values, dtype=np.float64)) * 100.0)


@dataclass(frozen=True)
class VideoMetrics:
    """A benchmark's video metrics over expressions, in percent.

    ``j``, ``f``: means over expressions of the expressions' J and F; ``jf = (j + f) / 2``. For pair probes
    ``f_native``, ``jf_native = (j + f_native) / 2`` and ``d_fpr`` (else ``None``). ``expressions`` counts
    the expressions, ``missing`` those without a line (scored as :meth:`ExpressionScores.missing_expression`).
    """

    j: float
    f: float
    jf: float
    f_native: float | None
    jf_native: float | None
    d_fpr: float | None
    expressions: int
    missing: int

    def to_json(self) -> dict[str, Any]:
        """``{"metrics": {"J", "F", "JF"[, "F_native", "JF_native", "D_FPR"]}, "counts": {...}}``."""
        metrics: dict[str, float | None] = {"J": self.j, "F": self.f, "JF": self.jf}
        if self.f_native is not None:
            metrics.update({"F_native": self.f_native, "JF_native": self.jf_native, "D_FPR": self.d_fpr})
        return {"metrics": metrics, "counts": {"expressions": self.expressions, "missing": self.missing}}


def video_metrics(scores: Sequence[ExpressionScores]) -> VideoMetrics:
    """Reduce expressions to the benchmark's J, F, JF (and F_native, JF_native, D_FPR for pairs), in percent.

    Raises ``ValueError`` when ``scores`` is empty or mixes pair and single-frame expressions.

    Examples:
        >>> one = ExpressionScores(np.array([1.0, 0.5]), np.array([1.0, 1.0]))
        >>> metrics = video_metrics([one, ExpressionScores.missing_expression(2)])
        >>> metrics.j, metrics.f, metrics.jf, metrics.missing
        (37.5, 50.0, 43.75, 1)
    """
    if not scores:
        raise ValueError("Expected at least one expression, but got none")
    pairs = {s.pair for s in scores}
    if len(pairs) != 1:
        raise ValueError("Expected expressions of one kind, but got pair and single-frame expressions together")
    j = _percent_mean([s.mean_j for s in scores])
    f = _percent_mean([s.mean_f for s in scores])
    f_native = jf_native = d_fpr = None
    if pairs == {True}:
        f_native = _percent_mean([s.mean_f_native for s in scores])
        jf_native = (j + f_native) / 2
        d_fpr = _percent_mean([s.mean_d_fpr for s in scores])
    return VideoMetrics(j, f, (j + f) / 2, f_native, jf_native, d_fpr, len(scores), sum(s.missing for s in scores))


@dataclass(frozen=True)
class StaticMetrics:
    """The ``static`` probe's metrics over expressions, in percent: means of the expressions' J_bg, H_bg,
    FPR and FG_FPR; ``expressions`` and ``missing`` count them."""

    j_bg: float
    h_bg: float
    fpr: float
    fg_fpr: float
    expressions: int
    missing: int

    def to_json(self) -> dict[str, Any]:
        """``{"metrics": {"J_bg", "H_bg", "FPR", "FG_FPR"}, "counts": {...}}``."""
        return {"metrics": {"J_bg": self.j_bg, "H_bg": self.h_bg, "FPR": self.fpr, "FG_FPR": self.fg_fpr},
                "counts": {"expressions": self.expressions, "missing": self.missing}}


def static_metrics(scores: Sequence[StaticScores]) -> StaticMetrics:
    """Reduce ``static`` expressions to J_bg, H_bg, FPR and FG_FPR in percent (means over expressions).

    Examples:
        >>> kept = StaticScores(np.ones(2), np.ones(2), np.zeros(2), np.zeros(2))
        >>> metrics = static_metrics([kept, StaticScores.missing_expression(2)])
        >>> round(metrics.j_bg, 6), round(metrics.h_bg, 6), metrics.fpr
        (50.0, 50.0, 50.0)
    """
    if not scores:
        raise ValueError("Expected at least one expression, but got none")
    return StaticMetrics(_percent_mean([s.mean_jbg for s in scores]), _percent_mean([s.h_bg for s in scores]),
                         _percent_mean([s.mean_fpr for s in scores]), _percent_mean([s.mean_fg_fpr for s in scores]),
                         len(scores), sum(s.missing for s in scores))
