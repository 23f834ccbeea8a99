"""Predictions files (``preds.jsonl``): records, a validating reader and a writer.

One JSON object per line (blank lines allowed), one line per (model, benchmark, id, probe[, layout]).
Image benchmarks (``pixmmvp``, ``pixcvbench``): ``id`` (the dataset row id, an int), ``probe``
(``vqa``/``segment``/``letter``), ``model`` (default: the file's stem), ``prompt``, ``response``
(required for ``vqa`` and ``letter``), ``mask`` (a Mask or null = no mask = the empty mask),
``candidates`` (list of ``{"mask", "phrase"?, "char_start"?, "char_end"?, "token_start"?, "score"?,
"point"?}``), ``selected`` (int index, ``"none"``, or null) and ``variant`` (a prompt template id).
Video benchmarks (``mocentric``): ``id`` (``"<video_id>_<exp_id>"``), ``probe``, ``layout`` (pair probes
only), ``masks`` (one Mask or null per presented frame, or ``{"png_dir": DIR}``) and ``details`` (an
optional object saying how a method got its masks: replies, boxes, initial frame; kept, never scored).
Mask values and the limits on the work they may cause are :mod:`pixbench.mask_values`'.

The reader never stops at the first problem: it returns every problem it found (the first ``limit``,
and the count of all), each naming the file, the line number and the id, and the caller decides
(``pixbench score`` exits non-zero). Unknown fields are errors (warnings with ``allow_unknown_fields``).
Read for ``--select given`` (``ReadOptions(select="given")``), a line with candidates that names no
choice (no ``mask``, no ``selected``) is one of the file's problems, listed and counted with the others.
RLE strings of a whole file are validated in one vectorised pass.
"""

from __future__ import annotations

import difflib
import json
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import repeat
from pathlib import Path
from typing import Any, Literal, get_args

from pixbench.annotation import rle as rle_ops
from pixbench.annotation.rle import Rle, RunsCache
from pixbench.benchmarks import BENCHMARK_NAMES, REGISTRY, Benchmark
from pixbench.jsonl import JsonLine, JsonLinesError, iter_json_lines
from pixbench.mask_values import (
    MAX_MASK_PIXELS,
    MAX_PNG_PIXELS,
    MAX_POLYGON_PERIMETER,
    MAX_POLYGON_VERTICES,
    MAX_SIDE,
    RLE_SLACK_CHARS,
    FieldError,
    LineContext,
    ReadOptions,
    check_fields,
    is_int,
    is_number,
    kind_of,
    optional_field,
    parse_mask,
    plain_rle,
    video_masks,
)
from pixbench.prediction_records import Candidate, Prediction
from pixbench.problems import ProblemLog, shorten

__all__ = ["BENCHMARKS", "MAX_MASK_PIXELS", "MAX_PNG_PIXELS", "MAX_POLYGON_PERIMETER", "MAX_POLYGON_VERTICES",
           "MAX_SIDE", "PROBES", "Candidate", "Prediction", "PredictionProblem", "PredictionsError", "PredictionsFile",
           "ReadOptions", "check_against_dataset", "parse_line", "parse_mask", "prediction_to_json",
           "read_predictions", "write_predictions"]

Probe = Literal["vqa", "segment", "letter"]
#: The benchmark names a line may give (the registry's).
BENCHMARKS: tuple[str, ...] = BENCHMARK_NAMES
PROBES: tuple[str, ...] = get_args(Probe)
TEXT_PROBES = ("vqa", "letter")
DEFAULT_PROBLEM_LIMIT = 200
KNOWN_FIELDS = ("benchmark", "id", "probe", "model", "prompt", "response", "mask", "candidates", "selected",
                "variant")
CANDIDATE_FIELDS = ("mask", "phrase", "char_start", "char_end", "token_start", "score", "point")
#: A line with candidates that ``--select given`` cannot reduce to one mask (the words of scoring's error).
GIVEN_NEEDS_A_CHOICE = ("Expected `mask` or `selected` on a line with candidates under --select given, but got "
                        "neither; pick a mode that chooses among candidates: --select oracle or --select score")


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


_OFFSET_FIELDS = ("char_start", "char_end", "token_start")


def _parse_candidates(values: list[Any], context: LineContext) -> tuple[Candidate, ...]:
    """A line's ``candidates``, checked in one pass when every one is the common well-formed kind (a plain
    RLE of the expected size, known fields of the right types); else one by one, for the message."""
    expected = context.expected
    if expected is not None and 0 < expected[0] <= MAX_SIDE and 0 < expected[1] <= MAX_SIDE \
            and expected[0] * expected[1] <= MAX_MASK_PIXELS:
        height, width = expected
        size, limit = [height, width], height * width + RLE_SLACK_CHARS
        parsed = []
        for value in values:
            if type(value) is not dict or not value.keys() <= _PLAIN_CANDIDATE:
                break
            mask = value.get("mask")
            if type(mask) is not dict or len(mask) != 2:
                break
            counts, mask_size = mask.get("counts"), mask.get("size")
            if (type(counts) is not str or type(mask_size) is not list or len(mask_size) != 2
                    or type(mask_size[0]) is not int or type(mask_size[1]) is not int or mask_size != size
                    or len(counts) > limit or not counts.isascii()):
                break
            phrase, score = value.get("phrase"), value.get("score")
            start, end, token = value.get("char_start"), value.get("char_end"), value.get("token_start")
            if not ((phrase is None or type(phrase) is str)
                    and (score is None or (type(score) is float and -math.inf < score < math.inf))
                    and (start is None or (type(start) is int and start >= 0))
                    and (end is None or (type(end) is int and end >= 0))
                    and (token is None or (type(token) is int and token >= 0))):
                break
            parsed.append(Candidate({"size": [height, width], "counts": counts}, phrase, start, end, token, score))
        else:
            return tuple(parsed)
    return tuple(_parse_candidate(value, k, context) for k, value in enumerate(values))


def _parse_candidate(value: Any, index: int, context: LineContext) -> Candidate:
    what = f"candidates[{index}]"
    if type(value) is dict and value.keys() <= _PLAIN_CANDIDATE:
        # the common well-formed candidate, checked in one pass
        mask = plain_rle(value.get("mask"), context.expected)
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
        raise FieldError(f"`{what}` must be an object, but got {kind_of(value)}")
    check_fields(value, CANDIDATE_FIELDS, f"{what}.", context)
    mask_value = value.get("mask")
    if mask_value is None:
        raise FieldError(f"`{what}.mask` is required")
    mask = plain_rle(mask_value, context.expected) or parse_mask(mask_value, base_dir=context.base_dir,
                                                                 what=f"{what}.mask", context=context)
    phrase = value.get("phrase")
    if phrase is not None and not isinstance(phrase, str):
        raise FieldError(f"`{what}.phrase` must be a string, but got {shorten(phrase)}")
    offsets = []
    for name in _OFFSET_FIELDS:
        offset = value.get(name)
        if offset is not None and not (is_int(offset) and offset >= 0):
            raise FieldError(f"`{what}.{name}` must be a non-negative int, but got {shorten(offset)}")
        offsets.append(offset)
    score = value.get("score")
    if score is not None and not is_number(score):
        raise FieldError(f"`{what}.score` must be a finite number, but got {shorten(score)}")
    point = value.get("point")
    if point is not None and not (isinstance(point, list) and len(point) == 2 and all(map(is_number, point))):
        raise FieldError(f"`{what}.point` must be [x, y], but got {shorten(point)}")
    return Candidate(mask=mask, phrase=phrase, char_start=offsets[0], char_end=offsets[1], token_start=offsets[2],
                     score=score, point=(float(point[0]), float(point[1])) if point is not None else None)


#: The fields of a candidate that needs no more than the one-pass check (``point`` needs more).
_PLAIN_CANDIDATE = frozenset(CANDIDATE_FIELDS) - {"point"}


def _model_prompt_variant(obj: Mapping[str, Any], default_model: str) -> tuple[str, str | None, Any]:
    """The fields every line may have: ``model`` (default: the file's stem), ``prompt``, ``variant``."""
    model = obj.get("model", default_model)
    if not isinstance(model, str) or not model:
        raise FieldError(f"`model` must be a non-empty string, but got {shorten(model)}")
    prompt = optional_field(obj, "prompt", lambda v: isinstance(v, str), "a string", "")
    variant = optional_field(obj, "variant", lambda v: isinstance(v, (str, int)) and not isinstance(v, bool),
                             "a template id (string or int)", "")
    return model, prompt, variant


def _unknown_benchmark(name: object) -> str:
    """The message for a ``benchmark`` value that is not a benchmark name, with the name meant if any."""
    close = difflib.get_close_matches(str(name).lower().replace("_", "-"), BENCHMARKS, n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]!r}? (names are lower case)" if close else ""
    return f"unknown benchmark {shorten(name)} (expected one of {list(BENCHMARKS)}){hint}"


def parse_line(obj: Any, *, default_model: str, base_dir: Path, line: int, source: str = "",
               sizes: DatasetIndex | None = None, options: ReadOptions | None = None,
               warnings: list[str] | None = None) -> Prediction:
    """One decoded JSON line as a :class:`Prediction`; raises ``FieldError`` naming the field.

    With ``sizes`` (benchmark -> id -> ground-truth size) the id must be in the dataset and every mask
    must have the ground truth's size, checked before any pixel work. Messages about unknown fields
    allowed by ``options`` are appended to ``warnings``.
    """
    options = options or ReadOptions()
    if not isinstance(obj, dict):
        raise FieldError(f"expected a JSON object, but got {kind_of(obj)}")
    context = LineContext(base_dir, options)
    name = obj.get("benchmark")
    benchmark = REGISTRY.get(name) if isinstance(name, str) else None
    if benchmark is not None and benchmark.kind == "video":
        prediction = _parse_video_line(obj, benchmark, default_model=default_model, line=line, source=source,
                                       sizes=sizes, context=context)
        if warnings is not None:
            warnings.extend(context.unknown)
        return prediction
    check_fields(obj, KNOWN_FIELDS, "", context)
    for name in ("benchmark", "id", "probe"):
        if name not in obj:
            raise FieldError(f"missing required field `{name}`")
    if obj["benchmark"] not in BENCHMARKS:
        raise FieldError(_unknown_benchmark(obj["benchmark"]))
    if not is_int(obj["id"]):
        raise FieldError(f"`id` must be an int, but got {shorten(obj['id'])}")
    if obj["probe"] not in (benchmark.probes if benchmark is not None else PROBES):
        raise FieldError(f"unknown probe {shorten(obj['probe'])} (expected one of {list(PROBES)})")
    rows = sizes.get(obj["benchmark"]) if sizes is not None else None
    if rows is not None:
        if obj["id"] not in rows:
            raise FieldError(f"id not in the {obj['benchmark']} dataset")
        height, width = rows[obj["id"]]
        context.expected = (int(height), int(width))
    response = obj.get("response")
    if obj["probe"] in TEXT_PROBES and response is None:
        raise FieldError(f"missing required field `response` for probe {obj['probe']!r}")
    if response is not None and not isinstance(response, str):
        raise FieldError(f"`response` must be a string, but got {kind_of(response)}")
    model, prompt, variant = _model_prompt_variant(obj, default_model)
    has_mask = "mask" in obj
    mask = parse_mask(obj["mask"], base_dir=base_dir, context=context) if obj.get("mask") is not None else None
    candidates = None
    if obj.get("candidates") is not None:
        if not isinstance(obj["candidates"], list):
            raise FieldError(f"`candidates` must be a list, but got {kind_of(obj['candidates'])}")
        candidates = _parse_candidates(obj["candidates"], context)
    limit = len(response) if response is not None else None
    for k, candidate in enumerate(candidates or ()):
        start, end = candidate.char_start, candidate.char_end
        if start is not None and end is not None and start > end:
            raise FieldError(f"`candidates[{k}]`: char_start {start} > char_end {end}")
        for name, offset in (("char_start", start), ("char_end", end)):
            if offset is not None and (limit is None or offset > limit):
                raise FieldError(f"`candidates[{k}].{name}` {offset} is outside the response "
                                 f"({'no response' if limit is None else f'{limit} characters'})")
    selected = obj.get("selected")
    if selected is not None and selected != "none":
        if not is_int(selected):
            raise FieldError(f"`selected` must be an int index, \"none\" or null, but got {shorten(selected)}")
        if candidates is None or not 0 <= selected < len(candidates):
            count = 0 if candidates is None else len(candidates)
            raise FieldError(f"`selected` index {shorten(selected)} out of range for {count} candidate(s)")
    if options.select == "given" and candidates is not None and mask is None and selected is None:
        raise FieldError(GIVEN_NEEDS_A_CHOICE)
    if warnings is not None:
        warnings.extend(context.unknown)
    return Prediction(benchmark=obj["benchmark"], id=obj["id"], probe=obj["probe"], model=model,
                      response=response, prompt=prompt, mask=mask, has_mask=has_mask, candidates=candidates,
                      selected=selected, variant=None if variant is None else str(variant), line=line,
                      source=source)


#: The fields of a video benchmark's line.
VIDEO_FIELDS = ("benchmark", "id", "probe", "layout", "model", "masks", "variant", "prompt", "details")


def _parse_video_line(obj: dict[str, Any], benchmark: Benchmark, *, default_model: str, line: int, source: str,
                      sizes: DatasetIndex | None, context: LineContext) -> Prediction:
    """A video benchmark's line: ``id`` (a string), ``probe``, ``layout`` (pair probes), ``masks`` (one per
    presented frame: a list of Mask values or null, or ``{"png_dir": DIR}`` holding ``<frame name>.png``)."""
    check_fields(obj, VIDEO_FIELDS, "", context)
    for name in ("id", "probe", "masks"):
        if name not in obj:
            raise FieldError(f"missing required field `{name}`")
    row_id, probe, layout = obj["id"], obj["probe"], obj.get("layout")
    if not isinstance(row_id, str) or not row_id:
        raise FieldError(f"`id` must be a string (\"<video_id>_<exp_id>\"), but got {shorten(row_id)}")
    if layout is not None and not isinstance(layout, str):
        raise FieldError(f"`layout` must be a string, but got {shorten(layout)}")
    rows = sizes.get(benchmark.name) if sizes is not None else None
    entry = None
    if rows is not None:
        entry = rows.get(row_id)
        if entry is None:
            raise FieldError(f"id not in the {benchmark.name} dataset")
    try:
        shown = benchmark.presented(entry, probe, layout)
    except ValueError as exc:
        raise FieldError(str(exc)) from None
    model, prompt, variant = _model_prompt_variant(obj, default_model)
    details = obj.get("details")
    if details is not None and not isinstance(details, dict):
        raise FieldError(f"`details` must be an object (how a method got its masks), but got {kind_of(details)}")
    if shown is not None:
        context.expected = shown.canvas
    frames = video_masks(obj["masks"], shown.frame_names if shown is not None else None, context)
    return Prediction(benchmark=benchmark.name, id=row_id, probe=probe, model=model, prompt=prompt,
                      variant=None if variant is None else str(variant), line=line, source=source, layout=layout,
                      frames=frames, details=details)


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


def _masks_of(prediction: Prediction) -> list[Rle]:
    """A line's masks: its ``mask``, its frames' masks, its candidates' masks (named by :func:`_mask_name`)."""
    masks = [prediction.mask] if prediction.mask is not None else []
    if prediction.frames:
        masks.extend(frame for frame in prediction.frames if frame is not None)
    if prediction.candidates:
        masks.extend([candidate.mask for candidate in prediction.candidates])
    return masks


def _mask_name(prediction: Prediction, position: int) -> str:
    """The field of mask ``position`` of :func:`_masks_of` (``mask``, ``masks[t]``, ``candidates[k].mask``)."""
    if prediction.mask is not None:
        if position == 0:
            return "mask"
        position -= 1
    frames = [t for t, frame in enumerate(prediction.frames or ()) if frame is not None]
    if position < len(frames):
        return f"masks[{frames[position]}]"
    return f"candidates[{position - len(frames)}].mask"


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
        for count, line in enumerate(iter_json_lines(path, max_line_bytes=options.max_line_bytes)):
            number, obj, text = line.number, line.value, line.text
            if count == 0 and _opens_an_array(line):
                problem(number, None, "expected one JSON object per line (JSON Lines), but this file is a JSON "
                                      "array; write each element on a line of its own (e.g. `jq -c '.[]' "
                                      f"{path.name} > {path.stem}.jsonl`)")
                break
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
            except FieldError as exc:
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


def _opens_an_array(line: JsonLine) -> bool:
    """Whether the first line of a file starts a JSON array of lines: ``[`` opening a pretty-printed array,
    or a whole array of objects on one line."""
    value = line.value
    whole = isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)
    return whole or (line.error is not None and line.text.lstrip().startswith("["))


def _finish(result: PredictionsFile, log: ProblemLog[PredictionProblem]) -> None:
    result.problems = list(log.shown)
    result.problem_count = log.total


def _validate_masks(result: PredictionsFile, index: DatasetIndex | None,
                    problem: Callable[[int, object, str], None], runs: RunsCache | None = None) -> None:
    """Check ids against the dataset, image mask sizes against the ground truth (video lines were checked
    when parsed), and RLE runs (one vectorised pass). Image masks' runs are kept in ``runs`` for scoring;
    video frames' are not (their metrics read the masks themselves)."""
    bad_lines: set[int] = set()
    batches: dict[bool, tuple[list[str], list[int], list[tuple[Prediction, int]]]] = {True: ([], [], []),
                                                                                      False: ([], [], [])}
    for prediction in result.predictions:
        sizes = index.get(prediction.benchmark) if index is not None else None
        if sizes is not None and prediction.id not in sizes:
            problem(prediction.line, prediction.id, f"id not in the {prediction.benchmark} dataset")
            bad_lines.add(prediction.line)
            continue
        image = prediction.frames is None
        expected = sizes.get(prediction.id) if sizes is not None and image else None
        strings, pixels, owners = batches[image]
        masks = _masks_of(prediction)
        if expected is not None:
            for position, mask in enumerate(masks):
                if tuple(mask["size"]) != tuple(expected):
                    problem(prediction.line, prediction.id, f"`{_mask_name(prediction, position)}` size "
                                                            f"{list(mask['size'])} != ground truth {list(expected)}")
                    bad_lines.add(prediction.line)
                elif not result.runs_checked:
                    strings.append(mask["counts"])
                    pixels.append(mask["size"][0] * mask["size"][1])
                    owners.append((prediction, position))
        elif not result.runs_checked:  # a whole line's masks at once
            strings.extend([mask["counts"] for mask in masks])
            pixels.extend([mask["size"][0] * mask["size"][1] for mask in masks])
            owners.extend(zip(repeat(prediction), range(len(masks))))
    for image, (strings, pixels, owners) in batches.items():
        messages = rle_ops.check_counts_many(strings, pixels, cache=runs if image else None)
        for k in [k for k, message in enumerate(messages) if message is not None]:
            prediction, position = owners[k]
            if prediction.line not in bad_lines:
                problem(prediction.line, prediction.id, f"`{_mask_name(prediction, position)}`: {messages[k]}")
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
    if prediction.details is not None:
        out["details"] = dict(prediction.details)
    return out


def write_predictions(path: str | Path, predictions: Iterable[Prediction], *, append: bool = False) -> int:
    """Write (or append) predictions as JSON lines; return the number of lines written.

    Appending to a file whose last line lacks its final newline writes that newline first, so the first
    new line never runs into the old last one (checking that the file holds JSON lines is the caller's
    job: :func:`pixbench.ingest.common.existing_keys`)."""
    from pixbench.jsonl import lacks_final_newline

    count = 0
    lead = "\n" if append and lacks_final_newline(path) else ""
    with Path(path).open("a" if append else "w", encoding="utf-8") as handle:
        for prediction in predictions:
            handle.write(lead + json.dumps(prediction_to_json(prediction), ensure_ascii=False) + "\n")
            lead = ""
            count += 1
    return count
