"""A producer's output files: what it finds in ``OUT`` before it writes, the only repairs it makes, how it
appends lines (to ``OUT`` or its shard), and how shards are merged.

Every producer (``pixbench run``, ``baseline attend-segment``, ``video-ground``, ``text-track``) reads its
existing ``OUT`` whole with :func:`read_existing_output` before any model loads or any request is made,
and refuses it, with :class:`OutputError` naming the file, line and reason, when

- it is not a regular file of JSON-object lines (a folder, a PNG, invalid JSON);
- it holds a line of another model or benchmark: a producer writes one model's lines per file and never
  counts another's lines as done;
- it holds lines but no run file (``OUT.run.json``): they were not written by this producer, or their
  settings are lost, so they cannot be resumed;
- its last line has no newline and is not the start of one of this producer's lines.

Only two repairs are ever made, both to the producer's own lines (:func:`repair_output`): a partial last
line that begins as the producer's lines begin (``{"benchmark": NAME, "id": ``), left by an interrupted
write while the run file exists, is cut off; a complete last line of this model without its newline gets
one. A user's line is never cut or changed.

Lines are appended by :class:`LineWriter`, each flushed as it is written; a shard's partial last line (its
process was killed mid-write) is dropped when the shard is opened again. :func:`merge_shards` writes ``OUT``
and the shards' lines, the first line of each :func:`line_key` kept, sorted, to a temporary file renamed
over ``OUT``, then deletes the shards.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from pixbench.jsonl import JsonLinesError, check_regular_file, iter_json_lines

__all__ = ["ExistingOutput", "LineKey", "LineWriter", "OutputError", "existing_keys", "line_key", "merge_shards",
           "output_lines", "read_existing_output", "repair_output", "rewrite_output", "shard_path", "shards_of"]

logger = logging.getLogger(__name__)

#: How much of an unterminated last line is read to tell a producer's line from another's.
_TAIL_BYTES = 1 << 16


class OutputError(ValueError):
    """``OUT`` holds something a producer may not append to or resume from."""


@dataclass(frozen=True)
class ExistingOutput:
    """This model's lines in ``OUT`` (as objects), and the repair its last line needs."""

    lines: tuple[dict[str, Any], ...] = ()
    cut_at: int | None = None  # truncate here: the producer's own partial last line
    terminate: bool = False  # the last line is complete but has no newline


def _after_last_newline(handle: IO[bytes]) -> int:
    """The offset just after the last newline of an open file (0 when it has none), read back from the end a
    block at a time."""
    start = handle.seek(0, 2)
    while start > 0:
        block = max(0, start - _TAIL_BYTES)
        handle.seek(block)
        cut = handle.read(start - block).rfind(b"\n")
        if cut >= 0:
            return block + cut + 1
        start = block
    return 0


def _unterminated_tail(out: Path) -> tuple[int, bytes] | None:
    """``(offset, first bytes)`` of the text after the last newline of ``out``, when there is any but blanks."""
    with out.open("rb") as handle:
        start = _after_last_newline(handle)
        handle.seek(start)
        head = handle.read(_TAIL_BYTES)
    return (start, head) if head.strip() else None


def _is_own_partial_line(head: bytes, benchmark: str) -> bool:
    """Whether ``head`` (an incomplete line) begins as a producer's line on ``benchmark`` begins."""
    try:
        text = head.decode("utf-8").strip()
    except UnicodeDecodeError as exc:  # a write cut inside a character
        text = head[:exc.start].decode("utf-8").strip()
    start = json.dumps({"benchmark": benchmark, "id": 0})[:-2]  # '{"benchmark": "pixmmvp", "id": '
    return text.startswith(start) or start.startswith(text)


def read_existing_output(out: Path, *, model: str, benchmark: str, run_file: Path,
                         producer: str = "this run") -> ExistingOutput:
    """Check ``out`` whole (module docstring); return this model's lines and the repair to make."""
    if not out.exists() and not out.is_symlink():
        return ExistingOutput()
    try:
        check_regular_file(out)
        tail = _unterminated_tail(out)
        lines = list(iter_json_lines(out))
    except (JsonLinesError, OSError) as exc:
        raise OutputError(f"{out}: {exc}; use another --out") from None
    cut_at, terminate = None, False
    if tail is not None and lines:
        last = lines[-1]
        if last.ok:
            terminate = True
        elif run_file.exists() and _is_own_partial_line(tail[1], benchmark):
            cut_at = tail[0]
            lines = lines[:-1]
        else:
            raise OutputError(f"{out}:{last.number}: the last line has no newline and is not a line of {producer} "
                              f"({last.error}); a line it did not write is never cut: use another --out, or mend "
                              "the file")
    own: list[dict[str, Any]] = []
    foreign: dict[tuple[str, str], int] = {}
    for line in lines:
        obj = line.value
        if not line.ok or not isinstance(obj, dict):
            raise OutputError(f"{out}:{line.number}: {line.error or 'not a JSON object'}; not a predictions file "
                              f"{producer} can append to: use another --out")
        if obj.get("model") != model or obj.get("benchmark") != benchmark:
            foreign.setdefault((str(obj.get("model")), str(obj.get("benchmark"))), line.number)
        elif "id" not in obj or not isinstance(obj.get("probe"), str):
            raise OutputError(f"{out}:{line.number}: a line without an `id` and a `probe`; not a predictions file "
                              f"{producer} can append to: use another --out")
        else:
            own.append(obj)
    if foreign:
        (other, on), number = next(iter(foreign.items()))
        raise OutputError(f"{out}:{number}: a line of model {other!r} on {on} ({len(foreign)} model/benchmark "
                          f"pair(s) other than this run's in the file); {producer} writes model {model!r} on "
                          f"{benchmark} and never counts another's lines as done: use another --out")
    if own and not run_file.exists():
        raise OutputError(f"{out} holds {len(own)} line(s) of model {model!r} but no {run_file.name}: they were "
                          f"not written by {producer} (or its run file was deleted), so their settings are unknown: "
                          "use another --out")
    return ExistingOutput(tuple(own), cut_at, terminate)


def repair_output(out: Path, existing: ExistingOutput) -> None:
    """Drop the producer's own partial last line, or end its complete last line with the newline."""
    if existing.cut_at is not None:
        logger.warning("%s: dropping a partial last line (%d bytes) left by an interrupted run", out,
                       out.stat().st_size - existing.cut_at)
        with out.open("r+b") as handle:
            handle.truncate(existing.cut_at)
    elif existing.terminate:
        with out.open("ab") as handle:
            handle.write(b"\n")


# ------------------------------------------------------------------------------------------ keys and shards

#: (model, benchmark, id, probe, variant, layout): what makes a line unique (a prediction's own key).
LineKey = tuple[str, str, Any, str, Any, Any]


def line_key(obj: Mapping[str, Any]) -> LineKey:
    """The key of a predictions line as a JSON object (the fields of :attr:`Prediction.key`)."""
    return (str(obj.get("model")), str(obj.get("benchmark")), obj.get("id"), str(obj.get("probe")),
            obj.get("variant"), obj.get("layout"))


def shard_path(out: Path, rank: int, world: int) -> Path:
    """``OUT.shard-RANK-of-WORLD.jsonl`` beside ``out``."""
    return out.with_name(f"{out.name}.shard-{rank}-of-{world}.jsonl")


def shards_of(out: Path) -> list[Path]:
    """Every shard beside ``out`` (any rank, any world size), sorted."""
    return sorted(out.parent.glob(f"{out.name}.shard-*-of-*.jsonl"))


def _shard_lines(path: Path) -> Iterator[dict[str, Any]]:
    """A shard's JSON objects; a line that does not parse (its process killed mid-write) is skipped."""
    try:
        lines = list(iter_json_lines(path))
    except JsonLinesError as exc:
        raise OutputError(f"{path}: {exc}") from None
    for line in lines:
        if not line.ok:
            logger.warning("%s:%d: skipping a line that does not parse (interrupted write?)", path, line.number)
        elif isinstance(line.value, dict):
            yield line.value


def _lines(out: Path, *, shards: bool = True) -> Iterator[dict[str, Any]]:
    """The objects of ``out`` (checked by :func:`read_existing_output` first) and then of its shards."""
    if out.exists():
        try:
            lines = list(iter_json_lines(out))
        except JsonLinesError as exc:
            raise OutputError(f"{out}: {exc}") from None
        for line in lines:
            if not line.ok:
                raise OutputError(f"{out}:{line.number}: {line.error}; not a predictions file a run can resume")
            if isinstance(line.value, dict):
                yield line.value
    for shard in shards_of(out) if shards else ():
        yield from _shard_lines(shard)


def output_lines(out: Path) -> list[dict[str, Any]]:
    """The JSON objects of ``out`` (no shards); a line that does not parse raises :class:`OutputError`."""
    return list(_lines(out, shards=False))


def existing_keys(out: Path) -> set[LineKey]:
    """The :func:`line_key` of every line in ``out`` and its shards."""
    return {line_key(obj) for obj in _lines(out)}


# ------------------------------------------------------------------------------------------ writing


class LineWriter:
    """Appends predictions lines (JSON objects) to ``path``, each flushed as written. Opening a shard
    (``drop_partial=True``) first drops a partial last line its killed process left."""

    def __init__(self, path: Path, *, drop_partial: bool = False) -> None:
        if drop_partial:
            _drop_partial_line(path)
        self.path = path
        self.written = 0
        self._handle: IO[str] = path.open("a", encoding="utf-8")

    def write(self, obj: Mapping[str, Any]) -> None:
        self._handle.write(json.dumps(obj, ensure_ascii=False) + "\n")
        self._handle.flush()
        self.written += 1

    def close(self) -> None:
        self._handle.close()

    def __enter__(self) -> LineWriter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def _drop_partial_line(path: Path) -> None:
    """Cut a file after its last newline (a line an interrupted process left half written)."""
    if not path.exists():
        return
    with path.open("r+b") as handle:
        size = handle.seek(0, 2)
        start = _after_last_newline(handle)
        if start < size:
            logger.warning("%s: dropping a partial last line (%d bytes) left by an interrupted run", path,
                           size - start)
            handle.truncate(start)


def rewrite_output(out: Path, objects: Iterable[Mapping[str, Any]]) -> None:
    """Replace ``out`` by ``objects`` as JSON lines, at once (a temporary file renamed over it)."""
    _write_atomic(out, (json.dumps(obj, ensure_ascii=False) for obj in objects))


def _write_atomic(path: Path, lines: Iterable[str]) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with tmp.open("w", encoding="utf-8") as handle:
        for line in lines:
            handle.write(line + "\n")
    os.replace(tmp, path)


def merge_shards(out: Path, sort_key: Callable[[LineKey], Any]) -> int:
    """Merge ``out`` and its shards into ``out`` sorted by ``sort_key(line_key)`` (first line of a key wins;
    keys equal under ``sort_key`` keep their order of appearance); delete the shards; return the number of
    lines."""
    seen: dict[LineKey, dict[str, Any]] = {}
    for obj in _lines(out):
        seen.setdefault(line_key(obj), obj)
    ranked = sorted(seen.items(), key=lambda item: sort_key(item[0]))
    _write_atomic(out, (json.dumps(obj, ensure_ascii=False) for _, obj in ranked))
    for shard in shards_of(out):
        shard.unlink()
    return len(seen)
