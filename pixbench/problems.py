"""Collecting problems without losing count, and quoting user values without echoing them whole.

Readers of user files never stop at the first problem. They keep the first ``limit`` problems for
display and count all of them, so a report can say "... and K more" with the true total, and every
message quotes a value through :func:`shorten` so that a 5 MB field never lands in a terminal.
"""

from __future__ import annotations

import reprlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Generic, TypeVar

P = TypeVar("P")

#: How many characters of a user's value a message quotes.
QUOTE_LIMIT = 60


def shorten(value: object, limit: int = QUOTE_LIMIT) -> str:
    """A bounded ``repr`` of a user's value: long strings, numbers and containers are cut (``reprlib``),
    and a cut string says how long it was. Never builds the whole repr of a huge or deep value.

    Examples:
        >>> shorten("abc")
        "'abc'"
        >>> shorten("x" * 1000, limit=10)
        "'xx...xxx' (1000 characters)"
        >>> shorten(list(range(100)))
        '[0, 1, 2, 3, 4, 5, ...]'
    """
    quoter = reprlib.Repr()
    quoter.maxstring = quoter.maxother = quoter.maxlong = limit
    quoter.maxlist = quoter.maxtuple = quoter.maxdict = quoter.maxset = 6
    quoter.maxlevel = 3
    text = quoter.repr(value)
    if isinstance(value, str) and len(value) > limit:
        text += f" ({len(value)} characters)"
    return text


@dataclass
class ProblemLog(Generic[P]):
    """The first ``limit`` problems, and the count of all of them."""

    limit: int | None = 200
    shown: list[P] = field(default_factory=list)
    total: int = 0

    def add(self, problem: P) -> None:
        self.total += 1
        if self.limit is None or len(self.shown) < self.limit:
            self.shown.append(problem)

    @property
    def hidden(self) -> int:
        return self.total - len(self.shown)

    def __iter__(self) -> Iterator[P]:
        return iter(self.shown)

    def __len__(self) -> int:
        return self.total

    def __bool__(self) -> bool:
        return self.total > 0

    def lines(self, show: int | None = None) -> list[str]:
        """The problems as text, at most ``show`` of them, then "... and K more" counting every one."""
        kept = self.shown if show is None else self.shown[:show]
        out = [str(p) for p in kept]
        if self.total > len(kept):
            out.append(f"... and {self.total - len(kept)} more")
        return out
