"""An OpenAI-compatible chat client: :class:`ChatClient`.

It talks to any server with OpenAI's chat-completions API (OpenAI, vLLM, SGLang, LMDeploy, a hosted API)
through the official ``openai`` package, imported when a client is built (importing this module opens no
connection). It is the project's one chat client: the LLM judge (:mod:`pixbench.judge`), the served model
of ``pixbench run`` and the box model of ``video-ground`` are each a :class:`ChatClient` with their own
settings. Batching, the reply cache and halting are :class:`~pixbench.chat.base.CachingChatClient`'s.

Robustness (see :class:`ChatClient`): the endpoint is given up as unreachable, and every request not yet
answered fails at once (:attr:`~pixbench.chat.base.CachingChatClient.unreachable` says why), after a few
consecutive requests that got no answer (refused, DNS failure, connect timeout, or a request timeout with
nothing heard from the server meanwhile), or when the server accepts connections but does not answer: no
HTTP answer for ``probe_after`` seconds while requests wait, and none to a ``GET {base_url}/models`` probe
either (a slow server that answers the probe, with any status, is alive and waited for). Ctrl-C stops a
batch at once without waiting for requests in flight (each reply is committed to the cache as it
arrives). Secrets (the API key, and the user info and ``?api_key=``-like parameters of a base URL) are
redacted from errors and from the logs of the HTTP libraries (:mod:`pixbench.chat.redact`), and replaced by
``***`` in reply texts, as returned and as cached (a server may echo them; secrets shorter than 6
characters are left alone, as replacing them would mangle replies). Reply texts and served model names
never carry lone surrogates (a server may send ``"\\ud800"`` in its JSON): they are replaced by U+FFFD, so
every text a client returns encodes as UTF-8.
"""

from __future__ import annotations

import email.utils
import logging
import math
import os
import random
import socket
import threading
import time
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from pixbench.chat.base import CachingChatClient, RequestFailed, VerdictParser
from pixbench.chat.cache import DEFAULT_PROTOCOL, ReplyCache
from pixbench.chat.messages import Message
from pixbench.chat.redact import install_log_redaction, redact_url, url_secrets

__all__ = ["DEFAULT_OPENAI_ENDPOINT", "ChatClient"]

DEFAULT_OPENAI_ENDPOINT = "https://api.openai.com/v1"


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


class ChatClient(CachingChatClient):
    """A client of any OpenAI-compatible chat-completions server, via the official ``openai`` client.

    ``model`` is the model requested; ``temperature`` (default 0) is sent with every request and is part of
    the cache key; ``max_tokens`` (None: no limit) and ``seed`` (None: not sent) are sent when given and are
    not part of the cache key, so a caller varying either keeps separate caches. ``cache``, ``refresh``,
    ``protocol``, ``parse_verdict``, ``role`` and ``logger`` are :class:`~pixbench.chat.base.CachingChatClient`'s.

    The key comes from ``api_key`` or ``$OPENAI_API_KEY``; a custom ``base_url`` (else
    ``$OPENAI_BASE_URL``) without a key gets a placeholder. Query parameters of ``base_url`` are sent with
    every request; its user info and key-like parameters are redacted wherever the URL could show
    (:func:`~pixbench.chat.redact.redact_url`). Requests run on ``concurrency`` threads
    (16 by default: 300 requests at 200 ms latency take about 4.5 s, a load OpenAI rate limits absorb).
    Rate limits (429), 408/409, 5xx, timeouts and connection errors are retried up to ``max_retries``
    times, waiting ``Retry-After`` when given, else ``backoff * 2**attempt`` with jitter, both capped at
    ``max_backoff`` seconds. Malformed bodies and empty replies are errors and are not retried.

    Fail fast: the client halts (every request not yet answered fails at once, requests in flight are not
    waited for, and :attr:`unreachable` says why) when either rule fires:

    - ``max_connection_failures`` consecutive attempts got no answer (across all requests, with no answer
      in between; 0 disables this rule): a connection failure (refused, DNS, connecting took over
      ``connect_timeout`` seconds), or a request that ran past ``timeout`` while nothing at all was heard
      from the server (a timeout during which the server answered another request or a probe is the
      slowness of one request, retried as before, not a sign of a dead endpoint);
    - liveness: requests are waiting and no HTTP answer has come back for ``probe_after`` seconds (None
      or 0 disables this rule), so the client probes the endpoint with ``GET {base_url}/models``; any HTTP
      answer within ``probe_timeout`` seconds, whatever its status (404 and 401 too), means alive and the
      client keeps waiting (probing again after another ``probe_after`` silent seconds); no answer means
      the server accepts connections but does not answer, and the client halts.

    With the defaults (30 s + 30 s) a dead-but-listening endpoint halts about 60 s after the first
    request, whatever ``timeout`` and ``concurrency`` are, while a slow server that answers the probe is
    waited for as long as ``timeout`` allows (a server that cannot answer ``/models`` while it generates
    is waited for up to ``probe_after + probe_timeout`` seconds of silence; give ``probe_after=None`` to
    wait for it longer). Messages may carry images (OpenAI ``image_url`` content parts, e.g. base64 data
    URLs, :mod:`pixbench.chat.messages`): they are sent as given and hashed into the cache key.
    """

    def __init__(
        self,
        *,
        model: str,
        base_url: str | None = None,
        api_key: str | None = None,
        temperature: float = 0.0,
        timeout: float = 60.0,
        max_retries: int = 5,
        concurrency: int = 16,
        cache: ReplyCache | None = None,
        refresh: bool | str | None = False,
        max_tokens: int | None = None,
        backoff: float = 1.0,
        max_backoff: float = 60.0,
        connect_timeout: float = 10.0,
        max_connection_failures: int = 3,
        seed: int | None = None,
        probe_after: float | None = 30.0,
        probe_timeout: float = 30.0,
        role: str = "chat model",
        protocol: str = DEFAULT_PROTOCOL,
        parse_verdict: VerdictParser | None = None,
        logger: logging.Logger | None = None,
    ) -> None:
        super().__init__(model=model, temperature=temperature, cache=cache, refresh=refresh,
                         concurrency=concurrency, max_connection_failures=max_connection_failures, role=role,
                         protocol=protocol, parse_verdict=parse_verdict, logger=logger)
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
                f'The OpenAI-compatible {role} needs the `openai` package: pip install "pixbench[judge]"'
            ) from exc
        url = base_url or os.environ.get("OPENAI_BASE_URL") or DEFAULT_OPENAI_ENDPOINT
        key = api_key or os.environ.get("OPENAI_API_KEY")
        self._secrets = tuple(sorted({*url_secrets(url), *([key] if key else [])}, key=len, reverse=True))
        install_log_redaction(self._secrets, (self._log.name,))
        try:
            parts = urlsplit(url)
            self.endpoint = _public_endpoint(url)
        except ValueError as exc:
            raise ValueError(f"Expected a {role} base URL like http://127.0.0.1:8000/v1, but got "
                             f"{redact_url(url)!r}: {exc}") from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"Expected a {role} base URL like http://127.0.0.1:8000/v1 (http or https, with a "
                             f"host), but got {redact_url(url)!r}")
        if not key:
            if self.endpoint == DEFAULT_OPENAI_ENDPOINT:
                raise ValueError(
                    f"No API key for the {role} at {self.endpoint}: set OPENAI_API_KEY, pass api_key, "
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

    def _fail(self, attempts: int, detail: str) -> RequestFailed:
        text = f"{self.role} request to {self.endpoint} failed after {attempts} attempt(s): {detail}"
        return RequestFailed(self._scrub(text)[:600])

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
                self._log.info("%s %s: %s; retry %d/%d in %.2f s", self.role, self.endpoint,
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
        """Reply text and served model from a completion, or a RequestFailed for malformed/empty bodies."""
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
        threading.Thread(target=self._probe, args=(silent, waiting), name=f"{self.role}-probe", daemon=True).start()

    def _probe(self, silent: float, waiting: int) -> None:
        """``GET {base_url}/models``: any HTTP answer means alive; none halts the client as unreachable."""
        started = time.monotonic()
        try:
            answered, detail = self._probe_answer()
            if not answered and self._heard_since(started):  # a request came back meanwhile
                answered, detail = True, "no answer, but a request was answered meanwhile"
            if answered:
                self._note_heard()
                self._log.info("%s %s: no answer for %.0f s to %d waiting request(s), but the server is alive "
                               "(GET /models: %s); still waiting", self.role, self.endpoint, silent, waiting, detail)
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
            f"{type(self).__name__}(model={self.model!r}, endpoint={self.endpoint!r}, "
            f"temperature={self.temperature}, concurrency={self.concurrency}, max_retries={self.max_retries}, "
            f"cache={self.cache!r})"
        )
