"""One file over HTTP into a partial file that a later run continues, and the retries around any request.

Requests go through ``huggingface_hub``'s shared HTTP session (its proxies, user agent and offline switch) and
its error mapping (``hf_raise_for_status``: a missing repo, revision or file, a gated repo). What the library's
own download (``hf_hub_download``) does not do is done here:

- **Resume across processes.** :func:`download_part` appends to ``<target>.part`` from its current size with an
  HTTP ``Range`` request, so a download killed in another process continues where it stopped (the library
  downloads into a file named for its process and starts again from zero). A server that ignores the range (200
  instead of 206, or another ``Content-Range``) gets the file rewritten from the start.
- **Retry every transient failure with backoff.** :func:`with_retries` retries a call that failed with HTTP 408,
  429, 500, 502, 503 or 504, a network error, a short read or a wrong checksum, ``Retry.tries`` times in all,
  waiting ``first_wait`` seconds and then twice as long each time up to ``max_wait`` (or what a ``Retry-After``
  header asks, within the same bound); the library's file download retries 408 and 429 only.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

__all__ = ["RETRY_STATUSES", "ChecksumMismatch", "IncompleteTransfer", "Retry", "download_part", "retryable",
           "with_retries"]

logger = logging.getLogger(__name__)

T = TypeVar("T")
#: HTTP statuses that say "try again later".
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
#: Seconds to wait for the server to connect or send the next bytes.
TIMEOUT = 60.0


@dataclass(frozen=True)
class Retry:
    """How often a failing request is tried (``tries`` in all) and how long to wait between tries."""

    tries: int = 5
    first_wait: float = 1.0
    max_wait: float = 16.0

    def wait(self, failures: int) -> float:
        """Seconds to wait after the ``failures``-th failure (1, 2, 4 ... capped at ``max_wait``)."""
        return min(self.max_wait, self.first_wait * 2 ** (failures - 1))


class IncompleteTransfer(OSError):
    """The server closed the response before the file's last byte (retried: the next try resumes)."""


class ChecksumMismatch(ValueError):
    """A downloaded file's bytes are not the repository's (retried from zero)."""


def _transport_errors() -> tuple[type[BaseException], ...]:
    """The HTTP client's network errors (``httpx2`` under huggingface_hub 2, ``httpx`` under 1)."""
    errors: list[type[BaseException]] = []
    for name in ("httpx2", "httpx"):
        try:
            module = __import__(name)
        except ImportError:
            continue
        errors.append(module.TransportError)
    return tuple(errors)


def _status(exc: BaseException) -> int | None:
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None)
    return status if isinstance(status, int) else None


def retryable(exc: BaseException) -> bool:
    """Whether ``exc`` is worth another try (a transient HTTP status, a network error, a short read, a checksum)."""
    from huggingface_hub.errors import HfHubHTTPError, OfflineModeIsEnabled

    if isinstance(exc, OfflineModeIsEnabled):
        return False
    if isinstance(exc, HfHubHTTPError):
        return _status(exc) in RETRY_STATUSES
    return isinstance(exc, (IncompleteTransfer, ChecksumMismatch, *_transport_errors()))


def _retry_after(exc: BaseException) -> float | None:
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    value = headers.get("Retry-After") if headers is not None else None
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def with_retries(call: Callable[[], T], *, retry: Retry, what: str,
                 on_retry: Callable[[BaseException], None] | None = None) -> T:
    """``call()``, tried again after a :func:`retryable` failure (``retry.tries`` tries in all, with backoff); the
    last failure, or the first that is not retryable, is raised. ``on_retry(exc)`` is told of each retry."""
    failures = 0
    while True:
        try:
            return call()
        except Exception as exc:
            failures += 1
            if failures >= retry.tries or not retryable(exc):
                raise
            asked = _retry_after(exc)
            wait = min(retry.max_wait, asked) if asked is not None else retry.wait(failures)
            logger.warning("%s: %s: %s; try %d of %d in %.1f s", what, type(exc).__name__,
                           str(exc).splitlines()[0] if str(exc) else "", failures + 1, retry.tries, wait)
            if on_retry is not None:
                on_retry(exc)
            time.sleep(wait)


def _resumed_at(response: Any, have: int) -> int:
    """Where the response's bytes start in the file: ``have`` for a 206 answering our range, else 0."""
    if have and response.status_code == 206:
        content_range = response.headers.get("Content-Range", "")
        if content_range.startswith(f"bytes {have}-"):
            return have
    return 0


def download_part(url: str, part: Path, size: int, *, headers: Mapping[str, str],
                  progress: Callable[[int], None] | None = None) -> tuple[int, bool]:
    """Bring ``part`` to the ``size`` bytes at ``url``, continuing from its current length; return the bytes
    received and whether an earlier partial file was continued. :class:`IncompleteTransfer` when the response ends early
    (the bytes received are kept for the next try); the library's ``HfHubHTTPError`` for an HTTP error."""
    from huggingface_hub import get_session
    from huggingface_hub.utils import hf_raise_for_status

    have = part.stat().st_size if part.is_file() else 0
    if have > size:
        part.unlink()
        have = 0
    if have == size:
        return 0, False
    request_headers = dict(headers)
    if have:
        request_headers["Range"] = f"bytes={have}-"
    received = 0
    part.parent.mkdir(parents=True, exist_ok=True)
    with get_session().stream("GET", url, headers=request_headers, timeout=TIMEOUT, follow_redirects=True) as response:
        hf_raise_for_status(response)
        start = _resumed_at(response, have)
        with part.open("r+b" if part.exists() else "wb") as out:
            out.seek(start)
            out.truncate()
            for chunk in response.iter_bytes():  # as they arrive: a chunk buffer would lose them on a drop
                out.write(chunk)
                received += len(chunk)
                if progress is not None:
                    progress(len(chunk))
    total = start + received
    if total < size:
        raise IncompleteTransfer(f"{url}: the response ended after {total:,} of {size:,} bytes")
    if total > size:
        part.unlink()
        raise IncompleteTransfer(f"{url}: {total:,} bytes received, {size:,} expected (partial file removed)")
    return received, start > 0
