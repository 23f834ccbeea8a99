"""``pixbench verify``: re-score what a receipt names, offline, and say "identical" or what differs.

The predictions files and data default to those the receipt names (paths relative to the current folder, else to
the receipt's folder; a hub copy at the commit it records); the settings are the receipt's, and its verdicts are
the judge (nothing is asked; :mod:`pixbench.receipts`). Differences (data, predictions, settings, judge, version,
the numbers that moved, the per-sample outcomes) go to stdout, one per line; problems to stderr.
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING

from pixbench.cli.options import PROBLEMS_SHOWN, Subparsers, add_command, add_data_option, positive_int

if TYPE_CHECKING:
    from pixbench.receipts import Difference

__all__ = ["cmd_verify", "configure", "print_differences"]

#: Exit status of a receipt that could not be checked (as diff and cmp: 0 same, 1 different, 2 trouble).
CANNOT_VERIFY = 2

_EPILOG = textwrap.dedent("""\
    examples:
      pixbench score preds.jsonl --data pixmmvp=out/PixMMVP --receipt receipt.json
      pixbench verify receipt.json
      pixbench verify receipt.json other/preds.jsonl --data pixmmvp=elsewhere/PixMMVP

    Exit status: 0 identical; 1 something differs (listed on stdout); 2 the receipt could not be checked (it cannot
    be read, a file it names is missing, the files cannot be scored, or a verdict the scoring needs is not in
    it).""")


def print_differences(differences: list[Difference], limit: int = PROBLEMS_SHOWN) -> None:
    """Each difference on stdout, grouped in the order of their kinds; at most ``limit`` numbers that moved, then
    "... and K more"."""
    numbers = [d for d in differences if d.kind == "results"]
    for difference in differences:
        if difference.kind != "results":
            print(difference)
    for difference in numbers[:limit]:
        print(difference)
    if len(numbers) > limit:
        print(f"results: ... and {len(numbers) - limit} more")


def cmd_verify(args: argparse.Namespace) -> int:
    """Verify a receipt: exit 0 identical, 1 differs, 2 could not be checked."""
    from pixbench.cli.options import parse_data, print_problems, print_warnings
    from pixbench.cli.scoring import keep_freed_memory
    from pixbench.receipts import ReceiptError, read_receipt, verify

    keep_freed_memory()
    where = Path(args.receipt)
    try:
        data = parse_data(args.data)
        receipt = read_receipt(where)
        verification = verify(receipt, where, predictions=args.predictions or None, data=data,
                              progress=sys.stderr.isatty(), workers=args.workers)
    except (ReceiptError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return CANNOT_VERIFY
    run = verification.run
    print_warnings(run.warnings)
    if run.problems or run.errors:
        print_problems(run)
        print(f"error: {where}: not verified: the files could not be scored", file=sys.stderr)
        return CANNOT_VERIFY
    differences = verification.differences
    if verification.missing:  # the numbers then lack verdicts: only what differs in the inputs is shown
        differences = [d for d in differences if d.kind not in ("results", "per-sample")]
    if differences:
        print(f"differs from {where}: {len(differences)} difference(s)")
        print_differences(differences)
    if verification.missing:
        for item in verification.missing[:PROBLEMS_SHOWN]:
            print(f"error: {where}: no verdict in the receipt for {item}", file=sys.stderr)
        if len(verification.missing) > PROBLEMS_SHOWN:
            print(f"error: ... and {len(verification.missing) - PROBLEMS_SHOWN} more", file=sys.stderr)
        print(f"error: {where}: not verified: {len(verification.missing)} judge verdict(s) the scoring needs are not "
              "in the receipt (a response changed, or the judge's prompts did); verify asks no judge",
              file=sys.stderr)
        return CANNOT_VERIFY
    if not verification.identical:
        return 1
    print("identical")
    return 0


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("receipt", metavar="RECEIPT.json", help="a receipt written by `pixbench score --receipt`")
    parser.add_argument("predictions", nargs="*", metavar="PREDS.jsonl",
                        help="the predictions files, in the receipt's order (default: the files it names)")
    add_data_option(parser)
    parser.add_argument("--workers", type=positive_int, default=1, metavar="N",
                        help="processes scoring a video benchmark's expressions (default 1; the numbers do not "
                             "depend on it)")


def configure(subparsers: Subparsers) -> None:
    """Add ``verify`` to the ``pixbench`` commands."""
    add_command(subparsers, "verify", cmd_verify, _arguments,
                help="re-score a receipt offline: 'identical', or what differs (data, predictions, settings, "
                     "version, numbers)",
                description="Re-score the files a receipt (`pixbench score --receipt`) names, or the files given, "
                            "with its settings and its judge verdicts (no judge is asked, nothing is downloaded "
                            "but a hub copy it names), and print 'identical', or every difference: the data "
                            "(benchmark, fingerprint before -> after, files), the predictions files, the settings, "
                            "the judge, the pixbench version, and each number that moved (result, metric, before "
                            "-> after).",
                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=_EPILOG)
