"""Point tracks in an MLLM's reply, read strictly, and the point prompts of SAM 2 they give.

Pure functions over text and numbers (no numpy, no torch, no network); the back ends that ask the models are
in :mod:`pixbench.baselines.point_models`, the propagation in
:meth:`~pixbench.baselines.video_segmenters.Sam2VideoSegmenter.segment_points`.

Formats (``point_format``; :func:`read_point_tracks` reads one, or detects it from the first element)
    ``xml``: lmms-eval's RVOS tasks (``lmms_eval/tasks/rvos``: its prompt asks for this) and Molmo2's video
    pointing and tracking::

        <tracks coords="t0 id0 x0 y0 id1 x1 y1; t1 id0 x2 y2 ...">label</tracks>

    ``<points coords="...">label</points>`` (how Molmo2 writes video points) reads the same. Every segment is
    one time: the time in seconds, then one ``object_id x y`` triple per object seen then (none: nothing seen
    at that time); ``x`` and ``y`` are 0-1000 normalised to the image (``x * W / 1000`` frame pixels).
    Segments are separated by ``;`` (what the prompt asks), or by a tab, comma, colon or line break (the
    separators lmms-eval's reader takes). Object ids are whole numbers (``3`` or ``3.0``; at most 18 digits);
    one id is one object across every element of the reply (lmms-eval groups them so too).
    ``molmo``: Molmo's pointing format, coordinates in percent (0-100) of the image width and height::

        <point x="61.5" y="40.4" alt="the dog">the dog</point>
        <points x1="10" y1="20" x2="30.5" y2="40" alt="dogs">dogs</points>

    Each point is one object (Molmo points at instances), keyed ``1``, ``2``, ... in reply order; ``xN`` /
    ``yN`` pairs are numbered from 1 without gaps. Molmo-style points carry no time: they belong to the one
    frame the question showed (:func:`point_prompts` ``shown_frame``). No time attribute of a video Molmo
    variant is read: Molmo2's video points are the ``xml`` format above.

Strictness (:func:`read_point_tracks` never raises on a reply: every problem is a value)
    Attributes are ``name="value"`` or ``name='value'`` in any order, each at most once; a tag that is not
    that, a coordinate that is not an ASCII decimal number (``12``, ``12.5``, ``-3``, ``.5``), a segment
    whose count of numbers is not 1 + 3k, a negative or non-finite time, an object id that is not a whole
    number, an element of the other format when one was asked: each is an **error** in
    :attr:`PointTrackAnswer.errors` and that segment or element is **not read at all** (never half-read);
    the other segments and elements still are. Points outside 0..1000 (``xml``) or 0..100 (``molmo``) are
    dropped and counted, as is a second point of one object at one time (the first is kept, as lmms-eval
    keeps it). A missing closing tag loses nothing (the label is then None). ``coords=""`` is an answer with
    no point; a reply without any element is the error :data:`NO_POINT_ELEMENT`.

Limits (a reply is data)
    A reply longer than :data:`~pixbench.baselines.boxes.MAX_REPLY_CHARS` characters is an error, not
    searched. At most :data:`MAX_POINT_OBJECTS` objects (the first ones met; each is one tracked SAM 2
    object) and :data:`MAX_POINTS_PER_REPLY` points are kept; the rest are counted in
    :attr:`PointTrackAnswer.dropped`. Scanning is linear in the reply (closing tags are found by bisection in
    one list made once). Lone UTF-16 surrogates in labels, errors and the stored reply are written as U+FFFD
    (:func:`~pixbench.baselines.boxes.encodable_text`); ``to_json`` keeps at most
    :data:`~pixbench.baselines.boxes.MAX_STORED_REPLY_CHARS` characters of the reply,
    :data:`MAX_RECORDED_POINTS` points and :data:`MAX_RECORDED_ERRORS` errors (with the full counts).

Coordinates, times and frames
    Points are ``(x, y)`` floats in continuous frame pixels (x = column, y = row; the frame spans
    ``[0, W] x [0, H]``). :func:`point_prompts` turns an answer into the ``{frame: {object: [(x, y), ...]}}``
    prompts of ``segment_points``: a point at time ``t`` goes on frame :func:`frame_for_time` ``round(t *
    fps)`` (Python's rounding, half to even, as lmms-eval's stage 2), clamped to ``0..T-1``; a point without
    a time on ``shown_frame``; ``x`` clamped to ``[0, W - 1]`` and ``y`` to ``[0, H - 1]`` (lmms-eval's stage
    2 does the same). Objects keep their order of first appearance and each object's points their reply
    order. :func:`prompts_from_lmms_tracks` gives the same prompts from the tracks lmms-eval's stage 1 already
    parsed (its submission file), scaled from the record's size to the frames'.
"""

from __future__ import annotations

import bisect
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from pixbench.baselines.boxes import MAX_REPLY_CHARS, MAX_STORED_REPLY_CHARS, encodable_text

__all__ = [
    "MAX_LABEL_CHARS",
    "MAX_POINTS_PER_REPLY",
    "MAX_POINT_OBJECTS",
    "MAX_RECORDED_ERRORS",
    "MAX_RECORDED_POINTS",
    "NO_POINT_ELEMENT",
    "POINT_FORMATS",
    "PointDrops",
    "PointFormat",
    "PointPrompts",
    "PointTrackAnswer",
    "TrackPoint",
    "failed_answer",
    "frame_for_time",
    "point_prompts",
    "prompts_from_lmms_tracks",
    "read_point_tracks",
]

PointFormat = Literal["xml", "molmo"]
#: Every point format, for ``--point-format`` choices.
POINT_FORMATS: tuple[PointFormat, ...] = ("xml", "molmo")
#: Objects of one reply kept (the first ones met); points of later objects are dropped and counted.
MAX_POINT_OBJECTS = 100
#: Points of one reply kept (the first ones that survive the other checks); later ones are dropped and counted.
MAX_POINTS_PER_REPLY = 10_000
#: Points a record (``to_json``) lists; the count beside them is the full one.
MAX_RECORDED_POINTS = 1_000
#: Errors an answer keeps (the first ones); :attr:`PointTrackAnswer.error_count` counts them all.
MAX_RECORDED_ERRORS = 20
#: Characters of an element's label kept.
MAX_LABEL_CHARS = 200
#: The error of a reply without any point element (of the format asked).
NO_POINT_ELEMENT = "no point element in the reply"
#: Point prompts: frame -> object key -> positive points ``(x, y)`` in frame pixels (``segment_points``'s).
PointPrompts = dict[int, dict[str, list[tuple[float, float]]]]

_SCALE: dict[str, float] = {"xml": 1000.0, "molmo": 100.0}
_TAG = re.compile(r"<(tracks|points|point)(?=[\s/>])")
_ATTRIBUTE = re.compile(r"\s+([A-Za-z_][A-Za-z0-9_.:-]*)\s*=\s*(?:\"([^\"]*)\"|'([^']*)')")
_TAG_END = re.compile(r"\s*(/?)>")
_SEPARATORS = re.compile(r"[;\t,:\r\n]")
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)", re.ASCII)
_OBJECT_ID = re.compile(r"([0-9]{1,18})(?:\.0*)?", re.ASCII)
_INDEXED = re.compile(r"([xy])([1-9][0-9]{0,8})", re.ASCII)


def _short(text: str, limit: int = 60) -> str:
    return encodable_text(text if len(text) <= limit else text[:limit] + "...")


# ------------------------------------------------------------------------------------------------ records


@dataclass(frozen=True)
class TrackPoint:
    """One point of one object: ``time`` in seconds (None: Molmo-style, no time), the object's key, ``(x, y)``
    in frame pixels (continuous, within ``[0, W] x [0, H]``)."""

    time: float | None
    object: str
    x: float
    y: float

    def as_list(self) -> list[Any]:
        """``[time, object, x, y]``."""
        return [self.time, self.object, self.x, self.y]


@dataclass(frozen=True)
class PointDrops:
    """Points read but not kept, by reason (rules in the module docstring); ``malformed``: segments or
    elements not read at all (each is also an error)."""

    out_of_range: int = 0
    duplicate: int = 0
    over_objects: int = 0
    over_points: int = 0
    malformed: int = 0

    @property
    def total(self) -> int:
        """Points dropped (``malformed`` counts segments and elements, not points, and is left out)."""
        return self.out_of_range + self.duplicate + self.over_objects + self.over_points

    def to_json(self) -> dict[str, int]:
        return {"out_of_range": self.out_of_range, "duplicate": self.duplicate, "over_objects": self.over_objects,
                "over_points": self.over_points, "malformed": self.malformed}


@dataclass(frozen=True)
class PointTrackAnswer:
    """One point question answered (or not).

    ``reply``: the raw reply (None when the call failed); ``point_format``: the format read (asked, or
    detected from the first element; None when no element was found); ``points``: the points kept, in reply
    order, in frame pixels; ``frame_size``: ``(H, W)`` the points were scaled to; ``labels``: the elements'
    labels (their text, else their ``alt``), at most :data:`MAX_RECORDED_ERRORS`; ``dropped``: what was not
    kept; ``errors``: the first :data:`MAX_RECORDED_ERRORS` problems (``error_count`` counts them all): none
    when the whole reply was read; ``cached``: the reply came from the reply cache; ``call_failed``: the
    model was never heard (transport or HTTP failure after the retries), not a reply without points.
    """

    reply: str | None
    point_format: PointFormat | None
    points: tuple[TrackPoint, ...]
    frame_size: tuple[int, int]
    labels: tuple[str, ...] = ()
    dropped: PointDrops = field(default_factory=PointDrops)
    errors: tuple[str, ...] = ()
    error_count: int = 0
    cached: bool = False
    call_failed: bool = False

    @property
    def error(self) -> str | None:
        """The first problem, or None when the whole reply was read."""
        return self.errors[0] if self.errors else None

    @property
    def found(self) -> bool:
        """Whether at least one point was kept."""
        return bool(self.points)

    @property
    def objects(self) -> tuple[str, ...]:
        """The object keys of the points kept, in order of first appearance."""
        return tuple(dict.fromkeys(p.object for p in self.points))

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready record for a line's details, bounded in size (module docstring)."""
        record: dict[str, Any] = {"reply": None if self.reply is None else encodable_text(
            self.reply[:MAX_STORED_REPLY_CHARS])}
        if self.reply is not None and len(self.reply) > MAX_STORED_REPLY_CHARS:
            record["reply_chars"] = len(self.reply)
        record.update({
            "format": self.point_format, "frame_size": list(self.frame_size),
            "points": [p.as_list() for p in self.points[:MAX_RECORDED_POINTS]], "point_count": len(self.points),
            "objects": len(self.objects), "labels": list(self.labels), "dropped": self.dropped.to_json(),
            "error": self.error, "errors": list(self.errors), "error_count": self.error_count,
            "cached": self.cached, "call_failed": self.call_failed})
        return record


def failed_answer(error: str, *, frame_size: tuple[int, int], cached: bool = False) -> PointTrackAnswer:
    """The answer of a call that got no reply (``call_failed``)."""
    return PointTrackAnswer(reply=None, point_format=None, points=(), frame_size=_size(frame_size, "frame_size"),
                            errors=(encodable_text(error),), error_count=1, cached=cached, call_failed=True)


# ------------------------------------------------------------------------------------------------ scanning


@dataclass
class _Element:
    kind: PointFormat | None
    tag: str
    attributes: dict[str, str]
    label: str | None
    position: int


class _Collector:
    """Points kept and dropped, in reply order, with the limits, and the problems met (module docstring)."""

    def __init__(self, frame_size: tuple[int, int]) -> None:
        self.height, self.width = frame_size
        self.points: list[TrackPoint] = []
        self.objects: set[str] = set()
        self.seen: set[tuple[float | None, str]] = set()
        self.counts = {"out_of_range": 0, "duplicate": 0, "over_objects": 0, "over_points": 0, "malformed": 0}
        self.errors: list[str] = []
        self.error_count = 0
        self.labels: list[str] = []
        self.molmo_points = 0

    def error(self, message: str) -> None:
        self.error_count += 1
        self.counts["malformed"] += 1
        if len(self.errors) < MAX_RECORDED_ERRORS:
            self.errors.append(encodable_text(message))

    def add(self, time: float | None, key: str, x: float, y: float, scale: float) -> None:
        if not (0.0 <= x <= scale and 0.0 <= y <= scale):
            self.counts["out_of_range"] += 1
            return
        if (time, key) in self.seen:
            self.counts["duplicate"] += 1
            return
        self.seen.add((time, key))
        if key not in self.objects:
            if len(self.objects) >= MAX_POINT_OBJECTS:
                self.counts["over_objects"] += 1
                return
            self.objects.add(key)
        if len(self.points) >= MAX_POINTS_PER_REPLY:
            self.counts["over_points"] += 1
            return
        self.points.append(TrackPoint(time, key, x * self.width / scale, y * self.height / scale))


def _number(token: str) -> float | None:
    return float(token) if _NUMBER.fullmatch(token) else None


def _closings(text: str) -> dict[str, list[int]]:
    """Start positions of every closing tag, by tag name (made once per reply)."""
    found: dict[str, list[int]] = {"tracks": [], "points": [], "point": []}
    for match in re.finditer(r"</(tracks|points|point)\s*>", text):
        found[match.group(1)].append(match.start())
    return found


def _kind(tag: str, attributes: Mapping[str, str]) -> PointFormat | None:
    if tag == "tracks" or (tag == "points" and "coords" in attributes):
        return "xml"
    return "molmo"


def _read_element(text: str, match: re.Match[str], closings: dict[str, list[int]]) -> tuple[_Element | None, str]:
    """The element whose opening tag starts at ``match``, or None and why it is not one."""
    tag = match.group(1)
    position = match.end()
    attributes: dict[str, str] = {}
    while (attribute := _ATTRIBUTE.match(text, position)) is not None:
        name = attribute.group(1)
        if name in attributes:
            return None, f"<{tag}> at character {match.start()}: attribute {name!r} given twice"
        attributes[name] = attribute.group(2) if attribute.group(2) is not None else attribute.group(3)
        position = attribute.end()
    end = _TAG_END.match(text, position)
    if end is None:
        rest = text[position:position + 40]
        got = "the end of the reply" if not rest.strip() else repr(_short(rest, 40))
        return None, (f"<{tag}> at character {match.start()} is not a well-formed tag: expected name=\"value\" "
                      f"attributes then '>', but got {got}")
    label: str | None = None
    if not end.group(1):
        ends = closings[tag]
        k = bisect.bisect_left(ends, end.end())
        if k < len(ends):
            label = text[end.end():min(ends[k], end.end() + MAX_LABEL_CHARS)].strip()
    if not label:
        label = attributes.get("alt")
    label = None if label is None else encodable_text(label[:MAX_LABEL_CHARS])
    return _Element(_kind(tag, attributes), tag, attributes, label, match.start()), ""


def _read_coords(element: _Element, collector: _Collector) -> None:
    """The segments of an ``xml`` element's ``coords`` (a malformed segment is an error, not read)."""
    for k, segment in enumerate(_SEPARATORS.split(element.attributes["coords"])):
        tokens = segment.split()
        if not tokens:
            continue
        where = f"<{element.tag}> at character {element.position}, segment {k} ({_short(segment.strip())!r})"
        numbers = [_number(token) for token in tokens]
        bad = next((t for t, n in zip(tokens, numbers) if n is None), None)
        if bad is not None:
            collector.error(f"{where}: {_short(bad, 20)!r} is not a number")
            continue
        time = numbers[0]
        assert time is not None
        if not math.isfinite(time) or time < 0:
            collector.error(f"{where}: expected a time in seconds >= 0, but got {_short(tokens[0], 20)}")
            continue
        if (len(tokens) - 1) % 3:
            collector.error(f"{where}: expected a time then (object id, x, y) triples, but got {len(tokens) - 1} "
                            "number(s) after the time")
            continue
        triples: list[tuple[str, float, float]] = []
        for j in range(1, len(tokens), 3):
            identity = _OBJECT_ID.fullmatch(tokens[j])
            x, y = numbers[j + 1], numbers[j + 2]
            if identity is None or x is None or y is None:
                collector.error(f"{where}: expected a whole object id, but got {_short(tokens[j], 20)!r}")
                break
            triples.append((str(int(identity.group(1))), x, y))
        else:
            for key, x, y in triples:
                collector.add(time, key, x, y, _SCALE["xml"])


def _molmo_pairs(element: _Element) -> tuple[list[tuple[float, float]] | None, str]:
    """The ``(x, y)`` percent pairs of a Molmo-style element, or None and why not."""
    where = f"<{element.tag}> at character {element.position}"
    attributes = element.attributes
    if element.tag == "point":
        if "x" not in attributes or "y" not in attributes:
            return None, f"{where}: expected x=\"..\" and y=\"..\" attributes, but got {sorted(attributes)[:8]}"
        values = [_number(attributes["x"].strip()), _number(attributes["y"].strip())]
        if values[0] is None or values[1] is None:
            return None, f"{where}: expected x and y to be numbers, but got {_short(attributes['x'], 20)!r} and " \
                         f"{_short(attributes['y'], 20)!r}"
        return [(values[0], values[1])], ""
    indexed: dict[tuple[str, int], str] = {}
    for name, value in attributes.items():
        matched = _INDEXED.fullmatch(name)
        if matched is not None:
            indexed[(matched.group(1), int(matched.group(2)))] = value
    if not indexed:
        return None, f"{where}: expected coords=\"..\" or x1=\"..\" y1=\"..\" ... attributes, but got " \
                     f"{sorted(attributes)[:8]}"
    count = max(n for _, n in indexed)
    pairs: list[tuple[float, float]] = []
    for n in range(1, count + 1):
        if ("x", n) not in indexed or ("y", n) not in indexed:
            missing = "x" if ("x", n) not in indexed else "y"
            return None, f"{where}: {missing}{n} is missing (points are numbered x1 y1, x2 y2, ... without gaps)"
        x, y = _number(indexed[("x", n)].strip()), _number(indexed[("y", n)].strip())
        if x is None or y is None:
            return None, f"{where}: expected x{n} and y{n} to be numbers, but got " \
                         f"{_short(indexed[('x', n)], 20)!r} and {_short(indexed[('y', n)], 20)!r}"
        pairs.append((x, y))
    return pairs, ""


def _size(value: Sequence[int], name: str) -> tuple[int, int]:
    if len(value) != 2 or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in value):
        raise ValueError(f"Expected {name} to be (height, width) with positive ints, but got {tuple(value)!r}")
    return int(value[0]), int(value[1])


def read_point_tracks(reply: str | None, *, frame_size: tuple[int, int], point_format: PointFormat | None = None,
                      cached: bool = False) -> PointTrackAnswer:
    """Read the points of a reply in ``point_format`` (None: the format of the first element found), in frame
    pixels of a ``frame_size`` ``(H, W)`` frame (rules in the module docstring).

    Never raises on the reply (any ``str`` or None); ``ValueError`` for a bad ``frame_size`` or format.

    Examples:
        >>> answer = read_point_tracks('<tracks coords="0 0 500 250; 0.5 0 510 260 1 10 20">dog</tracks>',
        ...                            frame_size=(100, 200))
        >>> [p.as_list() for p in answer.points], answer.point_format, answer.error
        ([[0.0, '0', 100.0, 25.0], [0.5, '0', 102.0, 26.0], [0.5, '1', 2.0, 2.0]], 'xml', None)
        >>> read_point_tracks('<point x="50" y="25" alt="dog">dog</point>', frame_size=(100, 200)).points
        (TrackPoint(time=None, object='1', x=100.0, y=25.0),)
        >>> bad = read_point_tracks('<tracks coords="0 0 500; 1 0 10 20">dog</tracks>', frame_size=(100, 200))
        >>> len(bad.points), bad.dropped.malformed, bad.errors[0][:56]
        (1, 1, "<tracks> at character 0, segment 0 ('0 0 500'): expected")
    """
    size = _size(frame_size, "frame_size")
    if point_format is not None and point_format not in POINT_FORMATS:
        raise ValueError(f"Expected point_format to be one of {list(POINT_FORMATS)}, but got {point_format!r}")

    def fail(message: str) -> PointTrackAnswer:
        return PointTrackAnswer(reply=reply, point_format=None, points=(), frame_size=size,
                                errors=(encodable_text(message),), error_count=1, cached=cached)

    if reply is None:
        return fail("no reply")
    if not isinstance(reply, str):
        return fail(f"expected the reply as text, but got {type(reply).__name__}")
    if not reply.strip():
        return fail("empty reply")
    if len(reply) > MAX_REPLY_CHARS:
        return fail(f"the reply is too large to read: {len(reply):,} characters, more than {MAX_REPLY_CHARS:,}")
    closings = _closings(reply)
    chosen: PointFormat | None = point_format
    found = False
    collector = _Collector(size)
    for match in _TAG.finditer(reply):
        element, why = _read_element(reply, match, closings)
        if element is None:
            collector.error(why)
            continue
        chosen = chosen or element.kind
        if element.kind != chosen:
            collector.error(f"<{element.tag}> at character {element.position} is a {element.kind}-format element "
                            f"in a reply read as {chosen}: not read")
            continue
        found = True
        if element.label is not None and len(collector.labels) < MAX_RECORDED_ERRORS:
            collector.labels.append(element.label)
        if element.kind == "xml":
            if "coords" not in element.attributes:
                collector.error(f"<{element.tag}> at character {element.position}: expected a coords=\"..\" "
                                f"attribute, but got {sorted(element.attributes)[:8]}")
                continue
            if element.tag == "points" and any(_INDEXED.fullmatch(name) for name in element.attributes):
                collector.error(f"<points> at character {element.position} has both coords and x1/y1 attributes")
                continue
            _read_coords(element, collector)
            continue
        pairs, why = _molmo_pairs(element)
        if pairs is None:
            collector.error(why)
            continue
        for x, y in pairs:
            collector.molmo_points += 1
            collector.add(None, str(collector.molmo_points), x, y, _SCALE["molmo"])
    errors, count = collector.errors, collector.error_count
    if not found:
        wanted = {"xml": "<tracks coords=..>", "molmo": "<point x=.. y=..> or <points x1=.. y1=..>",
                  None: "<tracks coords=..>, <point x=.. y=..> or <points ..>"}[point_format]
        errors, count = [f"{NO_POINT_ELEMENT}: no well-formed {wanted} element", *errors], count + 1
    return PointTrackAnswer(reply=reply, point_format=chosen if found else None, points=tuple(collector.points),
                            frame_size=size, labels=tuple(collector.labels), dropped=PointDrops(**collector.counts),
                            errors=tuple(errors[:MAX_RECORDED_ERRORS]), error_count=count, cached=cached)


# ------------------------------------------------------------------------------------------------ prompts


def frame_for_time(seconds: float, *, fps: float, num_frames: int) -> int:
    """The frame a point at ``seconds`` goes on: ``round(seconds * fps)`` (half to even), clamped to
    ``0..num_frames - 1``.

    Examples:
        >>> frame_for_time(0.5, fps=6, num_frames=10), frame_for_time(0.25, fps=6, num_frames=10)
        (3, 2)
        >>> frame_for_time(9.0, fps=6, num_frames=10)
        9
    """
    _check_clip(fps, num_frames)
    return min(max(round(seconds * fps), 0), num_frames - 1)


def _check_clip(fps: float, num_frames: int) -> None:
    if not (isinstance(fps, (int, float)) and math.isfinite(fps) and fps > 0):
        raise ValueError(f"Expected fps to be a finite number > 0, but got {fps!r}")
    if isinstance(num_frames, bool) or not isinstance(num_frames, int) or num_frames < 1:
        raise ValueError(f"Expected num_frames to be an int >= 1, but got {num_frames!r}")


def _clamped(x: float, y: float, height: int, width: int) -> tuple[float, float]:
    return min(max(x, 0.0), float(width - 1)), min(max(y, 0.0), float(height - 1))


def point_prompts(answer: PointTrackAnswer, *, fps: float, num_frames: int,
                  shown_frame: int | None = None) -> PointPrompts:
    """The ``segment_points`` prompts of ``answer``'s points (module docstring): a timed point on
    :func:`frame_for_time`, a point without a time on ``shown_frame`` (``ValueError`` when there is none),
    ``x`` / ``y`` clamped to the pixel centres' range; frames ascending.

    Examples:
        >>> answer = read_point_tracks('<tracks coords="0 1 500 500; 1 1 1000 0">x</tracks>', frame_size=(10, 20))
        >>> point_prompts(answer, fps=2, num_frames=5)
        {0: {'1': [(10.0, 5.0)]}, 2: {'1': [(19.0, 0.0)]}}
    """
    _check_clip(fps, num_frames)
    if shown_frame is not None and not 0 <= shown_frame < num_frames:
        raise ValueError(f"Expected shown_frame in 0..{num_frames - 1}, but got {shown_frame}")
    height, width = answer.frame_size
    prompts: PointPrompts = {}
    for point in answer.points:
        if point.time is None:
            if shown_frame is None:
                raise ValueError("Expected shown_frame for points without a time (Molmo-style points)")
            frame = shown_frame
        else:
            frame = frame_for_time(point.time, fps=fps, num_frames=num_frames)
        prompts.setdefault(frame, {}).setdefault(point.object, []).append(_clamped(point.x, point.y, height, width))
    return dict(sorted(prompts.items()))


def _finite(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{where}: expected a finite number, but got {value!r}")
    return float(value)


def prompts_from_lmms_tracks(tracks: Iterable[Mapping[str, Any]], *, fps: float, num_frames: int,
                             record_size: tuple[int, int], frame_size: tuple[int, int]) -> PointPrompts:
    """The ``segment_points`` prompts of the ``tracks`` lmms-eval's stage 1 parsed (a submission record's
    ``tracks``: ``[{"time": s, "frame": f, "points": {id: {"point": [x, y]}}}, ...]``, x / y in the pixels of
    the record's ``record_size`` ``(height, width)``), on frames of ``frame_size`` ``(H, W)``, as lmms-eval's
    stage 2 makes them: x / y scaled by ``W / width`` and ``H / height`` (when the sizes differ), then clamped
    to ``[0, W - 1]`` / ``[0, H - 1]``; frame ``round(time * fps)`` (``frame / fps`` when an entry has no
    ``time``) clamped to ``0..num_frames - 1``; an object's points at one frame in the order given. A point
    may be ``{"point": [x, y], ...}`` or ``[x, y]``. ``ValueError`` naming the entry and object otherwise.

    Examples:
        >>> tracks = [{"time": 0.5, "frame": 15, "points": {"0": {"point": [640.0, 360.0]}}}]
        >>> prompts_from_lmms_tracks(tracks, fps=6, num_frames=10, record_size=(720, 1280), frame_size=(360, 640))
        {3: {'0': [(320.0, 180.0)]}}
    """
    _check_clip(fps, num_frames)
    record_height, record_width = _size(record_size, "record_size")
    height, width = _size(frame_size, "frame_size")
    sx, sy = width / record_width, height / record_height
    if isinstance(tracks, (str, bytes, Mapping)):
        raise ValueError(f"Expected tracks to be a list of entries, but got {type(tracks).__name__}")
    prompts: PointPrompts = {}
    for k, entry in enumerate(tracks):
        where = f"tracks[{k}]"
        if not isinstance(entry, Mapping):
            raise ValueError(f"{where}: expected an object, but got {type(entry).__name__}")
        if entry.get("time") is not None:
            seconds = _finite(entry["time"], f"{where}.time")
        elif entry.get("frame") is not None:
            seconds = _finite(entry["frame"], f"{where}.frame") / fps
        else:
            raise ValueError(f"{where}: expected a time or a frame, but got neither")
        frame = frame_for_time(seconds, fps=fps, num_frames=num_frames)
        points = entry.get("points", {})
        if not isinstance(points, Mapping):
            raise ValueError(f"{where}.points: expected an object of object id -> point, but got "
                             f"{type(points).__name__}")
        for key, value in points.items():
            xy = value.get("point") if isinstance(value, Mapping) else value
            if isinstance(xy, (str, bytes)) or not isinstance(xy, Sequence) or len(xy) < 2:
                raise ValueError(f"{where}.points[{str(key)!r}]: expected [x, y], but got {value!r}"[:200])
            x = _finite(xy[0], f"{where}.points[{str(key)!r}] x") * sx
            y = _finite(xy[1], f"{where}.points[{str(key)!r}] y") * sy
            prompts.setdefault(frame, {}).setdefault(str(key), []).append(_clamped(x, y, height, width))
    return dict(sorted(prompts.items()))
