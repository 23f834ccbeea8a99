"""MoCentric-Bench's probes as views: what a model is shown for one expression, and the right answer.

Frames ``I_0..I_{T-1}`` (``H x W``), ground truth ``G_t``, keyframe ``k``. ``[A | B]`` is a horizontal
concatenation (``H x 2W``), ``[A ; B]`` a vertical one (``2H x W``); "target" is the half the expression
is about, "other" the distractor half.

=================  ==========================================  ===========  =======================
probe              presented frame t                           expression   right answer at t
=================  ==========================================  ===========  =======================
``original``       ``I_t``                                     original     ``G_t``
``static``         ``I_k`` (T copies)                          original     empty (nothing moves)
``static-pair``    target ``I_t``, other ``I_k``               original     ``G_t`` in the target
``reversed``       ``I_{T-1-t}``                               reversed     ``G_{T-1-t}``
``reversed-pair``  target ``I_{T-1-t}``, other ``I_t``         reversed     ``G_{T-1-t}`` in the target
=================  ==========================================  ===========  =======================

Pair probes take a layout: ``target-left`` (``[target | other]``), ``target-right`` (``[other | target]``)
or ``target-bottom`` (``[other ; target]``); the published scripts' defaults are ``target-left`` for
``static-pair`` and ``target-right`` for ``reversed-pair`` (:data:`DEFAULT_LAYOUT`). Presented frame t
carries the name ``frames[t]`` of the original list (so for ``reversed`` the file ``00000`` shows the
original last frame), as the published evaluator expects. For scoring, the ``static`` probe's reference is
the keyframe's ground truth ``G_k`` (what a model must *not* segment), see :mod:`pixbench.metrics.video`.

A :class:`ProbeView` is computed from an expression's row; nothing about a probe is stored. It gives, per
presented position, which original frames fill the target and other halves, the canvas, where the target
half lies on it, and the ground truth on the canvas (RLE, computed on the runs).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np

from pixbench.annotation import rle as rle_ops
from pixbench.annotation.rle import Rle

Probe = Literal["original", "static", "static-pair", "reversed", "reversed-pair"]
Layout = Literal["target-left", "target-right", "target-bottom"]
PROBES: tuple[str, ...] = get_args(Probe)
LAYOUTS: tuple[str, ...] = get_args(Layout)
#: Probes shown side by side with a distractor half (they take a layout).
PAIR_PROBES = frozenset({"static-pair", "reversed-pair"})
#: Probes scored on the reversed expressions (the ``reversed`` config's rows).
REVERSED_PROBES = frozenset({"reversed", "reversed-pair"})
#: The layout the published scripts use when no flag is given.
DEFAULT_LAYOUT: dict[str, str] = {"static-pair": "target-left", "reversed-pair": "target-right"}


class ViewError(ValueError):
    """A probe or layout that does not exist, or a layout where none applies."""


def check_probe_layout(probe: str, layout: str | None) -> None:
    """Raise :class:`ViewError` unless ``probe`` exists and ``layout`` is given exactly for pair probes."""
    if probe not in PROBES:
        raise ViewError(f"unknown probe {probe!r} (expected one of {list(PROBES)})")
    if probe in PAIR_PROBES:
        if layout is None:
            raise ViewError(f"probe {probe!r} needs a layout (one of {list(LAYOUTS)})")
        if layout not in LAYOUTS:
            raise ViewError(f"unknown layout {layout!r} (expected one of {list(LAYOUTS)})")
    elif layout is not None:
        raise ViewError(f"probe {probe!r} takes no layout (only {sorted(PAIR_PROBES)} do), but got {layout!r}")


def resolve_layout(probe: str, layout: str | None) -> str | None:
    """``layout``, or the probe's published default (:data:`DEFAULT_LAYOUT`) for a pair probe without one;
    then :func:`check_probe_layout` (:class:`ViewError` for an unknown probe or layout, or a layout given to a
    probe without halves). The one place the default is applied (export, show, baselines, demo).

    Examples:
        >>> resolve_layout("static-pair", None), resolve_layout("reversed-pair", "target-bottom")
        ('target-left', 'target-bottom')
        >>> resolve_layout("static", None) is None
        True
    """
    if probe in PAIR_PROBES and layout is None:
        layout = DEFAULT_LAYOUT[probe]
    check_probe_layout(probe, layout)
    return layout


def canvas_size(height: int, width: int, probe: str, layout: str | None) -> tuple[int, int]:
    """``(height, width)`` of the presented frames: ``(H, 2W)`` for left/right pairs, ``(2H, W)`` for the
    bottom layout, else ``(H, W)``."""
    if probe not in PAIR_PROBES:
        return height, width
    return (2 * height, width) if layout == "target-bottom" else (height, 2 * width)


def target_offset(height: int, width: int, layout: str | None) -> tuple[int, int]:
    """``(row, column)`` of the target half's top-left corner on the canvas (``(0, 0)`` without a pair)."""
    if layout == "target-right":
        return 0, width
    if layout == "target-bottom":
        return height, 0
    return 0, 0


def other_offset(height: int, width: int, layout: str | None) -> tuple[int, int]:
    """``(row, column)`` of the distractor half on the canvas."""
    if layout == "target-left":
        return 0, width
    return 0, 0


@dataclass(frozen=True)
class ProbeView:
    """One expression as one probe presents it.

    ``target_frames[t]`` / ``other_frames[t]`` are the original frame indices shown at presented position
    t (``other_frames`` is ``None`` without a distractor half); ``names[t]`` is the file name of presented
    frame t; ``canvas`` is ``(height, width)``; ``target`` the target half's ``(row slice, column slice)`` on
    it and ``other`` the distractor half's (``None`` without one).
    """

    probe: str
    layout: str | None
    height: int
    width: int
    names: tuple[str, ...]
    target_frames: tuple[int, ...]
    other_frames: tuple[int, ...] | None
    canvas: tuple[int, int]
    target: tuple[slice, slice]
    other: tuple[slice, slice] | None

    @property
    def length(self) -> int:
        return len(self.names)

    def ground_truth(self, masks: Sequence[Rle]) -> list[Rle]:
        """The right answer at every presented position on the canvas, from the original per-frame masks
        (the union of the expression's objects). ``static``: the keyframe's mask at every position (the
        reference its metrics compare the prediction with; the right *output* is empty)."""
        row, column = self.target[0].start, self.target[1].start
        placed: dict[int, Rle] = {}
        out = []
        for index in self.target_frames:
            if index not in placed:
                mask = masks[index]
                placed[index] = mask if self.canvas == (self.height, self.width) else rle_ops.place(
                    mask, *self.canvas, row=row, column=column)
            out.append(placed[index])
        return out

    def compose(self, frames: Sequence[np.ndarray]) -> list[np.ndarray]:
        """The presented images (``H x W x C`` arrays of the original frames in, canvases out)."""
        out = []
        for t in range(self.length):
            target = frames[self.target_frames[t]]
            if self.other_frames is None:
                out.append(target)
                continue
            canvas = np.zeros((*self.canvas, *target.shape[2:]), dtype=target.dtype)
            canvas[self.target] = target
            assert self.other is not None
            canvas[self.other] = frames[self.other_frames[t]]
            out.append(canvas)
        return out


def probe_view(*, probe: str, layout: str | None, frame_names: Sequence[str], keyframe: int, height: int,
               width: int) -> ProbeView:
    """The view of one expression (its video's ``frame_names``, ``keyframe`` index and frame size) under
    ``probe`` and ``layout`` (rules in the module docstring); :class:`ViewError` for a bad pair."""
    check_probe_layout(probe, layout)
    count = len(frame_names)
    if not 0 <= keyframe < count:
        raise ViewError(f"keyframe {keyframe} is not a frame index of a {count}-frame video")
    forward = tuple(range(count))
    backward = tuple(range(count - 1, -1, -1))
    target = {"original": forward, "static": (keyframe,) * count, "static-pair": forward,
              "reversed": backward, "reversed-pair": backward}[probe]
    other = {"static-pair": (keyframe,) * count, "reversed-pair": forward}.get(probe)
    canvas = canvas_size(height, width, probe, layout)
    row, column = target_offset(height, width, layout if probe in PAIR_PROBES else None)
    target_box = (slice(row, row + height), slice(column, column + width))
    other_box = None
    if other is not None:
        orow, ocol = other_offset(height, width, layout)
        other_box = (slice(orow, orow + height), slice(ocol, ocol + width))
    return ProbeView(probe=probe, layout=layout if probe in PAIR_PROBES else None, height=height, width=width,
                     names=tuple(frame_names), target_frames=target, other_frames=other, canvas=canvas,
                     target=target_box, other=other_box)
