"""Judges that ask the protocol's prompts: an OpenAI-compatible client and an offline fake.

A judge is an object passed in (:class:`Judge` protocol), never built at import (importing this module
opens no connection and imports no HTTP library: ``openai`` is imported when an
:class:`OpenAICompatibleJudge` is built). :class:`OpenAICompatibleJudge` talks to any OpenAI-compatible
server with bounded concurrency and its own explicit retry loop; :class:`FakeJudge` answers offline from
a function. Both read and write a :class:`~pixbench.judge.cache.JudgeCache` (key and location are
documented there). A failed request never raises out of :meth:`Judge.ask_many`: it comes back as a
:class:`JudgeResult` whose ``error`` names the endpoint (never the API key), and the caller decides what
to do. The prompts and parsers are in :mod:`pixbench.judge.protocol`.

Robustness (see :class:`OpenAICompatibleJudge`): the endpoint is given up as unreachable, and every
request not yet answered fails at once (:attr:`~OpenAICompatibleJudge.unreachable` says why), after a few
consecutive requests that got no answer (refused, DNS failure, connect timeout, or a request timeout with
nothing heard from the server meanwhile), or when the server accepts connections but does not answer: no
HTTP answer for ``probe_after`` seconds while requests wait, and none to a ``GET {base_url}/models`` probe
either (a slow server that answers the probe, with any status, is alive and waited for). Ctrl-C stops a
batch at once without waiting for requests in flight (each verdict is committed to the cache as it
arrives). Secrets (the API key, and the user info and ``?api_key=``-like parameters of a base URL) are
redacted from errors and from the logs of the HTTP libraries (:func:`redact_url`), and replaced by ``***``
in reply texts, as returned and as cached (a server may echo them; secrets shorter than 6 characters are
left alone, as replacing them would mangle replies). Reply texts and served model names never carry lone
surrogates (a server may send ``"\\ud800"`` in its JSON): they are replaced by U+FFFD, so every text a
judge returns encodes as UTF-8. ``refresh="undetermined"`` re-asks only cached replies that the prompt's
parser could not read (:func:`~pixbench.judge.protocol.verdict_of`).
"""

from __future__ import annotations

import base64
import dataclasses
import email.utils
import logging
import math
import os
import queue
import random
import re
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Protocol, runtime_checkable
from urllib.parse import parse_qsl, unquote, urlsplit, urlunsplit

from pixbench.judge.cache import CachedReply, JudgeCache, cache_key, replace_lone_surrogates
from pixbench.judge.protocol import (
    DEFAULT_JUDGE_TEMPERATURE,
    JUDGE_PROTOCOL_VERSION,
    Message,
    RefreshMode,
    verdict_of,
)

__all__ = [
    "DEFAULT_OPENAI_ENDPOINT",
    "FakeJudge",
    "Judge",
    "JudgeResult",
    "OpenAICompatibleJudge",
    "redact_text",
    "redact_url",
]

logger = logging.getLogger(__name__)

DEFAULT_OPENAI_ENDPOINT = "https://api.openai.com/v1"


# ------------------------------------------------------------------------------------------- redaction

_SECRET_PARAM = re.compile(r"key|token|secret|passw|pwd|auth|sig|credential|session", re.IGNORECASE)
_URL_IN_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://[^\s\"'<>]+")
_USERINFO = re.compile(r"//[^/@\s]*@")
_SECRET_PAIR = re.compile(r"([?&#;][^=&#\s]*=)([^&#\s]*)")
_MIN_SECRET = 6  # shorter strings are not scrubbed from free text (they would mangle it)
_REDACTED = "***"


def _redact_pairs(text: str, separator: str) -> str:
    pairs = []
    for pair in text.split(separator):
        name, sep, _value = pair.partition("=")
        pairs.append(f"{name}=***" if sep and _SECRET_PARAM.search(unquote(name)) else pair)
    return separator.join(pairs)


def redact_url(url: str) -> str:
    """``url`` with its user info and the values of key-like query parameters replaced by ``***``.

    ``http://user:KEY@host:8000/v1?api_key=K2&api-version=1`` becomes
    ``http://***@host:8000/v1?api_key=***&api-version=1``. Parameters whose name contains key, token,
    secret, passw, pwd, auth, sig, credential or session are redacted; the rest of the URL is kept.
    """
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. a broken IPv6 literal: redact by pattern
        return _SECRET_PAIR.sub(
            lambda m: m.group(1) + ("***" if _SECRET_PARAM.search(m.group(1)) else m.group(2)),
            _USERINFO.sub("//***@", url),
        )
    netloc = parts.netloc
    if "@" in netloc:
        netloc = "***@" + netloc.rpartition("@")[2]
    query = _redact_pairs(parts.query, "&") if parts.query else ""
    fragment = _redact_pairs(parts.fragment, "&") if "=" in parts.fragment else parts.fragment
    redacted = urlunsplit((parts.scheme, netloc, parts.path, query, fragment))
    if url.endswith("?") and not query:
        redacted += "?"
    return redacted


def redact_text(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with every URL passed through :func:`redact_url` and each of ``secrets`` replaced."""
    text = _URL_IN_TEXT.sub(lambda m: redact_url(m.group(0)), text)
    for secret in secrets:
        if secret and len(secret) >= _MIN_SECRET:
            text = text.replace(secret, "***")
    return text


def _url_secrets(url: str) -> tuple[str, ...]:
    """User info and key-like parameter values of ``url`` (raw and decoded), to scrub from free text."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return ()
    found: set[str] = set()
    if "@" in parts.netloc:
        userinfo = parts.netloc.rpartition("@")[0]
        user, _, password = userinfo.partition(":")
        basic = base64.b64encode(f"{unquote(user)}:{unquote(password)}".encode()).decode()  # Basic auth header
        found.update({userinfo, user, password, unquote(user), unquote(password), basic})
    for section in (parts.query, parts.fragment):
        for pair in section.split("&"):
            name, sep, value = pair.partition("=")
            if sep and _SECRET_PARAM.search(unquote(name)):
                found.update({value, unquote(value.replace("+", " "))})
    return tuple(sorted((s for s in found if len(s) >= _MIN_SECRET), key=len, reverse=True))


class _RedactingFilter(logging.Filter):
    """Rewrites log records of the HTTP libraries so that URLs and known secrets are redacted."""

    def __init__(self) -> None:
        super().__init__("pixbench-redact")
        self._lock = threading.Lock()
        self._secrets: tuple[str, ...] = ()

    def add(self, secrets: Iterable[str]) -> None:
        with self._lock:
            merged = {*self._secrets, *(s for s in secrets if s and len(s) >= _MIN_SECRET)}
            self._secrets = tuple(sorted(merged, key=len, reverse=True))

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is the logging module's business
            return True
        cleaned = redact_text(message, self._secrets)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


_LOG_FILTER = _RedactingFilter()
_HTTP_LOGGERS = ("httpx", "httpx2", "httpcore", "httpcore2", "openai", __name__)


def _install_log_redaction(secrets: Iterable[str]) -> None:
    """Attach the redacting filter to the loggers of openai, httpx and httpcore (and their children)."""
    _LOG_FILTER.add(secrets)
    prefixes = tuple(f"{name}." for name in _HTTP_LOGGERS)
    names = {name for name in list(logging.root.manager.loggerDict) if name.startswith(prefixes)}
    for name in sorted({*_HTTP_LOGGERS, *names}):
        target = logging.getLogger(name)
        if _LOG_FILTER not in target.filters:
            target.addFilter(_LOG_FILTER)


# ---------------------------------------------------------------------------------------------- judges


@dataclass(frozen=True)
class JudgeResult:
    """One verdict: reply ``text`` (None on error), ``served_model`` as the server reported it."""

    text: str | None
    served_model: str | None
    cached: bool
    error: str | None = None

    @property
    def ok(self) -> bool:
        """True when the judge replied (``error`` is None)."""
        return self.error is None


@runtime_checkable
class Judge(Protocol):
    """What scoring needs from a judge: the requested ``model``, its ``endpoint`` and batched asking."""

    model: str
    endpoint: str

    def ask_many(self, requests: Sequence[list[Message]], *, progress: bool = False) -> list[JudgeResult]:
        """One result per request, in order; per-request failures are results with ``error`` set."""
        ...


class _CallError(Exception):
    """A request failed for good (after retries); the message is safe to show."""


class _Halted(_CallError):
    """The judge stopped asking (endpoint unreachable, Ctrl-C or closed); not logged per request."""


def _refresh_mode(refresh: bool | str | None) -> RefreshMode | None:
    if refresh is None or refresh is False:
        return None
    if refresh is True or refresh == "all":
        return "all"
    if refresh == "undetermined":
        return "undetermined"
    raise ValueError(f"Expected argument `refresh` to be a bool, 'all' or 'undetermined', but got {refresh!r}")


class _CachingJudge:
    """Shared machinery: cache lookups, de-duplication, a bounded pool of worker threads and progress.

    Also the circuit breaker: after ``max_connection_failures`` consecutive requests without an answer
    (connection failures, and timeouts with nothing heard from the server meanwhile; any answer from the
    server in between resets the count) the judge halts and every request not yet answered fails at once
    with :attr:`unreachable` as its error. Replies are cleaned before they are cached or returned (lone
    surrogates -> U+FFFD, secrets -> ``***``).
    """

    #: True when :meth:`ask_many` must ask on worker threads even one at a time, so that the calling
    #: thread can watch the endpoint (:meth:`_watch`) and stop waiting once it is unreachable.
    _watches_endpoint = False

    model: str
    endpoint: str

    def __init__(
        self,
        *,
        model: str,
        temperature: float,
        cache: JudgeCache | None,
        refresh: bool | str | None,
        concurrency: int,
        max_connection_failures: int = 3,
        role: str = "judge",
    ) -> None:
        if concurrency < 1:
            raise ValueError(f"Expected argument `concurrency` to be >= 1, but got {concurrency}")
        temperature = float(temperature)
        if not math.isfinite(temperature) or temperature < 0:
            raise ValueError(f"Expected the judge temperature to be a number >= 0, but got {temperature}")
        if max_connection_failures < 0:
            raise ValueError(
                f"Expected argument `max_connection_failures` to be >= 0 (0: never stop), "
                f"but got {max_connection_failures}"
            )
        self.model = model
        self.role = role
        self.temperature = temperature
        self.cache = cache
        self.refresh: RefreshMode | None = _refresh_mode(refresh)
        self.concurrency = concurrency
        self.max_connection_failures = max_connection_failures
        self._secrets: tuple[str, ...] = ()
        self._halt = threading.Event()
        self._halt_lock = threading.Lock()
        self._halt_kind: str | None = None
        self._halt_reason = ""
        self._connection_failures = 0
        self._unreachable_logged = False
        # Liveness bookkeeping (monotonic seconds): requests being asked, since when, and the last answer.
        self._active = 0
        self._busy_since = 0.0
        self._last_heard = 0.0

    def _ask_one(self, messages: list[Message]) -> tuple[str, str | None]:
        """Return (reply text, served model) or raise :class:`_CallError`."""
        raise NotImplementedError

    def _scrub(self, text: str) -> str:
        return replace_lone_surrogates(redact_text(text, self._secrets))

    def _clean_reply(self, text: str) -> str:
        """A reply as returned and cached: lone surrogates -> U+FFFD, each known secret -> ``***``.

        Only the secrets themselves are replaced (URLs in a reply are the model's and are kept).
        """
        text = replace_lone_surrogates(text)
        for secret in self._secrets:  # longest first
            if len(secret) >= _MIN_SECRET and secret in text:
                text = text.replace(secret, _REDACTED)
        return text

    # -- halting (unreachable endpoint, Ctrl-C, close)
    @property
    def unreachable(self) -> str | None:
        """Why the judge stopped asking because the endpoint cannot be reached, else None."""
        return self._halt_reason if self._halt_kind == "unreachable" else None

    def _stop(self, kind: str, reason: str) -> bool:
        """Halt the judge (first reason wins); True when this call halted it."""
        with self._halt_lock:
            if self._halt.is_set():
                return False
            self._halt_kind, self._halt_reason = kind, reason
            self._halt.set()
            return True

    def resume(self) -> None:
        """Ask again after :attr:`unreachable` (or an interrupted batch): clear the halt and the count."""
        with self._halt_lock:
            if self._halt_kind in ("unreachable", "interrupted"):
                self._halt.clear()
                self._halt_kind, self._halt_reason = None, ""
            self._connection_failures = 0
            self._last_heard = time.monotonic()

    def _halted(self) -> _Halted:
        return _Halted(self._scrub(self._halt_reason or f"{self.role} at {self.endpoint} stopped"))

    def _note_reachable(self) -> None:
        """The server answered (any HTTP status): the count of consecutive connection failures restarts."""
        with self._halt_lock:
            self._connection_failures = 0
            self._last_heard = time.monotonic()

    def _note_heard(self) -> None:
        """The server answered a liveness probe: alive, but the count of failed requests stands."""
        with self._halt_lock:
            self._last_heard = time.monotonic()

    def _heard_since(self, moment: float) -> bool:
        """True when the server answered anything (a request or a probe) after ``moment`` (monotonic)."""
        with self._halt_lock:
            return self._last_heard > moment

    def _note_connection_failure(self, detail: str) -> bool:
        """Count one request that got no answer; True when the judge is (now) halted."""
        with self._halt_lock:
            self._connection_failures += 1
            failures = self._connection_failures
        limit = self.max_connection_failures
        if limit and failures >= limit:
            self._stop("unreachable", self._scrub(
                f"{self.role} at {self.endpoint} is unreachable: {failures} consecutive connection failures or "
                f"timeouts (last: {detail}); stopped asking"
            )[:600])
        return self._halt.is_set()

    def _watch(self) -> None:
        """Called about every 0.1 s by the thread waiting for a batch (see :attr:`_watches_endpoint`)."""

    # -- cache
    def _lookup(self, key: str, messages: list[Message]) -> CachedReply | None:
        if self.cache is None or self.refresh == "all":
            return None
        try:
            stored = self.cache.get(key)
        except Exception as exc:  # a broken cache must not stop scoring, but must be visible
            logger.warning("judge cache %s: read failed (%s); asking the judge", self.cache.path, exc)
            return None
        if stored is None:
            return None
        if self.refresh == "undetermined":
            verdict = stored.verdict if stored.verdict is not None else verdict_of(messages, stored.reply)
            if verdict == "undetermined":
                return None
        reply = self._clean_reply(stored.reply)  # a row written before replies were cleaned
        return stored if reply == stored.reply else dataclasses.replace(stored, reply=reply)

    def _resolve(self, key: str, messages: list[Message]) -> JudgeResult:
        if self._halt.is_set():
            return JudgeResult(text=None, served_model=None, cached=False, error=str(self._halted()))
        with self._halt_lock:
            if self._active == 0:
                self._busy_since = time.monotonic()
            self._active += 1
        try:
            text, served = self._ask_one(messages)
            text = self._clean_reply(text)
            served = self._clean_reply(served) if served is not None else None
        except _Halted as exc:  # reported once, by ask_many
            return JudgeResult(text=None, served_model=None, cached=False, error=str(exc))
        except _CallError as exc:
            message = self._scrub(str(exc))
        except Exception as exc:
            detail = f"{type(exc).__name__}: {exc}"
            message = self._scrub(f"{self.role} request to {self.endpoint} failed: {detail}")[:600]
        else:
            if self.cache is not None:
                try:
                    self.cache.put(key, model=self.model, protocol=JUDGE_PROTOCOL_VERSION, reply=text,
                                   served_model=served, verdict=verdict_of(messages, text))
                except Exception as exc:
                    if self._halt_kind != "interrupted":
                        logger.warning("judge cache %s: write failed (%s)", self.cache.path, exc)
            return JudgeResult(text=text, served_model=served, cached=False)
        finally:
            with self._halt_lock:
                self._active -= 1
        if self._halt_kind != "interrupted":
            logger.warning("%s", message)
        return JudgeResult(text=None, served_model=None, cached=False, error=message)

    def ask(self, messages: list[Message]) -> JudgeResult:
        """Ask one request (see :meth:`ask_many`)."""
        return self.ask_many([messages])[0]

    def ask_many(self, requests: Sequence[list[Message]], *, progress: bool = False) -> list[JudgeResult]:
        """One :class:`JudgeResult` per request, in order. Identical requests are asked once.

        Cached verdicts are always returned, even once the endpoint is :attr:`unreachable` (then the
        others fail at once). KeyboardInterrupt propagates at once: requests in flight are abandoned
        (their threads are daemons) and the verdicts received so far are in the cache.
        """
        with self._halt_lock:
            if self._halt_kind == "interrupted":  # a new batch after Ctrl-C was caught
                self._halt.clear()
                self._halt_kind, self._halt_reason = None, ""
        results: list[JudgeResult | None] = [None] * len(requests)
        pending: dict[str, list[int]] = {}
        work: list[tuple[str, list[Message]]] = []
        hits: dict[str, JudgeResult] = {}
        for index, messages in enumerate(requests):
            if not (isinstance(messages, list) and messages and all(isinstance(m, dict) for m in messages)):
                raise TypeError(
                    f"Expected request {index} to be a non-empty list of message dicts, "
                    f"but got {messages!r:.80}"
                )
            key = cache_key(model=self.model, messages=messages, temperature=self.temperature,
                            protocol=JUDGE_PROTOCOL_VERSION)
            if key in hits:
                results[index] = hits[key]
            elif key in pending:
                pending[key].append(index)
            elif (stored := self._lookup(key, messages)) is not None:
                hits[key] = results[index] = JudgeResult(stored.reply, stored.served_model, cached=True)
            else:
                pending[key] = [index]
                work.append((key, messages))
        refreshing = f" (refresh: {self.refresh})" if self.refresh else ""
        logger.info("judge %s at %s, temperature %g: %d requests, %d cached, %d to ask%s", self.model,
                    self.endpoint, self.temperature, len(requests),
                    len(requests) - sum(len(v) for v in pending.values()), len(work), refreshing)

        bar = None
        if progress:
            from tqdm import tqdm

            bar = tqdm(total=len(requests), desc=f"judge {self.model}", unit="req", file=sys.stderr)
            bar.update(len(requests) - sum(len(v) for v in pending.values()))

        def record(key: str, result: JudgeResult) -> None:
            for i in pending[key]:
                results[i] = result
            if bar is not None:
                bar.update(len(pending[key]))

        try:
            if (self.concurrency == 1 or len(work) <= 1) and not self._watches_endpoint:
                for key, messages in work:
                    record(key, self._resolve(key, messages))
            else:
                self._run_pool(work, record)
        finally:
            if bar is not None:
                bar.close()
        missing = JudgeResult(None, None, False, "internal: no result")
        final = [r if r is not None else missing for r in results]
        if self._halt_kind == "unreachable" and not self._unreachable_logged:
            self._unreachable_logged = True
            failed = sum(1 for r in final if not r.ok)
            logger.info("%s; %d of %d request(s) of this batch not answered (replies received are cached)",
                        self._halt_reason, failed, len(final))
        return final

    def _run_pool(
        self, work: list[tuple[str, list[Message]]], record: Callable[[str, JudgeResult], None]
    ) -> None:
        """Ask ``work`` on daemon threads; the calling thread records results and stays interruptible.

        It also watches the endpoint (:meth:`_watch`): once the judge is halted as unreachable it stops
        waiting for requests in flight (their threads are abandoned) and every request not yet answered
        fails with :attr:`unreachable`.
        """
        tasks: queue.SimpleQueue[tuple[str, list[Message]]] = queue.SimpleQueue()
        for item in work:
            tasks.put(item)
        outcomes: queue.SimpleQueue[tuple[str, JudgeResult | BaseException]] = queue.SimpleQueue()

        def worker() -> None:
            while True:
                try:
                    key, messages = tasks.get_nowait()
                except queue.Empty:
                    return
                try:
                    outcome: JudgeResult | BaseException = self._resolve(key, messages)
                except BaseException as exc:  # e.g. KeyboardInterrupt raised by a FakeJudge reply
                    outcome = exc
                outcomes.put((key, outcome))
                if isinstance(outcome, BaseException):
                    return

        for number in range(min(self.concurrency, len(work))):
            # Daemon threads: Ctrl-C does not wait for a request in flight, nor does the interpreter at exit.
            threading.Thread(target=worker, name=f"judge-{number}", daemon=True).start()
        answered: set[str] = set()
        try:
            while len(answered) < len(work):
                try:
                    key, outcome = outcomes.get(timeout=0.1)  # short waits keep Ctrl-C prompt
                except queue.Empty:
                    self._watch()
                    if self._halt_kind == "unreachable":  # do not wait for requests that will not come back
                        self._drop_queued(tasks)
                        halted = JudgeResult(text=None, served_model=None, cached=False, error=str(self._halted()))
                        for key, _messages in work:
                            if key not in answered:
                                answered.add(key)
                                record(key, halted)
                    continue
                answered.add(key)
                if isinstance(outcome, BaseException):
                    raise outcome
                record(key, outcome)
        except BaseException:
            # Ctrl-C (or a failing progress callback): drop queued requests, stop retries, do not join.
            self._stop("interrupted", f"{self.role} at {self.endpoint}: interrupted")
            self._drop_queued(tasks)
            raise

    @staticmethod
    def _drop_queued(tasks: queue.SimpleQueue[tuple[str, list[Message]]]) -> None:
        while True:
            try:
                tasks.get_nowait()
            except queue.Empty:
                return

    def __enter__(self) -> _CachingJudge:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Release network resources (the cache belongs to the caller and stays open)."""


def _public_endpoint(url: str) -> str:
    """The base URL without credentials, query or fragment, safe to print."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path.rstrip("/"), "", ""))


def _retry_after(exc: Exception) -> float | None:
    """Seconds asked for by ``retry-after-ms`` / ``Retry-After`` (seconds or HTTP date), if any."""
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    if headers is None:
        return None
    millis = headers.get("retry-after-ms")
    if millis is not None:
        try:
            return max(0.0, float(millis) / 1000.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


_RETRYABLE_STATUS = frozenset({408, 409, 429})
#: Exception class names (httpx, httpx2) meaning the server could not be reached at all.
_CONNECT_ERRORS = frozenset({"ConnectError", "ConnectTimeout"})


class OpenAICompatibleJudge(_CachingJudge):
    """A judge on any OpenAI-compatible chat-completions server, via the official ``openai`` client.

    The key comes from ``api_key`` or ``$OPENAI_API_KEY``; a custom ``base_url`` (else
    ``$OPENAI_BASE_URL``) without a key gets a placeholder. Query parameters of ``base_url`` are sent with
    every request; its user info and key-like parameters are redacted wherever the URL could show
    (:func:`redact_url`). Requests run on ``concurrency`` threads
    (16 by default: 300 verdicts at 200 ms latency take about 4.5 s, a load OpenAI rate limits absorb).
    Rate limits (429), 408/409, 5xx, timeouts and connection errors are retried up to ``max_retries``
    times, waiting ``Retry-After`` when given, else ``backoff * 2**attempt`` with jitter, both capped at
    ``max_backoff`` seconds. Malformed bodies and empty replies are errors and are not retried.

    Fail fast: the judge halts (every request not yet answered fails at once, requests in flight are not
    waited for, and :attr:`unreachable` says why) when either rule fires:

    - ``max_connection_failures`` consecutive attempts got no answer (across all requests, with no answer
      in between; 0 disables this rule): a connection failure (refused, DNS, connecting took over
      ``connect_timeout`` seconds), or a request that ran past ``timeout`` while nothing at all was heard
      from the server (a timeout during which the server answered another request or a probe is the
      slowness of one request, retried as before, not a sign of a dead endpoint);
    - liveness: requests are waiting and no HTTP answer has come back for ``probe_after`` seconds (None
      or 0 disables this rule), so the judge probes the endpoint with ``GET {base_url}/models``; any HTTP
      answer within ``probe_timeout`` seconds, whatever its status (404 and 401 too), means alive and the
      judge keeps waiting (probing again after another ``probe_after`` silent seconds); no answer means
      the server accepts connections but does not answer, and the judge halts.

    With the defaults (30 s + 30 s) a dead-but-listening endpoint halts about 60 s after the first
    request, whatever ``timeout`` and ``concurrency`` are, while a slow server that answers the probe is
    waited for as long as ``timeout`` allows (a server that cannot answer ``/models`` while it generates
    is waited for up to ``probe_after + probe_timeout`` seconds of silence; give ``probe_after=None`` to
    wait for it longer). ``temperature`` defaults to the published protocol's 0.2. ``seed`` (None: not
    sent) is passed to the server as the request's ``seed``; like ``max_tokens`` it is not part of the cache
    key, so a caller varying either keeps separate caches. Messages may carry images (OpenAI ``image_url``
    content parts, e.g. base64 data URLs): they are sent as given and hashed into the cache key.
    """

    def __init__(
        self,
        *,
        model: str = "gpt-4o",
        base_url: str | None = None,
        api_key: str | None = None,
        temperature: float = DEFAULT_JUDGE_TEMPERATURE,
        timeout: float = 60.0,
        max_retries: int = 5,
        concurrency: int = 16,
        cache: JudgeCache | None = None,
        refresh: bool | str | None = False,
        max_tokens: int | None = 32,
        backoff: float = 1.0,
        max_backoff: float = 60.0,
        connect_timeout: float = 10.0,
        max_connection_failures: int = 3,
        seed: int | None = None,
        probe_after: float | None = 30.0,
        probe_timeout: float = 30.0,
        role: str = "judge",
    ) -> None:
        super().__init__(model=model, temperature=temperature, cache=cache, refresh=refresh,
                         concurrency=concurrency, max_connection_failures=max_connection_failures, role=role)
        if max_retries < 0:
            raise ValueError(f"Expected argument `max_retries` to be >= 0, but got {max_retries}")
        if not timeout > 0 or not connect_timeout > 0 or not probe_timeout > 0:
            raise ValueError(
                f"Expected arguments `timeout`, `connect_timeout` and `probe_timeout` to be > 0, but got "
                f"{timeout}, {connect_timeout} and {probe_timeout}"
            )
        if probe_after is not None and not (math.isfinite(probe_after) and probe_after >= 0):
            raise ValueError(f"Expected argument `probe_after` to be None or a number >= 0 (0 or None: never "
                             f"probe), but got {probe_after}")
        try:
            import openai
        except ImportError as exc:
            raise ImportError(
                'The OpenAI-compatible judge needs the `openai` package: pip install "pixbench[judge]"'
            ) from exc
        url = base_url or os.environ.get("OPENAI_BASE_URL") or DEFAULT_OPENAI_ENDPOINT
        url_secrets = _url_secrets(url)
        key = api_key or os.environ.get("OPENAI_API_KEY")
        self._secrets = tuple(sorted({*url_secrets, *([key] if key else [])}, key=len, reverse=True))
        _install_log_redaction(self._secrets)
        try:
            parts = urlsplit(url)
            self.endpoint = _public_endpoint(url)
        except ValueError as exc:
            raise ValueError(f"Expected a judge base URL like http://127.0.0.1:8000/v1, but got "
                             f"{redact_url(url)!r}: {exc}") from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"Expected a judge base URL like http://127.0.0.1:8000/v1 (http or https, with a "
                             f"host), but got {redact_url(url)!r}")
        if not key:
            if self.endpoint == DEFAULT_OPENAI_ENDPOINT:
                raise ValueError(
                    f"No API key for the judge at {self.endpoint}: set OPENAI_API_KEY, pass api_key, "
                    "or give base_url of a local OpenAI-compatible server"
                )
            key = "pixbench-no-key"
        self.max_retries = max_retries
        self.timeout = timeout
        self.connect_timeout = min(connect_timeout, timeout)
        self.max_tokens = max_tokens
        self.seed = seed
        self.backoff = backoff
        self.probe_after = probe_after or None
        self.probe_timeout = probe_timeout
        self._probing = False
        self.max_backoff = max_backoff
        self._openai = openai
        # The query goes in default_query: appended to base_url it would end up inside every request path.
        client_url = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        timeouts: Any = timeout
        if hasattr(openai, "Timeout"):
            timeouts = openai.Timeout(timeout, connect=self.connect_timeout)
        self._client = openai.OpenAI(api_key=key, base_url=client_url, timeout=timeouts, max_retries=0,
                                     default_query=query or None)

    def _wait_before_retry(self, attempt: int, exc: Exception) -> float:
        asked = _retry_after(exc)
        if asked is not None:
            return min(asked, self.max_backoff)
        return min(self.backoff * (2**attempt), self.max_backoff) * random.uniform(0.5, 1.0)

    def _describe(self, exc: Exception) -> str:
        openai = self._openai
        if isinstance(exc, openai.APIStatusError):
            return f"HTTP {exc.status_code} ({type(exc).__name__}): {exc.message}"
        if isinstance(exc, openai.APIConnectionError):
            cause = exc.__cause__
            detail = f" ({type(cause).__name__}: {cause})" if cause is not None else ""
            return f"{type(exc).__name__}: {exc.message}{detail}"
        return f"{type(exc).__name__}: {exc}"

    def _fail(self, attempts: int, detail: str) -> _CallError:
        text = f"{self.role} request to {self.endpoint} failed after {attempts} attempt(s): {detail}"
        return _CallError(self._scrub(text)[:600])

    def _retryable(self, exc: Exception) -> bool:
        openai = self._openai
        if isinstance(exc, openai.APIStatusError):
            if exc.code == "insufficient_quota":
                return False
            return exc.status_code in _RETRYABLE_STATUS or exc.status_code >= 500
        return isinstance(exc, openai.APIConnectionError)

    def _is_connection_failure(self, exc: Exception) -> bool:
        """The server could not be reached at all: refused, DNS failure or connect timeout."""
        if not isinstance(exc, self._openai.APIConnectionError):
            return False
        seen: set[int] = set()
        cause = exc.__cause__ or exc.__context__
        while cause is not None and id(cause) not in seen:
            if type(cause).__name__ in _CONNECT_ERRORS or isinstance(cause, (ConnectionRefusedError, socket.gaierror)):
                return True
            seen.add(id(cause))
            cause = cause.__cause__ or cause.__context__
        return False

    def _ask_one(self, messages: list[Message]) -> tuple[str, str | None]:
        kwargs: dict[str, Any] = {"model": self.model, "messages": messages, "temperature": self.temperature}
        if self.max_tokens is not None:
            kwargs["max_tokens"] = self.max_tokens
        if self.seed is not None:
            kwargs["seed"] = self.seed
        attempt = 0
        while True:
            if self._halt.is_set():
                raise self._halted()
            sent = time.monotonic()
            try:
                completion: Any = self._client.chat.completions.create(**kwargs)
            except self._openai.APIError as exc:
                detail = self._describe(exc)
                silent_timeout = isinstance(exc, self._openai.APITimeoutError) and not self._heard_since(sent)
                if self._is_connection_failure(exc) or silent_timeout:
                    if self._note_connection_failure(detail):
                        raise self._halted() from None
                elif isinstance(exc, self._openai.APIStatusError):
                    self._note_reachable()
                if attempt >= self.max_retries or not self._retryable(exc):
                    raise self._fail(attempt + 1, detail) from None
                delay = self._wait_before_retry(attempt, exc)
                logger.info("judge %s: %s; retry %d/%d in %.2f s", self.endpoint,
                            self._scrub(detail)[:200], attempt + 1, self.max_retries, delay)
                if self._halt.wait(delay):  # woken by an unreachable verdict, Ctrl-C or close
                    raise self._halted() from None
                attempt += 1
                continue
            except ValueError as exc:  # e.g. a JSON decode error on a body labelled as JSON
                self._note_reachable()
                raise self._fail(attempt + 1, f"malformed response: {type(exc).__name__}: {exc}") from None
            self._note_reachable()
            return self._extract(completion, attempt + 1)

    def _extract(self, completion: Any, attempts: int) -> tuple[str, str | None]:
        """Reply text and served model from a completion, or a _CallError for malformed/empty bodies."""
        if isinstance(completion, str):
            raise self._fail(attempts, f"malformed response (not JSON): {completion[:120]!r}")
        try:
            text = completion.choices[0].message.content
        except (AttributeError, IndexError, KeyError, TypeError):
            raise self._fail(attempts, "malformed response: no choices[0].message.content") from None
        if not isinstance(text, str) or not text.strip():
            raise self._fail(attempts, f"empty reply from model {getattr(completion, 'model', None)!r}")
        served = getattr(completion, "model", None)
        return text, served if isinstance(served, str) else None

    # -- liveness (see the class docstring)
    _watches_endpoint = True

    def _watch(self) -> None:
        """Start a probe when requests are waiting and nothing was heard for ``probe_after`` seconds."""
        if self.probe_after is None or self._halt.is_set():
            return
        with self._halt_lock:
            if self._active == 0 or self._probing:
                return
            silent = time.monotonic() - max(self._last_heard, self._busy_since)
            if silent < self.probe_after:
                return
            self._probing = True
            waiting = self._active
        threading.Thread(target=self._probe, args=(silent, waiting), name="judge-probe", daemon=True).start()

    def _probe(self, silent: float, waiting: int) -> None:
        """``GET {base_url}/models``: any HTTP answer means alive; none halts the judge as unreachable."""
        started = time.monotonic()
        try:
            answered, detail = self._probe_answer()
            if not answered and self._heard_since(started):  # a request came back meanwhile
                answered, detail = True, "no answer, but a request was answered meanwhile"
            if answered:
                self._note_heard()
                logger.info("judge %s: no answer for %.0f s to %d waiting request(s), but the server is alive "
                            "(GET /models: %s); still waiting", self.endpoint, silent, waiting, detail)
                return
            self._stop("unreachable", self._scrub(
                f"{self.role} at {self.endpoint} is unreachable: it accepts connections but does not answer (no HTTP "
                f"answer for {silent:.0f} s to {waiting} waiting request(s), and none to GET "
                f"{self.endpoint}/models within {self.probe_timeout:g} s: {detail}); stopped asking"
            )[:600])
        finally:
            with self._halt_lock:
                self._probing = False

    def _probe_answer(self) -> tuple[bool, str]:
        """(answered, how): ``(True, "HTTP 404")`` ..., or ``(False, why not)`` for ``GET /models``."""
        openai = self._openai
        timeouts: Any = self.probe_timeout
        if hasattr(openai, "Timeout"):
            timeouts = openai.Timeout(self.probe_timeout, connect=min(self.connect_timeout, self.probe_timeout))
        try:
            self._client.with_options(timeout=timeouts, max_retries=0).models.list()
        except openai.APIStatusError as exc:
            return True, f"HTTP {exc.status_code}"
        except openai.APIConnectionError as exc:
            return False, self._describe(exc)
        except Exception as exc:  # an answer that is not a model list is still an answer
            return True, f"HTTP 200, not a model list: {type(exc).__name__}"
        return True, "HTTP 200"

    def close(self) -> None:
        """Close the HTTP client (requests not yet asked then fail); the cache stays open."""
        self._stop("closed", f"{self.role} at {self.endpoint} was closed")
        self._client.close()

    def __repr__(self) -> str:
        return (
            f"OpenAICompatibleJudge(model={self.model!r}, endpoint={self.endpoint!r}, "
            f"temperature={self.temperature}, concurrency={self.concurrency}, max_retries={self.max_retries}, "
            f"cache={self.cache!r})"
        )


class FakeJudge(_CachingJudge):
    """Deterministic offline judge: ``reply(messages) -> str``; goes through the cache when given one.

    Exceptions raised by ``reply`` and empty replies become error results, like transport failures.
    ``calls`` counts the times ``reply`` was invoked.
    """

    def __init__(
        self,
        reply: Callable[[list[Message]], str],
        *,
        model: str = "fake-judge",
        served_model: str | None = None,
        temperature: float = DEFAULT_JUDGE_TEMPERATURE,
        cache: JudgeCache | None = None,
        refresh: bool | str | None = False,
        concurrency: int = 1,
    ) -> None:
        super().__init__(model=model, temperature=temperature, cache=cache, refresh=refresh,
                         concurrency=concurrency)
        self.endpoint = "fake://pixbench"
        self.served_model = served_model or model
        self._reply = reply
        self._count_lock = threading.Lock()
        self.calls = 0

    def _ask_one(self, messages: list[Message]) -> tuple[str, str | None]:
        with self._count_lock:
            self.calls += 1
        try:
            text = self._reply(messages)
        except Exception as exc:
            detail = f"{type(exc).__name__}: {exc}"
            raise _CallError(f"{self.role} request to {self.endpoint} failed: {detail}") from None
        if not isinstance(text, str) or not text.strip():
            raise _CallError(f"{self.role} request to {self.endpoint} failed: empty reply")
        return text, self.served_model

    def __repr__(self) -> str:
        return f"FakeJudge(model={self.model!r}, cache={self.cache!r})"
