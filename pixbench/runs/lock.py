"""One writer per output file: an exclusive lock held for as long as a producer writes ``OUT``.

Every producer of predictions (``pixbench run``, ``baseline attend-segment``, ``video-ground``,
``text-track``) takes :func:`exclusive_output` on its ``OUT`` before it reads what is already there and
keeps it until its last line is written. A second process given the same ``OUT`` fails at once with
:class:`OutputLocked`, naming the holder's pid and command line, instead of asking every request again and
writing duplicate lines.

The lock is ``flock(LOCK_EX | LOCK_NB)`` on the file ``OUT.lock`` beside the output: the kernel releases
it when its holder exits, however it exits (``kill -9`` included), so a stale ``OUT.lock`` left by a dead
process never blocks anyone. The holder writes its pid, command line and start time into the file (for
the message of the process that is refused) and removes it when it is done. Removing a lock file others
may have opened is made safe by checking, after locking, that the file locked is still the one at the
path (else locking again).

A data-parallel run takes the lock in its main process only, before the barrier that lets the other
processes write their shards (they never touch ``OUT`` itself). Where ``fcntl`` does not exist (Windows)
no lock is taken and a warning says so.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["OutputLocked", "exclusive_output", "lock_path"]

logger = logging.getLogger(__name__)


class OutputLocked(RuntimeError):
    """Another process is writing the same output file."""


def lock_path(out: Path) -> Path:
    """``OUT.lock`` beside ``out``."""
    return out.with_name(out.name + ".lock")


def _holder(path: Path) -> str:
    """What the lock file says of its holder, for the refusal message."""
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(float(record["started"])))
        return f"pid {int(record['pid'])}, `{record['command']}`, since {started}"
    except (OSError, ValueError, KeyError, TypeError):
        return "a process that has not written its pid yet"


@contextmanager
def exclusive_output(out: Path, *, command: str | None = None) -> Iterator[None]:
    """Hold the exclusive lock on ``out`` for the ``with`` block (module docstring).

    Raises :class:`OutputLocked` at once when another process holds it. ``command`` (default: this
    process's command line) is written for that message.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        logger.warning("%s: cannot lock the output on this platform; do not run two processes on it", out)
        yield
        return
    path = lock_path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise OutputLocked(f"{out} is being written by another process ({_holder(path)}); wait for it to end, "
                               f"or choose another --out (the lock is {path})") from None
        except OSError:
            os.close(fd)
            raise
        try:
            same = os.path.samestat(os.fstat(fd), os.stat(path))
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)  # the holder we waited on removed the file: lock the new one
    try:
        record = {"pid": os.getpid(), "command": command or " ".join(sys.argv), "started": time.time()}
        os.ftruncate(fd, 0)
        os.write(fd, (json.dumps(record) + "\n").encode("utf-8"))
        yield
    finally:
        try:
            path.unlink(missing_ok=True)
        finally:
            os.close(fd)
