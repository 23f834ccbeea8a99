"""``pixbench compare``: two models on the rows both cover, with paired intervals, p-values and McNemar tests."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pixbench.cli.options import (
    Subparsers,
    add_command,
    add_data_option,
    add_judge_options,
    add_read_options,
    add_selection_options,
    check_output_file,
    confidence_level,
    judge_from_options,
    parse_data,
    positive_int,
    print_problems,
    print_warnings,
    read_options,
)
from pixbench.cli.scoring import add_protocol_options

if TYPE_CHECKING:
    from pixbench.results import ScoreResult

__all__ = ["cmd_compare", "configure"]


def cmd_compare(args: argparse.Namespace) -> int:
    """Compare two predictions files: paired differences, bootstrap intervals and p-values, McNemar."""
    from pixbench import score_report as report
    from pixbench.results import ScoreSettings
    from pixbench.score_files import evaluate, report_context
    from pixbench.uncertainty import ComparisonError, compare

    try:
        data = parse_data(args.data)
        check_output_file(args.output, "--output")
        judge = judge_from_options(args)
    except (ValueError, ImportError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    settings = ScoreSettings(select=args.select, score_threshold=args.score_threshold,
                             include_none=args.include_none, letter_parser=args.letter_parser,
                             protocol=args.protocol, fps=args.fps,
                             release_fps=args.release_fps)
    by_file = []
    for path in (args.a, args.b):
        run = evaluate([path], data=data, settings=settings, judge=judge, progress=sys.stderr.isatty(),
                       options=read_options(args))
        print_warnings(run.warnings)
        if run.problems or run.errors:
            print_problems(run)
            return 1
        problems = []
        results: dict[tuple[str, str | None, str | None], ScoreResult] = {}
        for result in run.results:
            if result.variant is not None or result.group in results:
                problems.append(f"{path}: compare takes one model and no prompt variants per benchmark; found "
                                f"several results for {result.benchmark}")
            results[result.group] = result
        if problems:
            for problem in problems:
                print(f"error: {problem}", file=sys.stderr)
            return 1
        by_file.append(results)
    common = sorted(set(by_file[0]) & set(by_file[1]), key=lambda g: (g[0], g[1] or "", g[2] or ""))
    if not common:
        names = [sorted({group[0] for group in results}) for results in by_file]
        print(f"error: {args.a} and {args.b} share no benchmark ({names[0]} vs {names[1]})", file=sys.stderr)
        return 1
    comparisons = []
    for group in common:
        a, b = by_file[0][group], by_file[1][group]
        try:
            if a.units is None or b.units is None:
                raise ComparisonError(f"{group[0]}: results without per-row units cannot be compared")
            outcome = compare(a.units, b.units, level=args.ci, resamples=args.bootstrap, seed=args.seed)
        except ComparisonError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        comparison = {"model_a": a.model, "model_b": b.model, **a.named_groups, **outcome}
        if "left_out" in outcome:
            comparison.update(own_figures(a, b, outcome))
        comparisons.append(comparison)
    judge_block = report_context(run, settings, judge)["judge"]
    document = report.comparison_document(comparisons, settings={"select": args.select,
                                                                 "letter_parser": args.letter_parser,
                                                                 "include_none": args.include_none,
                                                                 "judge": judge_block})
    text = report.render_comparison(document, args.format)
    notes = [(comparison, note) for comparison in comparisons for note in comparison.get("notes", ())]
    if notes and args.format in ("table", "markdown"):
        text += "".join(f"{'- ' if args.format == 'markdown' else ''}note [{_where(c)}]: {note}\n" for c, note in notes)
    elif notes and args.format == "csv":  # the table stays a table
        for comparison, note in notes:
            print(f"note [{_where(comparison)}]: {note}", file=sys.stderr)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


def _where(comparison: dict[str, Any]) -> str:
    return " ".join(str(v) for v in (comparison["benchmark"], comparison.get("probe"), comparison.get("layout")) if v)


def own_figures(a: ScoreResult, b: ScoreResult, outcome: dict[str, Any]) -> dict[str, Any]:
    """Where the two results hold different rows (a protocol that drops rows without a line, as
    ``--protocol lmms-eval``): each model's own figures as ``pixbench score`` prints them (``own``: ``{"a": {"model",
    "rows": the rows its result holds, "metrics": its measured metrics in report order, "note": its first
    note}, "b": ...}``) and ``notes`` saying that the paired differences are on the common rows and how many of
    each side's rows were left out."""
    from pixbench.benchmarks import get_benchmark

    benchmark = get_benchmark(a.benchmark)
    unit = "expressions" if benchmark.kind == "video" else "rows"
    labels = dict(benchmark.report_columns)
    own: dict[str, Any] = {}
    for side, result in (("a", a), ("b", b)):
        measured = {name: value for name, value in result.metrics.items() if value is not None}
        order = [name for name in labels if name in measured] + [name for name in measured if name not in labels]
        own[side] = {"model": result.model, "rows": 0 if result.units is None else int(result.units.ids.size),
                     "metrics": {name: round(measured[name], 6) for name in order},
                     "note": result.notes[0] if result.notes else None}
    left_out = outcome["left_out"]
    notes = [f"A = {a.model} and B = {b.model} were scored on different {unit} (A on {own['a']['rows']}, B on "
             f"{own['b']['rows']}): A, B, A - B and its interval above are paired on the {outcome['rows']} {unit} "
             f"both answered, leaving out {left_out['a']} of A's and {left_out['b']} of B's; each model's own "
             "figures follow"]
    for side, name in (("a", "A"), ("b", "B")):
        figures = ", ".join(f"{labels.get(metric, metric)} {value:.1f}"
                            for metric, value in own[side]["metrics"].items())
        note = own[side]["note"]
        notes.append(f"{name}'s own figures, as `pixbench score` prints them (its {own[side]['rows']} {unit}): "
                     f"{figures}" + (f" ({note})" if note else ""))
    return {"own": own, "notes": notes}


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("a", metavar="A.jsonl")
    parser.add_argument("b", metavar="B.jsonl")
    add_data_option(parser)
    add_selection_options(parser)
    add_judge_options(parser, ("--judge-model", "--judge-temperature", "--judge-base-url", "--judge-cache",
                               "--judge-retries", "--no-judge"))
    parser.add_argument("--ci", type=confidence_level, default=0.95, metavar="LEVEL",
                        help="interval level (default 0.95)")
    parser.add_argument("--bootstrap", type=positive_int, default=10_000, metavar="N",
                        help="resamples (default 10000)")
    add_read_options(parser)
    add_protocol_options(parser)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--format", choices=("table", "markdown", "json", "csv"), default="table")
    parser.add_argument("--output", metavar="FILE")


def configure(subparsers: Subparsers) -> None:
    """Add ``compare`` to the ``pixbench`` commands."""
    add_command(subparsers, "compare", cmd_compare, _arguments,
                help="compare two models: paired differences with intervals, p-values and McNemar tests",
                description="Score A.jsonl and B.jsonl (one model each) on the rows both cover, then report per "
                            "metric A, B, the difference A - B, its paired bootstrap interval and p-value, and for "
                            "accuracies an exact McNemar test (PixMMVP pair accuracy on pairs, per-question "
                            "accuracy on rows). Under a protocol that drops rows without a line (--protocol "
                            "lmms-eval) the two files may be scored on different rows: the differences are then "
                            "paired on the rows both answered, and notes say how many of each file's were left out "
                            "and give each model's own figures as `pixbench score` prints them.")
