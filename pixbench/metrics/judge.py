"""LLM judge: the exact prompts, strict reply parsers, and judges that ask them (with a disk cache).

Prompts (``metrics.md`` section 4, ``baselines.md`` "Automatic selection"), each a list of OpenAI chat
messages:

- :func:`accuracy_messages` - A-dagger: does a free-form ``vqa`` response answer the question correctly?
  Parsed by :func:`parse_yes_no`.
- :func:`presence_messages` - does the image contain the expression? (:func:`parse_yes_no`)
- :func:`selection_messages` - which of N red-tinted candidate images highlights the expression best?
  Images follow the text as ``image_url`` parts in candidate order 1..N. Parsed by :func:`parse_choice`.
- :func:`concept_messages` - concept category of a noun phrase (analysis 6), parsed by
  :func:`parse_concepts`.

A judge is an object passed in (:class:`Judge` protocol), never built at import:
:class:`OpenAICompatibleJudge` talks to any OpenAI-compatible server with bounded concurrency and its own
explicit retry loop; :class:`FakeJudge` answers offline from a function. Both read and write a
:class:`~pixbench.metrics.judge_cache.JudgeCache` (key and location are documented there). A failed
request never raises out of :meth:`Judge.ask_many`: it comes back as a :class:`JudgeResult` whose
``error`` names the endpoint (never the API key), and the caller decides what to do.
"""

from __future__ import annotations

import email.utils
import logging
import os
import random
import re
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Literal, Protocol, runtime_checkable
from urllib.parse import urlsplit, urlunsplit

from pixbench.metrics.analysis import CONCEPT_CATEGORIES
from pixbench.metrics.judge_cache import (
    CachedReply,
    JudgeCache,
    JudgeCacheError,
    cache_key,
    default_cache_path,
)

__all__ = [
    "CONCEPT_CATEGORIES",
    "DEFAULT_OPENAI_ENDPOINT",
    "JUDGE_PROTOCOL_VERSION",
    "CachedReply",
    "FakeJudge",
    "Judge",
    "JudgeCache",
    "JudgeCacheError",
    "JudgeResult",
    "Message",
    "OpenAICompatibleJudge",
    "accuracy_messages",
    "cache_key",
    "concept_messages",
    "default_cache_path",
    "parse_choice",
    "parse_concepts",
    "parse_yes_no",
    "presence_messages",
    "selection_messages",
]

logger = logging.getLogger(__name__)

#: Version of the prompts and parsing rules below; part of every cache key. Bump it when a prompt changes.
JUDGE_PROTOCOL_VERSION = "pixfoundation-judge-v1"
DEFAULT_OPENAI_ENDPOINT = "https://api.openai.com/v1"

Message = dict[str, Any]

ACCURACY_SYSTEM = (
    "You are a helpful and precise assistant for checking the quality of the answer. "
    "Please answer in only yes or no."
)


# --------------------------------------------------------------------------------------------- prompts


def accuracy_messages(*, question: str, options_text: str, answer: str, response: str) -> list[Message]:
    """A-dagger prompt: ``options_text`` like ``(a) Open (b) Closed``, ``answer`` like ``(a)``."""
    user = (
        f"Given the following question {question} {options_text}, the correct answer is {answer}. "
        f"Does the following answer correctly answers the question, answer:{response}? Respond with a Yes/No"
    )
    return [{"role": "system", "content": ACCURACY_SYSTEM}, {"role": "user", "content": user}]


def _check_image_url(url: object, what: str) -> str:
    if not isinstance(url, str) or not url.startswith(("data:image/", "http://", "https://")):
        shown = url[:40] + "..." if isinstance(url, str) and len(url) > 40 else url
        raise ValueError(f"Expected {what} to be a data:image/... or http(s) URL, but got {shown!r}")
    return url


def presence_messages(expression: str, image_data_url: str) -> list[Message]:
    """Ask whether the image contains ``expression`` (yes/no); the image follows the text."""
    url = _check_image_url(image_data_url, "image_data_url")
    text = f"Does this image have {expression}? Answer yes/no only."
    return [
        {
            "role": "user",
            "content": [{"type": "text", "text": text}, {"type": "image_url", "image_url": {"url": url}}],
        }
    ]


def selection_messages(expression: str, image_data_urls: Sequence[str]) -> list[Message]:
    """Ask which of N red-tinted candidates shows ``expression`` best; images follow in order 1..N."""
    if isinstance(image_data_urls, str) or len(image_data_urls) < 1:
        raise ValueError(
            f"Expected image_data_urls to be a non-empty sequence of URLs, but got {type(image_data_urls)}"
        )
    urls = [_check_image_url(u, f"image_data_urls[{i}]") for i, u in enumerate(image_data_urls)]
    text = (
        f"Select the image that has {expression} best highlighted in red color than the others? "
        f"Answer with a number from 1 to {len(urls)}. Mention the number only."
    )
    parts: list[dict[str, Any]] = [{"type": "text", "text": text}]
    parts.extend({"type": "image_url", "image_url": {"url": u}} for u in urls)
    return [{"role": "user", "content": parts}]


def concept_messages(phrase: str, response: str) -> list[Message]:
    """Ask for the concept category (one, or two if equally apt) of ``phrase`` as used in ``response``."""
    listing = ", ".join(f"({letter}) {name}" for letter, name in CONCEPT_CATEGORIES.items())
    system = "You are a careful linguistic annotator. Answer with category letters only."
    user = (
        f'Here is an answer written by a model: "{response}"\n'
        f'Classify the phrase "{phrase}", as it is used in that answer, into one of these concept '
        f"categories: {listing}. If two categories apply equally, give both. "
        "Answer with the letters only, for example (e) or (a) (e)."
    )
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


# --------------------------------------------------------------------------------------------- parsers


def _normalise(reply: str | None) -> str:
    return "" if reply is None else reply.strip().rstrip(".").strip()


def parse_yes_no(reply: str | None) -> Literal["yes", "no", "undetermined"]:
    """``yes``/``no`` after trimming whitespace and trailing ``.`` (any case); anything else undetermined."""
    word = _normalise(reply).lower()
    if word == "yes":
        return "yes"
    if word == "no":
        return "no"
    return "undetermined"


def parse_choice(reply: str | None, n: int) -> int | None:
    """The 1-based choice in ``1..n`` when the trimmed reply is digits only, else None (strict)."""
    if n < 1:
        raise ValueError(f"Expected argument `n` to be >= 1, but got {n}")
    text = _normalise(reply)
    if not (text.isascii() and text.isdigit()):
        return None
    value = int(text)
    return value if 1 <= value <= n else None


_LETTER_IN_PARENS = re.compile(r"\(\s*([a-f])\s*\)")
_BARE_LETTERS = re.compile(r"^([a-f])[.)]?(?:\s*(?:,|and|&|/|\s)\s*([a-f])[.)]?)?$")


def parse_concepts(reply: str | None) -> list[str]:
    """Category letters (sorted, e.g. ``["a", "e"]``) named by a concept reply; [] when undetermined.

    Accepts ``(a)``-style letters anywhere, a reply made only of one or two bare letters (``e``,
    ``a, e``), or the category names spelled out. More than two distinct categories is undetermined.
    The letters feed :func:`pixbench.metrics.analysis.concept_histogram`; names are in
    :data:`CONCEPT_CATEGORIES`.
    """
    text = _normalise(reply).lower()
    letters = set(_LETTER_IN_PARENS.findall(text))
    if not letters:
        bare = _BARE_LETTERS.match(text)
        if bare:
            letters = {g for g in bare.groups() if g}
    if not letters:
        letters = {letter for letter, name in CONCEPT_CATEGORIES.items() if name in text}
    if not 1 <= len(letters) <= 2:
        return []
    return sorted(letters)


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


class _CachingJudge:
    """Shared machinery: cache lookups, de-duplication, a bounded thread pool and progress."""

    model: str
    endpoint: str

    def __init__(
        self, *, model: str, temperature: float, cache: JudgeCache | None, refresh: bool, concurrency: int
    ) -> None:
        if concurrency < 1:
            raise ValueError(f"Expected argument `concurrency` to be >= 1, but got {concurrency}")
        self.model = model
        self.temperature = float(temperature)
        self.cache = cache
        self.refresh = refresh
        self.concurrency = concurrency
        self._secrets: tuple[str, ...] = ()

    def _ask_one(self, messages: list[Message]) -> tuple[str, str | None]:
        """Return (reply text, served model) or raise :class:`_CallError`."""
        raise NotImplementedError

    def _scrub(self, text: str) -> str:
        for secret in self._secrets:
            if secret:
                text = text.replace(secret, "***")
        return text

    def _lookup(self, key: str) -> CachedReply | None:
        if self.cache is None or self.refresh:
            return None
        try:
            return self.cache.get(key)
        except Exception as exc:  # a broken cache must not stop scoring, but must be visible
            logger.warning("judge cache %s: read failed (%s); asking the judge", self.cache.path, exc)
            return None

    def _resolve(self, key: str, messages: list[Message]) -> JudgeResult:
        try:
            text, served = self._ask_one(messages)
        except _CallError as exc:
            message = self._scrub(str(exc))
        except Exception as exc:
            detail = f"{type(exc).__name__}: {exc}"
            message = self._scrub(f"judge request to {self.endpoint} failed: {detail}")[:600]
        else:
            if self.cache is not None:
                try:
                    self.cache.put(key, model=self.model, protocol=JUDGE_PROTOCOL_VERSION, reply=text,
                                   served_model=served)
                except Exception as exc:
                    logger.warning("judge cache %s: write failed (%s)", self.cache.path, exc)
            return JudgeResult(text=text, served_model=served, cached=False)
        logger.warning("%s", message)
        return JudgeResult(text=None, served_model=None, cached=False, error=message)

    def ask(self, messages: list[Message]) -> JudgeResult:
        """Ask one request (see :meth:`ask_many`)."""
        return self.ask_many([messages])[0]

    def ask_many(self, requests: Sequence[list[Message]], *, progress: bool = False) -> list[JudgeResult]:
        """One :class:`JudgeResult` per request, in order. Identical requests are asked once."""
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
            elif (stored := self._lookup(key)) is not None:
                hits[key] = results[index] = JudgeResult(stored.reply, stored.served_model, cached=True)
            else:
                pending[key] = [index]
                work.append((key, messages))
        logger.info("judge %s at %s: %d requests, %d cached, %d to ask", self.model, self.endpoint,
                    len(requests), len(requests) - sum(len(v) for v in pending.values()), len(work))

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
            if self.concurrency == 1 or len(work) <= 1:
                for key, messages in work:
                    record(key, self._resolve(key, messages))
            else:
                self._run_pool(work, record)
        finally:
            if bar is not None:
                bar.close()
        missing = JudgeResult(None, None, False, "internal: no result")
        return [r if r is not None else missing for r in results]

    def _run_pool(
        self, work: list[tuple[str, list[Message]]], record: Callable[[str, JudgeResult], None]
    ) -> None:
        pool = ThreadPoolExecutor(max_workers=min(self.concurrency, len(work)), thread_name_prefix="judge")
        try:
            futures: dict[Future[JudgeResult], str] = {
                pool.submit(self._resolve, key, messages): key for key, messages in work
            }
            remaining = set(futures)
            while remaining:
                done, remaining = wait(remaining, return_when=FIRST_COMPLETED)
                for future in done:
                    record(futures[future], future.result())
        finally:
            # On Ctrl-C: drop queued requests; verdicts already received are in the cache.
            pool.shutdown(wait=True, cancel_futures=True)

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


class OpenAICompatibleJudge(_CachingJudge):
    """A judge on any OpenAI-compatible chat-completions server, via the official ``openai`` client.

    The key comes from ``api_key`` or ``$OPENAI_API_KEY``; a custom ``base_url`` (else
    ``$OPENAI_BASE_URL``) without a key gets a placeholder. Requests run on ``concurrency`` threads
    (16 by default: 300 verdicts at 200 ms latency take about 4.5 s, a load OpenAI rate limits absorb).
    Rate limits (429), 408/409, 5xx, timeouts and connection errors are retried up to ``max_retries``
    times, waiting ``Retry-After`` when given, else ``backoff * 2**attempt`` with jitter, both capped at
    ``max_backoff`` seconds. Malformed bodies and empty replies are errors and are not retried.
    """

    def __init__(
        self,
        *,
        model: str = "gpt-4o",
        base_url: str | None = None,
        api_key: str | None = None,
        temperature: float = 0.0,
        timeout: float = 60.0,
        max_retries: int = 5,
        concurrency: int = 16,
        cache: JudgeCache | None = None,
        refresh: bool = False,
        max_tokens: int | None = 32,
        backoff: float = 1.0,
        max_backoff: float = 60.0,
    ) -> None:
        super().__init__(model=model, temperature=temperature, cache=cache, refresh=refresh,
                         concurrency=concurrency)
        if max_retries < 0:
            raise ValueError(f"Expected argument `max_retries` to be >= 0, but got {max_retries}")
        try:
            import openai
        except ImportError as exc:
            raise ImportError(
                'The OpenAI-compatible judge needs the `openai` package: pip install "pixbench[judge]"'
            ) from exc
        url = base_url or os.environ.get("OPENAI_BASE_URL") or DEFAULT_OPENAI_ENDPOINT
        self.endpoint = _public_endpoint(url)
        key = api_key or os.environ.get("OPENAI_API_KEY")
        if not key:
            if _public_endpoint(url) == DEFAULT_OPENAI_ENDPOINT:
                raise ValueError(
                    f"No API key for the judge at {self.endpoint}: set OPENAI_API_KEY, pass api_key, "
                    "or give base_url of a local OpenAI-compatible server"
                )
            key = "pixbench-no-key"
        else:
            self._secrets = (key,)
        self.max_retries = max_retries
        self.timeout = timeout
        self.max_tokens = max_tokens
        self.backoff = backoff
        self.max_backoff = max_backoff
        self._openai = openai
        self._client = openai.OpenAI(api_key=key, base_url=url, timeout=timeout, max_retries=0)
        self._closed = threading.Event()

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
        text = f"judge request to {self.endpoint} failed after {attempts} attempt(s): {detail}"
        return _CallError(self._scrub(text)[:600])

    def _retryable(self, exc: Exception) -> bool:
        openai = self._openai
        if isinstance(exc, openai.APIStatusError):
            if exc.code == "insufficient_quota":
                return False
            return exc.status_code in _RETRYABLE_STATUS or exc.status_code >= 500
        return isinstance(exc, openai.APIConnectionError)

    def _ask_one(self, messages: list[Message]) -> tuple[str, str | None]:
        kwargs: dict[str, Any] = {"model": self.model, "messages": messages, "temperature": self.temperature}
        if self.max_tokens is not None:
            kwargs["max_tokens"] = self.max_tokens
        attempt = 0
        while True:
            try:
                completion: Any = self._client.chat.completions.create(**kwargs)
            except self._openai.APIError as exc:
                if attempt >= self.max_retries or not self._retryable(exc) or self._closed.is_set():
                    raise self._fail(attempt + 1, self._describe(exc)) from None
                delay = self._wait_before_retry(attempt, exc)
                logger.info("judge %s: %s; retry %d/%d in %.2f s", self.endpoint,
                            self._scrub(self._describe(exc))[:200], attempt + 1, self.max_retries, delay)
                time.sleep(delay)
                attempt += 1
                continue
            except ValueError as exc:  # e.g. a JSON decode error on a body labelled as JSON
                raise self._fail(attempt + 1, f"malformed response: {type(exc).__name__}: {exc}") from None
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

    def close(self) -> None:
        """Close the HTTP client; the cache stays open."""
        self._closed.set()
        self._client.close()

    def __repr__(self) -> str:
        return (
            f"OpenAICompatibleJudge(model={self.model!r}, endpoint={self.endpoint!r}, "
            f"concurrency={self.concurrency}, max_retries={self.max_retries}, cache={self.cache!r})"
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
        temperature: float = 0.0,
        cache: JudgeCache | None = None,
        refresh: bool = False,
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
            raise _CallError(f"judge request to {self.endpoint} failed: {detail}") from None
        if not isinstance(text, str) or not text.strip():
            raise _CallError(f"judge request to {self.endpoint} failed: empty reply")
        return text, self.served_model

    def __repr__(self) -> str:
        return f"FakeJudge(model={self.model!r}, cache={self.cache!r})"
