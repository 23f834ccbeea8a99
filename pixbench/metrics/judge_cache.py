"""Durable on-disk cache of LLM-judge verdicts (SQLite).

Scoring twice must cost no judge calls and give the same numbers, and an interrupted run must lose no
verdict it already paid for. So every successful reply is written the moment it arrives.

Cache key
    ``sha256`` (hex) of the canonical JSON of
    ``{"model": MODEL, "messages": MESSAGES, "temperature": float(TEMPERATURE), "protocol": PROTOCOL}``
    with sorted object keys, ``separators=(",", ":")`` and ``ensure_ascii=False``, encoded as UTF-8.
    ``MODEL`` is the model *requested* (``gpt-4o``), not the one the server reports; ``PROTOCOL`` is the
    judge protocol version (:data:`pixbench.metrics.judge.JUDGE_PROTOCOL_VERSION`), so changing a prompt
    template invalidates old verdicts. Images inside messages are data URLs and are hashed like any text.

Value
    One row per key in table ``verdicts``: ``reply`` (the text as returned, never empty), ``served_model``
    (the model name the server returned, may be null), ``model``, ``protocol`` and ``created`` (Unix time).
    Transport errors and empty replies are never stored.

Location
    :func:`default_cache_path`: ``$PIXBENCH_CACHE_DIR/judge.sqlite``, else
    ``$XDG_CACHE_HOME/pixbench/judge.sqlite``, else ``~/.cache/pixbench/judge.sqlite``.

Concurrency
    One connection per :class:`JudgeCache`, shared by threads under a lock; the database runs in WAL mode
    with a busy timeout, so several threads, instances and processes may read and write the same file.
    ``synchronous=NORMAL``: a committed verdict survives the process being killed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

__all__ = ["CachedReply", "JudgeCache", "JudgeCacheError", "cache_key", "default_cache_path"]

logger = logging.getLogger(__name__)

_SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS verdicts (
    key TEXT PRIMARY KEY,
    model TEXT NOT NULL,
    protocol TEXT NOT NULL,
    reply TEXT NOT NULL CHECK (length(trim(reply)) > 0),
    served_model TEXT,
    created REAL NOT NULL
) WITHOUT ROWID
"""


class JudgeCacheError(RuntimeError):
    """The cache file cannot be opened or is not a pixbench judge cache."""


@dataclass(frozen=True)
class CachedReply:
    """A stored verdict: the reply text, the model the server said it used, and when it was stored."""

    reply: str
    served_model: str | None
    created: float


def cache_key(
    *, model: str, messages: Sequence[Mapping[str, Any]], temperature: float, protocol: str
) -> str:
    """Return the hex sha256 of the canonical JSON of (model, messages, temperature, protocol)."""
    payload = {
        "model": model,
        "messages": [dict(message) for message in messages],
        "temperature": float(temperature),
        "protocol": protocol,
    }
    try:
        canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"Expected judge messages to be JSON-serialisable, but got: {exc}") from exc
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def default_cache_path() -> Path:
    """Return the documented default cache file (see the module docstring); nothing is created."""
    explicit = os.environ.get("PIXBENCH_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser() / "judge.sqlite"
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg:
        return Path(xdg).expanduser() / "pixbench" / "judge.sqlite"
    return Path.home() / ".cache" / "pixbench" / "judge.sqlite"


class JudgeCache:
    """SQLite store of judge verdicts keyed by :func:`cache_key`; thread- and process-safe.

    ``path=None`` uses :func:`default_cache_path`. Parent folders are created. Use as a context manager
    or call :meth:`close`.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None, *, busy_timeout: float = 30.0) -> None:
        self.path = Path(path).expanduser() if path is not None else default_cache_path()
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(
                self.path, timeout=busy_timeout, isolation_level=None, check_same_thread=False
            )
        except (OSError, sqlite3.Error) as exc:
            raise JudgeCacheError(f"{self.path}: cannot open the judge cache: {exc}") from exc
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])
            if version > _SCHEMA_VERSION:
                raise JudgeCacheError(
                    f"{self.path}: expected judge cache schema <= {_SCHEMA_VERSION}, but got {version}; "
                    "it was written by a newer pixbench"
                )
            conn.execute(_SCHEMA)
            if version < _SCHEMA_VERSION:
                conn.execute(f"PRAGMA user_version = {_SCHEMA_VERSION}")
        except sqlite3.Error as exc:
            conn.close()
            raise JudgeCacheError(f"{self.path}: not a usable judge cache: {exc}") from exc
        except JudgeCacheError:
            conn.close()
            raise
        self._conn: sqlite3.Connection | None = conn

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise JudgeCacheError(f"{self.path}: the judge cache is closed")
        return self._conn

    def get(self, key: str) -> CachedReply | None:
        """Return the stored verdict for ``key``, or None."""
        with self._lock:
            row = (
                self._connection()
                .execute("SELECT reply, served_model, created FROM verdicts WHERE key = ?", (key,))
                .fetchone()
            )
        if row is None:
            return None
        return CachedReply(reply=row[0], served_model=row[1], created=float(row[2]))

    def put(self, key: str, *, model: str, protocol: str, reply: str, served_model: str | None) -> None:
        """Store (or replace) one verdict and commit it at once. Empty replies are refused."""
        if not reply or not reply.strip():
            raise ValueError(f"Expected a non-empty judge reply to cache, but got {reply!r}")
        with self._lock:
            self._connection().execute(
                "INSERT OR REPLACE INTO verdicts (key, model, protocol, reply, served_model, created) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (key, model, protocol, reply, served_model, time.time()),
            )

    def __len__(self) -> int:
        with self._lock:
            return int(self._connection().execute("SELECT count(*) FROM verdicts").fetchone()[0])

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.get(key) is not None

    def close(self) -> None:
        """Close the connection; later calls raise :class:`JudgeCacheError`."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def __enter__(self) -> JudgeCache:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"JudgeCache({str(self.path)!r})"
