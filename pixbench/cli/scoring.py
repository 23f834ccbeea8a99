"""What `pixbench score` and `pixbench view` share: the options that decide the numbers, and scoring the files
they name into a run and its report (:func:`score_files`), keeping the memory freed for the next arrays.
:func:`score_and_report` is the scoring of `score`, `view` and `run --score` alike, and writes the receipt of
``--receipt`` (:func:`add_receipt_option`).
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pixbench.cli.options import (
    add_data_option,
    add_judge_options,
    add_read_options,
    add_selection_options,
    check_output_file,
    check_output_folder,
    confidence_level,
    judge_from_options,
    parse_data,
    positive_int,
    print_problems,
    print_warnings,
    read_options,
)

if TYPE_CHECKING:
    from pixbench.results import ScoreSettings
    from pixbench.score_files import Evaluation, JudgeChoice, ScoreRequest
    from pixbench.score_report import Report

__all__ = ["Scored", "add_protocol_options", "add_receipt_option", "given_base_url", "keep_freed_memory",
           "positive_fps", "score_and_report", "score_arguments", "score_files"]


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
    the exit status after the problems were printed (1: invalid input). With ``--receipt`` the receipt is
    written too (:func:`score_and_report`)."""
    keep_freed_memory()
    from pixbench.results import ScoreSettings
    from pixbench.score_files import Intervals, ScoreRequest

    receipt = getattr(args, "receipt", None)
    try:
        data = parse_data(args.data)
        check_output_file(getattr(args, "output", None), "--output")
        check_output_file(getattr(args, "per_sample", None), "--per-sample")
        check_output_file(receipt, "--receipt")
        check_output_folder(getattr(args, "plots", None), "--plots")
        judge = judge_from_options(args)
    except (ValueError, ImportError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    settings = ScoreSettings(select=args.select, score_threshold=args.score_threshold,
                             include_none=args.include_none, letter_parser=args.letter_parser,
                             allow_judge_errors=args.allow_judge_errors, protocol=args.protocol, fps=args.fps,
                             release_fps=args.release_fps)
    intervals = Intervals(args.ci, resamples=args.bootstrap, seed=args.seed) if args.ci is not None else None
    request = ScoreRequest(predictions=tuple(args.predictions), data=data, settings=settings,
                           options=read_options(args), strict=args.strict, intervals=intervals)
    return score_and_report(request, judge, receipt=receipt, base_url=given_base_url(args), workers=args.workers)


def given_base_url(args: argparse.Namespace) -> str | None:
    """The judge's base URL as given (``--judge-base-url``, else ``$OPENAI_BASE_URL``), for a receipt (which keeps
    it without its secrets); None: the judge's own endpoint."""
    return getattr(args, "judge_base_url", None) or os.environ.get("OPENAI_BASE_URL") or None


def score_and_report(request: ScoreRequest, judge: JudgeChoice, *, receipt: str | None = None,
                     base_url: str | None = None, workers: int = 1) -> Scored | int:
    """Score ``request`` with ``judge`` (:func:`pixbench.score_files.score_request`; warnings and problems on
    stderr) and make its report; with ``receipt``, write the receipt there (:mod:`pixbench.receipts`; the judge's
    verdicts are recorded as they come). The scored run, or 1 after the problems (or a receipt that could not be
    written) were printed. What `pixbench score`, `view` and `run --score` share."""
    from pixbench.score_files import report_of, score_request

    if receipt:
        from pixbench.receipts import recording

        judge = recording(judge)
    run = score_request(request, judge, progress=sys.stderr.isatty(), workers=workers)
    print_warnings(run.warnings)
    if run.problems or run.errors:
        print_problems(run)
        return 1
    document = report_of(run, request.settings, judge)
    if receipt:
        from pixbench.receipts import ReceiptError, make_receipt, write_receipt

        try:
            made = make_receipt(request, run, document, judge, base_url=base_url)
            size = write_receipt(Path(receipt), made)
        except (ReceiptError, OSError) as exc:
            print(f"error: --receipt {receipt}: {exc}", file=sys.stderr)
            return 1
        print(f"wrote {receipt} ({size:,} bytes; {len(made.judge.verdicts)} judge verdict(s), "
              f"{made.per_sample_records} per-sample record(s)); check it with `pixbench verify {receipt}`",
              file=sys.stderr)
    return Scored(run, document, judge, request.settings)


def positive_fps(text: str) -> float:
    """``--fps``: a finite frame rate above 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected frames per second (a number above 0), got {text!r}") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected frames per second (a number above 0), got {text!r}")
    return value


def add_protocol_options(parser: argparse.ArgumentParser) -> None:
    """``--protocol`` and ``--fps`` (passed through :class:`~pixbench.results.ScoreSettings`; the benchmark
    checks and applies them: only MeViS defines a protocol other than ``official``); the choices are every
    protocol a benchmark of the registry defines."""
    from pixbench.benchmarks import REGISTRY

    protocols = tuple(dict.fromkeys(p for benchmark in REGISTRY.values() for p in benchmark.protocols))
    parser.add_argument("--protocol", choices=protocols, default=protocols[0],
                        help="scoring protocol (default official). mevis: lmms-eval drops expressions without a line "
                             "from the mean (counted and reported) and averages J and F over the frames re-sampled "
                             "at --fps; other benchmarks refuse anything but official")
    parser.add_argument("--fps", type=positive_fps, metavar="FPS",
                        help="--protocol lmms-eval: the frame rate frames are re-sampled at (default 6)")
    parser.add_argument("--release-fps", type=positive_fps, metavar="FPS",
                        help="--protocol lmms-eval: the rate the release's frames were taken at, which gives each "
                             "native frame its time (default 6, MeViS's)")


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
    add_protocol_options(parser)
    parser.add_argument("--ci", type=confidence_level, metavar="LEVEL",
                        help="add bootstrap confidence intervals at this level, e.g. 0.95 (PixMMVP pair accuracy "
                             "resamples pairs, other metrics rows; PixCV-Bench rows within each source)")
    parser.add_argument("--bootstrap", type=positive_int, default=10_000, metavar="N",
                        help="bootstrap resamples for --ci and compare (default 10000)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the bootstrap (default 0)")
    add_receipt_option(parser)


def add_receipt_option(parser: argparse._ActionsContainer) -> None:
    """``--receipt FILE``: write the run's receipt (:mod:`pixbench.receipts`)."""
    parser.add_argument("--receipt", metavar="FILE",
                        help="also write a receipt: the data's and files' fingerprints, every setting, the judge and "
                             "the verdicts used, the results; `pixbench verify FILE` re-scores it offline")
