"""What the ``pixbench baseline`` commands share: exit codes, the usage error, path and name helpers, and the
dependency check every command runs first (:func:`needs`)."""

from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Callable
from pathlib import Path

__all__ = ["EXIT_FAILED", "EXIT_JUDGE", "EXIT_OK", "EXIT_USAGE", "UsageError", "needs", "print_error",
           "print_interrupted", "resolved_path", "short_model_name"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_JUDGE = 0, 1, 2, 3

Command = Callable[[argparse.Namespace], int]


class UsageError(ValueError):
    """Arguments that do not go together (exit status 2)."""


def needs(*modules: str) -> Callable[[Command], Command]:
    """Run the command only when ``modules`` (torch, transformers, ...) import: else one ``error:`` line with the
    install hint and exit status 1. The one dependency check of the baseline commands."""
    def wrap(command: Command) -> Command:
        @functools.wraps(command)
        def checked(args: argparse.Namespace) -> int:
            from pixbench.baselines.attention import require_baseline_deps

            try:
                require_baseline_deps(*modules)
            except ImportError as exc:
                print_error(str(exc))
                return EXIT_FAILED
            return command(args)
        return checked
    return wrap


def resolved_path(name_or_path: str) -> str:
    """A local folder as an absolute path (so resuming from another directory matches), else as given."""
    path = Path(name_or_path).expanduser()
    return str(path.resolve()) if path.exists() else name_or_path


def short_model_name(model: str) -> str:
    """The last part of a model's path or hub id (the default name written in lines)."""
    return Path(model.rstrip("/")).name or model


def print_error(message: str) -> None:
    print(f"error: {message}", file=sys.stderr)


def print_interrupted(out: Path) -> None:
    """What Ctrl-C leaves of a baseline run, and how to go on."""
    print(f"interrupted: the lines written so far are in {out.name}.shard-*-of-*.jsonl beside {out} (merged into "
          "it when the run ends); run the same command again to resume", file=sys.stderr)
