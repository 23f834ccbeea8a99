"""The published judge protocol: exact prompts, strict reply parsers, protocol version and temperature.

Pure text in, text out: no network, no files, no client (those are :mod:`pixbench.judge.client` and
:mod:`pixbench.judge.cache`, built on :mod:`pixbench.chat`). :data:`Message`, :data:`RefreshMode` and
:data:`REFRESH_MODES` are :mod:`pixbench.chat.messages`'.

Prompts (``metrics.md`` section 4, ``baselines.md`` "Automatic selection"), each a list of OpenAI chat
messages:

- :func:`accuracy_messages` - A-dagger: does a free-form ``vqa`` response answer the question correctly?
  Parsed by :func:`parse_yes_no`.
- :func:`presence_messages` - does the image contain the expression? (:func:`parse_yes_no`)
- :func:`selection_messages` - which of N red-tinted candidate images highlights the expression best?
  Images follow the text as ``image_url`` parts in candidate order 1..N. Parsed by :func:`parse_choice`.
- :func:`concept_messages` - concept category of a noun phrase (analysis 6), parsed by
  :func:`parse_concepts`.

:func:`verdict_of` gives the parsed verdict of a reply to any of these prompts, as stored in the cache;
``refresh="undetermined"`` re-asks only cached replies whose verdict is ``undetermined``.
:func:`refresh_argument` and :func:`temperature_argument` parse the matching command-line options.
"""

from __future__ import annotations

import argparse
import math
import re
from collections.abc import Sequence
from typing import Any, Literal

from pixbench.chat.messages import REFRESH_MODES, Message, RefreshMode
from pixbench.metrics.analysis import CONCEPT_CATEGORIES

__all__ = [
    "ACCURACY_SYSTEM",
    "CONCEPT_CATEGORIES",
    "CONCEPT_SYSTEM",
    "DEFAULT_JUDGE_TEMPERATURE",
    "JUDGE_PROTOCOL_VERSION",
    "REFRESH_MODES",
    "Message",
    "RefreshMode",
    "accuracy_messages",
    "concept_messages",
    "parse_choice",
    "parse_concepts",
    "parse_yes_no",
    "presence_messages",
    "refresh_argument",
    "selection_messages",
    "temperature_argument",
    "verdict_of",
]

#: Version of the prompts and parsing rules below; part of every cache key. Bump it when a prompt changes.
JUDGE_PROTOCOL_VERSION = "pixfoundation-judge-v1"
#: Sampling temperature of the judge in the published A-dagger protocol (``pixfoundation-v1``: GPT-4o at 0.2).
#: It is part of every cache key, so verdicts asked at another temperature are not reused.
DEFAULT_JUDGE_TEMPERATURE = 0.2

ACCURACY_SYSTEM = (
    "You are a helpful and precise assistant for checking the quality of the answer. "
    "Please answer in only yes or no."
)
CONCEPT_SYSTEM = "You are a careful linguistic annotator. Answer with category letters only."
_PRESENCE_SUFFIX = "Answer yes/no only."
_SELECTION_TAIL = re.compile(r"Answer with a number from 1 to (\d+)\. Mention the number only\.$")


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
    text = f"Does this image have {expression}? {_PRESENCE_SUFFIX}"
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
    system = CONCEPT_SYSTEM
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


def _first_text(message: Message) -> str:
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list) and content and isinstance(content[0], dict):
        text = content[0].get("text")
        return text if isinstance(text, str) else ""
    return ""


def verdict_of(messages: Sequence[Message], reply: str | None) -> str | None:
    """The parsed verdict of ``reply`` to one of this module's prompts, as stored in the cache.

    ``yes``/``no``/``undetermined`` for :func:`accuracy_messages` and :func:`presence_messages`; the
    choice (``"2"``) or ``undetermined`` for :func:`selection_messages`; the letters (``"a,e"``) or
    ``undetermined`` for :func:`concept_messages`. None for messages that are none of these prompts.
    """
    if not messages or not isinstance(messages[0], dict):
        return None
    if messages[0].get("role") == "system":
        system = messages[0].get("content")
        if system == ACCURACY_SYSTEM:
            return parse_yes_no(reply)
        if system == CONCEPT_SYSTEM:
            return ",".join(parse_concepts(reply)) or "undetermined"
        return None
    text = _first_text(messages[-1])
    if text.endswith(_PRESENCE_SUFFIX):
        return parse_yes_no(reply)
    match = _SELECTION_TAIL.search(text)
    if match:
        choice = parse_choice(reply, int(match.group(1)))
        return "undetermined" if choice is None else str(choice)
    return None


# ------------------------------------------------------------------------------------ command-line options


def refresh_argument(text: str) -> RefreshMode:
    """``--refresh-judge [all|undetermined]`` value (argparse ``type``)."""
    value = text.strip().lower()
    if value == "all":
        return "all"
    if value == "undetermined":
        return "undetermined"
    raise argparse.ArgumentTypeError(
        f"expected all or undetermined, but got {text!r} (--refresh-judge alone means all: put it after the "
        "predictions files, or write --refresh-judge=all)"
    )


def temperature_argument(text: str) -> float:
    """``--judge-temperature`` value (argparse ``type``): a finite number >= 0."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"expected a judge temperature >= 0, e.g. 0.2, but got {text!r}")
    return value
