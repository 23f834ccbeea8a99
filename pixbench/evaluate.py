"""``pixbench score`` end to end: read predictions files, load the ground truth, ask the judge, report.

This is the I/O edge around :mod:`pixbench.score` (pure per-model scoring) and :mod:`pixbench.report`
(formatting). Predictions files are validated against the datasets before anything is scored, and every
problem of every file is reported together.
"""

from __future__ import annotations

import logging
import os
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pixbench.loaders.layout import HUB_IDS
from pixbench.predictions import PredictionProblem, check_against_dataset, read_predictions
from pixbench.references import Reference, load_reference
from pixbench.score import ScoreSettings, score_model

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

    results: list[dict[str, Any]] = field(default_factory=list)
    references: dict[str, Reference] = field(default_factory=dict)
    problems: list[PredictionProblem] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def per_sample(self) -> list[dict[str, Any]]:
        return [record for result in self.results for record in result.get("per_sample", [])]


def make_judge(*, no_judge: bool, model: str, base_url: str | None, cache_path: str | None,
               refresh: bool, retries: int = 5, timeout: float = 60.0, concurrency: int = 16) -> JudgeChoice:
    """The judge the command line asks for: none with ``--no-judge`` or without a key and a base URL."""
    if no_judge:
        return JudgeChoice(None, "skipped with --no-judge")
    if not base_url and not os.environ.get("OPENAI_API_KEY") and not os.environ.get("OPENAI_BASE_URL"):
        return JudgeChoice(None, "no OPENAI_API_KEY and no --judge-base-url")
    from pixbench.metrics.judge import OpenAICompatibleJudge
    from pixbench.metrics.judge_cache import JudgeCache, default_cache_path

    path = Path(cache_path) if cache_path else default_cache_path()
    judge = OpenAICompatibleJudge(model=model, base_url=base_url, cache=JudgeCache(path), refresh=refresh,
                                  max_retries=retries, timeout=timeout, concurrency=concurrency)
    return JudgeChoice(judge, "", str(path))


def evaluate(paths: Sequence[str | Path], *, data: Mapping[str, str], settings: ScoreSettings,
             judge: JudgeChoice, strict: bool = False, progress: bool = False) -> Evaluation:
    """Score every (model, benchmark) found in the predictions files.

    ``data`` maps benchmark names to built folders or hub ids (default: the published hub repos).
    Problems in the files, missing rows under ``strict`` and unscorable lines end up in
    ``problems``/``errors`` (results are then empty).
    """
    run = Evaluation()
    raw = [read_predictions(path) for path in paths]
    benchmarks = sorted({p.benchmark for f in raw for p in f.predictions})
    for benchmark in benchmarks:
        try:
            run.references[benchmark] = load_reference(benchmark, data.get(benchmark, HUB_IDS[benchmark]))
        except ValueError as exc:
            run.errors.append(str(exc))
    if run.errors:
        return run
    index = {name: ref.sizes for name, ref in run.references.items()}
    files = [check_against_dataset(predictions_file, index) for predictions_file in raw]
    for predictions_file in files:
        run.problems.extend(predictions_file.problems)
    if run.problems:
        return run
    groups: dict[tuple[str, str], list[Any]] = defaultdict(list)
    for predictions_file in files:
        for pred in predictions_file.predictions:
            groups[(pred.model, pred.benchmark)].append(pred)
    for (model, benchmark), predictions in groups.items():
        reference = run.references[benchmark]
        if strict:
            present = defaultdict(set)
            for pred in predictions:
                present[pred.probe].add(pred.id)
            for probe, ids in sorted(present.items()):
                missing = sorted(set(reference.rows) - ids)
                if missing:
                    run.errors.append(f"{model} / {benchmark} / {probe}: {len(missing)} row(s) without a prediction "
                                      f"(--strict): ids {missing[:10]}{' ...' if len(missing) > 10 else ''}")
            if run.errors:
                continue
        try:
            run.results.append(score_model(model=model, predictions=predictions, reference=reference,
                                           settings=settings, judge=judge.judge, judge_note=judge.reason,
                                           progress=progress))
        except ValueError as exc:
            run.errors.append(f"{model} / {benchmark}: {exc}")
    if run.errors:
        run.results = []
    return run


def report_context(run: Evaluation, settings: ScoreSettings, judge: JudgeChoice) -> dict[str, Any]:
    """``settings``, ``datasets`` and ``judge`` blocks of the report."""
    served = sorted({m for result in run.results for m in result.get("judge_served_models", [])})
    judge_info: dict[str, Any] = {"enabled": judge.judge is not None}
    if judge.judge is not None:
        from pixbench.metrics.judge import JUDGE_PROTOCOL_VERSION

        judge_info.update(model=judge.judge.model, endpoint=judge.judge.endpoint, served_models=served,
                          prompt_version=JUDGE_PROTOCOL_VERSION, cache=judge.cache_path)
    else:
        judge_info["reason"] = judge.reason
    datasets = {name: {"origin": ref.origin, **({"label_set": ref.label_set} if ref.label_set else {})}
                for name, ref in run.references.items()}
    return {"settings": asdict(settings), "datasets": datasets, "judge": judge_info}
