"""The box step of the video grounding baseline: prompts, strict reply parsing, box conventions, flip merge.

Pure functions over text and numbers (no torch, no network); the back ends that ask the models are in
:mod:`pixbench.baselines.box_models`.

Prompts (``mocentric.md`` section 7, published scripts)
    Single image (Qwen-VL): system :data:`BOX_SYSTEM` ``You are a helpful assistant``, user
    :func:`box_prompt` ``Locate the {expression}, output its bbox coordinates using JSON format.``
    followed by the image. GPT variant: system :data:`GPT_BOX_SYSTEM`, user :func:`gpt_box_prompt` (the
    published text plus its ``Output Format`` line) followed by the clip's frames; the boxes asked for are
    those of the first frame sent. Temporal window: :func:`when_prompt` and :func:`parse_window`.

Reply format and parsing (:func:`parse_boxes`)
    ``[{"bbox_2d": [x1, y1, x2, y2], "label": ...}, ...]``; one object instead of a list is accepted, keys
    other than ``bbox_2d`` and ``label`` are ignored, ``[]`` is a valid answer with no box. The JSON is
    taken, in this order, from the first fenced code block (```` ```json ... ``` ````, an unclosed fence
    running to the end of the reply), else from the whole reply, else from the one JSON value embedded in
    prose that has the box shape (an object with ``bbox_2d``, or a non-empty list of such objects; two or
    more such values are ambiguous and an error). Coordinates must be 4 finite JSON numbers (``true`` is not
    a number, ``"12"`` is not a number). Anything else is an error recorded in :class:`ParsedBoxes`: nothing
    is guessed, no number is scraped from free text.

Coordinates
    Boxes are ``(x1, y1, x2, y2)`` floats, x = column and y = row, in continuous pixel coordinates of an
    ``H x W`` frame: the frame spans ``[0, W] x [0, H]`` and pixel ``(row r, col c)`` covers
    ``[c, c + 1) x [r, r + 1)``. Sizes are always ``(height, width)``.

Conventions by model family (:data:`BOX_CONVENTIONS`, one table; ``box_format`` overrides it)
    ========================  ================  ==============================================================
    family (``model_type``)   box format        what the numbers mean
    ========================  ================  ==============================================================
    ``qwen2_vl``              ``norm-1000``     0-1000 normalised to the image: ``x * W / 1000``
    ``qwen2_5_vl``            ``input-pixels``  pixels of the processor's resized input (``image_grid_thw`` x
                                                14 per side, :func:`qwen_input_size`), rescaled to the frame
    ``qwen3_vl``              ``norm-1000``     as Qwen2-VL
    ``qwen3_vl_moe``          ``norm-1000``     as Qwen2-VL
    ``openai``                ``input-pixels``  pixels of the image the endpoint was sent (after downscaling)
    ========================  ================  ==============================================================

    ``frame-pixels`` (already in frame pixels) is only reachable by override. :func:`to_frame_pixels`
    scales to frame pixels (float), orders the corners, clamps to the frame, and drops (and records) boxes
    with zero area after clamping. :func:`read_boxes` does parse + convert and returns a :class:`BoxAnswer`.

Flip merge (pair probes)
    :func:`mirror_boxes` maps boxes found on the mirrored layout (halves swapped) back to the presented one:
    a box wholly in one half moves by half the canvas width (``axis="x"``) or height (``axis="y"``) into
    the other half, a box across the seam is kept as is. :func:`merge_boxes` is the union, exact duplicates
    removed.
"""

from __future__ import annotations

import json
import math
import numbers
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

__all__ = [
    "BOX_CONVENTIONS",
    "BOX_FORMATS",
    "BOX_SYSTEM",
    "GPT_BOX_SYSTEM",
    "NO_BOX_ANYWHERE",
    "QWEN_DEFAULT_MAX_PIXELS",
    "QWEN_DEFAULT_MIN_PIXELS",
    "WHEN_SYSTEM",
    "Box",
    "BoxAnswer",
    "BoxConvention",
    "BoxFormat",
    "DroppedBox",
    "FrameBoxes",
    "ParseSource",
    "ParsedBoxes",
    "WindowAnswer",
    "box_format_for",
    "box_prompt",
    "frame_label",
    "gpt_box_prompt",
    "merge_boxes",
    "mirror_boxes",
    "parse_boxes",
    "parse_window",
    "qwen_input_size",
    "read_boxes",
    "to_frame_pixels",
    "when_prompt",
]

BoxFormat = Literal["norm-1000", "input-pixels", "frame-pixels"]
#: Every box format, for ``--box-format`` choices.
BOX_FORMATS: tuple[BoxFormat, ...] = ("norm-1000", "input-pixels", "frame-pixels")
ParseSource = Literal["fenced", "raw", "embedded"]

#: System message of the published single-image box prompt (Qwen-VL runs).
BOX_SYSTEM = "You are a helpful assistant"
#: System message of the published GPT run.
GPT_BOX_SYSTEM = "You are a helpful and precise assistant for following instructions precisely."
#: System message of the temporal-window question (the published keyframe selection's).
WHEN_SYSTEM = "You are a helpful assistant."
#: :attr:`InitialFrame.error` when no frame gave a box (the published runs then write empty masks).
NO_BOX_ANYWHERE = "no parsable box anywhere"

#: Default ``min_pixels`` / ``max_pixels`` of transformers' ``Qwen2VLImageProcessor`` (Qwen2-VL, Qwen2.5-VL,
#: Qwen3-VL): ``size = {"shortest_edge": 56 * 56, "longest_edge": 28 * 28 * 1280}``. A checkpoint's
#: ``preprocessor_config.json`` may set others.
QWEN_DEFAULT_MIN_PIXELS = 56 * 56
QWEN_DEFAULT_MAX_PIXELS = 28 * 28 * 1280


# ------------------------------------------------------------------------------------------------ prompts


def box_prompt(expression: str) -> str:
    """The published single-image prompt: ``Locate the {expression}, output its bbox coordinates using JSON format.``"""
    return f"Locate the {expression}, output its bbox coordinates using JSON format."


def gpt_box_prompt(expression: str) -> str:
    """The published GPT prompt (boxes in the first frame of the clip sent) with its output-format line."""
    return (
        f"Given the query {expression}, detect and localize the visual content described by this textual query "
        "and output the bounding box coordinates for all instances of that query in the first frame of the "
        'video in JSON format. Output Format: [{"bbox_2d": [x_min, y_min, x_max, y_max], ...}]'
    )


def when_prompt(expression: str) -> str:
    """The temporal-window question; the frames follow, each after its :func:`frame_label`.

    The published run asked for "the first and last seconds" of a video input; pixbench shows sampled
    frames labelled with their frame numbers and asks for frame numbers, so the answer needs no frame rate.
    """
    return (
        "The images are frames of one video in temporal order; the text before each image gives its frame "
        f"number. Given the query: {expression}, when does the described content occur in the video? Output "
        'the first and last frame numbers of this content in JSON format: {"start_frame": <frame number>, '
        '"end_frame": <frame number>}.'
    )


def frame_label(index: int) -> str:
    """The text before frame ``index`` in the temporal-window question: ``Frame {index}:``."""
    return f"Frame {index}:"


# ------------------------------------------------------------------------------------------------ records


@dataclass(frozen=True)
class Box:
    """An axis-aligned box ``(x1, y1, x2, y2)`` (x = column, y = row) and the label the model gave, if any."""

    x1: float
    y1: float
    x2: float
    y2: float
    label: str | None = None

    @property
    def width(self) -> float:
        return self.x2 - self.x1

    @property
    def height(self) -> float:
        return self.y2 - self.y1

    @property
    def area(self) -> float:
        """``width * height``, 0 when either is <= 0."""
        return max(self.width, 0.0) * max(self.height, 0.0)

    def as_list(self) -> list[float]:
        """``[x1, y1, x2, y2]``."""
        return [self.x1, self.y1, self.x2, self.y2]

    def to_json(self) -> dict[str, Any]:
        """``{"bbox": [x1, y1, x2, y2], "label": label}``."""
        return {"bbox": self.as_list(), "label": self.label}


@dataclass(frozen=True)
class ParsedBoxes:
    """What :func:`parse_boxes` read from a reply.

    ``boxes``: the boxes as written (the model's convention, corners as given); ``error``: why the reply does
    not parse (then ``boxes`` is empty), None when it parses (``[]`` parses, with no box); ``source``: where
    the JSON came from (``fenced``, ``raw``: the whole reply, ``embedded``: one JSON value inside prose).
    """

    boxes: tuple[Box, ...]
    error: str | None
    source: ParseSource | None

    @property
    def ok(self) -> bool:
        """Whether the reply parsed (possibly to no box)."""
        return self.error is None


@dataclass(frozen=True)
class DroppedBox:
    """A parsed box that did not survive conversion: its index in the reply, the box as written, why."""

    index: int
    box: Box
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {"index": self.index, "bbox": self.box.as_list(), "reason": self.reason}


@dataclass(frozen=True)
class FrameBoxes:
    """Boxes in frame pixels (ordered, clamped, area > 0) and the ones dropped on the way."""

    boxes: tuple[Box, ...]
    dropped: tuple[DroppedBox, ...]


@dataclass(frozen=True)
class BoxConvention:
    """How a model family writes boxes: the format and a sentence saying what the numbers mean."""

    family: str
    box_format: BoxFormat
    meaning: str


#: The one table of box conventions by model family (``model_type`` of the config; ``openai`` for endpoints).
BOX_CONVENTIONS: dict[str, BoxConvention] = {
    convention.family: convention
    for convention in (
        BoxConvention("qwen2_vl", "norm-1000", "0-1000 normalised to the image"),
        BoxConvention("qwen2_5_vl", "input-pixels",
                      "absolute pixels of the processor's resized input (image_grid_thw x 14 per side)"),
        BoxConvention("qwen3_vl", "norm-1000", "0-1000 normalised to the image"),
        BoxConvention("qwen3_vl_moe", "norm-1000", "0-1000 normalised to the image"),
        BoxConvention("openai", "input-pixels", "pixels of the image the endpoint was sent"),
    )
}


def box_format_for(family: str, override: str | None = None) -> BoxFormat:
    """The box format of ``family`` from :data:`BOX_CONVENTIONS`, or ``override`` (one of :data:`BOX_FORMATS`)."""
    if override is not None:
        for known in BOX_FORMATS:
            if override == known:
                return known
        raise ValueError(f"Expected box_format to be one of {list(BOX_FORMATS)}, but got {override!r}")
    convention = BOX_CONVENTIONS.get(family)
    if convention is None:
        raise ValueError(
            f"Expected a model family with a known box convention ({', '.join(BOX_CONVENTIONS)}), but got "
            f"{family!r}; give box_format ({', '.join(BOX_FORMATS)}) to say how its boxes are written"
        )
    return convention.box_format


def qwen_input_size(
    height: int,
    width: int,
    *,
    min_pixels: int = QWEN_DEFAULT_MIN_PIXELS,
    max_pixels: int = QWEN_DEFAULT_MAX_PIXELS,
    patch_size: int = 14,
    merge_size: int = 2,
) -> tuple[int, int]:
    """``(height, width)`` of the image a Qwen-VL processor feeds the model for an ``height x width`` image.

    The same arithmetic as transformers' ``smart_resize`` (``Qwen2VLImageProcessor``, used by Qwen2-VL,
    Qwen2.5-VL and Qwen3-VL), with ``factor = patch_size * merge_size`` (28 for Qwen2/2.5-VL, 32 for
    Qwen3-VL's 16 px patches): each side rounded to a multiple of ``factor``; if the area exceeds
    ``max_pixels``, both sides are scaled by ``sqrt(H * W / max_pixels)`` and floored to multiples of
    ``factor`` (at least ``factor``); if it is below ``min_pixels``, scaled up and ceiled. The result is
    ``image_grid_thw[1:] * patch_size``, the size Qwen2.5-VL's boxes are written in.

    Examples:
        >>> qwen_input_size(60, 90, min_pixels=28 * 28 * 4, max_pixels=28 * 28 * 64)
        (56, 84)
        >>> qwen_input_size(720, 1280)
        (728, 1288)
    """
    if height < 1 or width < 1:
        raise ValueError(f"Expected an image size of at least 1 x 1, but got {height} x {width}")
    if max(height, width) / min(height, width) > 200:
        raise ValueError(f"Expected an aspect ratio of at most 200, but got {height} x {width}")
    factor = patch_size * merge_size
    h_bar = round(height / factor) * factor
    w_bar = round(width / factor) * factor
    if h_bar * w_bar > max_pixels:
        beta = math.sqrt((height * width) / max_pixels)
        h_bar = max(factor, math.floor(height / beta / factor) * factor)
        w_bar = max(factor, math.floor(width / beta / factor) * factor)
    elif h_bar * w_bar < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
        h_bar = math.ceil(height * beta / factor) * factor
        w_bar = math.ceil(width * beta / factor) * factor
    return h_bar, w_bar


# ------------------------------------------------------------------------------------------------ parsing


class _ParseError(ValueError):
    pass


def _reject_constant(name: str) -> Any:
    raise _ParseError(f"{name} is not a JSON number")


_FENCE_OPEN = re.compile(r"```[ \t]*[A-Za-z0-9_+\-]*[ \t]*\r?\n?")
_DECODER = json.JSONDecoder(parse_constant=_reject_constant)


def _loads(text: str) -> Any:
    value, end = _DECODER.raw_decode(text)
    if text[end:].strip():
        raise _ParseError(f"extra text after the JSON value at character {end}")
    return value


def _find_json(reply: str | None, shaped: Callable[[Any], bool], what: str) -> tuple[Any, ParseSource]:
    """The JSON value of a reply (fenced block, whole reply, or the one ``shaped`` value inside prose)."""
    if reply is None or not reply.strip():
        raise _ParseError("empty reply")
    fence = _FENCE_OPEN.search(reply)
    if fence is not None:
        close = reply.find("```", fence.end())
        body = reply[fence.end():] if close < 0 else reply[fence.end():close]
        try:
            return _loads(body.strip()), "fenced"
        except ValueError as exc:
            tail = " (the fence is not closed)" if close < 0 else ""
            raise _ParseError(f"the fenced block is not valid JSON{tail}: {exc}") from None
    text = reply.strip()
    try:
        return _loads(text), "raw"
    except ValueError as exc:
        raw_error = f"the reply is not valid JSON: {exc}"
    found: list[Any] = []
    position = 0
    while True:
        starts = [p for p in (text.find("[", position), text.find("{", position)) if p >= 0]
        if not starts:
            break
        start = min(starts)
        try:
            value, end = _DECODER.raw_decode(text, start)
        except ValueError:
            position = start + 1
            continue
        if shaped(value):
            found.append(value)
        position = end
    if not found:
        if text.startswith(("[", "{")):
            raise _ParseError(raw_error)
        raise _ParseError(f"no JSON {what} in the reply (neither a fenced block, nor JSON, nor JSON inside the text)")
    if len(found) > 1:
        raise _ParseError(f"the reply holds {len(found)} JSON {what}s inside its text; expected one")
    return found[0], "embedded"


def _box_shaped(value: Any) -> bool:
    if isinstance(value, dict):
        return "bbox_2d" in value
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) and "bbox_2d" in v for v in value)


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _boxes_of(value: Any) -> tuple[Box, ...]:
    items = [value] if isinstance(value, dict) else value
    if not isinstance(items, list):
        raise _ParseError(f'expected a JSON list of {{"bbox_2d": [x1, y1, x2, y2]}} objects, but got '
                          f"{type(value).__name__} {json.dumps(value)[:80]}")
    boxes = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise _ParseError(f"item {index} is not a JSON object: {json.dumps(item)[:80]}")
        if "bbox_2d" not in item:
            raise _ParseError(f'item {index} has no "bbox_2d" (keys: {", ".join(sorted(map(str, item)))})')
        coords = item["bbox_2d"]
        if not isinstance(coords, list) or len(coords) != 4 or not all(_number(c) for c in coords):
            raise _ParseError(f'item {index}: expected "bbox_2d" to be 4 finite numbers, but got '
                              f"{json.dumps(coords)[:80]}")
        label = item.get("label")
        x1, y1, x2, y2 = (float(c) for c in coords)
        boxes.append(Box(x1, y1, x2, y2, label if isinstance(label, str) else None))
    return tuple(boxes)


def parse_boxes(reply: str | None) -> ParsedBoxes:
    """Read ``[{"bbox_2d": [x1, y1, x2, y2], ...}]`` from a reply, strictly (rules in the module docstring).

    Examples:
        >>> parse_boxes('```json\\n[{"bbox_2d": [1, 2, 30, 40], "label": "cat"}]\\n```').boxes
        (Box(x1=1.0, y1=2.0, x2=30.0, y2=40.0, label='cat'),)
        >>> parse_boxes("The cat is at x=1, y=2.").error
        'no JSON box list in the reply (neither a fenced block, nor JSON, nor JSON inside the text)'
    """
    try:
        value, source = _find_json(reply, _box_shaped, "box list")
        return ParsedBoxes(_boxes_of(value), None, source)
    except _ParseError as exc:
        return ParsedBoxes((), str(exc), None)


# ------------------------------------------------------------------------------------------------ conversion


def _size(value: Sequence[int], name: str) -> tuple[int, int]:
    if len(value) != 2 or not all(isinstance(v, numbers.Integral) and v >= 1 for v in value):
        raise ValueError(f"Expected {name} to be (height, width) with positive ints, but got {tuple(value)!r}")
    return int(value[0]), int(value[1])


def to_frame_pixels(
    boxes: Iterable[Box],
    *,
    box_format: BoxFormat,
    frame_size: tuple[int, int],
    input_size: tuple[int, int] | None = None,
) -> FrameBoxes:
    """Boxes written in ``box_format`` as frame pixels: scaled (float), corners ordered, clamped to the frame.

    ``frame_size``: ``(H, W)`` of the frame; ``input_size``: ``(h, w)`` of the model's input image, needed
    for ``input-pixels``. ``norm-1000`` scales by ``W / 1000`` and ``H / 1000``, ``input-pixels`` by
    ``W / w`` and ``H / h``. Boxes whose area is 0 after clamping to ``[0, W] x [0, H]`` are dropped and
    listed in :attr:`FrameBoxes.dropped`; labels are kept.

    Examples:
        >>> to_frame_pixels([Box(100, 250, 500, 1000)], box_format="norm-1000", frame_size=(60, 90)).boxes
        (Box(x1=9.0, y1=15.0, x2=45.0, y2=60.0, label=None),)
    """
    height, width = _size(frame_size, "frame_size")
    if box_format == "norm-1000":
        sx, sy = width / 1000.0, height / 1000.0
    elif box_format == "input-pixels":
        if input_size is None:
            raise ValueError("Expected input_size (height, width) of the model's input for box_format 'input-pixels'")
        in_h, in_w = _size(input_size, "input_size")
        sx, sy = width / in_w, height / in_h
    elif box_format == "frame-pixels":
        sx = sy = 1.0
    else:
        raise ValueError(f"Expected box_format to be one of {list(BOX_FORMATS)}, but got {box_format!r}")
    kept: list[Box] = []
    dropped: list[DroppedBox] = []
    for index, box in enumerate(boxes):
        xa, xb = sorted((box.x1 * sx, box.x2 * sx))
        ya, yb = sorted((box.y1 * sy, box.y2 * sy))
        x1, x2 = min(max(xa, 0.0), width), min(max(xb, 0.0), width)
        y1, y2 = min(max(ya, 0.0), height), min(max(yb, 0.0), height)
        if x2 - x1 <= 0 or y2 - y1 <= 0:
            reason = ("zero area as written" if xb - xa <= 0 or yb - ya <= 0 else
                      f"outside the {height} x {width} frame (zero area after clamping)")
            dropped.append(DroppedBox(index, box, reason))
            continue
        kept.append(Box(x1, y1, x2, y2, box.label))
    return FrameBoxes(tuple(kept), tuple(dropped))


@dataclass(frozen=True)
class BoxAnswer:
    """One box question about one frame, answered (or not).

    ``frame_index``: the presented frame the boxes belong to; ``reply``: the model's raw reply (None when
    the call failed); ``boxes``: frame pixels, ordered, clamped, area > 0 (the SAM 2 seeds);
    ``model_boxes``: as parsed, in ``box_format``; ``frame_size`` / ``input_size``: ``(H, W)`` of the
    frame and of the image the model saw (None when the format does not need it); ``error``: the call or
    parse error, None when the reply parsed (possibly to no box); ``source``: where the JSON was found;
    ``dropped``: boxes lost in conversion and why; ``cached``: the reply came from the judge cache.
    """

    frame_index: int
    reply: str | None
    boxes: tuple[Box, ...]
    model_boxes: tuple[Box, ...]
    box_format: BoxFormat
    frame_size: tuple[int, int]
    input_size: tuple[int, int] | None = None
    error: str | None = None
    source: ParseSource | None = None
    dropped: tuple[DroppedBox, ...] = ()
    cached: bool = False

    @property
    def found(self) -> bool:
        """Whether there is at least one box to seed."""
        return bool(self.boxes)

    @property
    def call_failed(self) -> bool:
        """Whether the model was never heard (no reply: transport or HTTP failure), as opposed to a reply
        that does not parse or has no box."""
        return self.reply is None and self.error is not None

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready record for the run file (boxes as ``[x1, y1, x2, y2]`` lists)."""
        return {
            "frame": self.frame_index,
            "reply": self.reply,
            "boxes": [b.as_list() for b in self.boxes],
            "labels": [b.label for b in self.boxes],
            "model_boxes": [b.as_list() for b in self.model_boxes],
            "box_format": self.box_format,
            "frame_size": list(self.frame_size),
            "input_size": None if self.input_size is None else list(self.input_size),
            "error": self.error,
            "source": self.source,
            "dropped": [d.to_json() for d in self.dropped],
            "cached": self.cached,
        }


def read_boxes(
    reply: str | None,
    *,
    frame_index: int,
    box_format: BoxFormat,
    frame_size: tuple[int, int],
    input_size: tuple[int, int] | None = None,
    cached: bool = False,
) -> BoxAnswer:
    """:func:`parse_boxes` then :func:`to_frame_pixels`, as one :class:`BoxAnswer`."""
    parsed = parse_boxes(reply)
    converted = to_frame_pixels(parsed.boxes, box_format=box_format, frame_size=frame_size, input_size=input_size)
    return BoxAnswer(frame_index=frame_index, reply=reply, boxes=converted.boxes, model_boxes=parsed.boxes,
                     box_format=box_format, frame_size=_size(frame_size, "frame_size"), input_size=input_size,
                     error=parsed.error, source=parsed.source, dropped=converted.dropped, cached=cached)


# ------------------------------------------------------------------------------------------------ flip merge


def mirror_boxes(boxes: Iterable[Box], *, canvas: tuple[int, int], axis: Literal["x", "y"]) -> tuple[Box, ...]:
    """Map boxes found on the mirrored layout (its two halves swapped) back to the presented layout.

    ``canvas``: ``(H, W)`` of the layout. ``axis="x"`` for side-by-side layouts (seam at ``W / 2``),
    ``"y"`` for stacked ones (seam at ``H / 2``). A box wholly in one half (touching the seam counts as
    inside) moves by half the canvas into the other half; a box across the seam is kept as is.

    Examples:
        >>> mirror_boxes([Box(10.0, 5.0, 30.0, 20.0)], canvas=(40, 100), axis="x")
        (Box(x1=60.0, y1=5.0, x2=80.0, y2=20.0, label=None),)
    """
    height, width = _size(canvas, "canvas")
    if axis not in ("x", "y"):
        raise ValueError(f"Expected axis 'x' or 'y', but got {axis!r}")
    half = (width if axis == "x" else height) / 2.0
    mapped = []
    for box in boxes:
        low, high = (box.x1, box.x2) if axis == "x" else (box.y1, box.y2)
        low, high = min(low, high), max(low, high)
        shift = half if high <= half else -half if low >= half else 0.0
        if shift == 0.0:
            mapped.append(box)
        elif axis == "x":
            mapped.append(Box(box.x1 + shift, box.y1, box.x2 + shift, box.y2, box.label))
        else:
            mapped.append(Box(box.x1, box.y1 + shift, box.x2, box.y2 + shift, box.label))
    return tuple(mapped)


def merge_boxes(a: Iterable[Box], b: Iterable[Box]) -> tuple[Box, ...]:
    """The union of two box sets: ``a`` then ``b``, a box whose four coordinates repeat an earlier one removed."""
    seen: set[tuple[float, float, float, float]] = set()
    merged = []
    for box in (*a, *b):
        key = (box.x1, box.y1, box.x2, box.y2)
        if key not in seen:
            seen.add(key)
            merged.append(box)
    return tuple(merged)


# ------------------------------------------------------------------------------------------------ window


@dataclass(frozen=True)
class WindowAnswer:
    """The model's answer to "when does it happen?" (:func:`when_prompt`).

    ``reply``: raw reply (None when the call failed); ``frames_shown``: the frame numbers shown, in order;
    ``start`` / ``end``: the window in presented frame numbers (inclusive), None on error; ``error``: why
    there is no window; ``cached``: the reply came from the judge cache.
    """

    reply: str | None
    frames_shown: tuple[int, ...]
    start: int | None = None
    end: int | None = None
    error: str | None = None
    cached: bool = False

    @property
    def middle(self) -> int | None:
        """The middle frame of the window, ``(start + end) // 2``, or None."""
        if self.start is None or self.end is None:
            return None
        return (self.start + self.end) // 2

    def to_json(self) -> dict[str, Any]:
        return {"reply": self.reply, "frames_shown": list(self.frames_shown), "start": self.start,
                "end": self.end, "middle": self.middle, "error": self.error, "cached": self.cached}


def _window_shaped(value: Any) -> bool:
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    return isinstance(value, dict) and "start_frame" in value and "end_frame" in value


def _frame_number(value: Any, key: str, num_frames: int) -> int:
    if not _number(value) or float(value) != int(value):
        raise _ParseError(f'expected "{key}" to be a whole frame number, but got {json.dumps(value)[:40]}')
    number = int(value)
    if not 0 <= number < num_frames:
        raise _ParseError(f'expected "{key}" in 0..{num_frames - 1}, but got {number}')
    return number


def parse_window(reply: str | None, *, num_frames: int, frames_shown: Sequence[int] = ()) -> WindowAnswer:
    """Read ``{"start_frame": s, "end_frame": e}`` (or a list of exactly one such object) from a reply.

    The JSON is found as in :func:`parse_boxes`. ``s`` and ``e`` must be whole numbers in
    ``0..num_frames - 1`` with ``s <= e`` (they need not be among the frames shown); anything else is an
    error and no window.

    Examples:
        >>> parse_window('{"start_frame": 4, "end_frame": 9}', num_frames=12).middle
        6
    """
    if num_frames < 1:
        raise ValueError(f"Expected num_frames >= 1, but got {num_frames}")
    shown = tuple(int(i) for i in frames_shown)
    try:
        value, _ = _find_json(reply, _window_shaped, "frame window")
        if isinstance(value, list):
            if len(value) != 1:
                raise _ParseError(f"expected one window object, but got a list of {len(value)}")
            value = value[0]
        if not isinstance(value, dict) or "start_frame" not in value or "end_frame" not in value:
            raise _ParseError(f'expected {{"start_frame": s, "end_frame": e}}, but got {json.dumps(value)[:80]}')
        start = _frame_number(value["start_frame"], "start_frame", num_frames)
        end = _frame_number(value["end_frame"], "end_frame", num_frames)
        if start > end:
            raise _ParseError(f"expected start_frame <= end_frame, but got {start} > {end}")
    except _ParseError as exc:
        return WindowAnswer(reply, shown, error=str(exc))
    return WindowAnswer(reply, shown, start, end)
