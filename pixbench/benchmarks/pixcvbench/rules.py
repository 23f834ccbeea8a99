"""PixCV-Bench: CV-Bench's 1,438 2D questions (ADE20K and COCO images; Count and Relation tasks) with
the named objects' masks.

- **Every metric** is the unweighted mean of its ADE20K and COCO values (as CV-Bench reports accuracy).
- **Breakdowns**: per source, task, source/task, and pooled over all rows.
- **Resampling**: rows, stratified by source (each resample keeps both sources' sizes).
- **Prompts**: CV-Bench's own ``prompt`` (``{question} Select from the following choices.`` then one ``(A) x``
  line per option; rebuilt so for a row without one); the options line of question templates is
  ``(A) x (B) y``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from pixbench.benchmarks.base import BuilderSpec, BuildOption
from pixbench.benchmarks.harnesses import (
    Harnesses,
    LmmsDoc,
    LmmsEval,
    LmmsMetric,
    ReferenceScripts,
    SkippedRows,
    VlmEvalKit,
)
from pixbench.benchmarks.image import ImageBenchmark
from pixbench.ground_truth import NULLABLE_COLUMNS, Reference, ReferenceRow, common_row_fields
from pixbench.metrics import accuracy, stats
from pixbench.metrics.letters import lettered_options
from pixbench.outcomes import ACCURACIES, CUMULATIVE_METRIC, Answers, MaskResults, Plan, RowUnits, group_metrics

if TYPE_CHECKING:
    from pixbench.prompts import Row

#: What CV-Bench's prompts put between the question and the option lines.
CHOICES_LEAD = "Select from the following choices."
#: CV-Bench's 3D questions (``type`` 3D, their images from Omni3D) are in the other tools' CV-Bench files but not in
#: PixCV-Bench: their rows are skipped and listed, not errors. lmms-eval's cv_bench tasks keep CV-Bench's ``type`` and
#: ``source`` (in the doc, or the metric dict).
CVBENCH_3D = SkippedRows("cvbench-3d", "a CV-Bench 3D row (PixCV-Bench holds the 2D questions only)",
                         "CV-Bench 3D, not in PixCV-Bench", {"type": ("3D",), "source": ("Omni3D",)})
#: VLMEvalKit calls CV-Bench's ``type`` ``split``; a file without ``split`` and ``source`` is all 3D when its name
#: says so (``{model}_CV-Bench-3D.xlsx``).
VLMEVALKIT_CVBENCH_3D = dataclasses.replace(CVBENCH_3D, values={"split": ("3D",), "source": ("Omni3D",)},
                                            name_words=("3d",))
#: How the other tools name PixCV-Bench's rows (CV-Bench's 2D questions, by CV-Bench ``idx``): the reference
#: scripts' letter answers carry ``idx`` as ``questionId``; VLMEvalKit's CV-Bench-2D ``index`` is ``idx`` (its TSV
#: alone has ``split``, ``source`` and CV-Bench's ``prompt``); lmms-eval's cv_bench tasks log ``idx`` (``id`` in
#: their metric dict). CV-Bench's layouts are tried before MMVP's; both tools' 3D rows are skipped.
HARNESSES = Harnesses(
    reference_scripts=ReferenceScripts(answers_id_base=0),
    vlmevalkit=VlmEvalKit(id_base=0, priority=0, columns=frozenset({"split", "source", "prompt"}),
                          name_words=("cv-bench", "cvbench"), keeps_prompt=True, skipped=VLMEVALKIT_CVBENCH_3D),
    lmms_eval=LmmsEval(dataset="CV-Bench", metrics=(LmmsMetric("cv_bench_acc", "id"),),
                       docs=(LmmsDoc("idx", ("question",), priority=0),), skipped=CVBENCH_3D))


def cvbench_prompt(row: Row) -> str:
    """CV-Bench's ``prompt``: the row's own (trimmed), else rebuilt as ``{question} Select from the following
    choices.`` and one ``(A) x`` line per option, joined by newlines."""
    from pixbench.prompts import row_field, row_options, row_text  # here: scoring never needs prompts

    prompt = row_field(row, "prompt")
    if isinstance(prompt, str) and prompt.strip():
        return prompt.strip()
    lines = [f"{row_text(row, 'question')} {CHOICES_LEAD}"]
    lines.extend(f"({chr(65 + k)}) {o}" for k, o in enumerate(row_options(row)))
    return "\n".join(lines)


class PixCVBench(ImageBenchmark):
    name: ClassVar[str] = "pixcvbench"
    display_name: ClassVar[str] = "PixCV-Bench"
    hub_id: ClassVar[str] = "IVUlab/PixCV-Bench"
    published_source: ClassVar[str | None] = "PixFoundation (arXiv 2502.04192, ICML 2025), Table 1"
    builder: ClassVar[BuilderSpec] = BuilderSpec(
        "pixbench.benchmarks.pixcvbench.build", inputs={"cvbench_paths": ("cvbench", "paths")},
        needs={"cvbench": "--cvbench CV_BENCH_PARQUET (images and questions come from it)"},
        options=(BuildOption(("--cvbench",), "pixcvbench: CV-Bench test.parquet (repeat for several files)",
                             metavar="PARQUET", action="append"),))
    configs: ClassVar[tuple[str, ...]] = ("default", "ade20k", "coco")
    ids: ClassVar[range] = range(0, 1438)
    reference_columns: ClassVar[tuple[str, ...]] = (
        "id", "source", "task", "height", "width", "question", "options", "answer", "objects", "expression",
        "mask")
    nullable_columns: ClassVar[frozenset[str]] = NULLABLE_COLUMNS | {"objects"}
    image_name_column: ClassVar[str | None] = "source_filename"
    harnesses: ClassVar[Harnesses] = HARNESSES

    def reference_row(self, values: Mapping[str, Any]) -> ReferenceRow:
        """Groups: ``source`` (ADE20K or COCO) and ``task`` (Count or Relation)."""
        fields = common_row_fields(values, nullable=self.nullable_columns)
        return ReferenceRow(**fields, options_text=lettered_options(list(fields["options"])),
                            groups={"source": values["source"], "task": values["task"]})

    def probe_prompt(self, row: Row, probe: str) -> str:
        """``vqa``: CV-Bench's prompt (:func:`cvbench_prompt`); ``letter``: that, a newline, then
        :data:`~pixbench.prompts.LETTER_INSTRUCTION`."""
        from pixbench.prompts import LETTER_INSTRUCTION, question_probe

        question_probe(probe)
        prompt = cvbench_prompt(row)
        return prompt if probe == "vqa" else f"{prompt}\n{LETTER_INSTRUCTION}"

    def options_line(self, row: Row) -> str:
        """``(A) x (B) y``, as the prompt-sensitivity study's script put CV-Bench's options."""
        from pixbench.prompts import row_options

        return lettered_options(row_options(row))

    def metrics(self, answers: Answers, mask_results: MaskResults, reference: Reference,
                mask_ids: list[int]) -> tuple[dict[str, Any], dict[str, Any]]:
        groups = [(row.id, row.groups["source"], row.groups["task"]) for row in reference.rows.values()]
        sources = sorted({source for _, source, _ in groups if source})
        tasks = sorted({task for _, _, task in groups if task})
        by_source = {s: group_metrics(answers, mask_results, [i for i, source, _ in groups if source == s])
                     for s in sources}
        by_task = {t: group_metrics(answers, mask_results, [i for i, _, task in groups if task == t]) for t in tasks}
        by_source_task = {f"{s}/{t}": group_metrics(answers, mask_results,
                                                    [i for i, source, task in groups if source == s and task == t])
                          for s in sources for t in tasks}
        pooled = group_metrics(answers, mask_results, list(reference.rows))
        metrics: dict[str, Any] = {}
        for name in ("A", "A_dagger", "M", "M_dagger", "cIoU", "cIoU_dagger"):
            values = {s: by_source[s][name] for s in sources}
            metrics[name] = (accuracy.source_mean(values)
                             if values and all(v is not None for v in values.values()) else None)
        breakdown = {"source": by_source, "task": by_task, "source_task": by_source_task, "pooled": pooled}
        return metrics, breakdown

    def row_groups(self, reference: Reference) -> tuple[np.ndarray | None, np.ndarray | None]:
        return None, np.array([row.groups["source"] for row in reference.rows.values()])

    def resampling_plans(self, units: RowUnits, rows: np.ndarray, keep_pairs: np.ndarray | None) -> dict[str, Plan]:
        if units.stratum is None:
            raise ValueError(f"Expected {self.name} rows grouped by source, but got no strata")
        strata = units.stratum[rows]
        result: dict[str, Plan] = {}
        for name in ACCURACIES:
            if name in units.answers:
                correct = units.answers[name][0][rows]
                result[name] = Plan("strata", correct.size,
                                    partial(stats.stratum_mean, values=correct, strata=strata), correct)
        for metric, cumulative in CUMULATIVE_METRIC.items():
            if metric not in units.masks:
                continue
            iou, inter, union, _ = (a[rows] for a in units.masks[metric])
            result[metric] = Plan("strata", iou.size, partial(stats.stratum_mean, values=iou, strata=strata))
            result[cumulative] = Plan("strata", iou.size, partial(stats.stratum_ratio, numerators=inter,
                                                                  denominators=union, strata=strata))
        return result


PIXCVBENCH = PixCVBench()
