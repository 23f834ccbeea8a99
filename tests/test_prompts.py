"""The published prompts (``pixbench.prompts``): exact strings, written out by hand, for each probe, family and
template kind, on a PixMMVP row and a PixCV-Bench row (dataset dicts and ``ReferenceRow``s)."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest

from pixbench.benchmarks import get_image_benchmark
from pixbench.prompts import (
    FAMILIES,
    GROUNDING_TEMPLATES,
    LETTER_INSTRUCTION,
    QUESTION_TEMPLATES,
    SEGMENT_TEMPLATES,
    TEMPLATES,
    PromptTemplate,
    UnknownTemplateError,
    get_template,
    question_slots,
    render_prompt,
)
from pixbench.references import ReferenceRow, load_reference

PIXMMVP, PIXCVBENCH = get_image_benchmark("pixmmvp"), get_image_benchmark("pixcvbench")
Q = "Are the butterfly's wings closer to being open or closed?"
#: PixMMVP row 1 as the dataset gives it.
MMVP_ROW: dict[str, Any] = {"id": 1, "question": Q, "options": ["Open", "Closed"],
                            "options_text": "(a) Open (b) Closed", "expression": "the butterfly's wings", "pair_id": 1}
#: CV-Bench idx 10 as the dataset gives it (CV-Bench's own prompt, options on their own lines).
CV_ROW: dict[str, Any] = {
    "id": 10, "source": "ADE20K", "task": "Count", "question": "How many organs are in the image?",
    "prompt": "How many organs are in the image? Select from the following choices.\n(A) 3\n(B) 2\n(C) 1\n(D) 0",
    "options": ["3", "2", "1", "0"], "expression": "the organ"}
LETTER = "Answer with the option's letter from the given choices directly."
EMPTY_RLE = {"size": [2, 2], "counts": [4]}


def reference_row(row: dict[str, Any], **extra: Any) -> ReferenceRow:
    """A ``ReferenceRow`` with the same text fields (no ``prompt``: it is rebuilt)."""
    return ReferenceRow(id=row["id"], height=2, width=2, mask=EMPTY_RLE, question=row["question"],
                        options=tuple(row["options"]), options_text=row.get("options_text") or "", answer="(a)",
                        expression=row["expression"], **extra)


def test_probe_prompts_pixmmvp() -> None:
    for row in (MMVP_ROW, reference_row(MMVP_ROW, groups={"pair_id": 1})):
        assert render_prompt(row, probe="vqa", benchmark=PIXMMVP) == \
            "Are the butterfly's wings closer to being open or closed? (a) Open (b) Closed"
        assert render_prompt(row, probe="letter", benchmark=PIXMMVP) == (
            "Are the butterfly's wings closer to being open or closed? Options:\n"
            "A. Open\n"
            "B. Closed\n"
            "Answer with the option's letter from the given choices directly.")
        assert render_prompt(row, probe="segment") == "Identify the butterfly's wings in the scene."
    # Options built from the list when a row has no options_text.
    bare = {"question": "Is it on?", "options": ["Yes", "No"]}
    assert render_prompt(bare, probe="vqa", benchmark=PIXMMVP) == "Is it on? (a) Yes (b) No"


def test_probe_prompts_pixcvbench() -> None:
    assert render_prompt(CV_ROW, probe="vqa", benchmark=PIXCVBENCH) == CV_ROW["prompt"]
    assert render_prompt(CV_ROW, probe="letter", benchmark=PIXCVBENCH) == (
        "How many organs are in the image? Select from the following choices.\n"
        "(A) 3\n(B) 2\n(C) 1\n(D) 0\n"
        "Answer with the option's letter from the given choices directly.")
    assert render_prompt(CV_ROW, probe="segment") == "Identify the organ in the scene."
    # A ReferenceRow has no prompt: it is rebuilt in CV-Bench's format, giving the same text.
    ref = reference_row(CV_ROW, groups={"source": "ADE20K", "task": "Count"})
    for probe in ("vqa", "letter", "segment"):
        assert render_prompt(ref, probe=probe, benchmark=PIXCVBENCH) == \
            render_prompt(CV_ROW, probe=probe, benchmark=PIXCVBENCH)


def test_the_benchmark_decides_the_format_not_the_row_fields() -> None:
    """A PixMMVP row that happens to carry ``source`` (or a ``prompt``) keeps PixMMVP's format; a PixCV-Bench
    row without them keeps CV-Bench's (the rows used to be told apart by those fields)."""
    row = {**MMVP_ROW, "source": "MMVP", "prompt": "not the published prompt"}
    assert render_prompt(row, probe="vqa", benchmark=PIXMMVP) == f"{Q} (a) Open (b) Closed"
    assert render_prompt(row, probe="letter", benchmark=PIXMMVP) == f"{Q} Options:\nA. Open\nB. Closed\n{LETTER}"
    assert render_prompt(row, probe="letter", benchmark=PIXMMVP, template="qa-3") == \
        f"{Q} (a) Open (b) Closed {LETTER}"
    bare_cv = {k: v for k, v in CV_ROW.items() if k not in ("source", "task", "prompt")}
    assert render_prompt(bare_cv, probe="vqa", benchmark=PIXCVBENCH) == CV_ROW["prompt"]
    assert render_prompt(bare_cv, probe="vqa", benchmark=PIXCVBENCH, template="qa-3") == \
        "How many organs are in the image? (A) 3 (B) 2 (C) 1 (D) 0"
    # The same row, the other benchmark: the other format.
    assert render_prompt(bare_cv, probe="vqa", benchmark=PIXMMVP) == \
        "How many organs are in the image? (a) 3 (b) 2 (c) 1 (d) 0"


class _Bracketed:
    """A benchmark's prompt format written here (the :class:`PromptFormat` protocol)."""

    def probe_prompt(self, row: Any, probe: str) -> str:
        return f"[{probe}] {row['question']}"

    def options_line(self, row: Any) -> str:
        return " / ".join(row["options"])


def test_render_prompt_asks_the_benchmark_it_is_given() -> None:
    assert render_prompt(MMVP_ROW, probe="vqa", benchmark=_Bracketed()) == f"[vqa] {Q}"
    assert render_prompt(MMVP_ROW, probe="letter", benchmark=_Bracketed(), template="qa-3") == \
        f"{Q} Open / Closed {LETTER}"
    # Segment prompts and grounding templates need only the expression: no benchmark needed.
    assert render_prompt({"expression": "the cat"}, probe="segment") == "Identify the cat in the scene."
    assert render_prompt({"expression": "the cat"}, probe="segment", template="ground-7") == \
        "Output mask for the the cat."
    for probe, template in (("vqa", None), ("letter", None), ("vqa", "qa-1")):
        with pytest.raises(ValueError, match="is the benchmark's: pass benchmark="):
            render_prompt(MMVP_ROW, probe=probe, template=template)
    for benchmark in (PIXMMVP, PIXCVBENCH):
        with pytest.raises(ValueError, match="Expected probe to be 'vqa' or 'letter'"):
            benchmark.probe_prompt(MMVP_ROW, "segment")


SEGMENT = {
    "vanilla": "Identify {} in the scene.",
    "lisa": "Can you segment {} in this image?",
    "glamm": "Can you please segment {} in the given image",
    "omg-llava": "Can you please segment {} in the given image",
    "llava-g": "Can you identify {} in this image? (with grounding)",
}


@pytest.mark.parametrize("family", FAMILIES)
def test_segment_prompt_of_each_family(family: str) -> None:
    expected = {
        "vanilla": ("Identify the butterfly's wings in the scene.", "Identify the organ in the scene."),
        "lisa": ("Can you segment the butterfly's wings in this image?", "Can you segment the organ in this image?"),
        "glamm": ("Can you please segment the butterfly's wings in the given image",
                  "Can you please segment the organ in the given image"),
        "omg-llava": ("Can you please segment the butterfly's wings in the given image",
                      "Can you please segment the organ in the given image"),
        "llava-g": ("Can you identify the butterfly's wings in this image? (with grounding)",
                    "Can you identify the organ in this image? (with grounding)"),
    }[family]
    assert render_prompt(MMVP_ROW, probe="segment", family=family) == expected[0]
    assert render_prompt(CV_ROW, probe="segment", family=family) == expected[1]
    assert render_prompt(MMVP_ROW, probe="segment", template=f"segment-{family}") == expected[0]
    assert SEGMENT_TEMPLATES[family].text == SEGMENT[family]
    # The family only picks the segment prompt: the question probes are the same for every family.
    assert render_prompt(MMVP_ROW, probe="letter", benchmark=PIXMMVP, family=family) == \
        render_prompt(MMVP_ROW, probe="letter", benchmark=PIXMMVP)


def test_question_templates_1_and_10_with_newlines() -> None:
    # qa-1: "Ques:{}\n|{}\nInstruct:|{}\nAns:" with \n a literal backslash-n in the file.
    assert render_prompt(MMVP_ROW, probe="letter", benchmark=PIXMMVP, template="qa-1") == (
        "Ques:Are the butterfly's wings closer to being open or closed?\n"
        "(a) Open (b) Closed\n"
        "Instruct:Answer with the option's letter from the given choices directly.\n"
        "Ans:")
    assert render_prompt(MMVP_ROW, probe="vqa", benchmark=PIXMMVP, template="qa-1") == (
        "Ques:Are the butterfly's wings closer to being open or closed?\n"
        "(a) Open (b) Closed\n"
        "Instruct:\n"
        "Ans:")
    # qa-10: "Q::{}|{}\n|{}\nA::"
    assert render_prompt(MMVP_ROW, probe="letter", benchmark=PIXMMVP, template="qa-10") == (
        "Q::Are the butterfly's wings closer to being open or closed?(a) Open (b) Closed\n"
        "Answer with the option's letter from the given choices directly.\n"
        "A::")
    assert render_prompt(MMVP_ROW, probe="vqa", benchmark=PIXMMVP, template=QUESTION_TEMPLATES["qa-10"]) == (
        "Q::Are the butterfly's wings closer to being open or closed?(a) Open (b) Closed\n\nA::")
    # PixCV-Bench: the options on one line, (A) x (B) y.
    assert render_prompt(CV_ROW, probe="letter", benchmark=PIXCVBENCH, template="qa-1") == (
        "Ques:How many organs are in the image?\n"
        "(A) 3 (B) 2 (C) 1 (D) 0\n"
        "Instruct:Answer with the option's letter from the given choices directly.\n"
        "Ans:")
    assert render_prompt(CV_ROW, probe="letter", benchmark=PIXCVBENCH, template="qa-10") == (
        "Q::How many organs are in the image?(A) 3 (B) 2 (C) 1 (D) 0\n"
        "Answer with the option's letter from the given choices directly.\n"
        "A::")


def test_question_templates_tabs_and_trailing_space() -> None:
    # qa-5 "{}\t|{}\t|{}Answer::": \t becomes a tab; qa-3 "{} |{} |{}" with no instruction is stripped.
    assert render_prompt(MMVP_ROW, probe="letter", benchmark=PIXMMVP, template="qa-5") == (
        f"{Q}\t(a) Open (b) Closed\t{LETTER}Answer::")
    assert render_prompt(MMVP_ROW, probe="vqa", benchmark=PIXMMVP, template="qa-3") == f"{Q} (a) Open (b) Closed"
    assert question_slots(MMVP_ROW, "letter", benchmark=PIXMMVP) == (Q, "(a) Open (b) Closed", LETTER_INSTRUCTION)
    assert question_slots(CV_ROW, "vqa", benchmark=PIXCVBENCH) == \
        ("How many organs are in the image?", "(A) 3 (B) 2 (C) 1 (D) 0", "")
    for template in QUESTION_TEMPLATES.values():  # every template renders the three values, no markers left
        text = template.render("QQ", "OO", "II")
        assert "|" not in text and "\\" not in text and "{}" not in text
        assert text.index("QQ") < text.index("OO") < text.index("II")


def test_grounding_templates() -> None:
    assert render_prompt(MMVP_ROW, probe="segment", template="ground-1") == \
        "Can you please segment the butterfly's wings in the given image"
    assert render_prompt(CV_ROW, probe="segment", template="ground-7") == "Output mask for the the organ."
    assert render_prompt(MMVP_ROW, probe="segment", template="ground-4", family="lisa") == \
        "Identify the butterfly's wings in the scene, with grounding."  # the template wins over the family
    assert GROUNDING_TEMPLATES["ground-3"].text == GROUNDING_TEMPLATES["ground-5"].text == SEGMENT["llava-g"]
    assert GROUNDING_TEMPLATES["ground-2"].text == SEGMENT["lisa"]


def test_ids_and_metadata() -> None:
    assert list(QUESTION_TEMPLATES) == [f"qa-{k}" for k in range(1, 11)]
    assert list(GROUNDING_TEMPLATES) == [f"ground-{k}" for k in range(1, 8)]
    assert FAMILIES == ("vanilla", "lisa", "glamm", "omg-llava", "llava-g")
    assert len(TEMPLATES) == 10 + 7 + 5
    assert all(t.n_slots == 3 for t in QUESTION_TEMPLATES.values())
    assert all(t.n_slots == 1 for t in [*GROUNDING_TEMPLATES.values(), *SEGMENT_TEMPLATES.values()])
    assert get_template("qa-3") is QUESTION_TEMPLATES["qa-3"] and isinstance(get_template("ground-2"), PromptTemplate)
    assert "prompt_templates.csv, Index 3" in get_template("qa-3").source


def test_errors() -> None:
    with pytest.raises(UnknownTemplateError, match=r"unknown prompt template 'qa-11'; valid ids: qa-1, qa-2") as info:
        render_prompt(MMVP_ROW, probe="letter", benchmark=PIXMMVP, template="qa-11")
    assert "ground-7" in str(info.value) and "segment-llava-g" in str(info.value)
    with pytest.raises(UnknownTemplateError, match="valid families: vanilla, lisa, glamm, omg-llava, llava-g"):
        render_prompt(MMVP_ROW, probe="segment", family="sam")
    assert issubclass(UnknownTemplateError, ValueError)
    with pytest.raises(ValueError, match="question-format templates apply to the vqa and letter probes"):
        render_prompt(MMVP_ROW, probe="segment", template="qa-1")
    with pytest.raises(ValueError, match="template 'ground-1' is a grounding template for the segment probe"):
        render_prompt(MMVP_ROW, probe="vqa", benchmark=PIXMMVP, template="ground-1")
    with pytest.raises(ValueError, match="Expected probe to be one of"):
        render_prompt(MMVP_ROW, probe="caption", benchmark=PIXMMVP)
    with pytest.raises(ValueError, match=r"row 7 has no referring expression \(a 'None' question\)"):
        render_prompt({**MMVP_ROW, "id": 7, "expression": None}, probe="segment")
    with pytest.raises(ValueError, match="non-empty `question`"):
        render_prompt({"options": ["a", "b"]}, probe="vqa", benchmark=PIXMMVP)
    with pytest.raises(ValueError, match="Expected 3 value"):
        QUESTION_TEMPLATES["qa-1"].render("only one")


def test_rows_of_built_datasets(tiny_built: dict[str, Path]) -> None:
    """Dataset rows and ReferenceRows of the tiny build render as written out here."""
    from pixbench.loaders import hub

    mmvp = hub.load(str(tiny_built["pixmmvp"]))[0]
    assert render_prompt(mmvp, probe="letter", benchmark=PIXMMVP) == \
        f"Is the square red or blue? Options:\nA. Red\nB. Blue\n{LETTER}"
    ref = load_reference("pixmmvp", str(tiny_built["pixmmvp"])).rows[1]
    assert render_prompt(ref, probe="vqa", benchmark=PIXMMVP) == "Is the square red or blue? (a) Red (b) Blue"
    none_row = load_reference("pixmmvp", str(tiny_built["pixmmvp"])).rows[7]
    with pytest.raises(ValueError, match="no referring expression"):
        render_prompt(none_row, probe="segment")
    cv = hub.load(str(tiny_built["pixcvbench"]))[2]  # a Relation row; the tiny build's prompt keeps one line
    assert render_prompt(cv, probe="vqa", benchmark=PIXCVBENCH) == cv["prompt"]
    assert render_prompt(cv, probe="segment", family="lisa") == "Can you segment the table and the lamp in this image?"
    cv_ref = load_reference("pixcvbench", str(tiny_built["pixcvbench"])).rows[2]
    assert render_prompt(cv_ref, probe="letter", benchmark=PIXCVBENCH) == (
        "Considering the relative positions of the table and the lamp in the image provided, where is the table "
        "located with respect to the lamp? Select from the following choices.\n(A) above\n(B) below\n" + LETTER)


def _csv_templates(path: Path) -> list[tuple[int, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return [(int(row["Index"]), row["Template"]) for row in csv.DictReader(handle)]


@pytest.mark.parametrize(("name", "templates"), [("prompt_templates.csv", QUESTION_TEMPLATES),
                                                  ("lang_grounding_prompt_templates.csv", GROUNDING_TEMPLATES)])
def test_shipped_templates_equal_published_files(name: str, templates: dict[str, PromptTemplate],
                                                 shared_data: Path) -> None:
    """The templates shipped in the package are the published files' (skipped without ../shared/data)."""
    path = shared_data / "pixmmvp" / name
    prefix = "qa" if name == "prompt_templates.csv" else "ground"
    assert _csv_templates(path) == [(int(t.id.removeprefix(f"{prefix}-")), t.text) for t in templates.values()]
