"""MoCentric-Bench's ground truth as scoring reads it: one record per expression.

:class:`ExpressionRow` holds an expression's video frames, keyframe and per-frame ground truth;
:class:`VideoReference` the ``expressions`` and ``reversed`` rows of a build and where they came from;
:class:`VideoLine` what a predictions line of one expression is checked against. The registry module
(:mod:`pixbench.benchmarks.mocentric`) reads them from parquet; scoring, export and drawing use them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pixbench.annotation.rle import Rle
from pixbench.benchmarks.mocentric.views import REVERSED_PROBES

__all__ = ["ExpressionRow", "VideoLine", "VideoReference"]


@dataclass(frozen=True)
class ExpressionRow:
    """One expression of MoCentric-Bench: its video's frames and its ground truth per original frame."""

    id: str
    video_id: str
    exp_id: int
    expression: str
    anno_ids: tuple[int, ...]
    height: int
    width: int
    frame_names: tuple[str, ...]
    keyframe: int
    keyframe_from_csv: bool
    masks: tuple[Rle, ...]

    def listed(self) -> tuple[str, ...]:
        """What ``pixbench mocentric ids`` shows of it beside id, video and frames: the keyframe."""
        return (str(self.keyframe),)


@dataclass(frozen=True)
class VideoLine:
    """What a MoCentric line of one expression is checked against: its frame names (the presented
    frames' count and ``png_dir`` file names), the frame size, and whether it has a reversed expression."""

    frame_names: tuple[str, ...]
    height: int
    width: int
    reversed: bool


@dataclass
class VideoReference:
    """MoCentric-Bench's ground truth: ``expressions`` and ``reversed`` rows by id, and where it came from."""

    benchmark: str
    expressions: dict[str, ExpressionRow]
    reversed: dict[str, ExpressionRow]
    origin: dict[str, str] = field(default_factory=dict)
    label_set: str | None = None

    def rows_for(self, probe: str) -> dict[str, ExpressionRow]:
        """The rows a probe scores: the reversed expressions for the reversed probes, else every expression."""
        return self.reversed if probe in REVERSED_PROBES else self.expressions
