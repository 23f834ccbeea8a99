"""The papers' numbers beside yours: published rows, the protocol each was measured under, and how a result compares.

**Where the rows live.** A benchmark folder may hold ``published.tsv``
(:meth:`~pixbench.benchmarks.base.Benchmark.published_rows`), one row per published method and setting: its
``section`` and ``method`` (as printed), the metric keys of the benchmark's report columns that the table gives
(``-``: printed as not measured), ``source`` (where the row comes from: paper and table, or a URL; default the
benchmark's ``published_source``) and the protocol it was measured under, each column optional (empty or ``-``:
not stated):

- ``selection``: how one mask was chosen: ``none`` (no masks), ``given`` (the model's own mask), ``score``
  (attend-and-segment, "a+s"), ``automatic`` (PixFoundation: a judge picks a candidate; the pick is the line's
  ``selected``, scored with ``--select given``), ``oracle`` (best IoU, PixFoundation†; an upper bound);
- ``base_llm``, ``pixel_grounding_training`` (``yes`` / ``no``), ``judge`` (the LLM that judged the answers),
  ``letter_parser`` (``default`` / ``reference``, the published parser);
- ``probe``, ``layout``: the result group the row measures (a MeViS version, a MoCentric probe and layout);
- ``split``, ``protocol`` (``official``, ``lmms-eval``), ``fps`` (``native``, or the frame rate frames were
  re-sampled at), ``failures`` (``scored 0`` or ``dropped``), ``scored`` (``781 of 793``), ``evaluator`` (the
  script or server that computed the row).

**The probes behind the metrics** (:data:`METRIC_PROBES`): A† is the vqa probe's answers judged by the row's
``judge``, A the letter probe's option letters, M† the masks given with the vqa answers (never asked for), M the
segment probe's masks, S the harmonic mean of max(A, A†) and max(M, M†); a video row's J, F and J&F are its
``probe``'s.

**Naming a row** (``pixbench score --as``): a name matches a row when the two are equal once spaces are collapsed,
case is ignored and bracketed reference numbers (``[10]``, ``[2, 7]``) are left out; ``Llava 1.5 (7B) + (a+s)``
names ``Llava 1.5 (7B) + (a+s) [2]``, ``PixFoundation [†] (7B) (Ours)`` keeps its ``[†]``. No match is an
:class:`UnknownMethodError` that suggests the nearest names (:mod:`difflib`). Without ``--as``, a model whose name
is close to a published method's (:func:`nearest`: letters and digits alone, similarity at least
:data:`GUESS_THRESHOLD`) is offered that row, as a guess.

**Comparing** (:func:`compare`): per metric the row gives, yours, the published value and yours minus published
in points (``None`` where either is not measured); and a warning for each way your settings differ from the
row's protocol: another result group (version, probe, layout), another selection, judge or letter parser,
another protocol, frame rule or number of rows in the means, another split (read from your build's summary).
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pixbench.benchmarks import REGISTRY
from pixbench.builds.layout import BUILD_SUMMARY_FILE
from pixbench.coverage import Coverage, coverage
from pixbench.results import ScoreResult

__all__ = ["GUESS_THRESHOLD", "METRIC_PROBES", "SELECTIONS", "BenchmarkRows", "Comparison", "Guess",
           "MetricDifference", "PublishedEntry", "PublishedSection", "RowProtocol", "UnknownMethodError", "Yours",
           "check_names", "compare", "find_rows", "method_key", "nearest", "published_entries", "published_section"]

#: A row's ``selection`` -> the ``--select`` mode that scores the same choice (``None``: the row has no masks).
SELECTIONS: dict[str, str | None] = {"none": None, "given": "given", "score": "score", "automatic": "given",
                                     "oracle": "oracle"}
SELECTION_TEXT = {"none": "no masks", "given": "the model's own masks", "score": "attend-and-segment (a+s)",
                  "automatic": "PixFoundation's automatic selection (a judge's pick, the lines' `selected`)",
                  "oracle": "oracle selection (best IoU, an upper bound)"}
#: What each metric of a published image table measures.
METRIC_PROBES = {"A_dagger": "vqa probe, answers judged by the row's judge", "A": "letter probe, option letters",
                 "M_dagger": "vqa probe, the masks given with the answers (not asked to segment)",
                 "M": "segment probe, masks when asked to segment", "S": "harmonic mean of max(A, A†) and max(M, M†)"}
#: How close (difflib ratio, 0..1) a model's name must be to a method's to be offered as a guess.
GUESS_THRESHOLD = 0.85
#: The protocol columns of a ``published.tsv``, in the order reports show them.
PROTOCOL_COLUMNS = ("selection", "base_llm", "pixel_grounding_training", "judge", "letter_parser", "probe", "layout",
                    "split", "protocol", "fps", "failures", "scored", "evaluator")
#: How reports name the protocol columns (others by their column name).
PROTOCOL_LABELS = {"base_llm": "base LLM", "pixel_grounding_training": "pixel-grounding trained",
                   "letter_parser": "letter parser"}
_ALLOWED = {"selection": tuple(SELECTIONS), "pixel_grounding_training": ("yes", "no"),
            "letter_parser": ("default", "reference"), "failures": ("scored 0", "dropped")}
_SCORED = re.compile(r"^(\d+) of (\d+)$")
_REFERENCE = re.compile(r"\[\s*\d+(?:\s*,\s*\d+)*\s*\]")


class UnknownMethodError(ValueError):
    """An ``--as`` name no published row carries (the message suggests the nearest names)."""


@dataclass(frozen=True)
class RowProtocol:
    """The protocol a published row was measured under (the columns of the module docstring; ``None``: not
    stated), its table ``section`` and any other column (``other``)."""

    section: str
    selection: str | None = None
    base_llm: str | None = None
    pixel_grounding_training: str | None = None
    judge: str | None = None
    letter_parser: str | None = None
    probe: str | None = None
    layout: str | None = None
    split: str | None = None
    protocol: str | None = None
    fps: float | Literal["native"] | None = None
    failures: str | None = None
    scored: tuple[int, int] | None = None
    evaluator: str | None = None
    other: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_notes(cls, section: str, notes: Mapping[str, str], where: str) -> RowProtocol:
        """The protocol of a row's ``notes`` (its columns besides metrics); ``ValueError`` naming ``where`` (the
        benchmark and method), the column, what it takes and what it got."""
        stated = {key: value.strip() for key, value in notes.items() if value.strip() not in ("", "-")}
        for key, allowed in _ALLOWED.items():
            if key in stated and stated[key] not in allowed:
                raise ValueError(f"{where}: column {key}: expected one of {list(allowed)}, but got {stated[key]!r}")
        fps: float | Literal["native"] | None = None
        if "fps" in stated:
            fps = "native" if stated["fps"] == "native" else _rate(stated["fps"], where)
        scored = None
        if "scored" in stated:
            match = _SCORED.match(stated["scored"])
            if match is None or int(match.group(1)) > int(match.group(2)):
                raise ValueError(f"{where}: column scored: expected 'N of M' (N <= M), but got {stated['scored']!r}")
            scored = (int(match.group(1)), int(match.group(2)))
        named = {key: stated.get(key) for key in PROTOCOL_COLUMNS if key not in ("fps", "scored")}
        return cls(section, **named, fps=fps, scored=scored,
                   other={k: v for k, v in stated.items() if k not in PROTOCOL_COLUMNS})

    @property
    def frames(self) -> str | None:
        """The frame rule as reports print it (``None``: not stated)."""
        if self.fps is None:
            return None
        return "native frames" if self.fps == "native" else f"frames re-sampled at {self.fps:g} fps"

    def items(self) -> list[tuple[str, str]]:
        """The stated fields as (column, text), in :data:`PROTOCOL_COLUMNS` order, then the others."""
        shown = {"fps": self.frames, "scored": f"{self.scored[0]} of {self.scored[1]}" if self.scored else None}
        out = []
        for name in PROTOCOL_COLUMNS:
            value = shown[name] if name in shown else getattr(self, name)
            if value is not None:
                out.append((name, str(value)))
        return out + sorted(self.other.items())

    def described(self, names: Sequence[str]) -> str:
        """The fields ``names`` (of :meth:`items`, and ``section``) that are stated, as one short text:
        ``section: main; selection: score; base LLM: Vicuna (7B)``."""
        stated = dict([("section", self.section), *self.items()])
        return "; ".join(stated[name] if name == "fps" else f"{PROTOCOL_LABELS.get(name, name)}: {stated[name]}"
                         for name in names if stated.get(name))

    def to_json(self) -> dict[str, Any]:
        return {"section": self.section, **{name: text for name, text in self.items() if name not in ("fps", "scored")},
                **({"fps": self.fps} if self.fps is not None else {}),
                **({"scored": list(self.scored)} if self.scored else {})}


def _rate(text: str, where: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 < value < float("inf"):
        raise ValueError(f"{where}: column fps: expected 'native' or frames per second above 0, but got {text!r}")
    return value


@dataclass(frozen=True)
class PublishedEntry:
    """One published row of one benchmark: ``metrics`` the table gives (``None``: printed as not measured), the
    ``protocol`` it was measured under and its ``source``."""

    benchmark: str
    method: str
    metrics: Mapping[str, float | None]
    protocol: RowProtocol
    source: str

    def to_json(self) -> dict[str, Any]:
        return {"method": self.method, "benchmark": self.benchmark, "metrics": dict(self.metrics),
                "protocol": self.protocol.to_json(), "source": self.source}


def published_entries(name: str) -> list[PublishedEntry]:
    """The published rows of the benchmark ``name`` with their protocols (none for a benchmark without a table or
    not in the registry); ``ValueError`` naming the row and column of a protocol value it does not take."""
    benchmark = REGISTRY.get(name)
    if benchmark is None:
        return []
    entries = []
    for row in benchmark.published_rows():
        protocol = RowProtocol.from_notes(row.section, row.notes, f"{name} published row {row.method!r}")
        if protocol.probe is not None and protocol.probe not in benchmark.probes:
            raise ValueError(f"{name} published row {row.method!r}: column probe: expected one of "
                             f"{list(benchmark.probes)}, but got {protocol.probe!r}")
        entries.append(PublishedEntry(name, row.method, dict(row.metrics), protocol, row.source))
    return entries


def method_key(name: str) -> str:
    """A method's name as ``--as`` compares it: spaces collapsed, case folded, bracketed reference numbers left out.

    Examples:
        >>> method_key("Llava 1.5 (7B) + (a+s) [2]") == method_key("llava 1.5  (7b) + (a+s)")
        True
        >>> method_key("PixFoundation [†] (7B) (Ours)")
        'pixfoundation [†] (7b) (ours)'
    """
    return " ".join(_REFERENCE.sub(" ", name).split()).casefold()


def _loose(name: str) -> str:
    """Letters and digits alone (a model's name as files name it: ``llava-1.5-7b``)."""
    return " ".join(re.sub(r"[^0-9a-z]+", " ", method_key(name)).split())


def find_rows(name: str, entries: Sequence[PublishedEntry], scope: str) -> list[PublishedEntry]:
    """The rows of ``entries`` that ``name`` names (:func:`method_key`); :class:`UnknownMethodError` with the
    nearest names when none does (``scope`` says which rows were searched)."""
    wanted = method_key(name)
    found = [entry for entry in entries if method_key(entry.method) == wanted]
    if found:
        return found
    names = list(dict.fromkeys(entry.method for entry in entries))
    keys = {method_key(method): method for method in names}
    close = difflib.get_close_matches(wanted, list(keys), n=5, cutoff=0.4)
    hint = (f"; nearest: {', '.join(repr(keys[key]) for key in close)}" if close
            else f"; {len(names)} published methods there (`pixbench score --published` lists them)" if names
            else "")
    raise UnknownMethodError(f"--as {name!r}: no published row of {scope} is named so (names compare ignoring case, "
                             f"spacing and bracketed reference numbers){hint}")


def check_names(specs: Sequence[str]) -> None:
    """``--as`` values checked before scoring, against every benchmark's rows (``MODEL=METHOD`` or ``METHOD``):
    :class:`UnknownMethodError` for a name no row carries."""
    entries = [entry for name in REGISTRY for entry in published_entries(name)]
    for spec in specs:
        _, method = spec.split("=", 1) if "=" in spec else ("", spec)
        try:
            find_rows(spec, entries, "any benchmark")
        except UnknownMethodError:
            if "=" not in spec:
                raise
            find_rows(method, entries, "any benchmark")


@dataclass(frozen=True)
class Guess:
    """A model whose name is close to a published method's (:func:`nearest`), offered as a guess, never compared
    unasked."""

    model: str
    method: str
    similarity: float
    benchmarks: tuple[str, ...]

    def text(self) -> str:
        return (f"guess (by name only, not checked): model {self.model!r} is nearest to the published "
                f"{self.method!r} ({', '.join(self.benchmarks)}; similarity {self.similarity:.2f}); "
                f"--as {self.model}={_quoted(self.method)} compares them")

    def to_json(self) -> dict[str, Any]:
        return {"model": self.model, "method": self.method, "similarity": round(self.similarity, 4),
                "benchmarks": list(self.benchmarks)}


def _quoted(text: str) -> str:
    return '"' + text.replace('"', '\\"') + '"'


def nearest(model: str, entries: Sequence[PublishedEntry], threshold: float = GUESS_THRESHOLD) -> Guess | None:
    """The published method whose name is nearest to ``model``'s (letters and digits compared), when the
    similarity reaches ``threshold``; ties go to the first row.

    Examples:
        >>> row = PublishedEntry("b", "Llava 1.5 (7B) [10]", {}, RowProtocol("main"), "")
        >>> nearest("llava-1.5-7b", [row]).similarity, nearest("qwen2-vl-7b", [row])
        (1.0, None)
    """
    target = _loose(model)
    best: tuple[float, str] | None = None
    for method in dict.fromkeys(entry.method for entry in entries):
        ratio = difflib.SequenceMatcher(None, target, _loose(method)).ratio()
        if best is None or ratio > best[0]:
            best = (ratio, method)
    if best is None or best[0] < threshold:
        return None
    benchmarks = tuple(dict.fromkeys(entry.benchmark for entry in entries if entry.method == best[1]))
    return Guess(model, best[1], best[0], benchmarks)


@dataclass(frozen=True)
class Yours:
    """The settings of a report that a row's protocol is checked against: the report's ``settings`` (selection,
    letter parser, protocol, frame rate), the judge's ``judge_model`` (``None``: no judge, ``judge_reason`` says
    why) and the ``splits`` of the builds scored (benchmark -> split, where the build summary names it)."""

    settings: Mapping[str, Any]
    judge_model: str | None = None
    judge_reason: str | None = None
    splits: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_report(cls, settings: Mapping[str, Any], judge: Mapping[str, Any],
                    datasets: Mapping[str, Any]) -> Yours:
        """From a report's ``settings``, ``judge`` and ``datasets`` blocks (the splits read from each build's
        summary, when the data is a local folder)."""
        splits = {name: split for name, info in datasets.items()
                  if (split := build_split(info.get("origin", {}) if isinstance(info, Mapping) else {})) is not None}
        model = str(judge["model"]) if judge.get("enabled") and judge.get("model") else None
        return cls(settings, model, None if model else str(judge.get("reason", "not used")), splits)


def build_split(origin: Mapping[str, Any]) -> str | None:
    """The split a local build was made from (its ``build_summary.json``'s ``split``; ``None`` when the data is not
    a local folder or the summary does not say)."""
    path = origin.get("path")
    if not path:
        return None
    try:
        summary = json.loads((Path(str(path)) / BUILD_SUMMARY_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    split = summary.get("split") if isinstance(summary, dict) else None
    return str(split) if split else None


@dataclass(frozen=True)
class MetricDifference:
    """One metric of a comparison: yours, the published value and yours minus published, in points."""

    metric: str
    header: str
    yours: float | None
    published: float | None

    @property
    def difference(self) -> float | None:
        return None if self.yours is None or self.published is None else self.yours - self.published

    def to_json(self) -> dict[str, Any]:
        difference = self.difference
        return {"yours": None if self.yours is None else round(self.yours, 6), "published": self.published,
                "difference": None if difference is None else round(difference, 6)}


@dataclass(frozen=True)
class Comparison:
    """A result beside the published row it was named as (``--as``): the differences per metric the row gives and
    the ways its protocol differs from the row's (``warnings``)."""

    model: str
    label: str
    benchmark: str
    groups: Mapping[str, str | None]
    entry: PublishedEntry
    differences: tuple[MetricDifference, ...]
    warnings: tuple[str, ...]
    coverage: Coverage

    @property
    def where(self) -> str:
        return " ".join(part for part in (self.benchmark, *self.groups.values()) if part)

    def to_json(self) -> dict[str, Any]:
        return {"model": self.model, "label": self.label, "benchmark": self.benchmark, **self.groups,
                "method": self.entry.method, "section": self.entry.protocol.section, "source": self.entry.source,
                "metrics": {d.metric: d.to_json() for d in self.differences}, "warnings": list(self.warnings),
                "scored": self.coverage.to_json()}


def _same_judge(yours: str, row: str) -> bool:
    """``gpt-4o-2024-08-06`` is the row's ``gpt-4o``: a dated snapshot of the model the row names."""
    yours, row = yours.casefold(), row.casefold()
    return yours == row or yours.startswith(row + "-20")


def _warnings(entry: PublishedEntry, result: ScoreResult, yours: Yours, covered: Coverage) -> list[str]:
    row = entry.protocol
    benchmark = REGISTRY.get(entry.benchmark)
    headers = dict(benchmark.labels) if benchmark is not None else {}
    out = []
    groups = result.named_groups
    for name in ("probe", "layout"):
        wanted = getattr(row, name)
        if wanted is not None and groups.get(name) != wanted:
            out.append(f"{headers.get(name, name)}: the row measures {wanted}; yours {groups.get(name) or 'none'}")
    expected = SELECTIONS.get(row.selection) if row.selection else None
    if expected is not None and result.select is not None and result.select != expected:
        out.append(f"selection: the row used {SELECTION_TEXT[row.selection or '']} (--select {expected}); yours "
                   f"--select {result.select}")
    if row.judge is not None:
        if yours.judge_model is None:
            out.append(f"judge: the row's answers were judged by {row.judge}; yours were not judged "
                       f"({yours.judge_reason}), so judged accuracy is not compared")
        elif not _same_judge(yours.judge_model, row.judge):
            out.append(f"judge: the row's answers were judged by {row.judge}; yours by {yours.judge_model} "
                       "(another judge gives other verdicts)")
    parser = yours.settings.get("letter_parser")
    if row.letter_parser is not None and parser is not None and parser != row.letter_parser:
        out.append(f"letters: the row's option letters were read by the {row.letter_parser} parser; yours by "
                   f"--letter-parser {parser}")
    if row.protocol is not None and row.protocol != covered.protocol:
        out.append(f"protocol: the row is scored under {row.protocol}; yours under {covered.protocol}")
    if row.fps is not None:
        mine = covered.fps if covered.fps is not None else "native"
        if mine != row.fps:
            out.append(f"frames: the row's J and F are on {row.frames}; yours on {covered.frames or 'native frames'}")
    if row.scored is not None and row.scored != (covered.scored, covered.total):
        out.append(f"scored: the row's means are over {row.scored[0]} of {row.scored[1]} {covered.noun}; yours over "
                   f"{covered.scored} of {covered.total}")
    if row.split is not None:
        split = yours.splits.get(entry.benchmark)
        if split is None:
            out.append(f"split: the row is on {row.split}; your data does not record its split (a local build's "
                       "summary does)")
        elif split != row.split:
            out.append(f"split: the row is on {row.split}; your build is of {split}")
    return out


def compare(result: ScoreResult, entry: PublishedEntry, yours: Yours) -> Comparison:
    """``result`` beside ``entry``: each metric the row's table gives, and the warnings (module docstring)."""
    benchmark = REGISTRY.get(entry.benchmark)
    headers = dict(benchmark.report_columns) if benchmark is not None else {}
    differences = tuple(MetricDifference(key, headers.get(key, key), _number(result.metrics.get(key)), value)
                        for key, value in entry.metrics.items())
    covered = coverage(result, yours.settings)
    return Comparison(result.model, result.label, result.benchmark, result.named_groups, entry, differences,
                      tuple(_warnings(entry, result, yours, covered)), covered)


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


@dataclass(frozen=True)
class BenchmarkRows:
    """A benchmark's published rows, as ``--published`` shows them (none: it has no table in pixbench)."""

    benchmark: str
    display_name: str
    entries: tuple[PublishedEntry, ...]

    @property
    def sources(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(entry.source for entry in self.entries if entry.source))

    def fields(self) -> tuple[list[str], list[str]]:
        """The protocol fields (``section`` and the columns of :meth:`RowProtocol.items`) that every row states
        alike, and those that differ between rows (or that some rows leave unstated)."""
        stated = [dict([("section", e.protocol.section), *e.protocol.items()]) for e in self.entries]
        names = list(dict.fromkeys(name for row in stated for name in row))
        common = [name for name in names if len({row.get(name) for row in stated}) == 1]
        return common, [name for name in names if name not in common]

    def to_json(self) -> dict[str, Any]:
        return {"benchmark": self.benchmark, "display_name": self.display_name, "sources": list(self.sources),
                "rows": [entry.to_json() for entry in self.entries]}


@dataclass(frozen=True)
class PublishedSection:
    """What ``--published`` and ``--as`` add to a report: the published rows of each benchmark scored (``shown``),
    the results compared with the rows they were named as (``comparisons``) and the guesses by model name."""

    shown: tuple[BenchmarkRows, ...] = ()
    comparisons: tuple[Comparison, ...] = ()
    guesses: tuple[Guess, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"metric_probes": dict(METRIC_PROBES),
                "benchmarks": [rows.to_json() for rows in self.shown],
                "without_rows": [rows.benchmark for rows in self.shown if not rows.entries],
                "as": [comparison.to_json() for comparison in self.comparisons],
                "guesses": [guess.to_json() for guess in self.guesses]}


def _named(spec: str, models: Sequence[str]) -> tuple[list[str], str]:
    """``MODEL=METHOD`` (a model of the report) or ``METHOD`` (every model): the models and the method's name."""
    model, _, method = spec.partition("=")
    if method and model in models:
        return [model], method
    return list(models), spec


def _unknown_model(spec: str, models: Sequence[str]) -> UnknownMethodError | None:
    """The error of ``MODEL=METHOD`` whose model the report does not hold (``None`` for any other value)."""
    model, _, method = spec.partition("=")
    if not method or model in models:
        return None
    return UnknownMethodError(f"--as {spec!r}: {model!r} is not a model of the predictions (models: "
                              f"{', '.join(models)}), and no published row is named {spec!r}")


def published_section(results: Sequence[ScoreResult], yours: Yours, *, show: bool, names: Sequence[str] = (),
                      guess: bool = True) -> PublishedSection:
    """The published rows of the benchmarks of ``results`` (when ``show``), each ``--as`` name (``names``) compared
    with the results of the models it names, and guesses for the models not named (when ``guess``).
    :class:`UnknownMethodError` for a name that no row of a benchmark the model scored carries."""
    benchmarks = list(dict.fromkeys(result.benchmark for result in results))
    entries = {name: published_entries(name) for name in benchmarks}
    shown = tuple(BenchmarkRows(name, REGISTRY[name].display_name if name in REGISTRY else name, tuple(entries[name]))
                  for name in benchmarks) if show else ()
    models = list(dict.fromkeys(result.model for result in results))
    comparisons: list[Comparison] = []
    named: set[str] = set()
    for spec in names:
        targets, method = _named(spec, models)
        scored = [name for name in benchmarks if any(r.model in targets and r.benchmark == name for r in results)]
        scope = " or ".join(scored) + (f" (model {targets[0]})" if len(targets) == 1 < len(models) else "")
        try:
            rows = find_rows(method, [entry for name in scored for entry in entries[name]], scope)
        except UnknownMethodError as exc:
            raise _unknown_model(spec, models) or exc from None
        named.update(targets)
        for model in targets:
            for entry in rows:
                mine = [r for r in results if r.model == model and r.benchmark == entry.benchmark]
                matching = [r for r in mine if all(getattr(entry.protocol, name) in (None, value)
                                                   for name, value in r.named_groups.items())]
                comparisons += [compare(result, entry, yours) for result in (matching or mine)]
    guesses = []
    if guess:
        for model in models:
            if model in named:
                continue
            scored = [name for name in benchmarks if any(r.model == model and r.benchmark == name for r in results)]
            found = nearest(model, [entry for name in scored for entry in entries[name]])
            if found is not None:
                guesses.append(found)
    return PublishedSection(shown, tuple(comparisons), tuple(guesses))
