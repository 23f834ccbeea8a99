"""The published prompts of the three probes, as data with ids, and :func:`render_prompt`.

Sources: the PixFoundation reference scripts (github.com/MSiam/PixFoundation), ``pixmmvp/inference/*.py``,
``pixcvbench/inference/*.py`` and the prompt-sensitivity study (``data/prompts_language_variations.py``,
``data/prompts_lang_grounding_variations.py``, ``data/pixmmvp/*prompt_templates.csv``).

**Probe prompts** (no template; what the reference scripts give the model). The ``vqa`` and ``letter`` prompts
are the benchmark's (:meth:`~pixbench.benchmarks.image.ImageBenchmark.probe_prompt`, any object of the
:class:`PromptFormat` protocol passed as ``benchmark``); this module holds the text helpers they use:

- ``vqa``, by default (PixMMVP): ``{question} {options line}``, e.g.
  ``Are the butterfly's wings closer to being open or closed? (a) Open (b) Closed``.
  PixCV-Bench: CV-Bench's own ``prompt`` verbatim (``{question} Select from the following choices.`` then one
  ``(A) x`` line per option); a row without a ``prompt`` (a :class:`~pixbench.references.ReferenceRow`) gets
  it rebuilt in that format.
- ``letter``, by default (PixMMVP): ``{question} Options:``, one ``A. Open`` line per option, then
  :data:`LETTER_INSTRUCTION`, joined by newlines (:func:`letter_options_prompt`). PixCV-Bench: the CV-Bench
  prompt, a newline, then :data:`LETTER_INSTRUCTION`.
- ``segment``: the model family's template (:data:`SEGMENT_TEMPLATES`) with the row's ``expression``:
  ``vanilla`` MLLMs ``Identify {} in the scene.``, ``lisa`` ``Can you segment {} in this image?``, ``glamm`` and
  ``omg-llava`` ``Can you please segment {} in the given image``, ``llava-g``
  ``Can you identify {} in this image? (with grounding)``. Rows without an expression (PixMMVP's 14 "None"
  questions) have no segment prompt: :class:`ValueError`.

**Question-format templates** ``qa-1`` .. ``qa-10`` (:data:`QUESTION_TEMPLATES`, ``prompt_templates.csv``): three
``{}`` slots, *question*, *options*, *instruction*, separated by ``|`` (the published script's split marker,
removed when rendering). The file's ``\\n`` and ``\\t`` are literal backslash escapes; rendering turns them into a
newline and a tab. Slots: *question* = the row's question; *options* = the options on one line, the benchmark's
:meth:`~PromptFormat.options_line`: ``(a) Open (b) Closed`` (by default: PixMMVP's ``options_text``,
:func:`inline_options`) or ``(A) x (B) y`` (PixCV-Bench), as the study's script put them there;
*instruction* = :data:`LETTER_INSTRUCTION` for the ``letter`` probe (the study's ``qs_ext``: the templates were
made for, and only read by, the letter probe) and empty for ``vqa`` (the vqa probe has no instruction; the
scripts' vqa path read only the question and options parts). The rendered text is stripped. Differences from the
published study, on purpose: it also put random spelling errors in the instruction and options (here the
templates are rendered clean), its files kept ``\\n`` literal, and its letter path re-wrapped the three parts in
the ``Options:`` / ``A.`` layout.

**Grounding templates** ``ground-1`` .. ``ground-7`` (:data:`GROUNDING_TEMPLATES`,
``lang_grounding_prompt_templates.csv``): one ``{}`` slot, the row's ``expression``, for the ``segment`` probe.
``ground-1`` is the GLaMM/OMG-LLaVA prompt, ``ground-2`` LISA's, ``ground-3`` (= ``ground-5``) LLaVA-G's.

The ``vqa`` and ``letter`` probes and the question templates need the benchmark (``render_prompt(...,
benchmark=...)``: its published format and options line); the ``segment`` probe and the grounding and segment
templates need only the row's expression, so they work without one.

Expressions are the dataset's (trimmed; PixCV-Bench Relation rows ``the a and the b``), not the scripts' raw
``Objects.csv`` values (leading space, which LISA's script kept, and PixCV-Bench's ``a and b``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol

if TYPE_CHECKING:
    from pixbench.ground_truth import ReferenceRow

    #: A row a prompt is made for: a ``datasets`` row dict or a :class:`~pixbench.ground_truth.ReferenceRow`.
    Row = ReferenceRow | Mapping[str, Any]

__all__ = ["FAMILIES", "GROUNDING_TEMPLATES", "LETTER_INSTRUCTION", "QUESTION_PROBES", "QUESTION_TEMPLATES",
           "SEGMENT_TEMPLATES", "TEMPLATES", "PromptFormat", "PromptTemplate", "UnknownTemplateError", "get_template",
           "inline_options", "letter_options_prompt", "question_probe", "question_slots", "render_prompt",
           "row_field", "row_options", "row_text"]

TemplateKind = Literal["question", "grounding", "segment"]
Probe = Literal["vqa", "segment", "letter"]

#: The letter probe's instruction (``--question_extension`` of the reference scripts).
LETTER_INSTRUCTION = "Answer with the option's letter from the given choices directly."
#: The probes whose prompt is a question (the benchmark's format; question templates apply to them).
QUESTION_PROBES = ("vqa", "letter")
#: Model families, by the segment prompt the reference scripts give them.
FAMILIES = ("vanilla", "lisa", "glamm", "omg-llava", "llava-g")

_SCRIPTS = "MSiam/PixFoundation"
_QUESTION_CSV = "data/pixmmvp/prompt_templates.csv"
_GROUNDING_CSV = "data/pixmmvp/lang_grounding_prompt_templates.csv"


class UnknownTemplateError(ValueError):
    """A template id or model family that does not exist; the message lists the valid ones."""


class PromptFormat(Protocol):
    """A benchmark's part of a prompt (:class:`~pixbench.benchmarks.image.ImageBenchmark` implements it)."""

    def probe_prompt(self, row: Row, probe: str) -> str:
        """The published prompt of the ``vqa`` or ``letter`` probe for ``row``."""
        ...

    def options_line(self, row: Row) -> str:
        """The row's options on one line: the *options* slot of question templates."""
        ...


@dataclass(frozen=True)
class PromptTemplate:
    """One published prompt template.

    ``text`` is exactly as published: ``{}`` slots, and for question templates the ``|`` part separators and
    the literal ``\\n``/``\\t`` escapes of the CSV file. :meth:`render` fills it.
    """

    id: str
    kind: TemplateKind
    text: str
    source: str
    family: str | None = None

    @property
    def n_slots(self) -> int:
        """How many ``{}`` slots the template has (3 for question templates, 1 otherwise)."""
        return self.text.count("{}")

    def render(self, *values: str) -> str:
        """The template with its slots filled in order, separators removed, escapes turned into characters."""
        if len(values) != self.n_slots:
            raise ValueError(f"Expected {self.n_slots} value(s) for template {self.id!r}, but got {len(values)}")
        text = self.text.replace("|", "") if self.kind == "question" else self.text
        text = text.replace("\\n", "\n").replace("\\t", "\t")
        return text.format(*values).strip()


# The two CSV files of the prompt-sensitivity study, verbatim (Index, Template); tests compare them with
# ../shared/data/pixmmvp/*.csv when present.
_QUESTION_TEXTS = (
    "Ques:{}\\n|{}\\nInstruct:|{}\\nAns:",
    "{}\\n|{}\\n|{}\\nAnswer:",
    "{} |{} |{}",
    "Question-{} |{}. |{}.Answer-",
    "{}\\t|{}\\t|{}Answer::",
    "Question, {} |{}. |{}. Answer,",
    "Q: {}\\n|{}\\n|{}\\nA:",
    "{}\\t|{}\\t|{}A:",
    "{}|{}|{}",
    "Q::{}|{}\\n|{}\\nA::",
)
_GROUNDING_TEXTS = (
    "Can you please segment {} in the given image",
    "Can you segment {} in this image?",
    "Can you identify {} in this image? (with grounding)",
    "Identify {} in the scene, with grounding.",
    "Can you identify {} in this image? (with grounding)",
    "Locate the {} and output a tight mask. If the object does not exist in the image dont generate any masks.",
    "Output mask for the {}.",
)

#: ``qa-1`` .. ``qa-10``: question-format templates (slots question, options, instruction).
QUESTION_TEMPLATES: dict[str, PromptTemplate] = {
    f"qa-{k}": PromptTemplate(f"qa-{k}", "question", text, f"{_SCRIPTS} {_QUESTION_CSV}, Index {k}")
    for k, text in enumerate(_QUESTION_TEXTS, start=1)
}
#: ``ground-1`` .. ``ground-7``: referring-segmentation templates (slot: the expression).
GROUNDING_TEMPLATES: dict[str, PromptTemplate] = {
    f"ground-{k}": PromptTemplate(f"ground-{k}", "grounding", text, f"{_SCRIPTS} {_GROUNDING_CSV}, Index {k}")
    for k, text in enumerate(_GROUNDING_TEXTS, start=1)
}
#: The segment probe's prompt per model family (ids ``segment-{family}``).
SEGMENT_TEMPLATES: dict[str, PromptTemplate] = {
    family: PromptTemplate(f"segment-{family}", "segment", text, f"{_SCRIPTS} {script} (--prompt_for_seg 1)",
                           family)
    for family, text, script in (
        ("vanilla", "Identify {} in the scene.", "pixmmvp/inference/infer_pixfoundation.py"),
        ("lisa", "Can you segment {} in this image?", "pixmmvp/inference/infer_lisa.py"),
        ("glamm", "Can you please segment {} in the given image", "pixmmvp/inference/infer_glamm.py"),
        ("omg-llava", "Can you please segment {} in the given image", "pixcvbench/inference/infer_omgllava.py"),
        ("llava-g", "Can you identify {} in this image? (with grounding)", "pixmmvp/inference/infer_llavag.py"),
    )
}
#: Every template by id.
TEMPLATES: dict[str, PromptTemplate] = {
    **QUESTION_TEMPLATES, **GROUNDING_TEMPLATES, **{t.id: t for t in SEGMENT_TEMPLATES.values()}}


def get_template(template_id: str) -> PromptTemplate:
    """The template with this id; raises :class:`UnknownTemplateError` listing the valid ids."""
    try:
        return TEMPLATES[template_id]
    except (KeyError, TypeError):
        raise UnknownTemplateError(
            f"unknown prompt template {template_id!r}; valid ids: {', '.join(TEMPLATES)}") from None


def _segment_template(family: str) -> PromptTemplate:
    try:
        return SEGMENT_TEMPLATES[family]
    except (KeyError, TypeError):
        raise UnknownTemplateError(
            f"unknown model family {family!r}; valid families: {', '.join(FAMILIES)}") from None


# ----------------------------------------------------------------------------- rows


def row_field(row: Row, name: str) -> Any:
    """The value of ``name`` in a row dict, or attribute of a record (``None`` when it has none)."""
    return row.get(name) if isinstance(row, Mapping) else getattr(row, name, None)


def row_text(row: Row, name: str) -> str:
    """The row's text field ``name``, trimmed; ``ValueError`` when it is missing or blank."""
    value = row_field(row, name)
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"Expected row {row_field(row, 'id')!r} to have a non-empty `{name}`, but got {value!r}")
    return value.strip()


def row_options(row: Row) -> list[str]:
    """The row's option texts, trimmed; ``ValueError`` unless they are a non-empty list of strings."""
    options = row_field(row, "options")
    if not isinstance(options, Sequence) or isinstance(options, str) or not options \
            or not all(isinstance(o, str) for o in options):
        raise ValueError(f"Expected row {row_field(row, 'id')!r} to have a non-empty list of `options`, "
                         f"but got {options!r}")
    return [o.strip() for o in options]


def question_probe(probe: str) -> str:
    """``probe`` when it is ``vqa`` or ``letter`` (the probes a benchmark's question prompt is for), else
    ``ValueError``."""
    if probe not in QUESTION_PROBES:
        raise ValueError(f"Expected probe to be 'vqa' or 'letter' (a question prompt), but got {probe!r}")
    return probe


def inline_options(row: Row) -> str:
    """The options on one line as PixMMVP writes them: the row's ``options_text`` (``(a) Open (b) Closed``),
    else built from its ``options`` in that form."""
    text = row_field(row, "options_text")
    if isinstance(text, str) and text.strip():
        return text.strip()
    return " ".join(f"({chr(97 + k)}) {o}" for k, o in enumerate(row_options(row)))


def letter_options_prompt(question: str, options: Sequence[str]) -> str:
    """The reference scripts' letter prompt: ``{question} Options:``, one ``A. x`` line per option, then
    :data:`LETTER_INSTRUCTION`, joined by newlines."""
    lines = [f"{question} Options:", *(f"{chr(65 + k)}. {o}" for k, o in enumerate(options)), LETTER_INSTRUCTION]
    return "\n".join(lines)


def _needs_benchmark(benchmark: PromptFormat | None, what: str) -> PromptFormat:
    if benchmark is None:
        raise ValueError(f"{what} is the benchmark's: pass benchmark= (e.g. "
                         "pixbench.benchmarks.get_image_benchmark(name))")
    return benchmark


def question_slots(row: Row, probe: str, *, benchmark: PromptFormat | None = None) -> tuple[str, str, str]:
    """``(question, options, instruction)`` for a question-format template (see the module docstring); the
    options line is ``benchmark``'s (:meth:`PromptFormat.options_line`)."""
    if probe not in QUESTION_PROBES:
        raise ValueError(f"question-format templates apply to the vqa and letter probes, not {probe!r}")
    question = row_text(row, "question")
    options = _needs_benchmark(benchmark, "the options line of a question template").options_line(row)
    return question, options, LETTER_INSTRUCTION if probe == "letter" else ""


def _expression(row: Row) -> str:
    expression = row_field(row, "expression")
    if not isinstance(expression, str) or not expression.strip():
        raise ValueError(f"row {row_field(row, 'id')!r} has no referring expression (a 'None' question): "
                         "the segment probe does not apply to it")
    return expression.strip()


def render_prompt(row: Row, *, probe: str, benchmark: PromptFormat | None = None,
                  template: str | PromptTemplate | None = None, family: str = "vanilla") -> str:
    """The prompt of ``probe`` for a dataset row (a ``datasets`` row dict or a ``ReferenceRow``) of ``benchmark``.

    Without ``template`` the published probe prompt (``vqa``/``letter``: the benchmark's
    :meth:`~PromptFormat.probe_prompt`; ``segment``: the ``family``'s template); with a question template
    (``qa-k``, probes ``vqa``/``letter``, options line: the benchmark's) or a grounding/segment template
    (``ground-k``, ``segment-{family}``, probe ``segment``) that template, which takes precedence over
    ``family``. ``benchmark`` may be left out for the segment probe and its templates only.
    Raises :class:`UnknownTemplateError` for an unknown template id or family, ``ValueError`` for an unknown
    probe, a template of the wrong kind for the probe, a missing ``benchmark``, or a row lacking a needed field.
    """
    if probe not in ("vqa", "segment", "letter"):
        raise ValueError(f"Expected probe to be one of 'vqa', 'segment', 'letter', but got {probe!r}")
    chosen = get_template(template) if isinstance(template, str) else template
    if chosen is None:
        if probe == "segment":
            return _segment_template(family).render(_expression(row))
        return _needs_benchmark(benchmark, f"the {probe} probe's prompt").probe_prompt(row, probe)
    if chosen.kind == "question":
        return chosen.render(*question_slots(row, probe, benchmark=benchmark))
    if probe != "segment":
        raise ValueError(f"template {chosen.id!r} is a {chosen.kind} template for the segment probe, "
                         f"not for {probe!r}; use a question template (qa-1 .. qa-10)")
    return chosen.render(_expression(row))
