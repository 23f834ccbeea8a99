"""The protocol every benchmark implements, and the ground-truth records scoring reads.

A :class:`Benchmark` says who it is (``name``, ``display_name``), which rows exist (``ids``, the join
key of predictions), where its published copy lives (``hub_id``, ``configs``), which parquet columns
the scorer reads and how they become a :class:`ReferenceRow`, and how it is scored: which rows enter
mIoU, how per-row outcomes reduce to its headline metrics and breakdowns, which analyses it has, and
how its rows group for resampling (pairs, sources). Everything else in pixbench is benchmark-agnostic.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from pixbench.annotation import rle as rle_ops
from pixbench.annotation.rle import Rle
from pixbench.outcomes import Answers, MaskResults, Plan, RowUnits


@dataclass(frozen=True)
class ReferenceRow:
    """What the scorer knows about one dataset row."""

    id: int
    height: int
    width: int
    mask: Rle
    question: str
    options: tuple[str, ...]
    options_text: str
    answer: str
    expression: str | None
    pair_id: int | None = None
    pattern: str | None = None
    source: str | None = None
    task: str | None = None

    @property
    def has_object(self) -> bool:
        return self.expression is not None


@dataclass
class Reference:
    """One benchmark's ground truth and where it came from (``origin``: path and hash, or hub commit)."""

    benchmark: str
    rows: dict[int, ReferenceRow]
    origin: dict[str, str] = field(default_factory=dict)
    label_set: str | None = None

    @property
    def sizes(self) -> dict[int, tuple[int, int]]:
        return {row_id: (row.height, row.width) for row_id, row in self.rows.items()}

    @cached_property
    def gt_areas(self) -> dict[int, int]:
        """Foreground pixels of each row's ground truth (computed once, on the runs)."""
        return dict(zip(self.rows, (int(a) for a in rle_ops.area([row.mask for row in self.rows.values()]))))

    @property
    def n_pairs(self) -> int:
        return len(self.rows) // 2


#: Columns that may be null in a built benchmark (PixMMVP's questions with nothing to ground).
NULLABLE_COLUMNS = frozenset({"expression", "options", "pattern", "has_object", "objects"})


def common_row_fields(values: Mapping[str, Any]) -> dict[str, Any]:
    """The :class:`ReferenceRow` fields every benchmark has, from one parquet row; ``ValueError`` when a
    value is null where it may not be or the mask is not a compressed RLE."""
    for name, value in values.items():
        if value is None and name not in NULLABLE_COLUMNS:
            raise ValueError(f"{name} is null")
    counts = values["mask"]["counts"]
    if not isinstance(counts, str):
        raise ValueError(f"mask counts is {type(counts).__name__}, expected a compressed RLE string")
    mask: Rle = {"size": [int(v) for v in values["mask"]["size"]], "counts": counts}
    if len(mask["size"]) != 2:
        raise ValueError(f"mask size {mask['size']} is not [height, width]")
    return {"id": int(values["id"]), "height": int(values["height"]), "width": int(values["width"]),
            "mask": mask, "question": values["question"], "options": tuple(values["options"] or []),
            "answer": values["answer"], "expression": values["expression"]}


class Benchmark(ABC):
    """One benchmark: identity, rows, hub copy, ground truth and scoring rules.

    Attributes:
        name: the key of predictions lines and ``--data`` (``pixmmvp``).
        display_name: the name in tables (``PixMMVP``).
        hub_id: the published dataset repo (``IVUlab/PixMMVP``).
        configs: the dataset configs of the hub copy (``default`` first).
        ids: every row id of the full benchmark (the id domain; ``ids.start`` is the first id).
        reference_columns: the parquet columns scoring reads (never the images).
        image_name_column: the column naming each row's image file, when outputs of other tools are
            named after the image rather than the row id (``source_filename``); ``None`` when files are
            named by row id.
    """

    name: ClassVar[str]
    display_name: ClassVar[str]
    hub_id: ClassVar[str]
    configs: ClassVar[tuple[str, ...]] = ("default",)
    ids: ClassVar[range]
    reference_columns: ClassVar[tuple[str, ...]]
    image_name_column: ClassVar[str | None] = None

    @property
    def first_id(self) -> int:
        return self.ids.start

    def __repr__(self) -> str:
        return f"<benchmark {self.name}>"

    # ------------------------------------------------------------------ ground truth

    @abstractmethod
    def reference_row(self, values: Mapping[str, Any]) -> ReferenceRow:
        """One parquet row (the :attr:`reference_columns`, nulls already refused) as a :class:`ReferenceRow`."""

    def label_set(self, folder: Path) -> str | None:
        """Which answer labels a built folder uses, when the benchmark has variants of them (else ``None``)."""
        return None

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

    @abstractmethod
    def resampling_plans(self, units: RowUnits, rows: np.ndarray, keep_pairs: np.ndarray | None) -> dict[str, Plan]:
        """The bootstrap plan of every measured metric, on the rows marked in ``rows`` (and the pairs in
        ``keep_pairs`` where the benchmark counts pairs)."""

    def comparable_pairs(self, units: RowUnits, covered: np.ndarray) -> np.ndarray | None:
        """Which pairs a comparison keeps, given the rows both files cover (``None``: no pairs)."""
        return None
