"""The records of a predictions file: one :class:`Prediction` per line, with its :class:`Candidate` masks.

Plain data, importing nothing of pixbench but the RLE type, so that every module (benchmarks, scorers,
baselines) can name them; :mod:`pixbench.predictions` reads, checks and writes them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pixbench.annotation.rle import Rle

__all__ = ["Candidate", "Prediction"]


@dataclass(frozen=True)
class Candidate:
    """One mask proposed by a training-free method, with where it came from in the response."""

    mask: Rle
    phrase: str | None = None
    char_start: int | None = None
    char_end: int | None = None
    token_start: int | None = None
    score: float | None = None
    point: tuple[float, float] | None = None


@dataclass(frozen=True)
class Prediction:
    """One line of a predictions file.

    ``mask`` is ``None`` both when the field is absent and when it is null; ``has_mask`` tells them
    apart (a null mask is the empty mask; an absent one defers to ``candidates``). ``line`` and
    ``source`` say where the line was read (0 and "" for records made in Python). A video benchmark's line
    has ``frames`` (one mask per presented frame, ``None`` = empty) and, for pair probes, ``layout``.
    """

    benchmark: str
    id: int | str
    probe: str
    model: str
    response: str | None = None
    prompt: str | None = None
    mask: Rle | None = None
    has_mask: bool = False
    candidates: tuple[Candidate, ...] | None = None
    selected: int | Literal["none"] | None = None
    variant: str | None = None
    line: int = 0
    source: str = field(default="", compare=False)
    layout: str | None = None
    frames: tuple[Rle | None, ...] | None = None
    details: Mapping[str, Any] | None = field(default=None, compare=False)

    @property
    def key(self) -> tuple[str, str, int | str, str, str | None, str | None]:
        return (self.model, self.benchmark, self.id, self.probe, self.variant, self.layout)

    @property
    def has_masks(self) -> bool:
        """Whether the line says anything about masks (a ``mask`` field or ``candidates``)."""
        return self.has_mask or self.candidates is not None

    @property
    def where(self) -> str:
        """``file:line: id N`` of this line, for messages."""
        place = f"{self.source}:{self.line}" if self.source else f"line {self.line}"
        return f"{place}: id {self.id}"
