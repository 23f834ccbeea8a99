"""PixMMVP: the 300 MMVP questions (150 pairs of images that CLIP sees alike), each with a referring
expression and a mask.

- **Accuracy** counts pairs: a pair is right when both of its questions are (``A``, ``A_dagger``), over
  the 150 pairs; per-question accuracy over the 300 rows is reported beside it.
- **mIoU** covers the 286 rows with an expression (``--include-none``: all 300).
- **Breakdowns**: MMVP's nine visual patterns (pairs and mask rows of each).
- **Analyses**: failure modes per pair (both succeed, VQA-only, grounding-only, both fail).
- **Resampling**: pairs for pair accuracy, rows for per-question accuracy, mask rows for M and cIoU.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Mapping
from functools import partial
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from pixbench.benchmarks.base import BuilderSpec, BuildOption
from pixbench.benchmarks.harnesses import Harnesses, LmmsDoc, LmmsEval, LmmsMetric, ReferenceScripts, VlmEvalKit
from pixbench.benchmarks.image import ImageBenchmark
from pixbench.ground_truth import NULLABLE_COLUMNS, Reference, ReferenceRow, common_row_fields
from pixbench.metrics import accuracy, analysis, stats
from pixbench.outcomes import (
    ACCURACIES,
    CUMULATIVE_METRIC,
    MASK_METRIC,
    Answers,
    MaskResults,
    Plan,
    RowUnits,
    cumulative_iou,
    mean_iou,
    pairs_correct,
)

#: The file a build writes its summary to (see :mod:`pixbench.builds.layout`).
_BUILD_SUMMARY = "build_summary.json"

_IMAGE_ONLY_MMVP = ("lmms-eval's mmvp task on the image-only MMVP/MMVP dataset logs no Index: run it on "
                    "lmms-lab-eval/MMVP")
#: lmms-eval's mmvp task: process_results logs Index - 1 as ``index`` (and -1 for a doc without an Index).
_MMVP_METRIC = LmmsMetric("mmvp_accuracy", "index", id_offset=1,
                          negative_id=f"the doc had no Index ({_IMAGE_ONLY_MMVP})")
#: How the other tools name PixMMVP's rows (MMVP's questions): the reference scripts' answers files write
#: question_id = row index + 1; VLMEvalKit's MMVP ``index`` counts from 0 (its pair 98/99 is MMVP's 99/100,
#: lmms-eval issue #1018); lmms-eval's legacy docs are lmms-lab-eval/MMVP rows (``Index`` 1..300, the row id).
HARNESSES = Harnesses(
    reference_scripts=ReferenceScripts(answers_id_base=1),
    vlmevalkit=VlmEvalKit(id_base=0, priority=1, name_words=("mmvp",)),
    lmms_eval=LmmsEval(
        dataset="MMVP",
        metrics=(_MMVP_METRIC, dataclasses.replace(_MMVP_METRIC, key="mmvp_pair_accuracy")),
        docs=(LmmsDoc("Index", ("Question", "question"), priority=1),
              LmmsDoc("index", ("Question", "question"), priority=2)),
        missing_id=_IMAGE_ONLY_MMVP))


class PixMMVP(ImageBenchmark):
    name: ClassVar[str] = "pixmmvp"
    display_name: ClassVar[str] = "PixMMVP"
    hub_id: ClassVar[str] = "IVUlab/PixMMVP"
    published_source: ClassVar[str | None] = "PixFoundation (arXiv 2502.04192, ICML 2025), Table 1"
    builder: ClassVar[BuilderSpec] = BuilderSpec(
        "pixbench.benchmarks.pixmmvp.build",
        inputs={"mmvp_dir": ("mmvp", "path"), "corrections": ("mmvp_corrections", "flag")},
        options=(BuildOption(("--mmvp",), "pixmmvp: MMVP release folder ('MMVP Images/', 'Questions.csv')",
                             metavar="MMVP_DIR"),
                 BuildOption(("--mmvp-corrections",), "pixmmvp: swap the known wrong labels of pairs 99/100 and "
                                                      "279/280", action="store_true")))
    ids: ClassVar[range] = range(1, 301)
    reference_columns: ClassVar[tuple[str, ...]] = (
        "id", "pair_id", "height", "width", "question", "options", "options_text", "answer", "pattern",
        "expression", "has_object", "mask")
    nullable_columns: ClassVar[frozenset[str]] = NULLABLE_COLUMNS | {"pattern", "has_object"}
    harnesses: ClassVar[Harnesses] = HARNESSES

    def reference_row(self, values: Mapping[str, Any]) -> ReferenceRow:
        """Groups: ``pair_id`` (rows 2k-1 and 2k form pair k) and ``pattern`` (MMVP's visual pattern)."""
        return ReferenceRow(**common_row_fields(values, nullable=self.nullable_columns),
                            options_text=values["options_text"],
                            groups={"pair_id": int(values["pair_id"]), "pattern": values["pattern"]})

    label_set_title: ClassVar[str] = "MMVP labels"

    def label_set(self, folder: Path) -> str | None:
        """The MMVP label set of a build (published labels, or with the pairs 99/100 and 279/280 corrected),
        from its build summary, else its card; ``ValueError`` naming the file when that is unreadable."""
        summary = folder / _BUILD_SUMMARY
        if summary.is_file():
            try:
                data = json.loads(summary.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise ValueError(f"{summary}: unreadable build summary ({type(exc).__name__}: {exc}); rebuild "
                                 "the folder with `pixbench build`") from None
            if not isinstance(data, dict):
                raise ValueError(f"{summary}: expected a JSON object (a pixbench build summary), "
                                 f"but got {type(data).__name__}")
            value = data.get("label_set")
            return str(value) if value is not None else None
        card = folder / "README.md"
        if card.is_file():
            try:
                text = card.read_text(encoding="utf-8")
            except (OSError, ValueError) as exc:
                raise ValueError(f"{card}: unreadable dataset card ({type(exc).__name__}: {exc})") from None
            match = re.search(r"Label set of this build: \*\*(.+?)\*\*", text)
            if match:
                return match.group(1)
        return None

    def mask_row_ids(self, reference: Reference, include_none: bool) -> list[int]:
        """Rows with an expression (all rows with ``include_none``)."""
        return [i for i, row in reference.rows.items() if include_none or row.expression is not None]

    def metrics(self, answers: Answers, mask_results: MaskResults, reference: Reference,
                mask_ids: list[int]) -> tuple[dict[str, Any], dict[str, Any]]:
        n_pairs = _n_pairs(reference)
        metrics: dict[str, Any] = {}
        for name, outcomes in answers.items():
            correct = {i: o.correct for i, o in outcomes.items()} if outcomes is not None else None
            metrics[name] = accuracy.pair_accuracy(correct, n_pairs=n_pairs) if correct is not None else None
            metrics[f"{name}_per_question"] = (accuracy.per_question_accuracy(correct, reference.rows)
                                               if correct is not None else None)
        for probe, metric in MASK_METRIC.items():
            scored = mask_results.get(probe)
            metrics[metric] = mean_iou(scored, mask_ids) if scored is not None else None
            metrics[CUMULATIVE_METRIC[metric]] = cumulative_iou(scored, mask_ids)
        pattern_of_pair = {int(row.groups["pair_id"]): row.groups["pattern"]
                           for row in reference.rows.values() if row.id % 2 == 1}
        by_pattern: dict[str, dict[str, Any]] = {}
        for pattern in sorted({p for p in pattern_of_pair.values() if p is not None}):
            pairs = [k for k, p in pattern_of_pair.items() if p == pattern]
            entry: dict[str, Any] = {}
            for name, outcomes in answers.items():
                entry[name] = (accuracy.pair_accuracy({i: o.correct for i, o in outcomes.items()}, n_pairs=n_pairs,
                                                      pairs=pairs) if outcomes is not None else None)
            ids = [i for i in mask_ids if reference.rows[i].groups["pair_id"] in pairs]
            for probe, metric in MASK_METRIC.items():
                scored = mask_results.get(probe)
                entry[metric] = mean_iou(scored, ids) if scored is not None and ids else None
            entry["pairs"] = len(pairs)
            by_pattern[pattern] = entry
        return metrics, {"pattern": by_pattern}

    def analyses(self, answers: Answers, mask_results: MaskResults, reference: Reference) -> dict[str, Any]:
        return {"failure_modes": failure_analysis(answers, mask_results, reference)}

    def row_groups(self, reference: Reference) -> tuple[np.ndarray | None, np.ndarray | None]:
        return np.array([row.groups["pair_id"] for row in reference.rows.values()], dtype=np.int64), None

    def resampling_plans(self, units: RowUnits, rows: np.ndarray, keep_pairs: np.ndarray | None) -> dict[str, Plan]:
        result: dict[str, Plan] = {}
        for name in ACCURACIES:
            if name not in units.answers:
                continue
            correct = units.answers[name][0]
            pairs = pairs_correct(units, correct)
            if keep_pairs is not None:
                pairs = pairs[keep_pairs]
            result[name] = Plan("pairs", pairs.size, partial(stats.weighted_mean, values=pairs), pairs)
            per_row = correct[rows]
            result[f"{name}_per_question"] = Plan("rows", per_row.size,
                                                  partial(stats.weighted_mean, values=per_row), per_row)
        mask_rows = units.mask_rows & rows
        for metric, cumulative in CUMULATIVE_METRIC.items():
            if metric not in units.masks:
                continue
            iou, inter, union, _ = (a[mask_rows] for a in units.masks[metric])
            result[metric] = Plan("mask_rows", iou.size, partial(stats.weighted_mean, values=iou))
            result[cumulative] = Plan("mask_rows", iou.size,
                                      partial(stats.weighted_ratio, numerators=inter, denominators=union))
        return result

    def comparable_pairs(self, units: RowUnits, covered: np.ndarray) -> np.ndarray | None:
        """Pairs whose two rows both files cover."""
        return pairs_correct(units, covered)


def failure_analysis(answers: Answers, mask_results: MaskResults, reference: Reference) -> dict[str, Any] | None:
    """Failure modes per pair: VQA from the letter probe (else the judge), grounding from the segment
    probe's masks (else the vqa masks). ``None`` when either side was not measured."""
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
        n_pairs=_n_pairs(reference))
    return {**modes.as_dict(), "vqa_from": vqa_name, "grounding_from": MASK_METRIC[mask_probe]}


def _n_pairs(reference: Reference) -> int:
    """How many pairs the rows form (rows 2k-1 and 2k form pair k)."""
    return len(reference.rows) // 2


PIXMMVP = PixMMVP()
