"""Noun phrases of a response, the tokens that spell them, and phrase-to-expression similarity.

Step 4 and the ``score`` of step 7 of ``baselines.md``:

- A *parser* is any callable ``parser(text) -> iterable of (start_char, end_char, text, root_text)``
  (:class:`PhraseSpan` is such a tuple), offsets into ``text`` with ``end_char`` exclusive. The published
  default is spaCy's ``en_core_web_lg`` noun chunks (:class:`SpacyPhrases`, :func:`load_spacy`; the
  model is the user's to install). :class:`RuleBasedChunker` is a small dependency-free chunker for tests
  and offline use.
- Token character spans come from incremental decoding (:func:`token_char_spans`): token ``i`` covers
  ``[len(decode(ids[:i])), len(decode(ids[:i + 1])))`` of the response. A token belongs to a phrase
  when the two half-open spans overlap (:func:`group_tokens`).
- A *similarity* is a callable ``similarity(phrase, expression) -> float``. Both strings are first
  normalised by :func:`normalise_phrase` (lowercase, one leading ``the ``/``an ``/``a `` removed).
  spaCy's is the cosine of the two documents' mean word vectors (0.0 when either has no vector), as
  published. The rule-based fallback, :func:`char_ngram_similarity`, is the cosine of character-trigram
  counts; it is on a different scale than spaCy's, so the ``--select score`` threshold (0.7, calibrated
  on spaCy vectors) does not carry over.
"""

from __future__ import annotations

import logging
import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, NamedTuple

import numpy as np

__all__ = [
    "DEFAULT_SPACY_MODEL",
    "NounPhraseParser",
    "PhraseGroup",
    "PhraseSimilarity",
    "PhraseSpan",
    "PhraseTools",
    "RuleBasedChunker",
    "SpacyPhrases",
    "char_ngram_similarity",
    "group_tokens",
    "load_phrase_tools",
    "load_spacy",
    "normalise_phrase",
    "token_char_spans",
]

logger = logging.getLogger(__name__)

DEFAULT_SPACY_MODEL = "en_core_web_lg"


class PhraseSpan(NamedTuple):
    """A noun phrase found in a text: ``text[start:end] == phrase``; ``root`` is its head word."""

    start: int
    end: int
    text: str
    root: str


NounPhraseParser = Callable[[str], Iterable[tuple[int, int, str, str]]]
PhraseSimilarity = Callable[[str, str], float]


@dataclass(frozen=True)
class PhraseGroup:
    """A noun phrase of the response and the generated tokens that overlap it.

    ``char_start``/``char_end`` are offsets into the response (end exclusive); ``tokens`` are indices
    into the generated tokens (0-based, ascending, never empty).
    """

    text: str
    root: str
    char_start: int
    char_end: int
    tokens: tuple[int, ...]

    @property
    def token_start(self) -> int:
        """Index of the phrase's first token in the generated sequence."""
        return self.tokens[0]


# --------------------------------------------------------------------------------- token spans


def token_char_spans(token_ids: Sequence[int], decode: Callable[[Sequence[int]], str]) -> tuple[np.ndarray, str]:
    """Character span of every generated token, by incremental decoding.

    ``decode(ids)`` must turn a prefix of the generated ids into text the way the response is decoded
    (special tokens skipped). Returns ``(spans, text)``: ``spans`` is an int64 array of shape ``[T, 2]``
    holding ``(start, end)`` per token, ``start`` the decoded length before the token and ``end`` the
    length with it; ``text`` is the decoding of all ``T`` tokens. A token that adds no text (a special
    token) has ``start == end``; decoders that revise earlier characters can give ``end < start``,
    and such a token overlaps no phrase.
    """
    ids = [int(i) for i in token_ids]
    spans = np.zeros((len(ids), 2), dtype=np.int64)
    previous = 0
    text = ""
    for index in range(len(ids)):
        text = decode(ids[: index + 1])
        spans[index] = (previous, len(text))
        previous = len(text)
    return spans, text


def group_tokens(spans: np.ndarray, phrases: Iterable[tuple[int, int, str, str]]) -> list[PhraseGroup]:
    """Group tokens by phrase: token ``j`` joins a phrase when ``start_j < phrase_end`` and ``end_j > phrase_start``.

    ``spans`` is the ``[T, 2]`` array of :func:`token_char_spans`. Phrases keep the parser's order;
    a phrase that no token overlaps is dropped (with a debug log).
    """
    spans = np.asarray(spans, dtype=np.int64).reshape(-1, 2)
    groups: list[PhraseGroup] = []
    for item in phrases:
        start, end, text, root = (int(item[0]), int(item[1]), str(item[2]), str(item[3]))
        if end <= start:
            continue
        members = np.flatnonzero((spans[:, 0] < end) & (spans[:, 1] > start))
        if members.size == 0:
            logger.debug("phrase %r [%d, %d) overlaps no token; dropped", text, start, end)
            continue
        groups.append(PhraseGroup(text, root, start, end, tuple(int(m) for m in members)))
    return groups


# --------------------------------------------------------------------------------- similarity


_ARTICLES = ("the ", "an ", "a ")


def normalise_phrase(text: str) -> str:
    """Lowercase, trim, and remove one leading ``the ``, ``an `` or ``a `` (the published normalisation)."""
    phrase = text.strip().lower()
    for article in _ARTICLES:
        if phrase.startswith(article):
            return phrase[len(article):].strip()
    return phrase


def _ngrams(text: str, n: int) -> Counter[str]:
    padded = f" {' '.join(text.split())} "
    return Counter(padded[k:k + n] for k in range(max(len(padded) - n + 1, 0)))


def char_ngram_similarity(phrase: str, expression: str, n: int = 3) -> float:
    """Cosine similarity of the character ``n``-gram counts of the two normalised strings, in ``[0, 1]``.

    Words are joined by single spaces and padded with one space on each side, so word starts and ends
    count. Two empty strings (after normalisation) score 0.0.
    """
    if n < 1:
        raise ValueError(f"Expected argument `n` to be >= 1, but got {n}")
    first, second = _ngrams(normalise_phrase(phrase), n), _ngrams(normalise_phrase(expression), n)
    dot = sum(count * second.get(gram, 0) for gram, count in first.items())
    norm = math.sqrt(sum(v * v for v in first.values())) * math.sqrt(sum(v * v for v in second.values()))
    return min(1.0, float(dot / norm)) if norm > 0 else 0.0


# --------------------------------------------------------------------------------- rule-based chunker


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_DETERMINERS = _words("""
a an the this that these those my your his her its our their some any each every no another both either
neither several many few much more most all one two three four five six seven eight nine ten
""")
_BREAKS = _words("""
i you he she it we they me him us them myself itself themselves there here what which who whom whose
where when why how whether if then than as so because while although though unless since until
and or but nor yet not also very only just too even still quite rather almost really
in on at of with by for from to into onto over under above below behind near next between beside
besides across through around against along among inside outside toward towards up down off out
about like without within upon via per beneath beyond during after before
is are was were be been being am has have had having do does did can could will would shall should
may might must appear appears appeared seem seems seemed show shows showed shown depict depicts
depicted contain contains contained hold holds held include includes included look looks looked see
sees saw seen wear wears wore worn sit sits sat stand stands stood lie lies lay place placed located
identify identified yes
""")
_COPULAS = _words("is are was were be been being am seems seem seemed looks look looked appears appear appeared")
_WORD = re.compile(r"[A-Za-z0-9]+(?:['\u2019][A-Za-z]+)*(?:-[A-Za-z0-9]+)*")


class RuleBasedChunker:
    """A small, dependency-free noun-phrase chunker (for tests and offline use; spaCy is the default).

    Words are ``[A-Za-z0-9]`` runs (with inner apostrophes and hyphens). A chunk is an optional
    determiner or number followed by one or more content words; it ends at punctuation, at a function
    word (prepositions, conjunctions, pronouns, auxiliaries and common verbs), at a word ending in
    ``-ly``, at a one-letter word (option letters), or at an ``-ing`` word that does not directly
    follow the chunk's determiner ("the hands holding the hat" gives "the hands" and "the hat"; "the
    building" stays one chunk). A determiner starts a new chunk. A chunk without a determiner right
    after a copula ("is tall", "looks open") is a predicate, not a chunk. The root is the chunk's last
    word. Pronouns are not chunks (spaCy makes them one-word chunks).
    """

    def __call__(self, text: str) -> list[PhraseSpan]:
        chunks: list[PhraseSpan] = []
        current: list[re.Match[str]] = []
        has_content = False
        predicate = False  # the chunk began right after a copula without a determiner ("is tall")
        previous = ""
        last_end = 0

        def close() -> None:
            nonlocal current, has_content, predicate
            if has_content and not predicate:
                start, end = current[0].start(), current[-1].end()
                chunks.append(PhraseSpan(start, end, text[start:end], current[-1].group(0)))
            current, has_content, predicate = [], False, False

        for match in _WORD.finditer(text):
            word = match.group(0).lower()
            between = text[last_end:match.start()]
            last_end = match.end()
            after, previous = previous, word
            if current and between.strip():  # punctuation between words ends a chunk
                close()
            if word in _DETERMINERS or word.isdigit():
                if current and has_content:
                    close()
                current.append(match)  # "all the" / "the two": the first determiner starts the chunk
                continue
            if (word in _BREAKS or (word.endswith("ly") and len(word) > 4)
                    or (word.endswith("ing") and len(word) > 4 and not (current and not has_content))
                    or (len(word) == 1 and not word.isdigit())):  # option letters "(b)"
                close()
                continue
            if not current:
                predicate = after in _COPULAS
            current.append(match)
            has_content = True
        close()
        return chunks

    def __repr__(self) -> str:
        return "RuleBasedChunker()"


# --------------------------------------------------------------------------------- spaCy


class SpacyPhrases:
    """spaCy noun chunks as a parser, and spaCy vector cosine as a similarity (the published method).

    ``nlp`` is a loaded pipeline (``spacy.load("en_core_web_lg")``) or any callable returning a spaCy
    ``Doc`` with ``noun_chunks`` and vectors. ``similarity`` caches document vectors of up to 4096
    normalised strings.
    """

    def __init__(self, nlp: Any) -> None:
        self.nlp = nlp
        self._vector = lru_cache(maxsize=4096)(self._vector_uncached)

    def __call__(self, text: str) -> list[PhraseSpan]:
        doc = self.nlp(text)
        return [PhraseSpan(int(c.start_char), int(c.end_char), str(c.text), str(c.root.text)) for c in doc.noun_chunks]

    def _vector_uncached(self, text: str) -> np.ndarray:
        return np.asarray(self.nlp(text).vector, dtype=np.float64)

    def similarity(self, phrase: str, expression: str) -> float:
        """Cosine of the normalised strings' document vectors; 0.0 when either vector is zero."""
        first, second = self._vector(normalise_phrase(phrase)), self._vector(normalise_phrase(expression))
        norm = float(np.linalg.norm(first) * np.linalg.norm(second))
        return float(np.dot(first, second) / norm) if norm > 0 else 0.0

    def __repr__(self) -> str:
        meta = getattr(self.nlp, "meta", None) or {}
        return f"SpacyPhrases({meta.get('lang', '?')}_{meta.get('name', '?')})"


def load_spacy(model: str = DEFAULT_SPACY_MODEL) -> SpacyPhrases:
    """Load a spaCy pipeline by name or path; errors say how to install what is missing."""
    try:
        import spacy
    except ImportError as exc:
        raise ImportError(
            "The spaCy noun-phrase parser needs the `spacy` package: pip install spacy "
            f"&& python -m spacy download {model} (or use the rule-based parser: --phrases rules)"
        ) from exc
    try:
        nlp = spacy.load(model)
    except OSError as exc:
        raise OSError(
            f"spaCy model {model!r} is not installed: python -m spacy download {model} "
            f"(or use the rule-based parser: --phrases rules). spaCy said: {exc}"
        ) from exc
    if not len(getattr(nlp.vocab, "vectors", ())):
        logger.warning("spaCy model %r has no word vectors; phrase similarity will be poor "
                       "(the published setting is en_core_web_lg)", model)
    return SpacyPhrases(nlp)


# --------------------------------------------------------------------------------- choice of tools


@dataclass(frozen=True)
class PhraseTools:
    """A noun-phrase parser and the similarity that goes with it; ``name`` is recorded with the run."""

    name: str
    parser: NounPhraseParser
    similarity: PhraseSimilarity


def load_phrase_tools(kind: str = "spacy", *, spacy_model: str = DEFAULT_SPACY_MODEL) -> PhraseTools:
    """``spacy`` (published: noun chunks and vectors of ``spacy_model``) or ``rules``
    (:class:`RuleBasedChunker` and :func:`char_ngram_similarity`)."""
    if kind == "spacy":
        tools = load_spacy(spacy_model)
        return PhraseTools(f"spacy:{spacy_model}", tools, tools.similarity)
    if kind == "rules":
        return PhraseTools("rules:char-trigram", RuleBasedChunker(), char_ngram_similarity)
    raise ValueError(f"Expected the phrase parser to be 'spacy' or 'rules', but got {kind!r}")
