"""Scoring one model's predictions on one benchmark: every number of the paper's Table 1, and analyses.

The rules are the scoring contract (``metrics.md``) taken literally:

- **A** (``letter`` probe): option letters parsed without an LLM; **A†** (``vqa`` probe): the LLM judge's
  yes/no. PixMMVP reports pair accuracy (both rows of a pair right) over its pairs, and per-question
  accuracy beside it; PixCV-Bench reports the unweighted mean of the ADE20K and COCO accuracies.
- **M** (``segment`` probe mask) and **M†** (``vqa`` probe mask): mean per-row IoU (IoU = 1 when both
  masks are empty); PixMMVP over rows with an expression (``--include-none`` adds the 14 others),
  PixCV-Bench as the unweighted mean of the per-source mIoU. cIoU (summed intersections over summed
  unions) follows the same convention, under its own name.
- **S** = harmonic mean of max(A, A†) and max(M, M†) over the measured terms.
- A probe with no line in the file is *not measured* (its metrics are null). Rows of a measured probe
  without a line are *missing*: wrong answers and IoU 0 (never 1); for cIoU they add no intersection
  and the ground truth's area to the union. ``M†`` is measured only when some ``vqa`` line carries a
  ``mask`` or ``candidates``; a line of a measured mask probe without either gives the empty mask.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from pixbench.annotation import rle as rle_ops
from pixbench.metrics import accuracy, analysis, letters, masks
from pixbench.metrics.selection import DEFAULT_SCORE_THRESHOLD, SelectionError, SelectMode, select_mask
from pixbench.predictions import PROBES, Prediction
from pixbench.references import Reference

logger = logging.getLogger(__name__)

PROTOCOL = "pixfoundation-v1"
LetterParser = Literal["default", "reference"]
_PARSERS: dict[str, Callable[[str, Sequence[str]], int | None]] = {
    "default": letters.parse_option_letter,
    "reference": letters.parse_option_letter_reference,
}
#: Metric names of the probes that give masks.
MASK_METRIC = {"segment": "M", "vqa": "M_dagger"}


@dataclass(frozen=True)
class ScoreSettings:
    """The choices a score depends on (all reported with it)."""

    select: SelectMode = "given"
    score_threshold: float = DEFAULT_SCORE_THRESHOLD
    include_none: bool = False
    letter_parser: LetterParser = "default"
    allow_judge_errors: bool = False


class ScoringError(ValueError):
    """Predictions that cannot be scored under the settings (e.g. candidates without a selection).

    ``messages`` has one entry per offending line, each naming its file, line and id.
    """

    def __init__(self, messages: Sequence[str]) -> None:
        self.messages = list(messages)
        super().__init__("\n".join(self.messages))


@dataclass
class MaskOutcome:
    """One row's mask score for one probe."""

    missing: bool
    iou: float
    intersection: int
    union: int
    pred_fraction: float
    candidate: int | None = None


@dataclass
class AnswerOutcome:
    """One row's answer score for one probe."""

    missing: bool
    correct: bool
    parsed: str | None = None
    judge_reply: str | None = None
    verdict: str | None = None
    error: str | None = None


# ------------------------------------------------------------------------------------------ per row


def letter_outcomes(preds: Mapping[int, Prediction], reference: Reference,
                    parser: LetterParser) -> dict[int, AnswerOutcome]:
    """Parse each ``letter`` response; correct when the parsed option is the answer."""
    parse = _PARSERS[parser]
    out = {}
    for row_id, row in reference.rows.items():
        pred = preds.get(row_id)
        if pred is None:
            out[row_id] = AnswerOutcome(missing=True, correct=False)
            continue
        index = parse(pred.response or "", list(row.options))
        correct = index is not None and index == letters.answer_index(row.answer)
        out[row_id] = AnswerOutcome(missing=False, correct=correct,
                                    parsed=letters.option_letter(index) if index is not None else None)
    return out


def judge_outcomes(preds: Mapping[int, Prediction], reference: Reference, judge: Any,
                   *, progress: bool = False) -> tuple[dict[int, AnswerOutcome], set[str]]:
    """Ask the judge about every ``vqa`` response; return outcomes and the model names it served."""
    from pixbench.metrics.judge import accuracy_messages, parse_yes_no

    asked = [row_id for row_id in reference.rows if row_id in preds]
    requests = [accuracy_messages(question=reference.rows[i].question, options_text=reference.rows[i].options_text,
                                  answer=reference.rows[i].answer, response=preds[i].response or "")
                for i in asked]
    results = judge.ask_many(requests, progress=progress) if requests else []
    served = {r.served_model for r in results if r.ok and r.served_model}
    out = {row_id: AnswerOutcome(missing=True, correct=False) for row_id in reference.rows}
    for row_id, result in zip(asked, results):
        if not result.ok:
            out[row_id] = AnswerOutcome(missing=False, correct=False, error=result.error)
            continue
        verdict = parse_yes_no(result.text)
        out[row_id] = AnswerOutcome(missing=False, correct=verdict == "yes", judge_reply=result.text, verdict=verdict)
    return out, served


def oracle_choices(lines: Mapping[int, Prediction], reference: Reference) -> dict[int, tuple[int, int, int]]:
    """Oracle-best candidate of each line with candidates and a non-empty ground truth, in one batch.

    Returns ``{row id: (candidate index, intersection, union)}``; ties go to the later candidate, as in
    :func:`pixbench.metrics.selection.select_mask`, whose per-line form this batches for speed.
    """
    gt_areas = reference.gt_areas
    rows = [i for i, pred in lines.items() if pred.candidates and i in reference.rows and gt_areas[i] > 0]
    preds = [c.mask for i in rows for c in lines[i].candidates or ()]
    gts = [reference.rows[i].mask for i in rows for _ in lines[i].candidates or ()]
    inters, unions = masks.intersections_and_unions(preds=preds, gts=gts)
    ious = masks.ious_from_counts(inters, unions)
    sizes = np.array([len(lines[i].candidates or ()) for i in rows], dtype=np.int64)
    starts = np.concatenate(([0], np.cumsum(sizes)[:-1])).astype(np.int64)
    choices = {}
    if rows:
        best = np.maximum.reduceat(ious, starts)
        position = np.arange(ious.size)
        segment = np.repeat(np.arange(len(rows)), sizes)
        last_best = np.maximum.reduceat(np.where(ious == best[segment], position, -1), starts)
        for k, row_id in enumerate(rows):
            j = int(last_best[k])
            choices[row_id] = (j - int(starts[k]), int(inters[j]), int(unions[j]))
    return choices


def mask_outcomes(preds: Mapping[int, Prediction], reference: Reference, settings: ScoreSettings,
                  oracle: Mapping[int, tuple[int, int, int]] | None = None) -> dict[int, MaskOutcome]:
    """Choose each row's mask under the selection mode and score it against the ground truth (on RLE).

    ``oracle`` may pass :func:`oracle_choices` of ``preds`` when already computed.
    """
    gt_areas = reference.gt_areas
    out = {row_id: MaskOutcome(True, 0.0, 0, int(gt_areas[row_id]), 0.0)
           for row_id in reference.rows if row_id not in preds}
    oracle_lines = {}
    if settings.select == "oracle":
        oracle_lines = {i: p for i, p in preds.items()
                        if i in reference.rows and p.has_masks and p.candidates and gt_areas[i] > 0}
        for row_id, (index, inter, union) in (oracle if oracle is not None
                                              else oracle_choices(oracle_lines, reference)).items():
            row = reference.rows[row_id]
            chosen_area = union - int(gt_areas[row_id]) + inter
            out[row_id] = MaskOutcome(False, inter / union if union else 1.0, inter, union,
                                      chosen_area / (row.height * row.width), index)
    chosen: dict[int, tuple[rle_ops.Rle, int | None]] = {}
    failures: list[str] = []
    for row_id, row in reference.rows.items():
        pred = preds.get(row_id)
        if pred is None or row_id in oracle_lines:
            continue  # a line without a mask field or candidates gives the empty mask below
        try:
            selection = select_mask(
                mode=settings.select, gt=row.mask, mask=pred.mask if pred.has_mask else None,
                candidates=[c.mask for c in pred.candidates] if pred.candidates is not None else None,
                scores=[c.score for c in pred.candidates] if pred.candidates is not None else None,
                selected=pred.selected, score_threshold=settings.score_threshold)
        except SelectionError as exc:
            failures.append(f"{pred.where}: {exc}")
            continue
        chosen[row_id] = (selection.mask, selection.index)
    if failures:
        raise ScoringError(failures)
    ids = list(chosen)
    inters, unions = masks.intersections_and_unions(preds=[chosen[i][0] for i in ids],
                                                    gts=[reference.rows[i].mask for i in ids])
    ious = masks.ious_from_counts(inters, unions)
    for k, row_id in enumerate(ids):
        row = reference.rows[row_id]
        area = int(unions[k]) - int(gt_areas[row_id]) + int(inters[k])
        out[row_id] = MaskOutcome(False, float(ious[k]), int(inters[k]), int(unions[k]),
                                  area / (row.height * row.width), chosen[row_id][1])
    return dict(sorted(out.items()))


# ------------------------------------------------------------------------------------ aggregation


def _mean_iou(outcomes: Mapping[int, MaskOutcome], ids: Sequence[int]) -> float | None:
    return masks.miou([outcomes[i].iou for i in ids]) if ids else None


def _ciou(outcomes: Mapping[int, MaskOutcome], ids: Sequence[int]) -> float | None:
    if not ids:
        return None
    return masks.ciou([outcomes[i].intersection for i in ids], [outcomes[i].union for i in ids])


def mask_row_ids(reference: Reference, include_none: bool) -> list[int]:
    """Rows that enter M: PixMMVP rows with an expression (all with ``include_none``); all PixCV-Bench rows."""
    return [i for i, row in reference.rows.items() if include_none or row.expression is not None]


def _pixmmvp_metrics(answers: Mapping[str, Mapping[int, AnswerOutcome] | None],
                     mask_results: Mapping[str, Mapping[int, MaskOutcome] | None],
                     reference: Reference, mask_ids: list[int]) -> tuple[dict[str, Any], dict[str, Any]]:
    n_pairs = reference.n_pairs
    metrics: dict[str, Any] = {}
    for name, outcomes in answers.items():
        correct = {i: o.correct for i, o in outcomes.items()} if outcomes is not None else None
        metrics[name] = accuracy.pair_accuracy(correct, n_pairs=n_pairs) if correct is not None else None
        metrics[f"{name}_per_question"] = (accuracy.per_question_accuracy(correct, reference.rows)
                                           if correct is not None else None)
    for probe, metric in MASK_METRIC.items():
        scored = mask_results.get(probe)
        metrics[metric] = _mean_iou(scored, mask_ids) if scored is not None else None
        metrics["cIoU" if probe == "segment" else "cIoU_dagger"] = _ciou(scored, mask_ids) if scored else None
    pattern_of_pair = {int(row.pair_id or 0): row.pattern for row in reference.rows.values() if row.id % 2 == 1}
    by_pattern: dict[str, dict[str, Any]] = {}
    for pattern in sorted({p for p in pattern_of_pair.values() if p is not None}):
        pairs = [k for k, p in pattern_of_pair.items() if p == pattern]
        entry: dict[str, Any] = {}
        for name, outcomes in answers.items():
            entry[name] = (accuracy.pair_accuracy({i: o.correct for i, o in outcomes.items()}, n_pairs=n_pairs,
                                                  pairs=pairs) if outcomes is not None else None)
        ids = [i for i in mask_ids if reference.rows[i].pair_id in pairs]
        for probe, metric in MASK_METRIC.items():
            scored = mask_results.get(probe)
            entry[metric] = _mean_iou(scored, ids) if scored is not None and ids else None
        entry["pairs"] = len(pairs)
        by_pattern[pattern] = entry
    return metrics, {"pattern": by_pattern}


def _group_metrics(answers: Mapping[str, Mapping[int, AnswerOutcome] | None],
                   mask_results: Mapping[str, Mapping[int, MaskOutcome] | None], ids: list[int]) -> dict[str, Any]:
    entry: dict[str, Any] = {"rows": len(ids)}
    for name, outcomes in answers.items():
        entry[name] = (accuracy.per_question_accuracy({i: o.correct for i, o in outcomes.items()}, ids)
                       if outcomes is not None and ids else None)
    for probe, metric in MASK_METRIC.items():
        scored = mask_results.get(probe)
        entry[metric] = _mean_iou(scored, ids) if scored is not None else None
        entry["cIoU" if probe == "segment" else "cIoU_dagger"] = _ciou(scored, ids) if scored else None
    return entry


def _pixcvbench_metrics(answers: Mapping[str, Mapping[int, AnswerOutcome] | None],
                        mask_results: Mapping[str, Mapping[int, MaskOutcome] | None],
                        reference: Reference) -> tuple[dict[str, Any], dict[str, Any]]:
    rows = reference.rows.values()
    sources = sorted({row.source for row in rows if row.source})
    tasks = sorted({row.task for row in rows if row.task})
    by_source = {s: _group_metrics(answers, mask_results, [r.id for r in rows if r.source == s]) for s in sources}
    by_task = {t: _group_metrics(answers, mask_results, [r.id for r in rows if r.task == t]) for t in tasks}
    by_source_task = {f"{s}/{t}": _group_metrics(answers, mask_results,
                                                 [r.id for r in rows if r.source == s and r.task == t])
                      for s in sources for t in tasks}
    pooled = _group_metrics(answers, mask_results, list(reference.rows))
    metrics: dict[str, Any] = {}
    for name in ("A", "A_dagger", "M", "M_dagger", "cIoU", "cIoU_dagger"):
        values = {s: by_source[s][name] for s in sources}
        metrics[name] = (accuracy.source_mean(values)
                         if values and all(v is not None for v in values.values()) else None)
    breakdown = {"source": by_source, "task": by_task, "source_task": by_source_task, "pooled": pooled}
    return metrics, breakdown


# -------------------------------------------------------------------------------------- analyses


def failure_analysis(answers: Mapping[str, Mapping[int, AnswerOutcome] | None],
                     mask_results: Mapping[str, Mapping[int, MaskOutcome] | None],
                     reference: Reference) -> dict[str, Any] | None:
    """PixMMVP failure modes per pair: VQA from the letter probe (else the judge), grounding from the
    segment probe mask (else the vqa mask). ``None`` when either side was not measured."""
    vqa_name = "A" if answers.get("A") is not None else "A_dagger"
    vqa = answers.get(vqa_name)
    mask_probe = "segment" if mask_results.get("segment") is not None else "vqa"
    grounding = mask_results.get(mask_probe)
    if vqa is None or grounding is None:
        return None
    gt_areas = reference.gt_areas
    modes = analysis.failure_modes(
        vqa_correct={i: o.correct for i, o in vqa.items()},
        ious={i: o.iou for i, o in grounding.items()},
        gt_empty={i: bool(gt_areas[i] == 0) for i in reference.rows},
        pred_area_fraction={i: o.pred_fraction for i, o in grounding.items() if not o.missing},
        n_pairs=reference.n_pairs)
    return {**modes.as_dict(), "vqa_from": vqa_name, "grounding_from": MASK_METRIC[mask_probe]}


def emergence_analysis(preds_by_probe: Mapping[str, Mapping[int, Prediction]], reference: Reference,
                       judge: Any | None, *, progress: bool = False,
                       oracle: Mapping[str, Mapping[int, tuple[int, int, int]]] | None = None) -> dict[str, Any] | None:
    """Where in the answer the oracle-best candidate's phrase starts, and what kind of concept it is.

    Uses ``vqa`` lines with candidates (else ``segment`` ones); rows with an expression and a non-empty
    ground truth only. The concept histogram needs the judge; without one it is null.
    """
    probe = next((p for p in ("vqa", "segment")
                  if any(pred.candidates for pred in preds_by_probe.get(p, {}).values())), None)
    if probe is None:
        return None
    lines = preds_by_probe[probe]
    best = (oracle or {}).get(probe)
    if best is None:
        best = oracle_choices(lines, reference)
    locations, phrases = [], []
    for row_id, (index, _, _) in sorted(best.items()):
        pred = lines[row_id]
        if reference.rows[row_id].expression is None:
            continue
        candidate = (pred.candidates or ())[index]
        if candidate.char_start is None or not pred.response:
            continue
        locations.append(analysis.emergence_location(candidate.char_start, len(pred.response)))
        if candidate.phrase:
            phrases.append((candidate.phrase, pred.response))
    result: dict[str, Any] = {"probe": probe, "rows": len(locations),
                              "location_histogram": analysis.location_histogram(locations),
                              "location_bins": [f"[{10 * k},{10 * k + 10})" for k in range(9)] + ["[90,100]"],
                              "concept_histogram": None}
    if judge is not None and phrases:
        from pixbench.metrics.judge import concept_messages, parse_concepts

        replies = judge.ask_many([concept_messages(p, r) for p, r in phrases], progress=progress)
        result["concept_histogram"] = analysis.concept_histogram(parse_concepts(r.text) for r in replies if r.ok)
        result["concept_errors"] = sum(not r.ok for r in replies)
    return result


# ------------------------------------------------------------------------------------------- entry


def group_by_probe(predictions: Sequence[Prediction]) -> dict[str, dict[int, Prediction]]:
    """``{probe: {id: prediction}}`` for the probes present."""
    grouped: dict[str, dict[int, Prediction]] = defaultdict(dict)
    for pred in predictions:
        grouped[pred.probe][pred.id] = pred
    return dict(grouped)


def score_model(*, model: str, predictions: Sequence[Prediction], reference: Reference,
                settings: ScoreSettings, judge: Any | None = None, judge_note: str | None = None,
                progress: bool = False) -> dict[str, Any]:
    """Every metric, count, breakdown and analysis of one model on one benchmark, plus per-row records.

    ``predictions`` are this model's lines for ``reference.benchmark`` (ids already validated). The
    result's ``per_sample`` holds one record per (row, measured probe); ``notes`` says why a metric is null.
    """
    by_probe = group_by_probe(predictions)
    notes: list[str] = []
    letter = letter_outcomes(by_probe["letter"], reference, settings.letter_parser) if "letter" in by_probe else None
    judged: dict[int, AnswerOutcome] | None = None
    served: set[str] = set()
    if "vqa" in by_probe:
        if judge is None:
            notes.append(f"A_dagger not computed: {judge_note or 'no judge'}")
        else:
            judged, served = judge_outcomes(by_probe["vqa"], reference, judge, progress=progress)
    judge_errors = sum(o.error is not None for o in judged.values()) if judged else 0
    if judge_errors and not settings.allow_judge_errors:
        notes.append(f"A_dagger not reported: {judge_errors} judge error(s) (rerun, or --allow-judge-errors to "
                     "score them as wrong)")
    answers = {"A": letter, "A_dagger": judged if not judge_errors or settings.allow_judge_errors else None}
    mask_results: dict[str, dict[int, MaskOutcome] | None] = {}
    oracle: dict[str, dict[int, tuple[int, int, int]]] = {}
    for probe in MASK_METRIC:
        lines = by_probe.get(probe)
        measured = lines is not None and (probe == "segment" or any(p.has_masks for p in lines.values()))
        if measured and lines is not None:
            oracle[probe] = oracle_choices(lines, reference)
            mask_results[probe] = mask_outcomes(lines, reference, settings, oracle[probe])
        else:
            mask_results[probe] = None
    mask_ids = mask_row_ids(reference, settings.include_none)
    if reference.benchmark == "pixmmvp":
        metrics, breakdown = _pixmmvp_metrics(answers, mask_results, reference, mask_ids)
    else:
        metrics, breakdown = _pixcvbench_metrics(answers, mask_results, reference)
    metrics["S"] = accuracy.harmonic_score(accuracies=[metrics["A"], metrics["A_dagger"]],
                                           masks=[metrics["M"], metrics["M_dagger"]])
    counts = {
        "rows": len(reference.rows), "mask_rows": len(mask_ids),
        "missing": {probe: (sum(1 for i in reference.rows if i not in by_probe[probe]) if probe in by_probe else None)
                    for probe in PROBES},
        "unparsed_letters": sum(1 for o in letter.values() if not o.missing and o.parsed is None) if letter else 0,
        "judge_undetermined": sum(1 for o in judged.values() if o.verdict == "undetermined") if judged else 0,
        "judge_errors": judge_errors,
    }
    result: dict[str, Any] = {"model": model, "benchmark": reference.benchmark, "select": settings.select,
                              "metrics": metrics, "counts": counts, "breakdown": breakdown,
                              "judge_served_models": sorted(served), "notes": notes}
    analyses: dict[str, Any] = {}
    if reference.benchmark == "pixmmvp":
        analyses["failure_modes"] = failure_analysis(answers, mask_results, reference)
    analyses["emergence"] = emergence_analysis(by_probe, reference, judge, progress=progress, oracle=oracle)
    result["analysis"] = analyses
    result["per_sample"] = per_sample_records(model, reference, by_probe, letter, judged, mask_results)
    result["units"] = row_units(reference, settings, answers, mask_results, by_probe)
    return result


@dataclass
class RowUnits:
    """Per-row outcomes of one result, aligned with ``ids`` (the reference's row order), for resampling.

    ``answers[name]`` (``A``, ``A_dagger``) holds (correct, covered) boolean arrays; ``masks[metric]``
    (``M``, ``M_dagger``) holds (iou, intersection, union, covered) arrays. ``covered`` is False where the
    file has no line for the row (the row is then scored as missing). ``mask_rows`` marks the rows that
    enter M; ``pair`` (PixMMVP) and ``source`` (PixCV-Bench) say how rows group.
    """

    benchmark: str
    ids: np.ndarray
    mask_rows: np.ndarray
    pair: np.ndarray | None
    source: np.ndarray | None
    answers: dict[str, tuple[np.ndarray, np.ndarray]]
    masks: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]


def row_units(reference: Reference, settings: ScoreSettings,
              answers: Mapping[str, Mapping[int, AnswerOutcome] | None],
              mask_results: Mapping[str, Mapping[int, MaskOutcome] | None],
              by_probe: Mapping[str, Mapping[int, Prediction]]) -> RowUnits:
    """The per-row outcomes behind a result's metrics (for confidence intervals and comparisons)."""
    ids = list(reference.rows)
    mask_ids = set(mask_row_ids(reference, settings.include_none))
    rows = reference.rows.values()
    unit_answers = {}
    for name, outcomes in answers.items():
        if outcomes is not None:
            unit_answers[name] = (np.array([outcomes[i].correct for i in ids], dtype=bool),
                                  np.array([not outcomes[i].missing for i in ids], dtype=bool))
    unit_masks = {}
    for probe, metric in MASK_METRIC.items():
        scored = mask_results.get(probe)
        if scored is not None:
            unit_masks[metric] = (np.array([scored[i].iou for i in ids], dtype=np.float64),
                                  np.array([scored[i].intersection for i in ids], dtype=np.int64),
                                  np.array([scored[i].union for i in ids], dtype=np.int64),
                                  np.array([i in by_probe.get(probe, {}) for i in ids], dtype=bool))
    return RowUnits(
        benchmark=reference.benchmark, ids=np.array(ids, dtype=np.int64),
        mask_rows=np.array([i in mask_ids for i in ids], dtype=bool),
        pair=np.array([row.pair_id for row in rows], dtype=np.int64) if reference.benchmark == "pixmmvp" else None,
        source=np.array([row.source for row in rows]) if reference.benchmark == "pixcvbench" else None,
        answers=unit_answers, masks=unit_masks)


def per_sample_records(model: str, reference: Reference, by_probe: Mapping[str, Mapping[int, Prediction]],
                       letter: Mapping[int, AnswerOutcome] | None, judged: Mapping[int, AnswerOutcome] | None,
                       mask_results: Mapping[str, Mapping[int, MaskOutcome] | None]) -> list[dict[str, Any]]:
    """One record per (row, probe present in the file)."""
    records = []
    for row_id in reference.rows:
        for probe in PROBES:
            if probe not in by_probe:
                continue
            record: dict[str, Any] = {"model": model, "benchmark": reference.benchmark, "id": row_id,
                                      "probe": probe, "missing": row_id not in by_probe[probe]}
            answer = letter if probe == "letter" else judged if probe == "vqa" else None
            if answer is not None:
                outcome = answer[row_id]
                record["correct"] = outcome.correct
                if probe == "letter":
                    record["parsed_letter"] = outcome.parsed
                else:
                    record.update(judge_reply=outcome.judge_reply, verdict=outcome.verdict, judge_error=outcome.error)
            mask_outcome = (mask_results.get(probe) or {}).get(row_id)
            if mask_outcome is not None:
                record.update(candidate=mask_outcome.candidate, iou=round(mask_outcome.iou, 6))
            records.append(record)
    return records


def numbers_only(values: Mapping[str, Any], digits: int = 6) -> dict[str, Any]:
    """Round floats (recursively) for JSON output."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, float):
            out[key] = round(value, digits)
        elif isinstance(value, (np.floating,)):
            out[key] = round(float(value), digits)
        elif isinstance(value, Mapping):
            out[key] = numbers_only(value, digits)
        else:
            out[key] = value
    return out
