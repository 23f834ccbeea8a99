"""The ``pixbench`` command: build, check, push, show, score and demo.

Every subcommand is a function ``(args) -> int`` (the exit code); ``main(argv)`` parses and dispatches,
so tests call ``main([...])`` directly. Results go to stdout, problems and progress to stderr.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import traceback
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from pixbench import __version__
from pixbench.annotation.report import AnnotationError, Report
from pixbench.predictions import ReadOptions
from pixbench.problems import shorten

if TYPE_CHECKING:
    from pixbench.evaluate import Evaluation
    from pixbench.results import ScoreResult

BENCHMARKS = ("pixmmvp", "pixcvbench")
#: Problems printed before "... and K more".
PROBLEMS_SHOWN = 50


def _print_report(report: Report, limit: int = 50) -> None:
    if report.problems:
        print(report.format(limit), file=sys.stderr)


def cmd_build(args: argparse.Namespace) -> int:
    """Build a hub folder from raw inputs."""
    from pixbench.loaders import pixcvbench, pixmmvp

    out = Path(args.out)
    try:
        if args.benchmark == "pixmmvp":
            result = pixmmvp.build(annotations_dir=Path(args.annotations), out_dir=out,
                                   mmvp_dir=Path(args.mmvp) if args.mmvp else None,
                                   with_images=not args.no_images, corrections=args.mmvp_corrections,
                                   force=args.force)
        else:
            if not args.cvbench:
                print("error: pixcvbench needs --cvbench CV_BENCH_PARQUET (images and questions come from it)",
                      file=sys.stderr)
                return 2
            result = pixcvbench.build(cvbench_paths=[Path(p) for p in args.cvbench],
                                      annotations_dir=Path(args.annotations), out_dir=out,
                                      with_images=not args.no_images, force=args.force)
    except AnnotationError as exc:
        print(f"error: build stopped, nothing written.\n{exc.report.format(None)}", file=sys.stderr)
        return 1
    except ValueError as exc:  # usage: missing --mmvp, an --out that is not new, empty or an earlier build
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error: build failed: {exc}", file=sys.stderr)
        return 1
    _print_report(result.report)
    if result.left_in_place:
        shown = ", ".join(result.left_in_place[:10]) + (" ..." if len(result.left_in_place) > 10 else "")
        print(f"note: left in place in {out} (not written by pixbench): {shown}", file=sys.stderr)
    print(json.dumps(result.summary, indent=2))
    print(f"wrote {len(result.files)} files to {out}", file=sys.stderr)
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    """Check an annotation folder without images; exit 1 on errors."""
    from pixbench.loaders import pixcvbench, pixmmvp

    module = pixmmvp if args.benchmark == "pixmmvp" else pixcvbench
    report, summary = module.check(Path(args.annotations))
    print(json.dumps(summary, indent=2))
    print(report.format(None), file=sys.stderr)
    return 0 if report.ok else 1


def cmd_push(args: argparse.Namespace) -> int:
    """Upload a built folder to the hub (or list what would be uploaded)."""
    from pixbench.loaders import hub

    folder = Path(args.folder)
    try:
        plan = hub.plan_push(folder, args.repo_id)
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.dry_run:
        visibility = "private" if args.private else "public"
        print(f"would create (if missing) the {visibility} dataset repo {plan.repo_id} and upload:")
        for name in plan.upload:
            size = (folder / name).stat().st_size
            print(f"  {name}  ({size:,} bytes)")
        print(f"and delete remote files matching {plan.delete_patterns} that this build does not have")
        return 0
    try:
        url = hub.push(folder, args.repo_id, private=args.private)
    except Exception as exc:  # network and auth errors from huggingface_hub
        print(f"error: push to {args.repo_id} failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print(url)
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    """Write mask/polygon overlays of chosen rows and a contact sheet."""
    from pixbench.loaders import review

    try:
        ids = [int(v) for v in args.ids.split(",") if v.strip()] if args.ids else None
    except ValueError:
        print(f"error: --ids expects comma-separated integers, but got {args.ids!r}", file=sys.stderr)
        return 2
    try:
        written = review.write_overlays(Path(args.dataset), Path(args.out), ids=ids, limit=args.limit)
    except (KeyError, FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for path in written:
        print(path)
    return 0


def _level(text: str) -> float:
    value = float(text)
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"expected a confidence level between 0 and 1, e.g. 0.95, but got {text}")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, but got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, but got {value}")
    return value


def _add_read_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--allow-unknown-fields", action="store_true",
                        help="warn about fields a predictions line should not have (e.g. a misspelt `Mask`) "
                             "instead of refusing the file")
    parser.add_argument("--allow-outside-paths", action="store_true",
                        help="let `png` mask paths leave the predictions file's folder (absolute paths, ..)")


def _parse_data(values: Sequence[str] | None) -> dict[str, str]:
    data: dict[str, str] = {}
    for value in values or []:
        name, sep, where = value.partition("=")
        if not sep or name not in BENCHMARKS or not where:
            raise ValueError(f"--data expects pixmmvp=PATH_OR_HUB_ID or pixcvbench=PATH_OR_HUB_ID, but got {value!r}")
        data[name] = where
    return data


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


def _check_output_file(value: str | None, flag: str) -> None:
    """Refuse an output path that cannot be written, before any work is done."""
    if not value:
        return
    path = Path(value)
    if path.is_dir():
        raise ValueError(f"{flag} {value}: is a folder; give a file name")
    if not path.parent.is_dir():
        raise ValueError(f"{flag} {value}: folder {path.parent} does not exist")


def _check_output_folder(value: str | None, flag: str) -> None:
    if value and Path(value).exists() and not Path(value).is_dir():
        raise ValueError(f"{flag} {value}: exists and is not a folder")


def _read_options(args: argparse.Namespace) -> ReadOptions:
    return ReadOptions(allow_unknown_fields=args.allow_unknown_fields, allow_outside_paths=args.allow_outside_paths)


def _print_warnings(warnings: Sequence[str], limit: int = PROBLEMS_SHOWN) -> None:
    for warning in warnings[:limit]:
        print(f"warning: {warning}", file=sys.stderr)
    if len(warnings) > limit:
        print(f"warning: ... and {len(warnings) - limit} more", file=sys.stderr)


def _print_problems(run: Evaluation, limit: int = PROBLEMS_SHOWN) -> None:
    """The first ``limit`` problems of a run, then "... and K more", then the true total."""
    messages = [*map(str, run.problems), *run.errors]
    total = run.problem_count + len(run.errors)
    for message in messages[:limit]:
        print(f"error: {message}", file=sys.stderr)
    if total > min(limit, len(messages)):
        print(f"error: ... and {total - min(limit, len(messages))} more", file=sys.stderr)
    print(f"error: nothing scored ({total} problem(s))", file=sys.stderr)


def cmd_score(args: argparse.Namespace) -> int:
    """Score predictions files: exit 0 on success, 1 on invalid input, 3 on judge errors."""
    from pixbench import report
    from pixbench.evaluate import evaluate, make_judge, report_context, sensitivity
    from pixbench.results import ScoreSettings

    try:
        data = _parse_data(args.data)
        _check_output_file(args.output, "--output")
        _check_output_file(args.per_sample, "--per-sample")
        _check_output_folder(args.plots, "--plots")
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
                   progress=sys.stderr.isatty(), options=_read_options(args))
    _print_warnings(run.warnings)
    if run.problems or run.errors:
        _print_problems(run)
        return 1
    if args.ci is not None:
        from pixbench.uncertainty import confidence_intervals

        run.results = [replace(result, ci=confidence_intervals(result.units, level=args.ci, resamples=args.bootstrap,
                                                               seed=args.seed))
                       for result in run.results if result.units is not None]
    document = report.report_document(run.results, **report_context(run, settings, judge),
                                      sensitivity=sensitivity(run.results))
    text = report.render(document, args.format)
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
    for result in run.results:
        missing = {probe: n for probe, n in result.counts.missing.items() if n}
        if missing:
            print(f"{result.model} / {result.benchmark}: missing predictions {missing} "
                  "(scored as wrong, IoU 0)", file=sys.stderr)
    judge_errors = sum(result.counts.judge_errors for result in run.results)
    unreachable = getattr(judge.judge, "unreachable", None) if judge.judge else None
    if unreachable:  # even with --allow-judge-errors: a dead endpoint is not a judgement
        print(f"error: the judge could not be reached ({unreachable}); {judge_errors} verdict(s) missing, every "
              "verdict obtained is cached. Rerun to resume.", file=sys.stderr)
        return 3
    if judge_errors and not args.allow_judge_errors:
        print(f"error: {judge_errors} judge request(s) failed at {judge.judge.endpoint if judge.judge else '?'}; "
              "verdicts obtained so far are cached. Rerun to resume, or pass --allow-judge-errors.", file=sys.stderr)
        return 3
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    """Compare two predictions files: paired differences, bootstrap intervals and p-values, McNemar."""
    from pixbench import report
    from pixbench.evaluate import evaluate, make_judge, report_context
    from pixbench.results import ScoreSettings
    from pixbench.uncertainty import ComparisonError, compare

    try:
        data = _parse_data(args.data)
        _check_output_file(args.output, "--output")
        judge = make_judge(no_judge=args.no_judge, model=args.judge_model, base_url=args.judge_base_url,
                           cache_path=args.judge_cache, refresh=False, retries=args.judge_retries,
                           temperature=args.judge_temperature)
    except (ValueError, ImportError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    settings = ScoreSettings(select=args.select, score_threshold=args.score_threshold,
                             include_none=args.include_none, letter_parser=args.letter_parser)
    by_file = []
    for path in (args.a, args.b):
        run = evaluate([path], data=data, settings=settings, judge=judge, progress=sys.stderr.isatty(),
                       options=_read_options(args))
        _print_warnings(run.warnings)
        if run.problems or run.errors:
            _print_problems(run)
            return 1
        problems = []
        results: dict[str, ScoreResult] = {}
        for result in run.results:
            if result.variant is not None or result.benchmark in results:
                problems.append(f"{path}: compare takes one model and no prompt variants per benchmark; found "
                                f"several results for {result.benchmark}")
            results[result.benchmark] = result
        if problems:
            for problem in problems:
                print(f"error: {problem}", file=sys.stderr)
            return 1
        by_file.append(results)
    common = sorted(set(by_file[0]) & set(by_file[1]))
    if not common:
        print(f"error: {args.a} and {args.b} share no benchmark ({sorted(by_file[0])} vs {sorted(by_file[1])})",
              file=sys.stderr)
        return 1
    comparisons = []
    for benchmark in common:
        a, b = by_file[0][benchmark], by_file[1][benchmark]
        try:
            if a.units is None or b.units is None:
                raise ComparisonError(f"{benchmark}: results without per-row units cannot be compared")
            outcome = compare(a.units, b.units, level=args.ci, resamples=args.bootstrap, seed=args.seed)
        except ComparisonError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        comparisons.append({"model_a": a.model, "model_b": b.model, **outcome})
    judge_block = report_context(run, settings, judge)["judge"]
    document = report.comparison_document(comparisons, settings={"select": args.select,
                                                                 "letter_parser": args.letter_parser,
                                                                 "include_none": args.include_none,
                                                                 "judge": judge_block})
    text = report.render_comparison(document, args.format)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """Build the tiny synthetic benchmark, write predictions of two made-up models and score them."""
    from pixbench import report
    from pixbench.demo import keyword_judge_reply, write_demo_predictions
    from pixbench.evaluate import JudgeChoice, evaluate, report_context
    from pixbench.judge import FakeJudge
    from pixbench.loaders import pixcvbench, pixmmvp, synthetic
    from pixbench.references import load_reference
    from pixbench.results import ScoreSettings

    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="pixbench-demo-"))
    inputs = synthetic.write_tiny_inputs(out / "raw")
    built = {
        "pixmmvp": pixmmvp.build(annotations_dir=inputs.pixmmvp_annotations, mmvp_dir=inputs.mmvp_dir,
                                 out_dir=out / "PixMMVP"),
        "pixcvbench": pixcvbench.build(cvbench_paths=[inputs.cvbench_parquet],
                                       annotations_dir=inputs.pixcvbench_annotations, out_dir=out / "PixCV-Bench"),
    }
    for name, result in built.items():
        s = result.summary
        print(f"built {name}: {s['rows']} rows, {s['instance_masks']} instance masks -> {result.out_dir}")
    data = {name: str(result.out_dir) for name, result in built.items()}
    references = {name: load_reference(name, path) for name, path in data.items()}
    paths = write_demo_predictions(references, out / "predictions")
    print(f"wrote predictions of two made-up models: {', '.join(str(p) for p in paths)}")
    judge = JudgeChoice(FakeJudge(keyword_judge_reply, model="demo-keyword-judge"),
                        reason="", cache_path=None)
    for select in ("given", "oracle"):
        settings = ScoreSettings(select=select)
        run = evaluate(paths, data=data, settings=settings, judge=judge)
        if run.problems or run.errors:
            for problem in [*map(str, run.problems), *run.errors]:
                print(f"error: {problem}", file=sys.stderr)
            return 1
        document = report.report_document(run.results, **report_context(run, settings, judge))
        print(f"\n== pixbench score {' '.join(p.name for p in paths)} --select {select}")
        print(report.render(document, "table"), end="")
    print(f"\nscore them yourself: pixbench score {out / 'predictions'}/*.jsonl "
          f"--data pixmmvp={data['pixmmvp']} --data pixcvbench={data['pixcvbench']} --no-judge")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pixbench",
        description="Build, check, push and review the PixMMVP and PixCV-Bench benchmarks.",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"pixbench {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details to stderr")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    build = sub.add_parser("build", help="build a benchmark's hub folder from raw annotations",
                           description="Read, link and check the raw inputs, then write README.md (dataset "
                                       "card), build_summary.json and data/test-*.parquet. Nothing is written "
                                       "if any check fails. OUT_DIR must be new, empty or an earlier build of "
                                       "the same benchmark (exit 2 otherwise; --force to replace).")
    build.add_argument("benchmark", choices=BENCHMARKS)
    build.add_argument("--annotations", required=True, metavar="DIR",
                       help="the PixMMVP or PixCV-Bench annotation folder")
    build.add_argument("--out", required=True, metavar="OUT_DIR", help="the folder to write")
    build.add_argument("--mmvp", metavar="MMVP_DIR",
                       help="pixmmvp: MMVP release folder ('MMVP Images/', 'Questions.csv')")
    build.add_argument("--cvbench", action="append", metavar="PARQUET",
                       help="pixcvbench: CV-Bench test.parquet (repeat for several files)")
    build.add_argument("--no-images", action="store_true",
                       help="annotations-only build: do not embed images (sizes still come from them)")
    build.add_argument("--mmvp-corrections", action="store_true",
                       help="pixmmvp: swap the known wrong labels of pairs 99/100 and 279/280")
    build.add_argument("--force", action="store_true",
                       help="write into an OUT_DIR that is not new, empty or an earlier build of this benchmark: "
                            "replace its README.md, build_summary.json and data/*.parquet, leave the rest")
    build.set_defaults(func=cmd_build)

    check = sub.add_parser("check-annotations", help="check an annotation folder (no images needed)",
                           description="Counts, ids, polygon validity, RLE sanity and cross-file consistency; "
                                       "exit 1 when any error is found.")
    check.add_argument("benchmark", choices=BENCHMARKS)
    check.add_argument("annotations", metavar="ANN_DIR")
    check.set_defaults(func=cmd_check)

    push = sub.add_parser("push", help="upload a built folder to the Hugging Face hub",
                          description="Create the dataset repo if needed and upload README.md and the parquet "
                                      "shards in one commit, deleting stale shards. The token comes from "
                                      "`huggingface-cli login` or HF_TOKEN.")
    push.add_argument("folder", metavar="OUT_DIR")
    push.add_argument("--repo-id", required=True, help="e.g. IVUlab/PixMMVP")
    push.add_argument("--private", action="store_true", help="create the repo as private")
    push.add_argument("--dry-run", action="store_true", help="list what would be uploaded, upload nothing")
    push.set_defaults(func=cmd_push)

    show = sub.add_parser("show", help="draw masks and polygons of rows over their images",
                          description="Write <id>.png overlays and contact_sheet.png for review.")
    show.add_argument("dataset", metavar="DATASET_DIR", help="a built folder (or hub id)")
    show.add_argument("--ids", help="comma-separated row ids (default: the first --limit rows)")
    show.add_argument("--limit", type=int, default=16, help="rows to draw when --ids is not given")
    show.add_argument("--out", required=True, metavar="DIR")
    show.set_defaults(func=cmd_show)

    from pixbench.judge import DEFAULT_JUDGE_TEMPERATURE, refresh_argument, temperature_argument

    score = sub.add_parser(
        "score", help="score predictions files (accuracy, judged accuracy, mIoU, S, analyses)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Score one or more predictions files (JSON lines; see the README) on PixMMVP and "
                    "PixCV-Bench: A (option letter), A-dagger (LLM judge), M / M-dagger (mIoU), S (harmonic "
                    "score), cIoU, breakdowns and analyses. One result per (model, benchmark).",
        epilog="The judge's API key comes from OPENAI_API_KEY (never printed). Without a key or "
               "--judge-base-url, A-dagger is not computed and the report says why. Judge verdicts are "
               "cached in an SQLite file (default: $PIXBENCH_CACHE_DIR, else ~/.cache/pixbench/judge.sqlite).\n"
               "Exit status: 0 scored, 1 invalid input, 3 judge errors or an unreachable judge (verdicts so far "
               "are kept).")
    score.add_argument("predictions", nargs="+", metavar="PREDS.jsonl")
    score.add_argument("--data", action="append", metavar="BENCHMARK=PATH_OR_HUB_ID",
                       help="ground truth: a folder made by `pixbench build` or a hub id "
                            "(default: IVUlab/PixMMVP and IVUlab/PixCV-Bench)")
    score.add_argument("--select", choices=("given", "oracle", "score"), default="given",
                       help="how a line's candidates become one mask: given (its mask or `selected`), "
                            "oracle (best IoU, upper bound), score (highest score above --score-threshold)")
    score.add_argument("--score-threshold", type=float, default=0.7, help="for --select score (default 0.7)")
    score.add_argument("--include-none", action="store_true",
                       help="PixMMVP: count the 14 questions without an object in M")
    score.add_argument("--letter-parser", choices=("default", "reference"), default="default",
                       help="option-letter parser: pixbench's (default) or the published one (reference)")
    score.add_argument("--judge-model", default="gpt-4o", help="judge model name (default gpt-4o)")
    score.add_argument("--judge-temperature", type=temperature_argument, default=DEFAULT_JUDGE_TEMPERATURE,
                       metavar="T", help=f"judge sampling temperature (default {DEFAULT_JUDGE_TEMPERATURE}, the "
                                         "published protocol's; part of the cache key)")
    score.add_argument("--judge-base-url", help="an OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1")
    score.add_argument("--judge-cache", metavar="PATH", help="SQLite file of cached verdicts")
    score.add_argument("--refresh-judge", nargs="?", const="all", type=refresh_argument, metavar="all|undetermined",
                       help="ask again even when a verdict is cached: all of them (the default), or only the "
                            "undetermined ones (replies neither yes nor no)")
    score.add_argument("--no-judge", action="store_true", help="do not compute A-dagger")
    score.add_argument("--judge-retries", type=int, default=5,
                       help="retries of a failed judge request, with exponential backoff (default 5)")
    score.add_argument("--judge-timeout", type=float, default=60.0, help="seconds per judge request (default 60)")
    score.add_argument("--judge-concurrency", type=int, default=16,
                       help="judge requests in flight at once (default 16)")
    score.add_argument("--allow-judge-errors", action="store_true",
                       help="score failed judge requests as wrong instead of failing")
    score.add_argument("--format", choices=("table", "markdown", "json", "csv", "latex"), default="table")
    score.add_argument("--output", metavar="FILE", help="write the report here instead of stdout")
    score.add_argument("--per-sample", metavar="FILE", help="write one JSON line per (row, probe)")
    score.add_argument("--strict", action="store_true", help="rows without a prediction are an error")
    _add_read_options(score)
    score.add_argument("--ci", type=_level, metavar="LEVEL",
                       help="add bootstrap confidence intervals at this level, e.g. 0.95 (PixMMVP pair accuracy "
                            "resamples pairs, other metrics rows; PixCV-Bench rows within each source)")
    score.add_argument("--bootstrap", type=_positive_int, default=10_000, metavar="N",
                       help="bootstrap resamples for --ci and compare (default 10000)")
    score.add_argument("--seed", type=int, default=0, help="seed of the bootstrap (default 0)")
    score.add_argument("--plots", metavar="DIR",
                       help="write PNG histograms of the 'when grounding emerges' analysis (needs matplotlib)")
    score.set_defaults(func=cmd_score)

    compare = sub.add_parser(
        "compare", help="compare two models: paired differences with intervals, p-values and McNemar tests",
        description="Score A.jsonl and B.jsonl (one model each) on the rows both cover, then report per metric "
                    "A, B, the difference A - B, its paired bootstrap interval and p-value, and for accuracies "
                    "an exact McNemar test (PixMMVP pair accuracy on pairs, per-question accuracy on rows).")
    compare.add_argument("a", metavar="A.jsonl")
    compare.add_argument("b", metavar="B.jsonl")
    compare.add_argument("--data", action="append", metavar="BENCHMARK=PATH_OR_HUB_ID")
    compare.add_argument("--select", choices=("given", "oracle", "score"), default="given")
    compare.add_argument("--score-threshold", type=float, default=0.7)
    compare.add_argument("--include-none", action="store_true")
    compare.add_argument("--letter-parser", choices=("default", "reference"), default="default")
    compare.add_argument("--judge-model", default="gpt-4o")
    compare.add_argument("--judge-temperature", type=temperature_argument, default=DEFAULT_JUDGE_TEMPERATURE,
                         metavar="T", help=f"judge sampling temperature (default {DEFAULT_JUDGE_TEMPERATURE})")
    compare.add_argument("--judge-base-url")
    compare.add_argument("--judge-cache", metavar="PATH")
    compare.add_argument("--judge-retries", type=int, default=5)
    compare.add_argument("--no-judge", action="store_true")
    compare.add_argument("--ci", type=_level, default=0.95, metavar="LEVEL", help="interval level (default 0.95)")
    compare.add_argument("--bootstrap", type=_positive_int, default=10_000, metavar="N",
                         help="resamples (default 10000)")
    _add_read_options(compare)
    compare.add_argument("--seed", type=int, default=0)
    compare.add_argument("--format", choices=("table", "markdown", "json", "csv"), default="table")
    compare.add_argument("--output", metavar="FILE")
    compare.set_defaults(func=cmd_compare)

    from pixbench.baselines.cli import configure_parser as configure_baseline

    configure_baseline(sub.add_parser(
        "baseline", help='training-free baselines: attend-segment, explain (pip install "pixbench[baselines]")',
        description="Training-free baselines of PixFoundation: read where a vanilla MLLM's answer looks in the "
                    "image, prompt SAM there, and write candidates that `pixbench score` turns into the a+s, "
                    "PixFoundation and PixFoundation-dagger rows."))

    from pixbench.cli import convert

    convert.configure_parser(sub.add_parser(
        "convert", help="turn the outputs of the published reference scripts into a predictions file"))
    sub.choices["convert"].set_defaults(func=convert.run)

    demo = sub.add_parser("demo", help="build a tiny synthetic benchmark, score two made-up models (offline)")
    demo.add_argument("--out", metavar="DIR", help="where to write (default: a new temporary folder)")
    demo.set_defaults(func=cmd_demo)
    return parser


def run_parser(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> int:
    """Parse ``argv``, set up logging to stderr (``-v`` for details) and run the chosen command."""
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, stream=sys.stderr,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        print("interrupted: stopped (work finished so far is kept: cached judge verdicts, written lines)",
              file=sys.stderr)
        return 130
    except BrokenPipeError:  # `pixbench score ... | head`
        sys.stderr.close()
        return 1
    except Exception as exc:  # one line for any failure; -v shows where it came from
        if args.verbose:
            traceback.print_exc()
        detail = str(exc).splitlines()[0] if str(exc) else ""
        print(f"error: {type(exc).__name__}: {shorten(detail, 300)[1:-1]}"
              + ("" if args.verbose else " (run with -v for the traceback)"), file=sys.stderr)
        return 1


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``pixbench`` console script."""
    return run_parser(build_parser(), argv)
