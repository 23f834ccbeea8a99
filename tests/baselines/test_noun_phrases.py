"""Noun-phrase parsers, token spans from incremental decoding, grouping and similarity."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pixbench.baselines.phrases import (
    PhraseSpan,
    RuleBasedChunker,
    SpacyPhrases,
    char_ngram_similarity,
    group_tokens,
    load_phrase_tools,
    load_spacy,
    normalise_phrase,
    token_char_spans,
)


@pytest.mark.parametrize("text,expected", [
    ("The hands holding the hat.", ["The hands", "the hat"]),
    ("The image shows a kitten's closed eyes, and all the red hats on the left.",
     ["The image", "a kitten's closed eyes", "all the red hats", "the left"]),
    ("The building is tall", ["The building"]),
    ("The wings look open and the cat is a kitten", ["The wings", "the cat", "a kitten"]),
    ("holding the building", ["the building"]),
    ("It is 2 cats near it", ["2 cats"]),
    ("The answer is (b) Closed", ["The answer", "Closed"]),
    ("", []),
    ("it is what it is", []),
])
def test_rule_based_chunker(text, expected):
    spans = RuleBasedChunker()(text)
    assert [s.text for s in spans] == expected
    for span in spans:
        assert text[span.start:span.end] == span.text
        assert span.root == span.text.split()[-1]


def test_normalise_phrase_removes_one_leading_article():
    assert normalise_phrase("  The Red Square ") == "red square"
    assert normalise_phrase("an apple") == "apple"
    assert normalise_phrase("a the cat") == "the cat"
    assert normalise_phrase("theatre") == "theatre"


def test_char_trigram_similarity_by_hand():
    # "square" -> " square " -> trigrams " sq", "squ", "qua", "uar", "are", "re " (6, each once);
    # "red square" adds " re", "red", "ed ", "d s" (10 in all); 6 shared -> 6 / sqrt(6 * 10).
    assert char_ngram_similarity("the red square", "the square") == pytest.approx(6 / math.sqrt(60))
    assert char_ngram_similarity("The Hat", "a hat") == pytest.approx(1.0)
    assert char_ngram_similarity("disc", "square") == 0.0
    assert char_ngram_similarity("the", "a") == 0.0  # both empty after normalisation
    with pytest.raises(ValueError, match="n"):
        char_ngram_similarity("a", "b", n=0)


def test_token_spans_from_incremental_decoding():
    pieces = ["The", " red", "", " hat", "."]

    def decode(ids):
        return "".join(pieces[i] for i in ids)

    spans, text = token_char_spans([0, 1, 2, 3, 4], decode)
    assert text == "The red hat."
    np.testing.assert_array_equal(spans, [[0, 3], [3, 7], [7, 7], [7, 11], [11, 12]])


def test_token_spans_with_the_tiny_tokenizer():
    pytest.importorskip("transformers")
    from pixbench.baselines.tiny import tiny_tokenizer

    tokenizer = tiny_tokenizer()
    ids = tokenizer("the red hat", add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
    spans, text = token_char_spans(ids, lambda t: tokenizer.decode(t, skip_special_tokens=True))
    assert text == "the red hat"
    np.testing.assert_array_equal(spans, [[0, 3], [3, 7], [7, 11], [11, 11]])


def test_group_tokens_uses_half_open_overlap():
    spans = np.array([[0, 3], [3, 7], [7, 11], [11, 12], [12, 12]])
    groups = group_tokens(spans, [(0, 3, "The", "The"), (4, 11, "red hat", "hat"), (12, 12, "", ""),
                                  PhraseSpan(20, 25, "ghost", "ghost")])
    assert [(g.text, g.tokens, g.token_start) for g in groups] == [("The", (0,), 0), ("red hat", (1, 2), 1)]
    assert groups[1].char_start == 4 and groups[1].char_end == 11 and groups[1].root == "hat"


class _FakeNlp:
    """A spaCy-like callable: a hand-parsed Doc for the answer, vectors for short phrases."""

    def __init__(self):
        spacy = pytest.importorskip("spacy")
        from spacy.tokens import Doc

        self.nlp = spacy.blank("en")
        self.Doc = Doc
        for word, vector in {"hat": [1.0, 0.0, 0.0], "cap": [0.8, 0.6, 0.0], "hands": [0.0, 0.0, 1.0]}.items():
            self.nlp.vocab.set_vector(word, np.array(vector, dtype=np.float32))

    def __call__(self, text):
        if text == "The hands holding the hat":
            words = ["The", "hands", "holding", "the", "hat"]
            return self.Doc(self.nlp.vocab, words=words, spaces=[True, True, True, True, False],
                            pos=["DET", "NOUN", "VERB", "DET", "NOUN"], deps=["det", "ROOT", "acl", "det", "dobj"],
                            heads=[1, 1, 1, 4, 2])
        return self.nlp(text)


def test_spacy_phrases_use_noun_chunks_and_vectors():
    phrases = SpacyPhrases(_FakeNlp())
    assert phrases("The hands holding the hat") == [PhraseSpan(0, 9, "The hands", "hands"),
                                                    PhraseSpan(18, 25, "the hat", "hat")]
    assert phrases.similarity("the hat", "a cap") == pytest.approx(0.8)
    assert phrases.similarity("the hat", "the hands") == pytest.approx(0.0)
    assert phrases.similarity("the hat", "zzz") == 0.0  # no vector


def test_missing_spacy_model_says_how_to_install():
    pytest.importorskip("spacy")
    with pytest.raises(OSError, match=r"python -m spacy download pixbench_no_such_model.*--phrases rules"):
        load_spacy("pixbench_no_such_model")


def test_phrase_tools_choice():
    tools = load_phrase_tools("rules")
    assert tools.name == "rules:char-trigram" and tools.parser("the cat")[0].text == "the cat"
    assert tools.similarity("the cat", "a cat") == pytest.approx(1.0)
    with pytest.raises(ValueError, match="'spacy' or 'rules'"):
        load_phrase_tools("nltk")
