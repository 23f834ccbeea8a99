"""The ``pixbench`` command: one module per command group, wired here.

- :mod:`~pixbench.cli.build`: ``build``, ``check-annotations``, ``push``, ``show``;
- :mod:`~pixbench.cli.fetch`: ``fetch`` (a builder's raw inputs, downloaded and checked);
- :mod:`~pixbench.cli.score`: ``score``; :mod:`~pixbench.cli.view`: ``view`` (a static site of the results);
  :mod:`~pixbench.cli.verify`: ``verify`` (re-score a receipt and say what differs);
  :mod:`~pixbench.cli.run`: ``run`` (a served model);
  :mod:`~pixbench.cli.compare`: ``compare``;
- :mod:`~pixbench.cli.baseline`: ``baseline attend-segment|explain|video-ground|text-track|make-tiny`` (also
  ``python -m pixbench.baselines``);
- :mod:`~pixbench.cli.convert`: ``convert``; :mod:`~pixbench.cli.demo`: ``demo``;
- :mod:`~pixbench.cli.video`: the video benchmarks' tools, ``mocentric export|show|ids`` (a probe in MeViS
  layout; one expression drawn; a build's expression ids) and ``mevis ids``, named by the benchmarks' registry
  names;
- :mod:`~pixbench.cli.options`: the option groups and helpers several commands share.

Every command is a function ``(args) -> int`` (the exit code); ``main(argv)`` parses and dispatches, so tests
call ``main([...])`` directly. Results go to stdout, problems and progress to stderr. A command's options
are declared when it is chosen (:class:`~pixbench.cli.options.CommandParser`) and its heavy modules imported
when it runs, so building the parser imports neither numpy nor the judge nor the hub libraries (the
description of ``pixbench --help``, which names the registry's benchmarks, is written when help is shown).
``main`` imports only the module of the command it runs (:data:`COMMAND_MODULE`): ``pixbench score`` starts
without the baseline, build or conversion code; :func:`build_parser` declares every command.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
import textwrap
import traceback
from collections.abc import Sequence

from pixbench import __version__
from pixbench.cli.options import CommandParser
from pixbench.problems import shorten

__all__ = ["COMMAND_MODULE", "COMMAND_MODULES", "PixbenchParser", "build_parser", "main", "run_parser"]

#: The command modules (``pixbench.cli.<name>``), in the order ``pixbench --help`` lists their commands;
#: each has ``configure(subparsers)``.
COMMAND_MODULES = ("fetch", "build", "score", "view", "run", "compare", "verify", "baseline", "convert", "video",
                   "demo")
#: The module of each command whose name is fixed (what its ``configure`` adds). The video tools' command is
#: named by its benchmark (the registry's name), so it is found by building every command.
COMMAND_MODULE = {"build": "build", "check-annotations": "build", "push": "build", "show": "build",
                  "score": "score", "view": "view", "run": "run", "compare": "compare", "baseline": "baseline",
                  "convert": "convert", "demo": "demo", "verify": "verify", "fetch": "fetch"}


class PixbenchParser(argparse.ArgumentParser):
    """The top-level parser: its description, which names every benchmark of the registry, is written the
    first time help is formatted (building the parser imports no benchmark)."""

    def format_help(self) -> str:
        if self.description is None:
            self.description = _description()
        return super().format_help()


def _description() -> str:
    from pixbench.cli.score import describe_benchmarks

    return textwrap.fill(f"Build, check, push, score and review pixel-level vision-language benchmarks: "
                         f"{describe_benchmarks()}. New here? `pixbench demo` runs them all on tiny synthetic "
                         "data, offline, in a few seconds.", 100, break_on_hyphens=False)


def build_parser(modules: Sequence[str] = COMMAND_MODULES) -> argparse.ArgumentParser:
    """The ``pixbench`` parser: ``--version``, ``-v`` and the commands of ``modules`` (by default every one of
    :data:`COMMAND_MODULES`)."""
    parser = PixbenchParser(prog="pixbench", formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"pixbench {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details to stderr")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=CommandParser)
    for name in modules:
        importlib.import_module(f"pixbench.cli.{name}").configure(sub)
    return parser


def run_parser(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> int:
    """Parse ``argv``, set up logging to stderr (``-v`` for details) and run the chosen command."""
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, stream=sys.stderr,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        print("interrupted: stopped (lines already written and cached replies are kept)", file=sys.stderr)
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
    """Entry point of the ``pixbench`` console script: the chosen command's module only is imported (every
    module for help, an unknown command or none)."""
    words = sys.argv[1:] if argv is None else list(argv)
    first = next((k for k, word in enumerate(words) if not word.startswith("-")), None)  # the command
    module = None
    if first is not None and not {"-h", "--help"} & set(words[:first]):
        module = COMMAND_MODULE.get(words[first])
    return run_parser(build_parser((module,) if module else COMMAND_MODULES), argv)
