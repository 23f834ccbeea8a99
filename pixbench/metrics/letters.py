"""Option letters: parse a model's ``letter``-probe response into the chosen option (metric **A**).

Conventions:

- ``options`` are the option *texts* in order (``["Open", "Closed"]``); their letters are ``A, B, C, ...``
  (PixMMVP writes answers as ``(a)``/``(b)``, PixCV-Bench as ``(A)``..``(F)``; letters are
  case-insensitive everywhere). Every parser returns the 0-based index of the chosen option, or
  ``None`` when the response is unparsed (scored wrong and counted). A letter beyond the number of
  options never counts as a choice.
- :func:`parse_option_letter` is pixbench's default parser (contract section 4, "Option letter (A)"),
  tried in this order on the trimmed response:

  1. a leading letter, alone or followed by ``.``, ``)``, ``:``, ``,`` or the end, optionally in
     parentheses: ``B``, ``b.``, ``(b)``, ``(b) Closed``, ``B: closed``. ``A cat sits ...`` is not a
     letter (a letter followed by a space is a word);
  2. ``answer is X``, ``answer is: X`` or ``answer: X`` anywhere (case-insensitive; the last such
     phrase naming a valid letter wins). ``X`` is ``(x)``, or a letter followed by ``.``, ``)``,
     ``:``, ``,`` or the end, or an *upper-case* letter followed by white space (``The answer is B
     because ...``); a lower-case letter followed by a space is the article (``the answer is a cat``);
  3. the whole response equal to an option's text, case-insensitively, trailing ``.`` ignored.

- :func:`parse_option_letter_reference` reproduces the published parser (``--letter-parser
  reference``), kept for parity with published numbers, quirks included (``the answer is: b`` is
  unparsed there because ``answer is`` is split off first and leaves ``: b``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

__all__ = [
    "answer_index",
    "extract_answer_reference",
    "option_letter",
    "parse_option_letter",
    "parse_option_letter_reference",
]

_LETTERS = "abcdefghijklmnopqrstuvwxyz"

# A letter as a token: "(x)", or x followed by one of . ) : , or the end of the text.
_LETTER_TOKEN = re.compile(r"\(([A-Za-z])\)|([A-Za-z])(?=[.):,]|$)")
# After "answer is": additionally an upper-case letter followed by white space.
_ANSWER_TOKEN = re.compile(r"\s*(?:\(([A-Za-z])\)|([A-Za-z])(?=[.):,]|$)|([A-Z])(?=\s))")
_ANSWER_PHRASE = re.compile(r"answer(?:\s+is\s*:?|\s*:)", re.IGNORECASE)
_ANSWER_LETTER = re.compile(r"\(?([A-Za-z])\)?")

# The published parser's keywords, applied in this order.
_REFERENCE_KEYWORDS = ("answer is", "answer is:", "answer:")


def option_letter(index: int) -> str:
    """The upper-case letter of the 0-based option ``index`` (0 -> ``"A"``)."""
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(_LETTERS):
        raise ValueError(f"Expected `index` to be an int in [0, 25], but got {index!r}")
    return _LETTERS[index].upper()


def lettered_options(options: Sequence[str]) -> str:
    """CV-Bench's one-line options ``(A) x (B) y`` (what the judge is shown for PixCV-Bench)."""
    return " ".join(f"({option_letter(k)}) {text}" for k, text in enumerate(options))


def answer_index(answer: str) -> int:
    """0-based index of a dataset answer written as a letter: ``(a)`` -> 0, ``(C)`` -> 2, ``B`` -> 1."""
    match = _ANSWER_LETTER.fullmatch(answer.strip()) if isinstance(answer, str) else None
    if match is None or answer.strip().startswith("(") != answer.strip().endswith(")"):
        raise ValueError(f"Expected `answer` to be an option letter such as '(a)', '(C)' or 'B', "
                         f"but got {answer!r}")
    return _LETTERS.index(match.group(1).lower())


def _check_inputs(response: str, options: Sequence[str]) -> None:
    if not isinstance(response, str):
        raise TypeError(f"Expected `response` to be a str, but got {type(response).__name__}")
    if isinstance(options, str) or not 1 <= len(options) <= len(_LETTERS):
        raise ValueError(f"Expected `options` to be a sequence of 1 to 26 option texts, but got {options!r}")


def _index_of_letter(letter: str, n_options: int) -> int | None:
    index = _LETTERS.index(letter.lower())
    return index if index < n_options else None


def _normalized_text(text: str) -> str:
    return text.strip().lower().rstrip(".").strip()


def parse_option_letter(response: str, options: Sequence[str]) -> int | None:
    """Index of the option a ``letter``-probe response chooses, or ``None`` when unparsed.

    Rules and their order are in the module docstring (contract section 4).
    """
    _check_inputs(response, options)
    text = response.strip()
    n = len(options)

    leading = _LETTER_TOKEN.match(text)
    if leading is not None:
        index = _index_of_letter(leading.group(1) or leading.group(2), n)
        if index is not None:
            return index

    chosen: int | None = None
    for phrase in _ANSWER_PHRASE.finditer(text):
        token = _ANSWER_TOKEN.match(text, phrase.end())
        if token is not None:
            letter = next(group for group in token.groups() if group is not None)
            index = _index_of_letter(letter, n)
            if index is not None:
                chosen = index
    if chosen is not None:
        return chosen

    wanted = _normalized_text(text)
    for index, option in enumerate(options):
        if _normalized_text(option) == wanted:
            return index
    return None


def extract_answer_reference(response: str) -> str:
    """The answer text the published parser extracts from a response (lower case).

    Lower-case and trim; for each of ``answer is``, ``answer is:``, ``answer:`` in that order keep the
    text after its last occurrence; trim; drop trailing ``.``, ``:`` and ``,``; drop leading ``(`` and
    trailing ``)`` (as ``str.lstrip``/``str.rstrip`` do, so repeated ones go too).
    """
    text = response.lower().strip()
    for keyword in _REFERENCE_KEYWORDS:
        if keyword in text:
            text = text.split(keyword)[-1]
    return text.strip().rstrip(".:,").lstrip("(").rstrip(")")


def parse_option_letter_reference(response: str, options: Sequence[str]) -> int | None:
    """Index of the option the published parser matches, or ``None``.

    The extracted text (:func:`extract_answer_reference`) matches option ``i`` when it equals its
    letter (``"b"``) or its lower-cased text (``"closed"``); the published scorer counts a response
    correct exactly when it matches the correct option, so ``parsed == answer_index`` reproduces it.
    Letters are tried before texts: the two can only disagree when an option's text is itself
    another option's letter.
    """
    _check_inputs(response, options)
    text = extract_answer_reference(response)
    for index in range(len(options)):
        if text == _LETTERS[index]:
            return index
    for index, option in enumerate(options):
        if text == option.lower():
            return index
    return None
