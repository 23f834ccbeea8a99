"""Option-letter parsing: the default parser on a table of cases, the published (reference) parser."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pixbench.metrics.letters import (
    answer_index,
    extract_answer_reference,
    option_letter,
    parse_option_letter,
    parse_option_letter_reference,
)

TWO = ["Open", "Closed"]
SIX = ["1", "2", "3", "4", "5", "0"]

DEFAULT_CASES: list[tuple[str, list[str], int | None]] = [
    # The contract's examples.
    ("B", TWO, 1),
    ("b.", TWO, 1),
    ("(b)", TWO, 1),
    ("(b) Closed", TWO, 1),
    ("B: closed", TWO, 1),
    ("A cat sits on the mat.", TWO, None),
    # Leading letter, with white space and each accepted follower.
    ("  A  ", TWO, 0),
    ("a", TWO, 0),
    ("A)", TWO, 0),
    ("A, because the wings are spread", TWO, 0),
    ("(A).", TWO, 0),
    ("\nB.\n", TWO, 1),
    ("F", SIX, 5),
    ("(e)", SIX, 4),
    # A letter followed by anything else is a word, not a letter.
    ("B closed", TWO, None),
    ("Bclosed", TWO, None),
    ("I think it is open", TWO, None),
    # Letters beyond the options are unparsed.
    ("C", TWO, None),
    ("(c)", TWO, None),
    ("G.", SIX, None),
    # "answer is X" / "answer: X" anywhere.
    ("The answer is B.", TWO, 1),
    ("the answer is (a) Open", TWO, 0),
    ("Answer: A", TWO, 0),
    ("answer:b", TWO, 1),
    ("The correct answer is: B", TWO, 1),
    ("Looking closely, the answer is b", TWO, 1),
    ("The answer is B because the wings touch.", TWO, 1),
    ("Final answer: (B)", TWO, 1),
    ("The answer is A. On second thought, the answer is B.", TWO, 1),
    ("The answer is B. The answer is C.", TWO, 1),  # C is out of range: the last valid one counts
    ("The answer is a cat.", TWO, None),  # lower-case letter then a word: the article
    ("The answer is not clear", TWO, None),
    ("The answer is C.", TWO, None),
    # The whole response equal to an option's text.
    ("Closed", TWO, 1),
    ("closed.", TWO, 1),
    ("  OPEN  ", TWO, 0),
    ("The wings are closed.", TWO, None),
    ("3", SIX, 2),
    ("0.", SIX, 5),
    # Nothing.
    ("", TWO, None),
    ("   ", TWO, None),
    ("Yes", TWO, None),
]


@pytest.mark.parametrize(("response", "options", "expected"), DEFAULT_CASES)
def test_parse_option_letter(response: str, options: list[str], expected: int | None) -> None:
    assert parse_option_letter(response, options) == expected


def test_leading_letter_wins_over_option_text() -> None:
    # "B" is both option B's letter and option A's text: the letter rule comes first.
    assert parse_option_letter("B", ["B", "A"]) == 1


def test_out_of_range_leading_letter_falls_through_to_option_text() -> None:
    assert parse_option_letter("P.M.", ["A.M.", "P.M."]) == 1


@pytest.mark.parametrize("options", [[], "AB", ["x"] * 27])
def test_bad_options(options: list[str]) -> None:
    with pytest.raises(ValueError, match="Expected `options`"):
        parse_option_letter("A", options)


def test_bad_response_type() -> None:
    with pytest.raises(TypeError, match="Expected `response`"):
        parse_option_letter(None, TWO)  # type: ignore[arg-type]


LETTER_FORMS = ["{}", "({})", "{}.", "{})", "{}:", "{},", "({}) text", "{}: text"]


@given(st.integers(0, 5), st.sampled_from(LETTER_FORMS), st.booleans())
def test_every_letter_form_parses(index: int, form: str, lower: bool) -> None:
    letter = option_letter(index).lower() if lower else option_letter(index)
    assert parse_option_letter(form.format(letter), SIX) == index
    assert parse_option_letter(f"The answer is {form.format(letter)}", SIX) == index


@given(st.text(max_size=40))
def test_result_is_none_or_a_valid_index(response: str) -> None:
    for parser in (parse_option_letter, parse_option_letter_reference):
        result = parser(response, TWO)
        assert result is None or result in (0, 1)


REFERENCE_CASES: list[tuple[str, list[str], int | None]] = [
    ("B", TWO, 1),
    ("(b)", TWO, 1),
    ("b.", TWO, 1),
    ("  (A).  ", TWO, 0),
    ("Closed", TWO, 1),
    ("closed.", TWO, 1),
    ("The answer is B.", TWO, 1),
    ("The answer is (b)", TWO, 1),
    ("Answer: a", TWO, 0),
    ("answer: open,", TWO, 0),
    # Quirk of the published parser: "answer is" is split off first and leaves ": b".
    ("The answer is: b", TWO, None),
    # Only the text after the last keyword counts.
    ("The answer is a. Final answer: b", TWO, 1),
    # No leading-letter rule: anything after the letter makes it unparsed.
    ("(b) Closed", TWO, None),
    ("B: closed", TWO, None),
    ("B, closed", TWO, None),
    ("A cat", TWO, None),
    ("C", TWO, None),
    ("", TWO, None),
    # lstrip/rstrip drop repeated brackets and trailing punctuation.
    ("((b))", TWO, 1),
    ("b.,:", TWO, 1),
    ("(f)", SIX, 5),
    ("0", SIX, 5),
]


@pytest.mark.parametrize(("response", "options", "expected"), REFERENCE_CASES)
def test_parse_option_letter_reference(response: str, options: list[str], expected: int | None) -> None:
    assert parse_option_letter_reference(response, options) == expected


def test_extract_answer_reference() -> None:
    assert extract_answer_reference("The answer is (B).") == "b"
    assert extract_answer_reference("The answer is: b") == ": b"
    assert extract_answer_reference("Answer: Open.") == "open"
    assert extract_answer_reference("  No keyword here, ") == "no keyword here"


@pytest.mark.parametrize(("answer", "expected"), [("(a)", 0), ("(b)", 1), ("(C)", 2), ("B", 1), (" (f) ", 5),
                                                  ("z", 25)])
def test_answer_index(answer: str, expected: int) -> None:
    assert answer_index(answer) == expected


@pytest.mark.parametrize("answer", ["", "()", "(ab)", "ab", "(a", "b)", "1", "(1)"])
def test_answer_index_rejects(answer: str) -> None:
    with pytest.raises(ValueError, match="Expected `answer`"):
        answer_index(answer)


def test_option_letter_round_trip() -> None:
    assert [option_letter(i) for i in range(3)] == ["A", "B", "C"]
    assert all(answer_index(f"({option_letter(i).lower()})") == i for i in range(26))
    with pytest.raises(ValueError, match="Expected `index`"):
        option_letter(26)
