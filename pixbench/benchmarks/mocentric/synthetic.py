"""MoCentric-Bench's raw inputs made by pixbench itself (MeViS-shaped), for the demo, tests and timing scripts.

Two kinds, both written in the layout :mod:`.build` reads (``ROOT`` is ``--mevis``; the file and folder names
are the builder's):

- :func:`write_synthetic_mevis`: a small ``ROOT/valid_u`` of four videos of moving shapes (real JPEG
  frames drawn with PIL, 64x96 by default, any ``size`` such as 720x1280 for a benchmark), its
  ``meta_expressions.json`` and ``mask_dict.json`` (COCO compressed RLE per annotation id and frame,
  ``null`` where the object is absent), a reversed-expressions json and a keyframe csv in the formats of
  the released MoCentric-Bench files. It holds on purpose: multi-object expressions, overlapping
  objects, absent objects, a video without any reversed expression (``"expressions": {}``), duplicated
  reversed texts, an expression without a keyframe row, and different frame counts per video.
- :func:`write_mevis_for_release`: a fake ``valid_u`` fitted to the released keyframe csv and reversed
  json (the real MeViS videos and masks cannot be had here): their videos, frame lists and expression
  ids, with tiny flat frames and small moving boxes as masks.

The same arguments (``seed`` included) give byte-identical files.

File formats, as released:
- ``meta_expressions.json``: ``{"videos": {vid: {"vid_id": int, "frames": ["00000", ...], "expressions":
  {"<exp_id>": {"exp": str, "obj_id": [int], "anno_id": [int]}}}}}``, written with ``indent=4``;
- ``mask_dict.json``: ``{"<anno_id>": [{"size": [h, w], "counts": str} or null, one per frame]}``;
- the keyframe csv: header ``,video_name,frame,exp_id``, a pandas-style index column from 0, ``frame`` the
  relative path ``valid_u/JPEGImages/<vid>/<NNNNN>.jpg``, rows in video order and by exp id, ``\\n`` line ends.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from pixbench.annotation import rle as rle_ops
from pixbench.benchmarks.mevis_release import FRAMES_FOLDER, MASK_FILE, META_FILE, MEVIS_SPLIT

SPLIT = MEVIS_SPLIT
REVERSED_FILE = "meta_expressions_reverse_filtered.json"
KEYFRAMES_FILE = "mevis_keyframes.csv"


@dataclass(frozen=True)
class SyntheticMevis:
    """Paths of generated MeViS-shaped inputs and a few facts about them (for tests).

    ``root`` is the MeViS root (``--mevis``), ``split_dir`` = ``root/valid_u``; ``video_ids`` in the
    order of ``meta_expressions.json``; ``no_keyframe`` the ``"<vid>_<exp>"`` ids without a keyframe row.
    """

    root: Path
    split_dir: Path
    meta_expressions: Path
    mask_dict: Path
    reverse_expressions: Path
    keyframes: Path
    video_ids: tuple[str, ...]
    no_keyframe: tuple[str, ...]


@dataclass(frozen=True)
class _Shape:
    """A shape moving on a straight line: centre ``start + velocity * t`` in fractions of (width, height),
    half-size in fractions, present in frames ``present[0] <= t < present[1]``."""

    kind: str  # "box" or "disc"
    colour: tuple[int, int, int]
    start: tuple[float, float]
    velocity: tuple[float, float]
    half: tuple[float, float]
    present: tuple[int, int]


# One entry per video: frame count, shapes (obj_id = position), expressions (exp_id = position):
# (text, obj_ids), reversed expressions {exp_id: text}, exp ids without a keyframe row.
_VIDEOS: list[dict[str, Any]] = [
    {"frames": 7,
     "shapes": [_Shape("box", (220, 40, 40), (0.2, 0.5), (0.1, 0.0), (0.14, 0.18), (0, 7)),
                _Shape("disc", (40, 60, 220), (0.8, 0.5), (-0.1, 0.0), (0.12, 0.2), (0, 7)),
                _Shape("box", (40, 200, 60), (0.5, 0.15), (0.0, 0.1), (0.1, 0.12), (2, 7))],
     "expressions": [("the red box moving right", [0]), ("the blue ball moving left", [1]),
                     ("the two shapes passing each other", [0, 1]), ("the green box falling", [2]),
                     ("all the moving shapes", [0, 1, 2])],
     "reversed": {0: "the red box moving left", 2: "the two shapes moving apart", 3: "the green box rising"},
     "no_keyframe": []},
    {"frames": 5,
     "shapes": [_Shape("disc", (230, 210, 40), (0.3, 0.8), (0.0, -0.12), (0.12, 0.16), (0, 5)),
                _Shape("box", (200, 40, 200), (0.7, 0.4), (0.0, 0.0), (0.12, 0.2), (0, 3))],
     "expressions": [("the yellow ball moving up", [0]), ("the box that disappears", [1]),
                     ("the ball and the box", [0, 1])],
     "reversed": {1: "the box that appears"},
     "no_keyframe": [2]},
    {"frames": 9,
     "shapes": [_Shape("box", (40, 210, 210), (0.2, 0.2), (0.07, 0.07), (0.1, 0.12), (0, 9)),
                _Shape("disc", (240, 140, 30), (0.15, 0.75), (0.08, 0.0), (0.1, 0.14), (0, 9))],
     "expressions": [("the box moving to the bottom right", [0]), ("the orange ball moving right", [1])],
     "reversed": {},
     "no_keyframe": []},
    {"frames": 6,
     "shapes": [_Shape("box", (235, 235, 235), (0.75, 0.5), (-0.06, 0.0), (0.2, 0.3), (0, 6)),
                _Shape("disc", (130, 40, 160), (0.8, 0.5), (-0.1, 0.0), (0.1, 0.14), (0, 6))],
     "expressions": [("the big box moving left", [0]), ("the purple ball moving left", [1]),
                     ("the shapes moving left", [0, 1]), ("the faster shape", [1])],
     "reversed": {0: "the shape moving right", 1: "the shape moving right", 3: "the faster shape moving right"},
     "no_keyframe": []},
]


def _video_ids(rng: np.random.Generator, count: int) -> list[str]:
    ids: list[str] = []
    while len(ids) < count:
        candidate = bytes(rng.integers(0, 256, size=6, dtype=np.uint8).tolist()).hex()
        if candidate not in ids:
            ids.append(candidate)
    return ids


def _background(height: int, width: int, rng: np.random.Generator) -> np.ndarray:
    base = rng.integers(50, 120, size=3)
    ramp_x = np.linspace(0, 60, width, dtype=np.float32)[None, :, None]
    ramp_y = np.linspace(0, 40, height, dtype=np.float32)[:, None, None]
    return np.clip(base[None, None, :] + ramp_x + ramp_y, 0, 255).astype(np.uint8)


def _box(shape: _Shape, t: int, height: int, width: int) -> tuple[float, float, float, float]:
    cx = (shape.start[0] + shape.velocity[0] * t) * width
    cy = (shape.start[1] + shape.velocity[1] * t) * height
    hw, hh = shape.half[0] * width, shape.half[1] * height
    return cx - hw, cy - hh, cx + hw, cy + hh


def _shape_mask(shape: _Shape, t: int, height: int, width: int) -> np.ndarray:
    canvas = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(canvas)
    box = _box(shape, t, height, width)
    (draw.rectangle if shape.kind == "box" else draw.ellipse)(box, fill=255)
    return np.asarray(canvas) > 0


def jpeg_bytes(array: np.ndarray, quality: int = 90) -> bytes:
    """An RGB ``uint8`` array encoded as JPEG by PIL."""
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def frame_name(index: int) -> str:
    """MeViS frame names: ``00000``, ``00001``, ..."""
    return f"{index:05d}"


def write_meta_json(path: Path, videos: Mapping[str, Any]) -> None:
    """A ``meta_expressions.json``-style file as released: ``indent=4``, ASCII, a final newline."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"videos": videos}, indent=4) + "\n", encoding="ascii")


def write_keyframes_csv(path: Path, rows: Iterable[tuple[str, str, int]], split: str = SPLIT) -> None:
    """The keyframe csv as released: ``,video_name,frame,exp_id`` and a pandas index; ``rows`` are
    ``(video_id, frame name, exp_id)``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["", "video_name", "frame", "exp_id"])
        for index, (video_id, frame, exp_id) in enumerate(rows):
            writer.writerow([index, video_id, f"{split}/{FRAMES_FOLDER}/{video_id}/{frame}.jpg", exp_id])


def _expression(text: str, obj_ids: Sequence[int], anno_of: Sequence[int]) -> dict[str, Any]:
    return {"exp": text, "obj_id": list(obj_ids), "anno_id": [anno_of[o] for o in obj_ids]}


def write_synthetic_mevis(root: Path, *, seed: int = 0, size: tuple[int, int] = (64, 96),
                          split: str = SPLIT, quality: int = 90) -> SyntheticMevis:
    """Write four videos of moving shapes in MeViS layout under ``root`` (see the module docstring).

    ``size`` is ``(height, width)`` of every frame; ``seed`` picks the video ids, backgrounds and
    keyframes. Frame counts are 7, 5, 9 and 6; annotation ids run from 0 over all videos.
    """
    height, width = size
    if height < 16 or width < 16:
        raise ValueError(f"Expected a frame size of at least 16x16, but got {height}x{width}")
    rng = np.random.default_rng(seed)
    split_dir = root / split
    ids = _video_ids(rng, len(_VIDEOS))
    meta: dict[str, Any] = {}
    reversed_meta: dict[str, Any] = {}
    mask_dict: dict[str, list[Any]] = {}
    keyframe_rows: list[tuple[str, str, int]] = []
    no_keyframe: list[str] = []
    next_anno = 0
    for vid_id, (video_id, plan) in enumerate(zip(ids, _VIDEOS)):
        count = plan["frames"]
        frames = [frame_name(t) for t in range(count)]
        anno_of = list(range(next_anno, next_anno + len(plan["shapes"])))
        next_anno += len(plan["shapes"])
        for anno in anno_of:
            mask_dict[str(anno)] = []
        folder = split_dir / FRAMES_FOLDER / video_id
        folder.mkdir(parents=True, exist_ok=True)
        background = _background(height, width, rng)
        for t, name in enumerate(frames):
            image = background.copy()
            for shape, anno in zip(plan["shapes"], anno_of):
                if shape.present[0] <= t < shape.present[1]:
                    mask = _shape_mask(shape, t, height, width)
                    image[mask] = shape.colour
                    mask_dict[str(anno)].append(dict(rle_ops.encode(mask)))
                else:
                    mask_dict[str(anno)].append(None)
            (folder / f"{name}.jpg").write_bytes(jpeg_bytes(image, quality))
        expressions = {str(e): _expression(text, objs, anno_of) for e, (text, objs) in enumerate(plan["expressions"])}
        meta[video_id] = {"vid_id": vid_id, "frames": frames, "expressions": expressions}
        reversed_meta[video_id] = {
            "vid_id": vid_id, "frames": frames,
            "expressions": {str(e): {**expressions[str(e)], "exp": text} for e, text in plan["reversed"].items()}}
        for exp_id in range(len(plan["expressions"])):
            keyframe = frame_name(int(rng.integers(0, count)))
            if exp_id in plan["no_keyframe"]:
                no_keyframe.append(f"{video_id}_{exp_id}")
            else:
                keyframe_rows.append((video_id, keyframe, exp_id))
    write_meta_json(split_dir / META_FILE, meta)
    (split_dir / MASK_FILE).write_text(json.dumps(mask_dict), encoding="utf-8")
    write_meta_json(split_dir / REVERSED_FILE, reversed_meta)
    write_keyframes_csv(root / KEYFRAMES_FILE, keyframe_rows, split)
    return SyntheticMevis(root, split_dir, split_dir / META_FILE, split_dir / MASK_FILE, split_dir / REVERSED_FILE,
                          root / KEYFRAMES_FILE, tuple(ids), tuple(no_keyframe))


def _moving_box(anno: int, t: int, height: int, width: int) -> np.ndarray:
    mask = np.zeros((height, width), dtype=np.uint8)
    top = (anno + t) % max(1, height - 2)
    left = (2 * anno + t) % max(1, width - 3)
    mask[top:top + 2, left:left + 3] = 1
    return mask


def write_mevis_for_release(root: Path, *, reverse_expressions: Path, keyframes: Path,
                            size: tuple[int, int] = (8, 12), split: str = SPLIT) -> SyntheticMevis:
    """A fake MeViS ``valid_u`` under ``root`` fitted to the released reversed json and keyframe csv.

    Videos, ``vid_id`` and frame lists are those of the reversed json. Each video's original expressions
    are ids ``0..m`` with ``m`` the largest id that the csv or the reversed json names for it; ids in the
    reversed json keep its ``obj_id`` / ``anno_id`` (and get the text ``"<reversed text> (original)"``),
    the others refer to the video's first object (a new anno id for a video without reversed
    expressions). Frames are flat ``size`` JPEGs (one encoding per video, written for every frame);
    each annotation is a 2x3 box moving one pixel a frame, absent in its video's last frame.
    The reversed json and csv are copied to ``split_dir`` and ``root`` byte for byte.
    """
    height, width = size
    released = json.loads(reverse_expressions.read_text(encoding="utf-8"))["videos"]
    with open(keyframes, newline="", encoding="utf-8") as handle:
        csv_rows = list(csv.DictReader(handle))
    csv_ids: dict[str, set[int]] = {}
    for row in csv_rows:
        csv_ids.setdefault(row["video_name"], set()).add(int(row["exp_id"]))
    split_dir = root / split
    next_anno = 1 + max((a for video in released.values() for e in video["expressions"].values()
                         for a in e["anno_id"]), default=-1)
    meta: dict[str, Any] = {}
    mask_dict: dict[str, list[Any]] = {}
    for number, (video_id, video) in enumerate(released.items()):
        frames = list(video["frames"])
        reversed_exps = {int(k): v for k, v in video["expressions"].items()}
        objects: dict[int, int] = {}
        for expression in reversed_exps.values():
            objects.update(zip(expression["obj_id"], expression["anno_id"]))
        if not objects:
            objects = {0: next_anno}
            next_anno += 1
        first_obj = min(objects)
        last = max([*csv_ids.get(video_id, set()), *reversed_exps], default=0)
        expressions = {}
        for exp_id in range(last + 1):
            if exp_id in reversed_exps:
                source = reversed_exps[exp_id]
                expressions[str(exp_id)] = {"exp": f"{source['exp']} (original)", "obj_id": list(source["obj_id"]),
                                            "anno_id": list(source["anno_id"])}
            else:
                expressions[str(exp_id)] = {"exp": f"object {first_obj} of {video_id} (expression {exp_id})",
                                            "obj_id": [first_obj], "anno_id": [objects[first_obj]]}
        meta[video_id] = {"vid_id": video.get("vid_id", number), "frames": frames, "expressions": expressions}
        for anno in sorted(objects.values()):
            mask_dict[str(anno)] = [dict(rle_ops.encode(_moving_box(anno, t, height, width)))
                                    if t < len(frames) - 1 else None for t in range(len(frames))]
        folder = split_dir / FRAMES_FOLDER / video_id
        folder.mkdir(parents=True, exist_ok=True)
        colour = np.full((height, width, 3), (37 * number) % 200 + 30, dtype=np.uint8)
        data = jpeg_bytes(colour)
        for name in frames:
            (folder / f"{name}.jpg").write_bytes(data)
    write_meta_json(split_dir / META_FILE, meta)
    (split_dir / MASK_FILE).write_text(json.dumps(mask_dict), encoding="utf-8")
    (split_dir / REVERSED_FILE).write_bytes(reverse_expressions.read_bytes())
    (root / KEYFRAMES_FILE).write_bytes(keyframes.read_bytes())
    no_keyframe = tuple(f"{vid}_{e}" for vid, video in meta.items() for e in video["expressions"]
                        if int(e) not in csv_ids.get(vid, set()))
    return SyntheticMevis(root, split_dir, split_dir / META_FILE, split_dir / MASK_FILE, split_dir / REVERSED_FILE,
                          root / KEYFRAMES_FILE, tuple(meta), no_keyframe)
