"""Scoring one model's MoCentric-Bench lines: one result per (probe, layout).

Every expression of the probe's set (``expressions`` for ``original``, ``static`` and ``static-pair``;
``reversed`` for the reversed probes) is scored: its line's masks against the probe view's ground truth
(:mod:`pixbench.benchmarks.mocentric.views`) with :mod:`pixbench.metrics.video`, or as missing when the file has no
line for it (J = F = 0, D_FPR = 1; ``static``: J_bg = H_bg = 0, FPR = FG_FPR = 1). The benchmark's numbers
are means over expressions, in percent. ``workers`` > 1 scores expressions in that many processes (the
numbers do not depend on it).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import TYPE_CHECKING, Any

import numpy as np

from pixbench.annotation.rle import Rle
from pixbench.benchmarks.mocentric.rows import ExpressionRow, VideoReference
from pixbench.benchmarks.mocentric.views import LAYOUTS, PAIR_PROBES, PROBES, probe_view
from pixbench.metrics.video import (
    ExpressionScores,
    StaticScores,
    expression_scores,
    static_metrics,
    static_scores,
    video_metrics,
)
from pixbench.outcomes import RowUnits
from pixbench.results import PROBE_SHAPE, ExpressionCounts, ScoreResult

if TYPE_CHECKING:
    from pixbench.prediction_records import Prediction
    from pixbench.results import ScoreSettings

#: The probe whose metrics are the background ones (nothing moves: the right answer is empty).
STATIC_PROBE = "static"
Scores = ExpressionScores | StaticScores


def _order(key: tuple[str, str | None]) -> tuple[int, int]:
    probe, layout = key
    return PROBES.index(probe), -1 if layout is None else LAYOUTS.index(layout)


def score_expression(probe: str, layout: str | None, row: ExpressionRow,
                     frames: Sequence[Rle | None] | None) -> Scores:
    """One expression's per-frame scores under a probe (``frames``: the line's masks, ``None``: no line)."""
    view = probe_view(probe=probe, layout=layout, frame_names=row.frame_names, keyframe=row.keyframe,
                      height=row.height, width=row.width)
    if probe == STATIC_PROBE:
        if frames is None:
            return StaticScores.missing_expression(view.length)
        return static_scores(preds=frames, keyframe_gt=row.masks[row.keyframe])
    if frames is None:
        return ExpressionScores.missing_expression(view.length, pair=probe in PAIR_PROBES)
    return expression_scores(preds=frames, gts=view.ground_truth(row.masks),
                             target=view.target if probe in PAIR_PROBES else None)


def _score_chunk(tasks: Sequence[tuple[str, str | None, ExpressionRow, Sequence[Rle | None] | None]]) -> list[Scores]:
    return [score_expression(*task) for task in tasks]


Task = tuple[str, str | None, ExpressionRow, Sequence[Rle | None] | None]


def _score_all(tasks: Sequence[Task], workers: int, progress: bool) -> list[Scores]:
    if workers <= 1 or len(tasks) < 2:
        from tqdm import tqdm

        return [score_expression(*task) for task in tqdm(tasks, desc="expressions", disable=not progress,
                                                         leave=False)]
    size = max(1, -(-len(tasks) // (workers * 4)))
    chunks = [tasks[k:k + size] for k in range(0, len(tasks), size)]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        return [scores for part in pool.map(_score_chunk, chunks) for scores in part]


def _values(scores: Sequence[Scores], pair: bool) -> dict[str, np.ndarray]:
    """Each metric's per-expression value as a fraction (the metric, in percent, is their mean x 100)."""
    if scores and isinstance(scores[0], StaticScores):
        static = [s for s in scores if isinstance(s, StaticScores)]
        # H_bg's 1e-10 guards can lift a perfect expression to 1 + 1e-10; the resampled mean keeps it in [0, 1]
        return {"J_bg": np.array([s.mean_jbg for s in static]),
                "H_bg": np.clip(np.array([s.h_bg for s in static]), 0.0, 1.0),
                "FPR": np.array([s.mean_fpr for s in static]), "FG_FPR": np.array([s.mean_fg_fpr for s in static])}
    video = [s for s in scores if isinstance(s, ExpressionScores)]
    j, f = np.array([s.mean_j for s in video]), np.array([s.mean_f for s in video])
    values = {"J": j, "F": f, "JF": (j + f) / 2}
    if pair:
        f_native = np.array([s.mean_f_native or 0.0 for s in video])
        values.update(F_native=f_native, JF_native=(j + f_native) / 2,
                      D_FPR=np.array([s.mean_d_fpr or 0.0 for s in video]))
    return values


def _record(model: str, benchmark: str, probe: str, layout: str | None, row_id: str, scores: Scores,
            variant: str | None) -> dict[str, Any]:
    """One ``--per-sample`` record: the expression's values and its per-frame scores."""
    record: dict[str, Any] = {"model": model, "benchmark": benchmark, "id": row_id, "probe": probe,
                              "layout": layout, "missing": scores.missing}
    if isinstance(scores, StaticScores):
        record.update(J_bg=round(scores.mean_jbg, 6), H_bg=round(scores.h_bg, 6), FPR=round(scores.mean_fpr, 6),
                      FG_FPR=round(scores.mean_fg_fpr, 6), FPR_t=[round(v, 6) for v in scores.fpr.tolist()],
                      FG_FPR_t=[round(v, 6) for v in scores.fg_fpr.tolist()])
    else:
        record.update(J=round(scores.mean_j, 6), F=round(scores.mean_f, 6),
                      J_t=[round(v, 6) for v in scores.j.tolist()], F_t=[round(v, 6) for v in scores.f.tolist()])
        if scores.f_native is not None:
            record.update(F_native=round(scores.mean_f_native or 0.0, 6), D_FPR=round(scores.mean_d_fpr or 0.0, 6))
    if variant is not None:
        record["variant"] = variant
    return record


def score_video_model(*, benchmark: str, model: str, predictions: Iterable[Prediction],
                      reference: VideoReference, settings: ScoreSettings, variant: str | None = None,
                      progress: bool = False, workers: int = 1) -> list[ScoreResult]:
    """The results of one model's lines: one per (probe, layout) the lines name, in probe order."""
    by_group: dict[tuple[str, str | None], dict[str, Prediction]] = defaultdict(dict)
    for prediction in predictions:
        by_group[(prediction.probe, prediction.layout)][str(prediction.id)] = prediction
    results = []
    for probe, layout in sorted(by_group, key=_order):
        lines = by_group[(probe, layout)]
        rows = reference.rows_for(probe)
        ids = list(rows)
        tasks: list[Task] = [(probe, layout, rows[row_id], lines[row_id].frames if row_id in lines else None)
                             for row_id in ids]
        scores = _score_all(tasks, workers, progress)
        summary = (static_metrics([s for s in scores if isinstance(s, StaticScores)]) if probe == STATIC_PROBE
                   else video_metrics([s for s in scores if isinstance(s, ExpressionScores)]))
        document = summary.to_json()
        units = RowUnits(benchmark=benchmark, ids=np.array(ids), mask_rows=np.ones(len(ids), dtype=bool),
                         pair=None, stratum=None, answers={}, masks={},
                         values=_values(scores, probe in PAIR_PROBES),
                         covered=np.array([row_id in lines for row_id in ids], dtype=bool))
        results.append(ScoreResult(
            model=model, benchmark=benchmark, select=None, metrics=document["metrics"],
            counts=ExpressionCounts(expressions=summary.expressions, missing=summary.missing),
            variant=variant, probe=probe, layout=layout, shape=PROBE_SHAPE, units=units,
            per_sample=tuple(_record(model, benchmark, probe, layout, row_id, s, variant)
                             for row_id, s in zip(ids, scores))))
    return results
