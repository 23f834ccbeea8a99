"""What the image benchmarks (a question, a referring expression and a mask per row) share.

Their ground truth is one row per question in ``data/test-*.parquet`` (the :attr:`reference_columns`,
never the images), read into :class:`ReferenceRow` records; their predictions lines carry one mask or
candidates per row (sizes: the row's image); their scoring is :func:`pixbench.image_score.score_model`, with
each benchmark deciding which rows enter mIoU, how per-row outcomes reduce to its metrics and
breakdowns, its analyses, and how its rows group for resampling. Each also writes the published prompt of its
question probes (:meth:`ImageBenchmark.probe_prompt`, :meth:`ImageBenchmark.options_line`; the
:class:`~pixbench.prompts.PromptFormat` that :func:`pixbench.prompts.render_prompt` takes).
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from pixbench.annotation import rle as rle_ops
from pixbench.benchmarks.base import Benchmark, Kind
from pixbench.benchmarks.harnesses import Harnesses
from pixbench.builds.shards import read_columns
from pixbench.ground_truth import NULLABLE_COLUMNS, Reference, ReferenceRow
from pixbench.outcomes import Answers, MaskResults

if TYPE_CHECKING:
    from pixbench.annotation.rle import RunsCache
    from pixbench.prediction_records import Prediction
    from pixbench.prompts import Row
    from pixbench.results import ScoreResult, ScoreSettings

#: Headline columns of an image benchmark's report: the paper's Table 1, then the extras.
IMAGE_COLUMNS = (("A_dagger", "A†"), ("A", "A"), ("M_dagger", "M†"), ("M", "M"), ("S", "S"),
                 ("A_per_question", "A/q"), ("cIoU", "cIoU"))


def check_masks(rows: Mapping[int, ReferenceRow], shard_of: Mapping[int, Path]) -> None:
    """Every ground-truth mask must be a valid RLE of its row's size (decoded on the runs, vectorised)."""
    for row in rows.values():
        if row.mask["size"] != [row.height, row.width]:
            raise ValueError(f"{shard_of[row.id]}: id {row.id}: mask size {row.mask['size']} differs from the "
                             f"row's height x width [{row.height}, {row.width}]")
    problems = rle_ops.check_counts_many([row.mask["counts"] for row in rows.values()],
                                         [row.height * row.width for row in rows.values()])
    for row, problem in zip(rows.values(), problems):
        if problem is not None:
            raise ValueError(f"{shard_of[row.id]}: id {row.id}: corrupt ground-truth mask: {problem}")


class ImageBenchmark(Benchmark):
    """A benchmark of questions about images, each with a referring expression and a mask.

    Attributes (besides :class:`~pixbench.benchmarks.base.Benchmark`'s):
        ids: every row id of the full benchmark (the id domain; ``ids.start`` is the first id).
        reference_columns: the parquet columns scoring reads (never the images).
        nullable_columns: those of them that may be null (by default the expression and options of a
            question with nothing to ground).
        image_name_column: the column naming each row's image file, when outputs of other tools are
            named after the image rather than the row id (``source_filename``); ``None`` when files are
            named by row id.
        harnesses: how other tools (the PixFoundation reference scripts, VLMEvalKit, lmms-eval) name its rows
            (:mod:`pixbench.benchmarks.harnesses`; none by default), for the converters of ``pixbench convert``.
    """

    kind: ClassVar[Kind] = "image"
    probes: ClassVar[tuple[str, ...]] = ("vqa", "segment", "letter")
    report_columns: ClassVar[tuple[tuple[str, str], ...]] = IMAGE_COLUMNS
    labels: ClassVar[tuple[tuple[str, str], ...]] = (("select", "select"),)
    headline: ClassVar[str] = "S"
    sample_pages: ClassVar[str | None] = "image-rows"
    ids: ClassVar[range]
    reference_columns: ClassVar[tuple[str, ...]]
    nullable_columns: ClassVar[frozenset[str]] = NULLABLE_COLUMNS
    image_name_column: ClassVar[str | None] = None
    harnesses: ClassVar[Harnesses] = Harnesses()

    @property
    def first_id(self) -> int:
        return self.ids.start

    def read_reference(self, folder: Path, origin: dict[str, str]) -> Reference:
        shards = sorted((folder / "data").glob("test-*.parquet"))
        if not shards:
            raise ValueError(f"{folder} holds no data/test-*.parquet: not a built benchmark")
        columns = self.reference_columns
        rows: dict[int, ReferenceRow] = {}
        shard_of: dict[int, Path] = {}
        for shard in shards:
            table = read_columns(shard, columns, what=self.name)
            for k in range(len(table["id"])):
                values = {name: table[name][k] for name in columns}
                try:
                    row = self.reference_row(values)
                except (TypeError, ValueError, KeyError, AttributeError) as exc:
                    text = " ".join(str(exc).split())
                    raise ValueError(f"{shard}: row {k} (id {values['id']!r}) is malformed: "
                                     f"{type(exc).__name__}: {text}") from None
                if row.id in rows:
                    raise ValueError(f"{shard}: row {k} repeats id {row.id} (first in {shard_of[row.id].name})")
                rows[row.id], shard_of[row.id] = row, shard
        check_masks(rows, shard_of)
        return Reference(self.name, dict(sorted(rows.items())), origin, self.label_set(folder))

    def line_index(self, reference: Reference) -> Mapping[int, tuple[int, int]]:
        return reference.sizes

    def score(self, *, model: str, predictions: Sequence[Prediction], reference: Reference, settings: ScoreSettings,
              judge: Any | None = None, judge_note: str | None = None, progress: bool = False,
              variant: str | None = None, runs: RunsCache | None = None, workers: int = 1) -> list[ScoreResult]:
        from pixbench.image_score import score_model

        return [score_model(benchmark=self, model=model, predictions=predictions, reference=reference,
                            settings=settings, judge=judge, judge_note=judge_note, progress=progress, variant=variant,
                            runs=runs)]

    def unanswered(self, predictions: Sequence[Prediction], reference: Reference) -> list[str]:
        present: dict[str, set[int]] = {}
        for pred in predictions:
            present.setdefault(pred.probe, set()).add(int(pred.id))
        messages = []
        for probe, ids in sorted(present.items()):
            missing = sorted(set(reference.rows) - ids)
            if missing:
                messages.append(f"{probe}: {len(missing)} row(s) without a prediction (--strict): "
                                f"ids {missing[:10]}{' ...' if len(missing) > 10 else ''}")
        return messages

    # ------------------------------------------------------------------ ground truth

    @abstractmethod
    def reference_row(self, values: Mapping[str, Any]) -> ReferenceRow:
        """One parquet row (the :attr:`reference_columns`) as a :class:`ReferenceRow`, its grouping values in
        ``groups``; ``ValueError`` for a null outside :attr:`nullable_columns`
        (:func:`~pixbench.ground_truth.common_row_fields`)."""

    def label_set(self, folder: Path) -> str | None:
        """Which answer labels a built folder uses, when the benchmark has variants of them (else ``None``)."""
        return None

    # ------------------------------------------------------------------ prompts

    def probe_prompt(self, row: Row, probe: str) -> str:
        """The published prompt of the ``vqa`` or ``letter`` probe for ``row`` (a ``datasets`` row dict or a
        :class:`ReferenceRow`). By default the reference scripts' PixMMVP format: ``vqa``
        ``{question} {options line}`` (:meth:`options_line`), ``letter`` ``{question} Options:``, one ``A. x``
        line per option, then :data:`~pixbench.prompts.LETTER_INSTRUCTION`, joined by newlines.
        ``ValueError`` for another probe or a row lacking its question or options."""
        # here: scoring, which imports the benchmarks, never needs prompts
        from pixbench.prompts import letter_options_prompt, question_probe, row_options, row_text

        question_probe(probe)
        question = row_text(row, "question")
        if probe == "vqa":
            return f"{question} {self.options_line(row)}"
        return letter_options_prompt(question, row_options(row))

    def options_line(self, row: Row) -> str:
        """The row's options on one line (the *options* slot of question templates). By default PixMMVP's
        ``(a) Open (b) Closed``: the row's ``options_text``, else built from its options so."""
        from pixbench.prompts import inline_options

        return inline_options(row)

    # ------------------------------------------------------------------ scoring

    def mask_row_ids(self, reference: Reference, include_none: bool) -> list[int]:
        """The rows that enter M (mIoU): every row unless the benchmark leaves some out."""
        return list(reference.rows)

    @abstractmethod
    def metrics(self, answers: Answers, mask_results: MaskResults, reference: Reference,
                mask_ids: list[int]) -> tuple[dict[str, Any], dict[str, Any]]:
        """The headline metrics (``A``, ``A_dagger``, ``M``, ``M_dagger``, ``cIoU``, ...; S is added by the
        scorer) and the breakdowns, from the per-row outcomes."""

    def analyses(self, answers: Answers, mask_results: MaskResults, reference: Reference) -> dict[str, Any]:
        """Benchmark-specific analyses, by name (none by default)."""
        return {}

    # ------------------------------------------------------------------ resampling

    def row_groups(self, reference: Reference) -> tuple[np.ndarray | None, np.ndarray | None]:
        """``(pair, stratum)`` arrays aligned with ``reference.rows`` (``None`` where rows do not group so)."""
        return None, None
