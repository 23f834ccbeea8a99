"""What a producer of predictions finds in its ``OUT`` before it writes, and the only repairs it makes.

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
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pixbench.jsonl import JsonLinesError, check_regular_file, iter_json_lines

__all__ = ["ExistingOutput", "OutputError", "read_existing_output", "repair_output"]

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


def _unterminated_tail(out: Path) -> tuple[int, bytes] | None:
    """``(offset, first bytes)`` of the text after the last newline of ``out``, when there is any but blanks."""
    with out.open("rb") as handle:
        start = handle.seek(0, 2)
        while start > 0:  # back from the end, a block at a time, to the last newline
            block = max(0, start - _TAIL_BYTES)
            handle.seek(block)
            cut = handle.read(start - block).rfind(b"\n")
            if cut >= 0:
                start = block + cut + 1
                break
            start = block
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
