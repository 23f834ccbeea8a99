"""``pixbench convert``: the command line of :mod:`pixbench.ingest` (arguments, help text, messages, exit status).

``--from reference`` (the default) converts the PixFoundation reference scripts' files
(:func:`pixbench.ingest.convert_reference`); ``--from lmms-eval|vlmevalkit FILE`` maps another harness's
output (:func:`pixbench.ingest.read_source`, :func:`pixbench.ingest.map_rows`); ``--from mevis-pngs
PRED_ROOT`` reads MoCentric-Bench PNG outputs ``PRED_ROOT/<video_id>/<exp_id>/<frame>.png``
(:func:`pixbench.ingest.convert_mevis_pngs`); ``--from lmms-eval-rvos SUBMISSION.json`` turns lmms-eval's RVOS point
tracks into MeViS lines by SAM 2 point propagation (:mod:`pixbench.ingest.lmms_eval_rvos`), as a resumable run.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pixbench.cli.options import Subparsers, add_command

if TYPE_CHECKING:
    from pixbench.ingest import BridgeResult
    from pixbench.ingest.common import LineKey
    from pixbench.predictions import Prediction

__all__ = ["configure", "configure_parser", "run", "source_formats"]


def source_formats() -> tuple[str, ...]:
    """What ``--from`` takes: the reference layout, the harnesses of :mod:`pixbench.ingest`, the MeViS
    PNG layout of MoCentric-Bench, then lmms-eval's RVOS point tracks."""
    from pixbench.ingest import MEVIS_SOURCE, SOURCES
    from pixbench.ingest.lmms_eval_rvos import RVOS_SOURCE

    return ("reference", *SOURCES, MEVIS_SOURCE, RVOS_SOURCE)

_DESCRIPTION = """\
Convert the outputs of the PixFoundation reference scripts (github.com/MSiam/PixFoundation) into a
predictions file that `pixbench score` reads. One call converts one benchmark, probe and model; give
any of --answers, --masks and --candidates (with --meta and --selection), and use --append to collect
the three probes of a model in one file. Masks are stored inline as RLE, so the output is
self-contained.

The reference folders name the probes by protocol: protocol1 = vqa (--prompt_for_seg 0),
protocol2 = letter (3), protocol3 = segment (1).

Other sources (see below): --from lmms-eval|vlmevalkit FILE (option-letter answers of other harnesses)
and --from mevis-pngs PRED_ROOT (MoCentric-Bench masks in the published layout
PRED_ROOT/<video_id>/<exp_id>/<frame>.png, one probe and layout a call)."""

_EPILOG = """\
file layout:
  --masks DIR        one PNG per row: {id}.png, {id:05d}.png or output{id:05d}.png (PixMMVP row id
                     1..300), or {image stem}.png (PixCV-Bench, needs --data); non-zero = foreground
  --candidates DIR   {id}_{group:03d}_{mask:03d}.png: noun-phrase group, SAM mask 0..2; ordered by
                     (group, mask); a bare {id}.png (no noun phrase) must be empty -> no candidates
  --meta FILE        lines '{id}.jpg - {group} - {phrase}| {core}| {score}' -> phrase and score of
                     every mask of the group (the 'when' variant's char offsets are kept too)
  --selection FILE   lines {"question_id": q, "selected file": PATH or "NONE"}, q counted from 0;
                     a row without a line gets "none" (no candidate) or 0 (one candidate)
  --answers FILE     lines with question_id, prompt and the text in `response` (vqa/segment format,
                     where `answer` is the correct answer) or else in `answer` (letter format)

ids:
  Files pair by the id in their names and lines, never by position. The reference scripts write
  PixMMVP question_id = row id (counted from 1: --id-base 1, the default) and name masks by the row
  id; the selection file counts from 0. PixCV-Bench letter answers carry the CV-Bench idx
  (questionId, counted from 0: --id-base 0, the default) and vqa/segment answers and masks carry the
  image name, which --data maps to the row id.

examples:
  pixbench convert --benchmark pixmmvp --probe vqa --model llava-1.5-7b \\
      --answers answers/answers_llava-1.5-7b_protocol1.jsonl \\
      --candidates preds/preds_llava-1.5-7b_protocol1 \\
      --meta meta/meta_llava-1.5-7b_spaCy_protocol1.txt \\
      --selection meta/meta_llava-1.5-7b_gptauto_protocol1.jsonl --out llava-1.5-7b.jsonl
  pixbench convert --benchmark pixmmvp --probe letter --model llava-1.5-7b \\
      --answers answers/answers_llava-1.5-7b_protocol2.jsonl --out llava-1.5-7b.jsonl --append

Exit status: 0 on success; 1 when any input has a problem (all problems are listed, nothing is
written)."""


HARNESS_EPILOG = """
lmms-eval and VLMEvalKit (--from lmms-eval FILE, --from vlmevalkit FILE):
  FILE               lmms-eval --log_samples output of the mmvp or cv_bench(_2d) task (samples_*.jsonl),
                     or VLMEvalKit's {model}_MMVP / {model}_CV-Bench-2D prediction file (.xlsx needs
                     openpyxl, or .tsv); becomes `letter` lines, response = the harness's output
  ids                lmms-eval 0.4+ lines (no doc): mmvp_accuracy.index + 1 (MMVP Index) and
                     cv_bench_acc.id (CV-Bench idx); older lines with doc: doc Index and doc idx;
                     VLMEvalKit: index, counted from 0 for MMVP (row id = index + 1; --id-base 1 if
                     yours counts from 1) and = CV-Bench idx for CV-Bench-2D; never by position
  --benchmark        detected from the file; --probe may only be letter
  --data             checks ids and questions against the built dataset (lmms-eval 0.4+: the
                     question must appear in the line's input) and counts dataset rows without
                     a prediction
  unmapped rows      unreadable rows or ids, empty predictions, ids not in the benchmark, questions
                     that differ from the dataset's, duplicates and rows of the other benchmark are
                     listed on stderr (and in --report FILE, JSON); any of them makes the command exit 1
                     and write nothing unless --allow-unmapped. CV-Bench 3D rows are skipped and
                     counted, not errors (--report lists them).

  pixbench convert --from lmms-eval logs/llava/20250101_samples_mmvp.jsonl --model llava-1.5-7b \\
      --data pixmmvp --out llava-1.5-7b.jsonl
  pixbench convert --from vlmevalkit outputs/llava/llava_CV-Bench-2D.tsv --out llava.jsonl --append"""


MEVIS_EPILOG = """
MoCentric-Bench PNG outputs (--from mevis-pngs PRED_ROOT):
  PRED_ROOT          the published output layout PRED_ROOT/<video_id>/<exp_id>/<frame>.png: one binary
                     PNG per presented frame (any non-zero pixel = foreground), named after the video's
                     original frame names (00000.png, ...: presented frame t is named frames[t], so for
                     reversed probes 00000.png answers the original last frame), at the presented canvas
                     size: H x 2W for target-left/target-right pairs, 2H x W for target-bottom, else H x W
  --data             the built MoCentric-Bench (folder or hub id): required; gives the expressions,
                     frame names and sizes
  --probe, --layout  one of original, static, static-pair, reversed, reversed-pair; --layout
                     (target-left, target-right, target-bottom) is required for the pair probes and
                     refused for the others; one call converts one (probe, layout)
  missing            an expression of the probe's set without a folder is left out (it counts as missing
                     when scored) and listed in the summary
  errors             a folder lacking frames (named), a PNG of another size than the canvas (read from
                     the header, never decoded), an unreadable or non-PNG file, a video or expression
                     folder not in the dataset, an expression the probe does not score (a non-reversed
                     one for reversed/reversed-pair): all listed, exit 1, nothing written
  warnings           extra files in an expression folder and stray files are listed and ignored
  masks are stored inline as RLE (an empty frame as null), so the output is self-contained.

  pixbench convert --from mevis-pngs runs/m/static-pair-left --data out/MoCentric-Bench \\
      --probe static-pair --layout target-left --model m --out m.jsonl --append"""


RVOS_EPILOG = """
lmms-eval's RVOS outputs (--from lmms-eval-rvos SUBMISSION.json), task rvos_mevis_valid_u:
  SUBMISSION.json    stage 1's <task>_submission_<time>.json (a JSON array; --log_samples lines work too):
                     per query id, qid, video, expression, the reply and its parsed point tracks
                     (times in seconds, points in the record's width x height pixels)
  --stage2 FILE      stage 2's <task>_sam2_predictions.json (optional): queries it lacks failed there and
                     get no line (--protocol lmms-eval drops them, as lmms-eval does; official scores 0);
                     its per-query J, F, J&F are kept in each line's details; a record with `masks` (one
                     RLE or null per native frame) gives the line those masks (no SAM 2 for it)
  --data             the built MeViS (with its videos config, for the frames SAM 2 runs on)
  --version          the MeViS version the queries belong to (default v1: the task's 793 expressions)
  --sam2, --device   the SAM 2 video checkpoint propagating the points (default facebook/sam2.1-hiera-large,
                     as lmms-eval's stage 2) and its device
  --fps              the rate of the release's frames: a point at time s goes on native frame round(s * fps)
                     (default 6)
  matching           by qid when it names an expression of the video, else by the expression text within
                     the video (case and spacing ignored); unmatched, ambiguous or repeated queries are listed,
                     exit 1, nothing written
  resuming           lines are written as they are made, with OUT.run.json: a rerun skips what is done and
                     refuses other settings (--force starts over)

  pixbench convert --from lmms-eval-rvos logs/rvos_mevis_valid_u_submission.json --stage2 \\
      rvos_sam2_output/rvos_mevis_valid_u_sam2_predictions.json --data build/MeViS --model qwen3-vl \\
      --out qwen3-vl.mevis.jsonl
  pixbench score qwen3-vl.mevis.jsonl --data mevis=build/MeViS --protocol lmms-eval"""


def _reference_bases() -> str:
    from pixbench.ingest import REFERENCE_ID_BASE

    return ", ".join(f"{base} for {name}" for name, base in REFERENCE_ID_BASE.items())


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Add the ``convert`` arguments (and a manual-like description) to ``parser``."""
    from pixbench.benchmarks import BENCHMARK_NAMES
    from pixbench.benchmarks.mocentric.views import LAYOUTS
    from pixbench.benchmarks.mocentric.views import PROBES as VIDEO_PROBES
    from pixbench.ingest import SELECTION_ID_BASE
    from pixbench.predictions import PROBES

    parser.description = parser.description or _DESCRIPTION
    parser.epilog = parser.epilog or _EPILOG + "\n" + HARNESS_EPILOG + "\n" + MEVIS_EPILOG + "\n" + RVOS_EPILOG
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    what = parser.add_argument_group("what is converted")
    what.add_argument("--from", dest="source_format", choices=source_formats(), default="reference",
                      help="the layout of the inputs (default: reference, the PixFoundation scripts; "
                           "lmms-eval and vlmevalkit read FILE; mevis-pngs reads the MoCentric-Bench PNG "
                           "folder PRED_ROOT/<video_id>/<exp_id>/<frame>.png)")
    what.add_argument("source", nargs="?", metavar="FILE",
                      help="with --from lmms-eval|vlmevalkit: the samples .jsonl or the .xlsx/.tsv file; with "
                           "--from mevis-pngs: the PRED_ROOT folder")
    what.add_argument("--benchmark", choices=BENCHMARK_NAMES,
                      help="the benchmark the files are for (required with --from reference)")
    what.add_argument("--probe", choices=(*PROBES, *VIDEO_PROBES),
                      help="the probe: vqa (protocol1), letter (protocol2) or segment (protocol3); required "
                           "with --from reference; with --from mevis-pngs (required) a MoCentric-Bench probe")
    what.add_argument("--layout", choices=LAYOUTS,
                      help="with --from mevis-pngs: the pair probes' layout (required for static-pair and "
                           "reversed-pair, refused otherwise)")
    what.add_argument("--model", metavar="NAME",
                      help="the model name written on every line (default: the --out file's stem)")
    inputs = parser.add_argument_group("inputs (at least one of --answers, --masks, --candidates)")
    inputs.add_argument("--answers", metavar="FILE.jsonl",
                        help="the answers file; required for the vqa and letter probes")
    inputs.add_argument("--masks", metavar="DIR", help="folder of one predicted mask PNG per row")
    inputs.add_argument("--candidates", metavar="DIR", help="folder of candidate mask PNGs per row")
    inputs.add_argument("--meta", metavar="FILE.txt",
                        help="the spaCy meta file giving each candidate group's phrase and score")
    inputs.add_argument("--selection", metavar="FILE.jsonl",
                        help="the automatic (GPT) selection file giving each row's chosen candidate")
    inputs.add_argument("--data", metavar="PATH_OR_HUB_ID",
                        help="a built dataset (folder or hub id): checks ids against it and, for "
                             "pixcvbench, maps image names to row ids (needed there for masks and "
                             "vqa/segment answers); required with --from mevis-pngs (the built "
                             "MoCentric-Bench)")
    id_args = parser.add_argument_group("ids")
    id_args.add_argument("--id-base", type=int, choices=(0, 1), default=None,
                         help="what the answers file's question_id counts the first row as (default: "
                              f"what the reference scripts write: {_reference_bases()})")
    id_args.add_argument("--selection-id-base", type=int, choices=(0, 1), default=SELECTION_ID_BASE,
                         help="the same for the selection file (default: 0, as the reference writes it)")
    output = parser.add_argument_group("output")
    output.add_argument("--out", "-o", required=True, metavar="PREDS.jsonl", help="the predictions file to write")
    mode = output.add_mutually_exclusive_group()
    mode.add_argument("--append", action="store_true",
                      help="add to an existing file of JSON lines (refused, before anything is written, if it "
                           "holds a line that is not a JSON object or a line for the same model, id and probe; "
                           "a missing final newline is added)")
    mode.add_argument("--force", action="store_true", help="overwrite an existing file")
    _add_harness_arguments(parser)
    _add_rvos_arguments(parser)


def _summary(predictions: list[Prediction], args: argparse.Namespace, model: str, out: Path) -> str:
    with_candidates = [p for p in predictions if p.candidates is not None]
    parts = [f"{sum(p.response is not None for p in predictions)} response(s)",
             f"{sum(p.has_mask for p in predictions)} mask(s)",
             f"{len(with_candidates)} with candidates ({sum(len(p.candidates or ()) for p in with_candidates)} masks)",
             f"{sum(isinstance(p.selected, int) for p in predictions)} selected",
             f"{sum(p.selected == 'none' for p in predictions)} 'none'"]
    action = _action(args.append, out)
    return (f"{action} {out}: {len(predictions)} line(s) of {args.benchmark}/{args.probe} for model {model!r}: "
            + ", ".join(parts))


def run(args: argparse.Namespace) -> int:
    """``pixbench convert``: convert, write, print a one-line summary to stderr; 1 on any problem."""
    from pixbench.ingest import MEVIS_SOURCE, ConvertError, convert_reference, dataset_ids
    from pixbench.ingest.lmms_eval_rvos import RVOS_SOURCE
    from pixbench.predictions import PROBES, write_predictions

    if args.source_format == MEVIS_SOURCE:
        return _run_mevis(args)
    if args.source_format == RVOS_SOURCE:
        return _run_rvos(args)
    for flag, given in (("--stage2", args.stage2), ("--sam2", args.sam2), ("--version", args.version),
                        ("--fps", args.fps), ("--device", args.device)):
        if given is not None:
            return _fail(f"{flag} applies to --from lmms-eval-rvos only")
    if args.source_format != "reference":
        return _run_harness(args)
    if getattr(args, "layout", None) is not None:
        return _fail("--layout applies to --from mevis-pngs only")
    if args.probe is not None and args.probe not in PROBES:
        return _fail(f"--probe {args.probe} is a MoCentric-Bench probe: convert its PNG folders with "
                     "--from mevis-pngs PRED_ROOT")
    missing = [f"--{name}" for name in ("benchmark", "probe") if getattr(args, name) is None]
    if missing or args.source is not None or args.report or args.allow_unmapped:
        print(f"error: --from reference needs {' and '.join(missing)}" if missing else
              f"error: --from reference takes no FILE ({args.source}); use --answers, --masks, --candidates"
              if args.source is not None else
              "error: --report and --allow-unmapped apply to --from lmms-eval|vlmevalkit", file=sys.stderr)
        return 1
    out = Path(args.out)
    model = args.model or out.stem
    if out.exists() and not (args.append or args.force):
        print(f"error: {out} exists; pass --append to add to it or --force to overwrite it", file=sys.stderr)
        return 1
    try:
        keys = _append_keys(out, args.append)
    except ValueError as exc:
        return _fail(str(exc))
    try:
        valid_ids: set[int] | None = None
        names: dict[str, int] | None = None
        if args.data:
            try:
                valid_ids, names = dataset_ids(args.data, args.benchmark)
            except Exception as exc:  # datasets/hub raise many types
                print(f"error: cannot read the dataset {args.data}: {type(exc).__name__}: {exc}", file=sys.stderr)
                return 1
        predictions = convert_reference(
            benchmark=args.benchmark, probe=args.probe, model=model, answers=args.answers, masks=args.masks,
            candidates=args.candidates, meta=args.meta, selection=args.selection, id_base=args.id_base,
            selection_id_base=args.selection_id_base, names=names or None, valid_ids=valid_ids,
            progress=sys.stderr.isatty())
        clash = _append_clash(out, predictions, keys, f"model {model!r}, {args.benchmark}, probe {args.probe}")
        if clash:
            print(f"error: {clash}", file=sys.stderr)
            return 1
        summary = _summary(predictions, args, model, out)
        write_predictions(out, predictions, append=args.append)
    except ConvertError as exc:
        print(f"error: nothing written; {exc}", file=sys.stderr)
        return 1
    except (ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(summary, file=sys.stderr)
    return 0


# ----------------------------------------------------------------------------- lmms-eval and VLMEvalKit

def _add_harness_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the bridge options (``--report``, ``--allow-unmapped``) to the ``convert`` parser."""
    group = parser.add_argument_group("lmms-eval and VLMEvalKit (--from lmms-eval|vlmevalkit FILE)")
    group.add_argument("--report", metavar="FILE.json",
                       help="write the mapping report (mapped, skipped and unmapped rows) as JSON")
    group.add_argument("--allow-unmapped", action="store_true",
                       help="write the rows that map even when some cannot be mapped (exit 0)")


def _append_keys(out: Path, append: bool) -> set[LineKey] | None:
    """With ``--append`` onto an existing file, the keys of its lines; ``ValueError`` (checked before any
    conversion or writing) when it is not a regular file of JSON-object lines, naming its first bad line."""
    from pixbench.ingest.common import existing_keys

    if not append or not (out.exists() or out.is_symlink()):
        return None
    return existing_keys(out)


def _append_clash(out: Path, predictions: Sequence[Prediction], keys: set[LineKey] | None, what: str) -> str | None:
    """With ``--append``, the message refusing lines whose key ``out`` already has (``None``: no clash)."""
    from pixbench.ingest import clashes

    clash = clashes(predictions, keys) if keys else []
    if not clash:
        return None
    return f"{out} already has lines for {what}, ids {clash[:10]}{' ...' if len(clash) > 10 else ''}; nothing written"


def _action(append: bool, out: Path) -> str:
    """How the summary line says what was done to ``out`` (read before writing)."""
    from pixbench.jsonl import lacks_final_newline

    if not append:
        return "wrote"
    return "appended to" + (" (after adding the missing final newline)" if lacks_final_newline(out) else "")


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 1


def _reference_only(args: argparse.Namespace) -> list[str]:
    names = ("answers", "masks", "candidates", "meta", "selection")
    return [f"--{n}" for n in names if getattr(args, n, None) is not None] + \
        (["--selection-id-base"] if getattr(args, "selection_id_base", 0) not in (0, None) else [])


def _write_report(path: str, result: BridgeResult) -> None:
    Path(path).write_text(json.dumps(result.report_json(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _run_harness(args: argparse.Namespace) -> int:
    """``pixbench convert --from lmms-eval|vlmevalkit FILE``: map, report, write; 1 on any unmapped row."""
    from pixbench.ingest import BridgeError, map_rows, read_source, resolve_benchmark
    from pixbench.predictions import write_predictions
    from pixbench.references import ReferenceError, load_reference

    source = args.source_format
    if getattr(args, "source", None) is None:
        return _fail(f"--from {source} needs the input file: pixbench convert --from {source} FILE --out PREDS.jsonl")
    stray = _reference_only(args)
    if stray:
        return _fail(f"{', '.join(stray)} apply to --from reference only")
    if args.probe not in (None, "letter"):
        return _fail(f"{source} files hold option-letter answers: the probe is letter, not {args.probe}")
    if getattr(args, "layout", None) is not None:
        return _fail("--layout applies to --from mevis-pngs only")
    if source == "lmms-eval" and args.id_base is not None:
        return _fail("--id-base applies to --from reference and vlmevalkit (lmms-eval docs carry the ids)")
    out = Path(args.out)
    model = args.model or out.stem
    if out.exists() and not (args.append or args.force):
        return _fail(f"{out} exists; pass --append to add to it or --force to overwrite it")
    try:
        keys = _append_keys(out, args.append)
        table = read_source(source, args.source)
        benchmark = resolve_benchmark(table, args.benchmark)
        reference = load_reference(benchmark, args.data) if args.data else None
        result = map_rows(table, model=model, benchmark=benchmark, reference=reference, id_base=args.id_base)
    except (BridgeError, ReferenceError, ValueError, OSError) as exc:
        return _fail(str(exc))
    print(result.report_text(), file=sys.stderr)
    if args.report:
        try:
            _write_report(args.report, result)
        except OSError as exc:
            return _fail(f"cannot write the report {args.report}: {exc}")
    if result.unmapped and not args.allow_unmapped:
        return _fail(f"{len(result.unmapped)} row(s) could not be mapped; nothing written (see above"
                     f"{' and ' + args.report if args.report else ''}; --allow-unmapped writes the "
                     f"{len(result.predictions)} that map)")
    if not result.predictions:
        return _fail(f"no row of {args.source} maps to {benchmark}; nothing written")
    clash = _append_clash(out, result.predictions, keys, f"model {model!r}, {benchmark}, probe letter")
    if clash:
        return _fail(clash)
    action = _action(args.append, out)
    try:
        write_predictions(out, result.predictions, append=args.append)
    except OSError as exc:
        return _fail(f"cannot write {out}: {exc}")
    print(f"{action} {out}: {len(result.predictions)} line(s) of "
          f"{benchmark}/letter for model {model!r}", file=sys.stderr)
    return 0


# ----------------------------------------------------------------------------- MoCentric-Bench PNG folders

def _run_mevis(args: argparse.Namespace) -> int:
    """``pixbench convert --from mevis-pngs PRED_ROOT``: read, check, write; 1 on any problem (nothing written)."""
    from pixbench.benchmarks.mocentric import MOCENTRIC
    from pixbench.benchmarks.mocentric.views import PROBES as VIDEO_PROBES
    from pixbench.benchmarks.mocentric.views import ViewError, check_probe_layout
    from pixbench.ingest import ConvertError, convert_mevis_pngs
    from pixbench.predictions import write_predictions
    from pixbench.references import ReferenceError, load_reference

    source = args.source_format
    if getattr(args, "source", None) is None:
        return _fail(f"--from {source} needs the PNG folder: pixbench convert --from {source} PRED_ROOT --data "
                     "MOCENTRIC --probe P [--layout L] --out PREDS.jsonl")
    stray = _reference_only(args) + [flag for flag, given in (
        ("--id-base", args.id_base is not None), ("--report", bool(args.report)),
        ("--allow-unmapped", args.allow_unmapped)) if given]
    if stray:
        return _fail(f"{', '.join(stray)} do not apply to --from {source}")
    if args.benchmark not in (None, MOCENTRIC.name):
        return _fail(f"--from {source} converts {MOCENTRIC.name} outputs, not {args.benchmark}")
    if args.probe is None:
        return _fail(f"--from {source} needs --probe (one of {', '.join(VIDEO_PROBES)})")
    if args.probe not in VIDEO_PROBES:
        return _fail(f"--probe {args.probe} is not a {MOCENTRIC.display_name} probe (one of {', '.join(VIDEO_PROBES)})")
    try:
        check_probe_layout(args.probe, args.layout)
    except ViewError as exc:
        return _fail(f"{exc}; pass --layout accordingly")
    if not args.data:
        return _fail(f"--from {source} needs --data: the built {MOCENTRIC.display_name} (folder or hub id)")
    out = Path(args.out)
    model = args.model or out.stem
    if out.exists() and not (args.append or args.force):
        return _fail(f"{out} exists; pass --append to add to it or --force to overwrite it")
    try:
        keys = _append_keys(out, args.append)
        reference = load_reference(MOCENTRIC.name, args.data)
        result = convert_mevis_pngs(args.source, reference=reference, probe=args.probe, layout=args.layout,
                                    model=model, progress=sys.stderr.isatty())
    except ConvertError as exc:
        return _fail(f"nothing written; {exc}")
    except (ReferenceError, ValueError, OSError) as exc:
        return _fail(str(exc))
    shown = f"{args.probe} (layout {args.layout})" if args.layout else args.probe
    if result.warnings:
        print(f"warning: {result.warnings.total} thing(s) ignored in {args.source}:", file=sys.stderr)
        for line in result.warnings.lines(10):
            print(f"  {line}", file=sys.stderr)
    clash = _append_clash(out, result.predictions, keys, f"model {model!r}, {MOCENTRIC.name}, probe {shown}")
    if clash:
        return _fail(clash)
    action = _action(args.append, out)
    try:
        write_predictions(out, result.predictions, append=args.append)
    except OSError as exc:
        return _fail(f"cannot write {out}: {exc}")
    missing = ""
    if result.missing:
        missing = (f"; {len(result.missing)} expression(s) without a folder left out (missing when scored): "
                   f"{result.missing[:10]}{' ...' if len(result.missing) > 10 else ''}")
    print(f"{action} {out}: {len(result.predictions)} line(s) of "
          f"{MOCENTRIC.name}/{shown} for model {model!r} ({result.pngs} PNGs) from {len(result.predictions)} of the "
          f"{result.expressions} expression(s) the probe scores{missing}", file=sys.stderr)
    return 0


# ----------------------------------------------------------------------------- lmms-eval RVOS point tracks

#: lmms-eval's stage-2 checkpoint, the default of ``--sam2``.
RVOS_SAM2 = "facebook/sam2.1-hiera-large"


def _add_rvos_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("lmms-eval RVOS point tracks (--from lmms-eval-rvos SUBMISSION.json)")
    group.add_argument("--stage2", metavar="FILE.json",
                       help="stage 2's per-query file: queries it lacks failed there and get no line")
    group.add_argument("--version", choices=("v1", "v2"), default=None,
                       help="the MeViS version of the queries (default v1, the task's 793 expressions)")
    group.add_argument("--sam2", metavar="HUB_ID_OR_DIR",
                       help=f"the SAM 2 video checkpoint propagating the points (default {RVOS_SAM2})")
    group.add_argument("--fps", type=float, default=None, metavar="FPS",
                       help="the rate of the release's frames: time s -> native frame round(s * FPS) (default 6)")
    group.add_argument("--device", default=None, help="where SAM 2 runs (default cpu)")


def _run_rvos(args: argparse.Namespace) -> int:
    """``pixbench convert --from lmms-eval-rvos SUBMISSION.json``: match, propagate, write as a resumable run;
    1 on any problem."""
    from pixbench.benchmarks.mevis import MEVIS
    from pixbench.benchmarks.mevis.protocols import RELEASE_FPS
    from pixbench.ingest import ConvertError
    from pixbench.ingest.lmms_eval_rvos import RVOS_SOURCE, plan_rvos, read_stage2, read_submission
    from pixbench.references import ReferenceError, load_reference

    if args.source is None:
        return _fail(f"--from {RVOS_SOURCE} needs the submission file: pixbench convert --from {RVOS_SOURCE} "
                     "SUBMISSION.json --data MEVIS_BUILD --out PREDS.jsonl")
    stray = _reference_only(args) + [flag for flag, given in (
        ("--id-base", args.id_base is not None), ("--report", bool(args.report)), ("--probe", args.probe is not None),
        ("--layout", args.layout is not None), ("--allow-unmapped", args.allow_unmapped),
        ("--append", args.append)) if given]
    if stray:
        return _fail(f"{', '.join(stray)} do not apply to --from {RVOS_SOURCE} (it writes a resumable run: "
                     "rerun to resume, --force to start over)")
    if args.benchmark not in (None, MEVIS.name):
        return _fail(f"--from {RVOS_SOURCE} converts {MEVIS.display_name} queries, not {args.benchmark}")
    if not args.data:
        return _fail(f"--from {RVOS_SOURCE} needs --data: the built {MEVIS.display_name} folder")
    fps = RELEASE_FPS if args.fps is None else args.fps
    if not 0 < fps < float("inf"):
        return _fail(f"--fps must be a frame rate above 0, got {args.fps}")
    version = args.version or "v1"
    out = Path(args.out)
    try:
        reference = load_reference(MEVIS.name, args.data)
        rows = reference.rows_for(version)
        if not rows:
            return _fail(f"{args.data} holds no MeViS {version} (built: {', '.join(reference.versions) or 'none'}); "
                         f"pass --version or build it with --version {version}")
        queries = read_submission(args.source)
        stage2 = read_stage2(args.stage2) if args.stage2 else None
        plan = plan_rvos(queries, rows, version=version, fps=fps, source=args.source, stage2=stage2,
                         stage2_source=args.stage2 or "")
    except ConvertError as exc:
        return _fail(f"nothing written; {exc}")
    except (ReferenceError, ValueError, OSError) as exc:
        return _fail(str(exc))
    return _write_rvos(args, plan, out, fps=fps, model=args.model or out.stem)


def _write_rvos(args: argparse.Namespace, plan: Any, out: Path, *, fps: float, model: str) -> int:
    """Run the planned items not yet in ``out`` (SAM 2 loaded only when one needs it) and append their lines."""
    from pixbench.baselines.runner import file_sha256, resolve_path
    from pixbench.baselines.video_runner import model_fingerprint
    from pixbench.benchmarks.mevis import MEVIS
    from pixbench.ingest.lmms_eval_rvos import RVOS_SOURCE
    from pixbench.runs import RunError, exclusive_output, run_file, start_run

    sam2 = args.sam2 or RVOS_SAM2
    needs_sam2 = any(item.needs_segmenter for item in plan.items)
    settings = {"source": RVOS_SOURCE, "submission_sha256": file_sha256(args.source),
                "stage2_sha256": file_sha256(args.stage2) if args.stage2 else None, "data": resolve_path(args.data),
                "version": plan.version, "fps": fps, "segmenter": model_fingerprint(sam2) if needs_sam2 else None}
    try:
        with exclusive_output(out, command=f"convert --from {RVOS_SOURCE}"):
            if args.force:
                for path in (out, run_file(out)):
                    path.unlink(missing_ok=True)
            done = start_run(out, producer=f"convert {RVOS_SOURCE}", model=model, benchmark=MEVIS.name,
                             settings=settings, hint="pass --force to start over, or choose another --out")
            return _propagate_rvos(args, plan, out, done=done, sam2=sam2, model=model)
    except RunError as exc:
        return _fail(str(exc))
    except OSError as exc:
        return _fail(f"{out}: {exc}")


def _propagate_rvos(args: argparse.Namespace, plan: Any, out: Path, *, done: Any, sam2: str, model: str) -> int:
    """Write the lines of the planned items ``done`` lacks, one at a time (an interrupted run keeps them)."""
    import dataclasses

    from pixbench.benchmarks.mevis import MEVIS
    from pixbench.ingest.lmms_eval_rvos import convert_rvos
    from pixbench.predictions import prediction_to_json
    from pixbench.runs import LineWriter, line_key

    todo = [item for item in plan.items if line_key({"model": model, "benchmark": MEVIS.name, "id": item.row.id,
                                                     "probe": plan.version}) not in done]
    segmenter = None
    if any(item.needs_segmenter for item in todo):
        from pixbench.cli.options import check_model_sources

        try:
            check_model_sources(sam2=sam2)
            from pixbench.baselines.video_segmenters import load_video_segmenter

            segmenter = load_video_segmenter(sam2, kind="sam2", device=args.device or "cpu")
        except ImportError as exc:
            return _fail(f"{exc}")
        except Exception as exc:  # the loader and the hub raise many types
            return _fail(f"--sam2 {sam2}: {type(exc).__name__}: {exc}")
    frames_of = _frames_reader(Path(args.data), {item.row.video_id for item in todo if item.needs_segmenter})
    written = 0
    with LineWriter(out, drop_partial=True) as lines:
        for prediction in convert_rvos(dataclasses.replace(plan, items=todo), frames_of=frames_of,
                                       segmenter=segmenter, model=model):
            lines.write(prediction_to_json(prediction))
            written += 1
    skipped = len(plan.items) - len(todo)
    failed = (f"; {len(plan.failed)} query(ies) failed in lmms-eval's stage 2 and have no line (dropped under "
              f"--protocol lmms-eval, 0 under official)") if plan.failed else ""
    unanswered = f"; {len(plan.unanswered)} expression(s) of {plan.version} without a query" if plan.unanswered else ""
    print(f"wrote {written} line(s) to {out} ({skipped} already there) of {MEVIS.name}/{plan.version} for model "
          f"{model!r}{failed}{unanswered}", file=sys.stderr)
    return 0


def _frames_reader(data: Path, videos: set[str]) -> Any:
    """``video_id -> frames`` of the ``videos`` that are asked for, one video decoded at a time, in one pass over
    the build's ``videos`` config when they are asked in its order (the build's row order, which a plan keeps);
    a video asked out of that order starts another pass."""
    from pixbench.video.export import FrameCache, iter_videos

    stream = iter_videos(data, wanted=videos)
    current: list[FrameCache] = []

    def frames_of(video_id: str) -> FrameCache:
        nonlocal stream
        for _ in range(2):
            while not current or current[0].video.video_id != video_id:
                found = next(stream, None)
                if found is None:
                    break
                current[:] = [FrameCache(found)]
            if current and current[0].video.video_id == video_id:
                return current[0]
            stream = iter_videos(data, wanted=videos)
        raise ValueError(f"{data}: video {video_id} has no frames in the videos config")

    return frames_of


def configure(subparsers: Subparsers) -> None:
    """Add ``convert`` to the ``pixbench`` commands."""
    add_command(subparsers, "convert", run, configure_parser,
                help="turn the outputs of the published reference scripts into a predictions file")
