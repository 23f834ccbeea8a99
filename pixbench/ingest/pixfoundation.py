"""The PixFoundation reference scripts' outputs as predictions (``pixbench convert``, ``--from reference``).

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
``question_id - id_base + first`` with ``first`` the benchmark's first row id (``Benchmark.first_id``: 1 for
PixMMVP, 0 for PixCV-Bench). Its default is what the benchmark declares of the scripts
(``harnesses.reference_scripts``, :func:`reference_id_base`): the reference scripts write
``question_id = row index + 1`` for PixMMVP (``id_base`` 1, the default) and, for PixCV-Bench, the CV-Bench
``idx`` as ``questionId`` (letter probe; ``id_base`` 0, the default) or the image's ``source_filename`` as
``question_id`` (vqa/segment), which like PixCV-Bench file names needs ``names`` (file stem -> row id, from the
built dataset:
:func:`~pixbench.ingest.common.dataset_ids`; a benchmark names its files after the image when it has an
``image_name_column``). Files pair by the id parsed from their names, never by sort position; a record is
made for every id found.

Problems (malformed lines, unknown ids, two files for one id, a selection naming a missing candidate,
inputs that disagree on the ids) are collected and raised together as :class:`ConvertError`, each
naming the file and the line (or the PNG file). This module is library code: the command line is
:mod:`pixbench.cli.convert`.
"""

from __future__ import annotations

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
from pixbench.annotation.png import read_png
from pixbench.annotation.rle import Rle
from pixbench.benchmarks import ImageBenchmark
from pixbench.ingest.common import benchmark_of, id_offset, image_benchmarks
from pixbench.jsonl import JsonLinesError, check_regular_file, iter_json_lines
from pixbench.predictions import PROBES, TEXT_PROBES, Candidate, Prediction
from pixbench.problems import ProblemLog, shorten

__all__ = ["MAX_PROBLEMS", "REFERENCE_ID_BASE", "SELECTION_ID_BASE", "AnswerLine", "CandidateName", "ConvertError",
           "ConvertProblem", "ConvertProblems", "MetaEntry", "candidate_index", "convert_reference",
           "parse_candidate_name", "parse_mask_name", "parse_meta_line", "read_answers", "reference_id_base",
           "response_of", "selected_file_name"]


def reference_id_base(benchmark: str) -> int:
    """What the reference scripts' answers files give the benchmark's first row (a fact of the published scripts
    that the benchmark declares: ``harnesses.reference_scripts``); ``ValueError`` for a benchmark they do not
    cover (pass ``id_base``)."""
    scripts = benchmark_of(benchmark).harnesses.reference_scripts
    if scripts is None:
        raise ValueError(f"the PixFoundation reference scripts do not cover {benchmark}: pass `id_base`")
    return scripts.answers_id_base


#: :func:`reference_id_base` of every benchmark the scripts cover, by name (as the registry held them at import).
REFERENCE_ID_BASE: dict[str, int] = {b.name: scripts.answers_id_base for b in image_benchmarks()
                                     if (scripts := b.harnesses.reference_scripts) is not None}
#: The selection file's ``question_id`` counts from 0.
SELECTION_ID_BASE = 0
#: How many problems a :class:`ConvertError` lists (it counts all of them).
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
class ConvertProblems(ProblemLog[ConvertProblem]):
    """The first :data:`MAX_PROBLEMS` problems and the count of all; :meth:`check` raises them together."""

    limit: int | None = MAX_PROBLEMS

    def place(self, file: str | Path, line: int, message: str) -> None:
        self.add(ConvertProblem(str(file), line, message))

    def check(self) -> None:
        if self:
            raise ConvertError(self.shown, more=self.hidden)


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
        raise ValueError(f"`selected file` must be a path or \"NONE\", but got {shorten(value)}")
    if value.strip().upper() == "NONE":
        return None
    return PurePosixPath(value.strip().replace("\\", "/")).name


def candidate_index(name: str, order: Sequence[tuple[int, int]]) -> int:
    """Position of the candidate file ``name`` in a row's candidates, given their ``(group, mask)`` order.

    Raises ``ValueError`` when ``name`` is not a candidate file name or not among ``order``.
    """
    parts = parse_candidate_name(name)
    if parts is None:
        raise ValueError(f"selected file {shorten(name)} is not a candidate file name")
    if (parts.group, parts.mask) not in order:
        raise ValueError(f"selected file {shorten(name)} is not among the row's {len(order)} candidate file(s)")
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


def _json_objects(path: Path, problems: ConvertProblems) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(line number, object)`` of each non-blank line (:func:`~pixbench.jsonl.iter_json_lines`); unreadable
    lines, lines that are not objects and a file that cannot be read at all become problems."""
    try:
        for line in iter_json_lines(path):
            if not line.ok:
                problems.place(path, line.number, str(line.error))
            elif not isinstance(line.value, dict):
                problems.place(path, line.number, f"expected a JSON object, but got {type(line.value).__name__}")
            else:
                yield line.number, line.value
    except JsonLinesError as exc:
        problems.place(path, 0, str(exc))


@dataclass(frozen=True)
class _Ids:
    """Turns keys of file names and question ids into row ids of one benchmark."""

    benchmark: ImageBenchmark
    names: Mapping[str, int] | None
    valid: Collection[int]

    @classmethod
    def of(cls, benchmark: str, names: Mapping[str, int] | None, valid_ids: Collection[int] | None) -> _Ids:
        """The ids of ``benchmark``: its whole id domain unless ``valid_ids`` (a built dataset's) is given."""
        found = benchmark_of(benchmark)
        return cls(found, names, found.ids if valid_ids is None else valid_ids)

    @property
    def image_column(self) -> str:
        return self.benchmark.image_name_column or "image name"

    def _checked(self, row_id: int, what: str) -> int:
        if row_id not in self.valid:
            raise ValueError(f"{what} gives row id {row_id}, which is not in {self.benchmark.name}")
        return row_id

    def from_key(self, key: str) -> int:
        """The row id of a file-name key (``"12"``, ``"00012"``; an image stem where files are named after
        the image: a benchmark with an ``image_name_column``)."""
        if self.benchmark.image_name_column is not None:
            if self.names is None:
                raise ValueError(f"{self.benchmark.display_name} files are named after the image ({shorten(key)}); "
                                 "pass the dataset (--data) to map image names to row ids")
            if key not in self.names:
                raise ValueError(f"image name {shorten(key)} is not a {self.image_column} of the dataset")
            return self._checked(self.names[key], f"image name {shorten(key)}")
        if not key.isdigit():
            raise ValueError(f"expected a numeric row id in the name, but got {shorten(key)}")
        return self._checked(int(key), f"name key {shorten(key)}")

    def from_question_id(self, value: Any, base: int) -> int:
        """The row id of a ``question_id``: an int counted from ``base``, or an image file name."""
        if isinstance(value, str) and _INT.match(value):
            value = int(value)
        elif isinstance(value, str) and self.names is not None:
            stem = PurePosixPath(value.replace("\\", "/")).stem
            if stem not in self.names:
                raise ValueError(f"question_id {shorten(value)} is not an int nor a {self.image_column} of the "
                                 "dataset")
            return self._checked(self.names[stem], f"question_id {shorten(value)}")
        if isinstance(value, bool) or not isinstance(value, int):
            hint = " (an image name: pass the dataset, --data, to map it)" if isinstance(value, str) else ""
            raise ValueError(f"`question_id` must be an int, but got {shorten(value)}{hint}")
        return self._checked(value + id_offset(self.benchmark.name, base),
                             f"question_id {shorten(value)} (counted from {base})")


def _read_answers(path: str | Path, *, ids: _Ids, id_base: int, problems: ConvertProblems) -> dict[int, AnswerLine]:
    path = Path(path)
    out: dict[int, AnswerLine] = {}
    for number, obj in _json_objects(path, problems):
        key = "question_id" if "question_id" in obj else "questionId"
        if key not in obj:
            problems.place(path, number, "missing `question_id`")
            continue
        try:
            row_id = ids.from_question_id(obj[key], id_base)
            response = response_of(obj)
        except ValueError as exc:
            problems.place(path, number, str(exc))
            continue
        if row_id in out:
            problems.place(path, number, f"second line for row id {row_id}; first at line {out[row_id].line}")
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
    problems = ConvertProblems()
    ids = _Ids.of(benchmark, names, valid_ids)
    out = _read_answers(path, ids=ids, id_base=reference_id_base(benchmark) if id_base is None else id_base,
                        problems=problems)
    problems.check()
    return out


def _text_lines(path: Path, problems: ConvertProblems) -> Iterator[tuple[int, str]]:
    """``(line number, text)`` of each non-blank line of a text file (regular files only); a file that cannot
    be read becomes a problem."""
    try:
        check_regular_file(path)
        with path.open(encoding="utf-8") as handle:
            for number, text in enumerate(handle, start=1):
                if text.strip():
                    yield number, text
    except JsonLinesError as exc:
        problems.place(path, 0, str(exc))
    except UnicodeDecodeError as exc:
        problems.place(path, 0, f"not UTF-8 text: {exc.reason}")
    except OSError as exc:
        problems.place(path, 0, f"cannot read: {exc.strerror or exc}")


def _read_meta(path: str | Path, *, ids: _Ids,
               problems: ConvertProblems) -> dict[tuple[int, int], tuple[int, MetaEntry]]:
    """Meta lines by ``(row id, group)``, each with its line number."""
    path = Path(path)
    out: dict[tuple[int, int], tuple[int, MetaEntry]] = {}
    for number, text in _text_lines(path, problems):
        try:
            entry = parse_meta_line(text, file=str(path), line=number)
        except ConvertError as exc:
            for problem in exc.problems:
                problems.add(problem)
            continue
        try:
            row_id = ids.from_key(entry.key)
        except ValueError as exc:
            problems.place(path, number, str(exc))
            continue
        if (row_id, entry.group) in out:
            problems.place(path, number, f"second line for row id {row_id} group {entry.group}; "
                                         f"first at line {out[row_id, entry.group][0]}")
            continue
        out[row_id, entry.group] = (number, entry)
    return out


def _read_selection(path: str | Path, *, ids: _Ids, id_base: int,
                   problems: ConvertProblems) -> dict[int, tuple[int, str | None]]:
    """Selection lines by row id: ``(line number, candidate file name or None for "NONE")``."""
    path = Path(path)
    out: dict[int, tuple[int, str | None]] = {}
    for number, obj in _json_objects(path, problems):
        if "question_id" not in obj or "selected file" not in obj:
            problems.place(path, number, "expected the fields `question_id` and `selected file`")
            continue
        try:
            row_id = ids.from_question_id(obj["question_id"], id_base)
            name = selected_file_name(obj["selected file"])
        except ValueError as exc:
            problems.place(path, number, str(exc))
            continue
        if row_id in out:
            problems.place(path, number, f"second line for row id {row_id}; first at line {out[row_id][0]}")
            continue
        out[row_id] = (number, name)
    return out


def _encode_png(path: Path) -> Rle | str:
    """The PNG's mask as RLE, or the reason it cannot be read."""
    try:
        return rle_ops.encode(read_png(path))
    except rle_ops.MaskError as exc:  # says itself what is wrong (not a PNG, unreadable, too large)
        return str(exc)
    except Exception as exc:  # anything else Pillow raises for a damaged file
        return f"unreadable PNG: {exc}"


def _read_pngs(paths: list[Path], problems: ConvertProblems, *, workers: int | None, progress: bool) -> dict[Path, Rle]:
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
                    problems.place(path, 0, result)
                else:
                    out[path] = result
                if bar is not None:
                    bar.update()
    finally:
        if bar is not None:
            bar.close()
    return out


def _listing(folder: Path, problems: ConvertProblems) -> list[Path]:
    if not folder.is_dir():
        problems.place(folder, 0, "not a folder")
        return []
    return sorted(p for p in folder.iterdir() if not p.name.startswith(".") and p.is_file())


def _scan_mask_folder(folder: str | Path, *, ids: _Ids, problems: ConvertProblems) -> dict[int, Path]:
    """The mask file of each row id in a mask folder (names in the module docstring)."""
    folder = Path(folder)
    found: dict[int, Path] = {}
    for path in _listing(folder, problems):
        key = parse_mask_name(path.name)
        if key is None:
            hint = ("; it looks like a candidate file: pass this folder as the candidates folder"
                    if parse_candidate_name(path.name) else "")
            problems.place(path, 0, "not a mask file name (expected {id}.png, {id:05d}.png or "
                                    f"output{{id:05d}}.png){hint}")
            continue
        try:
            row_id = ids.from_key(key)
        except ValueError as exc:
            problems.place(path, 0, str(exc))
            continue
        if row_id in found:
            problems.place(path, 0, f"second mask file for row id {row_id}; the first is {found[row_id].name}")
            continue
        found[row_id] = path
    return found


@dataclass
class _RowCandidates:
    """The candidate files of one row: by ``(group, mask)``, and the bare no-phrase file if any."""

    files: dict[tuple[int, int], Path] = field(default_factory=dict)
    bare: Path | None = None


def _scan_candidate_folder(folder: str | Path, *, ids: _Ids, problems: ConvertProblems) -> dict[int, _RowCandidates]:
    """Candidate files by row id, with duplicates and stray names reported."""
    folder = Path(folder)
    rows: dict[int, _RowCandidates] = {}
    for path in _listing(folder, problems):
        parts = parse_candidate_name(path.name)
        key = parts.key if parts else parse_mask_name(path.name)
        if key is None:
            problems.place(path, 0, "not a candidate file name (expected {id}_{group:03d}_{mask:03d}.png "
                                    "or {id}.png)")
            continue
        try:
            row_id = ids.from_key(key)
        except ValueError as exc:
            problems.place(path, 0, str(exc))
            continue
        row = rows.setdefault(row_id, _RowCandidates())
        if parts is None:
            if row.bare is not None:
                problems.place(path, 0, f"second no-candidate file for row id {row_id}; the first is {row.bare.name}")
            row.bare = row.bare or path
        elif (parts.group, parts.mask) in row.files:
            first = row.files[parts.group, parts.mask].name
            problems.place(path, 0, f"second file for row id {row_id} group {parts.group} mask {parts.mask}; "
                                    f"the first is {first}")
        else:
            row.files[parts.group, parts.mask] = path
    for row_id, row in rows.items():
        if row.bare is not None and row.files:
            problems.place(row.bare, 0, f"row id {row_id} has both this no-candidate file and "
                                        f"{len(row.files)} candidate file(s)")
    return rows


def _check_same_ids(sources: list[tuple[str, set[int]]], problems: ConvertProblems) -> None:
    """Every given input must cover the same row ids (reference scripts write a file for every row)."""
    everything = set().union(*(ids for _, ids in sources))
    for name, ids in sources:
        for row_id in sorted(everything - ids):
            others = [other for other, other_ids in sources if row_id in other_ids]
            problems.place(name, 0, f"no entry for row id {row_id}, which {', '.join(others)} has")


def _candidates_of(row_id: int, row: _RowCandidates, pngs: Mapping[Path, Rle],
                   meta: dict[tuple[int, int], tuple[int, MetaEntry]] | None, meta_path: Path | None,
                   problems: ConvertProblems) -> tuple[Candidate, ...]:
    """The row's candidates ordered by ``(group, mask)``, with the meta file's phrase and score."""
    out: list[Candidate] = []
    size: tuple[int, int] | None = None
    for (group, _mask), path in sorted(row.files.items()):
        rle = pngs.get(path)
        if rle is None:
            continue
        if size is not None and rle_ops.size_of(rle) != size:
            problems.place(path, 0, f"size {list(rle_ops.size_of(rle))} differs from the row's other "
                                    f"candidates {list(size)}")
        size = size or rle_ops.size_of(rle)
        entry = None
        if meta is not None:
            if (row_id, group) not in meta:
                problems.place(path, 0, f"no line in {meta_path} for row id {row_id} group {group}")
            else:
                entry = meta[row_id, group][1]
        out.append(Candidate(mask=rle, phrase=entry.phrase if entry else None,
                             char_start=entry.char_start if entry else None,
                             char_end=entry.char_end if entry else None,
                             score=entry.score if entry else None))
    if row.bare is not None:
        rle = pngs.get(row.bare)
        if rle is not None and int(rle_ops.area([rle])[0]) != 0:
            problems.place(row.bare, 0, "a no-candidate file {id}.png must be empty (the scripts write it when "
                                        "the response has no noun phrase)")
    return tuple(out)


def _selected(row_id: int, row: _RowCandidates, selection: dict[int, tuple[int, str | None]],
              selection_path: Path, ids: _Ids, problems: ConvertProblems) -> int | Literal["none"] | None:
    """The index in the row's candidates that the selection file names (see the module docstring)."""
    order = sorted(row.files)
    if row_id not in selection:
        if len(order) <= 1:
            return "none" if not order else 0
        problems.place(selection_path, 0, f"no line for row id {row_id}, which has {len(order)} candidates")
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
        problems.place(selection_path, number, f"row id {row_id}: {exc}")
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
    ``selection``). ``id_base`` defaults to :func:`reference_id_base`; ``names`` maps file stems (PixCV-Bench
    image names) to row ids; ``valid_ids`` defaults to the benchmark's id domain (``Benchmark.ids``). PNGs are
    read by ``workers`` threads (default: up to 8), with a tqdm bar on stderr when ``progress``. Raises
    :class:`ConvertError` listing every problem, and ``ValueError`` for invalid arguments.
    """
    benchmark_of(benchmark)
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
    ids = _Ids.of(benchmark, names, valid_ids)
    base = reference_id_base(benchmark) if id_base is None else id_base
    problems = ConvertProblems()

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
                problems.place(meta, number, f"no candidate files in {candidates} for row id {row_id} group {group}")
    if selection is not None and chosen is not None and rows is not None:
        for row_id, (number, _name) in sorted(chosen.items()):
            if row_id not in rows:
                problems.place(selection, number, f"no candidate files in {candidates} for row id {row_id}")
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
