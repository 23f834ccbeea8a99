"""``pixbench score``: score predictions files and write the report (and per-sample lines, intervals, plots)."""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from pixbench.cli.options import (
    Subparsers,
    add_command,
    add_data_option,
    add_judge_options,
    add_read_options,
    add_selection_options,
    check_output_file,
    check_output_folder,
    confidence_level,
    parse_data,
    positive_int,
    print_problems,
    print_warnings,
    read_options,
    report_score_outcome,
)

if TYPE_CHECKING:
    from pixbench.results import ScoreResult, ScoreSettings
    from pixbench.score_files import Evaluation, JudgeChoice
    from pixbench.score_report import Report

__all__ = ["Scored", "cmd_score", "configure", "describe_benchmarks", "keep_freed_memory", "score_arguments",
           "score_files"]


def describe_benchmarks() -> str:
    """The registry's benchmarks by display name, grouped by kind: "PixMMVP, PixCV-Bench (images) and
    MoCentric-Bench (videos)"."""
    from pixbench.benchmarks import REGISTRY

    groups = []
    for kind, label in (("image", "images"), ("video", "videos")):
        names = [b.display_name for b in REGISTRY.values() if b.kind == kind]
        if names:
            groups.append(f"{', '.join(names)} ({label})")
    return " and ".join(groups)


def _description() -> str:
    from pixbench.benchmarks import REGISTRY

    images = ", ".join(b.display_name for b in REGISTRY.values() if b.kind == "image")
    videos = ", ".join(b.display_name for b in REGISTRY.values() if b.kind == "video")
    paragraphs = (
        f"Score one or more predictions files (JSON lines; see the README) on {describe_benchmarks()}. Each line "
        f"names its benchmark ({', '.join(REGISTRY)}); --data BENCHMARK=PATH points at that benchmark's ground "
        "truth (a folder made by `pixbench build`).",
        f"{images}: A (option letter), A-dagger (LLM judge), M / M-dagger (mIoU), S (harmonic score), cIoU, "
        "breakdowns and analyses; one result per (model, benchmark).",
        f"{videos}: J, F, J&F per probe and layout (pair probes also F and J&F on the target half alone and "
        "D_FPR, the distractor half segmented; static: J_bg, H_bg, FPR, FG_FPR); one result per (model, "
        "benchmark, probe, layout); no judge.")
    return "\n\n".join(textwrap.fill(paragraph, 100, break_on_hyphens=False) for paragraph in paragraphs)


_EPILOG = ("The judge's API key comes from OPENAI_API_KEY (never printed). Without a key or "
           "--judge-base-url, A-dagger is not computed and the report says why. Judge verdicts are "
           "cached in an SQLite file (default: $PIXBENCH_CACHE_DIR, else ~/.cache/pixbench/judge.sqlite).\n"
           "Exit status: 0 scored, 1 invalid input, 3 judge errors or an unreachable judge (verdicts so far "
           "are kept).")


def _write_plots(results: Sequence[ScoreResult], folder: Path) -> list[Path]:
    """PNG histograms of the "when grounding emerges" analysis, one per (model, benchmark) that has it."""
    from pixbench.metrics.analysis import plot_histograms

    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for result in results:
        emergence = result.analysis.get("emergence")
        if not emergence:
            continue
        concepts = emergence.get("concept_histogram")
        safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in result.model)
        path = folder / f"{safe}_{result.benchmark}_emergence.png"
        plot_histograms(emergence["location_histogram"], concepts, path)
        written.append(path)
    return written


#: glibc's ``mallopt`` parameters: arrays up to this size come from the heap, and up to this much freed
#: memory at its top is kept (see :func:`keep_freed_memory`).
M_MMAP_THRESHOLD, M_TRIM_THRESHOLD = -3, -1
HEAP_ARRAYS_UP_TO, KEPT_FREE = 32 << 20, 128 << 20


def keep_freed_memory() -> bool:
    """Let this process reuse the memory it frees instead of handing it back to the system at once.

    By default glibc maps each block over 128 kB afresh from the system and unmaps it when freed, and gives
    back the top of its heap beyond 128 kB free (both limits grow only after a large block has come and gone).
    Scoring allocates and frees many arrays of tens of kB to tens of MB, and each page fresh from the system
    costs a page fault, on this kind of virtual machine more than the arithmetic done on it: blocks under
    32 MB then come from the heap, and up to 128 MB freed at its top stay for the next arrays. Returns
    whether the setting was made (glibc only; elsewhere nothing changes).
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, HEAP_ARRAYS_UP_TO)) and bool(mallopt(M_TRIM_THRESHOLD, KEPT_FREE))


@dataclass
class Scored:
    """What a score run of the command line produced: the run, its report, and the judge and settings used."""

    run: Evaluation
    report: Report
    judge: JudgeChoice
    settings: ScoreSettings


def score_files(args: argparse.Namespace) -> Scored | int:
    """Score the predictions files of ``args`` (the options of `pixbench score`): the run and its report, or
    the exit status after the problems were printed (1: invalid input)."""
    keep_freed_memory()
    from pixbench import score_report as report
    from pixbench.results import ScoreSettings
    from pixbench.score_files import evaluate, make_judge, report_context, sensitivity

    try:
        data = parse_data(args.data)
        check_output_file(getattr(args, "output", None), "--output")
        check_output_file(getattr(args, "per_sample", None), "--per-sample")
        check_output_folder(getattr(args, "plots", None), "--plots")
        judge = make_judge(no_judge=args.no_judge, model=args.judge_model, base_url=args.judge_base_url,
                           cache_path=args.judge_cache, refresh=args.refresh_judge, retries=args.judge_retries,
                           timeout=args.judge_timeout, concurrency=args.judge_concurrency,
                           temperature=args.judge_temperature)
    except (ValueError, ImportError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    settings = ScoreSettings(select=args.select, score_threshold=args.score_threshold,
                             include_none=args.include_none, letter_parser=args.letter_parser,
                             allow_judge_errors=args.allow_judge_errors)
    run = evaluate(args.predictions, data=data, settings=settings, judge=judge, strict=args.strict,
                   progress=sys.stderr.isatty(), options=read_options(args), workers=args.workers)
    print_warnings(run.warnings)
    if run.problems or run.errors:
        print_problems(run)
        return 1
    if args.ci is not None:
        from pixbench.uncertainty import confidence_intervals

        run.results = [replace(result, ci=confidence_intervals(result.units, level=args.ci, resamples=args.bootstrap,
                                                               seed=args.seed))
                       for result in run.results if result.units is not None]
    document = report.report_document(run.results, **report_context(run, settings, judge),
                                      sensitivity=sensitivity(run.results))
    return Scored(run, document, judge, settings)


def cmd_score(args: argparse.Namespace) -> int:
    """Score predictions files: exit 0 on success, 1 on invalid input, 3 on judge errors."""
    from pixbench import score_report as report

    scored = score_files(args)
    if isinstance(scored, int):
        return scored
    run, judge = scored.run, scored.judge
    text = report.render(scored.report, args.format)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    if args.per_sample:
        with open(args.per_sample, "w", encoding="utf-8") as handle:
            for record in run.per_sample:
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    if args.plots:
        try:
            for path in _write_plots(run.results, Path(args.plots)):
                print(f"wrote {path}", file=sys.stderr)
        except ImportError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
    if args.html:
        from pixbench.cli.view import write_site

        code = write_site(args, scored, Path(args.html))
        if code:
            return code
    return report_score_outcome(run, judge, allow_judge_errors=args.allow_judge_errors)


def score_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `pixbench score` that decide the numbers (shared with `pixbench view`)."""
    parser.add_argument("predictions", nargs="+", metavar="PREDS.jsonl")
    add_data_option(parser)
    add_selection_options(parser)
    add_judge_options(parser)
    parser.add_argument("--allow-judge-errors", action="store_true",
                        help="score failed judge requests as wrong instead of failing")
    parser.add_argument("--strict", action="store_true", help="rows without a prediction are an error")
    parser.add_argument("--workers", type=positive_int, default=1, metavar="N",
                        help="processes scoring a video benchmark's expressions (default 1; the numbers do not "
                             "depend on it)")
    add_read_options(parser)
    parser.add_argument("--ci", type=confidence_level, metavar="LEVEL",
                        help="add bootstrap confidence intervals at this level, e.g. 0.95 (PixMMVP pair accuracy "
                             "resamples pairs, other metrics rows; PixCV-Bench rows within each source)")
    parser.add_argument("--bootstrap", type=positive_int, default=10_000, metavar="N",
                        help="bootstrap resamples for --ci and compare (default 10000)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the bootstrap (default 0)")


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = _description()  # declared with the options: the registry is imported only here
    score_arguments(parser)
    parser.add_argument("--format", choices=("table", "markdown", "json", "csv", "latex"), default="table")
    parser.add_argument("--output", metavar="FILE", help="write the report here instead of stdout")
    parser.add_argument("--per-sample", metavar="FILE", help="write one JSON line per (row, probe)")
    parser.add_argument("--plots", metavar="DIR",
                        help="write PNG histograms of the 'when grounding emerges' analysis (needs matplotlib)")
    parser.add_argument("--html", metavar="SITE",
                        help="also write the results as a static site to SITE (as `pixbench view`; open "
                             "SITE/index.html)")


def configure(subparsers: Subparsers) -> None:
    """Add ``score`` to the ``pixbench`` commands."""
    add_command(subparsers, "score", cmd_score, _arguments,
                help="score predictions files (accuracy, judged accuracy, mIoU, S, analyses)",
                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=_EPILOG)
