"""MeViS's clips as the video baselines and the site's players see them: the native frames, nothing altered.

The video runner (``pixbench.baselines.video_runner``) and ``pixbench view``'s players
(``pixbench.view.video_plan``) ask a video benchmark for its clips (its ``ClipSource``: this module's
:data:`CLIPS`). A MeViS line's probe is its version (``v1``, ``v2``); the clip of an expression is its video's
frames in order at the frame size (one mask per native frame, as the line format asks), presented frame ``t``
being native frame ``t`` under its own name; no probe takes a layout; MeViS expressions have no keyframe (a run
cannot start from one); and one model's lines answer one version (mixing them is an error when scoring), so a
run asks one version.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

__all__ = ["CLIPS", "NativeClip", "NativeClips"]


@dataclass(frozen=True)
class NativeClip:
    """An expression's video as it is: the frames ``names`` of ``height x width``, in order, no keyframe, no
    halves. What a player reads besides (as of MoCentric-Bench's probe views): ``target_frames[t] = t`` (the
    native frame at presented position ``t``), ``target`` (the whole canvas), and no other half
    (``other_frames`` and ``other`` are ``None``)."""

    height: int
    width: int
    names: tuple[str, ...]
    keyframe: int | None = None
    mirror_axis: Literal["x", "y"] | None = None

    @property
    def length(self) -> int:
        return len(self.names)

    @property
    def canvas(self) -> tuple[int, int]:
        return self.height, self.width

    @property
    def target_frames(self) -> tuple[int, ...]:
        return tuple(range(self.length))

    @property
    def other_frames(self) -> tuple[int, ...] | None:
        return None

    @property
    def target(self) -> tuple[slice, slice]:
        return slice(0, self.height), slice(0, self.width)

    @property
    def other(self) -> tuple[slice, slice] | None:
        return None

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
        return NativeClip(int(row.height), int(row.width), tuple(str(name) for name in row.frame_names))


#: The clips the video runner and the site's players find through MeViS's registry entry.
CLIPS = NativeClips()
