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
- DAVIS statistics of an expression's per-frame values ``v_0..v_{T-1}`` (J_t or F_t; :func:`davis_recall`,
  :func:`davis_decay`, as DAVIS 2017's ``db_statistics``): **recall** = the fraction of frames with
  ``v_t > 0.5``; **decay** = mean of the first quarter minus mean of the last quarter, the quarters being
  ``v[i_k : i_{k+1} + 1]`` (bounds included, so neighbouring quarters share a frame) for
  ``i_k = round(1 + k (T - 1) / 4 + 1e-10) - 1``, ``k = 0..4`` (numpy's round). Deliberate difference: the
  published code casts the bounds to uint8, so videos longer than 256 frames wrap around; pixbench does not.
  Decay lies in [-1, 1]; a missing expression has recall 0 and decay 0.
- A **missing** expression (no prediction line) scores J = F = F_native = 0 and D_FPR = 1
  (:meth:`ExpressionScores.missing_expression`); for ``static`` J_bg = H_bg = 0 and FPR = FG_FPR = 1
  (:meth:`StaticScores.missing_expression`).

How (contract section 6): nothing is decoded to full frames. J, areas and intersections are computed on
the runs (:mod:`pixbench.metrics.masks`); F on the runs by the boundary engine
(:mod:`pixbench.metrics.boundaries`, which also holds :func:`boundary_map`, :func:`disk` and
:func:`tolerance`, re-exported here). Work is cut into groups of frames of bounded size, so memory stays
bounded whatever the masks.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from pixbench.annotation.rle import MaskError, Rle, area, empty, size_of
from pixbench.metrics.boundaries import BOUND_TH, FrameRuns, boundary_f, boundary_map, disk, tolerance
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
    "davis_decay",
    "davis_recall",
    "disk",
    "expression_scores",
    "frame_f",
    "frame_j",
    "static_metrics",
    "static_scores",
    "tolerance",
    "video_metrics",
]

#: Added to each term of the static probe's harmonic mean H_bg (as the published evaluator does).
HARMONIC_EPS = 1e-10

#: Characters of RLE text scored at once by :func:`expression_scores` (bounds the decoded runs).
_GROUP_CHARS = 1 << 21
#: A rectangle of a canvas as ``(rows, columns)`` slices (step 1), e.g. a pair canvas' target half.
Region = tuple[slice, slice]


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
    def recall_j(self) -> float:
        """DAVIS recall of J (:func:`davis_recall`)."""
        return davis_recall(self.j)

    @property
    def recall_f(self) -> float:
        """DAVIS recall of F (:func:`davis_recall`)."""
        return davis_recall(self.f)

    @property
    def decay_j(self) -> float:
        """DAVIS decay of J (:func:`davis_decay`)."""
        return davis_decay(self.j)

    @property
    def decay_f(self) -> float:
        """DAVIS decay of F (:func:`davis_decay`)."""
        return davis_decay(self.f)

    @property
    def mean_f_native(self) -> float | None:
        return None if self.f_native is None else _mean(self.f_native)

    @property
    def mean_d_fpr(self) -> float | None:
        return None if self.d_fpr is None else _mean(self.d_fpr)


def _per_frame(values: np.ndarray | Sequence[float]) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1 or array.size == 0:
        raise ValueError(f"Expected a non-empty 1-D array of per-frame values, but got shape {array.shape}")
    return array


def davis_recall(values: np.ndarray | Sequence[float]) -> float:
    """DAVIS recall of one expression's per-frame values (J_t or F_t): the fraction of frames above 0.5.

    Examples:
        >>> davis_recall([0.9, 0.5, 0.51, 0.0])
        0.5
    """
    return float(np.mean(_per_frame(values) > 0.5))


def davis_decay(values: np.ndarray | Sequence[float]) -> float:
    """DAVIS decay of one expression's per-frame values: the first quarter's mean minus the last quarter's
    (quarters as the module docstring defines them; 0 for a single frame).

    Examples:
        >>> davis_decay([1.0, 1.0, 1.0, 0.5, 0.5, 0.0, 0.0, 0.0, 0.0])  # quarters 0-2, 2-4, 4-6, 6-8
        1.0
        >>> davis_decay([0.25, 0.75])  # quarters [0], [0, 1], [1], [1]
        -0.5
    """
    array = _per_frame(values)
    bounds = (np.round(np.linspace(1, array.size, 5) + 1e-10) - 1).astype(np.int64)
    return float(np.mean(array[bounds[0]:bounds[1] + 1]) - np.mean(array[bounds[3]:bounds[4] + 1]))


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
    runs = FrameRuns.of([*preds, *gts], names, height)  # checks the runs, naming the frame in the expression
    inters, unions = intersections_and_unions(preds=preds, gts=gts)
    whole = (0, height, 0, width)
    j = ious_from_counts(inters, unions)
    f = boundary_f(runs, runs.pieces(whole), n, whole, tolerance(height, width))
    if half is None:
        return j, f, np.zeros(0), np.zeros(0)
    native = runs.pieces(half)
    f_native = boundary_f(runs, native, n, half, tolerance(half[1] - half[0], half[3] - half[2]))
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
    runs = FrameRuns.of([filled[0], gt], ["pred", "gt"], height)
    return float(boundary_f(runs, runs.pieces(box), 1, box, int(radius))[0])


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
