"""The judge: a :class:`~pixbench.chat.ChatClient` that asks the judge protocol, and its offline fake.

A judge is an object passed in (:data:`Judge`: the requested ``model``, its ``endpoint`` and
``ask_many``), never built at import. :class:`OpenAICompatibleJudge` is the project's chat client
(:class:`pixbench.chat.ChatClient`: bounded concurrency, retries honouring ``Retry-After``, fail fast on a
dead endpoint, secrets redacted, lone surrogates replaced) with what makes it the judge:

- the published protocol's defaults: model ``gpt-4o``, temperature
  :data:`~pixbench.judge.protocol.DEFAULT_JUDGE_TEMPERATURE` (0.2), at most 32 tokens per verdict;
- :data:`~pixbench.judge.protocol.JUDGE_PROTOCOL_VERSION` in every cache key, so changing a prompt
  template invalidates old verdicts (caches written before this module moved keep hitting: the key is the
  same bytes);
- :func:`~pixbench.judge.protocol.verdict_of` as its verdict parser: the cache stores each reply's parsed
  verdict, and ``refresh="undetermined"`` re-asks only cached replies that the prompt's parser could not read;
- messages naming the ``judge``, logged on this module's logger.

:class:`FakeJudge` answers offline from a function, with the same protocol version, parser and temperature.
Both read and write a :class:`~pixbench.judge.cache.JudgeCache`. A failed request never raises out of
``ask_many``: it comes back as a :data:`JudgeResult` whose ``error`` names the endpoint (never the API key).
The prompts and parsers are in :mod:`pixbench.judge.protocol`.

:data:`Judge`, :data:`JudgeResult`, :data:`DEFAULT_OPENAI_ENDPOINT`, :func:`redact_url` and :func:`redact_text`
are the chat package's, under the names this module has always given them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from pixbench.chat.base import ChatClientProtocol, ChatResult, FakeChatClient
from pixbench.chat.cache import ReplyCache
from pixbench.chat.client import DEFAULT_OPENAI_ENDPOINT, ChatClient
from pixbench.chat.redact import redact_text, redact_url
from pixbench.judge.protocol import DEFAULT_JUDGE_TEMPERATURE, JUDGE_PROTOCOL_VERSION, Message, verdict_of

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

#: What scoring needs from a judge: the requested ``model``, its ``endpoint`` and batched asking
#: (:class:`pixbench.chat.ChatClientProtocol`).
Judge = ChatClientProtocol
#: One verdict: reply ``text`` (None on error), ``served_model`` as the server reported it, ``cached``,
#: ``error`` (:class:`pixbench.chat.ChatResult`).
JudgeResult = ChatResult


class OpenAICompatibleJudge(ChatClient):
    """A judge on any OpenAI-compatible chat-completions server: a :class:`~pixbench.chat.ChatClient` with the
    judge protocol's defaults, cache protocol and verdict parser (module docstring).

    Every argument is :class:`~pixbench.chat.ChatClient`'s; the defaults differ: ``model="gpt-4o"``,
    ``temperature`` the published protocol's 0.2, ``max_tokens=32``, ``role="judge"``.
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
        cache: ReplyCache | None = None,
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
        super().__init__(model=model, base_url=base_url, api_key=api_key, temperature=temperature, timeout=timeout,
                         max_retries=max_retries, concurrency=concurrency, cache=cache, refresh=refresh,
                         max_tokens=max_tokens, backoff=backoff, max_backoff=max_backoff,
                         connect_timeout=connect_timeout, max_connection_failures=max_connection_failures, seed=seed,
                         probe_after=probe_after, probe_timeout=probe_timeout, role=role,
                         protocol=JUDGE_PROTOCOL_VERSION, parse_verdict=verdict_of, logger=logger)


class FakeJudge(FakeChatClient):
    """Deterministic offline judge: ``reply(messages) -> str``; goes through the cache when given one.

    Exceptions raised by ``reply`` and empty replies become error results, like transport failures.
    ``calls`` counts the times ``reply`` was invoked. Cache keys and verdicts are the judge's (module docstring).
    """

    def __init__(
        self,
        reply: Callable[[list[Message]], str],
        *,
        model: str = "fake-judge",
        served_model: str | None = None,
        temperature: float = DEFAULT_JUDGE_TEMPERATURE,
        cache: ReplyCache | None = None,
        refresh: bool | str | None = False,
        concurrency: int = 1,
    ) -> None:
        super().__init__(reply, model=model, served_model=served_model, temperature=temperature, cache=cache,
                         refresh=refresh, concurrency=concurrency, role="judge", protocol=JUDGE_PROTOCOL_VERSION,
                         parse_verdict=verdict_of, logger=logger)
