"""PixMMVP: the 300 MMVP questions (150 pairs of images that CLIP sees alike), each with a referring
expression and a mask. Accuracy counts pairs (both questions right); mIoU covers the rows with an
expression; results break down by MMVP's nine visual patterns; failure modes are analysed per pair.
"""

from __future__ import annotations

from typing import ClassVar

from pixbench.benchmarks.base import Benchmark


class PixMMVP(Benchmark):
    name: ClassVar[str] = "pixmmvp"
    display_name: ClassVar[str] = "PixMMVP"
    hub_id: ClassVar[str] = "IVUlab/PixMMVP"
    ids: ClassVar[range] = range(1, 301)
    reference_columns: ClassVar[tuple[str, ...]] = (
        "id", "pair_id", "height", "width", "question", "options", "options_text", "answer", "pattern",
        "expression", "has_object", "mask")


PIXMMVP = PixMMVP()
