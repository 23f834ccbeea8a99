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

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args

from pixbench.annotation import rle as rle_ops
from pixbench.annotation.rle import MaskError, Rle

Benchmark = Literal["pixmmvp", "pixcvbench"]
Probe = Literal["vqa", "segment", "letter"]
BENCHMARKS: tuple[str, ...] = get_args(Benchmark)
PROBES: tuple[str, ...] = get_args(Probe)
TEXT_PROBES = ("vqa", "letter")
DEFAULT_PROBLEM_LIMIT = 200
KNOWN_FIELDS = {"benchmark", "id", "probe", "model", "prompt", "response", "mask", "candidates", "selected",
                "variant"}
CANDIDATE_FIELDS = {"mask", "phrase", "char_start", "char_end", "token_start", "score", "point"}
#: Largest mask side accepted: keeps ``height * width`` and pycocotools' scaled polygon coordinates
#: within its 32-bit ints (larger values overflow or crash in its C code).
MAX_SIDE = 2**15


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
    apart (a null mask is the empty mask; an absent one defers to ``candidates``).
    """

    benchmark: str
    id: int
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

    @property
    def key(self) -> tuple[str, str, int, str, str | None]:
        return (self.model, self.benchmark, self.id, self.probe, self.variant)

    @property
    def has_masks(self) -> bool:
        """Whether the line says anything about masks (a ``mask`` field or ``candidates``)."""
        return self.has_mask or self.candidates is not None


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
    """A predictions file with problems; ``problems`` lists them all."""

    def __init__(self, problems: Sequence[PredictionProblem], limit: int = 50) -> None:
        self.problems = list(problems)
        shown = "\n".join(str(p) for p in self.problems[:limit])
        more = f"\n... and {len(self.problems) - limit} more" if len(self.problems) > limit else ""
        super().__init__(f"{len(self.problems)} problem(s) in the predictions:\n{shown}{more}")


#: What the reader checks ids and mask sizes against: benchmark -> row id -> (height, width).
DatasetIndex = Mapping[str, Mapping[int, tuple[int, int]]]


class _LineError(Exception):
    """A problem with one field of one line (internal: becomes a PredictionProblem)."""


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an int beyond float range
        return False


def parse_mask(value: Any, *, base_dir: Path, what: str = "mask") -> Rle:
    """A Mask value of a predictions line as a normalised RLE (compressed counts not yet validated)."""
    if not isinstance(value, Mapping):
        raise _LineError(f"`{what}` must be an object (RLE, PNG or polygons) or null, but got {_kind(value)}")
    if "png" in value:
        return _png_mask(value["png"], base_dir, what)
    if "polygons" in value:
        height, width = _size(value, what)
        polygons = value["polygons"]
        if not isinstance(polygons, list) or not all(
                isinstance(p, list) and len(p) >= 6 and len(p) % 2 == 0 and all(_is_number(v) for v in p)
                for p in polygons):
            raise _LineError(f"`{what}.polygons` must be a list of flat [x1, y1, x2, y2, ...] lists of at least "
                             "3 points with finite numbers")
        if not all(-width <= p[k] <= 2 * width and -height <= p[k + 1] <= 2 * height
                   for p in polygons for k in range(0, len(p), 2)):
            # pycocotools rasterises every edge pixel by pixel (far points cost memory, huge ones crash it)
            raise _LineError(f"`{what}.polygons` points must lie within one image size of the image "
                             f"(x in [-{width}, {2 * width}], y in [-{height}, {2 * height}])")
        if not polygons:  # the empty mask, without a dense array
            return rle_ops.normalize({"size": [height, width], "counts": [height * width]})
        return rle_ops.from_polygons(polygons, height, width)
    if "counts" in value:
        height, width = _size(value, what)
        counts = value["counts"]
        if isinstance(counts, str):
            if not counts.isascii():  # rle_ops checks the ASCII bytes only
                raise _LineError(f"`{what}`: RLE 'counts' holds characters outside COCO's alphabet ('0'..'o')")
            return {"size": [height, width], "counts": counts}
        if isinstance(counts, list):
            try:
                return rle_ops.normalize({"size": [height, width], "counts": counts})
            except MaskError as exc:
                raise _LineError(f"`{what}`: {exc}") from None
        raise _LineError(f"`{what}.counts` must be a string or a list of ints, but got {_kind(counts)}")
    raise _LineError(f"`{what}` must have `counts` (RLE), `png` or `polygons`, but got keys {sorted(value)}")


def _size(value: Mapping[str, Any], what: str) -> tuple[int, int]:
    size = value.get("size")
    if not isinstance(size, list) or len(size) != 2 or not all(_is_int(v) and 0 < v <= MAX_SIDE for v in size):
        raise _LineError(f"`{what}.size` must be [height, width] of ints in 1..{MAX_SIDE}, but got {size!r}"[:300])
    return int(size[0]), int(size[1])


def _png_mask(path_value: Any, base_dir: Path, what: str) -> Rle:
    if not isinstance(path_value, str) or not path_value:
        raise _LineError(f"`{what}.png` must be a path string, but got {_kind(path_value)}")
    path = Path(path_value)
    path = path if path.is_absolute() else base_dir / path
    try:
        return rle_ops.encode(rle_ops.read_png(path))
    except FileNotFoundError:
        raise _LineError(f"`{what}.png`: file not found: {path}") from None
    except Exception as exc:  # PIL raises many types for unreadable files
        raise _LineError(f"`{what}.png`: unreadable PNG {path}: {exc}") from None


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _optional(obj: Mapping[str, Any], name: str, check: Any, expected: str, what: str) -> Any:
    value = obj.get(name)
    if value is not None and not check(value):
        raise _LineError(f"`{what}{name}` must be {expected}, but got {value!r}"[:300])
    return value


def _plain_rle(value: Any) -> Rle | None:
    """Fast path of :func:`parse_mask` for the common case, a well-formed compressed RLE; else ``None``."""
    if type(value) is dict and len(value) == 2:
        counts, size = value.get("counts"), value.get("size")
        if type(counts) is str and type(size) is list and len(size) == 2:
            height, width = size
            if (type(height) is int and type(width) is int and 0 < height <= MAX_SIDE and 0 < width <= MAX_SIDE
                    and counts.isascii()):
                return {"size": [height, width], "counts": counts}
    return None


_OFFSET_FIELDS = ("char_start", "char_end", "token_start")


def _parse_candidate(value: Any, index: int, base_dir: Path) -> Candidate:
    what = f"candidates[{index}]"
    if not isinstance(value, Mapping):
        raise _LineError(f"`{what}` must be an object, but got {_kind(value)}")
    mask_value = value.get("mask")
    if mask_value is None:
        raise _LineError(f"`{what}.mask` is required")
    mask = _plain_rle(mask_value) or parse_mask(mask_value, base_dir=base_dir, what=f"{what}.mask")
    phrase = value.get("phrase")
    if phrase is not None and not isinstance(phrase, str):
        raise _LineError(f"`{what}.phrase` must be a string, but got {phrase!r}"[:300])
    offsets = []
    for name in _OFFSET_FIELDS:
        offset = value.get(name)
        if offset is not None and not (_is_int(offset) and offset >= 0):
            raise _LineError(f"`{what}.{name}` must be a non-negative int, but got {offset!r}"[:300])
        offsets.append(offset)
    score = value.get("score")
    if score is not None and not _is_number(score):
        raise _LineError(f"`{what}.score` must be a finite number, but got {score!r}"[:300])
    point = value.get("point")
    if point is not None and not (isinstance(point, list) and len(point) == 2 and all(map(_is_number, point))):
        raise _LineError(f"`{what}.point` must be [x, y], but got {point!r}"[:300])
    return Candidate(mask=mask, phrase=phrase, char_start=offsets[0], char_end=offsets[1], token_start=offsets[2],
                     score=score, point=(float(point[0]), float(point[1])) if point is not None else None)


def parse_line(obj: Any, *, default_model: str, base_dir: Path, line: int) -> Prediction:
    """One decoded JSON line as a :class:`Prediction`; raises ``_LineError`` naming the field."""
    if not isinstance(obj, dict):
        raise _LineError(f"expected a JSON object, but got {_kind(obj)}")
    for name in ("benchmark", "id", "probe"):
        if name not in obj:
            raise _LineError(f"missing required field `{name}`")
    if obj["benchmark"] not in BENCHMARKS:
        raise _LineError(f"unknown benchmark {obj['benchmark']!r} (expected one of {list(BENCHMARKS)})")
    if not _is_int(obj["id"]):
        raise _LineError(f"`id` must be an int, but got {obj['id']!r}")
    if obj["probe"] not in PROBES:
        raise _LineError(f"unknown probe {obj['probe']!r} (expected one of {list(PROBES)})")
    response = obj.get("response")
    if obj["probe"] in TEXT_PROBES and response is None:
        raise _LineError(f"missing required field `response` for probe {obj['probe']!r}")
    if response is not None and not isinstance(response, str):
        raise _LineError(f"`response` must be a string, but got {_kind(response)}")
    model = obj.get("model", default_model)
    if not isinstance(model, str) or not model:
        raise _LineError(f"`model` must be a non-empty string, but got {model!r}")
    prompt = _optional(obj, "prompt", lambda v: isinstance(v, str), "a string", "")
    variant = _optional(obj, "variant", lambda v: isinstance(v, (str, int)) and not isinstance(v, bool),
                        "a template id (string or int)", "")
    has_mask = "mask" in obj
    mask = parse_mask(obj["mask"], base_dir=base_dir) if obj.get("mask") is not None else None
    candidates = None
    if obj.get("candidates") is not None:
        if not isinstance(obj["candidates"], list):
            raise _LineError(f"`candidates` must be a list, but got {_kind(obj['candidates'])}")
        candidates = tuple(_parse_candidate(c, k, base_dir) for k, c in enumerate(obj["candidates"]))
    for k, candidate in enumerate(candidates or ()):
        start, end = candidate.char_start, candidate.char_end
        if start is not None and end is not None and start > end:
            raise _LineError(f"`candidates[{k}]`: char_start {start} > char_end {end}")
        limit = len(response) if response is not None else None
        for name, offset in (("char_start", start), ("char_end", end)):
            if offset is not None and (limit is None or offset > limit):
                raise _LineError(f"`candidates[{k}].{name}` {offset} is outside the response "
                                 f"({'no response' if limit is None else f'{limit} characters'})")
    selected = obj.get("selected")
    if selected is not None and selected != "none":
        if not _is_int(selected):
            raise _LineError(f"`selected` must be an int index, \"none\" or null, but got {selected!r}")
        if candidates is None or not 0 <= selected < len(candidates):
            count = 0 if candidates is None else len(candidates)
            raise _LineError(f"`selected` index {selected} out of range for {count} candidate(s)")
    return Prediction(benchmark=obj["benchmark"], id=obj["id"], probe=obj["probe"], model=model,
                      response=response, prompt=prompt, mask=mask, has_mask=has_mask, candidates=candidates,
                      selected=selected, variant=None if variant is None else str(variant), line=line)


@dataclass
class PredictionsFile:
    """What the reader made of one file: the lines it could read and every problem found."""

    path: Path
    predictions: list[Prediction] = field(default_factory=list)
    problems: list[PredictionProblem] = field(default_factory=list)
    runs_checked: bool = False

    @property
    def models(self) -> list[str]:
        return sorted({p.model for p in self.predictions})

    def raise_for_problems(self) -> None:
        if self.problems:
            raise PredictionsError(self.problems)


def _masks_of(prediction: Prediction) -> Iterable[tuple[str, Rle]]:
    if prediction.mask is not None:
        yield "mask", prediction.mask
    for k, candidate in enumerate(prediction.candidates or ()):
        yield f"candidates[{k}].mask", candidate.mask


def read_predictions(path: str | Path, *, index: DatasetIndex | None = None,
                     limit: int = DEFAULT_PROBLEM_LIMIT) -> PredictionsFile:
    """Read and validate a predictions file.

    With ``index`` (benchmark -> id -> ground-truth ``(h, w)``), ids must exist in the dataset and every
    mask must have the ground truth's size. Lines with problems are left out of ``predictions``; the
    problems (at most ``limit``) are in ``problems``.
    """
    path = Path(path)
    result = PredictionsFile(path)
    name, base_dir, default_model = str(path), path.parent, path.stem

    def problem(line: int, record_id: object, message: str) -> None:
        if len(result.problems) < limit:
            result.problems.append(PredictionProblem(name, line, record_id, message))

    try:
        # surrogateescape: a line with bytes that are not UTF-8 is reported alone, the others still read
        handle = path.open(encoding="utf-8", errors="surrogateescape")
    except OSError as exc:
        problem(0, None, f"cannot open: {exc.strerror or exc}")
        return result
    seen: dict[tuple[str, str, int, str, str | None], int] = {}
    with handle:
        for number, text in enumerate(handle, start=1):
            if not text.strip():
                continue
            try:
                text.encode("utf-8")
            except UnicodeEncodeError as exc:
                problem(number, None, f"not UTF-8 text (column {exc.start + 1})")
                continue
            try:
                obj = json.loads(text)
            except json.JSONDecodeError as exc:
                problem(number, None, f"invalid JSON: {exc.msg} (column {exc.colno})")
                continue
            except (ValueError, RecursionError) as exc:  # an int of over 4300 digits; nesting too deep
                problem(number, None, f"invalid JSON: {exc}"[:300])
                continue
            record_id = obj.get("id") if isinstance(obj, dict) else None
            if not isinstance(record_id, (int, float, str)):  # name scalars only, never a nested value
                record_id = None
            try:
                prediction = parse_line(obj, default_model=default_model, base_dir=base_dir, line=number)
            except _LineError as exc:
                problem(number, record_id, str(exc))
                continue
            except RecursionError:
                problem(number, record_id, "a value is nested too deeply")
                continue
            if prediction.key in seen:
                problem(number, prediction.id, f"duplicate line for ({prediction.model}, {prediction.benchmark}, "
                                               f"{prediction.probe}); first at line {seen[prediction.key]}")
                continue
            seen[prediction.key] = number
            result.predictions.append(prediction)
    _validate_masks(result, index, problem)
    return result


def _validate_masks(result: PredictionsFile, index: DatasetIndex | None, problem: Any) -> None:
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
    for (prediction, what), message in zip(owners, rle_ops.check_counts_many(strings, pixels)):
        if message is not None:
            problem(prediction.line, prediction.id, f"`{what}`: {message}")
            bad_lines.add(prediction.line)
    result.runs_checked = True
    if bad_lines:
        result.predictions = [p for p in result.predictions if p.line not in bad_lines]


def check_against_dataset(result: PredictionsFile, index: DatasetIndex,
                          limit: int = DEFAULT_PROBLEM_LIMIT) -> PredictionsFile:
    """Check a file read without an index against one: ids in the dataset, masks of the ground truth's
    size. Problems are added to ``result.problems`` (up to ``limit``); offending lines are dropped."""

    def problem(line: int, record_id: object, message: str) -> None:
        if len(result.problems) < limit:
            result.problems.append(PredictionProblem(str(result.path), line, record_id, message))

    _validate_masks(result, index, problem)
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
    return out


def write_predictions(path: str | Path, predictions: Iterable[Prediction], *, append: bool = False) -> int:
    """Write (or append) predictions as JSON lines; return the number of lines written."""
    count = 0
    with Path(path).open("a" if append else "w", encoding="utf-8") as handle:
        for prediction in predictions:
            handle.write(json.dumps(prediction_to_json(prediction), ensure_ascii=False) + "\n")
            count += 1
    return count
