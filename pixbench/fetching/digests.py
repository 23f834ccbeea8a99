"""What a downloaded file must be, and whether it is: its size and a digest the repository publishes.

A hub file stored with Git LFS (or Xet, which keeps the LFS pointer) is named by the sha256 of its bytes; a small
file stored in git by its git blob id, ``sha1(b"blob <size>\\0" + bytes)``; a pinned file by the sha256 written in
its declaration. :func:`matches` checks the size first (free) and then the digest (one read of the file).

Examples:
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "hello.txt"
    >>> _ = path.write_bytes(b"hello\\n")
    >>> file_digest(path, "git-sha1")  # `git hash-object hello.txt`
    'ce013625030ba8dba906f756967f9e9ca394464a'
    >>> matches(path, Expected(6, "sha256", "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"))
    True
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

__all__ = ["Algorithm", "Expected", "file_digest", "matches"]

Algorithm = Literal["sha256", "git-sha1"]
_BLOCK = 1 << 20


@dataclass(frozen=True)
class Expected:
    """A file's ``size`` in bytes and its digest: ``algorithm`` (``sha256`` or ``git-sha1``) and hex ``value``."""

    size: int
    algorithm: Algorithm
    value: str

    def describe(self) -> str:
        """``1,234 bytes, sha256 5891b5b522d5``: for messages."""
        return f"{self.size:,} bytes, {self.algorithm} {self.value[:12]}"


def file_digest(path: Path, algorithm: Algorithm) -> str:
    """The hex digest of ``path``'s bytes (``git-sha1``: the git blob id), read 1 MiB at a time."""
    if algorithm == "sha256":
        digest = hashlib.sha256()
    else:
        digest = hashlib.sha1(usedforsecurity=False)
        digest.update(b"blob %d\0" % path.stat().st_size)
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(_BLOCK), b""):
            digest.update(block)
    return digest.hexdigest()


def matches(path: Path, expected: Expected) -> bool:
    """Whether ``path`` is a regular file of ``expected``'s size and digest."""
    try:
        if not path.is_file() or path.stat().st_size != expected.size:
            return False
    except OSError:
        return False
    return file_digest(path, expected.algorithm) == expected.value.lower()
