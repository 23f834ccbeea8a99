"""``pixbench demo``: build a tiny synthetic benchmark and score two made-up models, offline.

It builds PixMMVP, PixCV-Bench and MoCentric-Bench from synthetic inputs
(:mod:`pixbench.loaders.synthetic`, :mod:`pixbench.loaders.synthetic_video`), writes the predictions of
made-up models (:mod:`pixbench.demo`) and prints their tables, in a few seconds.

Where it writes: without ``--out``, a temporary folder that is removed when the demo ends, fails or is
stopped (Ctrl-C), so repeated runs leave nothing behind; with ``--out DIR``, DIR, which is kept, and the
demo then ends with a ``pixbench score`` command (every predictions file and every ``--data``, paths
quoted for the shell) that scores the kept files again when copied.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from pixbench.cli.options import Subparsers, add_command

if TYPE_CHECKING:
    from pixbench.score_files import Evaluation

__all__ = ["cmd_demo", "configure", "score_command"]

_DESCRIPTION = """\
Try pixbench offline in a few seconds: build tiny synthetic versions of PixMMVP, PixCV-Bench and
MoCentric-Bench (made-up images, questions, masks and moving-shape videos, no download), write the
predictions of made-up models and print the tables `pixbench score` prints for them (the image
benchmarks with --select given and oracle; the accuracy judge is a keyword rule, not an LLM).

Without --out everything is written to a temporary folder that is removed at the end. With --out DIR
the built benchmarks (DIR/PixMMVP, DIR/PixCV-Bench, DIR/MoCentric-Bench), the raw synthetic inputs
(DIR/raw) and the predictions files (DIR/predictions) are kept, and the last line is a `pixbench score`
command that scores them again."""

_EPILOG = """\
examples:
  pixbench demo
  pixbench demo --out demo && pixbench mocentric ids --data demo/MoCentric-Bench"""


def score_command(predictions: list[Path], data: dict[str, Path]) -> str:
    """The ``pixbench score`` command line scoring ``predictions`` against ``data`` (benchmark -> built folder),
    without the judge, each argument quoted for a POSIX shell."""
    words = ["pixbench", "score", *map(str, predictions)]
    for name, folder in data.items():
        words += ["--data", f"{name}={folder}"]
    return shlex.join([*words, "--no-judge"])


def cmd_demo(args: argparse.Namespace) -> int:
    """Build the tiny synthetic benchmarks, write predictions of made-up models and score them."""
    if args.out:
        out = Path(args.out)
        print(f"writing to {out} (kept)")
        return _demo(out, keep=True)
    with tempfile.TemporaryDirectory(prefix="pixbench-demo-") as folder:  # removed on return, error and Ctrl-C
        print(f"writing to a temporary folder, removed at the end (`pixbench demo --out DIR` keeps the files): "
              f"{folder}")
        code = _demo(Path(folder), keep=False)
    print(f"\nremoved {folder}; `pixbench demo --out DIR` keeps the files and ends with the `pixbench score` "
          "command that scores them")
    return code


def _failed(run: Evaluation) -> bool:
    for problem in [*map(str, run.problems), *run.errors]:
        print(f"error: {problem}", file=sys.stderr)
    return bool(run.problems or run.errors)


def _demo(out: Path, *, keep: bool) -> int:
    """The demo in ``out``; with ``keep``, end with the command that scores what it wrote."""
    data: dict[str, Path] = {}
    predictions: list[Path] = []
    for part in (_image_demo, _video_demo):
        done = part(out)
        if done is None:
            return 1
        data.update(done[0])
        predictions += done[1]
    if keep:
        print(f"\nscore them yourself: {score_command(predictions, data)}")
    return 0


def _image_demo(out: Path) -> tuple[dict[str, Path], list[Path]] | None:
    """PixMMVP and PixCV-Bench: build, write two made-up models, print their tables; the built folders and
    the predictions files (None when scoring failed)."""
    from pixbench import score_report as report
    from pixbench.benchmarks.pixcvbench import build as pixcvbench
    from pixbench.benchmarks.pixmmvp import build as pixmmvp
    from pixbench.demo import keyword_judge_reply, write_demo_predictions
    from pixbench.judge import FakeJudge
    from pixbench.loaders import synthetic
    from pixbench.references import load_reference
    from pixbench.results import ScoreSettings
    from pixbench.score_files import JudgeChoice, evaluate, report_context

    inputs = synthetic.write_tiny_inputs(out / "raw")
    built = {
        "pixmmvp": pixmmvp.build(annotations_dir=inputs.pixmmvp_annotations, mmvp_dir=inputs.mmvp_dir,
                                 out_dir=out / "PixMMVP"),
        "pixcvbench": pixcvbench.build(cvbench_paths=[inputs.cvbench_parquet],
                                       annotations_dir=inputs.pixcvbench_annotations, out_dir=out / "PixCV-Bench"),
    }
    for name, result in built.items():
        s = result.summary
        print(f"built {name}: {s['rows']} rows, {s['instance_masks']} instance masks -> {result.out_dir}")
    data = {name: Path(result.out_dir) for name, result in built.items()}
    references = {name: load_reference(name, str(path)) for name, path in data.items()}
    paths = write_demo_predictions(references, out / "predictions")
    print(f"wrote predictions of two made-up models: {', '.join(str(p) for p in paths)}")
    judge = JudgeChoice(FakeJudge(keyword_judge_reply, model="demo-keyword-judge"),
                        reason="", cache_path=None)
    for select in ("given", "oracle"):
        settings = ScoreSettings(select=select)
        run = evaluate(paths, data={name: str(path) for name, path in data.items()}, settings=settings, judge=judge)
        if _failed(run):
            return None
        document = report.report_document(run.results, **report_context(run, settings, judge))
        print(f"\n== pixbench score {' '.join(p.name for p in paths)} --select {select}")
        print(report.render(document, "table"), end="")
    return data, paths


def _video_demo(out: Path) -> tuple[dict[str, Path], list[Path]] | None:
    """MoCentric-Bench on a synthetic MeViS: build it, write two made-up video models, print their table;
    the built folder and the predictions files (None when scoring failed)."""
    from pixbench import score_report as report
    from pixbench.benchmarks.mocentric import build as mocentric
    from pixbench.demo import mocentric_demo_predictions
    from pixbench.loaders import synthetic_video
    from pixbench.predictions import write_predictions
    from pixbench.references import load_reference
    from pixbench.results import ScoreSettings
    from pixbench.score_files import JudgeChoice, evaluate, report_context

    raw = synthetic_video.write_synthetic_mevis(out / "raw" / "mevis")
    built = mocentric.build(mevis_root=raw.root, keyframes=raw.keyframes, reverse_expressions=raw.reverse_expressions,
                            out_dir=out / "MoCentric-Bench")
    summary = built.summary
    print(f"\nbuilt mocentric: {summary['expressions']} expressions ({summary['reversed_expressions']} reversed) "
          f"in {summary['videos']} synthetic videos -> {built.out_dir}")
    folder = Path(built.out_dir)
    reference = load_reference("mocentric", str(folder))
    paths = []
    for model, lines in mocentric_demo_predictions(reference).items():
        path = out / "predictions" / f"mocentric-{model}.jsonl"
        write_predictions(path, lines)
        paths.append(path)
    judge, settings = JudgeChoice(None, "not needed for video probes"), ScoreSettings()
    run = evaluate(paths, data={"mocentric": str(folder)}, settings=settings, judge=judge)
    if _failed(run):
        return None
    print(f"\n== pixbench score {' '.join(p.name for p in paths)} --data mocentric={folder}")
    print(report.render(report.report_document(run.results, **report_context(run, settings, judge)), "table"),
          end="")
    return {"mocentric": folder}, paths


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", metavar="DIR",
                        help="write everything to DIR and keep it, then print the command that scores it "
                             "(default: a temporary folder, removed at the end)")


def configure(subparsers: Subparsers) -> None:
    """Add ``demo`` to the ``pixbench`` commands."""
    add_command(subparsers, "demo", cmd_demo, _arguments,
                help="build tiny synthetic benchmarks, score made-up models (offline, a few seconds)",
                description=_DESCRIPTION, epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
