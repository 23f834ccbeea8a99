"""Durable on-disk cache of a chat client's replies (SQLite).

Asking twice must cost no request and give the same replies, and an interrupted run must lose no reply it
already paid for. So every successful reply is written the moment it arrives. The LLM judge
(:class:`pixbench.judge.JudgeCache`), the served model of ``pixbench run`` and the box model of
``video-ground`` all keep their replies in a :class:`ReplyCache`.

Cache key
    ``sha256`` (hex) of the canonical JSON of
    ``{"model": MODEL, "messages": MESSAGES, "temperature": float(TEMPERATURE), "protocol": PROTOCOL}``
    with sorted object keys, ``separators=(",", ":")`` and ``ensure_ascii=False``, encoded as UTF-8
    (:func:`cache_key`). ``MODEL`` is the model *requested* (``gpt-4o``), not the one the server reports;
    ``PROTOCOL`` is the version of the prompts the client asks (the judge's is
    :data:`pixbench.judge.JUDGE_PROTOCOL_VERSION`, so changing a judge prompt invalidates old verdicts; a client
    that names none uses :data:`DEFAULT_PROTOCOL`). Images inside messages are data URLs and are hashed like
    any text.

Value
    One row per key in table ``verdicts``: ``reply`` (the text as returned, never empty), ``served_model``
    (the model name the server returned, may be null), ``model``, ``protocol``, ``created`` (Unix time) and
    ``verdict`` (the reply as the client's verdict parser read it, e.g. the judge's ``yes``/``no``/
    ``undetermined``; null for clients without a parser, for rows written before schema 2 and for prompts
    the parser does not know). Transport errors and empty replies are never stored. Schema 1 files (no
    ``verdict`` column) are migrated in place when opened. Text is stored as valid UTF-8: a lone surrogate (a
    server may send ``"\\ud800"`` in its JSON, which Python decodes into a ``str`` that cannot be encoded) is
    replaced by U+FFFD in ``reply`` and ``served_model`` (:func:`replace_lone_surrogates`). Replies are stored
    whole, however long.

File checks
    The path must be a file (or not exist yet, its folder then being created): a folder, a file that is not
    an SQLite database, or an SQLite database that is not a pixbench reply cache raise
    :class:`ReplyCacheError` naming the path (and the command-line option that gave it, when the cache was
    told, e.g. ``--judge-cache``), and the file is left untouched (it is never rewritten or deleted). An
    empty file is taken as a new cache.

Concurrency
    One connection per :class:`ReplyCache`, shared by threads under a lock; the database runs in WAL mode
    with a busy timeout, so several threads, instances and processes may read and write the same file.
    ``synchronous=NORMAL``: a committed reply survives the process being killed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import sqlite3
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

__all__ = [
    "DEFAULT_PROTOCOL",
    "CachedReply",
    "ReplyCache",
    "ReplyCacheError",
    "cache_key",
    "replace_lone_surrogates",
]

logger = logging.getLogger(__name__)

#: The protocol of a client that names none (the served model of ``pixbench run``, the box model of
#: ``video-ground``). It is the judge protocol's first version, under which every reply was keyed before each
#: client named its own, so caches written by earlier pixbench versions still hit; it never changes.
DEFAULT_PROTOCOL = "pixfoundation-judge-v1"

_SCHEMA_VERSION = 2
_SCHEMA = """
CREATE TABLE IF NOT EXISTS verdicts (
    key TEXT PRIMARY KEY,
    model TEXT NOT NULL,
    protocol TEXT NOT NULL,
    reply TEXT NOT NULL CHECK (length(trim(reply)) > 0),
    served_model TEXT,
    created REAL NOT NULL,
    verdict TEXT
) WITHOUT ROWID
"""
_REQUIRED_COLUMNS = frozenset({"key", "model", "protocol", "reply", "served_model", "created"})
_SQLITE_MAGIC = b"SQLite format 3\x00"
_SURROGATE = re.compile("[\ud800-\udfff]")


def replace_lone_surrogates(text: str) -> str:
    """``text`` with every lone surrogate (U+D800..U+DFFF) replaced by U+FFFD, so that it encodes as UTF-8.

    JSON decoding joins escaped surrogate pairs into one character, so any surrogate left in a decoded
    ``str`` is a lone one.

    Examples:
        >>> replace_lone_surrogates("Yes \\ud800!") == "Yes \\ufffd!"
        True
        >>> replace_lone_surrogates("caf\\u00e9") == "caf\\u00e9"
        True
    """
    return _SURROGATE.sub("\ufffd", text) if _SURROGATE.search(text) else text


def _write_ahead_log(conn: sqlite3.Connection, busy_timeout: float) -> None:
    """Switch ``conn``'s database to WAL. SQLite answers "database is locked" at once, without waiting for
    the busy timeout, when another process is switching the same new file at that moment: try again, a few
    milliseconds apart, for up to ``busy_timeout`` seconds."""
    deadline = time.monotonic() + busy_timeout
    while True:
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
            time.sleep(0.005)


class ReplyCacheError(RuntimeError, ValueError):
    """The cache file cannot be opened or is not a pixbench reply cache (the message names the path).

    It is a :class:`ValueError` too, so command lines report it like any other bad argument.
    """


@dataclass(frozen=True)
class CachedReply:
    """A stored reply: its text, the model the server said it used, when it was stored, and its verdict."""

    reply: str
    served_model: str | None
    created: float
    verdict: str | None = None


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
        raise TypeError(f"Expected chat messages to be JSON-serialisable, but got: {exc}") from exc
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class _Naming:
    """How messages name a cache: ``label`` ("reply cache"), the ``option`` that gave its file (or None) and an
    ``example`` file name."""

    label: str
    option: str | None
    example: str

    def give(self, what: str) -> str:
        """``give --cache a file path`` (or ``give a file path`` when no option is known)."""
        return f"give {self.option} {what}" if self.option else f"give {what}"


class ReplyCache:
    """SQLite store of a chat client's replies keyed by :func:`cache_key`; thread- and process-safe.

    Parent folders of ``path`` are created; bad paths raise :class:`ReplyCacheError` (see "File checks" in
    the module docstring). ``label`` names the cache in messages, ``option`` the command-line option that
    gave its path (for the hint of what to do, e.g. ``"--cache"``; None: none) and ``example`` a file name
    to suggest. Use as a context manager or call :meth:`close`.
    """

    def __init__(self, path: str | os.PathLike[str], *, busy_timeout: float = 30.0, label: str = "reply cache",
                 option: str | None = None, example: str = "replies.sqlite") -> None:
        self.path = Path(path).expanduser()
        self._naming = naming = _Naming(label, option, example)
        self._lock = threading.Lock()
        _check_path(self.path, naming)
        try:
            conn = sqlite3.connect(
                self.path, timeout=busy_timeout, isolation_level=None, check_same_thread=False
            )
        except (OSError, sqlite3.Error) as exc:
            raise ReplyCacheError(f"{self.path}: cannot open the {label}: {exc}") from exc
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
            _check_contents(self.path, conn, naming)  # read-only: a foreign database is left as it is
            _write_ahead_log(conn, busy_timeout)
            conn.execute("PRAGMA synchronous = NORMAL")
            _create_or_migrate(self.path, conn, naming)
        except sqlite3.Error as exc:
            conn.close()
            raise ReplyCacheError(f"{self.path}: not a usable {label}: {_sqlite_detail(exc, naming)}") from exc
        except ReplyCacheError:
            conn.close()
            raise
        self._conn: sqlite3.Connection | None = conn

    @property
    def label(self) -> str:
        """How messages name this cache ("reply cache", "judge cache")."""
        return self._naming.label

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise ReplyCacheError(f"{self.path}: the {self.label} is closed")
        return self._conn

    def get(self, key: str) -> CachedReply | None:
        """Return the stored reply for ``key``, or None."""
        with self._lock:
            row = (
                self._connection()
                .execute("SELECT reply, served_model, created, verdict FROM verdicts WHERE key = ?", (key,))
                .fetchone()
            )
        if row is None:
            return None
        return CachedReply(reply=row[0], served_model=row[1], created=float(row[2]), verdict=row[3])

    def put(
        self,
        key: str,
        *,
        model: str,
        protocol: str,
        reply: str,
        served_model: str | None,
        verdict: str | None = None,
    ) -> None:
        """Store (or replace) one reply and commit it at once (atomically). Empty replies are refused.

        Lone surrogates in ``reply`` and ``served_model`` are stored as U+FFFD (module docstring).
        """
        if not reply or not reply.strip():
            raise ValueError(f"Expected a non-empty reply to cache, but got {reply!r}")
        reply = replace_lone_surrogates(reply)
        if served_model is not None:
            served_model = replace_lone_surrogates(served_model)
        with self._lock:
            self._connection().execute(
                "INSERT OR REPLACE INTO verdicts (key, model, protocol, reply, served_model, created, verdict) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (key, model, protocol, reply, served_model, time.time(), verdict),
            )

    def count(self, *, verdict: str | None = None) -> int:
        """Number of stored replies, or of those whose parsed ``verdict`` is the one given."""
        if verdict is None:
            return len(self)
        with self._lock:
            row = self._connection().execute("SELECT count(*) FROM verdicts WHERE verdict = ?", (verdict,))
            return int(row.fetchone()[0])

    def __len__(self) -> int:
        with self._lock:
            return int(self._connection().execute("SELECT count(*) FROM verdicts").fetchone()[0])

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.get(key) is not None

    def close(self) -> None:
        """Close the connection; later calls raise :class:`ReplyCacheError`."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def __enter__(self) -> ReplyCache:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.path)!r})"


def _sqlite_detail(exc: sqlite3.Error, naming: _Naming) -> str:
    text = str(exc)
    if "file is not a database" in text or "not a database" in text:
        return f"{text} (the file was left untouched; {naming.give('a new file name')})"
    return text


def _check_path(path: Path, naming: _Naming) -> None:
    """Refuse, before SQLite touches anything, a path that cannot be a cache file."""
    label = naming.label
    hint = naming.give(f"a file path such as {naming.example}")
    if path.is_dir():
        raise ReplyCacheError(f"{path}: is a folder, not a {label} file; {hint} (e.g. {path / naming.example})")
    parent = path.parent
    for folder in (parent, *parent.parents):
        if folder.exists():
            if not folder.is_dir():
                raise ReplyCacheError(f"{path}: cannot create the {label}: {folder} is a file, not a folder")
            break
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ReplyCacheError(f"{path}: cannot create the folder of the {label}: {exc}") from exc
    if not path.exists():
        if not os.access(parent, os.W_OK | os.X_OK):
            raise ReplyCacheError(f"{path}: cannot create the {label}: the folder {parent} is not writable")
        return
    if not path.is_file():
        raise ReplyCacheError(f"{path}: is not a regular file; {hint}")
    try:
        with path.open("rb") as handle:
            head = handle.read(len(_SQLITE_MAGIC))
    except OSError as exc:
        raise ReplyCacheError(f"{path}: cannot read the {label}: {exc}") from exc
    if head and head != _SQLITE_MAGIC:
        raise ReplyCacheError(
            f"{path}: is not an SQLite database, so not a {label} (the file was left untouched); {hint} "
            f"that does not exist yet, or an existing pixbench {label}"
        )
    if not os.access(path, os.W_OK) or not os.access(parent, os.W_OK | os.X_OK):
        raise ReplyCacheError(
            f"{path}: the {label} is read-only (SQLite needs to write the file and its folder {parent})"
        )


def _check_contents(path: Path, conn: sqlite3.Connection, naming: _Naming) -> None:
    """Refuse an SQLite database that is not a reply cache, or one written by a newer pixbench."""
    label = naming.label
    tables = [row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    if tables and "verdicts" not in tables:
        shown = ", ".join(sorted(tables)[:5]) + (" ..." if len(tables) > 5 else "")
        raise ReplyCacheError(
            f"{path}: is an SQLite database but not a pixbench {label} (tables: {shown}); it was left "
            f"untouched; {naming.give('another file')}"
        )
    if "verdicts" in tables:
        columns = {row[1] for row in conn.execute("PRAGMA table_info(verdicts)")}
        missing = sorted(_REQUIRED_COLUMNS - columns)
        if missing:
            raise ReplyCacheError(
                f"{path}: has a `verdicts` table without the columns {missing}, so it is not a pixbench {label}; "
                "it was left untouched"
            )
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if version > _SCHEMA_VERSION:
        raise ReplyCacheError(
            f"{path}: expected {label} schema <= {_SCHEMA_VERSION}, but got {version}; "
            "it was written by a newer pixbench"
        )


def _create_or_migrate(path: Path, conn: sqlite3.Connection, naming: _Naming) -> None:
    """Create the table of a new cache, or add the ``verdict`` column to a schema-1 cache (atomically)."""
    if int(conn.execute("PRAGMA user_version").fetchone()[0]) == _SCHEMA_VERSION:
        return
    conn.execute("BEGIN IMMEDIATE")  # another process may be migrating the same file
    try:
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        if version < _SCHEMA_VERSION:
            conn.execute(_SCHEMA)
            columns = {row[1] for row in conn.execute("PRAGMA table_info(verdicts)")}
            if "verdict" not in columns:
                conn.execute("ALTER TABLE verdicts ADD COLUMN verdict TEXT")
                logger.info("%s %s: migrated to schema %d (verdict column)", naming.label, path, _SCHEMA_VERSION)
            conn.execute(f"PRAGMA user_version = {_SCHEMA_VERSION}")
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
