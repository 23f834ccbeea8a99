"""``pixbench score`` end to end: read predictions files, load the ground truth, ask the judge, report.

This is the I/O edge around :mod:`pixbench.image_score` (pure per-model scoring) and :mod:`pixbench.score_report`
(formatting). Predictions files are validated against the datasets before anything is scored, and every
problem of every file is reported together.

:func:`evaluate` scores files; :class:`ScoreRequest` is everything a score run is asked (the files and data as
given, every setting that decides a number, bootstrap intervals), :func:`score_request` scores one (the run
with its intervals) and :func:`report_of` makes its report: the one path of `pixbench score`, `view`,
`run --score` and `verify` (:mod:`pixbench.receipts`).
"""

from __future__ import annotations

import logging
import os
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pixbench.annotation.rle import RunsCache
from pixbench.benchmarks import REGISTRY
from pixbench.image_score import ScoringError
from pixbench.predictions import PredictionProblem, PredictionsFile, ReadOptions, read_predictions
from pixbench.problems import shorten
from pixbench.prompts import TEMPLATES
from pixbench.references import load_reference
from pixbench.results import ScoreResult, ScoreSettings

if TYPE_CHECKING:
    from pixbench.score_report import Report

logger = logging.getLogger(__name__)


@dataclass
class JudgeChoice:
    """The judge to use (or none) and the words the report uses for it."""

    judge: Any | None
    reason: str = ""
    cache_path: str | None = None


@dataclass
class Evaluation:
    """Everything a score run produced."""

    results: list[ScoreResult] = field(default_factory=list)
    references: dict[str, Any] = field(default_factory=dict)
    problems: list[PredictionProblem] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    problem_count: int = 0
    warnings: list[str] = field(default_factory=list)
    #: The predictions files as read (their lines and where each came from), in the order given.
    files: list[PredictionsFile] = field(default_factory=list)

    @property
    def per_sample(self) -> list[dict[str, Any]]:
        return [record for result in self.results for record in result.per_sample]


def make_judge(*, no_judge: bool, model: str, base_url: str | None, cache_path: str | None,
               refresh: bool | str | None, retries: int = 5, timeout: float = 60.0, concurrency: int = 16,
               temperature: float | None = None) -> JudgeChoice:
    """The judge the command line asks for: none with ``--no-judge`` or without a key and a base URL.

    ``refresh``: False/None, True or ``"all"`` (ask everything again), ``"undetermined"`` (ask again only
    cached replies that were neither yes nor no). ``temperature`` defaults to the protocol's 0.2
    (:data:`pixbench.judge.DEFAULT_JUDGE_TEMPERATURE`). A bad cache path, URL or setting raises
    ValueError (the cache file is then left untouched).
    """
    if no_judge:
        return JudgeChoice(None, "skipped with --no-judge")
    if not base_url and not os.environ.get("OPENAI_API_KEY") and not os.environ.get("OPENAI_BASE_URL"):
        return JudgeChoice(None, "no OPENAI_API_KEY and no --judge-base-url")
    from pixbench.judge import (
        DEFAULT_JUDGE_TEMPERATURE,
        JudgeCache,
        JudgeCacheError,
        OpenAICompatibleJudge,
        default_cache_path,
    )

    path = Path(cache_path).expanduser() if cache_path else default_cache_path()
    try:
        cache = JudgeCache(path)
    except JudgeCacheError as exc:
        raise ValueError(f"--judge-cache {exc}") from None
    try:
        judge = OpenAICompatibleJudge(
            model=model, base_url=base_url, cache=cache, refresh=refresh, max_retries=retries, timeout=timeout,
            concurrency=concurrency,
            temperature=DEFAULT_JUDGE_TEMPERATURE if temperature is None else temperature)
    except BaseException:
        cache.close()
        raise
    return JudgeChoice(judge, "", str(path))


class _ReferenceIndex(Mapping[str, Mapping[Any, Any]]):
    """benchmark -> what its lines are checked against (:meth:`Benchmark.line_index`: an image row's size,
    a video row's frames and canvas), loading each benchmark's ground truth when a line first names it,
    so that the reader checks sizes before any pixel work. Load failures are kept in ``errors`` (that
    benchmark is then unknown to the reader)."""

    def __init__(self, data: Mapping[str, str], revisions: Mapping[str, str] | None = None) -> None:
        self.data = data
        self.revisions = revisions or {}
        self.references: dict[str, Any] = {}
        self.index: dict[str, Mapping[Any, Any]] = {}
        self.errors: dict[str, str] = {}

    def __getitem__(self, benchmark: str) -> Mapping[Any, Any]:
        if benchmark not in self.index and benchmark not in self.errors and benchmark in REGISTRY:
            spec = REGISTRY[benchmark]
            if benchmark not in self.data and not spec.published:
                self.errors[benchmark] = (f"{benchmark}: there is no public copy of {spec.display_name} on the hub "
                                          f"yet; build it with `pixbench build {benchmark}` and pass "
                                          f"--data {benchmark}=PATH")
                raise KeyError(benchmark)
            try:
                reference = load_reference(benchmark, self.data.get(benchmark, spec.hub_id),
                                           revision=self.revisions.get(benchmark))
            except ValueError as exc:
                self.errors[benchmark] = str(exc)
            else:
                self.references[benchmark] = reference
                self.index[benchmark] = spec.line_index(reference)
        return self.index[benchmark]

    def __iter__(self) -> Iterator[str]:
        return iter(self.index)

    def __len__(self) -> int:
        return len(self.index)


def evaluate(paths: Sequence[str | Path], *, data: Mapping[str, str], settings: ScoreSettings,
             judge: JudgeChoice, strict: bool = False, progress: bool = False,
             options: ReadOptions | None = None, workers: int = 1,
             revisions: Mapping[str, str] | None = None) -> Evaluation:
    """Score every (model, benchmark) found in the predictions files.

    ``data`` maps benchmark names to built folders or hub ids (default: the published hub repos);
    ``revisions`` pins the hub revision (a commit) of benchmarks read from the hub.
    Problems in the files, missing rows under ``strict`` and unscorable lines end up in
    ``problems``/``errors`` (results are then empty); ``problem_count`` counts every problem.
    ``workers`` processes score a video benchmark's expressions.
    """
    run = Evaluation()
    index = _ReferenceIndex(data, revisions)
    runs = RunsCache()  # masks' runs, decoded once when validated and reused when scored
    options = replace(options or ReadOptions(), select=settings.select)  # `given` needs a selection per line
    files = [read_predictions(path, index=index, options=options, runs=runs) for path in paths]
    run.files = files
    run.references = index.references
    run.errors.extend(index.errors.values())
    for predictions_file in files:
        run.problems.extend(predictions_file.problems)
        run.problem_count += predictions_file.problem_count
        run.warnings.extend(predictions_file.warnings)
    if run.errors or run.problems:
        return run
    if not any(f.predictions for f in files):
        run.errors.append(f"no prediction lines in {', '.join(str(p) for p in paths)}")
        return run
    groups: dict[tuple[str, str, str | None], list[Any]] = defaultdict(list)
    for predictions_file in files:
        for pred in predictions_file.predictions:
            groups[(pred.model, pred.benchmark, pred.variant)].append(pred)
    run.errors.extend(variant_problems(groups))
    for benchmark in dict.fromkeys(benchmark for _, benchmark, _ in groups):
        try:
            REGISTRY[benchmark].check_settings(settings)
        except ValueError as exc:
            run.errors.append(f"{benchmark}: {exc}")
    if run.errors:
        return run
    for (model, benchmark, variant), predictions in groups.items():
        reference = run.references[benchmark]
        label = f"{model} / {benchmark}" + (f" / variant {variant}" if variant is not None else "")
        if strict:
            run.errors.extend(f"{label} / {message}" for message in REGISTRY[benchmark].unanswered(predictions,
                                                                                                  reference))
            if run.errors:
                continue
        try:
            results = REGISTRY[benchmark].score(
                model=model, predictions=predictions, reference=reference, settings=settings, judge=judge.judge,
                judge_note=judge.reason, progress=progress, variant=variant, runs=runs, workers=workers)
        except ScoringError as exc:
            run.errors.extend(exc.messages)
            continue
        except ValueError as exc:
            run.errors.append(f"{label}: {exc}")
            continue
        if variant is not None and variant not in TEMPLATES:
            note = (f"variant {variant!r} is not a published template id of pixbench.prompts (qa-1..qa-10, "
                    "ground-1..ground-7, segment-*); it is kept as a label")
            results = [replace(result, notes=(*result.notes, note)) for result in results]
        run.results.extend(results)
    if run.errors:
        run.results = []
    return run


def variant_problems(groups: Mapping[tuple[str, str, str | None], Sequence[Any]]) -> list[str]:
    """Lines of one (model, benchmark) must all name a prompt variant, or none of them may.

    The message names the first line without a variant and the first line with one (file and line).
    """
    problems = []
    by_model: dict[tuple[str, str], dict[str | None, Sequence[Any]]] = defaultdict(dict)
    for (model, benchmark, variant), predictions in groups.items():
        by_model[(model, benchmark)][variant] = predictions
    for (model, benchmark), lines in sorted(by_model.items(), key=lambda item: item[0]):
        if None in lines and len(lines) > 1:
            named = sorted(v for v in lines if v is not None)
            bare = min(lines[None], key=lambda p: (p.source, p.line))
            first_named = min((p for v in named for p in lines[v]), key=lambda p: (p.source, p.line))
            problems.append(f"{bare.where}: no `variant`, while other lines of {shorten(model)} / {benchmark} name "
                            f"variants {shorten(named)} (first at {first_named.where}); "
                            f"{len(lines[None])} line(s) lack one: give every line a variant, or none")
    return problems


def sensitivity(results: Sequence[ScoreResult]) -> list[dict[str, Any]]:
    """Spread of every metric across prompt variants, per (model, benchmark) with two or more variants.

    Per metric: ``mean``, ``std`` (population standard deviation, ddof = 0), ``min``, ``max`` and
    ``spread`` (max - min) over the variants where the metric was measured.
    """
    import numpy as np

    grouped: dict[tuple[str, str], list[ScoreResult]] = defaultdict(list)
    for result in results:
        if result.variant is not None:
            grouped[(result.model, result.benchmark)].append(result)
    tables = []
    for (model, benchmark), members in grouped.items():
        if len(members) < 2:
            continue
        metrics: dict[str, Any] = {}
        for name in members[0].metrics:
            values = np.array([m.metrics[name] for m in members if m.metrics.get(name) is not None], float)
            if values.size:
                metrics[name] = {"mean": float(values.mean()), "std": float(values.std()), "min": float(values.min()),
                                 "max": float(values.max()), "spread": float(values.max() - values.min()),
                                 "variants": int(values.size)}
        tables.append({"model": model, "benchmark": benchmark,
                       "variants": [m.variant for m in members], "metrics": metrics})
    return tables


def report_context(run: Evaluation, settings: ScoreSettings, judge: JudgeChoice) -> dict[str, Any]:
    """``settings``, ``datasets`` and ``judge`` blocks of the report."""
    served = sorted({m for result in run.results for m in result.judge_served_models})
    judge_info: dict[str, Any] = {"enabled": judge.judge is not None}
    if judge.judge is not None:
        from pixbench.judge import JUDGE_PROTOCOL_VERSION, redact_url

        temperature = getattr(judge.judge, "temperature", None)
        judge_info.update(model=judge.judge.model,
                          temperature=float(temperature) if temperature is not None else None,
                          endpoint=redact_url(str(judge.judge.endpoint)), served_models=served,
                          prompt_version=JUDGE_PROTOCOL_VERSION, cache=judge.cache_path)
    else:
        judge_info["reason"] = judge.reason
    datasets = {name: {"origin": ref.origin, **({"label_set": ref.label_set} if ref.label_set else {})}
                for name, ref in run.references.items()}
    return {"settings": asdict(settings), "datasets": datasets, "judge": judge_info}


@dataclass(frozen=True)
class Intervals:
    """Bootstrap confidence intervals asked for (``--ci``, ``--bootstrap``, ``--seed``)."""

    level: float
    resamples: int = 10_000
    seed: int = 0


@dataclass(frozen=True)
class ScoreRequest:
    """Everything a score run is asked: the predictions files and the data as given (paths or hub ids, as typed),
    and every setting that decides a number (``settings``, how files are read, ``strict``, ``intervals``).
    ``revisions`` pins the hub revision of benchmarks read from the hub (a receipt's, when verified)."""

    predictions: tuple[str, ...]
    data: Mapping[str, str] = field(default_factory=dict)
    settings: ScoreSettings = field(default_factory=ScoreSettings)
    options: ReadOptions = field(default_factory=ReadOptions)
    strict: bool = False
    intervals: Intervals | None = None
    revisions: Mapping[str, str] = field(default_factory=dict)


def score_request(request: ScoreRequest, judge: JudgeChoice, *, progress: bool = False,
                  workers: int = 1) -> Evaluation:
    """:func:`evaluate` the request's files, then add the bootstrap intervals it asks for to every result that has
    per-row outcomes (results without them are left out, as an interval of them cannot be drawn). A run with
    problems or errors is returned as :func:`evaluate` made it."""
    run = evaluate(request.predictions, data=request.data, settings=request.settings, judge=judge,
                   strict=request.strict, progress=progress, options=request.options, workers=workers,
                   revisions=request.revisions)
    if request.intervals is not None and not (run.problems or run.errors):
        from pixbench.uncertainty import confidence_intervals

        asked = request.intervals
        run.results = [replace(result, ci=confidence_intervals(result.units, level=asked.level,
                                                               resamples=asked.resamples, seed=asked.seed))
                       for result in run.results if result.units is not None]
    return run


def report_of(run: Evaluation, settings: ScoreSettings, judge: JudgeChoice) -> Report:
    """The report of a scored run (:func:`pixbench.score_report.report_document` with :func:`report_context`
    and the prompt-variant tables of :func:`sensitivity`)."""
    from pixbench.score_report import report_document

    return report_document(run.results, **report_context(run, settings, judge), sensitivity=sensitivity(run.results))
