"""Mask scores on COCO RLE: per-row IoU, mIoU, cIoU and the oracle-best candidate.

Conventions (the scoring contract, section 3):

- Masks are compressed COCO RLE dicts (:class:`pixbench.annotation.rle.Rle`, text or bytes ``counts``),
  as produced by :func:`pixbench.annotation.rle.normalize` or :func:`~pixbench.annotation.rle.encode`.
  Nothing here decodes a mask to pixels: areas and intersections are computed on the runs.
- ``IoU(p, g) = |p AND g| / |p OR g|``, and **IoU = 1 when both masks are empty** (the prediction
  correctly says "nothing there"). pycocotools' own ``iou`` returns 0 in that case and silently 0 for
  masks of different sizes, so it is never used; a size mismatch raises :class:`MaskError` with both sizes.
- Pairs are always *matched* (prediction ``k`` against ground truth ``k``); no N x M matrix is built.
- Reductions are named: :func:`miou` is the mean of per-row IoU, :func:`ciou` the ratio of summed
  intersections to summed unions. Both return percents (0..100); per-row IoU stays a fraction (0..1).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from pixbench.annotation.rle import CountsError, Foreground, MaskError, Rle, RunsCache, coco_areas, foreground_many

__all__ = [
    "area_fractions",
    "best_iou_index",
    "ciou",
    "intersections_and_unions",
    "iou",
    "ious_from_counts",
    "matched_ious",
    "miou",
]


def _coco_form(rle: Mapping[str, Any], what: str) -> dict[str, Any]:
    """The pycocotools form of a compressed RLE (bytes counts), rejecting anything else."""
    counts, size = _counts_and_size(rle, what)
    return {"size": list(size), "counts": counts.encode("ascii")}


def _counts_and_size(rle: Mapping[str, Any], what: str) -> tuple[str, tuple[int, int]]:
    """The text ``counts`` and ``(h, w)`` of a compressed RLE, rejecting anything else."""
    try:
        counts = rle["counts"]
        size = (int(rle["size"][0]), int(rle["size"][1]))
    except (TypeError, KeyError, IndexError, ValueError):
        raise MaskError(f"Expected `{what}` to be an RLE dict with 'size' [h, w] and 'counts', "
                        f"but got {type(rle).__name__}") from None
    if type(counts) is not str:
        if isinstance(counts, bytes):
            counts = counts.decode("ascii")
        elif not isinstance(counts, str):
            raise MaskError(f"Expected `{what}` to be a compressed RLE (normalize it first), "
                            f"but got counts of type {type(counts).__name__}")
    return counts, size


def _parts(rles: Sequence[Rle], what: str) -> list[tuple[str, tuple[int, int]]]:
    """:func:`_counts_and_size` of each mask; in one pass when all are plain (text counts, a list size)."""
    try:
        parts = [(rle["counts"], (rle["size"][0], rle["size"][1])) for rle in rles]
        if all(type(counts) is str and type(h) is int and type(w) is int for counts, (h, w) in parts):
            return parts
    except (TypeError, KeyError, IndexError):
        pass
    return [_counts_and_size(rle, f"{what}[{k}]") for k, rle in enumerate(rles)]


#: A ground truth's pixel prefix sum (4 bytes a pixel) is built when the predictions matched with it have
#: at least one foreground interval per this many pixels; fewer intervals are looked up in its own
#: intervals by binary search.
PIXELS_PER_INTERVAL_FOR_PREFIX_SUM = 16
#: Background, foreground: the values of alternate runs.
_OFF_ON = np.array([0, 1], dtype=np.uint8)


def intersections_and_unions(*, preds: Sequence[Rle], gts: Sequence[Rle],
                             runs: RunsCache | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Pixel counts ``|p AND g|`` and ``|p OR g|`` of matched pairs ``(preds[k], gts[k])`` (int64 arrays).

    Computed on the runs, never decoding a prediction: every prediction is decoded in one vectorised pass
    to its foreground intervals (:func:`~pixbench.annotation.rle.foreground_many`), each ground-truth
    object once (a ground truth repeated by reference, e.g. ``[gt] * n``, is one object). Intersections:
    for each ground truth, the intervals of all the predictions matched with it at once, each counting
    the ground-truth pixels in ``[start, end)`` as ``prefix[end] - prefix[start]`` of a prefix sum of its
    pixels (built from its intervals), or, for few intervals on a large mask, by binary search in its
    intervals. ``union = a + b - i``. Raises :class:`MaskError` when the lengths differ, a pair's sizes
    differ or a mask's runs do not decode to its size. ``runs`` may hold the predictions' decoded masks
    already (from validating them), which are then reused.

    Examples:
        >>> import numpy as np
        >>> from pixbench.annotation.rle import encode
        >>> gt = encode(np.array([[1, 1], [0, 0]]))
        >>> inters, unions = intersections_and_unions(preds=[encode(np.array([[1, 0], [1, 0]]))], gts=[gt])
        >>> inters.tolist(), unions.tolist()
        ([1], [3])
    """
    if len(preds) != len(gts):
        raise MaskError(f"Expected `preds` and `gts` to have the same length, "
                        f"but got {len(preds)} != {len(gts)}")
    n = len(preds)
    pred_parts = _parts(preds, "preds")
    gt_slot: dict[int, int] = {}
    gt_parts: list[tuple[str, tuple[int, int]]] = []
    gt_first: list[int] = []  # the first pair of each ground-truth object, for messages
    gt_index = np.empty(n, dtype=np.int64)
    for k, gt in enumerate(gts):
        slot = gt_slot.get(id(gt))
        if slot is None:
            slot = gt_slot[id(gt)] = len(gt_parts)
            gt_parts.append(_counts_and_size(gt, f"gts[{k}]"))
            gt_first.append(k)
        gt_index[k] = slot
        if pred_parts[k][1] != gt_parts[slot][1]:
            raise MaskError(f"Mask sizes differ at pair {k}: prediction {list(pred_parts[k][1])} "
                            f"!= ground truth {list(gt_parts[slot][1])}")
    gt_pixels = np.array([h * w for _, (h, w) in gt_parts], dtype=np.int64)
    try:
        pred_fg = foreground_many([c for c, _ in pred_parts], gt_pixels[gt_index], cache=runs)
    except CountsError as exc:
        raise MaskError(f"preds[{exc.index}]: {exc.reason}") from None
    try:
        gt_fg = foreground_many([c for c, _ in gt_parts], gt_pixels)
    except CountsError as exc:
        raise MaskError(f"gts[{gt_first[exc.index]}]: {exc.reason}") from None
    inters = _intersections(pred_fg, gt_fg, gt_index, gt_pixels)
    return inters, pred_fg.areas + gt_fg.areas[gt_index] - inters


def _intersections(preds: Foreground, gts: Foreground, gt_index: np.ndarray, gt_pixels: np.ndarray) -> np.ndarray:
    """``|p AND g|`` (int64) of each prediction ``k`` and its ground truth ``gt_index[k]``: per ground truth,
    the intervals of all its predictions in one vectorised pass."""
    n = gt_index.size
    order = None
    if n > 1 and bool(np.any(gt_index[1:] < gt_index[:-1])):  # group the predictions by ground truth
        order = np.argsort(gt_index, kind="stable")
        preds, gt_index = preds.take(order), gt_index[order]
    inters = np.zeros(n, dtype=np.int64)
    if not n:
        return inters
    bounds = (np.flatnonzero(gt_index[1:] != gt_index[:-1]) + 1).tolist()
    for a, b in zip([0, *bounds], [*bounds, n]):
        slot = int(gt_index[a])
        if gts.areas[slot] == 0:
            continue
        lo, hi = preds.lo[a:b], preds.hi[a:b]
        if bool(np.all(lo[1:] == hi[:-1])):  # the group's intervals follow each other (the usual case)
            starts, ends = preds.starts[lo[0]:hi[-1]], preds.ends[lo[0]:hi[-1]]
            offsets = np.append(lo, hi[-1]) - lo[0]
        else:
            starts, ends, offsets = preds.take(np.arange(a, b)).intervals()
        if not starts.size:
            continue
        g_lo, g_hi = int(gts.lo[slot]), int(gts.hi[slot])
        covered = _covered(gts.starts[g_lo:g_hi], gts.ends[g_lo:g_hi], int(gt_pixels[slot]), starts, ends)
        total = np.zeros(starts.size + 1, dtype=np.int64)
        np.cumsum(covered, out=total[1:])
        inters[a:b] = total[offsets[1:]] - total[offsets[:-1]]
    if order is None:
        return inters
    out = np.empty_like(inters)
    out[order] = inters
    return out


def _covered(gt_starts: np.ndarray, gt_ends: np.ndarray, pixels: int, starts: np.ndarray,
             ends: np.ndarray) -> np.ndarray:
    """How many pixels of a ground truth (its foreground intervals, ``pixels`` in all) each interval
    ``[starts[j], ends[j])`` of the same mask size holds."""
    if pixels <= PIXELS_PER_INTERVAL_FOR_PREFIX_SUM * starts.size:
        lengths = np.empty(2 * gt_starts.size + 1, dtype=np.int64)  # its runs: background, foreground, ...
        lengths[1:-1:2] = gt_ends - gt_starts
        lengths[0:-1:2] = gt_starts
        lengths[2:-1:2] -= gt_ends[:-1]
        lengths[-1] = pixels - (gt_ends[-1] if gt_ends.size else 0)
        prefix = np.zeros(pixels + 1, dtype=np.int32)
        np.cumsum(np.resize(_OFF_ON, lengths.size).repeat(lengths), dtype=np.int32, out=prefix[1:])
        return prefix[ends] - prefix[starts]
    edges = np.empty(2 * gt_starts.size, dtype=np.int32)
    edges[0::2], edges[1::2] = gt_starts, gt_ends
    # With i edges at or before an offset x, the pixels before x are base[i] when i is even (between
    # intervals: the intervals before), base[i] + x when i is odd (inside one, since its start).
    base = np.zeros(2 * gt_starts.size + 1, dtype=np.int32)
    np.cumsum(gt_ends - gt_starts, dtype=np.int32, out=base[2::2])
    base[1::2] = base[0:-1:2] - gt_starts

    def prefix_at(offsets: np.ndarray) -> np.ndarray:
        passed = np.searchsorted(edges, offsets, side="right")
        return base[passed] + (passed & 1) * offsets

    return prefix_at(ends) - prefix_at(starts)


def ious_from_counts(inters: np.ndarray | Sequence[int], unions: np.ndarray | Sequence[int]) -> np.ndarray:
    """Per-row IoU (float64 fractions) from intersection and union counts; 1.0 where the union is 0."""
    inter = np.asarray(inters, dtype=np.float64)
    uni = np.asarray(unions, dtype=np.float64)
    if inter.shape != uni.shape:
        raise ValueError(f"Expected `inters` and `unions` to have the same shape, "
                         f"but got {inter.shape} != {uni.shape}")
    safe = np.where(uni > 0, uni, 1.0)
    return np.where(uni > 0, inter / safe, 1.0)


def matched_ious(*, preds: Sequence[Rle], gts: Sequence[Rle]) -> np.ndarray:
    """IoU of each matched pair ``(preds[k], gts[k])`` as float64 fractions (1.0 when both are empty)."""
    inters, unions = intersections_and_unions(preds=preds, gts=gts)
    return ious_from_counts(inters, unions)


def iou(*, pred: Rle, gt: Rle) -> float:
    """``|pred AND gt| / |pred OR gt|`` as a fraction; 1.0 when both are empty.

    Raises :class:`MaskError` naming both sizes when the masks differ in size.

    Examples:
        >>> import numpy as np
        >>> from pixbench.annotation.rle import encode
        >>> pred, gt = encode(np.array([[1, 1], [0, 0]])), encode(np.array([[1, 0], [1, 0]]))
        >>> round(iou(pred=pred, gt=gt), 4)  # 1 pixel in common, 3 in either
        0.3333
        >>> empty = encode(np.zeros((2, 2)))
        >>> iou(pred=empty, gt=empty)  # both empty: a perfect answer
        1.0
    """
    return float(matched_ious(preds=[pred], gts=[gt])[0])


def miou(ious: np.ndarray | Sequence[float]) -> float:
    """Mean of per-row IoU fractions, in percent: the benchmark's **M**.

    Raises ``ValueError`` on an empty input (the metric is then not measured: report it as null) and
    on values outside ``[0, 1]`` (per-row IoU is a fraction, so a percent passed here is caught).

    Examples:
        >>> miou([1.0, 0.5, 0.0])
        50.0
    """
    values = np.asarray(ious, dtype=np.float64)
    if values.ndim != 1 or values.size == 0:
        raise ValueError(f"Expected `ious` to be a non-empty 1-D sequence, but got shape {values.shape}")
    if not np.all((values >= 0.0) & (values <= 1.0)):
        bad = values[~((values >= 0.0) & (values <= 1.0))][0]
        raise ValueError(f"Expected every IoU to be a fraction in [0, 1], but got {bad!r}")
    return float(values.mean() * 100.0)


def ciou(inters: np.ndarray | Sequence[int], unions: np.ndarray | Sequence[int]) -> float:
    """Cumulative IoU in percent: ``sum(intersections) / sum(unions) * 100``.

    When every union is 0 (all rows pair an empty prediction with an empty ground truth) the result is
    100.0, consistent with the per-row rule IoU(empty, empty) = 1. Raises ``ValueError`` on empty or
    mismatched inputs and on counts that are negative or have an intersection above its union.

    Examples:
        >>> ciou([1, 3], [3, 3])  # (1 + 3) / (3 + 3): large objects weigh more than in mIoU
        66.66666666666666
        >>> ciou([0], [0])  # every pair empty/empty
        100.0
    """
    inter = np.asarray(inters, dtype=np.int64)
    uni = np.asarray(unions, dtype=np.int64)
    if inter.ndim != 1 or inter.size == 0 or inter.shape != uni.shape:
        raise ValueError(f"Expected `inters` and `unions` to be non-empty 1-D sequences of one length, "
                         f"but got shapes {inter.shape} and {uni.shape}")
    if np.any(inter < 0) or np.any(inter > uni):
        raise ValueError("Expected 0 <= intersection <= union for every row, but got a row outside it")
    total_union = int(uni.sum())
    if total_union == 0:
        return 100.0
    return float(int(inter.sum()) / total_union * 100.0)


def best_iou_index(*, candidates: Sequence[Rle], gt: Rle) -> tuple[int | None, float]:
    """Index and IoU of the candidate that best matches ``gt`` (the oracle choice).

    Ties go to the **later** candidate. No candidates gives ``(None, 0.0)``. With an empty ``gt`` an
    empty candidate scores 1.0 like any empty/empty pair (the oracle selection mode handles empty
    ground truth before calling this). Raises :class:`MaskError` when a candidate's size differs.
    """
    if not candidates:
        return None, 0.0
    values = matched_ious(preds=candidates, gts=[gt] * len(candidates))
    last = len(values) - 1 - int(np.argmax(values[::-1]))
    return last, float(values[last])


def area_fractions(rles: Sequence[Rle]) -> np.ndarray:
    """Foreground pixels over image pixels for each mask (float64 in ``[0, 1]``; 0 for a 0-pixel image)."""
    coco = [_coco_form(r, f"rles[{k}]") for k, r in enumerate(rles)]
    pixels = np.array([s[0] * s[1] for s in (c["size"] for c in coco)], dtype=np.float64)
    counts = coco_areas(coco).astype(np.float64)
    return np.divide(counts, pixels, out=np.zeros_like(counts), where=pixels > 0)
