"""The judge's verdict cache: a :class:`~pixbench.chat.cache.ReplyCache` named for the judge, and where it lives.

Scoring twice must cost no judge calls and give the same numbers, and an interrupted run must lose no
verdict it already paid for: every verdict is written the moment it arrives. The key, schema, file checks
and concurrency are the reply cache's (:mod:`pixbench.chat.cache`); the judge's key carries
:data:`pixbench.judge.protocol.JUDGE_PROTOCOL_VERSION` as its protocol, so changing a prompt template
invalidates old verdicts, and its ``verdict`` column holds the reply as
:func:`pixbench.judge.protocol.verdict_of` reads it. :class:`JudgeCache` only names the cache for the judge
in its messages (``judge cache``, ``--judge-cache``) and gives it a default file.

Location
    :func:`default_cache_path`: ``$PIXBENCH_CACHE_DIR/judge.sqlite``, else
    ``$XDG_CACHE_HOME/pixbench/judge.sqlite``, else ``~/.cache/pixbench/judge.sqlite``.

:data:`JudgeCacheError`, :class:`CachedReply`, :func:`cache_key` and :func:`replace_lone_surrogates` are the
reply cache's, under the names this module has always given them.
"""

from __future__ import annotations

import os
from pathlib import Path

from pixbench.chat.cache import CachedReply, ReplyCache, ReplyCacheError, cache_key, replace_lone_surrogates

__all__ = [
    "CachedReply",
    "JudgeCache",
    "JudgeCacheError",
    "cache_key",
    "default_cache_path",
    "replace_lone_surrogates",
]

#: The error of a judge cache file that cannot be used (the reply cache's).
JudgeCacheError = ReplyCacheError


def default_cache_path() -> Path:
    """Return the documented default cache file (see the module docstring); nothing is created."""
    explicit = os.environ.get("PIXBENCH_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser() / "judge.sqlite"
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg:
        return Path(xdg).expanduser() / "pixbench" / "judge.sqlite"
    return Path.home() / ".cache" / "pixbench" / "judge.sqlite"


class JudgeCache(ReplyCache):
    """The judge's :class:`~pixbench.chat.cache.ReplyCache`: ``path=None`` uses :func:`default_cache_path`, and
    its messages say ``judge cache`` and ``--judge-cache``. Use as a context manager or call :meth:`close`."""

    def __init__(self, path: str | os.PathLike[str] | None = None, *, busy_timeout: float = 30.0) -> None:
        super().__init__(path if path is not None else default_cache_path(), busy_timeout=busy_timeout,
                         label="judge cache", option="--judge-cache", example="judge.sqlite")
