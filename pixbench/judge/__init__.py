"""LLM judge: the published prompts and strict parsers, and the judge built from the project's chat client.

- :mod:`pixbench.judge.protocol` - the exact prompts (A-dagger yes/no, presence, selection, concept
  category), :data:`JUDGE_PROTOCOL_VERSION`, :data:`DEFAULT_JUDGE_TEMPERATURE`, the strict reply parsers
  and :func:`verdict_of`; pure, no network.
- :mod:`pixbench.judge.client` - :data:`Judge` (what scoring needs from a judge),
  :class:`OpenAICompatibleJudge` (a :class:`pixbench.chat.ChatClient` with the protocol's defaults, its
  version in every cache key and :func:`verdict_of` as its verdict parser) and the offline
  :class:`FakeJudge`.
- :mod:`pixbench.judge.cache` - :class:`JudgeCache`, the :class:`pixbench.chat.ReplyCache` of verdicts named
  for the judge, and its default location (:func:`default_cache_path`).

The OpenAI-compatible client itself (retries, fail-fast on a dead endpoint, secrets redacted by
:func:`redact_url`, lone surrogates replaced by :func:`replace_lone_surrogates`) and the SQLite cache (key and
schema) are :mod:`pixbench.chat`'s, which imports nothing of this package. ``JudgeResult``, ``JudgeCacheError``,
``CachedReply``, ``cache_key``, ``redact_url``, ``replace_lone_surrogates`` and ``DEFAULT_OPENAI_ENDPOINT``
are the chat package's, kept here under the names code using the judge has always imported.

Importing this package builds no client and opens no file or connection: a judge is an object the caller
builds and passes in (``openai`` is imported only when an :class:`OpenAICompatibleJudge` is built).
The pure scoring functions live in :mod:`pixbench.metrics`, which never imports this package.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pixbench.judge.protocol import (
    CONCEPT_CATEGORIES,
    DEFAULT_JUDGE_TEMPERATURE,
    JUDGE_PROTOCOL_VERSION,
    REFRESH_MODES,
    Message,
    RefreshMode,
    accuracy_messages,
    concept_messages,
    parse_choice,
    parse_concepts,
    parse_yes_no,
    presence_messages,
    refresh_argument,
    selection_messages,
    temperature_argument,
    verdict_of,
)

#: Names of the client and cache modules, imported when first used (``sqlite3``, ``socket`` and the HTTP
#: stack are not needed to read the protocol's constants, e.g. when building the command line).
_LAZY = {"CachedReply": "cache", "JudgeCache": "cache", "JudgeCacheError": "cache", "cache_key": "cache",
         "default_cache_path": "cache", "replace_lone_surrogates": "cache", "DEFAULT_OPENAI_ENDPOINT": "client",
         "FakeJudge": "client", "Judge": "client", "JudgeResult": "client", "OpenAICompatibleJudge": "client",
         "redact_url": "client"}

if TYPE_CHECKING:
    from pixbench.judge.cache import (
        CachedReply,
        JudgeCache,
        JudgeCacheError,
        cache_key,
        default_cache_path,
        replace_lone_surrogates,
    )
    from pixbench.judge.client import (
        DEFAULT_OPENAI_ENDPOINT,
        FakeJudge,
        Judge,
        JudgeResult,
        OpenAICompatibleJudge,
        redact_url,
    )


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'pixbench.judge' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"pixbench.judge.{module}"), name)


__all__ = [
    "CONCEPT_CATEGORIES",
    "DEFAULT_JUDGE_TEMPERATURE",
    "DEFAULT_OPENAI_ENDPOINT",
    "JUDGE_PROTOCOL_VERSION",
    "REFRESH_MODES",
    "CachedReply",
    "FakeJudge",
    "Judge",
    "JudgeCache",
    "JudgeCacheError",
    "JudgeResult",
    "Message",
    "OpenAICompatibleJudge",
    "RefreshMode",
    "accuracy_messages",
    "cache_key",
    "concept_messages",
    "default_cache_path",
    "parse_choice",
    "parse_concepts",
    "parse_yes_no",
    "presence_messages",
    "redact_url",
    "refresh_argument",
    "replace_lone_surrogates",
    "selection_messages",
    "temperature_argument",
    "verdict_of",
]
