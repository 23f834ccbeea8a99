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
    a number, ``"12"`` is not a number, an integer too large for a float is not finite). Anything else is an
    error recorded in :class:`ParsedBoxes`: nothing is guessed, no number is scraped from free text.

Replies are data (limits; :func:`parse_boxes` and :func:`parse_window` never raise on any ``str`` or None)
    A reply longer than :data:`MAX_REPLY_CHARS` (1,000,000 characters) is not searched: it is an error
    (``too large``). A JSON value nested deeper than :data:`MAX_JSON_DEPTH` (32 arrays/objects) is never
    handed to the decoder (a linear scan of its brackets and strings comes first): it is an error
    (``nested deeper than 32``) or, inside prose, not a candidate. Inside prose the decoder is handed only
    the text the scan found it may read. The search gives up with an error after visiting
    :data:`SCAN_TOKENS_PER_CHAR` (2) brackets and strings per character of the reply (plus 10,000; one scan
    settles every bracket inside the value it reads, only brackets that an earlier scan read as inside a
    string are scanned again) or handing the decoder :data:`DECODE_CHARS_PER_CHAR` (32) characters per
    character (plus 100,000), so the work is linear in the reply: the worst replies tried take 0.02 s for
    10,000 characters, 0.15 s for 100,000 and 1.4 s for 1,000,000 on one core. Lone UTF-16
    surrogates (``\\ud800`` written raw or as a JSON escape) are replaced by U+FFFD in labels and error
    messages, and ``to_json`` of :class:`BoxAnswer` and :class:`WindowAnswer` writes the reply the same way
    (:func:`encodable_text`), so every record can be written as UTF-8.

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
    with zero area after clamping. :func:`read_boxes` does parse + convert and returns a :class:`BoxAnswer`;
    it keeps at most :data:`MAX_BOXES_PER_REPLY` (100) boxes, the first ones in reply order that survive
    conversion, and records every later one in :attr:`BoxAnswer.dropped` (reason ``over the limit of 100
    boxes per reply``): each kept box costs one SAM prompt (image) or one tracked object (video).

Flip merge (pair probes)
    :func:`mirror_boxes` maps boxes found on the mirrored layout (halves swapped) back to the presented one:
    a box wholly in one half moves by half the canvas width (``axis="x"``) or height (``axis="y"``) into
    the other half, a box across the seam is kept as is. :func:`merge_boxes` is the union, exact duplicates
    removed.
"""

from __future__ import annotations

import bisect
import json
import math
import numbers
import re
from array import array
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

__all__ = [
    "BOX_CONVENTIONS",
    "BOX_FORMATS",
    "BOX_SYSTEM",
    "DECODE_CHARS_PER_CHAR",
    "GPT_BOX_SYSTEM",
    "MAX_BOXES_PER_REPLY",
    "MAX_JSON_DEPTH",
    "MAX_REPLY_CHARS",
    "MAX_STORED_REPLY_CHARS",
    "NO_BOX_ANYWHERE",
    "QWEN_DEFAULT_MAX_PIXELS",
    "QWEN_DEFAULT_MIN_PIXELS",
    "QWEN_RELEASED_MAX_PIXELS",
    "QWEN_RELEASED_MIN_PIXELS",
    "SCAN_TOKENS_PER_CHAR",
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
    "encodable_text",
    "frame_label",
    "gpt_box_prompt",
    "merge_boxes",
    "mirror_boxes",
    "parse_boxes",
    "parse_window",
    "qwen_input_size",
    "read_boxes",
    "served_input_size",
    "to_frame_pixels",
    "when_prompt",
    "without_leading_article",
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
#: ``min_pixels`` / ``max_pixels`` of the released Qwen2-VL and Qwen2.5-VL checkpoints'
#: ``preprocessor_config.json``, which a server (vLLM, SGLang, ...) loading them uses unless started with
#: others: the size a served model's ``input-pixels`` boxes are written in (:func:`served_input_size`).
QWEN_RELEASED_MIN_PIXELS = 3136
QWEN_RELEASED_MAX_PIXELS = 12_845_056

#: Longest reply parsed, in characters (a longer one is an error, not searched; about 250,000 tokens).
MAX_REPLY_CHARS = 1_000_000
#: Deepest nesting of JSON arrays and objects handed to the decoder (a box list needs 3).
MAX_JSON_DEPTH = 32
#: Brackets and strings the search for JSON may visit per character of the reply (plus 10,000) before it gives up.
SCAN_TOKENS_PER_CHAR = 2
#: Characters the search for JSON may hand the decoder per character of the reply (plus 100,000) before it gives up.
DECODE_CHARS_PER_CHAR = 32
#: Boxes of one reply kept by :func:`read_boxes` (the first ones that survive conversion); later ones are dropped.
MAX_BOXES_PER_REPLY = 100
#: Longest reply a record (a line's details) keeps, in characters; the cache keeps the whole reply.
MAX_STORED_REPLY_CHARS = 65_536


# ------------------------------------------------------------------------------------------------ prompts


def box_prompt(expression: str) -> str:
    """The published single-image prompt: ``Locate the {expression}, output its bbox coordinates using JSON format.``"""
    return f"Locate the {expression}, output its bbox coordinates using JSON format."


_LEADING_ARTICLE = re.compile(r"^\s*(?:the|a|an)\s+(?=\S)", re.IGNORECASE)


def without_leading_article(expression: str) -> str:
    """``expression`` without a leading "the", "a" or "an" (so that :func:`box_prompt` reads "Locate the
    square", not "Locate the the square"); an expression that is only an article is kept.

    Examples:
        >>> without_leading_article("The square on the left")
        'square on the left'
        >>> without_leading_article("another dog"), without_leading_article("an")
        ('another dog', 'an')
    """
    return _LEADING_ARTICLE.sub("", expression, count=1)


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
        """``{"bbox": [x1, y1, x2, y2], "label": label}`` (lone surrogates in the label as U+FFFD)."""
        return {"bbox": self.as_list(), "label": _encodable(self.label)}


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


def served_input_size(box_family: str, box_format: str, height: int, width: int, *,
                      min_pixels: int = QWEN_RELEASED_MIN_PIXELS, max_pixels: int = QWEN_RELEASED_MAX_PIXELS
                      ) -> tuple[int, int] | None:
    """``(H, W)`` that a served model's ``input-pixels`` boxes are written in, for an image sent at
    ``height x width``; None for the other box formats (they need no input size).

    A Qwen family (``qwen2_vl``, ``qwen2_5_vl``, ...) writes them in its processor's resized input
    (:func:`qwen_input_size` with the server's ``min_pixels`` / ``max_pixels``: by default the released
    checkpoints' :data:`QWEN_RELEASED_MIN_PIXELS` / :data:`QWEN_RELEASED_MAX_PIXELS`, not the class defaults);
    any other family (``openai``) in the pixels of the image as sent.

    Examples:
        >>> served_input_size("qwen2_5_vl", "input-pixels", 1536, 2048)  # 3.1 MP: under the released budget
        (1540, 2044)
        >>> served_input_size("qwen2_5_vl", "input-pixels", 1536, 2048, max_pixels=28 * 28 * 1280)
        (840, 1148)
        >>> served_input_size("openai", "input-pixels", 1536, 2048)
        (1536, 2048)
    """
    if box_format != "input-pixels":
        return None
    if box_family.startswith("qwen"):
        return qwen_input_size(height, width, min_pixels=min_pixels, max_pixels=max_pixels)
    return height, width


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
_SURROGATE = re.compile("[\ud800-\udfff]")
_STRUCTURE = re.compile(r'[\[\]{}"]')
#: A quote that ends a JSON string: preceded by an even number of backslashes (the run lies inside any string
#: opened before it, so whether it is escaped does not depend on where the string began).
_CLOSING_QUOTE = re.compile(r'(?<!\\)(?:\\\\)*"')
_OPENER = re.compile(r"[\[{]")
#: An opener followed by what can start its first element (else the decoder fails at once).
_PLAUSIBLE = re.compile(r'\[\s*[\[\]{"\-0-9tfnNI]|\{\s*["}]')


def encodable_text(text: str) -> str:
    """``text`` with every lone UTF-16 surrogate (U+D800..U+DFFF, which UTF-8 cannot encode) replaced by U+FFFD.

    The rule the judge client applies to replies (``pixbench.judge.replace_lone_surrogates``, not imported
    here: it brings in sqlite3); a reply's JSON can still hold one as an escape (``"\\ud800"`` in a label).

    Examples:
        >>> encodable_text('cat \\ud800') == 'cat \\ufffd'
        True
    """
    return _SURROGATE.sub("\ufffd", text)


def _encodable(text: str | None) -> str | None:
    return None if text is None else encodable_text(text)


def _stored_reply(reply: str | None) -> dict[str, Any]:
    """``{"reply": text}`` for a record, the text cut to :data:`MAX_STORED_REPLY_CHARS` characters (then with
    ``reply_chars``, the full length)."""
    if reply is None or len(reply) <= MAX_STORED_REPLY_CHARS:
        return {"reply": _encodable(reply)}
    return {"reply": encodable_text(reply[:MAX_STORED_REPLY_CHARS]), "reply_chars": len(reply)}


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


class _Nesting:
    """Which JSON arrays/objects of ``text`` the decoder may read (nesting within :data:`MAX_JSON_DEPTH`), and
    how far.

    :meth:`span` scans brackets and strings from an opener to its closing bracket, an unclosed string or the
    end of the text, where the decoder stops too: it reads strings and brackets exactly as this scan does and
    fails at the first text that is not JSON, never later, so it never nests deeper than the scan saw nor reads
    past where the scan stopped. A string ends at the next quote preceded by an even number of backslashes
    (bisection in a table built once). One scan settles every opener it passes, so nested openers cost
    nothing more (``status``: one byte per character, ``ends``: four). :meth:`decode` hands the decoder that
    slice only (a failure then costs the slice, not the position in the reply), and skips an opener whose
    first element cannot start there. At most ``scan_budget`` brackets and strings are visited and
    ``decode_budget`` characters decoded in all (linear in the text), then :class:`_ParseError`.
    """

    UNKNOWN, SHALLOW, DEEP = 0, 1, 2

    def __init__(self, text: str) -> None:
        self.text = text
        self.status = bytearray(len(text))
        self.ends = array("i", bytes(4 * len(text)))
        self.scan_budget = SCAN_TOKENS_PER_CHAR * len(text) + 10_000
        self.decode_budget = DECODE_CHARS_PER_CHAR * len(text) + 100_000
        self.left = self.scan_budget
        self.decode_left = self.decode_budget
        self._quotes: array[int] | None = None

    def span(self, start: int) -> int | None:
        """The end (exclusive) of what the decoder may read from the opener at ``start``; None when the value
        there nests deeper than :data:`MAX_JSON_DEPTH`."""
        if self.status[start] == self.UNKNOWN:
            self._scan(start)
        return self.ends[start] if self.status[start] == self.SHALLOW else None

    def decode(self, start: int) -> tuple[Any, int] | None:
        """The JSON value at the opener ``start`` and where it ends, decoded from :meth:`span` only; None when
        it nests too deep or is not JSON. Raises :class:`_ParseError` past ``decode_budget`` in all."""
        if _PLAUSIBLE.match(self.text, start) is None:
            return None
        stop = self.span(start)
        if stop is None:
            return None
        self.decode_left -= stop - start
        if self.decode_left < 0:
            raise _ParseError(f"gave up looking for JSON after decoding {self.decode_budget:,} characters "
                              f"({DECODE_CHARS_PER_CHAR} per character: values that never close)")
        try:
            value, length = _DECODER.raw_decode(self.text[start:stop])
        except ValueError:
            return None
        return value, start + length

    def _closing(self, quote: int) -> int | None:
        """Where the string opened at ``quote`` ends, None when it never does."""
        if self._quotes is None:
            self._quotes = array("q", (m.end() - 1 for m in _CLOSING_QUOTE.finditer(self.text)))
        k = bisect.bisect_right(self._quotes, quote)
        return self._quotes[k] if k < len(self._quotes) else None

    def _settle(self, stack: deque[list[int]], end: int) -> None:
        position, height = stack.pop()
        self.status[position] = self.SHALLOW if height <= MAX_JSON_DEPTH else self.DEEP
        self.ends[position] = end
        if stack:
            stack[-1][1] = max(stack[-1][1], height + 1)

    def _scan(self, start: int) -> None:
        text, status = self.text, self.status
        stack: deque[list[int]] = deque()  # [position, height] of the innermost open brackets
        buried = 0  # open brackets below the stack, already settled as too deep
        position = start
        stop = len(text)
        while (match := _STRUCTURE.search(text, position)) is not None:
            self.left -= 1
            if self.left < 0:
                raise _ParseError(f"gave up looking for JSON after {self.scan_budget:,} brackets and strings "
                                  f"({SCAN_TOKENS_PER_CHAR} per character: brackets that never close)")
            position = match.start()
            char = text[position]
            if char == '"':
                close = self._closing(position)
                if close is None:
                    stop = position + 1  # an unclosed string: the decoder fails there
                    break
                position = close + 1
                continue
            position += 1
            if char == "[" or char == "{":
                stack.append([position - 1, 1])
                if len(stack) > MAX_JSON_DEPTH:  # the outermost holds more than MAX_JSON_DEPTH levels
                    status[stack.popleft()[0]] = self.DEEP
                    buried += 1
            else:
                if stack:
                    self._settle(stack, position)
                elif buried:
                    buried -= 1
                if not stack and not buried:
                    return
        while stack:
            self._settle(stack, stop)


def _too_deep(start: int) -> _ParseError:
    return _ParseError(f"the JSON at character {start} is nested deeper than {MAX_JSON_DEPTH} arrays/objects")


def _loads(text: str, nesting: _Nesting | None = None) -> Any:
    """The one JSON value that is all of ``text`` (nesting checked first)."""
    if text[:1] in ("[", "{") and (nesting or _Nesting(text)).span(0) is None:
        raise _too_deep(0)
    value, end = _DECODER.raw_decode(text)
    if text[end:].strip():
        raise _ParseError(f"extra text after the JSON value at character {end}")
    return value


def _find_json(reply: str | None, shaped: Callable[[Any], bool], what: str) -> tuple[Any, ParseSource]:
    """The JSON value of a reply (fenced block, whole reply, or the one ``shaped`` value inside prose)."""
    if reply is not None and not isinstance(reply, str):
        raise _ParseError(f"expected the reply as text, but got {type(reply).__name__}")
    if reply is None or not reply.strip():
        raise _ParseError("empty reply")
    if len(reply) > MAX_REPLY_CHARS:
        raise _ParseError(f"the reply is too large to parse: {len(reply):,} characters, more than "
                          f"{MAX_REPLY_CHARS:,}")
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
    nesting = _Nesting(text)
    try:
        return _loads(text, nesting), "raw"
    except ValueError as exc:
        raw_error = f"the reply is not valid JSON: {exc}"
    found: list[Any] = []
    position = 0
    while True:
        opener = _OPENER.search(text, position)
        if opener is None:
            break
        start = opener.start()
        decoded = nesting.decode(start)
        if decoded is None:
            position = start + 1
            continue
        value, position = decoded
        if shaped(value):
            found.append(value)
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
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an integer beyond the float range
        return False


def _dumps(value: Any) -> str:
    return _short(json.dumps(value))


def _boxes_of(value: Any) -> tuple[Box, ...]:
    items = [value] if isinstance(value, dict) else value
    if not isinstance(items, list):
        raise _ParseError(f'expected a JSON list of {{"bbox_2d": [x1, y1, x2, y2]}} objects, but got '
                          f"{type(value).__name__} {_dumps(value)}")
    boxes = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise _ParseError(f"item {index} is not a JSON object: {_dumps(item)}")
        if "bbox_2d" not in item:
            raise _ParseError(f'item {index} has no "bbox_2d" (keys: {_short(", ".join(sorted(map(str, item))))})')
        coords = item["bbox_2d"]
        if not isinstance(coords, list) or len(coords) != 4 or not all(_number(c) for c in coords):
            raise _ParseError(f'item {index}: expected "bbox_2d" to be 4 finite numbers, but got {_dumps(coords)}')
        label = item.get("label")
        x1, y1, x2, y2 = (float(c) for c in coords)
        boxes.append(Box(x1, y1, x2, y2, _encodable(label) if isinstance(label, str) else None))
    return tuple(boxes)


def parse_boxes(reply: str | None) -> ParsedBoxes:
    """Read ``[{"bbox_2d": [x1, y1, x2, y2], ...}]`` from a reply, strictly (rules in the module docstring).

    Never raises on a ``str`` or None: whatever does not parse is :attr:`ParsedBoxes.error`.

    Examples:
        >>> parse_boxes('```json\\n[{"bbox_2d": [1, 2, 30, 40], "label": "cat"}]\\n```').boxes
        (Box(x1=1.0, y1=2.0, x2=30.0, y2=40.0, label='cat'),)
        >>> parse_boxes("The cat is at x=1, y=2.").error
        'no JSON box list in the reply (neither a fenced block, nor JSON, nor JSON inside the text)'
        >>> parse_boxes("[" * 100_000).error
        'the reply is not valid JSON: the JSON at character 0 is nested deeper than 32 arrays/objects'
    """
    try:
        value, source = _find_json(reply, _box_shaped, "box list")
        return ParsedBoxes(_boxes_of(value), None, source)
    except _ParseError as exc:
        return ParsedBoxes((), _encodable(str(exc)), None)


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
    max_boxes: int | None = None,
) -> FrameBoxes:
    """Boxes written in ``box_format`` as frame pixels: scaled (float), corners ordered, clamped to the frame.

    ``frame_size``: ``(H, W)`` of the frame; ``input_size``: ``(h, w)`` of the model's input image, needed
    for ``input-pixels``. ``norm-1000`` scales by ``W / 1000`` and ``H / 1000``, ``input-pixels`` by
    ``W / w`` and ``H / h``. Boxes whose area is 0 after clamping to ``[0, W] x [0, H]`` are dropped and
    listed in :attr:`FrameBoxes.dropped`; labels are kept. ``max_boxes``: keep at most that many (the first
    that survive, in order); every later box that would survive is dropped with the reason ``over the limit
    of {max_boxes} boxes per reply`` (None: no limit).

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
    if max_boxes is not None and max_boxes < 0:
        raise ValueError(f"Expected max_boxes >= 0 or None, but got {max_boxes}")
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
        if max_boxes is not None and len(kept) >= max_boxes:
            dropped.append(DroppedBox(index, box, f"over the limit of {max_boxes} boxes per reply"))
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
    ``dropped``: boxes lost in conversion or beyond :data:`MAX_BOXES_PER_REPLY`, and why; ``cached``: the
    reply came from the judge cache. :meth:`to_json` writes lone surrogates in text fields as U+FFFD.
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
        """A JSON-ready record for a line's details (boxes as ``[x1, y1, x2, y2]`` lists), bounded in size: the
        reply cut to :data:`MAX_STORED_REPLY_CHARS` characters and the model's and dropped boxes to the first
        :data:`MAX_BOXES_PER_REPLY`, with the full counts (``reply_chars``, ``model_box_count``,
        ``dropped_count``) beside them, so that no reply can make a line too long to read back."""
        record: dict[str, Any] = {
            "frame": self.frame_index,
            **_stored_reply(self.reply),
            "boxes": [b.as_list() for b in self.boxes],
            "labels": [_encodable(b.label) for b in self.boxes],
            "model_boxes": [b.as_list() for b in self.model_boxes[:MAX_BOXES_PER_REPLY]],
            "box_format": self.box_format,
            "frame_size": list(self.frame_size),
            "input_size": None if self.input_size is None else list(self.input_size),
            "error": _encodable(self.error),
            "source": self.source,
            "dropped": [d.to_json() for d in self.dropped[:MAX_BOXES_PER_REPLY]],
            "cached": self.cached,
        }
        if len(self.model_boxes) > MAX_BOXES_PER_REPLY or len(self.dropped) > MAX_BOXES_PER_REPLY:
            record["model_box_count"] = len(self.model_boxes)
            record["dropped_count"] = len(self.dropped)
        return record


def read_boxes(
    reply: str | None,
    *,
    frame_index: int,
    box_format: BoxFormat,
    frame_size: tuple[int, int],
    input_size: tuple[int, int] | None = None,
    cached: bool = False,
    max_boxes: int | None = MAX_BOXES_PER_REPLY,
) -> BoxAnswer:
    """:func:`parse_boxes` then :func:`to_frame_pixels`, as one :class:`BoxAnswer`: at most ``max_boxes``
    boxes (default :data:`MAX_BOXES_PER_REPLY`), the rest in :attr:`BoxAnswer.dropped`. Never raises on the
    reply (any ``str`` or None); raises ``ValueError`` on bad sizes or format."""
    parsed = parse_boxes(reply)
    converted = to_frame_pixels(parsed.boxes, box_format=box_format, frame_size=frame_size, input_size=input_size,
                                max_boxes=max_boxes)
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
        """A JSON-ready record (lone surrogates in text fields as U+FFFD)."""
        return {**_stored_reply(self.reply), "frames_shown": list(self.frames_shown), "start": self.start,
                "end": self.end, "middle": self.middle, "error": _encodable(self.error), "cached": self.cached}


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
        return WindowAnswer(reply, shown, error=_encodable(str(exc)))
    return WindowAnswer(reply, shown, start, end)
