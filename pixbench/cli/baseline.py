"""``pixbench baseline ...``: the training-free baselines of :mod:`pixbench.baselines` from the command line.

:func:`configure` mounts the sub-commands as ``pixbench baseline`` (the image ones from
:mod:`.baseline_image`, the video ones from :mod:`.baseline_video`, make-tiny here); :func:`configure_parser`
adds them to any parser; every handler is ``(args) -> int`` (the exit code) and is stored as ``args.func``.
``accelerate launch -m pixbench baseline attend-segment ...`` starts ``pixbench`` on every process (the
earlier ``-m pixbench.baselines`` still works: :mod:`pixbench.baselines.__main__`).
torch, transformers and segment_anything are imported when a command runs, never at import.
"""

from __future__ import annotations

import argparse
import textwrap
from pathlib import Path

from pixbench.cli.baseline_common import EXIT_OK, needs
from pixbench.cli.baseline_image import VISION_JUDGE_TEMPERATURE, cmd_attend_segment, cmd_explain
from pixbench.cli.baseline_image import add_commands as add_image_commands
from pixbench.cli.baseline_video import add_commands as add_video_commands
from pixbench.cli.baseline_video import cmd_text_track, cmd_video_ground
from pixbench.cli.options import CommandParser, Subparsers, add_command

__all__ = ["VISION_JUDGE_TEMPERATURE", "cmd_attend_segment", "cmd_explain", "cmd_make_tiny",
           "cmd_text_track", "cmd_video_ground", "configure", "configure_parser"]


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Add the baseline sub-commands to ``parser``: attend-segment, explain, video-ground, text-track, make-tiny.

    Their options are declared when one is chosen (:class:`~pixbench.cli.options.CommandParser`).
    """
    sub = parser.add_subparsers(dest="baseline_command", required=True, metavar="BASELINE_COMMAND",
                                parser_class=CommandParser)
    add_image_commands(sub)
    add_video_commands(sub)
    add_command(sub, "make-tiny", cmd_make_tiny, _tiny_arguments,
                help="write tiny random models to try the commands offline",
                description="Write a tiny random LLaVA, Qwen2-VL, Qwen2.5-VL and transformers SAM (a few MB, "
                            "random outputs) to DIR/llava, DIR/qwen2-vl, DIR/qwen2.5-vl and DIR/sam, a tiny "
                            "segment-anything checkpoint to DIR/sam_tiny.pth (--sam-checkpoint with "
                            "--sam-type tiny), and tiny video segmenters (DIR/sam2-video; DIR/sam3-video and "
                            "DIR/sam3-tracker-video where transformers has SAM 3), for trying attend-segment, "
                            "explain, video-ground and text-track without downloading weights.",
                formatter_class=argparse.RawDescriptionHelpFormatter,
                epilog=textwrap.dedent("""\
                    example:
                      pixbench baseline make-tiny tiny && pixbench demo --out demo
                      pixbench baseline attend-segment --model tiny/llava --sam-model tiny/sam \\
                          --phrases rules --benchmark pixmmvp --data demo/PixMMVP --out tiny.jsonl \\
                          --max-new-tokens 24 --temperature 1
                      pixbench baseline attend-segment --model tiny/llava \\
                          --sam-checkpoint tiny/sam_tiny.pth --sam-type tiny --phrases rules \\
                          --benchmark pixmmvp --data demo/PixMMVP --out tiny-sa.jsonl \\
                          --max-new-tokens 24 --temperature 1"""))


def _tiny_arguments(tiny: argparse.ArgumentParser) -> None:
    tiny.add_argument("out", type=Path, metavar="DIR")
    tiny.add_argument("--seed", type=int, default=0)


@needs("torch", "transformers")
def cmd_make_tiny(args: argparse.Namespace) -> int:
    """Write tiny random models for trying the commands offline."""
    from pixbench.baselines.tiny import tiny_qwen2vl, write_tiny_models
    from pixbench.baselines.video_segmenters import write_tiny_video_models
    paths = write_tiny_models(args.out, seed=args.seed)
    qwen25 = args.out / "qwen2.5-vl"
    if not (qwen25 / "config.json").is_file():
        model, processor = tiny_qwen2vl(args.seed, version="2.5")
        model.save_pretrained(qwen25)
        processor.save_pretrained(qwen25)
    paths["qwen2.5-vl"] = qwen25
    paths.update(write_tiny_video_models(args.out, seed=args.seed))
    for name, path in paths.items():
        print(f"{name}: {path}")
    return EXIT_OK


def configure(subparsers: Subparsers) -> None:
    """Add ``baseline`` (with its sub-commands) to the ``pixbench`` commands."""
    add_command(subparsers, "baseline", None, configure_parser,
                help='training-free baselines: attend-segment, explain (images); video-ground, text-track '
                     '(MoCentric-Bench); make-tiny (pip install "pixbench[baselines]")',
                description="Training-free baselines of PixFoundation. Image benchmarks (PixMMVP, PixCV-Bench): read "
                            "where a vanilla MLLM's answer looks in the image, prompt SAM there, and write candidates "
                            "that `pixbench score` turns into the a+s, PixFoundation and PixFoundation-dagger rows "
                            "(attend-segment; explain shows where in the answer grounding emerges). MoCentric-Bench: "
                            "MLLM boxes propagated by SAM 2 (video-ground) or SAM 3 text-prompted tracking "
                            "(text-track), one mask per presented frame. make-tiny writes tiny random models to try "
                            "them offline.")
