"""Chat with any OpenAI-compatible server: the client, its reply cache and chat messages with images.

- :mod:`pixbench.chat.client` - :class:`ChatClient`, the project's one OpenAI-compatible client (bounded
  concurrency, retries honouring ``Retry-After``, fail-fast on a dead endpoint, refused or accepting
  connections but not answering, secrets redacted, replies cleaned of lone surrogates).
- :mod:`pixbench.chat.base` - what every client shares (:class:`CachingChatClient`: de-duplication, the
  cache, a bounded pool of threads, halting), :class:`ChatResult`, the :class:`ChatClientProtocol`
  callers type against, and the offline :class:`FakeChatClient` for tests.
- :mod:`pixbench.chat.cache` - :class:`ReplyCache`, the SQLite reply cache (key, schema and file checks
  documented there), and :func:`replace_lone_surrogates`.
- :mod:`pixbench.chat.messages` - the :data:`Message` type and images as data URLs
  (:func:`image_data_url`, :func:`image_messages`).
- :mod:`pixbench.chat.redact` - :func:`redact_url` and the redaction of secrets from texts and logs.

The clients do not know what they ask: the LLM judge (:mod:`pixbench.judge`: its prompts, parsers and
protocol version) builds its judge from a :class:`ChatClient`, passing its protocol version (part of the
cache key) and its verdict parser in; ``pixbench run`` passes the model under test as a
:class:`ChatClient`. Importing this package builds no client and opens no file or connection (``sqlite3``,
the HTTP stack and ``openai`` are imported when first used).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pixbench.chat.messages import REFRESH_MODES, Message, RefreshMode, image_data_url, image_messages, image_part

#: Names of the modules imported when first used.
_LAZY = {"CachingChatClient": "base", "ChatClientProtocol": "base", "ChatResult": "base", "FakeChatClient": "base",
         "RequestFailed": "base", "Stopped": "base", "VerdictParser": "base", "DEFAULT_PROTOCOL": "cache",
         "CachedReply": "cache", "ReplyCache": "cache", "ReplyCacheError": "cache", "cache_key": "cache",
         "replace_lone_surrogates": "cache", "DEFAULT_OPENAI_ENDPOINT": "client", "ChatClient": "client",
         "redact_text": "redact", "redact_url": "redact"}

if TYPE_CHECKING:
    from pixbench.chat.base import (
        CachingChatClient,
        ChatClientProtocol,
        ChatResult,
        FakeChatClient,
        RequestFailed,
        Stopped,
        VerdictParser,
    )
    from pixbench.chat.cache import (
        DEFAULT_PROTOCOL,
        CachedReply,
        ReplyCache,
        ReplyCacheError,
        cache_key,
        replace_lone_surrogates,
    )
    from pixbench.chat.client import DEFAULT_OPENAI_ENDPOINT, ChatClient
    from pixbench.chat.redact import redact_text, redact_url


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'pixbench.chat' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"pixbench.chat.{module}"), name)


__all__ = [
    "DEFAULT_OPENAI_ENDPOINT",
    "DEFAULT_PROTOCOL",
    "REFRESH_MODES",
    "CachedReply",
    "CachingChatClient",
    "ChatClient",
    "ChatClientProtocol",
    "ChatResult",
    "FakeChatClient",
    "Message",
    "RefreshMode",
    "ReplyCache",
    "ReplyCacheError",
    "RequestFailed",
    "Stopped",
    "VerdictParser",
    "cache_key",
    "image_data_url",
    "image_messages",
    "image_part",
    "redact_text",
    "redact_url",
    "replace_lone_surrogates",
]
