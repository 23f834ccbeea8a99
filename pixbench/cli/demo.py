"""``pixbench demo``: build a tiny synthetic benchmark and score two made-up models, offline."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from pixbench.cli.options import Subparsers, add_command

__all__ = ["cmd_demo", "configure"]


def cmd_demo(args: argparse.Namespace) -> int:
    """Build the tiny synthetic benchmark, write predictions of two made-up models and score them."""
    from pixbench import score_report as report
    from pixbench.demo import keyword_judge_reply, write_demo_predictions
    from pixbench.judge import FakeJudge
    from pixbench.loaders import pixcvbench, pixmmvp, synthetic
    from pixbench.references import load_reference
    from pixbench.results import ScoreSettings
    from pixbench.score_files import JudgeChoice, evaluate, report_context

    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="pixbench-demo-"))
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
    data = {name: str(result.out_dir) for name, result in built.items()}
    references = {name: load_reference(name, path) for name, path in data.items()}
    paths = write_demo_predictions(references, out / "predictions")
    print(f"wrote predictions of two made-up models: {', '.join(str(p) for p in paths)}")
    judge = JudgeChoice(FakeJudge(keyword_judge_reply, model="demo-keyword-judge"),
                        reason="", cache_path=None)
    for select in ("given", "oracle"):
        settings = ScoreSettings(select=select)
        run = evaluate(paths, data=data, settings=settings, judge=judge)
        if run.problems or run.errors:
            for problem in [*map(str, run.problems), *run.errors]:
                print(f"error: {problem}", file=sys.stderr)
            return 1
        document = report.report_document(run.results, **report_context(run, settings, judge))
        print(f"\n== pixbench score {' '.join(p.name for p in paths)} --select {select}")
        print(report.render(document, "table"), end="")
    print(f"\nscore them yourself: pixbench score {out / 'predictions'}/*.jsonl "
          f"--data pixmmvp={data['pixmmvp']} --data pixcvbench={data['pixcvbench']} --no-judge")
    return _video_demo(out)


def _video_demo(out: Path) -> int:
    """MoCentric-Bench on a synthetic MeViS: build it, write two made-up video models, print their table."""
    from pixbench import score_report as report
    from pixbench.demo import mocentric_demo_predictions
    from pixbench.loaders import mocentric, synthetic_video
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
    reference = load_reference("mocentric", str(built.out_dir))
    paths = []
    for model, lines in mocentric_demo_predictions(reference).items():
        path = out / "predictions" / f"mocentric-{model}.jsonl"
        write_predictions(path, lines)
        paths.append(path)
    judge, settings = JudgeChoice(None, "not needed for video probes"), ScoreSettings()
    run = evaluate(paths, data={"mocentric": str(built.out_dir)}, settings=settings, judge=judge)
    if run.problems or run.errors:
        for problem in [*map(str, run.problems), *run.errors]:
            print(f"error: {problem}", file=sys.stderr)
        return 1
    print(f"\n== pixbench score {' '.join(p.name for p in paths)} --data mocentric={built.out_dir}")
    print(report.render(report.report_document(run.results, **report_context(run, settings, judge)), "table"),
          end="")
    return 0


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", metavar="DIR", help="where to write (default: a new temporary folder)")


def configure(subparsers: Subparsers) -> None:
    """Add ``demo`` to the ``pixbench`` commands."""
    add_command(subparsers, "demo", cmd_demo, _arguments,
                help="build a tiny synthetic benchmark, score two made-up models (offline)")
