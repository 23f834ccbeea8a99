"""``pixbench view``: score predictions files as `pixbench score` does and write the results as a static site.

It takes every option of `pixbench score` that decides a number (files, ``--data``, selection, judge, intervals)
and writes SITE (:mod:`pixbench.view`): open ``SITE/index.html`` in a browser, from disk or published as it is.
`pixbench score ... --html SITE` writes the same site beside its report. A second run into the same SITE keeps
the images and masks already drawn (resumable). Exit status: as `pixbench score` (0 written, 1 invalid input or
a folder that is not a site, 3 judge errors).
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pixbench.cli.options import Subparsers, add_command, positive_int, report_score_outcome

if TYPE_CHECKING:
    from pixbench.cli.scoring import Scored

__all__ = ["cmd_view", "configure", "write_site"]

_EPILOG = textwrap.dedent("""\
    examples:
      pixbench view qwen.jsonl llava.jsonl --data pixmmvp=out/PixMMVP --out site/
      pixbench view preds/*.jsonl --data pixcvbench=out/PixCV-Bench --select oracle --ci 0.95 --out site/
      pixbench score preds.jsonl --data mocentric=out/MoCentric-Bench --html site/""")


def _folders(scored: Scored) -> dict[str, Path]:
    """benchmark -> the local folder of its build (where images and frames are read)."""
    from pixbench.references import ReferenceError, local_folder

    folders = {}
    for name, reference in scored.run.references.items():
        origin = getattr(reference, "origin", {}) or {}
        if "path" in origin:
            folders[name] = Path(origin["path"])
        elif "hub_id" in origin:
            try:
                folders[name] = local_folder(name, origin["hub_id"])
            except ReferenceError as exc:
                print(f"warning: {name}: images not available ({exc}); drawn on grey", file=sys.stderr)
    return folders


def write_site(args: argparse.Namespace, scored: Scored, out: Path) -> int:
    """Write the site of a score run; 0, or 1 after an error line (a folder that is not a site)."""
    from pixbench.view import SiteOptions, build_site
    from pixbench.view.layout import SiteError

    options = SiteOptions(title=getattr(args, "title", None) or "pixbench results",
                          max_side=getattr(args, "max_side", None) or SiteOptions.max_side,
                          rank_by=getattr(args, "rank_by", None),
                          iou_gap=getattr(args, "iou_gap", None) or SiteOptions.iou_gap,
                          video_frames=getattr(args, "video_frames", None) or SiteOptions.video_frames,
                          video_side=getattr(args, "video_side", None) or SiteOptions.video_side,
                          folders=_folders(scored))
    try:
        summary = build_site(out, run=scored.run, report=scored.report, options=options,
                             progress=sys.stderr.isatty())
    except (SiteError, ImportError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    size = summary.bytes_written / 1e6
    print(f"wrote {summary.index} ({len(summary.pages)} pages; {summary.written} files written, {summary.kept} kept, "
          f"{size:.1f} MB)", file=sys.stderr)
    return 0


def view_extra_missing() -> bool:
    """Whether the site cannot be written for lack of the ``view`` extra (Jinja2); says so on stderr. Checked
    before any scoring, so a missing extra costs no scoring run."""
    from pixbench.view.pages import require_jinja

    try:
        require_jinja()
    except ImportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return True
    return False


def cmd_view(args: argparse.Namespace) -> int:
    """Score, then write the site: exit 0 written, 1 invalid input, 3 judge errors."""
    from pixbench.cli.scoring import score_files

    if view_extra_missing():
        return 1
    scored = score_files(args)
    if isinstance(scored, int):
        return scored
    code = write_site(args, scored, Path(args.out))
    if code:
        return code
    return report_score_outcome(scored.run, scored.judge, allow_judge_errors=args.allow_judge_errors)


def _fraction(value: str) -> float:
    number = float(value)
    if not 0 <= number <= 1:
        raise argparse.ArgumentTypeError(f"expected a fraction in [0, 1], but got {value}")
    return number


def _arguments(parser: argparse.ArgumentParser) -> None:
    from pixbench.cli.scoring import score_arguments

    score_arguments(parser)
    site = parser.add_argument_group("the site")
    site.add_argument("--out", required=True, metavar="SITE", help="the site's folder (new, empty or an earlier site)")
    site.add_argument("--title", help="the title of every page (default: pixbench results)")
    site.add_argument("--rank-by", metavar="METRIC",
                      help="the metric leaderboards rank by, e.g. S, M or JF (default: each benchmark's headline)")
    site.add_argument("--max-side", type=positive_int, metavar="PX",
                      help="longer side of images and masks on sample pages (default 768)")
    site.add_argument("--iou-gap", type=_fraction, metavar="FRACTION",
                      help="compare pages list samples whose IoUs differ by more than this (default 0.25)")
    site.add_argument("--video-frames", type=positive_int, metavar="N",
                      help="at most N frames of a clip in the video player, evenly spaced (default 48)")
    site.add_argument("--video-side", type=positive_int, metavar="PX",
                      help="longer side of a video frame in the player, in pixels (default 480)")


def configure(subparsers: Subparsers) -> Any:
    """Add ``view`` to the ``pixbench`` commands."""
    add_command(subparsers, "view", cmd_view, _arguments,
                help="score predictions files and write the results as a static site (browse every sample)",
                description="Score predictions files exactly as `pixbench score` does and write a static site: "
                            "the results tables and a leaderboard, every sample with its image, ground truth and "
                            "masks, the videos' probes as players, and where two models differ. It opens from "
                            "file:// with no network.",
                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=_EPILOG)
