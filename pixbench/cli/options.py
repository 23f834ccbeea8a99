"""What several ``pixbench`` commands share: option groups, argument types, output checks and messages.

- :func:`add_data_option` / :func:`parse_data`: ``--data [BENCHMARK=]PATH_OR_HUB_ID`` (score, compare; a
  built folder's benchmark is read from its build summary);
- :func:`add_selection_options`: ``--select``, ``--score-threshold``, ``--include-none``, ``--letter-parser``;
- :func:`add_judge_options`: the ``--judge-*`` options, ``--refresh-judge`` and ``--no-judge``, declared once
  with parameters for what differs between commands (which flags, the defaults, who the judge is);
- :func:`add_read_options` / :func:`read_options`: how strictly a predictions file is read;
- :func:`positive_int`, :func:`confidence_level`: argparse ``type`` functions;
- :func:`check_output_file`, :func:`check_output_folder`: refuse an unwritable output before any work;
- :func:`print_report`, :func:`print_warnings`, :func:`print_problems`: messages on stderr;
- :class:`CommandParser` and :func:`add_command`: a command's options are declared when that command is used.

Importing this module imports no heavy module: the benchmark registry, the judge and the predictions reader
are imported by the functions that need them, when a command is parsed or run.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pixbench.annotation.findings import Findings
    from pixbench.predictions import ReadOptions
    from pixbench.score_files import Evaluation, JudgeChoice

__all__ = [
    "JUDGE_FLAGS",
    "PROBLEMS_SHOWN",
    "CommandParser",
    "Subparsers",
    "add_command",
    "add_data_option",
    "add_judge_options",
    "add_read_options",
    "add_selection_options",
    "check_model_sources",
    "check_output_file",
    "check_output_folder",
    "confidence_level",
    "judge_from_options",
    "parse_data",
    "positive_int",
    "print_problems",
    "print_report",
    "print_warnings",
    "read_options",
    "report_score_outcome",
]

#: Problems printed before "... and K more".
PROBLEMS_SHOWN = 50

#: The ``pixbench`` sub-commands action (``add_subparsers``) a command module's ``configure`` adds to.
Subparsers = argparse._SubParsersAction  # argparse has no public name for it
#: A function adding a command's arguments to its parser.
Declare = Callable[[argparse.ArgumentParser], None]
#: A command: ``(args) -> exit code``.
Command = Callable[[argparse.Namespace], int]


# ------------------------------------------------------------------------------------ commands


class CommandParser(argparse.ArgumentParser):
    """A command's parser whose arguments are declared the first time it parses or formats its help.

    ``pixbench`` lists every command up front (name, one-line help, handler), but a command's options, whose
    choices and defaults come from the benchmark registry, the judge protocol or :mod:`pixbench.ingest`, are
    declared only when that command is chosen or its help is shown: ``pixbench --help`` and the start of one
    command import nothing the other commands need. Parsing, usage and help are those of a plain parser.
    """

    declare_arguments: Declare | None = None

    def declare(self) -> None:
        """Declare the arguments now (once)."""
        declare, self.declare_arguments = self.declare_arguments, None
        if declare is not None:
            declare(self)

    def parse_known_args(self, args: Iterable[str] | None = None,
                         namespace: Any = None) -> tuple[Any, list[str]]:
        self.declare()
        return super().parse_known_args(args, namespace)

    def format_usage(self) -> str:
        self.declare()
        return super().format_usage()

    def format_help(self) -> str:
        self.declare()
        return super().format_help()


def add_command(subparsers: Subparsers, name: str, func: Command | None, declare: Declare | None = None,
                **kwargs: Any) -> argparse.ArgumentParser:
    """Add the command ``name`` (``kwargs``: ``help``, ``description`` ... of ``add_parser``) run by ``func``.

    ``declare(parser)`` adds its arguments: when the command is first used if the parser is a
    :class:`CommandParser` (``pixbench``'s are), else at once.
    """
    parser = subparsers.add_parser(name, **kwargs)
    if func is not None:
        parser.set_defaults(func=func)
    if declare is not None:
        if isinstance(parser, CommandParser):
            parser.declare_arguments = declare
        else:
            declare(parser)
    return parser


# ------------------------------------------------------------------------------------ argument types


def confidence_level(text: str) -> float:
    """A confidence level strictly between 0 and 1 (argparse ``type`` of ``--ci``)."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"expected a confidence level between 0 and 1, e.g. 0.95, but got {text}")
    return value


def positive_int(text: str) -> int:
    """An integer >= 1 (argparse ``type``)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, but got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, but got {value}")
    return value


# ------------------------------------------------------------------------------------ option groups


def add_data_option(parser: argparse.ArgumentParser) -> None:
    """``--data [BENCHMARK=]PATH_OR_HUB_ID`` (repeatable): each benchmark's ground truth; see :func:`parse_data`."""
    parser.add_argument("--data", action="append", metavar="[BENCHMARK=]PATH_OR_HUB_ID",
                        help="ground truth: a folder made by `pixbench build` (its benchmark is read from its "
                             "build_summary.json), or BENCHMARK=PATH_OR_HUB_ID (needed for a hub id or a folder "
                             "without a build summary); default: the published copy of each image benchmark "
                             "(MoCentric-Bench has none yet: give --data PATH)")


def _built_benchmark(value: str, names: Sequence[str]) -> str:
    """The benchmark named by the build summary of the folder ``value``; ``ValueError`` saying why there is none
    and that ``BENCHMARK=`` is then needed."""
    import re

    from pixbench.builds.layout import BUILD_SUMMARY_FILE, summary_benchmark

    prefixed = f"--data BENCHMARK={value} (BENCHMARK: {', '.join(names)})"
    path = Path(value).expanduser()
    if not path.exists():
        if re.fullmatch(r"[A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*", value):
            raise ValueError(f"--data {value}: no such folder; a hub id needs its benchmark: {prefixed}")
        raise ValueError(f"--data {value}: no such folder (expected a folder made by `pixbench build`, or {prefixed})")
    if not path.is_dir():
        raise ValueError(f"--data {value}: a file, not a folder made by `pixbench build`")
    try:
        benchmark = summary_benchmark(path)
    except ValueError as exc:
        if not (path / BUILD_SUMMARY_FILE).is_file():
            raise ValueError(f"--data {value}: {exc}, so its benchmark is unknown (not a folder made by "
                             f"`pixbench build`?); name it: {prefixed}") from None
        raise ValueError(f"--data {value}: {exc}; name the benchmark: {prefixed}") from None
    if benchmark not in names:
        raise ValueError(f"--data {value}: {path / BUILD_SUMMARY_FILE}: field 'benchmark': expected one of "
                         f"{list(names)}, but got {benchmark!r}")
    return str(benchmark)


def parse_data(values: Sequence[str] | None) -> dict[str, str]:
    """``--data`` values -> {benchmark: path or hub id}.

    ``BENCHMARK=PATH_OR_HUB_ID`` names its benchmark (a built folder whose summary names another is refused); a
    bare ``PATH`` must be a folder made by ``pixbench build``, whose ``build_summary.json`` says which benchmark
    it is. A hub id, or a folder without a build summary, needs the prefix. ``ValueError`` saying what was
    expected, also for a benchmark given twice.
    """
    from pixbench.benchmarks import BENCHMARK_NAMES

    data: dict[str, str] = {}
    for value in values or []:
        name, sep, where = value.partition("=")
        if sep and name in BENCHMARK_NAMES:
            if not where:
                raise ValueError(f"--data {value}: expected {name}=PATH_OR_HUB_ID, but nothing follows the '='")
            _check_prefix(name, where, BENCHMARK_NAMES)
        elif sep and "/" not in name and not Path(value).expanduser().exists():
            raise ValueError(f"--data {value}: unknown benchmark {name!r} (expected one of {list(BENCHMARK_NAMES)}, "
                             "or a folder made by `pixbench build`)")
        else:
            name, where = _built_benchmark(value, BENCHMARK_NAMES), value
        if data.get(name, where) != where:
            raise ValueError(f"--data gives {name} twice ({data[name]} and {where}); give one")
        data[name] = where
    return data


def _check_prefix(name: str, where: str, names: Sequence[str]) -> None:
    """Refuse ``name=where`` when ``where`` is a built folder whose summary names another benchmark (an unreadable
    summary is left to the reader of the data, which names the file)."""
    from pixbench.builds.layout import summary_benchmark

    try:
        found = summary_benchmark(where)
    except ValueError:
        return
    if found in names and found != name:
        raise ValueError(f"--data {name}={where}: that folder is a {found} build (its build_summary.json), not "
                         f"{name}; give --data {found}={where}, or the {name} folder")


def add_selection_options(parser: argparse.ArgumentParser) -> None:
    """How a line's candidates become one mask and how answers are read (``ScoreSettings``)."""
    parser.add_argument("--select", choices=("given", "oracle", "score"), default="given",
                        help="how a line's candidates become one mask: given (its mask or `selected`), "
                             "oracle (best IoU, upper bound), score (highest score above --score-threshold)")
    parser.add_argument("--score-threshold", type=float, default=0.7, help="for --select score (default 0.7)")
    parser.add_argument("--include-none", action="store_true",
                        help="PixMMVP: count the 14 questions without an object in M")
    parser.add_argument("--letter-parser", choices=("default", "reference"), default="default",
                        help="option-letter parser: pixbench's (default) or the published one (reference)")


#: Every judge option, in the order ``pixbench score`` declares them.
JUDGE_FLAGS = ("--judge-model", "--judge-temperature", "--judge-base-url", "--judge-cache", "--refresh-judge",
               "--no-judge", "--judge-retries", "--judge-timeout", "--judge-concurrency")
#: The judge model unless ``--judge-model`` says otherwise.
DEFAULT_JUDGE_MODEL = "gpt-4o"


def add_judge_options(container: argparse._ActionsContainer, flags: Sequence[str] = JUDGE_FLAGS, *,
                      temperature: float | None = None, concurrency: int = 16, role: str = "judge") -> None:
    """Add the judge options named in ``flags`` (see :data:`JUDGE_FLAGS`), in that order, to ``container``.

    ``container`` is a parser or an argument group; ``role`` names the judge in the help ("judge", "vision
    judge"). ``temperature`` is the default of ``--judge-temperature``: None for the published A-dagger
    protocol's (:data:`pixbench.judge.DEFAULT_JUDGE_TEMPERATURE`). ``concurrency`` is the default of
    ``--judge-concurrency``. The destinations are ``args.judge_model``, ``args.judge_temperature`` ...
    """
    from pixbench.judge import DEFAULT_JUDGE_TEMPERATURE, refresh_argument, temperature_argument

    unknown = [flag for flag in flags if flag not in JUDGE_FLAGS]
    if unknown:
        raise ValueError(f"unknown judge options {unknown} (known: {list(JUDGE_FLAGS)})")
    note = "" if temperature is not None else ", the published protocol's"
    temperature = DEFAULT_JUDGE_TEMPERATURE if temperature is None else temperature
    declarations: dict[str, dict[str, Any]] = {
        "--judge-model": dict(default=DEFAULT_JUDGE_MODEL, help=f"{role} model name (default {DEFAULT_JUDGE_MODEL})"),
        "--judge-temperature": dict(type=temperature_argument, default=temperature, metavar="T",
                                    help=f"{role} sampling temperature (default {temperature}{note}; part of the "
                                         "cache key)"),
        "--judge-base-url": dict(metavar="URL",
                                 help="an OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1 (default: OpenAI)"),
        "--judge-cache": dict(metavar="PATH", help="SQLite file of cached verdicts"),
        "--refresh-judge": dict(nargs="?", const="all", type=refresh_argument, metavar="all|undetermined",
                                help="ask again even when a verdict is cached: all of them (the default), or only "
                                     "the undetermined ones (replies the parser could not read)"),
        "--no-judge": dict(action="store_true", help="do not compute A-dagger"),
        "--judge-retries": dict(type=int, default=5,
                                help=f"retries of a failed {role} request, with exponential backoff (default 5)"),
        "--judge-timeout": dict(type=float, default=60.0, help=f"seconds per {role} request (default 60)"),
        "--judge-concurrency": dict(type=int, default=concurrency,
                                    help=f"{role} requests in flight at once (default {concurrency})"),
    }
    for flag in flags:
        container.add_argument(flag, **declarations[flag])


def judge_from_options(args: argparse.Namespace) -> Any:
    """The scoring judge the options of :func:`add_judge_options` ask for
    (:func:`pixbench.score_files.make_judge`); an option a command does not declare takes make_judge's default
    (``--refresh-judge``: no refresh). ``ValueError`` / ``ImportError`` as make_judge raises them."""
    from pixbench.score_files import make_judge

    declared = {"timeout": getattr(args, "judge_timeout", None),
                "concurrency": getattr(args, "judge_concurrency", None)}
    return make_judge(no_judge=args.no_judge, model=args.judge_model, base_url=args.judge_base_url,
                      cache_path=args.judge_cache, refresh=getattr(args, "refresh_judge", False),
                      retries=args.judge_retries, temperature=args.judge_temperature,
                      **{name: value for name, value in declared.items() if value is not None})


def add_read_options(parser: argparse.ArgumentParser) -> None:
    """How strictly a predictions file is read; see :func:`read_options`."""
    parser.add_argument("--allow-unknown-fields", action="store_true",
                        help="warn about fields a predictions line should not have (e.g. a misspelt `Mask`) "
                             "instead of refusing the file")
    parser.add_argument("--allow-outside-paths", action="store_true",
                        help="let `png` mask paths leave the predictions file's folder (absolute paths, ..)")


def read_options(args: argparse.Namespace) -> ReadOptions:
    """The :class:`~pixbench.predictions.ReadOptions` of :func:`add_read_options`'s flags."""
    from pixbench.predictions import ReadOptions

    return ReadOptions(allow_unknown_fields=args.allow_unknown_fields, allow_outside_paths=args.allow_outside_paths)


# ------------------------------------------------------------------------------------ output paths


def check_output_file(value: str | None, flag: str) -> None:
    """Refuse an output path that cannot be written, before any work is done."""
    if not value:
        return
    path = Path(value)
    if path.is_dir():
        raise ValueError(f"{flag} {value}: is a folder; give a file name")
    if not path.parent.is_dir():
        raise ValueError(f"{flag} {value}: folder {path.parent} does not exist")


def check_output_folder(value: str | None, flag: str) -> None:
    """Refuse an output folder that exists as something else."""
    if value and Path(value).exists() and not Path(value).is_dir():
        raise ValueError(f"{flag} {value}: exists and is not a folder")


# ------------------------------------------------------------------------------------ messages


def print_report(report: Findings, limit: int = PROBLEMS_SHOWN) -> None:
    """An annotation report's problems (the first ``limit``), if any, on stderr."""
    if report.problems:
        print(report.format(limit), file=sys.stderr)


def print_warnings(warnings: Sequence[str], limit: int = PROBLEMS_SHOWN) -> None:
    """The first ``limit`` warnings, then "... and K more", on stderr."""
    for warning in warnings[:limit]:
        print(f"warning: {warning}", file=sys.stderr)
    if len(warnings) > limit:
        print(f"warning: ... and {len(warnings) - limit} more", file=sys.stderr)


def print_problems(run: Evaluation, limit: int = PROBLEMS_SHOWN) -> None:
    """The first ``limit`` problems of a run, then "... and K more", then the true total."""
    messages = [*map(str, run.problems), *run.errors]
    total = run.problem_count + len(run.errors)
    for message in messages[:limit]:
        print(f"error: {message}", file=sys.stderr)
    if total > min(limit, len(messages)):
        print(f"error: ... and {total - min(limit, len(messages))} more", file=sys.stderr)
    print(f"error: nothing scored ({total} problem(s))", file=sys.stderr)


def check_model_sources(**options: str | None) -> None:
    """Check each model option given (``sam_model="facebook/sam-vit-base"``) before anything loads: a missing
    folder, or a hub model while the hub is off (and it is not cached) or unreachable, raises
    :class:`~pixbench.loaders.sources.SourceError` in seconds, naming the option."""
    from pixbench.loaders.sources import check_hub, locate

    for name, value in options.items():
        if value is None:
            continue
        flag = "--" + name.replace("_", "-")
        source = locate(value, what=flag, argument=f"{flag} PATH")
        if source.kind == "hub":
            check_hub(source.value, what=flag, argument=f"{flag} PATH", repo_type="model", offline_cache=True)


def report_score_outcome(run: Evaluation, judge: JudgeChoice, *, allow_judge_errors: bool = False,
                         allow_flag: str | None = "--allow-judge-errors") -> int:
    """What a scoring command says after its report, on stderr: lines missing per result, then the judge's
    failures; the exit status: 3 when the judge could not be reached, or failed (unless
    ``allow_judge_errors``), else 0. ``allow_flag`` is the option the message suggests (None: none)."""
    for result in run.results:
        if (missing := result.counts.missing_note()) is not None:
            print(f"{result.where}: {missing}", file=sys.stderr)
    judge_errors = sum(result.counts.judge_errors for result in run.results)
    unreachable = getattr(judge.judge, "unreachable", None) if judge.judge else None
    if unreachable:  # even with --allow-judge-errors: a dead endpoint is not a judgement
        print(f"error: the judge could not be reached ({unreachable}); {judge_errors} verdict(s) missing, every "
              "verdict obtained is cached. Rerun to resume.", file=sys.stderr)
        return 3
    if judge_errors and not allow_judge_errors:
        hint = f", or pass {allow_flag}" if allow_flag else ""
        print(f"error: {judge_errors} judge request(s) failed at {judge.judge.endpoint if judge.judge else '?'}; "
              f"verdicts obtained so far are cached. Rerun to resume{hint}.", file=sys.stderr)
        return 3
    return 0
