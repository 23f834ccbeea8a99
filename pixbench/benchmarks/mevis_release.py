"""A MeViS release folder as the builders read it: expressions, masks and frames, read and cross-checked.

Shared by the builders of the benchmarks made from MeViS (MoCentric-Bench, MeViS itself). A split folder
``ROOT/<split>/`` holds (MeViS is CC BY-NC-SA 4.0; pixbench ships none of it):

- ``JPEGImages/<video_id>/<NNNNN>.jpg``, the frames;
- an expressions file, ``meta_expressions.json`` (MeViS v1) or ``meta_expressions_v2.json`` (v2):
  ``{"videos": {vid: {"vid_id", "frames": [names], "expressions": {"<exp_id>": {"exp", "obj_id",
  "anno_id"}}}}}``; an expression may give its ``type`` (a string), kept when given;
- ``mask_dict.json``: ``{"<anno_id>": [COCO RLE or null, one per frame]}``.

:func:`read_meta`, :func:`read_mask_dict` read the files (problems go to a
:class:`~pixbench.annotation.findings.Findings` report, naming the file, record and field);
:func:`check_masks`, :func:`check_frames` and :func:`check_rles` cross-check them (every anno id of an
expression in ``mask_dict`` with one entry per frame; frame files present, one size per video, read from
the JPEG headers; RLE sizes equal to the frames', or without frames consistent within a video, and every
``counts`` covering the frame). The ground truth of an expression at frame t is the union (pycocotools
``merge``, on the runs) of its ``anno_id`` masks at t (:func:`union_masks`); absent objects contribute
nothing, so an expression without anno ids (MeViS v2's no-target expressions) is empty in every frame.
:func:`video_row` is the ``videos`` config's row of a video: the frame files' bytes as they are
(:func:`video_rows`: every video's, one at a time).
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from datasets import Features, Image, List, Value
from PIL import Image as PILImage

from pixbench.annotation import rle as rle_ops
from pixbench.annotation.findings import Findings

logger = logging.getLogger(__name__)

MEVIS_SPLIT = "valid_u"
META_FILE = "meta_expressions.json"
#: MeViS v2's expressions file (beside v1's ``meta_expressions.json`` in a ``valid_u`` holding both).
META_V2_FILE = "meta_expressions_v2.json"
MASK_FILE = "mask_dict.json"
FRAMES_FOLDER = "JPEGImages"
FRAME_SUFFIX = ".jpg"

#: The columns naming an expression in a built config, in order (a builder adds its own after them).
EXPRESSION_ID_FEATURES = {
    "id": Value("string"),
    "video_id": Value("string"),
    "exp_id": Value("int32"),
    "expression": Value("string"),
    "obj_ids": List(Value("int32")),
    "anno_ids": List(Value("int32")),
}
#: The columns of an expression's video, in order.
EXPRESSION_VIDEO_FEATURES = {
    "height": Value("int32"),
    "width": Value("int32"),
    "frame_names": List(Value("string")),
}
#: The ``videos`` config: one row per video, the original JPEG bytes of its frames.
VIDEO_FEATURES = Features({"video_id": Value("string"), **EXPRESSION_VIDEO_FEATURES, "frames": List(Image())})

__all__ = ["EXPRESSION_ID_FEATURES", "EXPRESSION_VIDEO_FEATURES", "FRAMES_FOLDER", "FRAME_SUFFIX", "MASK_FILE",
           "META_FILE", "META_V2_FILE", "MEVIS_SPLIT", "VIDEO_FEATURES", "Expression", "Release", "Video",
           "check_frames", "check_masks", "check_rles", "listing", "load_json", "read_mask_dict", "read_meta",
           "union_masks", "video_row", "video_rows"]


@dataclass(frozen=True)
class Expression:
    """One expression of a ``meta_expressions.json``-style file (``type``: the release's, when it gives one)."""

    video_id: str
    exp_id: int
    text: str
    obj_ids: tuple[int, ...]
    anno_ids: tuple[int, ...]
    type: str | None = None

    @property
    def id(self) -> str:
        """The join key ``"<video_id>_<exp_id>"``."""
        return f"{self.video_id}_{self.exp_id}"

    @property
    def record(self) -> str:
        return f"video {self.video_id} expression {self.exp_id}"


@dataclass(frozen=True)
class Video:
    """One video: its frame names and expressions (by exp id, in file order)."""

    video_id: str
    frames: tuple[str, ...]
    expressions: dict[int, Expression]


@dataclass
class Release:
    """One expressions file of a split folder with the masks and frames it refers to: ``meta_path`` and
    ``mask_path`` name the files in messages; ``sizes`` is ``(height, width)`` per video and ``frame_bytes``
    the size of its frame files (only when frames were read)."""

    split_dir: Path
    meta_path: str
    mask_path: str
    videos: dict[str, Video] = field(default_factory=dict)
    masks: dict[int, list[rle_ops.Rle | None]] = field(default_factory=dict)
    sizes: dict[str, tuple[int, int]] = field(default_factory=dict)
    frame_bytes: dict[str, int] = field(default_factory=dict)


def load_json(path: Path, report: Findings) -> Any:
    """The JSON document of ``path``, or ``None`` after reporting a missing or invalid file."""
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except FileNotFoundError:
        report.error(str(path), "", "", "file not found")
    except (UnicodeDecodeError, ValueError) as exc:
        report.error(str(path), "", "", f"not valid JSON: {exc}")
    return None


def listing(names: Iterable[str], limit: int = 5) -> str:
    """``a, b, c and 4 more``: the first ``limit`` names and how many are left."""
    items = list(names)
    return ", ".join(items[:limit]) + (f" and {len(items) - limit} more" if len(items) > limit else "")


def _int_list(value: Any) -> tuple[int, ...] | None:
    if not isinstance(value, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        return None
    return tuple(value)


def _expression(name: str, video_id: str, exp_id: int, value: dict[str, Any], report: Findings, *,
                no_target: bool) -> Expression | None:
    """One expression entry (``None`` after reporting its errors). Without ``no_target``, an expression
    without anno ids is a warning (its ground truth is empty in every frame)."""
    where = f"video {video_id} expression {exp_id}"
    text, obj_ids, anno_ids = value.get("exp"), _int_list(value.get("obj_id")), _int_list(value.get("anno_id"))
    problems = [(f, message) for f, bad, message in (
        ("exp", not isinstance(text, str), f"expected a string, but got {value.get('exp')!r}"),
        ("obj_id", obj_ids is None, f"expected a list of ints, but got {value.get('obj_id')!r}"),
        ("anno_id", anno_ids is None, f"expected a list of ints, but got {value.get('anno_id')!r}"))
        if bad]
    for f, message in problems:
        report.error(name, where, f, message)
    if problems or obj_ids is None or anno_ids is None:
        return None
    kind = value.get("type")
    if kind is not None and not isinstance(kind, str):
        report.warning(name, where, "type", f"expected a string, but got {kind!r}: ignored")
        kind = None
    if not anno_ids and not no_target:
        report.warning(name, where, "anno_id", "no anno_id: the ground truth is empty in every frame")
    elif len(obj_ids) != len(anno_ids):
        report.warning(name, where, "obj_id", f"{len(obj_ids)} obj_id(s) for {len(anno_ids)} anno_id(s)")
    return Expression(video_id, exp_id, str(text), obj_ids, anno_ids, kind)


def read_meta(path: Path, report: Findings, *, no_target: bool = False) -> dict[str, Video]:
    """The videos of a ``meta_expressions.json``-style file, in file order; problems go to ``report``.
    ``no_target``: expressions without anno ids are expected (MeViS v2), not warned about."""
    name = str(path)
    data = load_json(path, report)
    if data is None:
        return {}
    if not isinstance(data, dict) or not isinstance(data.get("videos"), dict):
        report.error(name, "", "videos", 'expected {"videos": {video_id: {...}}}')
        return {}
    videos: dict[str, Video] = {}
    for video_id, entry in data["videos"].items():
        record = f"video {video_id}"
        if not isinstance(entry, dict):
            report.error(name, record, "", f"expected an object, but got {type(entry).__name__}")
            continue
        frames = entry.get("frames")
        if not isinstance(frames, list) or not frames or not all(isinstance(f, str) and f for f in frames):
            report.error(name, record, "frames", "expected a non-empty list of frame names")
            continue
        repeated = sorted(f for f, n in Counter(frames).items() if n > 1)
        if repeated:
            report.error(name, record, "frames", f"repeated frame name(s) {repeated[:5]}")
            continue
        raw = entry.get("expressions")
        if not isinstance(raw, dict):
            report.error(name, record, "expressions", "expected an object of expressions by exp id")
            continue
        expressions: dict[int, Expression] = {}
        for key, value in raw.items():
            where = f"video {video_id} expression {key}"
            if not re.fullmatch(r"\d+", str(key)):
                report.error(name, where, "exp_id", f"expected the string of an int, but got {key!r}")
                continue
            exp_id = int(key)
            if exp_id in expressions:
                report.error(name, where, "exp_id", "duplicate exp id")
                continue
            if not isinstance(value, dict):
                report.error(name, where, "", f"expected an object, but got {type(value).__name__}")
                continue
            expression = _expression(name, video_id, exp_id, value, report, no_target=no_target)
            if expression is not None:
                expressions[exp_id] = expression
        videos[video_id] = Video(video_id, tuple(frames), expressions)
    return videos


def read_mask_dict(path: Path, report: Findings) -> dict[int, list[rle_ops.Rle | None]]:
    """``mask_dict.json`` by anno id: the RLE dicts as given (``counts`` checked later), ``None`` = absent."""
    name = str(path)
    data = load_json(path, report)
    if data is None:
        return {}
    if not isinstance(data, dict):
        report.error(name, "", "", "expected an object {anno_id: [RLE or null per frame]}")
        return {}
    masks: dict[int, list[rle_ops.Rle | None]] = {}
    for key, entries in data.items():
        record = f"anno_id {key}"
        if not re.fullmatch(r"\d+", str(key)):
            report.error(name, record, "anno_id", f"expected the string of an int, but got {key!r}")
            continue
        if not isinstance(entries, list):
            report.error(name, record, "", f"expected a list of RLE or null, but got {type(entries).__name__}")
            continue
        parsed: list[rle_ops.Rle | None] = []
        for index, entry in enumerate(entries):
            if entry is None:
                parsed.append(None)
                continue
            size = entry.get("size") if isinstance(entry, dict) else None
            counts = entry.get("counts") if isinstance(entry, dict) else None
            if (not isinstance(size, list) or len(size) != 2
                    or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in size)
                    or not isinstance(counts, (str, list))):
                report.error(name, f"{record} entry {index}", "", 'expected {"size": [h, w], "counts": ...} or null')
                parsed.append(None)
                continue
            if isinstance(counts, list):  # uncompressed RLE: converted (and checked) now
                try:
                    parsed.append(rle_ops.normalize(entry))
                except rle_ops.MaskError as exc:
                    report.error(name, f"{record} entry {index}", "counts", str(exc))
                    parsed.append(None)
                continue
            parsed.append({"size": [size[0], size[1]], "counts": counts})
        masks[int(key)] = parsed
    return masks


# ------------------------------------------------------------------------------------------ checking


def check_masks(release: Release, report: Findings) -> dict[int, str]:
    """Every expression's anno ids exist in ``mask_dict`` with one entry per frame of its video, each
    anno id belongs to one video; returns anno id -> its video (of the anno ids that passed)."""
    owner: dict[int, str] = {}
    seen: set[int] = set()
    meta_file = Path(release.meta_path).name
    for video in release.videos.values():
        for expression in video.expressions.values():
            for anno in expression.anno_ids:
                if anno not in release.masks:
                    report.error(release.meta_path, expression.record, "anno_id", f"anno_id {anno} not in {MASK_FILE}")
                    continue
                if owner.get(anno, video.video_id) != video.video_id:
                    report.error(release.meta_path, expression.record, "anno_id",
                                 f"anno_id {anno} also belongs to video {owner[anno]}")
                    continue
                if anno in seen:
                    continue
                seen.add(anno)
                count = len(release.masks[anno])
                if count != len(video.frames):
                    report.error(release.mask_path, f"{expression.record} anno_id {anno}", "frames",
                                 f"{count} entries, but {meta_file} lists {len(video.frames)} frames for the video")
                    continue
                owner[anno] = video.video_id
    return owner


def check_frames(release: Release, report: Findings) -> None:
    """Every frame file exists and all have one size (read from JPEG headers), kept in ``release.sizes``."""
    for video in release.videos.values():
        folder = release.split_dir / FRAMES_FOLDER / video.video_id
        record = f"video {video.video_id}"
        try:
            present = set(os.listdir(folder))
        except OSError:
            report.error(str(folder), record, "frames", "frame folder not found")
            continue
        missing = [f"{name}{FRAME_SUFFIX}" for name in video.frames if f"{name}{FRAME_SUFFIX}" not in present]
        if missing:
            report.error(str(folder), record, "frames",
                         f"{len(missing)} of {len(video.frames)} frame file(s) missing: {listing(missing)}")
            continue
        sizes: dict[tuple[int, int], list[str]] = {}
        total = 0
        for name in video.frames:
            path = folder / f"{name}{FRAME_SUFFIX}"
            try:
                with PILImage.open(path) as image:
                    width, height = image.size
                total += path.stat().st_size
            except Exception as exc:  # PIL raises many types for broken files
                report.error(str(path), record, "frames", f"unreadable image: {exc}")
                break
            sizes.setdefault((height, width), []).append(name)
        else:
            first = next(iter(sizes))
            release.sizes[video.video_id] = first
            release.frame_bytes[video.video_id] = total
            for size, names in list(sizes.items())[1:]:
                report.error(str(folder), record, "frames",
                             f"frame(s) {listing(names)} are {size[0]}x{size[1]}, frame {video.frames[0]} is "
                             f"{first[0]}x{first[1]}")


def check_rles(release: Release, owner: Mapping[int, str], report: Findings, *, with_frames: bool) -> None:
    """RLE sizes equal the frames' (without frames: agree within each video, and set ``release.sizes``)
    and every ``counts`` string covers exactly ``h * w`` pixels."""
    first_use: dict[int, Expression] = {}
    for video in release.videos.values():
        for expression in video.expressions.values():
            for anno in expression.anno_ids:
                if owner.get(anno) == video.video_id:
                    first_use.setdefault(anno, expression)
    by_video: dict[str, list[int]] = {}
    for anno, expression in first_use.items():
        by_video.setdefault(expression.video_id, []).append(anno)
    counts: list[str] = []
    pixels: list[int] = []
    places: list[tuple[int, int]] = []
    for video_id, annos in by_video.items():
        video = release.videos[video_id]
        if not with_frames:
            found = Counter(tuple(rle["size"]) for anno in annos for rle in release.masks[anno] if rle is not None)
            if len(found) > 1:
                shown = ", ".join(f"{h}x{w} ({n} masks)" for (h, w), n in found.most_common())
                report.error(release.mask_path, f"video {video_id}", "size",
                             f"masks of one video have different sizes: {shown}; without frames they must agree")
                continue
            if not found:
                report.error(release.mask_path, f"video {video_id}", "size",
                             "no frame size: every mask of the video is null and frames are not read")
                continue
            (height, width), = found
            release.sizes[video_id] = (height, width)
        if video_id not in release.sizes:
            continue  # its frames were reported
        height, width = release.sizes[video_id]
        for anno in annos:
            wrong = [(name, rle["size"]) for name, rle in zip(video.frames, release.masks[anno])
                     if rle is not None and tuple(rle["size"]) != (height, width)]
            if wrong:
                report.error(release.mask_path, f"{first_use[anno].record} anno_id {anno}", "size",
                             f"RLE size {wrong[0][1]} at frame(s) {listing(n for n, _ in wrong)}, "
                             f"but the frames are [{height}, {width}]")
                continue
            for index, rle in enumerate(release.masks[anno]):
                if rle is not None:
                    counts.append(rle["counts"])
                    pixels.append(height * width)
                    places.append((anno, index))
    for problem, (anno, index) in zip(rle_ops.check_counts_many(counts, pixels), places):
        if problem is not None:
            expression = first_use[anno]
            frame = release.videos[expression.video_id].frames[index]
            report.error(release.mask_path, f"{expression.record} anno_id {anno} frame {frame}", "counts", problem)


# ------------------------------------------------------------------------------------------ rows


def union_masks(release: Release, video: Video, anno_ids: tuple[int, ...],
                cache: dict[tuple[int, ...], list[rle_ops.Rle]]) -> list[rle_ops.Rle]:
    """The union of ``anno_ids`` at each frame of ``video`` (pycocotools ``merge`` on the RLE, no pixels; the
    empty mask where none is present); ``cache`` holds the unions of one video by sorted anno ids."""
    key = tuple(sorted(set(anno_ids)))
    if key not in cache:
        height, width = release.sizes[video.video_id]
        empty = rle_ops.empty(height, width)
        masks = []
        for index in range(len(video.frames)):
            present = [rle for anno in key if (rle := release.masks[anno][index]) is not None]
            masks.append(empty if not present else present[0] if len(present) == 1
                         else rle_ops.union(present, height, width))
        cache[key] = masks
    return cache[key]


def video_row(release: Release, video: Video) -> dict[str, Any]:
    """One ``videos`` row: the frame files' bytes as they are."""
    folder = release.split_dir / FRAMES_FOLDER / video.video_id
    height, width = release.sizes[video.video_id]
    return {"video_id": video.video_id, "height": height, "width": width, "frame_names": list(video.frames),
            "frames": [{"bytes": (folder / f"{name}{FRAME_SUFFIX}").read_bytes(), "path": None}
                       for name in video.frames]}


def video_rows(release: Release) -> Iterator[tuple[str, dict[str, Any]]]:
    """``("videos", row)`` for every video of the release, in its order, each read when asked for."""
    for video in release.videos.values():
        logger.info("frames of video %s", video.video_id)
        yield "videos", video_row(release, video)
