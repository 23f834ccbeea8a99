"""The ground truth of the image benchmarks as scoring reads it: one record per question row.

:class:`ReferenceRow` holds what the scorer knows about one row: what every image benchmark has (size, mask,
question, options and their one-line text, answer, expression) and, in ``groups``, whatever the benchmark
groups its rows by (PixMMVP: ``pair_id`` and ``pattern``; PixCV-Bench: ``source`` and ``task``), a read-only
mapping that the benchmark fills and reads itself; :class:`Reference` one benchmark's rows and where they came
from. The benchmark modules build them from parquet (:mod:`pixbench.benchmarks.image`); the scorer
(:mod:`pixbench.image_score`) reads them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType
from typing import Any

from pixbench.annotation import rle as rle_ops
from pixbench.annotation.rle import Rle

__all__ = ["NULLABLE_COLUMNS", "Reference", "ReferenceRow", "common_row_fields"]


@dataclass(frozen=True)
class ReferenceRow:
    """What the scorer knows about one dataset row.

    ``options_text`` is the options on one line as the A† judge is shown them (``(a) Open (b) Closed``), which
    every image benchmark gives (its own column, or built from the options). ``groups`` holds the row's values
    of the benchmark's own groupings, by name (e.g. PixMMVP ``{"pair_id": 1, "pattern": "..."}``); it is a
    read-only copy of the mapping given, and only the benchmark that filled it reads it.
    """

    id: int
    height: int
    width: int
    mask: Rle
    question: str
    options: tuple[str, ...]
    options_text: str
    answer: str
    expression: str | None
    groups: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "groups", MappingProxyType(dict(self.groups)))

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


#: Columns of the common fields that may be null (a question with nothing to ground); a benchmark adds its own.
NULLABLE_COLUMNS = frozenset({"expression", "options"})


def common_row_fields(values: Mapping[str, Any], *, nullable: frozenset[str] = NULLABLE_COLUMNS) -> dict[str, Any]:
    """The :class:`ReferenceRow` fields every benchmark has, from one parquet row; ``ValueError`` when a
    value is null where it may not be (columns outside ``nullable``) or the mask is not a compressed RLE."""
    for name, value in values.items():
        if value is None and name not in nullable:
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
