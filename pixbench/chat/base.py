"""The machinery every chat client shares, the protocol callers need, and an offline client for tests.

:class:`CachingChatClient` asks a batch of requests (:meth:`~CachingChatClient.ask_many`): identical requests
once, cached replies from its :class:`~pixbench.chat.cache.ReplyCache` (key documented there), the rest on
``concurrency`` daemon threads, each reply committed to the cache the moment it arrives. A failed request
never raises out of :meth:`~CachingChatClient.ask_many`: it comes back as a :class:`ChatResult` whose
``error`` names the endpoint (never a secret), and the caller decides what to do. The client halts, failing
every request not yet answered at once, when the endpoint is unreachable (:attr:`~CachingChatClient.unreachable`
says why), on Ctrl-C (requests in flight are not waited for) or when closed.

What a client is asked for is what callers type against: :class:`ChatClientProtocol` (``model``, ``endpoint``,
``ask_many``). :class:`pixbench.chat.ChatClient` talks to an OpenAI-compatible server; :class:`FakeChatClient`
answers offline from a function. Neither knows what it asks: the judge (:mod:`pixbench.judge`) passes its
prompts' protocol version and verdict parser in.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import queue
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Protocol, runtime_checkable

from pixbench.chat.cache import DEFAULT_PROTOCOL, CachedReply, ReplyCache, cache_key, replace_lone_surrogates
from pixbench.chat.messages import Message, RefreshMode
from pixbench.chat.redact import MIN_SECRET, REDACTED, redact_text

__all__ = [
    "CachingChatClient",
    "ChatClientProtocol",
    "ChatResult",
    "FakeChatClient",
    "RequestFailed",
    "Stopped",
    "VerdictParser",
]

_logger = logging.getLogger(__name__)

#: ``(messages, reply) -> verdict``: how a client reads a reply for the cache (None: not a known prompt).
VerdictParser = Callable[[Sequence[Message], str | None], str | None]


@dataclass(frozen=True)
class ChatResult:
    """One reply: its ``text`` (None on error), ``served_model`` as the server reported it, whether it came
    from the cache, and the ``error`` (None when the model replied)."""

    text: str | None
    served_model: str | None
    cached: bool
    error: str | None = None

    @property
    def ok(self) -> bool:
        """True when the model replied (``error`` is None)."""
        return self.error is None


@runtime_checkable
class ChatClientProtocol(Protocol):
    """What callers need from a chat client: the requested ``model``, its ``endpoint`` and batched asking."""

    model: str
    endpoint: str

    def ask_many(self, requests: Sequence[list[Message]], *, progress: bool = False) -> list[ChatResult]:
        """One result per request, in order; per-request failures are results with ``error`` set."""
        ...


class RequestFailed(Exception):
    """A request failed for good (after retries); the message is safe to show."""


class Stopped(RequestFailed):
    """The client stopped asking (endpoint unreachable, Ctrl-C or closed); not logged per request."""


def _refresh_mode(refresh: bool | str | None) -> RefreshMode | None:
    if refresh is None or refresh is False:
        return None
    if refresh is True or refresh == "all":
        return "all"
    if refresh == "undetermined":
        return "undetermined"
    raise ValueError(f"Expected argument `refresh` to be a bool, 'all' or 'undetermined', but got {refresh!r}")


class CachingChatClient:
    """What every chat client shares: cache lookups, de-duplication, a bounded pool of worker threads, progress.

    Subclasses implement ``_ask_one(messages) -> (reply text, served model)``, raising :class:`RequestFailed`
    for a request that failed for good. ``model`` is the model requested, ``temperature`` is sent with every
    request, and both are part of the cache key with ``protocol`` (the version of the prompts asked:
    replies keyed under another protocol are not reused; see :mod:`pixbench.chat.cache`). ``parse_verdict``
    (``(messages, reply) -> verdict or None``, e.g. the judge's :func:`~pixbench.judge.verdict_of`) reads a
    reply for the cache's ``verdict`` column; ``refresh`` is False, True or ``"all"`` (ask every request
    again), or ``"undetermined"`` (ask again only cached replies whose verdict is ``undetermined``; without a
    parser no reply is). ``role`` names the client in messages (``judge``, ``served model``, ``box model``)
    and ``logger`` is where it logs (default: this module's).

    Also the circuit breaker: after ``max_connection_failures`` consecutive requests without an answer
    (connection failures, and timeouts with nothing heard from the server meanwhile; any answer from the
    server in between resets the count) the client halts and every request not yet answered fails at once
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
        cache: ReplyCache | None,
        refresh: bool | str | None,
        concurrency: int,
        max_connection_failures: int = 3,
        role: str = "chat model",
        protocol: str = DEFAULT_PROTOCOL,
        parse_verdict: VerdictParser | None = None,
        logger: logging.Logger | None = None,
    ) -> None:
        if concurrency < 1:
            raise ValueError(f"Expected argument `concurrency` to be >= 1, but got {concurrency}")
        temperature = float(temperature)
        if not math.isfinite(temperature) or temperature < 0:
            raise ValueError(f"Expected the {role} temperature to be a number >= 0, but got {temperature}")
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
        self.protocol = protocol
        self.parse_verdict = parse_verdict
        self._log = logger if logger is not None else _logger
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

    def _verdict(self, messages: list[Message], reply: str | None) -> str | None:
        """The reply as :attr:`parse_verdict` reads it (None without a parser)."""
        return self.parse_verdict(messages, reply) if self.parse_verdict is not None else None

    def _ask_one(self, messages: list[Message]) -> tuple[str, str | None]:
        """Return (reply text, served model) or raise :class:`RequestFailed`."""
        raise NotImplementedError

    def _scrub(self, text: str) -> str:
        return replace_lone_surrogates(redact_text(text, self._secrets))

    def _clean_reply(self, text: str) -> str:
        """A reply as returned and cached: lone surrogates -> U+FFFD, each known secret -> ``***``.

        Only the secrets themselves are replaced (URLs in a reply are the model's and are kept).
        """
        text = replace_lone_surrogates(text)
        for secret in self._secrets:  # longest first
            if len(secret) >= MIN_SECRET and secret in text:
                text = text.replace(secret, REDACTED)
        return text

    # -- halting (unreachable endpoint, Ctrl-C, close)
    @property
    def unreachable(self) -> str | None:
        """Why the client stopped asking because the endpoint cannot be reached, else None."""
        return self._halt_reason if self._halt_kind == "unreachable" else None

    def _stop(self, kind: str, reason: str) -> bool:
        """Halt the client (first reason wins); True when this call halted it."""
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

    def _halted(self) -> Stopped:
        return Stopped(self._scrub(self._halt_reason or f"{self.role} at {self.endpoint} stopped"))

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
        """Count one request that got no answer; True when the client is (now) halted."""
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
            self._log.warning("%s %s: read failed (%s); asking the %s", self.cache.label, self.cache.path, exc,
                              self.role)
            return None
        if stored is None:
            return None
        if self.refresh == "undetermined":
            verdict = stored.verdict if stored.verdict is not None else self._verdict(messages, stored.reply)
            if verdict == "undetermined":
                return None
        reply = self._clean_reply(stored.reply)  # a row written before replies were cleaned
        return stored if reply == stored.reply else dataclasses.replace(stored, reply=reply)

    def _resolve(self, key: str, messages: list[Message]) -> ChatResult:
        if self._halt.is_set():
            return ChatResult(text=None, served_model=None, cached=False, error=str(self._halted()))
        with self._halt_lock:
            if self._active == 0:
                self._busy_since = time.monotonic()
            self._active += 1
        try:
            text, served = self._ask_one(messages)
            text = self._clean_reply(text)
            served = self._clean_reply(served) if served is not None else None
        except Stopped as exc:  # reported once, by ask_many
            return ChatResult(text=None, served_model=None, cached=False, error=str(exc))
        except RequestFailed as exc:
            message = self._scrub(str(exc))
        except Exception as exc:
            detail = f"{type(exc).__name__}: {exc}"
            message = self._scrub(f"{self.role} request to {self.endpoint} failed: {detail}")[:600]
        else:
            if self.cache is not None:
                try:
                    self.cache.put(key, model=self.model, protocol=self.protocol, reply=text,
                                   served_model=served, verdict=self._verdict(messages, text))
                except Exception as exc:
                    if self._halt_kind != "interrupted":
                        self._log.warning("%s %s: write failed (%s)", self.cache.label, self.cache.path, exc)
            return ChatResult(text=text, served_model=served, cached=False)
        finally:
            with self._halt_lock:
                self._active -= 1
        if self._halt_kind != "interrupted":
            self._log.warning("%s", message)
        return ChatResult(text=None, served_model=None, cached=False, error=message)

    def ask(self, messages: list[Message]) -> ChatResult:
        """Ask one request (see :meth:`ask_many`)."""
        return self.ask_many([messages])[0]

    def ask_many(self, requests: Sequence[list[Message]], *, progress: bool = False) -> list[ChatResult]:
        """One :class:`ChatResult` per request, in order. Identical requests are asked once.

        Cached verdicts are always returned, even once the endpoint is :attr:`unreachable` (then the
        others fail at once). KeyboardInterrupt propagates at once: requests in flight are abandoned
        (their threads are daemons) and the verdicts received so far are in the cache.
        """
        with self._halt_lock:
            if self._halt_kind == "interrupted":  # a new batch after Ctrl-C was caught
                self._halt.clear()
                self._halt_kind, self._halt_reason = None, ""
        results: list[ChatResult | None] = [None] * len(requests)
        pending: dict[str, list[int]] = {}
        work: list[tuple[str, list[Message]]] = []
        hits: dict[str, ChatResult] = {}
        for index, messages in enumerate(requests):
            if not (isinstance(messages, list) and messages and all(isinstance(m, dict) for m in messages)):
                raise TypeError(
                    f"Expected request {index} to be a non-empty list of message dicts, "
                    f"but got {messages!r:.80}"
                )
            key = cache_key(model=self.model, messages=messages, temperature=self.temperature,
                            protocol=self.protocol)
            if key in hits:
                results[index] = hits[key]
            elif key in pending:
                pending[key].append(index)
            elif (stored := self._lookup(key, messages)) is not None:
                hits[key] = results[index] = ChatResult(stored.reply, stored.served_model, cached=True)
            else:
                pending[key] = [index]
                work.append((key, messages))
        refreshing = f" (refresh: {self.refresh})" if self.refresh else ""
        self._log.info("%s %s at %s, temperature %g: %d requests, %d cached, %d to ask%s", self.role, self.model,
                       self.endpoint, self.temperature, len(requests),
                    len(requests) - sum(len(v) for v in pending.values()), len(work), refreshing)

        bar = None
        if progress:
            from tqdm import tqdm

            bar = tqdm(total=len(requests), desc=f"{self.role} {self.model}", unit="req", file=sys.stderr)
            bar.update(len(requests) - sum(len(v) for v in pending.values()))

        def record(key: str, result: ChatResult) -> None:
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
        missing = ChatResult(None, None, False, "internal: no result")
        final = [r if r is not None else missing for r in results]
        if self._halt_kind == "unreachable" and not self._unreachable_logged:
            self._unreachable_logged = True
            failed = sum(1 for r in final if not r.ok)
            self._log.info("%s; %d of %d request(s) of this batch not answered (replies received are cached)",
                           self._halt_reason, failed, len(final))
        return final

    def _run_pool(
        self, work: list[tuple[str, list[Message]]], record: Callable[[str, ChatResult], None]
    ) -> None:
        """Ask ``work`` on daemon threads; the calling thread records results and stays interruptible.

        It also watches the endpoint (:meth:`_watch`): once the client is halted as unreachable it stops
        waiting for requests in flight (their threads are abandoned) and every request not yet answered
        fails with :attr:`unreachable`.
        """
        tasks: queue.SimpleQueue[tuple[str, list[Message]]] = queue.SimpleQueue()
        for item in work:
            tasks.put(item)
        outcomes: queue.SimpleQueue[tuple[str, ChatResult | BaseException]] = queue.SimpleQueue()

        def worker() -> None:
            while True:
                try:
                    key, messages = tasks.get_nowait()
                except queue.Empty:
                    return
                try:
                    outcome: ChatResult | BaseException = self._resolve(key, messages)
                except BaseException as exc:  # e.g. KeyboardInterrupt raised by a FakeChatClient reply
                    outcome = exc
                outcomes.put((key, outcome))
                if isinstance(outcome, BaseException):
                    return

        for number in range(min(self.concurrency, len(work))):
            # Daemon threads: Ctrl-C does not wait for a request in flight, nor does the interpreter at exit.
            threading.Thread(target=worker, name=f"{self.role}-{number}", daemon=True).start()
        answered: set[str] = set()
        try:
            while len(answered) < len(work):
                try:
                    key, outcome = outcomes.get(timeout=0.1)  # short waits keep Ctrl-C prompt
                except queue.Empty:
                    self._watch()
                    if self._halt_kind == "unreachable":  # do not wait for requests that will not come back
                        self._drop_queued(tasks)
                        halted = ChatResult(text=None, served_model=None, cached=False, error=str(self._halted()))
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

    def __enter__(self) -> CachingChatClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Release network resources (the cache belongs to the caller and stays open)."""


class FakeChatClient(CachingChatClient):
    """Deterministic offline client: ``reply(messages) -> str``; goes through the cache when given one.

    Exceptions raised by ``reply`` and empty replies become error results, like transport failures.
    ``calls`` counts the times ``reply`` was invoked. ``protocol``, ``parse_verdict`` and ``role`` as for
    :class:`CachingChatClient`.
    """

    def __init__(
        self,
        reply: Callable[[list[Message]], str],
        *,
        model: str = "fake-model",
        served_model: str | None = None,
        temperature: float = 0.0,
        cache: ReplyCache | None = None,
        refresh: bool | str | None = False,
        concurrency: int = 1,
        role: str = "chat model",
        protocol: str = DEFAULT_PROTOCOL,
        parse_verdict: VerdictParser | None = None,
        logger: logging.Logger | None = None,
    ) -> None:
        super().__init__(model=model, temperature=temperature, cache=cache, refresh=refresh,
                         concurrency=concurrency, role=role, protocol=protocol, parse_verdict=parse_verdict,
                         logger=logger)
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
            raise RequestFailed(f"{self.role} request to {self.endpoint} failed: {detail}") from None
        if not isinstance(text, str) or not text.strip():
            raise RequestFailed(f"{self.role} request to {self.endpoint} failed: empty reply")
        return text, self.served_model

    def __repr__(self) -> str:
        return f"{type(self).__name__}(model={self.model!r}, cache={self.cache!r})"
