"""The two judges of receipts: one that records what a score run's judge replied, one that replies from a receipt.

:class:`VerdictRecorder` wraps any judge (:data:`pixbench.judge.Judge`): it asks it, and keeps every result by the
key the judge's cache files it under (:func:`request_key`), so that the receipt holds exactly the verdicts the
result used. :class:`ReceiptJudge` answers from a receipt's verdicts alone, with no network and no cache: a request
whose key is not in the receipt comes back as a failed request whose error says so (:data:`MISSING`), and is
remembered in :attr:`ReceiptJudge.missing`, so that the caller can name the item (the per-sample record carries the
error).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pixbench.chat.base import ChatResult
from pixbench.chat.cache import cache_key
from pixbench.chat.messages import Message
from pixbench.receipts.format import Verdict

__all__ = ["MISSING", "ReceiptJudge", "VerdictRecorder", "request_key"]

#: The start of the error of a request whose verdict is not in the receipt (the key follows).
MISSING = "no verdict in the receipt for this request"


def request_key(judge: Any, messages: Sequence[Message]) -> str:
    """The cache key of ``messages`` asked of ``judge`` (its model, temperature and prompts' protocol)."""
    return cache_key(model=judge.model, messages=messages, temperature=judge.temperature, protocol=judge.protocol)


class VerdictRecorder:
    """``judge`` itself (every attribute is the judge's), keeping each result it gave in :attr:`verdicts` by
    :func:`request_key`."""

    def __init__(self, judge: Any) -> None:
        self.judge = judge
        self.verdicts: dict[str, Verdict] = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self.judge, name)

    def ask_many(self, requests: Sequence[list[Message]], *, progress: bool = False) -> list[ChatResult]:
        results: list[ChatResult] = self.judge.ask_many(requests, progress=progress)
        for messages, result in zip(requests, results):
            verdict = Verdict(result.text, result.served_model) if result.ok else Verdict(None, None, result.error)
            self.verdicts[request_key(self.judge, messages)] = verdict
        return results


class ReceiptJudge:
    """A judge that replies with a receipt's verdicts (``{cache key: verdict}``), as ``model`` at ``temperature``
    under the prompts' ``protocol``, named ``endpoint`` in reports. ``missing`` maps the key of every request it
    had no verdict for to its messages."""

    unreachable: str | None = None

    def __init__(self, *, model: str, endpoint: str, temperature: float, protocol: str,
                 verdicts: Mapping[str, Verdict]) -> None:
        self.model, self.endpoint, self.temperature, self.protocol = model, endpoint, float(temperature), protocol
        self.verdicts = verdicts
        self.missing: dict[str, list[Message]] = {}

    def ask_many(self, requests: Sequence[list[Message]], *, progress: bool = False) -> list[ChatResult]:
        results = []
        for messages in requests:
            key = request_key(self, messages)
            verdict = self.verdicts.get(key)
            if verdict is None:
                self.missing.setdefault(key, messages)
                results.append(ChatResult(None, None, cached=True, error=f"{MISSING} (key {key})"))
            else:
                results.append(ChatResult(verdict.reply, verdict.served_model, cached=True, error=verdict.error))
        return results

    def close(self) -> None:
        """Nothing to release."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(model={self.model!r}, verdicts={len(self.verdicts)})"
