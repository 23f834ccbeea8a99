"""``pixbench demo``: build tiny synthetic benchmarks and score made-up models, offline.

It names no benchmark: it iterates the registry (:data:`pixbench.benchmarks.REGISTRY`) and calls each
benchmark's demo hook (:func:`demo_hook`: the module ``demo`` of the benchmark's package, beside its builder
module; the contract is :mod:`pixbench.benchmarks.demo`'s), ``build_demo(work)`` (its synthetic raw inputs
written under ``work/raw`` and built into ``work/<display name>``; the line it returns is printed) and
``demo_predictions(reference)`` (the made-up models' lines on the built benchmark). The image benchmarks come
first, built one after the other and scored together: one file per made-up model, ``predictions/<model>.jsonl``,
holding its lines on every image benchmark, scored with ``--select given`` and then ``oracle`` and the keyword
judge (:mod:`pixbench.demo`). Then each video benchmark is built and scored alone, without a judge, its files
``predictions/<benchmark name>-<model>.jsonl``. A blank line comes before each part but the first; each table
is the one ``pixbench score`` prints. A failed scoring prints its problems on stderr and ends the demo (exit 1).

Where it writes: without ``--out``, a temporary folder that is removed when the demo ends, fails or is
stopped (Ctrl-C), so repeated runs leave nothing behind; with ``--out DIR``, DIR, which is kept, and the
demo then ends with a ``pixbench score`` command (every predictions file and every ``--data``, paths
quoted for the shell) that scores the kept files again when copied.
"""

from __future__ import annotations

import argparse
import importlib
import shlex
import sys
import tempfile
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING, cast

from pixbench.cli.options import Subparsers, add_command

if TYPE_CHECKING:
    from pixbench.benchmarks import Benchmark
    from pixbench.benchmarks.demo import DemoHook
    from pixbench.score_files import Evaluation

__all__ = ["cmd_demo", "configure", "demo_hook", "score_command"]

_EPILOG = """\
examples:
  pixbench demo
  pixbench demo --out demo     (keeps demo/ and ends with the command that scores it again)"""

_NUMBERS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")


def _listed(words: list[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    return " and ".join(filter(None, [", ".join(words[:-1]), *words[-1:]]))


def _description() -> str:
    """The help text, naming the registry's benchmarks and the folders the demo builds them into."""
    from pixbench.benchmarks import REGISTRY

    names = [benchmark.display_name for benchmark in REGISTRY.values()]
    paragraphs = (
        f"Try pixbench offline in a few seconds: build tiny synthetic versions of {_listed(names)} (made-up "
        "images, questions, masks and videos, no download), write the predictions of made-up models and print "
        "the tables `pixbench score` prints for them (the image benchmarks with --select given and oracle; the "
        "accuracy judge is a keyword rule, not an LLM).",
        "Without --out everything is written to a temporary folder that is removed at the end. With --out DIR "
        f"the built benchmarks ({', '.join(f'DIR/{name}' for name in names)}), the raw synthetic inputs (DIR/raw) "
        "and the predictions files (DIR/predictions) are kept, and the last line is a `pixbench score` command "
        "that scores them again.")
    return "\n\n".join(textwrap.fill(paragraph, 100, break_on_hyphens=False) for paragraph in paragraphs)


def demo_hook(benchmark: Benchmark) -> DemoHook:
    """The demo hook of ``benchmark``: the module ``demo`` of the package that holds its builder module."""
    return cast("DemoHook", importlib.import_module(f"{benchmark.builder.module.rpartition('.')[0]}.demo"))


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
    """The demo in ``out``: the image benchmarks of the registry together, then each video benchmark alone;
    with ``keep``, end with the command that scores what it wrote."""
    from pixbench.benchmarks import REGISTRY

    images = [benchmark for benchmark in REGISTRY.values() if benchmark.kind == "image"]
    groups = ([images] if images else []) + [[benchmark] for benchmark in REGISTRY.values()
                                              if benchmark.kind == "video"]
    data: dict[str, Path] = {}
    predictions: list[Path] = []
    for number, group in enumerate(groups):
        if number:
            print()
        done = _image_demo(out, group) if group[0].kind == "image" else _video_demo(out, group[0])
        if done is None:
            return 1
        data.update(done[0])
        predictions += done[1]
    if keep:
        print(f"\nscore them yourself: {score_command(predictions, data)}")
    return 0


def _built(out: Path, benchmarks: list[Benchmark]) -> dict[str, Path]:
    """Build each benchmark's demo in ``out``, printing its line; benchmark name -> built folder."""
    built = {}
    for benchmark in benchmarks:
        result = demo_hook(benchmark).build_demo(out)
        print(result.line)
        built[benchmark.name] = result.folder
    return built


def _image_demo(out: Path, benchmarks: list[Benchmark]) -> tuple[dict[str, Path], list[Path]] | None:
    """The image benchmarks: build them, write the made-up models' files (one per model, covering every one of
    them), print their tables with ``--select given`` and ``oracle``; the built folders and the predictions
    files (None when scoring failed)."""
    from pixbench import score_report as report
    from pixbench.demo import keyword_judge_reply, write_demo_predictions
    from pixbench.judge import FakeJudge
    from pixbench.references import load_reference
    from pixbench.results import ScoreSettings
    from pixbench.score_files import JudgeChoice, evaluate, report_context

    data = _built(out, benchmarks)
    made_up = [demo_hook(benchmark).demo_predictions(load_reference(benchmark.name, str(data[benchmark.name])))
               for benchmark in benchmarks]
    paths = write_demo_predictions(made_up, out / "predictions")
    count = _NUMBERS[len(paths)] if len(paths) < len(_NUMBERS) else str(len(paths))
    print(f"wrote predictions of {count} made-up model{'s' * (len(paths) != 1)}: "
          f"{', '.join(str(p) for p in paths)}")
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


def _video_demo(out: Path, benchmark: Benchmark) -> tuple[dict[str, Path], list[Path]] | None:
    """One video benchmark alone: build it, write its made-up models' files (``<benchmark name>-<model>.jsonl``),
    print their table (no judge); the built folder and the predictions files (None when scoring failed)."""
    from pixbench import score_report as report
    from pixbench.demo import write_demo_predictions
    from pixbench.references import load_reference
    from pixbench.results import ScoreSettings
    from pixbench.score_files import JudgeChoice, evaluate, report_context

    data = _built(out, [benchmark])
    folder = data[benchmark.name]
    reference = load_reference(benchmark.name, str(folder))
    paths = write_demo_predictions([demo_hook(benchmark).demo_predictions(reference)], out / "predictions",
                                   prefix=f"{benchmark.name}-")
    judge, settings = JudgeChoice(None, "not needed for video probes"), ScoreSettings()
    run = evaluate(paths, data={benchmark.name: str(folder)}, settings=settings, judge=judge)
    if _failed(run):
        return None
    print(f"\n== pixbench score {' '.join(p.name for p in paths)} --data {benchmark.name}={folder}")
    print(report.render(report.report_document(run.results, **report_context(run, settings, judge)), "table"),
          end="")
    return data, paths


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = _description()  # declared with the options: the registry is imported only here
    parser.add_argument("--out", metavar="DIR",
                        help="write everything to DIR and keep it, then print the command that scores it "
                             "(default: a temporary folder, removed at the end)")


def configure(subparsers: Subparsers) -> None:
    """Add ``demo`` to the ``pixbench`` commands."""
    add_command(subparsers, "demo", cmd_demo, _arguments,
                help="build tiny synthetic benchmarks, score made-up models (offline, a few seconds)",
                epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
