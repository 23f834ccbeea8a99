"""Predictions files (``preds.jsonl``): records, a validating reader and a writer.

One JSON object per line (blank lines allowed), one line per (model, benchmark, id, probe):
``benchmark`` (``pixmmvp``/``pixcvbench``), ``id`` (the dataset row id), ``probe``
(``vqa``/``segment``/``letter``), ``model`` (default: the file's stem), ``prompt``, ``response``
(required for ``vqa`` and ``letter``), ``mask`` (a Mask or null = no mask = the empty mask),
``candidates`` (list of ``{"mask", "phrase"?, "char_start"?, "char_end"?, "token_start"?, "score"?,
"point"?}``), ``selected`` (int index, ``"none"``, or null) and ``variant`` (a prompt template id).

A Mask is compressed or uncompressed COCO RLE ``{"size": [h, w], "counts": ...}``, a PNG
``{"png": "masks/1.png"}`` (relative to the predictions file's folder; any non-zero pixel is
foreground), or polygons ``{"size": [h, w], "polygons": [[x1, y1, ...], ...]}`` rasterised as COCO does.

The reader never stops at the first problem: it returns every problem it found (up to a limit), each
naming the file, the line number and the id, and the caller decides (``pixbench score`` exits non-zero).
RLE strings of a whole file are validated in one vectorised pass.
"""

from __future__ import annotations

import difflib
import json
import math
import os
import re
import stat
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args

import numpy as np

from pixbench.annotation import rle as rle_ops
from pixbench.annotation.rle import MaskError, Rle, RunsCache
from pixbench.benchmarks import BENCHMARK_NAMES, REGISTRY, Benchmark
from pixbench.jsonl import MAX_LINE_BYTES, JsonLinesError, iter_json_lines
from pixbench.problems import ProblemLog, shorten

Probe = Literal["vqa", "segment", "letter"]
#: The benchmark names a line may give (the registry's).
BENCHMARKS: tuple[str, ...] = BENCHMARK_NAMES
PROBES: tuple[str, ...] = get_args(Probe)
TEXT_PROBES = ("vqa", "letter")
DEFAULT_PROBLEM_LIMIT = 200
KNOWN_FIELDS = ("benchmark", "id", "probe", "model", "prompt", "response", "mask", "candidates", "selected",
                "variant")
CANDIDATE_FIELDS = ("mask", "phrase", "char_start", "char_end", "token_start", "score", "point")
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


@dataclass(frozen=True)
class Candidate:
    """One mask proposed by a training-free method, with where it came from in the response."""

    mask: Rle
    phrase: str | None = None
    char_start: int | None = None
    char_end: int | None = None
    token_start: int | None = None
    score: float | None = None
    point: tuple[float, float] | None = None


@dataclass(frozen=True)
class Prediction:
    """One line of a predictions file.

    ``mask`` is ``None`` both when the field is absent and when it is null; ``has_mask`` tells them
    apart (a null mask is the empty mask; an absent one defers to ``candidates``). ``line`` and
    ``source`` say where the line was read (0 and "" for records made in Python). A video benchmark's line
    has ``frames`` (one mask per presented frame, ``None`` = empty) and, for pair probes, ``layout``.
    """

    benchmark: str
    id: int | str
    probe: str
    model: str
    response: str | None = None
    prompt: str | None = None
    mask: Rle | None = None
    has_mask: bool = False
    candidates: tuple[Candidate, ...] | None = None
    selected: int | Literal["none"] | None = None
    variant: str | None = None
    line: int = 0
    source: str = field(default="", compare=False)
    layout: str | None = None
    frames: tuple[Rle | None, ...] | None = None

    @property
    def key(self) -> tuple[str, str, int | str, str, str | None, str | None]:
        return (self.model, self.benchmark, self.id, self.probe, self.variant, self.layout)

    @property
    def has_masks(self) -> bool:
        """Whether the line says anything about masks (a ``mask`` field or ``candidates``)."""
        return self.has_mask or self.candidates is not None

    @property
    def where(self) -> str:
        """``file:line: id N`` of this line, for messages."""
        place = f"{self.source}:{self.line}" if self.source else f"line {self.line}"
        return f"{place}: id {self.id}"


@dataclass(frozen=True)
class PredictionProblem:
    """A problem found in a predictions file."""

    file: str
    line: int
    id: object
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: id {self.id}: {self.message}" if self.id is not None else f"{where}: {self.message}"


class PredictionsError(ValueError):
    """A predictions file with problems; ``problems`` lists those kept, ``total`` counts them all."""

    def __init__(self, problems: Sequence[PredictionProblem], limit: int = 50, total: int | None = None) -> None:
        self.problems = list(problems)
        self.total = len(self.problems) if total is None else total
        shown = "\n".join(str(p) for p in self.problems[:limit])
        hidden = self.total - min(limit, len(self.problems))
        more = f"\n... and {hidden} more" if hidden > 0 else ""
        super().__init__(f"{self.total} problem(s) in the predictions:\n{shown}{more}")


#: What the reader checks ids and mask sizes against: benchmark -> row id -> (height, width).
DatasetIndex = Mapping[str, Mapping[Any, Any]]


class _LineError(Exception):
    """A problem with one field of one line (internal: becomes a PredictionProblem)."""


@dataclass(frozen=True)
class ReadOptions:
    """How strict the reader is (the defaults are the safe ones).

    ``allow_unknown_fields`` turns unknown fields from errors into warnings; ``allow_outside_paths`` lets
    ``png`` paths leave the predictions file's folder (absolute paths, ``..``, links pointing out).
    """

    allow_unknown_fields: bool = False
    allow_outside_paths: bool = False
    max_line_bytes: int = MAX_LINE_BYTES


@dataclass
class _LineContext:
    """What parsing one line needs: where PNG paths are relative to, the expected mask size, the budget."""

    base_dir: Path
    options: ReadOptions
    expected: tuple[int, int] | None = None
    perimeter_left: float = field(default_factory=lambda: float(MAX_POLYGON_PERIMETER))
    vertices_left: int = field(default_factory=lambda: MAX_POLYGON_VERTICES)
    unknown: list[str] = field(default_factory=list)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an int beyond float range
        return False


def _check_fields(obj: Mapping[str, Any], known: Sequence[str], what: str, context: _LineContext) -> None:
    """Unknown keys are an error naming the key and the nearest known one (a warning if allowed)."""
    for name in obj:
        if name in known:
            continue
        close = difflib.get_close_matches(str(name).lower(), known, n=1, cutoff=0.6)
        hint = f"; did you mean `{close[0]}`?" if close else f" (known: {', '.join(known)})"
        message = f"unknown field `{what}{shorten(name, 40)[1:-1]}`{hint}"
        if not context.options.allow_unknown_fields:
            raise _LineError(message)
        context.unknown.append(message + " (ignored: --allow-unknown-fields)")


def parse_mask(value: Any, *, base_dir: Path, what: str = "mask", expected: tuple[int, int] | None = None,
               options: ReadOptions | None = None, context: _LineContext | None = None) -> Rle:
    """A Mask value of a predictions line as a normalised RLE (compressed counts not yet validated).

    With ``expected`` (the ground truth's ``(h, w)``) a mask of another size is refused before any
    pixel work: polygons are not rasterised and PNG files are not decoded.
    """
    context = context or _LineContext(base_dir, options or ReadOptions(), expected)
    if not isinstance(value, Mapping):
        raise _LineError(f"`{what}` must be an object (RLE, PNG or polygons) or null, but got {_kind(value)}")
    forms = [name for name in MASK_FORMS if name in value]
    if len(forms) > 1:
        raise _LineError(f"`{what}` mixes mask forms ({', '.join(forms)}): give one of counts (RLE), png or "
                         "polygons")
    if not forms:
        raise _LineError(f"`{what}` must have `counts` (RLE), `png` or `polygons`, but got keys "
                         f"{shorten(sorted(map(str, value)))}")
    form = forms[0]
    _check_fields(value, MASK_FORMS[form], f"{what}.", context)
    if form == "png":
        return _png_mask(value["png"], what, context)
    height, width = _size(value, what, context.expected)
    if form == "polygons":
        return _polygon_mask(value["polygons"], height, width, what, context)
    counts = value["counts"]
    if isinstance(counts, str):
        if not counts.isascii():  # rle_ops checks the ASCII bytes only
            raise _LineError(f"`{what}`: RLE 'counts' holds characters outside COCO's alphabet ('0'..'o')")
        if len(counts) > height * width + RLE_SLACK_CHARS:
            raise _LineError(f"`{what}`: RLE 'counts' has {len(counts)} characters, more than any "
                             f"{height}x{width} mask needs ({height * width + RLE_SLACK_CHARS})")
        return {"size": [height, width], "counts": counts}
    if isinstance(counts, list):
        if len(counts) > height * width + 1:
            raise _LineError(f"`{what}`: uncompressed RLE has {len(counts)} runs, more than a {height}x{width} "
                             f"mask can have ({height * width + 1})")
        try:
            return rle_ops.normalize({"size": [height, width], "counts": counts})
        except MaskError as exc:
            raise _LineError(f"`{what}`: {exc}") from None
    raise _LineError(f"`{what}.counts` must be a string or a list of ints, but got {_kind(counts)}")


def _size(value: Mapping[str, Any], what: str, expected: tuple[int, int] | None) -> tuple[int, int]:
    size = value.get("size")
    if not isinstance(size, list) or len(size) != 2 or not all(_is_int(v) and 0 < v <= MAX_SIDE for v in size):
        raise _LineError(f"`{what}.size` must be [height, width] of ints in 1..{MAX_SIDE}, but got {shorten(size)}")
    height, width = int(size[0]), int(size[1])
    if expected is not None and (height, width) != tuple(expected):
        raise _LineError(f"`{what}` size [{height}, {width}] != ground truth {list(expected)}")
    if height * width > MAX_MASK_PIXELS:
        raise _LineError(f"`{what}.size` {height}x{width} is more than the {MAX_MASK_PIXELS:,} pixels a mask may have")
    return height, width


def _polygon_mask(polygons: Any, height: int, width: int, what: str, context: _LineContext) -> Rle:
    if not isinstance(polygons, list) or not all(
            isinstance(p, list) and len(p) >= 6 and len(p) % 2 == 0 and all(_is_number(v) for v in p)
            for p in polygons):
        raise _LineError(f"`{what}.polygons` must be a list of flat [x1, y1, x2, y2, ...] lists of at least "
                         "3 points with finite numbers")
    if not polygons:  # the empty mask, without a dense array
        return rle_ops.normalize({"size": [height, width], "counts": [height * width]})
    vertices = sum(len(p) for p in polygons) // 2
    context.vertices_left -= vertices
    if context.vertices_left < 0:
        raise _LineError(f"`{what}.polygons`: the line's polygons have more than {MAX_POLYGON_VERTICES} vertices")
    perimeter = 0.0
    for polygon in polygons:
        points = np.asarray(polygon, dtype=np.float64).reshape(-1, 2)
        if ((points[:, 0] < -width) | (points[:, 0] > 2 * width)
                | (points[:, 1] < -height) | (points[:, 1] > 2 * height)).any():
            # pycocotools rasterises every edge pixel by pixel (far points cost memory, huge ones crash it)
            raise _LineError(f"`{what}.polygons` points must lie within one image size of the image "
                             f"(x in [-{width}, {2 * width}], y in [-{height}, {2 * height}])")
        steps = np.abs(points - np.roll(points, 1, axis=0))
        perimeter += float(np.maximum(steps[:, 0], steps[:, 1]).sum())
    context.perimeter_left -= perimeter
    if context.perimeter_left < 0:
        raise _LineError(f"`{what}.polygons`: the line's polygon edges are longer than "
                         f"{MAX_POLYGON_PERIMETER:,} pixels in all (rasterising them would take gigabytes)")
    return rle_ops.from_polygons(polygons, height, width)


def _png_mask(path_value: Any, what: str, context: _LineContext) -> Rle:
    if not isinstance(path_value, str) or not path_value or "\x00" in path_value:
        raise _LineError(f"`{what}.png` must be a path string, but got {shorten(path_value)}")
    base_dir = context.base_dir
    path = Path(path_value)
    path = path if path.is_absolute() else base_dir / path
    try:
        resolved = path.resolve()
        if not context.options.allow_outside_paths and not resolved.is_relative_to(base_dir.resolve()):
            raise _LineError(f"`{what}.png`: {shorten(path_value)} leads outside the predictions file's folder "
                             f"{base_dir}; pass --allow-outside-paths to read it")
        mode = os.stat(resolved).st_mode
    except FileNotFoundError:
        raise _LineError(f"`{what}.png`: file not found: {_path_text(path)}") from None
    except (OSError, RuntimeError) as exc:  # a loop of links, a name too long, no permission
        raise _LineError(f"`{what}.png`: cannot read {_path_text(path)}: {exc}") from None
    if not stat.S_ISREG(mode):
        raise _LineError(f"`{what}.png`: {_path_text(path)} is not a regular file")
    try:
        return rle_ops.encode(rle_ops.read_png(resolved, expected=context.expected, max_pixels=MAX_PNG_PIXELS))
    except MaskError as exc:
        raise _LineError(f"`{what}.png`: {_path_text(path)}: {exc}") from None
    except Exception as exc:  # PIL raises many types for unreadable files
        raise _LineError(f"`{what}.png`: unreadable PNG {_path_text(path)}: {str(exc)[:200]}") from None


def _path_text(path: Path, limit: int = 300) -> str:
    text = str(path)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _optional(obj: Mapping[str, Any], name: str, check: Callable[[Any], bool], expected: str, what: str) -> Any:
    value = obj.get(name)
    if value is not None and not check(value):
        raise _LineError(f"`{what}{name}` must be {expected}, but got {shorten(value)}")
    return value


def _plain_rle(value: Any, expected: tuple[int, int] | None) -> Rle | None:
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


_OFFSET_FIELDS = ("char_start", "char_end", "token_start")


def _parse_candidate(value: Any, index: int, context: _LineContext) -> Candidate:
    what = f"candidates[{index}]"
    if type(value) is dict and "point" not in value and value.keys() <= _CANDIDATE_SET:
        # the common well-formed candidate, checked in one pass
        mask = _plain_rle(value.get("mask"), context.expected)
        phrase, score = value.get("phrase"), value.get("score")
        start, end, token = value.get("char_start"), value.get("char_end"), value.get("token_start")
        if (mask is not None and (phrase is None or type(phrase) is str)
                and (score is None or (type(score) is float and -math.inf < score < math.inf))
                and (start is None or (type(start) is int and start >= 0))
                and (end is None or (type(end) is int and end >= 0))
                and (token is None or (type(token) is int and token >= 0))):
            return Candidate(mask=mask, phrase=phrase, char_start=start, char_end=end, token_start=token,
                             score=score)
    if not isinstance(value, Mapping):
        raise _LineError(f"`{what}` must be an object, but got {_kind(value)}")
    _check_fields(value, CANDIDATE_FIELDS, f"{what}.", context)
    mask_value = value.get("mask")
    if mask_value is None:
        raise _LineError(f"`{what}.mask` is required")
    mask = _plain_rle(mask_value, context.expected) or parse_mask(mask_value, base_dir=context.base_dir,
                                                                 what=f"{what}.mask", context=context)
    phrase = value.get("phrase")
    if phrase is not None and not isinstance(phrase, str):
        raise _LineError(f"`{what}.phrase` must be a string, but got {shorten(phrase)}")
    offsets = []
    for name in _OFFSET_FIELDS:
        offset = value.get(name)
        if offset is not None and not (_is_int(offset) and offset >= 0):
            raise _LineError(f"`{what}.{name}` must be a non-negative int, but got {shorten(offset)}")
        offsets.append(offset)
    score = value.get("score")
    if score is not None and not _is_number(score):
        raise _LineError(f"`{what}.score` must be a finite number, but got {shorten(score)}")
    point = value.get("point")
    if point is not None and not (isinstance(point, list) and len(point) == 2 and all(map(_is_number, point))):
        raise _LineError(f"`{what}.point` must be [x, y], but got {shorten(point)}")
    return Candidate(mask=mask, phrase=phrase, char_start=offsets[0], char_end=offsets[1], token_start=offsets[2],
                     score=score, point=(float(point[0]), float(point[1])) if point is not None else None)


_CANDIDATE_SET = frozenset(CANDIDATE_FIELDS)


def parse_line(obj: Any, *, default_model: str, base_dir: Path, line: int, source: str = "",
               sizes: DatasetIndex | None = None, options: ReadOptions | None = None,
               warnings: list[str] | None = None) -> Prediction:
    """One decoded JSON line as a :class:`Prediction`; raises ``_LineError`` naming the field.

    With ``sizes`` (benchmark -> id -> ground-truth size) the id must be in the dataset and every mask
    must have the ground truth's size, checked before any pixel work. Messages about unknown fields
    allowed by ``options`` are appended to ``warnings``.
    """
    options = options or ReadOptions()
    if not isinstance(obj, dict):
        raise _LineError(f"expected a JSON object, but got {_kind(obj)}")
    context = _LineContext(base_dir, options)
    name = obj.get("benchmark")
    benchmark = REGISTRY.get(name) if isinstance(name, str) else None
    if benchmark is not None and benchmark.kind == "video":
        prediction = _parse_video_line(obj, benchmark, default_model=default_model, line=line, source=source,
                                       sizes=sizes, context=context)
        if warnings is not None:
            warnings.extend(context.unknown)
        return prediction
    _check_fields(obj, KNOWN_FIELDS, "", context)
    for name in ("benchmark", "id", "probe"):
        if name not in obj:
            raise _LineError(f"missing required field `{name}`")
    if obj["benchmark"] not in BENCHMARKS:
        raise _LineError(f"unknown benchmark {shorten(obj['benchmark'])} (expected one of {list(BENCHMARKS)})")
    if not _is_int(obj["id"]):
        raise _LineError(f"`id` must be an int, but got {shorten(obj['id'])}")
    if obj["probe"] not in (benchmark.probes if benchmark is not None else PROBES):
        raise _LineError(f"unknown probe {shorten(obj['probe'])} (expected one of {list(PROBES)})")
    rows = sizes.get(obj["benchmark"]) if sizes is not None else None
    if rows is not None:
        if obj["id"] not in rows:
            raise _LineError(f"id not in the {obj['benchmark']} dataset")
        height, width = rows[obj["id"]]
        context.expected = (int(height), int(width))
    response = obj.get("response")
    if obj["probe"] in TEXT_PROBES and response is None:
        raise _LineError(f"missing required field `response` for probe {obj['probe']!r}")
    if response is not None and not isinstance(response, str):
        raise _LineError(f"`response` must be a string, but got {_kind(response)}")
    model = obj.get("model", default_model)
    if not isinstance(model, str) or not model:
        raise _LineError(f"`model` must be a non-empty string, but got {shorten(model)}")
    prompt = _optional(obj, "prompt", lambda v: isinstance(v, str), "a string", "")
    variant = _optional(obj, "variant", lambda v: isinstance(v, (str, int)) and not isinstance(v, bool),
                        "a template id (string or int)", "")
    has_mask = "mask" in obj
    mask = parse_mask(obj["mask"], base_dir=base_dir, context=context) if obj.get("mask") is not None else None
    candidates = None
    if obj.get("candidates") is not None:
        if not isinstance(obj["candidates"], list):
            raise _LineError(f"`candidates` must be a list, but got {_kind(obj['candidates'])}")
        candidates = tuple(_parse_candidate(c, k, context) for k, c in enumerate(obj["candidates"]))
    limit = len(response) if response is not None else None
    for k, candidate in enumerate(candidates or ()):
        start, end = candidate.char_start, candidate.char_end
        if start is not None and end is not None and start > end:
            raise _LineError(f"`candidates[{k}]`: char_start {start} > char_end {end}")
        for name, offset in (("char_start", start), ("char_end", end)):
            if offset is not None and (limit is None or offset > limit):
                raise _LineError(f"`candidates[{k}].{name}` {offset} is outside the response "
                                 f"({'no response' if limit is None else f'{limit} characters'})")
    selected = obj.get("selected")
    if selected is not None and selected != "none":
        if not _is_int(selected):
            raise _LineError(f"`selected` must be an int index, \"none\" or null, but got {shorten(selected)}")
        if candidates is None or not 0 <= selected < len(candidates):
            count = 0 if candidates is None else len(candidates)
            raise _LineError(f"`selected` index {shorten(selected)} out of range for {count} candidate(s)")
    if warnings is not None:
        warnings.extend(context.unknown)
    return Prediction(benchmark=obj["benchmark"], id=obj["id"], probe=obj["probe"], model=model,
                      response=response, prompt=prompt, mask=mask, has_mask=has_mask, candidates=candidates,
                      selected=selected, variant=None if variant is None else str(variant), line=line,
                      source=source)


#: The fields of a video benchmark's line.
VIDEO_FIELDS = ("benchmark", "id", "probe", "layout", "model", "masks", "variant", "prompt")
#: Most masks a video line may hold when no ground truth says how many frames there are.
MAX_VIDEO_FRAMES = 10_000


def _parse_video_line(obj: dict[str, Any], benchmark: Benchmark, *, default_model: str, line: int, source: str,
                      sizes: DatasetIndex | None, context: _LineContext) -> Prediction:
    """A video benchmark's line: ``id`` (a string), ``probe``, ``layout`` (pair probes), ``masks`` (one per
    presented frame: a list of Mask values or null, or ``{"png_dir": DIR}`` holding ``<frame name>.png``)."""
    _check_fields(obj, VIDEO_FIELDS, "", context)
    for name in ("id", "probe", "masks"):
        if name not in obj:
            raise _LineError(f"missing required field `{name}`")
    row_id, probe, layout = obj["id"], obj["probe"], obj.get("layout")
    if not isinstance(row_id, str) or not row_id:
        raise _LineError(f"`id` must be a string (\"<video_id>_<exp_id>\"), but got {shorten(row_id)}")
    if layout is not None and not isinstance(layout, str):
        raise _LineError(f"`layout` must be a string, but got {shorten(layout)}")
    rows = sizes.get(benchmark.name) if sizes is not None else None
    entry = None
    if rows is not None:
        entry = rows.get(row_id)
        if entry is None:
            raise _LineError(f"id not in the {benchmark.name} dataset")
    try:
        shown = benchmark.presented(entry, probe, layout)
    except ValueError as exc:
        raise _LineError(str(exc)) from None
    model = obj.get("model", default_model)
    if not isinstance(model, str) or not model:
        raise _LineError(f"`model` must be a non-empty string, but got {shorten(model)}")
    prompt = _optional(obj, "prompt", lambda v: isinstance(v, str), "a string", "")
    variant = _optional(obj, "variant", lambda v: isinstance(v, (str, int)) and not isinstance(v, bool),
                        "a template id (string or int)", "")
    if shown is not None:
        context.expected = shown.canvas
    frames = _video_masks(obj["masks"], shown.frame_names if shown is not None else None, context)
    return Prediction(benchmark=benchmark.name, id=row_id, probe=probe, model=model, prompt=prompt,
                      variant=None if variant is None else str(variant), line=line, source=source, layout=layout,
                      frames=frames)


def _video_masks(value: Any, names: Sequence[str] | None, context: _LineContext) -> tuple[Rle | None, ...]:
    if isinstance(value, Mapping) and "png_dir" in value:
        _check_fields(value, ("png_dir",), "masks.", context)
        return _png_dir(value["png_dir"], names, context)
    if not isinstance(value, list):
        raise _LineError(f"`masks` must be a list (one mask per presented frame) or {{\"png_dir\": DIR}}, "
                         f"but got {_kind(value)}")
    if names is not None and len(value) != len(names):
        raise _LineError(f"`masks` has {len(value)} mask(s), but the probe presents {len(names)} frames")
    if len(value) > MAX_VIDEO_FRAMES:
        raise _LineError(f"`masks` has {len(value)} masks, more than the {MAX_VIDEO_FRAMES:,} a line may hold")
    frames: list[Rle | None] = []
    for t, item in enumerate(value):
        if item is None:
            frames.append(None)
            continue
        frames.append(_plain_rle(item, context.expected) or parse_mask(item, base_dir=context.base_dir,
                                                                      what=f"masks[{t}]", context=context))
    return tuple(frames)


def _png_dir(value: Any, names: Sequence[str] | None, context: _LineContext) -> tuple[Rle | None, ...]:
    """Masks from a folder of ``<frame name>.png`` files, one per presented frame (all must be there)."""
    if not isinstance(value, str) or not value or "\x00" in value:
        raise _LineError(f"`masks.png_dir` must be a folder path, but got {shorten(value)}")
    if names is None:
        raise _LineError("`masks.png_dir` needs the dataset (--data) to know the frames' names")
    folder = Path(value) if Path(value).is_absolute() else context.base_dir / value
    resolved = folder.resolve()
    if not context.options.allow_outside_paths and not resolved.is_relative_to(context.base_dir.resolve()):
        raise _LineError(f"`masks.png_dir`: {shorten(value)} leads outside the predictions file's folder "
                         f"{context.base_dir}; pass --allow-outside-paths to read it")
    if not resolved.is_dir():
        raise _LineError(f"`masks.png_dir`: not a folder: {_path_text(folder)}")
    missing = [name for name in names if not (resolved / f"{name}.png").is_file()]
    if missing:
        raise _LineError(f"`masks.png_dir` {_path_text(folder)} lacks {len(missing)} of {len(names)} frame(s): "
                         f"{', '.join(f'{name}.png' for name in missing[:5])}{' ...' if len(missing) > 5 else ''}")
    return tuple(_png_mask(str(resolved / f"{name}.png"), f"masks.png_dir[{name}]", context) for name in names)


@dataclass
class PredictionsFile:
    """What the reader made of one file: the lines it could read and every problem found.

    ``problems`` holds the first ``limit`` problems, ``problem_count`` counts all of them; ``warnings``
    are problems that were allowed (unknown fields under ``allow_unknown_fields``), as text.
    """

    path: Path
    predictions: list[Prediction] = field(default_factory=list)
    problems: list[PredictionProblem] = field(default_factory=list)
    runs_checked: bool = False
    problem_count: int = 0
    warnings: list[str] = field(default_factory=list)

    @property
    def models(self) -> list[str]:
        return sorted({p.model for p in self.predictions})

    def raise_for_problems(self) -> None:
        if self.problem_count or self.problems:
            raise PredictionsError(self.problems, total=max(self.problem_count, len(self.problems)))


def _masks_of(prediction: Prediction) -> Iterable[tuple[str, Rle]]:
    if prediction.mask is not None:
        yield "mask", prediction.mask
    for t, frame in enumerate(prediction.frames or ()):
        if frame is not None:
            yield f"masks[{t}]", frame
    for k, candidate in enumerate(prediction.candidates or ()):
        yield f"candidates[{k}].mask", candidate.mask


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def _lone_surrogate(value: Any, where: str = "") -> tuple[str, int] | None:
    """``(field, character)`` of a string that is not valid Unicode (a lone UTF-16 surrogate), if any."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            return where or "the line", exc.start + 1
        return None
    items: Iterable[tuple[str, Any]] = ()
    if isinstance(value, dict):
        items = ((f"{where}.{key}" if where else str(key), item) for key, item in value.items())
        bad_key = next((key for key in value if _lone_surrogate(key)), None)
        if bad_key is not None:
            return f"{where or 'the line'} (a key)", 1
    elif isinstance(value, list):
        items = ((f"{where}[{k}]", item) for k, item in enumerate(value))
    for name, item in items:
        found = _lone_surrogate(item, name)
        if found:
            return found
    return None


def read_predictions(path: str | Path, *, index: DatasetIndex | None = None, limit: int = DEFAULT_PROBLEM_LIMIT,
                     options: ReadOptions | None = None, runs: RunsCache | None = None) -> PredictionsFile:
    """Read and validate a predictions file.

    With ``index`` (benchmark -> id -> ground-truth ``(h, w)``; it may load benchmarks lazily), ids must
    exist in the dataset and every mask must have the ground truth's size, checked before any pixel
    work. Lines with problems are left out of ``predictions``; the first ``limit`` problems are in
    ``problems``, and ``problem_count`` counts them all. Only regular files are read, line by line,
    at most ``options.max_line_bytes`` at a time. The masks' decoded runs are kept in ``runs`` when
    given (scoring reuses them).
    """
    path = Path(path)
    options = options or ReadOptions()
    result = PredictionsFile(path)
    log: ProblemLog[PredictionProblem] = ProblemLog(limit)
    name, base_dir, default_model = str(path), path.parent, path.stem

    def problem(line: int, record_id: object, message: str) -> None:
        log.add(PredictionProblem(name, line, record_id, message))

    seen: dict[tuple[str, str, int | str, str, str | None, str | None], int] = {}
    try:
        for line in iter_json_lines(path, max_line_bytes=options.max_line_bytes):
            number, obj, text = line.number, line.value, line.text
            if line.error is not None:
                problem(number, None, line.error)
                continue
            record_id = obj.get("id") if isinstance(obj, dict) else None
            if not isinstance(record_id, (int, float, str)):
                record_id = None  # name scalars only, never a nested value
            elif (isinstance(record_id, str) and len(record_id) > 30) or (
                    isinstance(record_id, int) and abs(record_id) >= 10**18):
                record_id = shorten(record_id, 30)
            if _SURROGATE_ESCAPE.search(text):
                try:
                    bad = _lone_surrogate(obj)
                except RecursionError:
                    bad = ("a value nested too deeply", 1)
                if bad:
                    problem(number, record_id, f"`{shorten(bad[0], 80)[1:-1]}` is not valid Unicode text: it holds "
                                               "a lone UTF-16 surrogate (an escape such as \\ud800) at character "
                                               f"{bad[1]}")
                    continue
            try:
                prediction = parse_line(obj, default_model=default_model, base_dir=base_dir, line=number,
                                        source=name, sizes=index, options=options, warnings=result.warnings)
            except _LineError as exc:
                problem(number, record_id, str(exc))
                continue
            except RecursionError:
                problem(number, record_id, "a value is nested too deeply")
                continue
            if prediction.key in seen:
                variant = f", variant {shorten(prediction.variant)}" if prediction.variant else ""
                problem(number, prediction.id, f"duplicate line for ({shorten(prediction.model)}, "
                                               f"{prediction.benchmark}, {prediction.probe}{variant}); "
                                               f"first at line {seen[prediction.key]}")
                continue
            seen[prediction.key] = number
            result.predictions.append(prediction)
    except JsonLinesError as exc:
        problem(0, None, str(exc))
    result.warnings[:] = [f"{name}: {w}" for w in result.warnings]
    _validate_masks(result, None, problem, runs)
    _finish(result, log)
    return result


def _finish(result: PredictionsFile, log: ProblemLog[PredictionProblem]) -> None:
    result.problems = list(log.shown)
    result.problem_count = log.total


def _validate_masks(result: PredictionsFile, index: DatasetIndex | None,
                    problem: Callable[[int, object, str], None], runs: RunsCache | None = None) -> None:
    """Check ids against the dataset, mask sizes against the ground truth, and RLE runs (one pass)."""
    bad_lines: set[int] = set()
    strings: list[str] = []
    pixels: list[int] = []
    owners: list[tuple[Prediction, str]] = []
    for prediction in result.predictions:
        sizes = index.get(prediction.benchmark) if index is not None else None
        if sizes is not None and prediction.id not in sizes:
            problem(prediction.line, prediction.id, f"id not in the {prediction.benchmark} dataset")
            bad_lines.add(prediction.line)
            continue
        expected = sizes.get(prediction.id) if sizes is not None else None
        for what, mask in _masks_of(prediction):
            if expected is not None and tuple(mask["size"]) != tuple(expected):
                problem(prediction.line, prediction.id,
                        f"`{what}` size {list(mask['size'])} != ground truth {list(expected)}")
                bad_lines.add(prediction.line)
                continue
            if not result.runs_checked:
                strings.append(mask["counts"])
                pixels.append(mask["size"][0] * mask["size"][1])
                owners.append((prediction, what))
    for (prediction, what), message in zip(owners, rle_ops.check_counts_many(strings, pixels, cache=runs)):
        if message is not None and prediction.line not in bad_lines:
            problem(prediction.line, prediction.id, f"`{what}`: {message}")
            bad_lines.add(prediction.line)
    result.runs_checked = True
    if bad_lines:
        result.predictions = [p for p in result.predictions if p.line not in bad_lines]


def check_against_dataset(result: PredictionsFile, index: DatasetIndex,
                          limit: int = DEFAULT_PROBLEM_LIMIT) -> PredictionsFile:
    """Check a file read without an index against one: ids in the dataset, masks of the ground truth's
    size. Problems are added to ``result.problems`` (up to ``limit``); offending lines are dropped."""
    log: ProblemLog[PredictionProblem] = ProblemLog(limit)
    for old in result.problems:
        log.add(old)
    log.total = max(result.problem_count, len(result.problems))

    def problem(line: int, record_id: object, message: str) -> None:
        log.add(PredictionProblem(str(result.path), line, record_id, message))

    _validate_masks(result, index, problem)
    _finish(result, log)
    return result


# ---------------------------------------------------------------- writing


def candidate_to_json(candidate: Candidate) -> dict[str, Any]:
    out: dict[str, Any] = {"mask": dict(candidate.mask)}
    for name in ("phrase", "char_start", "char_end", "token_start", "score"):
        value = getattr(candidate, name)
        if value is not None:
            out[name] = value
    if candidate.point is not None:
        out["point"] = [candidate.point[0], candidate.point[1]]
    return out


def prediction_to_json(prediction: Prediction) -> dict[str, Any]:
    """The JSON object of one line (fields that are unset are left out)."""
    out: dict[str, Any] = {"benchmark": prediction.benchmark, "id": prediction.id, "probe": prediction.probe,
                           "model": prediction.model}
    if prediction.layout is not None:
        out["layout"] = prediction.layout
    for name in ("variant", "prompt", "response"):
        value = getattr(prediction, name)
        if value is not None:
            out[name] = value
    if prediction.has_mask or prediction.mask is not None:
        out["mask"] = dict(prediction.mask) if prediction.mask is not None else None
    if prediction.candidates is not None:
        out["candidates"] = [candidate_to_json(c) for c in prediction.candidates]
    if prediction.selected is not None:
        out["selected"] = prediction.selected
    if prediction.frames is not None:
        out["masks"] = [None if mask is None else dict(mask) for mask in prediction.frames]
    return out


def write_predictions(path: str | Path, predictions: Iterable[Prediction], *, append: bool = False) -> int:
    """Write (or append) predictions as JSON lines; return the number of lines written."""
    count = 0
    with Path(path).open("a" if append else "w", encoding="utf-8") as handle:
        for prediction in predictions:
            handle.write(json.dumps(prediction_to_json(prediction), ensure_ascii=False) + "\n")
            count += 1
    return count
