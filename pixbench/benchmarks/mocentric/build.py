"""MoCentric-Bench: MeViS ``valid_u`` expressions with keyframes and reversed-motion texts, as a hub folder.

Raw inputs (the package ships none of them; MeViS is CC BY-NC-SA 4.0):
- the MeViS root ``ROOT/<split>/``: ``JPEGImages/<video_id>/<NNNNN>.jpg``, ``meta_expressions.json``
  (``{"videos": {vid: {"vid_id", "frames": [names], "expressions": {"<exp_id>": {"exp", "obj_id",
  "anno_id"}}}}}``) and ``mask_dict.json`` (``{"<anno_id>": [COCO RLE or null, one per frame]}``);
- the keyframe csv (``,video_name,frame,exp_id``; the number of ``frame``'s base name names the keyframe,
  the path is never opened; an expression without a row gets frame index 0, flagged per row);
- the reversed-expressions json (the schema of ``meta_expressions.json``; ids, ``obj_id`` and ``anno_id``
  as the original's).

Output configs (``data/test-<config>-NNNNN-of-MMMMM.parquet``): ``expressions`` (default, one row per
original expression), ``reversed`` (one row per reversed expression) and ``videos`` (the original JPEG
bytes, not re-encoded; absent without frames). Expression rows are in the video order of
``meta_expressions.json`` (MeViS's own order, also the keyframe csv's), then by exp id as an int. The
ground truth of frame t is the union (pycocotools ``merge``) of the expression's ``anno_id`` masks at t;
absent objects contribute nothing and a frame with none is the empty RLE. Rows are written video by
video, so a build never holds more than one video's frames in memory. A build that fails while writing
(a full disk) drops its open shards quietly and leaves the output folder as it was
(:func:`common.staged_build`); the error reaches the caller once.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import pyarrow.parquet as pq
from datasets import Features, Image, List, Value
from PIL import Image as PILImage

from pixbench.annotation import rle as rle_ops
from pixbench.annotation.findings import Findings
from pixbench.builds import folders as common
from pixbench.builds.folders import RLE_FEATURE, BuildResult, ConfigSpec
from pixbench.builds.layout import SPLIT

#: The dataset card template this builder fills (package data beside it).
CARD_TEMPLATE = Path(__file__).with_name("card.md")

logger = logging.getLogger(__name__)

NAME = "mocentric"
HUB_ID = "IVUlab/MoCentric-Bench"
MEVIS_SPLIT = "valid_u"
META_FILE = "meta_expressions.json"
MASK_FILE = "mask_dict.json"
FRAMES_FOLDER = "JPEGImages"
FRAME_SUFFIX = ".jpg"
KEYFRAME_COLUMNS = ("video_name", "frame", "exp_id")
#: A videos shard is closed before it would pass this many bytes of frames (one row group per video).
MAX_VIDEO_SHARD_BYTES = 400 * 2**20

EXPRESSION_FEATURES = Features({
    "id": Value("string"),
    "video_id": Value("string"),
    "exp_id": Value("int32"),
    "expression": Value("string"),
    "obj_ids": List(Value("int32")),
    "anno_ids": List(Value("int32")),
    "height": Value("int32"),
    "width": Value("int32"),
    "frame_names": List(Value("string")),
    "keyframe": Value("int32"),
    "keyframe_from_csv": Value("bool"),
    "masks": List(RLE_FEATURE),
})
VIDEO_FEATURES = Features({
    "video_id": Value("string"),
    "height": Value("int32"),
    "width": Value("int32"),
    "frame_names": List(Value("string")),
    "frames": List(Image()),
})
CONFIGS = (ConfigSpec("expressions", f"{SPLIT}-expressions", default=True),
           ConfigSpec("reversed", f"{SPLIT}-reversed"),
           ConfigSpec("videos", f"{SPLIT}-videos"))
FEATURES = {"expressions": EXPRESSION_FEATURES, "reversed": EXPRESSION_FEATURES, "videos": VIDEO_FEATURES}


def shard_pattern(config: str) -> str:
    """The shards of a config, relative to a built folder: ``data/test-expressions-*.parquet``."""
    spec = next((c for c in CONFIGS if c.name == config), None)
    if spec is None:
        raise ValueError(f"unknown MoCentric-Bench config {config!r} (expected one of {[c.name for c in CONFIGS]})")
    return f"{common.DATA_FOLDER}/{spec.shard_prefix}-*.parquet"


# ------------------------------------------------------------------------------------------ reading


@dataclass(frozen=True)
class Expression:
    """One expression of a ``meta_expressions.json``-style file."""

    video_id: str
    exp_id: int
    text: str
    obj_ids: tuple[int, ...]
    anno_ids: tuple[int, ...]

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


@dataclass(frozen=True)
class Keyframe:
    """One keyframe csv row: the frame number of its ``frame`` base name."""

    video_id: str
    exp_id: int
    number: int
    line: int


@dataclass
class Inputs:
    """Everything read and linked; ``sizes`` is ``(height, width)`` per video, ``frame_bytes`` the size
    of its frame files (only when frames were read)."""

    split_dir: Path
    meta_path: str
    mask_path: str
    keyframes_path: str
    reversed_path: str
    videos: dict[str, Video] = field(default_factory=dict)
    reversed: dict[str, Video] = field(default_factory=dict)
    masks: dict[int, list[rle_ops.Rle | None]] = field(default_factory=dict)
    keyframes: dict[tuple[str, int], Keyframe] = field(default_factory=dict)
    sizes: dict[str, tuple[int, int]] = field(default_factory=dict)
    frame_bytes: dict[str, int] = field(default_factory=dict)

    def keyframe(self, video: Video, exp_id: int) -> tuple[int, bool]:
        """``(index into the frames, from the csv)``; index 0 when the csv has no row."""
        row = self.keyframes.get((video.video_id, exp_id))
        if row is None:
            return 0, False
        return _frame_numbers(video)[row.number], True


def _frame_numbers(video: Video) -> dict[int, int]:
    """Frame number (of a digits-only name) -> index in the frame list."""
    return {int(name): index for index, name in enumerate(video.frames) if name.isdigit()}


def _load_json(path: Path, report: Findings) -> Any:
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except FileNotFoundError:
        report.error(str(path), "", "", "file not found")
    except (UnicodeDecodeError, ValueError) as exc:
        report.error(str(path), "", "", f"not valid JSON: {exc}")
    return None


def _int_list(value: Any) -> tuple[int, ...] | None:
    if not isinstance(value, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        return None
    return tuple(value)


def read_meta(path: Path, report: Findings) -> dict[str, Video]:
    """The videos of a ``meta_expressions.json``-style file, in file order; problems go to ``report``."""
    name = str(path)
    data = _load_json(path, report)
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
            text, obj_ids, anno_ids = value.get("exp"), _int_list(value.get("obj_id")), _int_list(value.get("anno_id"))
            problems = [(f, message) for f, bad, message in (
                ("exp", not isinstance(text, str), f"expected a string, but got {value.get('exp')!r}"),
                ("obj_id", obj_ids is None, f"expected a list of ints, but got {value.get('obj_id')!r}"),
                ("anno_id", anno_ids is None, f"expected a list of ints, but got {value.get('anno_id')!r}"))
                if bad]
            for f, message in problems:
                report.error(name, where, f, message)
            if problems or obj_ids is None or anno_ids is None:
                continue
            expression = Expression(video_id, exp_id, str(text), obj_ids, anno_ids)
            if not anno_ids:
                report.warning(name, where, "anno_id", "no anno_id: the ground truth is empty in every frame")
            elif len(obj_ids) != len(anno_ids):
                report.warning(name, where, "obj_id", f"{len(obj_ids)} obj_id(s) for {len(anno_ids)} anno_id(s)")
            expressions[exp_id] = expression
        videos[video_id] = Video(video_id, tuple(frames), expressions)
    return videos


def read_mask_dict(path: Path, report: Findings) -> dict[int, list[rle_ops.Rle | None]]:
    """``mask_dict.json`` by anno id: the RLE dicts as given (``counts`` checked later), ``None`` = absent."""
    name = str(path)
    data = _load_json(path, report)
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


def read_keyframes(path: Path, report: Findings) -> dict[tuple[str, int], Keyframe]:
    """Keyframe csv rows by ``(video_name, exp_id)``; the frame number comes from ``frame``'s base name."""
    name = str(path)
    rows: dict[tuple[str, int], Keyframe] = {}
    for row in common.read_csv_rows(path, KEYFRAME_COLUMNS, report):
        line = int(row["__line__"])
        video_id = row["video_name"].strip()
        exp_id = common.parse_int(row["exp_id"], name, f"line {line} (video {video_id})", "exp_id", report)
        if exp_id is None:
            continue
        record = f"line {line} (video {video_id} expression {exp_id})"
        frame = PurePosixPath(row["frame"].strip().replace("\\", "/"))
        match = re.fullmatch(r"(\d+)\.(jpe?g|png)", frame.name, flags=re.IGNORECASE)
        if match is None:
            report.error(name, record, "frame", f"expected a frame file name NNNNN.jpg, but got {row['frame']!r}")
            continue
        if (video_id, exp_id) in rows:
            report.error(name, record, "exp_id", f"duplicate row (first on line {rows[video_id, exp_id].line})")
            continue
        if frame.parent.name and frame.parent.name != video_id:
            report.warning(name, record, "frame", f"path {row['frame']!r} is in another video's folder")
        rows[video_id, exp_id] = Keyframe(video_id, exp_id, int(match.group(1)), line)
    return rows


# ------------------------------------------------------------------------------------------ checking


def _listing(names: Iterable[str], limit: int = 5) -> str:
    items = list(names)
    return ", ".join(items[:limit]) + (f" and {len(items) - limit} more" if len(items) > limit else "")


def check_masks(inputs: Inputs, report: Findings) -> dict[int, str]:
    """Every expression's anno ids exist in ``mask_dict`` with one entry per frame of its video, each
    anno id belongs to one video; returns anno id -> its video (of the anno ids that passed)."""
    owner: dict[int, str] = {}
    seen: set[int] = set()
    for video in inputs.videos.values():
        for expression in video.expressions.values():
            for anno in expression.anno_ids:
                if anno not in inputs.masks:
                    report.error(inputs.meta_path, expression.record, "anno_id", f"anno_id {anno} not in {MASK_FILE}")
                    continue
                if owner.get(anno, video.video_id) != video.video_id:
                    report.error(inputs.meta_path, expression.record, "anno_id",
                                 f"anno_id {anno} also belongs to video {owner[anno]}")
                    continue
                if anno in seen:
                    continue
                seen.add(anno)
                count = len(inputs.masks[anno])
                if count != len(video.frames):
                    report.error(inputs.mask_path, f"{expression.record} anno_id {anno}", "frames",
                                 f"{count} entries, but {META_FILE} lists {len(video.frames)} frames for the video")
                    continue
                owner[anno] = video.video_id
    return owner


def check_frames(inputs: Inputs, report: Findings) -> None:
    """Every frame file exists and all have one size (read from JPEG headers), kept in ``inputs.sizes``."""
    for video in inputs.videos.values():
        folder = inputs.split_dir / FRAMES_FOLDER / video.video_id
        record = f"video {video.video_id}"
        try:
            present = set(os.listdir(folder))
        except OSError:
            report.error(str(folder), record, "frames", "frame folder not found")
            continue
        missing = [f"{name}{FRAME_SUFFIX}" for name in video.frames if f"{name}{FRAME_SUFFIX}" not in present]
        if missing:
            report.error(str(folder), record, "frames",
                         f"{len(missing)} of {len(video.frames)} frame file(s) missing: {_listing(missing)}")
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
            inputs.sizes[video.video_id] = first
            inputs.frame_bytes[video.video_id] = total
            for size, names in list(sizes.items())[1:]:
                report.error(str(folder), record, "frames",
                             f"frame(s) {_listing(names)} are {size[0]}x{size[1]}, frame {video.frames[0]} is "
                             f"{first[0]}x{first[1]}")


def check_rles(inputs: Inputs, owner: Mapping[int, str], report: Findings, *, with_frames: bool) -> None:
    """RLE sizes equal the frames' (without frames: agree within each video, and set ``inputs.sizes``)
    and every ``counts`` string covers exactly ``h * w`` pixels."""
    first_use: dict[int, Expression] = {}
    for video in inputs.videos.values():
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
        video = inputs.videos[video_id]
        if not with_frames:
            found = Counter(tuple(rle["size"]) for anno in annos for rle in inputs.masks[anno] if rle is not None)
            if len(found) > 1:
                shown = ", ".join(f"{h}x{w} ({n} masks)" for (h, w), n in found.most_common())
                report.error(inputs.mask_path, f"video {video_id}", "size",
                             f"masks of one video have different sizes: {shown}; without frames they must agree")
                continue
            if not found:
                report.error(inputs.mask_path, f"video {video_id}", "size",
                             "no frame size: every mask of the video is null and frames are not read")
                continue
            (height, width), = found
            inputs.sizes[video_id] = (height, width)
        if video_id not in inputs.sizes:
            continue  # its frames were reported
        height, width = inputs.sizes[video_id]
        for anno in annos:
            wrong = [(name, rle["size"]) for name, rle in zip(video.frames, inputs.masks[anno])
                     if rle is not None and tuple(rle["size"]) != (height, width)]
            if wrong:
                report.error(inputs.mask_path, f"{first_use[anno].record} anno_id {anno}", "size",
                             f"RLE size {wrong[0][1]} at frame(s) {_listing(n for n, _ in wrong)}, "
                             f"but the frames are [{height}, {width}]")
                continue
            for index, rle in enumerate(inputs.masks[anno]):
                if rle is not None:
                    counts.append(rle["counts"])
                    pixels.append(height * width)
                    places.append((anno, index))
    for problem, (anno, index) in zip(rle_ops.check_counts_many(counts, pixels), places):
        if problem is not None:
            expression = first_use[anno]
            frame = inputs.videos[expression.video_id].frames[index]
            report.error(inputs.mask_path, f"{expression.record} anno_id {anno} frame {frame}", "counts", problem)


def check_keyframes(inputs: Inputs, report: Findings) -> None:
    """Every keyframe row names a known video, expression and frame of that video."""
    for (video_id, exp_id), row in inputs.keyframes.items():
        record = f"line {row.line} (video {video_id} expression {exp_id})"
        video = inputs.videos.get(video_id)
        if video is None:
            report.error(inputs.keyframes_path, record, "video_name", f"unknown video: not in {META_FILE}")
        elif exp_id not in video.expressions:
            report.error(inputs.keyframes_path, record, "exp_id", f"unknown expression: not in {META_FILE}")
        elif row.number not in _frame_numbers(video):
            report.error(inputs.keyframes_path, record, "frame",
                         f"frame {row.number:05d} is not one of the video's {len(video.frames)} frames "
                         f"({video.frames[0]}..{video.frames[-1]})")
    for video in inputs.videos.values():
        for exp_id, expression in video.expressions.items():
            if (video.video_id, exp_id) not in inputs.keyframes:
                report.warning(inputs.keyframes_path, expression.record, "exp_id",
                               "no keyframe row: frame index 0 is used")


def check_reversed(inputs: Inputs, report: Findings) -> None:
    """Reversed expressions name known videos and expressions, with the original's frames and ids."""
    name = inputs.reversed_path
    for video_id, rev in inputs.reversed.items():
        video = inputs.videos.get(video_id)
        if video is None:
            report.error(name, f"video {video_id}", "", f"unknown video: not in {META_FILE}")
            continue
        if rev.frames != video.frames:
            report.error(name, f"video {video_id}", "frames",
                         f"{len(rev.frames)} frames ({rev.frames[0]}..{rev.frames[-1]}) differ from the "
                         f"{len(video.frames)} of {META_FILE} ({video.frames[0]}..{video.frames[-1]})")
        texts: dict[str, int] = {}
        for exp_id, expression in rev.expressions.items():
            original = video.expressions.get(exp_id)
            if original is None:
                report.error(name, expression.record, "exp_id", f"unknown expression: not in {META_FILE}")
                continue
            for field_name, ours, theirs in (("anno_id", expression.anno_ids, original.anno_ids),
                                             ("obj_id", expression.obj_ids, original.obj_ids)):
                if ours != theirs:
                    report.error(name, expression.record, field_name,
                                 f"{list(ours)} differs from the original expression's {list(theirs)}")
            if expression.text in texts:
                report.warning(name, expression.record, "exp",
                               f"duplicate text: same as reversed expression {texts[expression.text]} "
                               f"({expression.text!r})")
            texts.setdefault(expression.text, exp_id)
            if expression.text == original.text:
                report.warning(name, expression.record, "exp", "same text as the original expression")
    for video_id in inputs.videos:
        if video_id not in inputs.reversed:
            report.warning(name, f"video {video_id}", "", "video missing (no reversed expressions)")


def read_inputs(*, mevis_root: Path, keyframes: Path, reverse_expressions: Path, split: str = MEVIS_SPLIT,
                with_frames: bool, report: Findings) -> Inputs:
    """Read and cross-check all inputs (frame files only ``with_frames``); problems go to ``report``."""
    split_dir = mevis_root / split
    inputs = Inputs(split_dir, str(split_dir / META_FILE), str(split_dir / MASK_FILE), str(keyframes),
                    str(reverse_expressions))
    inputs.videos = read_meta(split_dir / META_FILE, report)
    inputs.masks = read_mask_dict(split_dir / MASK_FILE, report)
    inputs.keyframes = read_keyframes(keyframes, report)
    inputs.reversed = read_meta(reverse_expressions, report)
    owner = check_masks(inputs, report)
    if with_frames:
        check_frames(inputs, report)
    check_rles(inputs, owner, report, with_frames=with_frames)
    check_keyframes(inputs, report)
    check_reversed(inputs, report)
    return inputs


# ------------------------------------------------------------------------------------------ rows


def _masks_of(inputs: Inputs, video: Video, anno_ids: tuple[int, ...],
              cache: dict[tuple[int, ...], list[rle_ops.Rle]]) -> list[rle_ops.Rle]:
    """The union of ``anno_ids`` at each frame (pycocotools ``merge`` on the RLE, no pixels)."""
    key = tuple(sorted(set(anno_ids)))
    if key not in cache:
        height, width = inputs.sizes[video.video_id]
        empty = rle_ops.empty(height, width)
        masks = []
        for index in range(len(video.frames)):
            present = [rle for anno in key if (rle := inputs.masks[anno][index]) is not None]
            masks.append(empty if not present else present[0] if len(present) == 1
                         else rle_ops.union(present, height, width))
        cache[key] = masks
    return cache[key]


def expression_row(inputs: Inputs, video: Video, expression: Expression,
                   cache: dict[tuple[int, ...], list[rle_ops.Rle]]) -> dict[str, Any]:
    """One row of the ``expressions`` / ``reversed`` configs."""
    height, width = inputs.sizes[video.video_id]
    keyframe, from_csv = inputs.keyframe(video, expression.exp_id)
    return {"id": expression.id, "video_id": video.video_id, "exp_id": expression.exp_id,
            "expression": expression.text, "obj_ids": list(expression.obj_ids), "anno_ids": list(expression.anno_ids),
            "height": height, "width": width, "frame_names": list(video.frames), "keyframe": keyframe,
            "keyframe_from_csv": from_csv, "masks": _masks_of(inputs, video, expression.anno_ids, cache)}


def expression_rows(inputs: Inputs) -> Iterator[tuple[str, dict[str, Any]]]:
    """``(config, row)`` for both expression configs, video by video (meta order), exp ids ascending."""
    for video in inputs.videos.values():
        cache: dict[tuple[int, ...], list[rle_ops.Rle]] = {}
        for exp_id in sorted(video.expressions):
            yield "expressions", expression_row(inputs, video, video.expressions[exp_id], cache)
        reversed_expressions = inputs.reversed[video.video_id].expressions if video.video_id in inputs.reversed else {}
        for exp_id in sorted(reversed_expressions):
            yield "reversed", expression_row(inputs, video, reversed_expressions[exp_id], cache)


def video_row(inputs: Inputs, video: Video) -> dict[str, Any]:
    """One ``videos`` row: the frame files' bytes as they are."""
    folder = inputs.split_dir / FRAMES_FOLDER / video.video_id
    height, width = inputs.sizes[video.video_id]
    return {"video_id": video.video_id, "height": height, "width": width, "frame_names": list(video.frames),
            "frames": [{"bytes": (folder / f"{name}{FRAME_SUFFIX}").read_bytes(), "path": None}
                       for name in video.frames]}


# ------------------------------------------------------------------------------------------ summary


def summarize(inputs: Inputs, report: Findings, *, with_frames: bool | None) -> dict[str, Any]:
    """Counts for the card and the console (``with_frames=None``: a check without frames)."""
    expressions = [e for v in inputs.videos.values() for e in v.expressions.values()]
    reversed_ = [e for v in inputs.reversed.values() for e in v.expressions.values() if e.video_id in inputs.videos]
    fallbacks = [e.id for e in expressions if (e.video_id, e.exp_id) not in inputs.keyframes]
    numbers = sorted(row.number for row in inputs.keyframes.values())
    sizes = Counter(f"{h}x{w}" for h, w in inputs.sizes.values())
    referenced = {a for e in expressions for a in e.anno_ids}
    extra: dict[str, Any] = {"split": inputs.split_dir.name}
    if with_frames is not None:
        extra["frames_embedded"] = with_frames
    extra.update({
        "videos": len(inputs.videos),
        "frames": sum(len(v.frames) for v in inputs.videos.values()),
        "frame_sizes": dict(sorted(sizes.items())),
        "expressions": len(expressions),
        "multi_object_expressions": sum(1 for e in expressions if len(set(e.anno_ids)) > 1),
        "reversed_expressions": len(reversed_),
        "videos_with_reversed": len({e.video_id for e in reversed_}),
        "keyframe_rows": len(inputs.keyframes),
        "keyframes_from_csv": len(expressions) - len(fallbacks),
        "keyframe_fallbacks": len(fallbacks),
        "keyframe_fallback_ids": fallbacks,
        "reversed_keyframe_fallback_ids": [e.id for e in reversed_ if (e.video_id, e.exp_id) not in inputs.keyframes],
        "keyframe_frames": [f"{numbers[0]:05d}", f"{numbers[-1]:05d}"] if numbers else [],
        "expressions_absent_in_every_frame": [e.id for e in expressions
                                              if all(inputs.masks.get(a) is None or
                                                     all(m is None for m in inputs.masks[a]) for a in e.anno_ids)],
        "unreferenced_anno_ids": len(set(inputs.masks) - referenced),
        "warnings": dict(sorted(report.counts_by_message().items())),
    })
    return common.summary_header(NAME, len(expressions), extra)


# ------------------------------------------------------------------------------------------ writing


class _ShardWriter:
    """Rows of one config into ``data/<prefix>-NNNNN-of-MMMMM.parquet``, streamed: ``shard_rows[k]`` rows
    in shard k, row groups of ``group_rows`` rows (never across shards), zstd, statistics, the
    ``datasets`` features in the schema metadata, as :func:`common.write_hub_folder` writes them."""

    def __init__(self, staging: Path, prefix: str, features: Features, shard_rows: list[int], group_rows: int) -> None:
        self.staging, self.prefix, self.features = staging, prefix, features
        self.shard_rows, self.group_rows = shard_rows or [0], group_rows
        self.files: list[str] = []
        self.num_bytes = 0
        self.rows = 0
        self._buffer: list[dict[str, Any]] = []
        self._writer: pq.ParquetWriter | None = None
        self._left = 0

    def _open(self) -> None:
        index, count = len(self.files), len(self.shard_rows)
        relative = f"{common.DATA_FOLDER}/{self.prefix}-{index:05d}-of-{count:05d}.parquet"
        self._writer = pq.ParquetWriter(self.staging / relative, self.features.arrow_schema, compression="zstd",
                                        write_statistics=True)
        self.files.append(relative)
        self._left = self.shard_rows[index]

    def _flush(self) -> None:
        if self._buffer:
            assert self._writer is not None
            table = common.rows_to_table(self._buffer, self.features)
            self.num_bytes += table.nbytes
            self._writer.write_table(table, row_group_size=len(self._buffer))
            self._buffer = []

    def add(self, row: Mapping[str, Any]) -> None:
        if self._writer is None or self._left == 0:
            self.close_shard()
            if len(self.files) == len(self.shard_rows):
                raise ValueError(f"more rows than planned for {self.prefix} ({sum(self.shard_rows)})")
            self._open()
        self._buffer.append(dict(row))
        self._left -= 1
        self.rows += 1
        if len(self._buffer) == self.group_rows or self._left == 0:
            self._flush()

    def close_shard(self) -> None:
        self._flush()
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def abort(self) -> None:
        """Drop the open shard after a failure (a full disk): its file is left to the staging folder's removal.
        The footer is not written and nothing is raised, so the writer's ``__del__`` has nothing left to
        report (pyarrow's would try to close it again and print ``Exception ignored in ...``)."""
        writer, self._writer, self._buffer = self._writer, None, []
        if writer is None:
            return
        try:
            writer.close()
        except OSError as exc:
            logger.debug("closing %s after a failure: %s", self.prefix, exc)
        finally:
            writer.is_open = False  # a failed close leaves it open: never retried by __del__
            handle = getattr(writer, "file_handle", None)
            if handle is not None:
                with contextlib.suppress(OSError):
                    handle.close()

    def close(self) -> list[str]:
        self.close_shard()
        while len(self.files) < len(self.shard_rows):  # an empty config still gets its (empty) shard
            self._open()
            self.close_shard()
        if self.rows != sum(self.shard_rows):
            raise ValueError(f"{self.rows} rows written for {self.prefix}, {sum(self.shard_rows)} planned")
        return self.files


def _row_shards(count: int) -> list[int]:
    return [min(common.ROWS_PER_SHARD, count - start) for start in range(0, count, common.ROWS_PER_SHARD)] or [0]


def _video_shards(inputs: Inputs) -> list[int]:
    """Videos per shard: a shard is closed before its frames would pass :data:`MAX_VIDEO_SHARD_BYTES`."""
    shards: list[int] = []
    size = 0
    for video_id in inputs.videos:
        frame_bytes = inputs.frame_bytes[video_id]
        if not shards or (size + frame_bytes > MAX_VIDEO_SHARD_BYTES and shards[-1] > 0):
            shards.append(0)
            size = 0
        shards[-1] += 1
        size += frame_bytes
    return shards or [0]


def write_folder(inputs: Inputs, out_dir: Path, *, summary: dict[str, Any], with_frames: bool,
                 force: bool) -> list[str]:
    """Stream the configs into a staging folder inside ``out_dir``, then move them into place (the
    card, summary and shards of an earlier build replaced, nothing else touched). Returns the files."""
    counts = {"expressions": summary["expressions"], "reversed": summary["reversed_expressions"]}
    specs = {spec.name: spec for spec in CONFIGS}
    with common.staged_build(out_dir, NAME, force=force) as staging:
        writers = {name: _ShardWriter(staging.path, specs[name].shard_prefix, FEATURES[name], _row_shards(count),
                                      common.ROWS_PER_ROW_GROUP) for name, count in counts.items()}
        try:
            for config, row in expression_rows(inputs):
                writers[config].add(row)
            if with_frames:
                writers["videos"] = _ShardWriter(staging.path, specs["videos"].shard_prefix, VIDEO_FEATURES,
                                                 _video_shards(inputs), 1)
                for video in inputs.videos.values():
                    logger.info("frames of video %s", video.video_id)
                    writers["videos"].add(video_row(inputs, video))
            staging.written += [path for writer in writers.values() for path in writer.close()]
        except BaseException:  # a full disk, an interrupt: every open shard dropped before the staging goes
            for writer in writers.values():
                writer.abort()
            raise
        staging.finish(render_card(summary, num_rows={name: w.rows for name, w in writers.items()},
                                   num_bytes={name: w.num_bytes for name, w in writers.items()}), summary)
    return staging.written


def render_card(summary: dict[str, Any], *, num_rows: Mapping[str, int], num_bytes: Mapping[str, int]) -> str:
    """The dataset card: YAML header (one entry per config written, each with its own features) and the
    template filled with the summary."""
    from huggingface_hub import DatasetCardData

    configs, infos = [], []
    for spec in CONFIGS:
        if spec.name not in num_rows:
            continue
        entry: dict[str, Any] = {"config_name": spec.name,
                                 "data_files": [{"split": SPLIT, "path": f"data/{spec.shard_prefix}-*.parquet"}]}
        if spec.default:
            entry["default"] = True
        configs.append(entry)
        infos.append({"config_name": spec.name, "features": FEATURES[spec.name]._to_yaml_list(),
                      "splits": [{"name": SPLIT, "num_bytes": num_bytes[spec.name],
                                  "num_examples": num_rows[spec.name]}],
                      "dataset_size": num_bytes[spec.name]})
    data = DatasetCardData(
        pretty_name="MoCentric-Bench", license="cc-by-nc-sa-4.0", language="en",
        task_categories=["image-segmentation"],
        size_categories="n<1K" if summary["expressions"] < 1000 else "1K<n<10K",
        configs=configs, dataset_info=infos,
        tags=["mevis", "referring-video-object-segmentation", "motion", "pixel-grounding"])
    videos = ("`videos` holds every frame of the build (the original JPEG bytes)." if "videos" in num_rows else
              "This build has no `videos` config (built with `--no-frames`): take the frames from MeViS.")
    body = common.fill_card(common.card_template(CARD_TEMPLATE), {"summary": common.format_summary_markdown(summary),
                                                         "videos": videos})
    return "---\n" + data.to_yaml() + "\n---\n" + body


# ------------------------------------------------------------------------------------------ entry points


def build(*, mevis_root: Path, keyframes: Path, reverse_expressions: Path, out_dir: Path, with_frames: bool = True,
          split: str = MEVIS_SPLIT, force: bool = False) -> BuildResult:
    """Build the MoCentric-Bench hub folder; raise :class:`AnnotationError` (nothing written) on any error.

    ``mevis_root`` holds ``<split>/meta_expressions.json``, ``<split>/mask_dict.json`` and (unless
    ``with_frames`` is false) ``<split>/JPEGImages/``. ``out_dir`` must be new, empty or an earlier
    MoCentric-Bench build, else :class:`common.OutDirError`; ``force`` writes into any folder.
    """
    plan = common.inspect_out_dir(out_dir, NAME, force=force)
    report = Findings()
    inputs = read_inputs(mevis_root=mevis_root, keyframes=keyframes, reverse_expressions=reverse_expressions,
                         split=split, with_frames=with_frames, report=report)
    common.ensure_no_errors(report, "MoCentric-Bench inputs")
    summary = summarize(inputs, report, with_frames=with_frames)
    files = write_folder(inputs, out_dir, summary=summary, with_frames=with_frames, force=force)
    return BuildResult(out_dir, summary, report, files, list(plan.left_in_place))


def check(*, mevis_root: Path, keyframes: Path, reverse_expressions: Path,
          split: str = MEVIS_SPLIT) -> tuple[Findings, dict[str, Any]]:
    """``check-annotations``: read and cross-check the json and csv files (frame sizes from the RLE;
    no frames needed)."""
    report = Findings()
    inputs = read_inputs(mevis_root=mevis_root, keyframes=keyframes, reverse_expressions=reverse_expressions,
                         split=split, with_frames=False, report=report)
    return report, summarize(inputs, report, with_frames=None)
