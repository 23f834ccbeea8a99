"""The demo hook every benchmark folder provides (``<benchmark>/demo.py``), and the made-up image models.

``pixbench demo`` (:mod:`pixbench.cli.demo`) knows no benchmark: it iterates the registry and imports each
benchmark's hook, the module ``demo`` of its package (beside the builder module the registry names), which
has two functions:

- ``build_demo(work: Path) -> DemoBuild``: write the benchmark's synthetic raw inputs under ``work / "raw"``
  (its ``synthetic.py``, no network) and build them into ``work / <display name>``; the :class:`DemoBuild`
  holds the built folder and the one line the demo prints about it;
- ``demo_predictions(reference) -> dict[model, list[Prediction]]``: the lines of made-up models on the
  built benchmark's ground truth (what :func:`~pixbench.references.load_reference` reads from the folder),
  derived from it with fixed mistakes, so that their tables show what the metrics reward; the same
  arguments give the same lines.

The image benchmarks share their made-up models (:func:`image_demo_predictions`): the demo writes one file
per model holding its lines on every image benchmark and scores them together; a video benchmark's models
are scored alone, one file per model.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from pixbench.annotation import rle as rle_ops
from pixbench.ground_truth import Reference
from pixbench.metrics.letters import answer_index, option_letter
from pixbench.prediction_records import Candidate, Prediction

__all__ = ["DemoBuild", "DemoHook", "image_demo_predictions"]


@dataclass(frozen=True)
class DemoBuild:
    """What a benchmark's ``build_demo`` made: the built ``folder`` and the ``line`` the demo prints about it
    (``built NAME: ... -> FOLDER``)."""

    folder: Path
    line: str


class DemoHook(Protocol):
    """What a benchmark's ``demo`` module provides (see the module docstring)."""

    def build_demo(self, work: Path) -> DemoBuild: ...

    def demo_predictions(self, reference: Any) -> dict[str, list[Prediction]]: ...


def _shifted(mask: rle_ops.Rle, dx: int) -> rle_ops.Rle:
    """The mask moved ``dx`` pixels to the right (a near miss)."""
    array = rle_ops.decode(mask)
    return rle_ops.encode(np.roll(array, dx, axis=1))


def image_demo_predictions(reference: Reference) -> dict[str, list[Prediction]]:
    """Lines of two made-up models on one image benchmark.

    ``demo-pixel-mllm`` answers every letter question right but every fourth one wrong by the judge,
    and segments with its own masks, shifted by 4 pixels. ``demo-attend-segment`` answers the first
    option always and gives three candidates per ``vqa`` answer (the true mask, a shifted one and an
    empty one) with phrase offsets and scores, choosing the shifted one.
    """
    first, second = [], []
    for row_id, row in reference.rows.items():
        truth = answer_index(row.answer)
        letter = option_letter(truth)
        right_text, wrong_text = row.options[truth], row.options[(truth + 1) % len(row.options)]
        target = row.expression or "nothing"
        first += [
            Prediction(reference.benchmark, row_id, "letter", "demo-pixel-mllm", response=letter),
            Prediction(reference.benchmark, row_id, "vqa", "demo-pixel-mllm",
                       response=f"It is {right_text if row_id % 4 else wrong_text}."),
            Prediction(reference.benchmark, row_id, "segment", "demo-pixel-mllm", mask=_shifted(row.mask, 4),
                       has_mask=True),
        ]
        response = f"Looking at {target}, the answer is {row.options[0]}."
        start = response.index(target)
        candidates = (
            Candidate(row.mask, phrase=target, char_start=start, char_end=start + len(target), score=0.9),
            Candidate(_shifted(row.mask, 8), phrase=target, char_start=start, char_end=start + len(target),
                      score=0.9),
            Candidate(rle_ops.empty(row.height, row.width), phrase="the answer", char_start=response.index("the a"),
                      char_end=response.index("the a") + 10, score=0.2),
        )
        second += [
            Prediction(reference.benchmark, row_id, "letter", "demo-attend-segment", response="A"),
            Prediction(reference.benchmark, row_id, "vqa", "demo-attend-segment", response=response,
                       candidates=candidates, selected=1),
        ]
    return {"demo-pixel-mllm": first, "demo-attend-segment": second}
