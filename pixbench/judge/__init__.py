"""LLM judge: the published prompts and strict parsers, the judges that ask them, and their disk cache.

- :mod:`pixbench.judge.protocol` - the exact prompts (A-dagger yes/no, presence, selection, concept
  category), :data:`JUDGE_PROTOCOL_VERSION`, :data:`DEFAULT_JUDGE_TEMPERATURE`, the strict reply parsers
  and :func:`verdict_of`; pure, no network.
- :mod:`pixbench.judge.client` - :class:`Judge` (the protocol scoring needs), :class:`OpenAICompatibleJudge`
  (any OpenAI-compatible server: retries, fail-fast on a dead endpoint, refused or accepting connections
  but not answering, secrets redacted by :func:`redact_url` and from replies) and the offline
  :class:`FakeJudge`.
- :mod:`pixbench.judge.cache` - :class:`JudgeCache`, the SQLite verdict cache (key, schema and location
  documented there), and :func:`replace_lone_surrogates` (every text a judge returns or caches encodes
  as UTF-8).

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
