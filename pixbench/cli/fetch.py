"""``pixbench fetch INPUT... --to DIR``: download the raw inputs a build needs, checked, laid out, resumable.

The inputs are what the benchmarks declare (:mod:`pixbench.fetching.inputs`; this module names none): each is
laid out as ``DIR/<folder>`` under the name its builder option expects, every file checked against the
repository's size and digest (:mod:`pixbench.fetching.folders`). Rerunning the command resumes: files already
there and right are kept, partial downloads continue, damaged files are fetched again.

What it prints: progress on stderr (when it is a terminal); per folder, on stdout, where the files came from and
what was done (kept, downloaded, resumed, repaired, bytes); then the commands to run next (``pixbench build ...``)
with the paths filled in. An input that cannot be downloaded (MeViS's license) prints the steps to follow by hand
and the commands after them, and the exit status is 1. When the hub cannot be used (``HF_HUB_OFFLINE=1``, or no
answer within a few seconds) nothing is downloaded: the error and the same folders' steps by hand are printed and
the exit status is 1, at once.
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from pathlib import Path

from pixbench.cli.options import Subparsers, add_command, check_output_folder, positive_int

__all__ = ["cmd_fetch", "configure"]

_EPILOG = """\
examples:
  pixbench fetch mmvp --to data        then the `pixbench build pixmmvp ...` command it prints
  pixbench fetch cvbench annotations --to data
  HF_HUB_OFFLINE=1 pixbench fetch mmvp --to data      prints the steps by hand

Hub requests go to HF_ENDPOINT (a mirror, if set); files pinned in GitHub repositories to PIXBENCH_GITHUB_RAW
(default https://raw.githubusercontent.com). A gated or private repo uses your `hf auth login` token."""


def _arguments(parser: argparse.ArgumentParser) -> None:
    from pixbench.fetching import input_summaries

    summaries = input_summaries()
    listing = "\n".join(f"  {name:<12} " + textwrap.fill("; ".join(lines), 86, subsequent_indent=" " * 15)
                        for name, lines in summaries.items())
    parser.description = (
        textwrap.fill("Download the raw inputs of the benchmarks' builders from their public repositories, check "
                      "every file's size and checksum against the repository's, lay the folders out under DIR as "
                      "`pixbench build` expects them and print the build command to run next. Rerun to resume: "
                      "files already there are checked and kept, partial downloads continue, damaged files are "
                      "fetched again.", 100) + "\n\ninputs:\n" + listing)
    parser.add_argument("inputs", nargs="+", choices=list(summaries), metavar="INPUT",
                        help=f"what to fetch: {', '.join(summaries)} (several may be given)")
    parser.add_argument("--to", required=True, metavar="DIR", help="the folder to fetch into (created if needed)")
    parser.add_argument("--workers", type=positive_int, default=8, help="files downloaded at once (default 8)")
    parser.add_argument("--tries", type=positive_int, default=5,
                        help="tries per request before giving up, with exponential backoff (default 5)")


def _print_steps(title: str, lines: list[str]) -> None:
    if lines:
        print(title)
        for line in lines:
            print(f"  {line}")


def cmd_fetch(args: argparse.Namespace) -> int:
    """Fetch the inputs of ``args`` (module docstring)."""
    from pixbench.fetching import (
        FetchError,
        Retry,
        command_line,
        fetch_folders,
        gather,
        hub_unavailable,
        steps_by_hand,
    )

    to = Path(args.to)
    try:
        check_output_folder(args.to, "--to")
        wanted = gather(args.inputs)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    next_steps = [command_line(step, to) for step in wanted.next_steps]
    by_hand = [line.replace("{to}", str(to)) for steps in wanted.by_hand.values() for line in steps]
    reason = hub_unavailable(wanted.folders)
    if reason is not None:
        print(f"error: {reason}: nothing was downloaded. To get the files by hand:", file=sys.stderr)
        _print_steps("by hand:", [*steps_by_hand(wanted.folders, to), *by_hand])
        _print_steps("then:", next_steps)
        return 1
    if wanted.folders:
        to.mkdir(parents=True, exist_ok=True)
        try:
            reports = fetch_folders(wanted.folders, to, retry=Retry(tries=args.tries), workers=args.workers,
                                    progress=sys.stderr.isatty())
        except FetchError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        except Exception as exc:  # the library's errors: a repo, revision or file that is missing or gated
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            print(f"error: {type(exc).__name__}: {reason}. To get the files by hand:", file=sys.stderr)
            _print_steps("by hand:", steps_by_hand(wanted.folders, to))
            return 1
        for report in reports:
            print(f"{report.root}: {report.files} files from {report.source}: {report.kept} already there and "
                  f"checked, {report.downloaded} downloaded, {report.resumed} resumed, {report.repaired} fetched "
                  f"again (damaged), {report.bytes:,} bytes received" +
                  (f", {report.retries} retries" if report.retries else ""))
    if by_hand:
        names = ", ".join(wanted.by_hand)
        print(f"error: {names} cannot be downloaded by pixbench: follow the steps below", file=sys.stderr)
        _print_steps("by hand:", by_hand)
        _print_steps("then:", next_steps)
        return 1
    _print_steps("next:", next_steps)
    return 0


def configure(subparsers: Subparsers) -> None:
    """Add ``fetch`` to the ``pixbench`` commands."""
    add_command(subparsers, "fetch", cmd_fetch, _arguments,
                help="download the raw inputs a build needs (checked, resumable) and print the build command",
                epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
