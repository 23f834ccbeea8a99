"""The protocol every benchmark implements, and the ground-truth records scoring reads.

A :class:`Benchmark` says who it is (``name``, ``display_name``), which rows exist (``ids``, the join
key of predictions), where its published copy lives (``hub_id``, ``configs``), which parquet columns
the scorer reads and how they become a :class:`ReferenceRow`, and how it is scored: which rows enter
mIoU, how per-row outcomes reduce to its headline metrics and breakdowns, which analyses it has, and
how its rows group for resampling (pairs, sources). Everything else in pixbench is benchmark-agnostic.
"""

from __future__ import annotations

from abc import ABC
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, ClassVar

from pixbench.annotation import rle as rle_ops
from pixbench.annotation.rle import Rle


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

    def reference_row(self, values: Mapping[str, Any]) -> ReferenceRow:
        """One parquet row (the :attr:`reference_columns`) as a :class:`ReferenceRow`."""
        raise NotImplementedError
