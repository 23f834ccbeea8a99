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
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

import numpy as np

from pixbench.annotation import rle as rle_ops
from pixbench.annotation.rle import RunsCache
from pixbench.ground_truth import Reference
from pixbench.metrics import accuracy, analysis, letters, masks
from pixbench.metrics.selection import SelectionError, select_mask
from pixbench.metrics.selection import oracle_choices as batched_oracle_choices
from pixbench.outcomes import MASK_METRIC, AnswerOutcome, Answers, MaskOutcome, MaskResults, RowUnits
from pixbench.results import PROTOCOL, Counts, LetterParser, ScoreResult, ScoreSettings

if TYPE_CHECKING:
    from pixbench.prediction_records import Prediction

logger = logging.getLogger(__name__)


class ScoringRules(Protocol):
    """What scoring asks of an image benchmark (:class:`pixbench.benchmarks.image.ImageBenchmark` is one):
    its probes, the rows that enter M, the reduction of per-row outcomes to its metrics and breakdowns,
    its analyses, and how its rows group for resampling."""

    probes: ClassVar[tuple[str, ...]]

    def mask_row_ids(self, reference: Reference, include_none: bool) -> list[int]: ...

    def metrics(self, answers: Answers, mask_results: MaskResults, reference: Reference,
                mask_ids: list[int]) -> tuple[dict[str, Any], dict[str, Any]]: ...

    def analyses(self, answers: Answers, mask_results: MaskResults, reference: Reference) -> dict[str, Any]: ...

    def row_groups(self, reference: Reference) -> tuple[np.ndarray | None, np.ndarray | None]: ...

_PARSERS: dict[str, Callable[[str, Sequence[str]], int | None]] = {
    "default": letters.parse_option_letter,
    "reference": letters.parse_option_letter_reference,
}


class ScoringError(ValueError):
    """Predictions that cannot be scored under the settings (e.g. candidates without a selection).

    ``messages`` has one entry per offending line, each naming its file, line and id.
    """

    def __init__(self, messages: Sequence[str]) -> None:
        self.messages = list(messages)
        super().__init__("\n".join(self.messages))


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
    from pixbench.judge import accuracy_messages, parse_yes_no

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


def oracle_choices(lines: Mapping[int, Prediction], reference: Reference,
                   runs: RunsCache | None = None) -> dict[int, tuple[int, int, int]]:
    """Oracle-best candidate of each line with candidates and a non-empty ground truth, in one batch
    (:func:`pixbench.metrics.selection.oracle_choices`): ``{row id: (candidate index, intersection, union)}``."""
    gt_areas = reference.gt_areas
    rows = [i for i, pred in lines.items() if pred.candidates and i in reference.rows and gt_areas[i] > 0]
    choices = batched_oracle_choices(candidates=[[c.mask for c in lines[i].candidates or ()] for i in rows],
                                     gts=[reference.rows[i].mask for i in rows], runs=runs)
    return {row_id: (c.index, c.intersection, c.union) for row_id, c in zip(rows, choices)}


def mask_outcomes(preds: Mapping[int, Prediction], reference: Reference, settings: ScoreSettings,
                  oracle: Mapping[int, tuple[int, int, int]] | None = None,
                  runs: RunsCache | None = None) -> dict[int, MaskOutcome]:
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
                                              else oracle_choices(oracle_lines, reference, runs)).items():
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
                                                    gts=[reference.rows[i].mask for i in ids], runs=runs)
    ious = masks.ious_from_counts(inters, unions)
    for k, row_id in enumerate(ids):
        row = reference.rows[row_id]
        area = int(unions[k]) - int(gt_areas[row_id]) + int(inters[k])
        out[row_id] = MaskOutcome(False, float(ious[k]), int(inters[k]), int(unions[k]),
                                  area / (row.height * row.width), chosen[row_id][1])
    return dict(sorted(out.items()))


# ------------------------------------------------------------------------------------ analyses


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
        from pixbench.judge import concept_messages, parse_concepts

        replies = judge.ask_many([concept_messages(p, r) for p, r in phrases], progress=progress)
        result["concept_histogram"] = analysis.concept_histogram(parse_concepts(r.text) for r in replies if r.ok)
        result["concept_errors"] = sum(not r.ok for r in replies)
    return result


# ------------------------------------------------------------------------------------------- entry


def group_by_probe(predictions: Sequence[Prediction]) -> dict[str, dict[int, Prediction]]:
    """``{probe: {id: prediction}}`` for the probes present."""
    grouped: dict[str, dict[int, Prediction]] = defaultdict(dict)
    for pred in predictions:
        grouped[pred.probe][int(pred.id)] = pred  # image benchmarks' ids are ints
    return dict(grouped)


def score_model(*, benchmark: ScoringRules, model: str, predictions: Sequence[Prediction], reference: Reference,
                settings: ScoreSettings, judge: Any | None = None, judge_note: str | None = None,
                progress: bool = False, variant: str | None = None, runs: RunsCache | None = None) -> ScoreResult:
    """Every metric, count, breakdown and analysis of one model on one benchmark, plus per-row records.

    ``predictions`` are this model's lines for ``reference.benchmark`` (ids already validated); ``runs``
    may hold their masks' decoded runs (from validation). ``benchmark`` decides the rows of M, the metrics,
    breakdowns and analyses. ``notes`` of the result say why a metric is null.
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
    undetermined = sum(1 for o in judged.values() if o.verdict == "undetermined") if judged else 0
    if judged and not judge_errors and undetermined == len(judged):
        notes.append(f"A_dagger not computed: all {undetermined} judge verdicts undetermined (the judge never "
                     "answered yes or no; check --judge-model and the judge cache)")
        judged = None
    answers = {"A": letter, "A_dagger": judged if not judge_errors or settings.allow_judge_errors else None}
    mask_results: dict[str, dict[int, MaskOutcome] | None] = {}
    oracle: dict[str, dict[int, tuple[int, int, int]]] = {}
    for probe in MASK_METRIC:
        lines = by_probe.get(probe)
        measured = lines is not None and (probe == "segment" or any(p.has_masks for p in lines.values()))
        if measured and lines is not None:
            oracle[probe] = oracle_choices(lines, reference, runs)
            mask_results[probe] = mask_outcomes(lines, reference, settings, oracle[probe], runs)
        else:
            mask_results[probe] = None
    mask_ids = benchmark.mask_row_ids(reference, settings.include_none)
    metrics, breakdown = benchmark.metrics(answers, mask_results, reference, mask_ids)
    metrics["S"] = accuracy.harmonic_score(accuracies=[metrics["A"], metrics["A_dagger"]],
                                           masks=[metrics["M"], metrics["M_dagger"]])
    counts = Counts(
        rows=len(reference.rows), mask_rows=len(mask_ids),
        missing={probe: (sum(1 for i in reference.rows if i not in by_probe[probe]) if probe in by_probe else None)
                 for probe in benchmark.probes},
        unparsed_letters=sum(1 for o in letter.values() if not o.missing and o.parsed is None) if letter else 0,
        judge_undetermined=undetermined,
        judge_errors=judge_errors)
    analyses = {**benchmark.analyses(answers, mask_results, reference),
                "emergence": emergence_analysis(by_probe, reference, judge, progress=progress, oracle=oracle)}
    return ScoreResult(
        model=model, benchmark=reference.benchmark, select=settings.select, metrics=metrics, counts=counts,
        breakdown=breakdown, analysis=analyses, judge_served_models=tuple(sorted(served)), notes=tuple(notes),
        variant=variant,
        per_sample=tuple(per_sample_records(model, reference, by_probe, letter, judged, mask_results, variant,
                                            probes=benchmark.probes)),
        units=row_units(benchmark, reference, settings, answers, mask_results, by_probe))


def row_units(benchmark: ScoringRules, reference: Reference, settings: ScoreSettings, answers: Answers,
              mask_results: MaskResults, by_probe: Mapping[str, Mapping[int, Prediction]]) -> RowUnits:
    """The per-row outcomes behind a result's metrics (for confidence intervals and comparisons)."""
    ids = list(reference.rows)
    mask_ids = set(benchmark.mask_row_ids(reference, settings.include_none))
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
    pair, stratum = benchmark.row_groups(reference)
    return RowUnits(benchmark=reference.benchmark, ids=np.array(ids, dtype=np.int64),
                    mask_rows=np.array([i in mask_ids for i in ids], dtype=bool), pair=pair, stratum=stratum,
                    answers=unit_answers, masks=unit_masks)


def per_sample_records(model: str, reference: Reference, by_probe: Mapping[str, Mapping[int, Prediction]],
                       letter: Mapping[int, AnswerOutcome] | None, judged: Mapping[int, AnswerOutcome] | None,
                       mask_results: MaskResults, variant: str | None = None,
                       probes: Sequence[str] = ("vqa", "segment", "letter")) -> list[dict[str, Any]]:
    """One record per (row, probe present in the file)."""
    records = []
    for row_id in reference.rows:
        for probe in probes:
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
            if variant is not None:
                record["variant"] = variant
            records.append(record)
    return records


__all__ = ["PROTOCOL", "LetterParser", "ScoreSettings", "ScoringError", "mask_outcomes", "oracle_choices",
           "score_model"]
