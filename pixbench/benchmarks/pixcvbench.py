"""PixCV-Bench: CV-Bench's 1,438 2D questions (ADE20K and COCO; Count and Relation) with the named
objects' masks. Every metric is the mean of its ADE20K and COCO values; results break down by source,
task, source/task and pooled rows; resampling is stratified by source.
"""

from __future__ import annotations

from typing import ClassVar

from pixbench.benchmarks.base import Benchmark


class PixCVBench(Benchmark):
    name: ClassVar[str] = "pixcvbench"
    display_name: ClassVar[str] = "PixCV-Bench"
    hub_id: ClassVar[str] = "IVUlab/PixCV-Bench"
    configs: ClassVar[tuple[str, ...]] = ("default", "ade20k", "coco")
    ids: ClassVar[range] = range(0, 1438)
    reference_columns: ClassVar[tuple[str, ...]] = (
        "id", "source", "task", "height", "width", "question", "options", "answer", "objects", "expression",
        "mask")
    image_name_column: ClassVar[str | None] = "source_filename"


PIXCVBENCH = PixCVBench()
