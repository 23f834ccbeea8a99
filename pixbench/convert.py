"""Convert the PixFoundation reference scripts' outputs into a predictions file (``pixbench convert``).

The reference scripts (github.com/MSiam/PixFoundation, ``pixmmvp/inference/*.py`` and
``pixcvbench/inference/*.py``) write one set of files per model and probe; their folder names say
``protocol1`` for the ``vqa`` probe (``--prompt_for_seg 0``), ``protocol2`` for ``letter`` (``3``) and
``protocol3`` for ``segment`` (``1``). This module reads any subset of those files for one benchmark,
probe and model and returns :class:`~pixbench.predictions.Prediction` records, masks inline as RLE.

**Mask folder** (pixel-level models and the simple baselines): one PNG per row, named ``{id}.png``,
``{id:05d}.png`` or ``output{id:05d}.png`` (PixMMVP: the row id 1..300, whose image is ``{id}.jpg``), or
``{stem}.png`` after the row's image (PixCV-Bench: the stem of ``source_filename``). Any non-zero pixel
(any channel) is foreground, so 0/255 and 0/1 PNGs both work.

**Candidate folder** (the training-free PixFoundation method): ``{id}_{group:03d}_{mask:03d}.png``, where
``group`` indexes the noun-phrase groups of the response and ``mask`` is SAM's mask index in the group
(0..2). Candidates are ordered by ``(group, mask)``. A bare ``{id}.png`` there is what the scripts write
when the response has no noun phrase: it must be empty and gives ``candidates: []``, ``selected: "none"``.

**Meta file** (spaCy scores), one line per ``(id, group)``: ``{id}.jpg - {group} - {phrase}| {core}| {score}``;
the "when" variant appends ``| {char_start} | {char_end}| {response}``. All masks of a group get the
group's phrase and score (and character offsets when present); ``core`` (the phrase's root word) is
not kept; a non-finite score (``nan``) becomes no score.

**Selection file** (GPT automatic selection), JSON lines ``{"question_id": q, "selected file": path}``:
``q`` counts from 0 (the script's own row counter: PixMMVP row id = q + 1); the path's file name names a
candidate, and ``"NONE"`` gives ``selected: "none"``. The script asks only about rows with two or more
candidate files, so a row without a line gets ``"none"`` (no candidate) or ``0`` (one candidate); a row
with more candidates and no line is an error.

**Answers file**, JSON lines with ``question_id`` (or ``questionId``), ``prompt``, and the model's text in
``response`` (the GPT-grader format of the vqa/segment probes, whose ``answer`` is the *correct* answer)
or else in ``answer`` (the letter format, beside ``gt_answer`` and ``text_options``).

**Ids.** ``id_base`` is the number an answers file gives the benchmark's first row: row id =
``question_id - id_base + first`` with ``first`` = 1 (PixMMVP) or 0 (PixCV-Bench). The reference scripts
write ``question_id = row index + 1`` for PixMMVP (``id_base`` 1, the default) and, for PixCV-Bench, the
CV-Bench ``idx`` as ``questionId`` (letter probe; ``id_base`` 0, the default) or the image's
``source_filename`` as ``question_id`` (vqa/segment), which like PixCV-Bench file names needs ``names``
(file stem -> row id, from the built dataset). Files pair by the id parsed from their names, never by
sort position; a record is made for every id found.

Problems (malformed lines, unknown ids, two files for one id, a selection naming a missing candidate,
inputs that disagree on the ids) are collected and raised together as :class:`ConvertError`, each
naming the file and the line (or the PNG file).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import sys
from collections.abc import Collection, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Literal, NamedTuple

from pixbench.annotation import rle as rle_ops
from pixbench.annotation.rle import Rle
from pixbench.predictions import BENCHMARKS, PROBES, TEXT_PROBES, Candidate, Prediction, write_predictions

#: The row id of each benchmark's first row.
FIRST_ID = {"pixmmvp": 1, "pixcvbench": 0}
#: Row ids of the full benchmarks (PixMMVP 1..300, PixCV-Bench = CV-Bench 2D idx 0..1437).
ID_RANGES: dict[str, Collection[int]] = {"pixmmvp": range(1, 301), "pixcvbench": range(0, 1438)}
#: What the reference scripts' answers files count from (see the module docstring).
REFERENCE_ID_BASE = {"pixmmvp": 1, "pixcvbench": 0}
#: The selection file's ``question_id`` counts from 0.
SELECTION_ID_BASE = 0
SOURCE_FORMATS = ("reference", "lmms-eval", "vlmevalkit")
MAX_PROBLEMS = 50

_MASK_NAME = re.compile(r"^(?:output(?=\d+\.png$))?(?P<key>[^/\\]+)\.png$")
_CANDIDATE_NAME = re.compile(r"^(?P<key>[^/\\]+)_(?P<group>\d+)_(?P<mask>\d+)\.png$")
_META_HEAD = re.compile(r"^(?P<image>.+?)\.(?:jpe?g|png) - (?P<group>\d+) - (?P<rest>.*)$")
_INT = re.compile(r"^\s*\d+\s*$")


@dataclass(frozen=True)
class ConvertProblem:
    """One problem with the reference files: where (file, 1-based line or 0) and what."""

    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}" if self.line else f"{self.file}: {self.message}"


class ConvertError(ValueError):
    """Reference files that cannot be converted; ``problems`` lists every problem found (up to a limit)."""

    def __init__(self, problems: list[ConvertProblem], *, more: int = 0) -> None:
        self.problems = problems
        lines = "\n".join(str(p) for p in problems)
        tail = f"\n... and {more} more" if more else ""
        head = "" if len(problems) == 1 and not more else f"{len(problems) + more} problem(s):\n"
        super().__init__(f"{head}{lines}{tail}")


@dataclass
class _Problems:
    """Collects problems; :meth:`check` raises them together."""

    items: list[ConvertProblem] = field(default_factory=list)
    more: int = 0

    def add(self, file: str | Path, line: int, message: str) -> None:
        if len(self.items) < MAX_PROBLEMS:
            self.items.append(ConvertProblem(str(file), line, message))
        else:
            self.more += 1

    def check(self) -> None:
        if self.items:
            raise ConvertError(self.items, more=self.more)


class CandidateName(NamedTuple):
    """The parts of a candidate file name ``{key}_{group:03d}_{mask:03d}.png``."""

    key: str
    group: int
    mask: int


@dataclass(frozen=True)
class MetaEntry:
    """One line of the spaCy meta file: the phrase and score of a noun-phrase group."""

    key: str
    group: int
    phrase: str
    core: str
    score: float | None
    char_start: int | None = None
    char_end: int | None = None


@dataclass(frozen=True)
class AnswerLine:
    """The model's text for one row, from an answers file."""

    id: int
    line: int
    response: str
    prompt: str | None = None


def parse_mask_name(name: str) -> str | None:
    """The row key of a single-mask file name, or ``None`` when it is not one.

    ``12.png``, ``00012.png`` and ``output00012.png`` give ``"12"``, ``"00012"``, ``"00012"``;
    ``ADE_val_00000001.png`` gives ``"ADE_val_00000001"`` (a PixCV-Bench image stem).
    """
    if _CANDIDATE_NAME.match(name):
        return None
    match = _MASK_NAME.match(name)
    return match.group("key") if match else None


def parse_candidate_name(name: str) -> CandidateName | None:
    """``{key}_{group}_{mask}.png`` as its parts (``"7_001_002.png"`` -> ``("7", 1, 2)``), else ``None``."""
    match = _CANDIDATE_NAME.match(name)
    if match is None:
        return None
    return CandidateName(match.group("key"), int(match.group("group")), int(match.group("mask")))


def parse_meta_line(text: str, *, file: str = "<meta>", line: int = 0) -> MetaEntry:
    """One meta line ``{id}.jpg - {group} - {phrase}| {core}| {score}`` (optionally ``| {start} | {end}| {text}``).

    Raises :class:`ConvertError` naming ``file:line`` when the line does not have that shape.
    """
    def fail(message: str) -> ConvertError:
        return ConvertError([ConvertProblem(file, line, f"{message}; got {text.strip()[:120]!r}")])

    head = _META_HEAD.match(text.rstrip("\r\n"))
    if head is None:
        raise fail("expected '{id}.jpg - {group} - {phrase}| {core}| {score}'")
    fields = head.group("rest").split("|")
    start = end = None
    if len(fields) >= 6 and _INT.match(fields[3]) and _INT.match(fields[4]):
        phrase, core, score_text = fields[0], fields[1], fields[2]
        start, end = int(fields[3]), int(fields[4])
    else:
        parts = head.group("rest").rsplit("|", 2)
        if len(parts) != 3:
            raise fail("expected 3 '|'-separated fields after the group: phrase| core| score")
        phrase, core, score_text = parts
    try:
        value = float(score_text)
    except ValueError:
        raise fail(f"score {score_text.strip()!r} is not a number") from None
    score = value if math.isfinite(value) else None
    return MetaEntry(head.group("image"), int(head.group("group")), phrase.strip(), core.strip(), score,
                     start, end)


def selected_file_name(value: Any) -> str | None:
    """The candidate file name of a selection line's ``"selected file"``; ``None`` for ``"NONE"``.

    Raises ``ValueError`` when the value is not a non-empty string.
    """
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"`selected file` must be a path or \"NONE\", but got {value!r}")
    if value.strip().upper() == "NONE":
        return None
    return PurePosixPath(value.strip().replace("\\", "/")).name


def candidate_index(name: str, order: Sequence[tuple[int, int]]) -> int:
    """Position of the candidate file ``name`` in a row's candidates, given their ``(group, mask)`` order.

    Raises ``ValueError`` when ``name`` is not a candidate file name or not among ``order``.
    """
    parts = parse_candidate_name(name)
    if parts is None:
        raise ValueError(f"selected file {name!r} is not a candidate file name")
    if (parts.group, parts.mask) not in order:
        raise ValueError(f"selected file {name!r} is not among the row's {len(order)} candidate file(s)")
    return list(order).index((parts.group, parts.mask))


def response_of(obj: Mapping[str, Any]) -> str:
    """The model's text of an answers line: ``response`` when present, else ``answer``.

    In the GPT-grader format ``answer`` holds the correct answer, so ``response`` always wins.
    Raises ``ValueError`` when neither is a string.
    """
    for name in ("response", "answer"):
        if name in obj:
            value = obj[name]
            if not isinstance(value, str):
                raise ValueError(f"`{name}` must be a string, but got {type(value).__name__}")
            return value
    raise ValueError("missing the model's text: expected a `response` or an `answer` field")


def _iter_json_lines(path: Path, problems: _Problems) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(line number, object)`` of each non-blank line; invalid lines become problems."""
    with path.open(encoding="utf-8") as handle:
        for number, text in enumerate(handle, start=1):
            if not text.strip():
                continue
            try:
                obj = json.loads(text)
            except json.JSONDecodeError as exc:
                problems.add(path, number, f"invalid JSON: {exc.msg} (column {exc.colno})")
                continue
            if not isinstance(obj, dict):
                problems.add(path, number, f"expected a JSON object, but got {type(obj).__name__}")
                continue
            yield number, obj


@dataclass(frozen=True)
class _Ids:
    """Turns keys of file names and question ids into row ids of one benchmark."""

    benchmark: str
    names: Mapping[str, int] | None
    valid: Collection[int]

    def _checked(self, row_id: int, what: str) -> int:
        if row_id not in self.valid:
            raise ValueError(f"{what} gives row id {row_id}, which is not in {self.benchmark}")
        return row_id

    def from_key(self, key: str) -> int:
        """The row id of a file-name key (``"12"``, ``"00012"``; an image stem for PixCV-Bench)."""
        if self.benchmark == "pixcvbench":
            if self.names is None:
                raise ValueError(f"PixCV-Bench files are named after the image ({key!r}); pass the dataset "
                                 "(--data) to map image names to row ids")
            if key not in self.names:
                raise ValueError(f"image name {key!r} is not a source_filename of the dataset")
            return self._checked(self.names[key], f"image name {key!r}")
        if not key.isdigit():
            raise ValueError(f"expected a numeric row id in the name, but got {key!r}")
        return self._checked(int(key), f"name key {key!r}")

    def from_question_id(self, value: Any, base: int) -> int:
        """The row id of a ``question_id``: an int counted from ``base``, or an image file name."""
        if isinstance(value, str) and _INT.match(value):
            value = int(value)
        elif isinstance(value, str) and self.names is not None:
            stem = PurePosixPath(value.replace("\\", "/")).stem
            if stem not in self.names:
                raise ValueError(f"question_id {value!r} is not an int nor a source_filename of the dataset")
            return self._checked(self.names[stem], f"question_id {value!r}")
        if isinstance(value, bool) or not isinstance(value, int):
            hint = " (an image name: pass the dataset, --data, to map it)" if isinstance(value, str) else ""
            raise ValueError(f"`question_id` must be an int, but got {value!r}{hint}")
        return self._checked(value - base + FIRST_ID[self.benchmark],
                             f"question_id {value} (counted from {base})")


def _read_answers(path: str | Path, *, ids: _Ids, id_base: int, problems: _Problems) -> dict[int, AnswerLine]:
    path = Path(path)
    out: dict[int, AnswerLine] = {}
    for number, obj in _iter_json_lines(path, problems):
        key = "question_id" if "question_id" in obj else "questionId"
        if key not in obj:
            problems.add(path, number, "missing `question_id`")
            continue
        try:
            row_id = ids.from_question_id(obj[key], id_base)
            response = response_of(obj)
        except ValueError as exc:
            problems.add(path, number, str(exc))
            continue
        if row_id in out:
            problems.add(path, number, f"second line for row id {row_id}; first at line {out[row_id].line}")
            continue
        prompt = obj.get("prompt")
        out[row_id] = AnswerLine(row_id, number, response, prompt if isinstance(prompt, str) else None)
    return out


def read_answers(path: str | Path, *, benchmark: str, id_base: int | None = None,
                 names: Mapping[str, int] | None = None,
                 valid_ids: Collection[int] | None = None) -> dict[int, AnswerLine]:
    """An answers file's lines by row id (fields and ids in the module docstring).

    Raises :class:`ConvertError` listing every malformed line, unknown id and repeated id.
    """
    problems = _Problems()
    ids = _Ids(benchmark, names, ID_RANGES[benchmark] if valid_ids is None else valid_ids)
    out = _read_answers(path, ids=ids, id_base=REFERENCE_ID_BASE[benchmark] if id_base is None else id_base,
                        problems=problems)
    problems.check()
    return out


def _read_meta(path: str | Path, *, ids: _Ids, problems: _Problems) -> dict[tuple[int, int], tuple[int, MetaEntry]]:
    """Meta lines by ``(row id, group)``, each with its line number."""
    path = Path(path)
    out: dict[tuple[int, int], tuple[int, MetaEntry]] = {}
    with path.open(encoding="utf-8") as handle:
        for number, text in enumerate(handle, start=1):
            if not text.strip():
                continue
            try:
                entry = parse_meta_line(text, file=str(path), line=number)
            except ConvertError as exc:
                for problem in exc.problems:
                    problems.add(problem.file, problem.line, problem.message)
                continue
            try:
                row_id = ids.from_key(entry.key)
            except ValueError as exc:
                problems.add(path, number, str(exc))
                continue
            if (row_id, entry.group) in out:
                problems.add(path, number, f"second line for row id {row_id} group {entry.group}; "
                                           f"first at line {out[row_id, entry.group][0]}")
                continue
            out[row_id, entry.group] = (number, entry)
    return out


def _read_selection(path: str | Path, *, ids: _Ids, id_base: int,
                   problems: _Problems) -> dict[int, tuple[int, str | None]]:
    """Selection lines by row id: ``(line number, candidate file name or None for "NONE")``."""
    path = Path(path)
    out: dict[int, tuple[int, str | None]] = {}
    for number, obj in _iter_json_lines(path, problems):
        if "question_id" not in obj or "selected file" not in obj:
            problems.add(path, number, "expected the fields `question_id` and `selected file`")
            continue
        try:
            row_id = ids.from_question_id(obj["question_id"], id_base)
            name = selected_file_name(obj["selected file"])
        except ValueError as exc:
            problems.add(path, number, str(exc))
            continue
        if row_id in out:
            problems.add(path, number, f"second line for row id {row_id}; first at line {out[row_id][0]}")
            continue
        out[row_id] = (number, name)
    return out


def _encode_png(path: Path) -> Rle | str:
    """The PNG's mask as RLE, or the reason it cannot be read."""
    try:
        return rle_ops.encode(rle_ops.read_png(path))
    except Exception as exc:  # PIL raises many types for unreadable files
        return f"unreadable PNG: {exc}"


def _read_pngs(paths: list[Path], problems: _Problems, *, workers: int | None, progress: bool) -> dict[Path, Rle]:
    """Every PNG as RLE (decoded in a thread pool: PIL's decoder releases the GIL); failures are problems."""
    workers = workers or min(8, os.cpu_count() or 1)
    out: dict[Path, Rle] = {}
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(paths), desc="reading masks", unit="png", file=sys.stderr)
    try:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            for path, result in zip(paths, pool.map(_encode_png, paths), strict=True):
                if isinstance(result, str):
                    problems.add(path, 0, result)
                else:
                    out[path] = result
                if bar is not None:
                    bar.update()
    finally:
        if bar is not None:
            bar.close()
    return out


def _listing(folder: Path, problems: _Problems) -> list[Path]:
    if not folder.is_dir():
        problems.add(folder, 0, "not a folder")
        return []
    return sorted(p for p in folder.iterdir() if not p.name.startswith(".") and p.is_file())


def _scan_mask_folder(folder: str | Path, *, ids: _Ids, problems: _Problems) -> dict[int, Path]:
    """The mask file of each row id in a mask folder (names in the module docstring)."""
    folder = Path(folder)
    found: dict[int, Path] = {}
    for path in _listing(folder, problems):
        key = parse_mask_name(path.name)
        if key is None:
            hint = ("; it looks like a candidate file: pass this folder as the candidates folder"
                    if parse_candidate_name(path.name) else "")
            problems.add(path, 0, "not a mask file name (expected {id}.png, {id:05d}.png or "
                                  f"output{{id:05d}}.png){hint}")
            continue
        try:
            row_id = ids.from_key(key)
        except ValueError as exc:
            problems.add(path, 0, str(exc))
            continue
        if row_id in found:
            problems.add(path, 0, f"second mask file for row id {row_id}; the first is {found[row_id].name}")
            continue
        found[row_id] = path
    return found


@dataclass
class _RowCandidates:
    """The candidate files of one row: by ``(group, mask)``, and the bare no-phrase file if any."""

    files: dict[tuple[int, int], Path] = field(default_factory=dict)
    bare: Path | None = None


def _scan_candidate_folder(folder: str | Path, *, ids: _Ids, problems: _Problems) -> dict[int, _RowCandidates]:
    """Candidate files by row id, with duplicates and stray names reported."""
    folder = Path(folder)
    rows: dict[int, _RowCandidates] = {}
    for path in _listing(folder, problems):
        parts = parse_candidate_name(path.name)
        key = parts.key if parts else parse_mask_name(path.name)
        if key is None:
            problems.add(path, 0, "not a candidate file name (expected {id}_{group:03d}_{mask:03d}.png "
                                  "or {id}.png)")
            continue
        try:
            row_id = ids.from_key(key)
        except ValueError as exc:
            problems.add(path, 0, str(exc))
            continue
        row = rows.setdefault(row_id, _RowCandidates())
        if parts is None:
            if row.bare is not None:
                problems.add(path, 0, f"second no-candidate file for row id {row_id}; the first is {row.bare.name}")
            row.bare = row.bare or path
        elif (parts.group, parts.mask) in row.files:
            first = row.files[parts.group, parts.mask].name
            problems.add(path, 0, f"second file for row id {row_id} group {parts.group} mask {parts.mask}; "
                                  f"the first is {first}")
        else:
            row.files[parts.group, parts.mask] = path
    for row_id, row in rows.items():
        if row.bare is not None and row.files:
            problems.add(row.bare, 0, f"row id {row_id} has both this no-candidate file and "
                                      f"{len(row.files)} candidate file(s)")
    return rows


def _check_same_ids(sources: list[tuple[str, set[int]]], problems: _Problems) -> None:
    """Every given input must cover the same row ids (reference scripts write a file for every row)."""
    everything = set().union(*(ids for _, ids in sources))
    for name, ids in sources:
        for row_id in sorted(everything - ids):
            others = [other for other, other_ids in sources if row_id in other_ids]
            problems.add(name, 0, f"no entry for row id {row_id}, which {', '.join(others)} has")


def _candidates_of(row_id: int, row: _RowCandidates, pngs: Mapping[Path, Rle],
                   meta: dict[tuple[int, int], tuple[int, MetaEntry]] | None, meta_path: Path | None,
                   problems: _Problems) -> tuple[Candidate, ...]:
    """The row's candidates ordered by ``(group, mask)``, with the meta file's phrase and score."""
    out: list[Candidate] = []
    size: tuple[int, int] | None = None
    for (group, _mask), path in sorted(row.files.items()):
        rle = pngs.get(path)
        if rle is None:
            continue
        if size is not None and rle_ops.size_of(rle) != size:
            problems.add(path, 0, f"size {list(rle_ops.size_of(rle))} differs from the row's other "
                                  f"candidates {list(size)}")
        size = size or rle_ops.size_of(rle)
        entry = None
        if meta is not None:
            if (row_id, group) not in meta:
                problems.add(path, 0, f"no line in {meta_path} for row id {row_id} group {group}")
            else:
                entry = meta[row_id, group][1]
        out.append(Candidate(mask=rle, phrase=entry.phrase if entry else None,
                             char_start=entry.char_start if entry else None,
                             char_end=entry.char_end if entry else None,
                             score=entry.score if entry else None))
    if row.bare is not None:
        rle = pngs.get(row.bare)
        if rle is not None and int(rle_ops.area([rle])[0]) != 0:
            problems.add(row.bare, 0, "a no-candidate file {id}.png must be empty (the scripts write it when "
                                      "the response has no noun phrase)")
    return tuple(out)


def _selected(row_id: int, row: _RowCandidates, selection: dict[int, tuple[int, str | None]],
              selection_path: Path, ids: _Ids, problems: _Problems) -> int | Literal["none"] | None:
    """The index in the row's candidates that the selection file names (see the module docstring)."""
    order = sorted(row.files)
    if row_id not in selection:
        if len(order) <= 1:
            return "none" if not order else 0
        problems.add(selection_path, 0, f"no line for row id {row_id}, which has {len(order)} candidates")
        return None
    number, name = selection[row_id]
    if name is None:
        return "none"
    try:
        parts = parse_candidate_name(name)
        if parts is not None and ids.from_key(parts.key) != row_id:
            raise ValueError(f"selected file {name!r} belongs to row id {ids.from_key(parts.key)}, "
                             f"but the line is for row id {row_id}")
        return candidate_index(name, order)
    except ValueError as exc:
        problems.add(selection_path, number, f"row id {row_id}: {exc}")
        return None


def convert_reference(*, benchmark: str, probe: str, model: str, answers: str | Path | None = None,
                      masks: str | Path | None = None, candidates: str | Path | None = None,
                      meta: str | Path | None = None, selection: str | Path | None = None,
                      id_base: int | None = None, selection_id_base: int = SELECTION_ID_BASE,
                      names: Mapping[str, int] | None = None, valid_ids: Collection[int] | None = None,
                      workers: int | None = None, progress: bool = False) -> list[Prediction]:
    """Prediction records (sorted by id) for one benchmark, probe and model from reference files.

    ``answers`` gives ``response``/``prompt`` (required for the ``vqa`` and ``letter`` probes), ``masks``
    the ``mask``, ``candidates`` the ``candidates`` (phrase and score from ``meta``, ``selected`` from
    ``selection``). ``id_base`` defaults to :data:`REFERENCE_ID_BASE`; ``names`` maps file stems (PixCV-Bench
    image names) to row ids; ``valid_ids`` defaults to :data:`ID_RANGES`. PNGs are read by ``workers`` threads
    (default: up to 8), with a tqdm bar on stderr when ``progress``. Raises :class:`ConvertError` listing
    every problem, and ``ValueError`` for invalid arguments.
    """
    if benchmark not in BENCHMARKS:
        raise ValueError(f"Expected `benchmark` to be one of {', '.join(BENCHMARKS)}, but got {benchmark!r}")
    if probe not in PROBES:
        raise ValueError(f"Expected `probe` to be one of {', '.join(PROBES)}, but got {probe!r}")
    if not model:
        raise ValueError("Expected `model` to be a non-empty name")
    if answers is None and masks is None and candidates is None:
        raise ValueError("Expected at least one input: answers, masks or candidates")
    if probe in TEXT_PROBES and answers is None:
        raise ValueError(f"Expected `answers` for the {probe!r} probe (its lines need the model's response)")
    if candidates is None and (meta is not None or selection is not None):
        raise ValueError("Expected `candidates` with `meta` or `selection` (they describe candidate files)")
    for name, base in (("id_base", id_base), ("selection_id_base", selection_id_base)):
        if base is not None and (isinstance(base, bool) or not isinstance(base, int) or base < 0):
            raise ValueError(f"Expected `{name}` to be a non-negative int, but got {base!r}")
    ids = _Ids(benchmark, names, ID_RANGES[benchmark] if valid_ids is None else valid_ids)
    base = REFERENCE_ID_BASE[benchmark] if id_base is None else id_base
    problems = _Problems()

    text = _read_answers(answers, ids=ids, id_base=base, problems=problems) if answers is not None else None
    own = _scan_mask_folder(masks, ids=ids, problems=problems) if masks is not None else None
    rows = _scan_candidate_folder(candidates, ids=ids, problems=problems) if candidates is not None else None
    meta_lines = _read_meta(meta, ids=ids, problems=problems) if meta is not None else None
    chosen = (_read_selection(selection, ids=ids, id_base=selection_id_base, problems=problems)
              if selection is not None else None)
    problems.check()

    sources = [(str(path), set(found)) for path, found in ((answers, text), (masks, own), (candidates, rows))
               if found is not None]
    _check_same_ids(sources, problems)
    if meta is not None and meta_lines is not None and rows is not None:
        for (row_id, group), (number, _entry) in sorted(meta_lines.items()):
            if row_id not in rows or not any(g == group for g, _ in rows[row_id].files):
                problems.add(meta, number, f"no candidate files in {candidates} for row id {row_id} group {group}")
    if selection is not None and chosen is not None and rows is not None:
        for row_id, (number, _name) in sorted(chosen.items()):
            if row_id not in rows:
                problems.add(selection, number, f"no candidate files in {candidates} for row id {row_id}")
    problems.check()

    paths = list((own or {}).values()) + [path for row in (rows or {}).values()
                                          for path in [*row.files.values(), *([row.bare] if row.bare else [])]]
    pngs = _read_pngs(paths, problems, workers=workers, progress=progress)
    out: list[Prediction] = []
    for row_id in sorted(set().union(*(found for _, found in sources))):
        answer = text.get(row_id) if text is not None else None
        mask = pngs.get(own[row_id]) if own is not None and row_id in own else None
        row_candidates: tuple[Candidate, ...] | None = None
        selected: int | Literal["none"] | None = None
        if rows is not None and row_id in rows:
            row = rows[row_id]
            row_candidates = _candidates_of(row_id, row, pngs, meta_lines, Path(meta) if meta else None, problems)
            if chosen is not None and selection is not None:
                selected = _selected(row_id, row, chosen, Path(selection), ids, problems)
            elif not row.files:
                selected = "none"
        out.append(Prediction(benchmark=benchmark, id=row_id, probe=probe, model=model,
                              response=answer.response if answer else None,
                              prompt=answer.prompt if answer else None,
                              mask=mask, has_mask=own is not None, candidates=row_candidates, selected=selected))
    problems.check()
    return out


def dataset_ids(data: str, benchmark: str) -> tuple[set[int], dict[str, int]]:
    """Row ids of a built dataset (folder or hub id) and, for PixCV-Bench, image stem -> row id."""
    from pixbench.loaders import hub

    columns = ["id", "source_filename"] if benchmark == "pixcvbench" else ["id"]
    table = hub.load(data, columns=columns)
    row_ids = [int(v) for v in table["id"]]
    names: dict[str, int] = {}
    if benchmark == "pixcvbench":
        for row_id, source in zip(row_ids, table["source_filename"], strict=True):
            stem = PurePosixPath(str(source)).stem
            if stem in names:
                raise ValueError(f"{data}: rows {names[stem]} and {row_id} share the image name {stem!r}")
            names[stem] = row_id
    return set(row_ids), names


# --------------------------------------------------------------------------- command line

_DESCRIPTION = """\
Convert the outputs of the PixFoundation reference scripts (github.com/MSiam/PixFoundation) into a
predictions file that `pixbench score` reads. One call converts one benchmark, probe and model; give
any of --answers, --masks and --candidates (with --meta and --selection), and use --append to collect
the three probes of a model in one file. Masks are stored inline as RLE, so the output is
self-contained.

The reference folders name the probes by protocol: protocol1 = vqa (--prompt_for_seg 0),
protocol2 = letter (3), protocol3 = segment (1)."""

_EPILOG = """\
file layout:
  --masks DIR        one PNG per row: {id}.png, {id:05d}.png or output{id:05d}.png (PixMMVP row id
                     1..300), or {image stem}.png (PixCV-Bench, needs --data); non-zero = foreground
  --candidates DIR   {id}_{group:03d}_{mask:03d}.png: noun-phrase group, SAM mask 0..2; ordered by
                     (group, mask); a bare {id}.png (no noun phrase) must be empty -> no candidates
  --meta FILE        lines '{id}.jpg - {group} - {phrase}| {core}| {score}' -> phrase and score of
                     every mask of the group (the 'when' variant's char offsets are kept too)
  --selection FILE   lines {"question_id": q, "selected file": PATH or "NONE"}, q counted from 0;
                     a row without a line gets "none" (no candidate) or 0 (one candidate)
  --answers FILE     lines with question_id, prompt and the text in `response` (vqa/segment format,
                     where `answer` is the correct answer) or else in `answer` (letter format)

ids:
  Files pair by the id in their names and lines, never by position. The reference scripts write
  PixMMVP question_id = row id (counted from 1: --id-base 1, the default) and name masks by the row
  id; the selection file counts from 0. PixCV-Bench letter answers carry the CV-Bench idx
  (questionId, counted from 0: --id-base 0, the default) and vqa/segment answers and masks carry the
  image name, which --data maps to the row id.

examples:
  pixbench convert --benchmark pixmmvp --probe vqa --model llava-1.5-7b \\
      --answers answers/answers_llava-1.5-7b_protocol1.jsonl \\
      --candidates preds/preds_llava-1.5-7b_protocol1 \\
      --meta meta/meta_llava-1.5-7b_spaCy_protocol1.txt \\
      --selection meta/meta_llava-1.5-7b_gptauto_protocol1.jsonl --out llava-1.5-7b.jsonl
  pixbench convert --benchmark pixmmvp --probe letter --model llava-1.5-7b \\
      --answers answers/answers_llava-1.5-7b_protocol2.jsonl --out llava-1.5-7b.jsonl --append

Exit status: 0 on success; 1 when any input has a problem (all problems are listed, nothing is
written)."""


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Add the ``convert`` arguments (and a manual-like description) to ``parser``."""
    parser.description = parser.description or _DESCRIPTION
    from pixbench import bridges

    parser.epilog = parser.epilog or _EPILOG + "\n" + bridges.EPILOG
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    what = parser.add_argument_group("what is converted")
    what.add_argument("--from", dest="source_format", choices=SOURCE_FORMATS, default="reference",
                      help="the layout of the inputs (default: reference, the PixFoundation scripts; "
                           "lmms-eval and vlmevalkit read FILE)")
    what.add_argument("source", nargs="?", metavar="FILE",
                      help="with --from lmms-eval|vlmevalkit: the samples .jsonl or the .xlsx/.tsv file")
    what.add_argument("--benchmark", choices=BENCHMARKS,
                      help="the benchmark the files are for (required with --from reference)")
    what.add_argument("--probe", choices=PROBES,
                      help="the probe: vqa (protocol1), letter (protocol2) or segment (protocol3); required "
                           "with --from reference")
    what.add_argument("--model", metavar="NAME",
                      help="the model name written on every line (default: the --out file's stem)")
    inputs = parser.add_argument_group("inputs (at least one of --answers, --masks, --candidates)")
    inputs.add_argument("--answers", metavar="FILE.jsonl",
                        help="the answers file; required for the vqa and letter probes")
    inputs.add_argument("--masks", metavar="DIR", help="folder of one predicted mask PNG per row")
    inputs.add_argument("--candidates", metavar="DIR", help="folder of candidate mask PNGs per row")
    inputs.add_argument("--meta", metavar="FILE.txt",
                        help="the spaCy meta file giving each candidate group's phrase and score")
    inputs.add_argument("--selection", metavar="FILE.jsonl",
                        help="the automatic (GPT) selection file giving each row's chosen candidate")
    inputs.add_argument("--data", metavar="PATH_OR_HUB_ID",
                        help="a built dataset (folder or hub id): checks ids against it and, for "
                             "pixcvbench, maps image names to row ids (needed there for masks and "
                             "vqa/segment answers)")
    id_args = parser.add_argument_group("ids")
    id_args.add_argument("--id-base", type=int, choices=(0, 1), default=None,
                         help="what the answers file's question_id counts the first row as (default: "
                              "what the reference scripts write: 1 for pixmmvp, 0 for pixcvbench)")
    id_args.add_argument("--selection-id-base", type=int, choices=(0, 1), default=SELECTION_ID_BASE,
                         help="the same for the selection file (default: 0, as the reference writes it)")
    output = parser.add_argument_group("output")
    output.add_argument("--out", "-o", required=True, metavar="PREDS.jsonl", help="the predictions file to write")
    mode = output.add_mutually_exclusive_group()
    mode.add_argument("--append", action="store_true",
                      help="add to an existing file (refused if a line for the same model, id and probe is "
                           "already there)")
    mode.add_argument("--force", action="store_true", help="overwrite an existing file")
    bridges.add_arguments(parser)


def _existing_keys(path: Path) -> set[tuple[str, str, int, str]]:
    """``(model, benchmark, id, probe)`` of the lines already in a predictions file (unreadable lines skipped)."""
    keys: set[tuple[str, str, int, str]] = set()
    with path.open(encoding="utf-8") as handle:
        for text in handle:
            try:
                obj = json.loads(text) if text.strip() else None
            except json.JSONDecodeError:
                continue
            if isinstance(obj, dict) and obj.get("variant") is None:
                keys.add((str(obj.get("model", path.stem)), str(obj.get("benchmark")), obj.get("id", -1),
                          str(obj.get("probe"))))
    return keys


def _summary(predictions: list[Prediction], args: argparse.Namespace, model: str, out: Path) -> str:
    with_candidates = [p for p in predictions if p.candidates is not None]
    parts = [f"{sum(p.response is not None for p in predictions)} response(s)",
             f"{sum(p.has_mask for p in predictions)} mask(s)",
             f"{len(with_candidates)} with candidates ({sum(len(p.candidates or ()) for p in with_candidates)} masks)",
             f"{sum(isinstance(p.selected, int) for p in predictions)} selected",
             f"{sum(p.selected == 'none' for p in predictions)} 'none'"]
    action = "appended to" if args.append else "wrote"
    return (f"{action} {out}: {len(predictions)} line(s) of {args.benchmark}/{args.probe} for model {model!r}: "
            + ", ".join(parts))


def run(args: argparse.Namespace) -> int:
    """``pixbench convert``: convert, write, print a one-line summary to stderr; 1 on any problem."""
    if args.source_format != "reference":
        from pixbench import bridges

        return bridges.run(args)
    missing = [f"--{name}" for name in ("benchmark", "probe") if getattr(args, name) is None]
    if missing or args.source is not None or args.report or args.allow_unmapped:
        print(f"error: --from reference needs {' and '.join(missing)}" if missing else
              f"error: --from reference takes no FILE ({args.source}); use --answers, --masks, --candidates"
              if args.source is not None else
              "error: --report and --allow-unmapped apply to --from lmms-eval|vlmevalkit", file=sys.stderr)
        return 1
    out = Path(args.out)
    model = args.model or out.stem
    if out.exists() and not (args.append or args.force):
        print(f"error: {out} exists; pass --append to add to it or --force to overwrite it", file=sys.stderr)
        return 1
    try:
        valid_ids: set[int] | None = None
        names: dict[str, int] | None = None
        if args.data:
            try:
                valid_ids, names = dataset_ids(args.data, args.benchmark)
            except Exception as exc:  # datasets/hub raise many types
                print(f"error: cannot read the dataset {args.data}: {type(exc).__name__}: {exc}", file=sys.stderr)
                return 1
        predictions = convert_reference(
            benchmark=args.benchmark, probe=args.probe, model=model, answers=args.answers, masks=args.masks,
            candidates=args.candidates, meta=args.meta, selection=args.selection, id_base=args.id_base,
            selection_id_base=args.selection_id_base, names=names or None, valid_ids=valid_ids,
            progress=sys.stderr.isatty())
        if args.append and out.exists():
            clash = sorted(p.id for p in predictions if p.key[:4] in _existing_keys(out))
            if clash:
                print(f"error: {out} already has lines for model {model!r}, {args.benchmark}, probe "
                      f"{args.probe}, ids {clash[:10]}{' ...' if len(clash) > 10 else ''}; nothing written",
                      file=sys.stderr)
                return 1
        write_predictions(out, predictions, append=args.append)
    except ConvertError as exc:
        print(f"error: nothing written; {exc}", file=sys.stderr)
        return 1
    except (ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(_summary(predictions, args, model, out), file=sys.stderr)
    return 0
