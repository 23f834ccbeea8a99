"""What the video players of a site show, decided before anything is drawn: the shown positions of each
expression, each probe's view spec, the frames each video's sheet holds, and every media file's name.

**Shown positions.** Every probe presents the ``T`` frames of the expression's video (in its own order and
layout: :func:`pixbench.benchmarks.mocentric.views.probe_view`, the one rule). The players show the same
presented positions ``P`` for every probe of an expression (:func:`shown_positions`: all ``T`` when ``T`` is at
most ``video_frames``, else that many evenly spaced, the first and the last included), so one slider steps every
probe at once: at position ``p`` the ``original`` player shows frame ``p``, ``reversed`` frame ``T - 1 - p`` and
``static`` the keyframe. A probe (pair probes: in each layout) is shown for an expression when some model was
scored on it, from the rows it scores (the reversed expressions for the reversed probes).

**View spec** (:func:`view_spec`, read off the probe's :class:`~pixbench.benchmarks.mocentric.views.ProbeView`
at the shown positions): for shown position ``i`` the page draws, on a canvas of the probe's size, the frames
sheet's tile of original frame ``target_frames[i]`` in the target half (at ``target`` = (row, column) in frame
units: ``[0, 0]``, ``[0, 1]`` right or ``[1, 0]`` bottom) and the tile of ``other_frames[i]`` in the other half
(at ``other``); the truth's tile of ``target_frames[i]`` in the target half (:meth:`ProbeView.ground_truth`:
for ``static`` the keyframe's, which the model must *not* segment); a model's mask tile ``i`` over the whole
canvas. Frames are stored once per video and the truth once per expression; the composition stays
``probe_view``'s.

**Names.** Media are named by a hash of what they show (:func:`digest`: the build's hash, the video, the frames
and sizes; for masks their RLE), so a file that exists is already right and a resumed build skips it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pixbench.benchmarks.mocentric.views import LAYOUTS, PROBES, ProbeView, probe_view
from pixbench.view.layout import slug
from pixbench.view.media import display_size
from pixbench.view.video_media import sheet_columns

if TYPE_CHECKING:
    from pixbench.benchmarks.mocentric.rows import ExpressionRow, VideoReference

#: A probe and its layout (``None`` but for pairs).
Group = tuple[str, str | None]


def group_key(probe: str, layout: str | None) -> str:
    """The name of a probe (and layout) in the data files: ``static-pair:target-left``, ``original``."""
    return f"{probe}:{layout}" if layout else probe


def group_label(probe: str, layout: str | None) -> str:
    """A probe (and layout) as the pages name it: ``static-pair (target-left)``."""
    return f"{probe} ({layout})" if layout else probe


def group_order(group: Group) -> tuple[int, int]:
    """Probes in :data:`~pixbench.benchmarks.mocentric.views.PROBES` order, layouts in ``LAYOUTS`` order."""
    probe, layout = group
    return PROBES.index(probe), -1 if layout is None else LAYOUTS.index(layout)


def shown_positions(length: int, limit: int) -> list[int]:
    """The presented positions a player shows: all of ``range(length)`` when ``length <= limit``, else ``limit``
    evenly spaced ones, ``round(k * (length - 1) / (limit - 1))`` (halves up) for ``k`` in ``range(limit)``.

    Examples:
        >>> shown_positions(5, 48)
        [0, 1, 2, 3, 4]
        >>> shown_positions(10, 4)
        [0, 3, 6, 9]
    """
    if length <= limit:
        return list(range(length))
    if limit <= 1:
        return [0]
    return [(2 * k * (length - 1) + (limit - 1)) // (2 * (limit - 1)) for k in range(limit)]


def view_spec(view: ProbeView, positions: Sequence[int]) -> dict[str, Any]:
    """How the page composes ``view`` at ``positions`` (see the module docstring); ``canvas`` in source pixels."""
    other = None
    if view.other is not None:
        other = [view.other[0].start // view.height, view.other[1].start // view.width]
    return {"probe": view.probe, "layout": view.layout, "canvas": list(view.canvas),
            "target": [view.target[0].start // view.height, view.target[1].start // view.width], "other": other,
            "names": [view.names[p] for p in positions],
            "target_frames": [view.target_frames[p] for p in positions],
            "other_frames": None if view.other_frames is None else [view.other_frames[p] for p in positions]}


def digest(*parts: Any) -> str:
    """A short hash of ``parts`` (as JSON), naming a media file by what it shows."""
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


@dataclass
class ExpressionPlan:
    """One expression's players: its rows, data key, shown positions, each probe's view, the truth's frames."""

    id: str
    key: str
    row: ExpressionRow
    reversed_row: ExpressionRow | None
    positions: list[int]
    views: dict[Group, ProbeView]
    gt_frames: list[int]


@dataclass
class VideoPlan:
    """One video: its folder, size, frame count, the frames its sheet holds (in order) and the sheet's path
    and columns, the player's frame size, the thumbnails (keyframe -> path) and their size."""

    video_id: str
    folder: str
    size: tuple[int, int]
    length: int
    display: tuple[int, int]
    thumb: tuple[int, int]
    frames: list[int] = field(default_factory=list)
    thumbs: dict[int, str] = field(default_factory=dict)
    sheet: str = ""
    columns: int = 1


def has_frames(built: Path | None) -> bool:
    """Whether a build holds its videos' frames (the ``videos`` config; not a ``--no-frames`` build)."""
    from pixbench.video.export import ExportError, video_shards

    if built is None:
        return False
    try:
        return bool(video_shards(built))
    except ExportError:
        return False


def _views(reference: VideoReference, row_id: str, groups: Sequence[Group]) -> dict[Group, ProbeView]:
    views: dict[Group, ProbeView] = {}
    for probe, layout in groups:
        scored = reference.rows_for(probe).get(row_id)
        if scored is not None:
            views[(probe, layout)] = probe_view(probe=probe, layout=layout, frame_names=scored.frame_names,
                                                keyframe=scored.keyframe, height=scored.height, width=scored.width)
    return views


def plan_players(benchmark: str, reference: VideoReference, groups: Sequence[Group], *, video_frames: int,
                 video_side: int, thumb_side: int, frames_read: bool) -> tuple[list[ExpressionPlan],
                                                                               dict[str, VideoPlan]]:
    """Every expression scored on some group (in the reference's order) and every video they show.
    ``frames_read``: whether the build's frames can be read (else the sheets are grey, and named so)."""
    origin = [reference.origin.get("sha256", ""), frames_read]
    expressions: list[ExpressionPlan] = []
    videos: dict[str, VideoPlan] = {}
    needed: dict[str, set[int]] = {}
    for row_id, row in reference.expressions.items():
        views = _views(reference, row_id, groups)
        if not views:
            continue
        length = len(row.frame_names)
        positions = shown_positions(length, video_frames)
        video = videos.get(row.video_id)
        if video is None:
            video = videos[row.video_id] = VideoPlan(
                row.video_id, slug(row.video_id), (row.height, row.width), length,
                display_size(row.height, row.width, video_side), display_size(row.height, row.width, thumb_side))
        frames = needed.setdefault(row.video_id, set())
        truth: set[int] = set()
        for view in views.values():
            shown = [view.target_frames[p] for p in positions]
            truth.update(shown)
            frames.update(shown)
            if view.other_frames is not None:
                frames.update(view.other_frames[p] for p in positions)
        video.thumbs.setdefault(row.keyframe, f"media/{benchmark}/{video.folder}/thumb-{row.keyframe}-"
                                              f"{digest(origin, row.video_id, row.keyframe, video.thumb)}.webp")
        expressions.append(ExpressionPlan(row_id, slug(row_id), row, reference.reversed.get(row_id), positions, views,
                                          sorted(truth)))
    for video_id, video in videos.items():
        video.frames = sorted(needed[video_id])
        video.columns = sheet_columns(len(video.frames), video.display)
        video.sheet = (f"media/{benchmark}/{video.folder}/frames-"
                       f"{digest(origin, video_id, video.frames, video.display, video.columns)}.webp")
    return expressions, videos
