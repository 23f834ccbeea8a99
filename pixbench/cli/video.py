"""``pixbench mocentric export|show|ids``: MoCentric-Bench probes as MeViS folders, one expression drawn, the ids;
``pixbench mevis ids`` (every video benchmark of the registry gets ``ids``).

``export`` is the command line of :func:`pixbench.video.export.export_probe`, ``show`` of
:func:`pixbench.video.show.show_expression`; ``ids`` lists a build's expressions (or a probe's: the
reversed probes show only the expressions with a reversed text; a MeViS version its own), one a line:
``id``, ``video_id``, the number of frames, the keyframe (MoCentric-Bench) or the target kind and the
release's expression type (MeViS), and the expression text the probe asks, separated by tabs. All read a
folder made by ``pixbench build``. A bad probe, layout, id or build is one ``error:`` line on stderr and exit
status 1 (a wrong ``show --id`` names the closest ids). Progress bars are drawn
only when stderr is a terminal (the rule of every ``pixbench`` command); otherwise ``export`` says in one
plain line what it starts and in another what it did.
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from functools import partial
from pathlib import Path
from typing import Any

from pixbench.cli.options import CommandParser, Subparsers, add_command, positive_int

__all__ = ["cmd_export", "cmd_ids", "cmd_show", "configure", "configure_ids_parser", "configure_parser", "id_columns"]

_EXPORT_DESCRIPTION = """\
Write the frames one probe presents, in MeViS layout, and that probe's meta_expressions.json, so an
existing MeViS inference script runs on DIR unchanged (point its image folder at DIR/JPEGImages and
its expression file at DIR/meta_expressions.json). Frames are streamed one video at a time from the
build's `videos` config (a build made with --no-frames cannot be exported)."""

_EXPORT_EPILOG = """\
layout:
  DIR/JPEGImages/<video_id>/<exp_id>/<NNNNN>.<ext>  static, static-pair (frames depend on the expression's
                                                    keyframe), as the published generator's folders
                                                    valid_u_mocentric_single / _tile_single[_left|_up]
  DIR/JPEGImages/<video_id>/<NNNNN>.<ext>           original, reversed, reversed-pair (the same frames for
                                                    every expression of the video)
  DIR/meta_expressions.json                         MeViS schema: {"videos": {vid: {"vid_id", "frames",
                                                    "expressions": {exp_id: {"exp", "obj_id", "anno_id"}}}}};
                                                    reversed texts for reversed and reversed-pair; only
                                                    videos with expressions in the probe's set; written last
  DIR/pixbench_export.json                          what DIR holds (probe, layout, format, build hash)

  Presented frame t is named frames[t] of the original list: for reversed, 00000 shows the original
  last frame, as the published evaluator expects (do not reverse the frames again when reading them).
  Per-expression folders are read with the published scripts' `special_path` (image folder
  JPEGImages/<video_id>/<exp_id>/).

images:
  default   lossless PNG for static, static-pair, reversed, reversed-pair; for original the
            untouched original JPEG bytes, copied
  jpg       every frame re-encoded by Pillow at --jpeg-quality (75 = the published frames)
  png       every frame as PNG (original too)

output folder:
  DIR must be new, empty, or an earlier export of the same probe, layout, format, quality and build
  (pixbench_export.json, written before any frame, says which): anything else is refused before anything
  is written, naming what DIR holds. --force writes into such a folder anyway and replaces only what an
  export writes (JPEGImages/ frames, meta_expressions.json, pixbench_export.json; files at its frame paths
  and the frame files of an earlier export of the same build are removed first); every other file is left
  in place and listed.

resuming:
  Run the same command again: frames already written with the canvas' size are skipped, every file is
  written under a temporary name and renamed, so an export stopped at any point resumes.

examples:
  pixbench mocentric export --data out/MoCentric-Bench --probe static-pair --out mocentric/static_pair
  pixbench mocentric export --data out/MoCentric-Bench --probe reversed-pair --layout target-left \\
      --image-format jpg --jpeg-quality 75 --out mocentric/reversed_pair_left"""

_SHOW_DESCRIPTION = """\
Draw one expression as a probe presents it: CLIP.gif (animated) and CLIP.png (contact sheet) beside it.
A title band names the expression (id and text), the probe and layout, the model and the colours; a
caption above each frame its name and, with --preds, its J (static: J_bg and FPR). Text is wrapped to
the picture's width, never cut.

colours: the ground truth is a yellow outline (static: the keyframe's truth K, which must not be
segmented, in cyan); with --preds, that model's masks for this id, probe and layout are a magenta
outline and magenta stripes over their area. Every line and stripe has a black or white halo, whichever
contrasts more with the pixels it covers, so it reads on any object colour.

Find ids with `pixbench mocentric ids --data DIR` (--probe reversed for the reversed probes)."""

_IDS_DESCRIPTION = """\
List a build's expressions, one a line: id, video id, frame count, keyframe (the original frame index
the static probes show) and expression text, separated by tabs (`cut -f1` gives the ids, `cut -f5`
the texts). With --probe, the expressions that probe shows, with the text it asks: the reversed probes
(reversed, reversed-pair) show only the expressions that have a reversed text, and ask that text;
every other probe shows every expression with its original text."""

_OTHER_IDS_DESCRIPTION = """\
List a build's expressions, one a line: id, video id, frame count, target kind (single-object,
multi-object or no-target), the release's expression type (- where it gives none) and expression
text, separated by tabs (`cut -f1` gives the ids). With --probe, that version's expressions only."""


def _probe_help(what: str) -> str:
    from pixbench.benchmarks.mocentric.views import PROBES

    return f"{what}: one of {', '.join(PROBES)}"


def _layout_help() -> str:
    from pixbench.benchmarks.mocentric.views import DEFAULT_LAYOUT, LAYOUTS

    defaults = ", ".join(f"{probe}: {layout}" for probe, layout in DEFAULT_LAYOUT.items())
    return (f"pair probes only: {', '.join(LAYOUTS)} (default per probe, as the published scripts: {defaults}); "
            "not allowed for the other probes")


def _common_arguments(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("--data", required=True, metavar="PATH", help="a folder made by `pixbench build mocentric`")
    parser.add_argument("--probe", required=True, metavar="PROBE", help=_probe_help(what))
    parser.add_argument("--layout", metavar="LAYOUT", help=_layout_help())


def _jpeg_quality(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= 100:
        raise argparse.ArgumentTypeError(f"expected a JPEG quality between 1 and 100, but got {text!r}")
    return value


def _export_arguments(parser: argparse.ArgumentParser) -> None:
    _common_arguments(parser, "the probe to write")
    parser.add_argument("--out", required=True, metavar="DIR", help="the folder to write (new, empty, or an earlier "
                                                                   "export with the same settings to resume)")
    parser.add_argument("--force", action="store_true",
                        help="write into a DIR that is not new, empty or such an export: replace its JPEGImages/ "
                             "frames, meta_expressions.json and pixbench_export.json, leave every other file")
    parser.add_argument("--image-format", choices=("png", "jpg"),
                        help="png (lossless) or jpg (re-encoded at --jpeg-quality); default: png, and for the "
                             "original probe the original JPEG bytes as they are")
    parser.add_argument("--jpeg-quality", type=_jpeg_quality, default=75, metavar="Q",
                        help="JPEG quality of --image-format jpg, 1..100 (default 75, the published frames')")
    parser.add_argument("--workers", type=positive_int, default=4, metavar="N",
                        help="threads encoding and writing frames (default 4)")


def _show_arguments(parser: argparse.ArgumentParser) -> None:
    _common_arguments(parser, "the probe to draw")
    parser.add_argument("--id", required=True, dest="row_id", metavar="VID_EXP",
                        help="the expression: '<video_id>_<exp_id>', e.g. d56a6ec78cfa_0")
    parser.add_argument("--preds", metavar="FILE", help="a predictions file (.jsonl) holding a line for this id, "
                                                        "probe and layout")
    parser.add_argument("--model", help="the model to draw when --preds holds several for this line")
    parser.add_argument("--out", required=True, metavar="CLIP.gif",
                        help="the GIF to write; the contact sheet goes to the same name with .png")
    parser.add_argument("--max-width", type=positive_int, default=640, metavar="PX",
                        help="scale wider canvases down to this width (default 640)")
    parser.add_argument("--fps", type=float, default=6.0, help="GIF frames per second (default 6)")


def _ids_arguments(parser: argparse.ArgumentParser, *, name: str) -> None:
    from pixbench.benchmarks import REGISTRY

    benchmark = REGISTRY[name]
    parser.set_defaults(benchmark=benchmark.name)
    probes = benchmark.probes
    parser.add_argument("--data", required=True, metavar="PATH",
                        help=f"a folder made by `pixbench build {benchmark.name}`")
    parser.add_argument("--probe", choices=probes, metavar="PROBE",
                        help=f"list the expressions this probe shows: one of {', '.join(probes)} "
                             "(default: every expression of the build)")


def _load(args: argparse.Namespace) -> tuple[Path, Any]:
    from pixbench.benchmarks.mocentric import MOCENTRIC
    from pixbench.references import load_reference

    name = getattr(args, "benchmark", None) or MOCENTRIC.name
    data = Path(args.data)
    if not data.is_dir():
        raise ValueError(f"--data {args.data}: not a folder (expected a folder made by `pixbench build {name}`)")
    return data, load_reference(name, str(data))


def _log(line: str) -> None:
    print(line, file=sys.stderr)


def cmd_export(args: argparse.Namespace) -> int:
    """Write one probe's presented frames and meta_expressions.json in MeViS layout."""
    from pixbench.video.export import export_probe

    progress = sys.stderr.isatty()
    try:
        data, reference = _load(args)
        result = export_probe(data=data, reference=reference, probe=args.probe,
                              layout=args.layout, out_dir=Path(args.out), image_format=args.image_format,
                              jpeg_quality=args.jpeg_quality, workers=args.workers, progress=progress,
                              force=args.force, announce=None if progress else _log)
    except OSError as exc:  # a full disk: what is written stays, to resume
        from pixbench.video.export import MANIFEST_FILE

        started = (Path(args.out) / MANIFEST_FILE).is_file()
        print(f"error: {'export to ' + args.out + ' stopped: ' if started else ''}{' '.join(str(exc).split())}"
              + (" (run the same command again to resume)" if started else ""), file=sys.stderr)
        return 1
    except ValueError as exc:
        print(f"error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 1
    print(json.dumps(result.to_json(), indent=2))
    if args.force and result.left_in_place:
        shown = ", ".join(result.left_in_place[:10]) + (" ..." if len(result.left_in_place) > 10 else "")
        print(f"note: left in place in {result.out_dir} (not written by an export): {shown}", file=sys.stderr)
    removed = f", removed {result.removed} of the earlier export" if result.removed else ""
    print(f"wrote {result.written} frame(s) ({result.skipped} already done{removed}) and "
          f"{result.out_dir / 'meta_expressions.json'}", file=sys.stderr)
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    """Draw one expression under one probe (and a model's masks) as a GIF and a contact sheet."""
    from pixbench.video.show import show_expression

    try:
        data, reference = _load(args)
        result = show_expression(data=data, reference=reference, row_id=args.row_id,
                                 probe=args.probe, layout=args.layout, out=Path(args.out),
                                 preds=Path(args.preds) if args.preds else None, model=args.model,
                                 max_width=args.max_width, fps=args.fps)
    except (ValueError, OSError) as exc:
        print(f"error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 1
    print(result.gif)
    print(result.sheet)
    if result.scores:
        name = "J_bg" if args.probe == "static" else "J"
        print(f"{result.model}: mean {name} {100 * sum(result.scores) / len(result.scores):.1f} over "
              f"{result.frames} frames", file=sys.stderr)
    return 0


def id_columns(row: Any) -> list[str]:
    """One expression as ``ids`` prints it: id, video id, frames, the benchmark's own columns (the row's
    ``listed()``: MoCentric's keyframe; MeViS's target kind and expression type), the text on one line."""
    return [row.id, row.video_id, str(len(row.frame_names)), *row.listed(), " ".join(row.expression.split())]


def cmd_ids(args: argparse.Namespace) -> int:
    """Print a build's (or a probe's) expressions, tab-separated (:func:`id_columns`)."""
    try:
        _, reference = _load(args)
    except (ValueError, OSError) as exc:
        print(f"error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 1
    rows = reference.rows_for(args.probe) if args.probe else reference.expressions
    for row in rows.values():
        print("\t".join(id_columns(row)))
    what = f"shown by probe {args.probe}" if args.probe else "in the build"
    print(f"{len(rows)} expression(s) {what}", file=sys.stderr)
    return 0


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Add the ``export``, ``show`` and ``ids`` sub-commands to ``parser`` (options declared when one is chosen)."""
    from pixbench.benchmarks.mocentric import MOCENTRIC

    sub = parser.add_subparsers(dest="mocentric_command", required=True, metavar="MOCENTRIC_COMMAND",
                                parser_class=CommandParser)
    add_command(sub, "export", cmd_export, _export_arguments,
                help="write a probe's frames and meta_expressions.json in MeViS layout",
                description=_EXPORT_DESCRIPTION, epilog=_EXPORT_EPILOG,
                formatter_class=argparse.RawDescriptionHelpFormatter)
    add_command(sub, "show", cmd_show, _show_arguments,
                help="draw one expression under a probe (GIF and contact sheet)",
                description=_SHOW_DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter,
                epilog=textwrap.dedent("""\
                    examples:
                      pixbench mocentric show --data out/MoCentric-Bench --id d56a6ec78cfa_0 \\
                          --probe static-pair --out clip.gif
                      pixbench mocentric show --data out/MoCentric-Bench --id d56a6ec78cfa_0 \\
                          --probe reversed-pair --layout target-left --preds preds.jsonl --model m \\
                          --out clip.gif"""))
    add_command(sub, "ids", cmd_ids, partial(_ids_arguments, name=MOCENTRIC.name),
                help="list a build's expression ids (with video, frame count, keyframe and text)",
                description=_IDS_DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter,
                epilog=textwrap.dedent("""\
                    examples:
                      pixbench mocentric ids --data out/MoCentric-Bench
                      pixbench mocentric ids --data out/MoCentric-Bench --probe reversed-pair | grep left"""))


def configure_ids_parser(parser: argparse.ArgumentParser, *, name: str) -> None:
    """Add ``ids`` (alone) to the command group of the video benchmark ``name``."""
    sub = parser.add_subparsers(dest="video_command", required=True, metavar="COMMAND", parser_class=CommandParser)
    add_command(sub, "ids", cmd_ids, partial(_ids_arguments, name=name),
                help="list a build's expression ids (with video, frame count, target kind, type and text)",
                description=_OTHER_IDS_DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)


def configure(subparsers: Subparsers) -> None:
    """Add ``mocentric`` (the benchmark's registry name; with ``export``, ``show`` and ``ids``) and, for every
    other video benchmark of the registry, its name with ``ids``, to the ``pixbench`` commands."""
    from pixbench.benchmarks import REGISTRY
    from pixbench.benchmarks.mocentric import MOCENTRIC

    for benchmark in REGISTRY.values():
        if benchmark.kind == "video" and benchmark is not MOCENTRIC:
            add_command(subparsers, benchmark.name, None, partial(configure_ids_parser, name=benchmark.name),
                        help=f"{benchmark.display_name} tools: list a build's expression ids",
                        description=f"{benchmark.display_name}: list a build's expression ids with their videos, "
                                    f"frame counts and texts (`pixbench {benchmark.name} ids --data DIR "
                                    "[--probe PROBE]`).")

    add_command(subparsers, MOCENTRIC.name, None, configure_parser,
                help="MoCentric-Bench tools: export a probe in MeViS layout, show an expression, list ids",
                description="MoCentric-Bench (MeViS valid_u in motion-altered probes): export a probe's frames "
                            "for MeViS inference code (export), draw one expression with its ground truth and a "
                            "model's masks (show), or list a build's expression ids with their videos and "
                            "texts (ids: `pixbench mocentric ids --data DIR [--probe PROBE]`).")
