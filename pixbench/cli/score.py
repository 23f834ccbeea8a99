"""``pixbench score``: score predictions files and write the report (and per-sample lines, intervals, plots)."""

from __future__ import annotations

import argparse
import dataclasses
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from pixbench.cli.options import (
    Subparsers,
    add_command,
    report_score_outcome,
)

if TYPE_CHECKING:
    from pixbench.results import ScoreResult
    from pixbench.score_report import Report

__all__ = ["cmd_score", "configure", "describe_benchmarks"]


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


def _with_published(document: Report, *, show: bool, names: Sequence[str]) -> Report:
    """The report with the published rows (``show``) and the ``--as`` comparisons; ``ValueError`` for an ``--as``
    name no row of a scored benchmark carries."""
    from pixbench.published import Yours, published_section

    yours = Yours.from_report(document.settings, document.judge, document.datasets)
    section = published_section(document.results, yours, show=show, names=names, guess=True)
    return dataclasses.replace(document, published=section)


def cmd_score(args: argparse.Namespace) -> int:
    """Score predictions files: exit 0 on success, 1 on invalid input, 3 on judge errors."""
    from pixbench import score_report as report
    from pixbench.cli.scoring import score_files

    if args.html:
        from pixbench.cli.view import view_extra_missing

        if view_extra_missing():
            return 1
    if args.as_method:
        from pixbench.published import check_names

        try:
            check_names(args.as_method)  # a misspelt name fails before any scoring
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
    scored = score_files(args)
    if isinstance(scored, int):
        return scored
    run, judge = scored.run, scored.judge
    if args.published or args.as_method:
        try:
            scored.report = _with_published(scored.report, show=args.published, names=args.as_method or [])
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
    text = report.render(scored.report, args.format)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    if args.per_sample:
        from pixbench.cli.per_sample import write_per_sample

        write_per_sample(args.per_sample, run.per_sample)
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


def _arguments(parser: argparse.ArgumentParser) -> None:
    from pixbench.cli.scoring import score_arguments

    parser.description = _description()  # declared with the options: the registry is imported only here
    score_arguments(parser)
    parser.add_argument("--format", choices=("table", "markdown", "json", "csv", "latex"), default="table")
    parser.add_argument("--output", metavar="FILE", help="write the report here instead of stdout")
    parser.add_argument("--per-sample", metavar="FILE",
                        help="write one record per (row, probe): CSV when FILE ends in .csv (a row per record, "
                             "lists as JSON in a cell; MeViS: a row per expression), else JSON lines")
    parser.add_argument("--plots", metavar="DIR",
                        help="write PNG histograms of the 'when grounding emerges' analysis (needs matplotlib)")
    parser.add_argument("--published", action="store_true",
                        help="print the published rows of each benchmark scored beside yours (the paper's Table 1 "
                             "for the image benchmarks; MeViS rows with their protocol), each with its protocol and "
                             "source; a benchmark without any says so")
    parser.add_argument("--as", dest="as_method", action="append", metavar="[MODEL=]METHOD",
                        help="compare your model with the published row of METHOD (e.g. \"Llava 1.5 (7B) + (a+s)\"; "
                             "case, spacing and bracketed reference numbers ignored): yours, published and yours - "
                             "published per metric, in points, with a warning for each protocol difference "
                             "(selection, judge, letter parser, protocol, frames, rows scored, version, split); "
                             "MODEL= picks one model of several; repeatable. Without --as, --published offers the "
                             "published method nearest to each model's name as a guess")
    parser.add_argument("--html", metavar="SITE",
                        help="also write the results as a static site to SITE (as `pixbench view`; open "
                             "SITE/index.html)")


def configure(subparsers: Subparsers) -> None:
    """Add ``score`` to the ``pixbench`` commands."""
    add_command(subparsers, "score", cmd_score, _arguments,
                help="score predictions files (accuracy, judged accuracy, mIoU, S, analyses)",
                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=_EPILOG)
