"""What the video players of a site show, decided before anything is drawn: the expressions and the rows each
probe shows of them, the shown positions of each expression, each probe's view spec, the frames each video's
sheet holds, and every media file's name.

**Clips.** A video benchmark's registry entry gives its clips (``clip_views()``: the
``pixbench.baselines.video_runner.ClipSource`` the video baselines use); the players read a row's clip under a
probe and layout, ``clips.view(row, probe, layout)``, as :class:`PlayerClip` says (MoCentric-Bench's probe
views, :class:`~pixbench.benchmarks.mocentric.rules.ProbeClip` over
:func:`~pixbench.benchmarks.mocentric.views.probe_view`, the one rule; MeViS's native frames,
:class:`~pixbench.benchmarks.mevis.clips.NativeClip`). Nothing here knows a probe: groups are ordered as the
benchmark lists its probes, and the layouts of a probe as its clips first name them across the probes
(:func:`group_order`).

**Expressions and rows** (:func:`plan_players`). A probe shows the reference's rows for it
(``reference.rows_for(probe)``: MoCentric's reversed probes the reversed expressions, a MeViS version its own).
An expression is an id of the rows of the *text probes*: every probe of the benchmark, or, where one model's
lines answer one probe only (the clips' ``exclusive_probes``: MeViS's versions, each its own set of
expressions), the scored ones; in the order of those rows, first seen. Its **row** (text, video, thumbnail) is
that of the first text probe holding it; its **alternate row** that of a later text probe holding another row
of the id (MoCentric: the expression rewritten for the reversed clip), never with exclusive probes. A probe (and
layout) is shown for an expression when some model was scored on it and its rows hold the id.

**Shown positions.** Every probe presents the ``T`` frames of the expression's video (in its own order and
layout). The players show the same presented positions ``P`` for every probe of an expression
(:func:`shown_positions`: all ``T`` when ``T`` is at most ``video_frames``, else that many evenly spaced, the
first and the last included), so one slider steps every probe at once: at position ``p`` MoCentric's
``original`` player shows frame ``p``, ``reversed`` frame ``T - 1 - p`` and ``static`` the keyframe.

**View spec** (:func:`view_spec`, read off the clip at the shown positions): for shown position ``i`` the page
draws, on a canvas of the clip's size, the frames sheet's tile of original frame ``target_frames[i]`` in the
target half (at ``target`` = (row, column) in frame units: ``[0, 0]``, ``[0, 1]`` right or ``[1, 0]`` bottom)
and the tile of ``other_frames[i]`` in the other half (at ``other``); the truth's tile of ``target_frames[i]``
in the target half (MoCentric's ``static``: the keyframe's, which the model must *not* segment); a model's
mask tile ``i`` over the whole canvas. Frames are stored once per video and the truth once per row; the
composition stays the benchmark's.

**Thumbnail** of an expression: its keyframe's (the original frame at the clip's ``keyframe``), or, for a
benchmark without keyframes, the frame where its truth covers the most pixels (the middle frame where the truth
is empty throughout: a no-target expression).

**Names.** Media are named by a hash of what they show (:func:`digest`: the build's hash, the video, the frames
and sizes; for masks their RLE), so a file that exists is already right and a resumed build skips it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from pixbench.view.layout import slug
from pixbench.view.media import display_size
from pixbench.view.video_media import sheet_columns

#: A probe and its layout (``None`` but for probes that take one).
Group = tuple[str, str | None]


class PlayerClip(Protocol):
    """A row's clip as a player draws it: the video baselines' ``ClipView`` (``length``, ``canvas`` in source
    pixels, ``keyframe``: the keyframe's presented position or ``None``) and what each presented position
    shows: ``names[t]`` (presented frame t's file name in a line), ``target_frames[t]`` / ``other_frames[t]``
    (the original frame in the target half / the other half; ``other_frames`` ``None`` without one) and where
    the halves lie on the canvas (``target``, ``other``: (row slice, column slice); ``other`` ``None``)."""

    @property
    def length(self) -> int: ...

    @property
    def canvas(self) -> tuple[int, int]: ...

    @property
    def keyframe(self) -> int | None: ...

    @property
    def names(self) -> Sequence[str]: ...

    @property
    def target_frames(self) -> Sequence[int]: ...

    @property
    def other_frames(self) -> Sequence[int] | None: ...

    @property
    def target(self) -> tuple[slice, slice]: ...

    @property
    def other(self) -> tuple[slice, slice] | None: ...


class Clips(Protocol):
    """A benchmark's clips as the players ask them (the video baselines' ``ClipSource``, in part)."""

    @property
    def exclusive_probes(self) -> bool: ...

    def layouts(self, probe: str) -> tuple[str, ...]: ...

    def view(self, row: Any, probe: str, layout: str | None) -> PlayerClip: ...


class VideoRow(Protocol):
    """What the players read of a reference's row (MoCentric's ``ExpressionRow``, MeViS's ``MevisRow``): its
    video, text, frame size, frame names and truth per original frame (RLE)."""

    @property
    def video_id(self) -> str: ...

    @property
    def exp_id(self) -> int: ...

    @property
    def expression(self) -> str: ...

    @property
    def height(self) -> int: ...

    @property
    def width(self) -> int: ...

    @property
    def frame_names(self) -> Sequence[str]: ...

    @property
    def masks(self) -> Sequence[Any]: ...


class VideoReference(Protocol):
    """What the players read of a video benchmark's reference: where it came from and the rows of each probe."""

    origin: dict[str, str]

    def rows_for(self, probe: str) -> Mapping[str, Any]: ...


def group_key(probe: str, layout: str | None) -> str:
    """The name of a probe (and layout) in the data files: ``static-pair:target-left``, ``original``."""
    return f"{probe}:{layout}" if layout else probe


def group_label(probe: str, layout: str | None) -> str:
    """A probe (and layout) as the pages name it: ``static-pair (target-left)``."""
    return f"{probe} ({layout})" if layout else probe


def group_order(probes: Sequence[str], clips: Clips) -> Callable[[Group], tuple[int, int]]:
    """A sort key of groups: probes in the benchmark's order (``probes``), a probe's layouts in the order the
    clips first name them across the probes (``-1``: no layout first).

    Examples:
        >>> class Halves:
        ...     def layouts(self, probe): return {"pair": ("left", "right"), "back": ("right", "left")}.get(probe, ())
        >>> key = group_order(("one", "pair", "back"), Halves())
        >>> sorted([("back", "left"), ("pair", "right"), ("one", None), ("back", "right")], key=key)
        [('one', None), ('pair', 'right'), ('back', 'left'), ('back', 'right')]
    """
    layouts = list(dict.fromkeys(layout for probe in probes for layout in clips.layouts(probe)))

    def key(group: Group) -> tuple[int, int]:
        probe, layout = group
        return list(probes).index(probe), -1 if layout is None else layouts.index(layout)

    return key


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


def view_spec(group: Group, view: PlayerClip, frame: tuple[int, int], positions: Sequence[int]) -> dict[str, Any]:
    """How the page composes ``view`` (the clip of ``group``, on frames of ``frame`` = (height, width)) at
    ``positions`` (see the module docstring); ``canvas`` in source pixels."""
    height, width = frame
    other = None
    if view.other is not None:
        other = [view.other[0].start // height, view.other[1].start // width]
    return {"probe": group[0], "layout": group[1], "canvas": list(view.canvas),
            "target": [view.target[0].start // height, view.target[1].start // width], "other": other,
            "names": [view.names[p] for p in positions],
            "target_frames": [view.target_frames[p] for p in positions],
            "other_frames": None if view.other_frames is None else [view.other_frames[p] for p in positions]}


def display_canvas(view: PlayerClip, frame: tuple[int, int], display: tuple[int, int]) -> tuple[int, int]:
    """The clip's canvas at the player's size: as many ``display`` frames high and wide as the canvas holds
    source frames (``frame``: a frame's size; a pair side by side: two frames wide)."""
    return view.canvas[0] // frame[0] * display[0], view.canvas[1] // frame[1] * display[1]


def digest(*parts: Any) -> str:
    """A short hash of ``parts`` (as JSON), naming a media file by what it shows."""
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


@dataclass
class ExpressionPlan:
    """One expression's players: its id and data key, its row and alternate row (module docstring), its shown
    positions, each shown group's clip and row, the original frames its truth is drawn on, its keyframe (the
    original frame; ``None`` without one) and the frame its thumbnail shows."""

    id: str
    key: str
    row: VideoRow
    alternate_row: VideoRow | None
    positions: list[int]
    views: dict[Group, PlayerClip]
    rows: dict[Group, VideoRow]
    gt_frames: list[int]
    keyframe: int | None
    thumb_frame: int


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


def thumb_frame(masks: Sequence[Any]) -> int:
    """The frame a thumbnail of an expression without a keyframe shows: the first where its truth (RLE per
    frame) covers the most pixels; the middle one where the truth is empty throughout."""
    import numpy as np

    from pixbench.annotation.rle import area

    areas = area(list(masks))
    return int(np.argmax(areas)) if areas.any() else len(masks) // 2


def keyframe_of(clips: Clips, row: VideoRow, probe: str) -> int | None:
    """The original frame of ``row``'s keyframe, read off its clip under ``probe`` (in its first layout);
    ``None`` for a benchmark without keyframes."""
    view = clips.view(row, probe, next(iter(clips.layouts(probe)), None))
    return None if view.keyframe is None else view.target_frames[view.keyframe]


def text_probes(probes: Sequence[str], groups: Sequence[Group], clips: Clips) -> list[str]:
    """The probes whose rows name the expressions (module docstring): the scored ones where the clips'
    probes are exclusive, else every probe of the benchmark."""
    return list(dict.fromkeys(probe for probe, _ in groups)) if clips.exclusive_probes else list(probes)


def plan_players(benchmark: str, reference: VideoReference, groups: Sequence[Group], *, clips: Clips,
                 probes: Sequence[str], video_frames: int, video_side: int, thumb_side: int,
                 frames_read: bool) -> tuple[list[ExpressionPlan], dict[str, VideoPlan]]:
    """Every expression scored on some group (in the rows' order, module docstring) and every video they show.
    ``probes``: the benchmark's, in order; ``frames_read``: whether the build's frames can be read (else the
    sheets are grey, and named so)."""
    origin = [reference.origin.get("sha256", ""), frames_read]
    named = text_probes(probes, groups, clips)
    rows_of = {probe: reference.rows_for(probe) for probe in dict.fromkeys([*named, *(p for p, _ in groups)])}
    expressions: list[ExpressionPlan] = []
    videos: dict[str, VideoPlan] = {}
    needed: dict[str, set[int]] = {}
    for row_id in dict.fromkeys(row_id for probe in named for row_id in rows_of[probe]):
        shown = {group: row for group in groups if (row := rows_of[group[0]].get(row_id)) is not None}
        if not shown:
            continue
        views = {group: clips.view(row, *group) for group, row in shown.items()}
        owners = [probe for probe in named if row_id in rows_of[probe]]
        row = rows_of[owners[0]][row_id]
        alternate = None if clips.exclusive_probes else next(
            (rows_of[probe][row_id] for probe in owners[1:] if rows_of[probe][row_id] != row), None)
        keyframe = keyframe_of(clips, row, owners[0])
        thumb = thumb_frame(row.masks) if keyframe is None else keyframe
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
            targets = [view.target_frames[p] for p in positions]
            truth.update(targets)
            frames.update(targets)
            if view.other_frames is not None:
                frames.update(view.other_frames[p] for p in positions)
        video.thumbs.setdefault(thumb, f"media/{benchmark}/{video.folder}/thumb-{thumb}-"
                                       f"{digest(origin, row.video_id, thumb, video.thumb)}.webp")
        expressions.append(ExpressionPlan(row_id, slug(row_id), row, alternate, positions, views, shown,
                                          sorted(truth), keyframe, thumb))
    for video_id, video in videos.items():
        video.frames = sorted(needed[video_id])
        video.columns = sheet_columns(len(video.frames), video.display)
        video.sheet = (f"media/{benchmark}/{video.folder}/frames-"
                       f"{digest(origin, video_id, video.frames, video.display, video.columns)}.webp")
    return expressions, videos
