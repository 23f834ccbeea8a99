"""Reading JSON-lines files safely: one iterator for every ``.jsonl`` pixbench reads.

:func:`iter_json_lines` reads regular files only (a FIFO, a device or a folder raises
:class:`JsonLinesError` before anything is read), one line at a time and at most ``max_line_bytes``
at a time, so neither ``/dev/zero`` nor a 50 MB line can exhaust memory. It never stops at a bad
line: each line comes back as a :class:`JsonLine` holding its 1-based number and either the decoded
value or the reason it could not be read (too long, not UTF-8, invalid JSON, nested too deeply).
Blank lines are skipped (their numbers still count).

:func:`lacks_final_newline` tells a writer about to append whether the file's last line is still open
(no ``\n`` at the end), so the first appended line does not run into it.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

#: Longest line read, in bytes; a longer one is reported and reading goes on at the next line.
MAX_LINE_BYTES = 16 * 2**20


class JsonLinesError(ValueError):
    """The file as a whole cannot be read (missing, not a regular file, no permission)."""


@dataclass(frozen=True)
class JsonLine:
    """One non-blank line: its number and its value, or why it could not be read (``error``).

    ``text`` is the decoded line (empty when it could not be decoded), for checks on the raw text.
    """

    number: int
    value: Any = None
    error: str | None = None
    text: str = ""

    @property
    def ok(self) -> bool:
        return self.error is None


def check_regular_file(path: str | Path) -> None:
    """Raise :class:`JsonLinesError` unless ``path`` is a regular file that can be opened."""
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        raise JsonLinesError(f"cannot open: {exc.strerror or exc}") from None
    if stat.S_ISDIR(mode):
        raise JsonLinesError("cannot read: it is a folder")
    if not stat.S_ISREG(mode):
        raise JsonLinesError("cannot read: it is not a regular file (a pipe, device or socket)")


def lacks_final_newline(path: str | Path) -> bool:
    """Whether ``path`` is a non-empty regular file whose last byte is not ``\n`` (``False`` when it does
    not exist or is not a regular file); reads one byte."""
    try:
        info = os.stat(path)  # before opening: opening a FIFO would wait for a writer
        if not stat.S_ISREG(info.st_mode) or info.st_size == 0:
            return False
        with Path(path).open("rb") as handle:
            handle.seek(-1, os.SEEK_END)
            return handle.read(1) != b"\n"
    except OSError:
        return False


def _raw_lines(handle: IO[bytes], max_bytes: int) -> Iterator[tuple[int, bytes | None]]:
    """``(number, bytes)`` of each line; ``None`` for a line longer than ``max_bytes`` (the rest of it
    is skipped, reading at most ``max_bytes`` at a time)."""
    number = 0
    while True:
        chunk = handle.readline(max_bytes + 1)
        if not chunk:
            return
        number += 1
        if len(chunk) > max_bytes and not chunk.endswith(b"\n"):
            while chunk and not chunk.endswith(b"\n"):
                chunk = handle.readline(max_bytes + 1)
            yield number, None
            continue
        yield number, chunk


def parse_json_line(number: int, raw: bytes) -> JsonLine:
    """Decode one line's bytes (UTF-8, then JSON) without raising."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return JsonLine(number, error=f"not UTF-8 text (byte {exc.start + 1})")
    try:
        return JsonLine(number, json.loads(text), text=text)
    except json.JSONDecodeError as exc:
        return JsonLine(number, error=f"invalid JSON: {exc.msg} (column {exc.colno})", text=text)
    except (ValueError, RecursionError) as exc:  # an int of over 4300 digits; nesting too deep
        return JsonLine(number, error=f"invalid JSON: {str(exc)[:200]}", text=text)
    except MemoryError:
        return JsonLine(number, error="invalid JSON: too large to parse", text=text)


def iter_json_lines(path: str | Path, *, max_line_bytes: int = MAX_LINE_BYTES) -> Iterator[JsonLine]:
    """Every non-blank line of a JSON-lines file, decoded or with the reason it could not be.

    Raises :class:`JsonLinesError` when the file cannot be read at all (before yielding anything).
    """
    check_regular_file(path)
    try:
        handle = Path(path).open("rb")  # noqa: SIM115 (closed below; opening errors are reported apart)
    except OSError as exc:
        raise JsonLinesError(f"cannot open: {exc.strerror or exc}") from None
    with handle:
        for number, raw in _raw_lines(handle, max_line_bytes):
            if raw is None:
                yield JsonLine(number, error=f"line longer than {max_line_bytes:,} bytes (skipped)")
            elif raw.strip():
                yield parse_json_line(number, raw)
