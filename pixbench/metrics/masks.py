"""Mask scores on COCO RLE: per-row IoU, mIoU, cIoU and the oracle-best candidate.

Conventions (the scoring contract, section 3):

- Masks are compressed COCO RLE dicts (:class:`pixbench.annotation.rle.Rle`, text or bytes ``counts``),
  as produced by :func:`pixbench.annotation.rle.normalize` or :func:`~pixbench.annotation.rle.encode`.
  Nothing here decodes a mask: areas and intersections are computed on the runs by pycocotools.
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
from pycocotools import mask as coco_mask

from pixbench.annotation.rle import MaskError, Rle, RunBatch, RunsCache, coco_areas, decode_runs_many

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
    try:
        counts = rle["counts"]
        size = [int(rle["size"][0]), int(rle["size"][1])]
    except (TypeError, KeyError, IndexError, ValueError):
        raise MaskError(f"Expected `{what}` to be an RLE dict with 'size' [h, w] and 'counts', "
                        f"but got {type(rle).__name__}") from None
    if isinstance(counts, str):
        counts = counts.encode("ascii")
    elif not isinstance(counts, bytes):
        raise MaskError(f"Expected `{what}` to be a compressed RLE (normalize it first), "
                        f"but got counts of type {type(counts).__name__}")
    return {"size": size, "counts": counts}


#: A ground truth matched with at least this many predictions is decoded once and intersected with
#: all of them through a prefix sum of its pixels; fewer predictions use one pycocotools merge each.
PREFIX_SUM_MIN_PREDICTIONS = 8


def intersections_and_unions(*, preds: Sequence[Rle], gts: Sequence[Rle],
                             runs: RunsCache | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Pixel counts ``|p AND g|`` and ``|p OR g|`` of matched pairs ``(preds[k], gts[k])`` (int64 arrays).

    Computed on the runs, never decoding a prediction: prediction areas come from their runs (decoded
    for all predictions in one vectorised pass), ground-truth areas from one batched call per distinct
    ground-truth object (a ground truth repeated by reference, e.g. ``[gt] * n``, is measured once).
    Intersections: a ground truth shared by many predictions (an oracle over candidates) is decoded once
    and each prediction's foreground runs are summed on its prefix sum; otherwise one
    ``merge(intersect=1)`` per pair. ``union = a + b - i``. Raises :class:`MaskError` when the lengths
    differ, a pair's sizes differ or a prediction's runs do not decode. ``runs`` may hold the predictions'
    decoded runs already (from validating them), which are then reused.

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
    pred_coco = [_coco_form(p, f"preds[{k}]") for k, p in enumerate(preds)]
    gt_slot: dict[int, int] = {}
    gt_unique: list[dict[str, Any]] = []
    gt_index = np.empty(n, dtype=np.int64)
    for k, gt in enumerate(gts):
        slot = gt_slot.get(id(gt))
        if slot is None:
            slot = gt_slot[id(gt)] = len(gt_unique)
            gt_unique.append(_coco_form(gt, f"gts[{k}]"))
        gt_index[k] = slot
        if pred_coco[k]["size"] != gt_unique[slot]["size"]:
            raise MaskError(f"Mask sizes differ at pair {k}: prediction {pred_coco[k]['size']} "
                            f"!= ground truth {gt_unique[slot]['size']}")
    batch = decode_runs_many([p["counts"] if isinstance(p["counts"], str) else p["counts"].decode("ascii")
                              for p in preds], cache=runs, store=False)
    if batch.flagged:
        k, reason = next(iter(batch.flagged.items()))
        raise MaskError(f"preds[{k}]: {reason}")
    local = np.arange(batch.runs.size) - batch.first[batch.owner]
    foreground = local % 2 == 1
    pred_areas = np.bincount(batch.owner[foreground], weights=batch.runs[foreground], minlength=n).astype(np.int64)
    gt_areas = coco_areas(gt_unique)[gt_index]
    inters = np.zeros(n, dtype=np.int64)
    overlapping = (pred_areas > 0) & (gt_areas > 0)
    per_slot = np.bincount(gt_index[overlapping], minlength=len(gt_unique))
    shared = np.flatnonzero(per_slot >= PREFIX_SUM_MIN_PREDICTIONS)
    if shared.size:
        inters += _prefix_sum_intersections(batch, foreground, gt_unique, gt_index, shared, overlapping)
    merged_pairs = np.flatnonzero(overlapping & (per_slot[gt_index] < PREFIX_SUM_MIN_PREDICTIONS))
    if merged_pairs.size:
        merged = [coco_mask.merge([pred_coco[k], gt_unique[gt_index[k]]], intersect=1)
                  for k in merged_pairs.tolist()]
        inters[merged_pairs] = coco_areas(merged)
    return inters, pred_areas + gt_areas - inters


def _prefix_sum_intersections(batch: RunBatch, foreground: np.ndarray, gt_unique: Sequence[dict[str, Any]],
                              gt_index: np.ndarray, slots: np.ndarray, overlapping: np.ndarray) -> np.ndarray:
    """Intersections of the predictions matched with the ground truths ``slots``, via pixel prefix sums.

    A prediction's foreground run ``[start, end)`` (column-major pixel offsets) meets ``|g[start:end]|``
    ground-truth pixels, which is ``prefix[end] - prefix[start]`` of the decoded ground truth.
    """
    n = gt_index.size
    ends = np.cumsum(batch.runs)
    ends -= np.concatenate(([0], ends))[batch.first[batch.owner]]  # per-string cumulative offsets
    wanted = np.zeros(len(gt_unique), dtype=bool)
    wanted[slots] = True
    runs = np.flatnonzero(foreground & overlapping[batch.owner] & wanted[gt_index[batch.owner]])
    run_slot = gt_index[batch.owner[runs]]
    order = np.argsort(run_slot, kind="stable")
    runs, run_slot = runs[order], run_slot[order]
    bounds = np.searchsorted(run_slot, slots, side="left"), np.searchsorted(run_slot, slots, side="right")
    contributions = np.zeros(runs.size, dtype=np.int64)
    for slot, lo, hi in zip(slots.tolist(), *bounds):
        pixels = coco_mask.decode(gt_unique[slot]).ravel(order="F")
        prefix = np.concatenate(([0], np.cumsum(pixels, dtype=np.int64)))
        chosen = runs[lo:hi]
        contributions[lo:hi] = prefix[ends[chosen]] - prefix[ends[chosen] - batch.runs[chosen]]
    return np.bincount(batch.owner[runs], weights=contributions, minlength=n).astype(np.int64)


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
