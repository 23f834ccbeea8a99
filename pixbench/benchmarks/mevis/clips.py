"""MeViS's clips as the video baselines see them: the native frames, nothing altered.

The video runner (``pixbench.baselines.video_runner``) asks a video benchmark for its clips (its
``ClipSource``: this module's :data:`CLIPS`). A MeViS line's probe is its version (``v1``, ``v2``); the clip of
an expression is its video's frames in order at the frame size (one mask per native frame, as the line format
asks); no probe takes a layout; MeViS expressions have no keyframe (a run cannot start from one); and one
model's lines answer one version (mixing them is an error when scoring), so a run asks one version.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

__all__ = ["CLIPS", "NativeClip", "NativeClips"]


@dataclass(frozen=True)
class NativeClip:
    """An expression's video as it is: ``length`` frames of ``height x width``, no keyframe, no halves."""

    height: int
    width: int
    length: int
    keyframe: int | None = None
    mirror_axis: Literal["x", "y"] | None = None

    @property
    def canvas(self) -> tuple[int, int]:
        return self.height, self.width

    def compose(self, frames: Sequence[np.ndarray]) -> list[np.ndarray]:
        """The frames in order (``frames[0..length - 1]``; a lazily decoded sequence is read here)."""
        if len(frames) != self.length:
            raise ValueError(f"Expected the video's {self.length} frames, but got {len(frames)}")
        return [frames[t] for t in range(self.length)]


class NativeClips:
    """MeViS's clips (module docstring)."""

    keyframes = False
    exclusive_probes = True

    def layouts(self, probe: str) -> tuple[str, ...]:
        """None: a MeViS line takes no layout."""
        return ()

    def view(self, row: Any, probe: str, layout: str | None) -> NativeClip:
        """The native frames of ``row``'s video (``ValueError`` for a layout)."""
        if layout is not None:
            raise ValueError(f"a MeViS line takes no layout, but got {layout!r}")
        return NativeClip(int(row.height), int(row.width), len(row.frame_names))


#: The clips the video runner finds beside MeViS's builder.
CLIPS = NativeClips()
