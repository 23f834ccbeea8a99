"""The boundary engine of the video F-measure: DAVIS' boundary rule and its matching within a tolerance disk,
computed on RLE runs (:mod:`pixbench.metrics.video` states the formulas and uses this module).

The rule: :func:`boundary_map` gives a mask's boundary pixels; a boundary pixel of one map *matches* when a
boundary pixel of the other lies within Euclidean distance ``r = tolerance(H, W) = ceil(0.008 * sqrt(H^2 +
W^2))`` (the :func:`disk` ``x^2 + y^2 <= r^2``); :func:`boundary_f` returns each frame's F from the matched
counts (precision, recall and the edge cases of :mod:`pixbench.metrics.video`).

How: nothing is decoded to full frames. A mask's boundary is empty exactly when the mask is constant (empty
or full), which alone decides F, so frames where both masks are empty (or full) cost nothing. Otherwise the
boundary pixels of every frame are found at once from the runs (column segments; :class:`_Boundaries`
gives the rule in those terms, from the canvas' :class:`FrameRuns`), and a boundary pixel is matched by
looking, in the other map's sorted pixel keys, for a pixel within the disk's half-width on each column
within r of it; most are settled by the same column, the same row, or a coarse grid of cells of side >= r
showing nothing near. Frames whose boundaries fill a good part of the canvas (noise-like masks) are scored
instead on the decoded window holding both boundary maps (plus the one row and column below and right of
it that the rule reads, unless the window ends at the canvas' last row or column), dilated by the disk row
by row. Every boundary pixel lies in that window, so it needs no margin of r. Work is cut into passes of
bounded size, so memory stays bounded whatever the masks.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from pixbench.annotation.rle import MaskError, Rle, RunBatch, decode_runs_many

__all__ = ["BOUND_TH", "FrameRuns", "Pieces", "boundary_f", "boundary_map", "disk", "tolerance"]

#: The boundary tolerance as a fraction of the canvas diagonal (DAVIS' ``bound_th``).
BOUND_TH = 0.008


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
class Pieces:
    """Foreground column segments of masks in a region, sorted by (owner, col, lo): mask ``owner``, region
    column ``col``, region rows ``[lo, hi)``."""

    owner: np.ndarray
    col: np.ndarray
    lo: np.ndarray
    hi: np.ndarray

    def select(self, masks: np.ndarray) -> Pieces:
        take = np.isin(self.owner, masks)
        return Pieces(self.owner[take], self.col[take], self.lo[take], self.hi[take])


@dataclass(frozen=True)
class FrameRuns:
    """Many masks' runs (a :class:`RunBatch`) with each run's end offset (column-major) in its own mask."""

    batch: RunBatch
    ends: np.ndarray
    foreground: np.ndarray
    height: int

    @classmethod
    def of(cls, rles: Sequence[Rle], names: Sequence[str], height: int) -> FrameRuns:
        batch = decode_runs_many([r["counts"] if isinstance(r["counts"], str) else bytes(r["counts"]).decode("ascii")
                                  for r in rles])
        if batch.flagged:
            k, reason = next(iter(batch.flagged.items()))
            raise MaskError(f"{names[k]}: {reason}")
        ends = np.cumsum(batch.runs)
        ends -= np.concatenate(([0], ends))[batch.first[batch.owner]]
        local = np.arange(batch.runs.size) - batch.first[batch.owner]
        return cls(batch, ends, ((local & 1) == 1) & (batch.runs > 0), height)

    def pieces(self, region: tuple[int, int, int, int]) -> Pieces:
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
        return Pieces(self.batch.owner[fg][run][ok], col[ok] - left, lo[ok] - top, hi[ok] - top)

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
    def of(cls, pieces: Pieces, height: int, width: int) -> _Boundaries:
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


def _f_window(runs: FrameRuns, pieces: Pieces, k: int, n: int, region: tuple[int, int, int, int],
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


def boundary_f(runs: FrameRuns, pieces: Pieces, n: int, region: tuple[int, int, int, int], radius: int) -> np.ndarray:
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
