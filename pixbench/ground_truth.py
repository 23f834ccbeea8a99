"""The ground truth of the image benchmarks as scoring reads it: one record per question row.

:class:`ReferenceRow` holds what the scorer knows about one row (size, mask, question, options, answer,
expression, and the pair, pattern, source or task it belongs to); :class:`Reference` one benchmark's rows
and where they came from. The benchmark modules build them from parquet (:mod:`pixbench.benchmarks.image`);
the scorer (:mod:`pixbench.image_score`) reads them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from pixbench.annotation import rle as rle_ops
from pixbench.annotation.rle import Rle

__all__ = ["NULLABLE_COLUMNS", "Reference", "ReferenceRow", "common_row_fields"]


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
