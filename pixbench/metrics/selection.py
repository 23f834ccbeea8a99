"""Reduce one prediction line to one mask: the selection modes of contract section 5 (``--select``).

A line may carry its own ``mask`` and/or ``candidates`` (many masks from a training-free method). The
mode decides which mask is scored:

- ``given`` (default): the line's ``mask`` when present; else ``candidates[selected]`` (``"none"`` means
  the method decided the object is absent: the empty mask); else :class:`SelectionError`, which tells
  to pick ``oracle`` or ``score``.
- ``oracle`` (upper bound): the empty mask when the ground truth is empty (IoU 1); else the candidate
  with the highest IoU against the ground truth, ties to the **later** candidate; an empty candidate
  list gives the empty mask (IoU 0).
- ``score`` (attend-and-segment): the candidate with the highest ``score``, ties to the later one; the
  empty mask when that score is below ``score_threshold`` (default 0.7; a score equal to it is kept).
  Candidates without a score are never chosen; a non-empty candidate list in which no candidate has a
  score raises :class:`SelectionError` (the method does not rank, so ``score`` is the wrong mode).

Modes apply to lines that have a ``candidates`` field (``candidates`` not ``None``, possibly empty).
A line without one is scored on its own ``mask`` in every mode (``None`` = no mask = the empty mask).
The empty mask always has the ground truth's size.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np

from pixbench.annotation.rle import Rle, RunsCache, area, empty, size_of
from pixbench.metrics.masks import best_iou_index, intersections_and_unions, ious_from_counts

__all__ = [
    "DEFAULT_SCORE_THRESHOLD",
    "SELECT_MODES",
    "SelectMode",
    "Selection",
    "SelectionError",
    "oracle_choices",
    "select_mask",
]

SelectMode = Literal["given", "oracle", "score"]
SELECT_MODES: tuple[str, ...] = get_args(SelectMode)
DEFAULT_SCORE_THRESHOLD = 0.7


class SelectionError(ValueError):
    """A line cannot be reduced to one mask under the requested mode."""


@dataclass(frozen=True)
class Selection:
    """The mask chosen for one line.

    ``index`` is the chosen candidate's position in ``candidates``, or ``None`` when the mask is the
    line's own ``mask`` or the empty mask (no candidate, ``"none"``, empty ground truth under
    ``oracle``, best score below the threshold).
    """

    index: int | None
    mask: Rle


def _own_mask(mask: Rle | None, gt: Rle) -> Selection:
    return Selection(None, mask if mask is not None else empty(*size_of(gt)))


def _given(mask: Rle | None, candidates: Sequence[Rle] | None,
           selected: int | Literal["none"] | None, gt: Rle) -> Selection:
    if mask is not None:
        return Selection(None, mask)
    if selected == "none":
        return Selection(None, empty(*size_of(gt)))
    if selected is None:
        if candidates is None:
            return _own_mask(None, gt)
        raise SelectionError("Expected `mask` or `selected` on a line with candidates under --select given, "
                             "but got neither; pick a mode that chooses among candidates: "
                             "--select oracle or --select score")
    if isinstance(selected, bool) or not isinstance(selected, int):
        raise SelectionError(f"Expected `selected` to be an int, 'none' or null, but got {selected!r}")
    count = 0 if candidates is None else len(candidates)
    if not 0 <= selected < count or candidates is None:
        raise SelectionError(f"Expected `selected` to be an index in [0, {count}), but got {selected}")
    return Selection(selected, candidates[selected])


def _oracle(candidates: Sequence[Rle], gt: Rle) -> Selection:
    blank = empty(*size_of(gt))
    if int(area([gt])[0]) == 0:  # empty ground truth: the empty mask is the perfect answer (IoU 1)
        return Selection(None, blank)
    index, _ = best_iou_index(candidates=candidates, gt=gt)
    return Selection(None, blank) if index is None else Selection(index, candidates[index])


def _by_score(candidates: Sequence[Rle], scores: Sequence[float | None] | None,
              threshold: float, gt: Rle) -> Selection:
    blank = empty(*size_of(gt))
    if not candidates:
        return Selection(None, blank)
    if scores is None or len(scores) != len(candidates):
        got = "none" if scores is None else str(len(scores))
        raise SelectionError(f"Expected one score (or None) per candidate, {len(candidates)} in all, "
                             f"but got {got}")
    best: int | None = None
    best_score = -math.inf
    for index, score in enumerate(scores):
        if score is None:
            continue
        if isinstance(score, bool) or not isinstance(score, (int, float)) or math.isnan(score):
            raise SelectionError(f"Expected candidate {index}'s score to be a number, but got {score!r}")
        if best is None or score >= best_score:  # `>=`: ties go to the later candidate
            best, best_score = index, float(score)
    if best is None:
        raise SelectionError("Expected candidates with a `score` under --select score, but no candidate "
                             "has one; use --select given or --select oracle")
    if best_score < threshold:
        return Selection(None, blank)
    return Selection(best, candidates[best])


def select_mask(*, mode: SelectMode, gt: Rle, mask: Rle | None = None,
                candidates: Sequence[Rle] | None = None, scores: Sequence[float | None] | None = None,
                selected: int | Literal["none"] | None = None,
                score_threshold: float = DEFAULT_SCORE_THRESHOLD) -> Selection:
    """Choose the mask scored for one line under ``mode`` (rules in the module docstring).

    ``candidates`` and ``scores`` are parallel lists (a candidate without a score has ``None``);
    ``candidates=None`` means the line has no ``candidates`` field. ``gt`` is the row's ground truth,
    used by ``oracle`` and for the empty mask's size.

    Examples:
        >>> import numpy as np
        >>> from pixbench.annotation.rle import encode
        >>> gt = encode(np.array([[1, 1], [0, 0]]))
        >>> left, top = encode(np.array([[1, 0], [1, 0]])), encode(np.array([[1, 1], [0, 0]]))
        >>> select_mask(mode="oracle", gt=gt, candidates=[left, top]).index  # the best IoU
        1
        >>> select_mask(mode="score", gt=gt, candidates=[left, top], scores=[0.9, 0.6]).index
        0
        >>> select_mask(mode="score", gt=gt, candidates=[left, top], scores=[0.5, 0.6]).index is None  # < 0.7
        True
        >>> select_mask(mode="given", gt=gt, candidates=[left, top], selected="none").index is None
        True
    """
    if mode not in SELECT_MODES:
        raise ValueError(f"Expected `mode` to be one of {', '.join(SELECT_MODES)}, but got {mode!r}")
    if isinstance(score_threshold, bool) or not isinstance(score_threshold, (int, float)) \
            or not math.isfinite(score_threshold):
        raise ValueError(f"Expected `score_threshold` to be a finite number, but got {score_threshold!r}")
    if mode == "given":
        return _given(mask, candidates, selected, gt)
    if candidates is None:
        return _own_mask(mask, gt)
    if mode == "oracle":
        return _oracle(candidates, gt)
    return _by_score(candidates, scores, float(score_threshold), gt)


@dataclass(frozen=True)
class OracleChoice:
    """The oracle's pick for one line: the candidate's index, and its intersection and union with the
    ground truth in pixels."""

    index: int
    intersection: int
    union: int


def oracle_choices(*, candidates: Sequence[Sequence[Rle]], gts: Sequence[Rle],
                   runs: RunsCache | None = None) -> list[OracleChoice]:
    """The ``oracle`` mode for many lines at once: per line, the candidate with the highest IoU against
    its ground truth, ties to the **later** candidate, as :func:`select_mask` does line by line.

    For lines with a non-empty ground truth and at least one candidate (the other lines' oracle needs no
    IoU: see the module docstring). All IoUs are computed in one batch on the runs; ``runs`` may hold
    the candidates' decoded runs already.

    Examples:
        >>> import numpy as np
        >>> from pixbench.annotation.rle import encode
        >>> gt = encode(np.array([[1, 1], [0, 0]]))
        >>> half, full = encode(np.array([[1, 0], [0, 0]])), encode(np.array([[1, 1], [0, 0]]))
        >>> oracle_choices(candidates=[[half, full, half]], gts=[gt])
        [OracleChoice(index=1, intersection=2, union=2)]
    """
    if len(candidates) != len(gts):
        raise ValueError(f"Expected one ground truth per line, but got {len(gts)} for {len(candidates)} lines")
    sizes = np.array([len(group) for group in candidates], dtype=np.int64)
    if (sizes == 0).any():
        raise ValueError(f"Expected at least one candidate per line, but line {int(np.argmin(sizes))} has none")
    if not len(candidates):
        return []
    inters, unions = intersections_and_unions(preds=[mask for group in candidates for mask in group],
                                              gts=[gt for gt, size in zip(gts, sizes) for _ in range(size)],
                                              runs=runs)
    ious = ious_from_counts(inters, unions)
    starts = np.concatenate(([0], np.cumsum(sizes)[:-1])).astype(np.int64)
    best = np.maximum.reduceat(ious, starts)
    position = np.arange(ious.size)
    segment = np.repeat(np.arange(len(candidates)), sizes)
    last_best = np.maximum.reduceat(np.where(ious == best[segment], position, -1), starts)
    return [OracleChoice(int(j) - int(start), int(inters[j]), int(unions[j]))
            for j, start in zip(last_best.tolist(), starts.tolist())]
