"""Scoring one model's MeViS lines under the official rules: one result for the version its lines name.

**Per expression** (a line holds one mask per native frame of the video; :mod:`pixbench.metrics.video`, the
MoCentric-Bench metric code, which reproduces MeViS's ``tools/eval_mevis.py``): J_t, F_t against the union of
the referred objects at frame t (J = 1 and F = 1 on a frame where both masks are empty), J and F their means
over the frames, DAVIS recall and decay of J_t and F_t (:func:`~pixbench.metrics.video.davis_recall`,
:func:`~pixbench.metrics.video.davis_decay`). An expression **without a line** scores J = F = 0 in every frame
(recall 0, decay 0), as the official evaluator scores a video without predictions; ``--strict`` refuses such
a file instead (:meth:`~pixbench.benchmarks.mevis.rules.Mevis.unanswered`). A line is **answered empty**
when every one of its masks is empty.

**Per version** (means over expressions, in percent):

- ``J``, ``F``, ``JF`` = (J + F) / 2, and ``J_recall``, ``J_decay``, ``F_recall``, ``F_decay``: over the
  **target** expressions (every expression of v1; v2's expressions that refer to at least one object).
- Where the version has **no-target** expressions (v2), their rule. The MeViS v2 release's own evaluator
  could not be read for this implementation (the evaluation code in henghuiding/MeViS is v1's
  ``tools/eval_mevis.py``, which has no rule for them), so pixbench uses the rule of generalized referring
  expression segmentation (GRES, Liu, Ding and Jiang, CVPR 2023), which MeViS v2 follows:
  ``N_acc`` = the share of no-target expressions answered empty; ``T_acc`` = the share of target expressions
  answered with a mask in at least one frame; a missing line is wrong in both. ``JF_all`` is J&F over every
  expression with the frame rule above (a no-target expression answered empty scores 100, one answered with
  any mask loses the frames where it gave one): what ``tools/eval_mevis.py`` prints when run on the v2 file.
- Breakdowns: ``target`` (``single-object``, ``multi-object``, ``no-target`` expressions) and, where the
  release gives expression types, ``type``; each group gives its expressions, missing lines and the metrics
  above over its own expressions.

The above is the ``official`` protocol (the default); under ``lmms-eval``
(:mod:`pixbench.benchmarks.mevis.protocols`) expressions without a line are dropped from every mean (counted)
and J_t, F_t are taken on frames re-sampled at ``--fps``. The version is the result's probe (``v1`` / ``v2``);
the result's notes say the protocol, the expressions scored of how many, the frame rule and the no-target rule,
and its ``analysis["protocol"]`` holds them as numbers. Resampling
(:meth:`~pixbench.benchmarks.mevis.rules.Mevis.resampling_plans`): expressions; where a version has both kinds,
stratified by target / no-target, so every resample keeps both counts. ``workers`` > 1 scores expressions in
that many processes (the numbers do not depend on it).

**Per-sample records** (``--per-sample``; the result's ``per_sample``): one per expression of the version, in the
build's order, dropped ones included: ``model``, ``benchmark``, ``id`` (``<video>_<exp id>``), ``probe`` (the
version), ``layout`` (``null``), ``variant`` (only with one), ``protocol``, ``video``, ``exp_id``,
``expression`` (the text), ``target`` (``single-object`` / ``multi-object`` / ``no-target``), ``type`` (the
release's, or ``null``), ``no_target``, ``missing`` (no line), ``dropped`` (no line under ``lmms-eval``: left out
of every mean), ``answered_empty`` (``null`` without a line), ``frames_scored`` (0 when dropped); then, for a
scored expression only, ``frames`` (the native frame indices scored, only when re-sampled), the per-expression
``J``, ``F``, ``JF``, ``J_recall``, ``J_decay``, ``F_recall``, ``F_decay`` (fractions; decay in [-1, 1]) and
the per-frame ``J_t``, ``F_t``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np

from pixbench.annotation.rle import Rle, area
from pixbench.benchmarks.mevis.protocols import Protocol, pick
from pixbench.benchmarks.mevis.rows import MevisRow
from pixbench.metrics.video import ExpressionScores, expression_scores
from pixbench.outcomes import RowUnits
from pixbench.results import ExpressionCounts, ResultShape, ScoreResult

if TYPE_CHECKING:
    from pixbench.prediction_records import Prediction

#: A MeViS result: named by its version (the probe), with breakdowns and notes.
MEVIS_SHAPE = ResultShape(groups=("probe",), labels=("probe",), sections=("breakdown", "analysis", "notes"),
                          keep_empty=False)
#: Stratum labels of the expressions.
TARGET, NO_TARGET = "target", "no-target"
#: The metrics over target expressions: name -> per-expression value (a fraction; decay in [-1, 1]).
TARGET_METRICS = ("J", "F", "JF", "J_recall", "J_decay", "F_recall", "F_decay")


@dataclass(frozen=True)
class Expression:
    """One expression's outcome: its per-frame scores, whether it had a line and whether the line was empty."""

    scores: ExpressionScores
    present: bool
    empty: bool

    @cached_property
    def values(self) -> dict[str, float]:
        """The per-expression values behind the metrics (fractions; decay in [-1, 1]; computed once)."""
        s = self.scores
        return {"J": s.mean_j, "F": s.mean_f, "JF": (s.mean_j + s.mean_f) / 2, "J_recall": s.recall_j,
                "J_decay": s.decay_j, "F_recall": s.recall_f, "F_decay": s.decay_f}


#: What :func:`score_expression` scores: a row, its line's masks (``None`` without a line) and the native frame
#: indices to score (``None``: every frame).
Task = tuple[MevisRow, Sequence[Rle | None] | None, tuple[int, ...] | None]


def score_expression(task: Task) -> Expression:
    """One expression (``task``: its row, its line's masks or ``None`` without a line, the frames scored).
    Whether a line is answered empty is judged on the frames scored."""
    row, frames, indices = task
    gts = pick(row.masks, indices)
    if frames is None:
        return Expression(ExpressionScores.missing_expression(len(gts)), present=False, empty=False)
    preds = pick(frames, indices)
    drawn = [frame for frame in preds if frame is not None]
    empty = not drawn or not np.any(area(drawn))
    return Expression(expression_scores(preds=preds, gts=gts), present=True, empty=bool(empty))


def score_expressions(tasks: Sequence[Task], *, workers: int = 1,
                      progress: bool = False) -> list[Expression]:
    """:func:`score_expression` of every task, in order (``workers`` processes when more than one)."""
    if workers > 1 and len(tasks) > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            return list(pool.map(score_expression, tasks, chunksize=max(1, len(tasks) // (4 * workers))))
    from tqdm import tqdm

    return [score_expression(task) for task in tqdm(tasks, desc="expressions", disable=not progress, leave=False)]


def _percent(values: np.ndarray) -> float | None:
    return float(np.mean(values) * 100.0) if values.size else None


def group_metrics(values: Mapping[str, np.ndarray], target: np.ndarray, present: np.ndarray, empty: np.ndarray,
                  *, no_target_rules: bool) -> dict[str, float | None]:
    """The metrics of a set of expressions (percent; ``None`` where the set has none of the kind a metric
    averages over): :data:`TARGET_METRICS` over the target ones and, with ``no_target_rules``, ``N_acc``,
    ``T_acc`` and ``JF_all``."""
    metrics = {name: _percent(values[name][target]) for name in TARGET_METRICS}
    if no_target_rules:
        metrics.update(N_acc=_percent((present & empty)[~target]), T_acc=_percent((present & ~empty)[target]),
                       JF_all=_percent(values["JF"]))
    return metrics


def _breakdown(rows: Sequence[MevisRow], values: Mapping[str, np.ndarray], target: np.ndarray, present: np.ndarray,
               empty: np.ndarray, no_target_rules: bool) -> dict[str, Any]:
    kinds = np.array([row.target for row in rows])
    groupings = {"target": kinds}
    types = [row.type for row in rows]
    if any(kind is not None for kind in types):
        groupings["type"] = np.array([kind if kind is not None else "(none)" for kind in types])
    breakdown: dict[str, Any] = {}
    for grouping, labels in groupings.items():
        breakdown[grouping] = {}
        for label in dict.fromkeys(labels.tolist()):  # first-seen order
            keep = labels == label
            breakdown[grouping][label] = {
                "expressions": int(keep.sum()), "missing": int((~present[keep]).sum()),
                **group_metrics({k: v[keep] for k, v in values.items()}, target[keep], present[keep], empty[keep],
                                no_target_rules=no_target_rules)}
    return breakdown


def _notes(version: str, rows: int, targets: int, no_target_rules: bool, protocol: Protocol,
           expressions: int) -> tuple[str, ...]:
    notes = [protocol.note(version, expressions=expressions, scored=rows)]
    if no_target_rules:
        notes.append(f"J&F, J, F, recall, decay: the {targets} target expressions; N-acc: the {rows - targets} "
                     "no-target ones answered empty in every frame; T-acc: targets answered with a mask; J&F all: "
                     f"all {rows} (GRES rule)")
    return tuple(notes)


def _record(model: str, benchmark: str, version: str, row: MevisRow, outcome: Expression | None,
            variant: str | None, protocol: Protocol) -> dict[str, Any]:
    """One ``--per-sample`` record (``outcome`` ``None``: the expression was dropped, see the module docstring)."""
    record: dict[str, Any] = {"model": model, "benchmark": benchmark, "id": row.id, "probe": version, "layout": None}
    if variant is not None:
        record["variant"] = variant
    record.update(protocol=protocol.name, video=row.video_id, exp_id=row.exp_id, expression=row.expression,
                  target=row.target, type=row.type, no_target=row.no_target,
                  missing=outcome is None or not outcome.present, dropped=outcome is None,
                  answered_empty=outcome.empty if outcome is not None and outcome.present else None,
                  frames_scored=0 if outcome is None else len(outcome.scores.j))
    if outcome is None:
        return record
    frames = protocol.frames(len(row.masks))
    if frames is not None:
        record["frames"] = list(frames)
    record.update({name: round(value, 6) for name, value in outcome.values.items()})
    record.update(J_t=[round(v, 6) for v in outcome.scores.j.tolist()],
                  F_t=[round(v, 6) for v in outcome.scores.f.tolist()])
    return record


def score_version(*, benchmark: str, model: str, version: str, rows: Mapping[str, MevisRow],
                  lines: Mapping[str, Prediction], variant: str | None = None, progress: bool = False,
                  workers: int = 1, protocol: Protocol | None = None) -> ScoreResult:
    """The result of one model's lines (``lines``: id -> line) on the rows of ``version``, under ``protocol``
    (default: official)."""
    protocol = protocol or Protocol("official")
    ids = [i for i in rows if i in lines] if protocol.drop_missing else list(rows)
    tasks = [(rows[i], lines[i].frames if i in lines else None, protocol.frames(len(rows[i].masks))) for i in ids]
    outcomes = score_expressions(tasks, workers=workers, progress=progress)
    ordered = [rows[i] for i in ids]
    scored = dict(zip(ids, outcomes))
    target = np.array([not row.no_target for row in ordered], dtype=bool)
    present = np.array([o.present for o in outcomes], dtype=bool)
    empty = np.array([o.empty for o in outcomes], dtype=bool)
    values = {name: np.array([o.values[name] for o in outcomes], dtype=np.float64) for name in TARGET_METRICS}
    no_target_rules = bool((~target).any())
    metrics = group_metrics(values, target, present, empty, no_target_rules=no_target_rules)
    units = RowUnits(benchmark=benchmark, ids=np.array(ids), mask_rows=np.ones(len(ids), dtype=bool), pair=None,
                     stratum=np.where(target, TARGET, NO_TARGET), answers={}, masks={},
                     values={**values, "empty": (present & empty).astype(np.float64),
                             "nonempty": (present & ~empty).astype(np.float64)}, covered=present)
    missing = int((~present).sum())
    frames = sum(len(o.scores.j) for o in outcomes)
    stamp = protocol.stamp(expressions=len(rows), scored=len(ids), missing=missing, frames=frames)
    return ScoreResult(
        model=model, benchmark=benchmark, select=None, metrics=metrics,
        counts=ExpressionCounts(expressions=len(ids), missing=missing),
        breakdown=_breakdown(ordered, values, target, present, empty, no_target_rules),
        analysis={"protocol": stamp},
        notes=_notes(version, len(ids), int(target.sum()), no_target_rules, protocol, len(rows)), variant=variant,
        probe=version, shape=MEVIS_SHAPE, units=units,
        per_sample=tuple(_record(model, benchmark, version, row, scored.get(row_id), variant, protocol)
                         for row_id, row in rows.items()))
