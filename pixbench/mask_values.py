"""Mask values of predictions lines, parsed with the work they may cause bounded before it is done.

A Mask is compressed or uncompressed COCO RLE ``{"size": [h, w], "counts": ...}``, a PNG ``{"png": path}``
(relative to the predictions file's folder) or polygons ``{"size": [h, w], "polygons": [[x1, y1, ...],
...]}`` rasterised as COCO does; a video line's masks are a list of them (null = empty) or
``{"png_dir": DIR}`` of ``<frame name>.png`` files. Every PNG is read by
:func:`pixbench.annotation.png.read_png`, as OpenCV's grayscale read does (colour to grey, alpha
ignored): a pixel is foreground when its grey level is not zero; bytes that are not a PNG are refused.

Every check that bounds memory and time runs before the pixel work it guards: the size against the
ground truth (polygons are not rasterised and PNGs not decoded at another size), RLE lengths against the
mask size, polygon edges and vertices per line, PNG headers, regular files inside the predictions file's
folder. The limits are the module's constants (documented in the README's "Limits"). Errors are
:class:`FieldError` naming the field; the reader adds the file, line and id.
"""

from __future__ import annotations

import difflib
import math
import os
import stat
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pixbench.annotation import rle as rle_ops
from pixbench.annotation.png import read_png
from pixbench.annotation.rle import MaskError, Rle
from pixbench.jsonl import MAX_LINE_BYTES
from pixbench.problems import shorten

#: The fields of each form of a Mask object.
MASK_FORMS = {"counts": ("size", "counts"), "polygons": ("size", "polygons"), "png": ("png",)}

# ---- limits: the work a line may cause is bounded before it is done (see the README's "Limits")
#: Largest mask side accepted: keeps ``height * width`` and pycocotools' scaled polygon coordinates
#: within its 32-bit ints (larger values overflow or crash in its C code).
MAX_SIDE = 2**15
#: Most pixels a mask may have: pycocotools decodes the RLE runs of such masks exactly (6 characters,
#: 30 bits at most a run).
MAX_MASK_PIXELS = 2**28
#: Most pixels a PNG mask may have when no ground-truth size is known (the header is read first).
MAX_PNG_PIXELS = 2**26
#: Polygon work per line: the summed length of all edges, in pixels (pycocotools walks every edge
#: pixel by pixel, ~100 bytes each), and the number of vertices.
MAX_POLYGON_PERIMETER = 4_000_000
MAX_POLYGON_VERTICES = 2**20
#: A compressed RLE of an ``h x w`` mask never needs more characters than this (one per pixel at most,
#: plus the first runs, which are not delta-coded).
RLE_SLACK_CHARS = 64
#: Most masks a video line may hold when no ground truth says how many frames there are.
MAX_VIDEO_FRAMES = 10_000



class FieldError(Exception):
    """A problem with one field of one line (the reader turns it into a problem naming file, line and id)."""


@dataclass(frozen=True)
class ReadOptions:
    """How strict the reader is (the defaults are the safe ones).

    ``allow_unknown_fields`` turns unknown fields from errors into warnings; ``allow_outside_paths`` lets
    ``png`` paths leave the predictions file's folder (absolute paths, ``..``, links pointing out).
    ``select`` is the selection mode the lines will be scored under, when known (``pixbench score``'s
    ``--select``): under ``"given"`` an image line with ``candidates`` but neither ``mask`` nor
    ``selected`` is a problem of the file, listed with its other problems (scoring could not reduce it
    to one mask); ``None`` leaves that to scoring.
    """

    allow_unknown_fields: bool = False
    allow_outside_paths: bool = False
    max_line_bytes: int = MAX_LINE_BYTES
    select: str | None = None


@dataclass
class LineContext:
    """What parsing one line needs: where PNG paths are relative to, the expected mask size, the budget."""

    base_dir: Path
    options: ReadOptions
    expected: tuple[int, int] | None = None
    perimeter_left: float = field(default_factory=lambda: float(MAX_POLYGON_PERIMETER))
    vertices_left: int = field(default_factory=lambda: MAX_POLYGON_VERTICES)
    unknown: list[str] = field(default_factory=list)


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an int beyond float range
        return False


def check_fields(obj: Mapping[str, Any], known: Sequence[str], what: str, context: LineContext) -> None:
    """Unknown keys are an error naming the key and the nearest known one (a warning if allowed)."""
    for name in obj:
        if name in known:
            continue
        close = difflib.get_close_matches(str(name).lower(), known, n=1, cutoff=0.6)
        hint = f"; did you mean `{close[0]}`?" if close else f" (known: {', '.join(known)})"
        message = f"unknown field `{what}{shorten(name, 40)[1:-1]}`{hint}"
        if not context.options.allow_unknown_fields:
            raise FieldError(message)
        context.unknown.append(message + " (ignored: --allow-unknown-fields)")


def parse_mask(value: Any, *, base_dir: Path, what: str = "mask", expected: tuple[int, int] | None = None,
               options: ReadOptions | None = None, context: LineContext | None = None) -> Rle:
    """A Mask value of a predictions line as a normalised RLE (compressed counts not yet validated).

    With ``expected`` (the ground truth's ``(h, w)``) a mask of another size is refused before any
    pixel work: polygons are not rasterised and PNG files are not decoded.
    """
    context = context or LineContext(base_dir, options or ReadOptions(), expected)
    if not isinstance(value, Mapping):
        raise FieldError(f"`{what}` must be an object (RLE, PNG or polygons) or null, but got {kind_of(value)}")
    forms = [name for name in MASK_FORMS if name in value]
    if len(forms) > 1:
        raise FieldError(f"`{what}` mixes mask forms ({', '.join(forms)}): give one of counts (RLE), png or "
                         "polygons")
    if not forms:
        raise FieldError(f"`{what}` must have `counts` (RLE), `png` or `polygons`, but got keys "
                         f"{shorten(sorted(map(str, value)))}")
    form = forms[0]
    check_fields(value, MASK_FORMS[form], f"{what}.", context)
    if form == "png":
        return png_mask(value["png"], what, context)
    height, width = mask_size(value, what, context.expected)
    if form == "polygons":
        return polygon_mask(value["polygons"], height, width, what, context)
    counts = value["counts"]
    if isinstance(counts, str):
        if not counts.isascii():  # rle_ops checks the ASCII bytes only
            raise FieldError(f"`{what}`: RLE 'counts' holds characters outside COCO's alphabet ('0'..'o')")
        if len(counts) > height * width + RLE_SLACK_CHARS:
            raise FieldError(f"`{what}`: RLE 'counts' has {len(counts)} characters, more than any "
                             f"{height}x{width} mask needs ({height * width + RLE_SLACK_CHARS})")
        return {"size": [height, width], "counts": counts}
    if isinstance(counts, list):
        if len(counts) > height * width + 1:
            raise FieldError(f"`{what}`: uncompressed RLE has {len(counts)} runs, more than a {height}x{width} "
                             f"mask can have ({height * width + 1})")
        try:
            return rle_ops.normalize({"size": [height, width], "counts": counts})
        except MaskError as exc:
            raise FieldError(f"`{what}`: {exc}") from None
    raise FieldError(f"`{what}.counts` must be a string or a list of ints, but got {kind_of(counts)}")


def mask_size(value: Mapping[str, Any], what: str, expected: tuple[int, int] | None) -> tuple[int, int]:
    size = value.get("size")
    if not isinstance(size, list) or len(size) != 2 or not all(is_int(v) and 0 < v <= MAX_SIDE for v in size):
        raise FieldError(f"`{what}.size` must be [height, width] of ints in 1..{MAX_SIDE}, but got {shorten(size)}")
    height, width = int(size[0]), int(size[1])
    if expected is not None and (height, width) != tuple(expected):
        raise FieldError(f"`{what}` size [{height}, {width}] != ground truth {list(expected)}")
    if height * width > MAX_MASK_PIXELS:
        raise FieldError(f"`{what}.size` {height}x{width} is more than the {MAX_MASK_PIXELS:,} pixels a mask may have")
    return height, width


def polygon_mask(polygons: Any, height: int, width: int, what: str, context: LineContext) -> Rle:
    if not isinstance(polygons, list) or not all(
            isinstance(p, list) and len(p) >= 6 and len(p) % 2 == 0 and all(is_number(v) for v in p)
            for p in polygons):
        raise FieldError(f"`{what}.polygons` must be a list of flat [x1, y1, x2, y2, ...] lists of at least "
                         "3 points with finite numbers")
    if not polygons:  # the empty mask, without a dense array
        return rle_ops.normalize({"size": [height, width], "counts": [height * width]})
    vertices = sum(len(p) for p in polygons) // 2
    context.vertices_left -= vertices
    if context.vertices_left < 0:
        raise FieldError(f"`{what}.polygons`: the line's polygons have more than {MAX_POLYGON_VERTICES} vertices")
    perimeter = 0.0
    for polygon in polygons:
        points = np.asarray(polygon, dtype=np.float64).reshape(-1, 2)
        if ((points[:, 0] < -width) | (points[:, 0] > 2 * width)
                | (points[:, 1] < -height) | (points[:, 1] > 2 * height)).any():
            # pycocotools rasterises every edge pixel by pixel (far points cost memory, huge ones crash it)
            raise FieldError(f"`{what}.polygons` points must lie within one image size of the image "
                             f"(x in [-{width}, {2 * width}], y in [-{height}, {2 * height}])")
        steps = np.abs(points - np.roll(points, 1, axis=0))
        perimeter += float(np.maximum(steps[:, 0], steps[:, 1]).sum())
    context.perimeter_left -= perimeter
    if context.perimeter_left < 0:
        raise FieldError(f"`{what}.polygons`: the line's polygon edges are longer than "
                         f"{MAX_POLYGON_PERIMETER:,} pixels in all (rasterising them would take gigabytes)")
    return rle_ops.from_polygons(polygons, height, width)


def png_mask(path_value: Any, what: str, context: LineContext) -> Rle:
    if not isinstance(path_value, str) or not path_value or "\x00" in path_value:
        raise FieldError(f"`{what}.png` must be a path string, but got {shorten(path_value)}")
    base_dir = context.base_dir
    path = Path(path_value)
    path = path if path.is_absolute() else base_dir / path
    try:
        resolved = path.resolve()
        if not context.options.allow_outside_paths and not resolved.is_relative_to(base_dir.resolve()):
            raise FieldError(f"`{what}.png`: {shorten(path_value)} leads outside the predictions file's folder "
                             f"{base_dir}; pass --allow-outside-paths to read it")
        mode = os.stat(resolved).st_mode
    except FileNotFoundError:
        raise FieldError(f"`{what}.png`: file not found: {path_text(path)}") from None
    except (OSError, RuntimeError) as exc:  # a loop of links, a name too long, no permission
        raise FieldError(f"`{what}.png`: cannot read {path_text(path)}: {os_reason(exc)}") from None
    if not stat.S_ISREG(mode):
        raise FieldError(f"`{what}.png`: {path_text(path)} is not a regular file")
    try:  # the one PNG reader: OpenCV's grayscale read, header checked first, non-PNG bytes refused
        return rle_ops.encode(read_png(resolved, expected=context.expected, max_pixels=MAX_PNG_PIXELS))
    except MaskError as exc:
        raise FieldError(f"`{what}.png`: {path_text(path)}: {exc}") from None


def path_text(path: Path | str, limit: int = 300) -> str:
    text = str(path)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


def os_reason(exc: BaseException) -> str:
    """Why a path could not be used, without the path (``OSError`` text repeats it, however long)."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return shorten(str(exc), 200)[1:-1]


def kind_of(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def optional_field(obj: Mapping[str, Any], name: str, check: Callable[[Any], bool], expected: str, what: str) -> Any:
    value = obj.get(name)
    if value is not None and not check(value):
        raise FieldError(f"`{what}{name}` must be {expected}, but got {shorten(value)}")
    return value


def plain_rle(value: Any, expected: tuple[int, int] | None) -> Rle | None:
    """Fast path of :func:`parse_mask` for the common case, a well-formed compressed RLE; else ``None``."""
    if type(value) is dict and len(value) == 2:
        counts, size = value.get("counts"), value.get("size")
        if type(counts) is str and type(size) is list and len(size) == 2:
            height, width = size
            if (type(height) is int and type(width) is int and 0 < height <= MAX_SIDE and 0 < width <= MAX_SIDE
                    and height * width <= MAX_MASK_PIXELS and (expected is None or (height, width) == expected)
                    and len(counts) <= height * width + RLE_SLACK_CHARS and counts.isascii()):
                return {"size": [height, width], "counts": counts}
    return None



def video_masks(value: Any, names: Sequence[str] | None, context: LineContext) -> tuple[Rle | None, ...]:
    if isinstance(value, Mapping) and "png_dir" in value:
        check_fields(value, ("png_dir",), "masks.", context)
        return png_dir_masks(value["png_dir"], names, context)
    if not isinstance(value, list):
        raise FieldError(f"`masks` must be a list (one mask per presented frame) or {{\"png_dir\": DIR}}, "
                         f"but got {kind_of(value)}")
    if names is not None and len(value) != len(names):
        raise FieldError(f"`masks` has {len(value)} mask(s), but the probe presents {len(names)} frames")
    if len(value) > MAX_VIDEO_FRAMES:
        raise FieldError(f"`masks` has {len(value)} masks, more than the {MAX_VIDEO_FRAMES:,} a line may hold")
    frames: list[Rle | None] = []
    for t, item in enumerate(value):
        if item is None:
            frames.append(None)
            continue
        frames.append(plain_rle(item, context.expected) or parse_mask(item, base_dir=context.base_dir,
                                                                      what=f"masks[{t}]", context=context))
    return tuple(frames)


def png_dir_masks(value: Any, names: Sequence[str] | None, context: LineContext) -> tuple[Rle | None, ...]:
    """Masks from a folder of ``<frame name>.png`` files, one per presented frame (all must be there)."""
    if not isinstance(value, str) or not value or "\x00" in value:
        raise FieldError(f"`masks.png_dir` must be a folder path, but got {shorten(value)}")
    if names is None:
        raise FieldError("`masks.png_dir` needs the dataset (--data) to know the frames' names")
    folder = Path(value) if Path(value).is_absolute() else context.base_dir / value
    try:
        resolved = folder.resolve()
        if not context.options.allow_outside_paths and not resolved.is_relative_to(context.base_dir.resolve()):
            raise FieldError(f"`masks.png_dir`: {shorten(value)} leads outside the predictions file's folder "
                             f"{context.base_dir}; pass --allow-outside-paths to read it")
        if not resolved.is_dir():
            raise FieldError(f"`masks.png_dir`: not a folder: {path_text(folder)}")
        missing = [name for name in names if not (resolved / f"{name}.png").is_file()]
    except (OSError, RuntimeError) as exc:  # a name too long, no permission, a loop of links
        raise FieldError(f"`masks.png_dir`: cannot read {path_text(folder)}: {os_reason(exc)}") from None
    if missing:
        raise FieldError(f"`masks.png_dir` {path_text(folder)} lacks {len(missing)} of {len(names)} frame(s): "
                         f"{', '.join(f'{name}.png' for name in missing[:5])}{' ...' if len(missing) > 5 else ''}")
    return tuple(png_mask(str(resolved / f"{name}.png"), f"masks.png_dir[{name}]", context) for name in names)
