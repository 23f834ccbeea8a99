"""The ``pixbench`` command: build, check, push, show and demo (score comes with the metrics).

Every subcommand is a function ``(args) -> int`` (the exit code); ``main(argv)`` parses and dispatches,
so tests call ``main([...])`` directly. Results go to stdout, problems and progress to stderr.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from pixbench import __version__
from pixbench.annotation.report import AnnotationError, Report

BENCHMARKS = ("pixmmvp", "pixcvbench")


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
                                   with_images=not args.no_images, corrections=args.mmvp_corrections)
        else:
            if not args.cvbench:
                print("error: pixcvbench needs --cvbench CV_BENCH_PARQUET (images and questions come from it)",
                      file=sys.stderr)
                return 2
            result = pixcvbench.build(cvbench_paths=[Path(p) for p in args.cvbench],
                                      annotations_dir=Path(args.annotations), out_dir=out,
                                      with_images=not args.no_images)
    except AnnotationError as exc:
        print(f"error: build stopped, nothing written.\n{exc.report.format(None)}", file=sys.stderr)
        return 1
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    _print_report(result.report)
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


def cmd_demo(args: argparse.Namespace) -> int:
    """Build the tiny synthetic benchmark (no network) and print what was built."""
    from pixbench.loaders import pixcvbench, pixmmvp, synthetic

    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="pixbench-demo-"))
    inputs = synthetic.write_tiny_inputs(out / "raw")
    mmvp = pixmmvp.build(annotations_dir=inputs.pixmmvp_annotations, mmvp_dir=inputs.mmvp_dir,
                         out_dir=out / "PixMMVP")
    cv = pixcvbench.build(cvbench_paths=[inputs.cvbench_parquet], annotations_dir=inputs.pixcvbench_annotations,
                          out_dir=out / "PixCV-Bench")
    for name, result in (("PixMMVP", mmvp), ("PixCV-Bench", cv)):
        s = result.summary
        print(f"{name}: {s['rows']} rows, {s['instance_masks']} instance masks, "
              f"empty masks: {s['empty_masks']} -> {result.out_dir}")
    print(f"load with: datasets.load_dataset({str(out / 'PixMMVP')!r}, split='test')")
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
                                       "card) and data/test-*.parquet. Nothing is written if any check fails.")
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

    demo = sub.add_parser("demo", help="build a tiny synthetic benchmark, offline, in a few seconds")
    demo.add_argument("--out", metavar="DIR", help="where to write (default: a new temporary folder)")
    demo.set_defaults(func=cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``pixbench`` console script."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, stream=sys.stderr,
                        format="%(levelname)s %(name)s: %(message)s")
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
