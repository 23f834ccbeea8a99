"""``pixbench baseline video-ground`` and ``text-track``: the video baselines (MoCentric-Bench, MeViS)."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any

from pixbench.benchmarks import get_benchmark
from pixbench.cli.baseline_common import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    UsageError,
    needs,
    print_error,
    print_interrupted,
    resolved_path,
    short_model_name,
)
from pixbench.cli.options import Subparsers, add_command, check_model_sources, parse_data
from pixbench.loaders.sources import SourceError

logger = logging.getLogger(__name__)

__all__ = ["add_commands", "cmd_text_track", "cmd_video_ground"]


_VIDEO_DESCRIPTION = """\
Run the video grounding baseline of PixFoundation 2.0 over a built MoCentric-Bench or MeViS: for every
expression of each probe (and layout), an MLLM boxes the referred object in one presented frame and SAM 2
propagates every box from that frame forward and then backward through the presented clip; the line's
mask per presented frame is the union over the boxes' objects. --data takes the build (its benchmark read
from it) or BENCHMARK=PATH. MoCentric-Bench probes are its probe views; a MeViS line's probe is its version
(v1 or v2, one per run: one model's lines answer one version), its clip the native frames (no layout, no
keyframe).

Point prompts (--prompt points): the MLLM answers point tracks of the referred object(s) over the clip
instead of boxes, and SAM 2 propagates the points from each prompt frame to the next and backward from
the first (union over objects). --point-format xml (default) shows frames sampled at --point-fps (default
2) of the clip's --fps (default 6: MeViS releases its frames at 6 fps, and MoCentric-Bench presents them
so), each after its time in seconds, and asks for lmms-eval's RVOS format <tracks coords="t id x y; ...">
(0-1000 coordinates; a point at t seconds goes on frame round(t * fps)); --point-format molmo asks one
frame at a time (--init first or keyframe, --max-tries) for Molmo-style <point x=".." y=".."> points in
percent, which go on that frame. Replies are parsed strictly: a malformed segment or element is recorded
and not read, points out of range are dropped and counted; no point anywhere gives empty masks, recorded.

Box step: --model QWEN_CKPT (Qwen2-VL / Qwen2.5-VL / Qwen3-VL through transformers; the published
single-image prompt "Locate the {expression}, output its bbox coordinates using JSON format.") or
--openai-model NAME --base-url URL (any OpenAI-compatible vision endpoint; the published GPT prompt with
every --frame-stride-th frame from the asked one on, downscaled by --downscale, as base64 JPEG; key from
OPENAI_API_KEY, never printed; replies cached in the judge's SQLite cache, so a rerun makes no call).
Replies are parsed strictly; a reply that does not parse is recorded in the line's `details`, never
guessed. Box conventions: Qwen2-VL / Qwen3-VL answer in 0-1000 normalised coordinates, Qwen2.5-VL in the
pixels of the processor's resized input, an endpoint in the sent image's pixels (--box-family qwen2_5_vl for
an endpoint serving Qwen2.5-VL: the server's resized input, with the released --min-pixels/--max-pixels unless
given; --box-format overrides).

Initial frame (--init): first = frames 0, 1, ... until boxes parse (the published GPT run); keyframe = the
dataset's keyframe (its presented position) first; window = ask when the described motion happens and
start from the window's middle frame (the published Qwen run). No parsable box in any frame: all masks
empty, recorded. --flip-merge (pair probes): also ask on the mirrored layout (halves swapped) and union
its boxes, mapped back, with the presented layout's.

The run resumes (lines in OUT are skipped; settings in OUT.run.json must match, SAM 2 by the sha256 of its
weights), is deterministic for --seed, and shares clips between processes under accelerate:
  accelerate launch --num_processes 4 -m pixbench.baselines video-ground ...
"""

_VIDEO_EPILOG = """\
examples (the paper's settings, then point prompts on MeViS):
  pixbench baseline video-ground --data build/MoCentric-Bench --probe original static static-pair \\
      reversed reversed-pair --model Qwen/Qwen2.5-VL-7B-Instruct --sam2 facebook/sam2.1-hiera-large \\
      --init window --lowercase-expressions --out preds/qwen2.5-vl-7b+sam2.jsonl
  OPENAI_API_KEY=... pixbench baseline video-ground --data build/MoCentric-Bench --probe original \\
      --openai-model gpt-4o --base-url https://api.openai.com/v1 --sam2 facebook/sam2.1-hiera-large \\
      --frame-stride 2 --downscale 2 --out preds/gpt-4o+sam2.jsonl
  pixbench score preds/qwen2.5-vl-7b+sam2.jsonl --data mocentric=build/MoCentric-Bench
  pixbench baseline video-ground --data build/MeViS --probe v2 --prompt points --point-fps 2 \\
      --model Qwen/Qwen2.5-VL-7B-Instruct --sam2 facebook/sam2.1-hiera-large --out preds/mevis-points.jsonl
  pixbench score preds/mevis-points.jsonl --data mevis=build/MeViS

Exit status: 0 done, 1 failed or some clips got no reply (run again to resume), 2 bad arguments.
"""

_TEXT_TRACK_DESCRIPTION = """\
SAM 3's text-prompted video segmentation over a built MoCentric-Bench or MeViS: the expression is the text prompt,
SAM 3 detects and tracks every instance from the first presented frame on, and the line's mask per frame
is the union of the instances. An appearance-only baseline: it sees no motion words' meaning beyond what
SAM 3's text encoder makes of them. Needs a transformers with Sam3VideoModel (transformers >= 5).
"""

def _video_data_arguments(parser: argparse.ArgumentParser) -> None:
    from pixbench.baselines.video_runner import video_benchmarks

    clips = video_benchmarks()
    probes = tuple(dict.fromkeys(p for name in clips for p in get_benchmark(name).probes))
    layouts = tuple(dict.fromkeys(lay for name, source in clips.items() for p in get_benchmark(name).probes
                                  for lay in source.layouts(p)))
    defaults = ", ".join(f"{get_benchmark(name).display_name}: {get_benchmark(name).probes[0]}" for name in clips)
    data = parser.add_argument_group("data and output")
    data.add_argument("--data", required=True, metavar="[BENCHMARK=]PATH",
                      help="a built video benchmark with frames (`pixbench build " + " / ".join(clips) + "`); its "
                           "benchmark is read from the build unless named: " + ", ".join(f"{n}=PATH" for n in clips))
    data.add_argument("--probe", nargs="+", choices=probes, metavar="PROBE",
                      help=f"probes to run, any of the benchmark's ({', '.join(probes)}; default {defaults})")
    data.add_argument("--layout", nargs="+", choices=layouts, metavar="LAYOUT",
                      help="layouts of the pair probes, any of " + ", ".join(layouts) + " (default: each pair "
                           "probe's published default: static-pair target-left, reversed-pair target-right)")
    data.add_argument("--out", required=True, type=Path, metavar="PREDS.jsonl", help="the predictions file")
    data.add_argument("--model-name", help="the predictions' `model` (default: from the model names)")
    data.add_argument("--max-expressions", type=int, metavar="N", help="only the first N expressions of each probe")
    data.add_argument("--lowercase-expressions", action="store_true",
                      help="lowercase the expression and collapse whitespace, as MeViS-style loaders do (the "
                           "published Sa2VA loader does not); recorded in the run file")
    data.add_argument("--overwrite", action="store_true", help="start over instead of resuming")
    data.add_argument("--seed", type=int, default=0, help="seed; each clip derives its own (default 0)")
    data.add_argument("--device", help="cpu, cuda, cuda:1 ... (default: cuda when available; under accelerate "
                                       "each process's own device)")
    data.add_argument("--offload", action="store_true",
                      help="keep the segmenter's frames and state on the CPU (long clips at 720p)")
    data.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar")

def _video_ground_arguments(parser: argparse.ArgumentParser) -> None:
    from pixbench.baselines.box_models import INIT_STRATEGIES
    from pixbench.baselines.boxes import (
        BOX_CONVENTIONS,
        BOX_FORMATS,
        QWEN_RELEASED_MAX_PIXELS,
        QWEN_RELEASED_MIN_PIXELS,
    )
    from pixbench.baselines.point_models import DEFAULT_MAX_FRAMES, DEFAULT_POINT_FPS
    from pixbench.baselines.point_tracks import POINT_FORMATS

    _video_data_arguments(parser)
    box = parser.add_argument_group("box step (one of --model and --openai-model)")
    box.add_argument("--model", metavar="HUB_ID_OR_DIR",
                     help="a Qwen2-VL / Qwen2.5-VL / Qwen3-VL checkpoint (e.g. Qwen/Qwen2.5-VL-7B-Instruct)")
    box.add_argument("--openai-model", metavar="NAME", help="a vision model of an OpenAI-compatible endpoint")
    box.add_argument("--base-url", metavar="URL", help="the endpoint (default: OpenAI's); key from OPENAI_API_KEY")
    box.add_argument("--init", choices=INIT_STRATEGIES,
                     help="which frame to ask first: first (default), keyframe (MoCentric-Bench) or window (boxes); "
                          "--point-format molmo: first or keyframe")
    box.add_argument("--max-tries", type=int, metavar="N", help="give up after N frames without a box (default all)")
    box.add_argument("--flip-merge", action="store_true",
                     help="pair probes: also ask on the mirrored layout and merge its boxes")
    box.add_argument("--box-format", choices=BOX_FORMATS,
                     help="override the family's box convention (norm-1000, input-pixels, frame-pixels)")
    box.add_argument("--box-family", choices=tuple(BOX_CONVENTIONS), default="openai",
                     help="endpoint: whose box convention the replies follow (default openai: pixels of the image "
                          "sent; qwen2_5_vl for a served Qwen2.5-VL: pixels of the server's resized input)")
    box.add_argument("--min-pixels", type=int, metavar="N",
                     help="Qwen-VL: min_pixels of the processor (--model: the checkpoint's own unless given; an "
                          f"endpoint with a Qwen --box-family: default {QWEN_RELEASED_MIN_PIXELS}, as released)")
    box.add_argument("--max-pixels", type=int, metavar="N",
                     help="Qwen-VL: per-image pixel budget of the processor (--model: the checkpoint's own unless "
                          f"given; an endpoint with a Qwen --box-family: default {QWEN_RELEASED_MAX_PIXELS}, as "
                          "released)")
    box.add_argument("--max-new-tokens", type=int, default=1024, help="Qwen-VL: longest reply (default 1024)")
    box.add_argument("--dtype", choices=("auto", "float32", "float16", "bfloat16"), default="auto",
                     help="Qwen-VL weights (default auto)")
    box.add_argument("--frame-stride", type=int, default=2,
                     help="endpoint: send every N-th frame (default 2, as published)")
    box.add_argument("--downscale", type=int, default=2,
                     help="endpoint: divide the frames' sides by N (default 2, as published)")
    box.add_argument("--judge-cache", type=Path, metavar="SQLITE",
                     help="endpoint: the reply cache (default $PIXBENCH_CACHE_DIR or ~/.cache/pixbench/judge.sqlite)")
    box.add_argument("--refresh", action="store_true", help="endpoint: ask again instead of using cached replies")
    points = parser.add_argument_group("point prompts (--prompt points)")
    points.add_argument("--prompt", choices=("boxes", "points"), default="boxes",
                        help="what the MLLM answers: boxes in one frame (default) or point tracks over the clip")
    points.add_argument("--point-format", choices=POINT_FORMATS, default="xml",
                        help="xml: lmms-eval's <tracks coords=\"t id x y; ...\"> over sampled frames (default); "
                             "molmo: <point x=.. y=..> percent points in one frame at a time")
    points.add_argument("--fps", type=float, default=6.0,
                        help="frame rate of the clips in frames per second, to turn times into frames (default 6: "
                             "MeViS's release frames; MoCentric-Bench presents the same)")
    points.add_argument("--point-fps", type=float, default=DEFAULT_POINT_FPS,
                        help=f"xml: frames shown per second of clip (default {DEFAULT_POINT_FPS:g})")
    points.add_argument("--point-max-frames", type=int, default=DEFAULT_MAX_FRAMES, metavar="N",
                        help=f"xml: at most N frames shown, evenly spaced over a longer clip (default "
                             f"{DEFAULT_MAX_FRAMES})")
    seg = parser.add_argument_group("video segmenter")
    seg.add_argument("--sam2", required=True, metavar="HUB_ID_OR_DIR",
                     help="a transformers SAM 2 video checkpoint (facebook/sam2.1-hiera-large) or a SAM 3 "
                          "tracker one (facebook/sam3), hub id or local folder")

def _text_track_arguments(parser: argparse.ArgumentParser) -> None:
    _video_data_arguments(parser)
    parser.add_argument("--sam3", required=True, metavar="HUB_ID_OR_DIR",
                        help="a transformers SAM 3 video checkpoint (facebook/sam3) or local folder")


def add_commands(sub: Subparsers) -> None:
    """Add ``video-ground`` and ``text-track`` to the baseline sub-commands."""
    add_command(sub, "video-ground", cmd_video_ground, _video_ground_arguments,
                help="MoCentric-Bench / MeViS: MLLM boxes or point tracks + SAM 2 propagation -> predictions file",
                description=_VIDEO_DESCRIPTION, epilog=_VIDEO_EPILOG,
                formatter_class=argparse.RawDescriptionHelpFormatter)
    add_command(sub, "text-track", cmd_text_track, _text_track_arguments,
                help="MoCentric-Bench / MeViS: SAM 3 text-prompted tracking -> predictions file",
                description=_TEXT_TRACK_DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter,
                epilog="example:\n  pixbench baseline text-track --data build/MoCentric-Bench --probe original "
                       "--sam3 facebook/sam3 --out preds/sam3-text.jsonl")


def _video_config(args: argparse.Namespace, *, model_name: str, method: dict[str, Any], init: Any) -> Any:
    from pixbench.baselines.video_runner import VideoRunConfig

    try:
        ((benchmark, data),) = parse_data([args.data]).items()  # --data [BENCHMARK=]PATH, as every command reads it
        probes = tuple(dict.fromkeys(args.probe)) if args.probe else get_benchmark(benchmark).probes[:1]
        return VideoRunConfig(data=data, out=args.out, model_name=args.model_name or model_name,
                              probes=probes, method=method,
                              layouts=tuple(dict.fromkeys(args.layout)) if args.layout else None, init=init,
                              flip_merge=bool(getattr(args, "flip_merge", False)),
                              lowercase_expressions=args.lowercase_expressions, seed=args.seed,
                              max_expressions=args.max_expressions, overwrite=args.overwrite,
                              progress=args.progress, benchmark=benchmark)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def _video_run(config: Any, load_method: Any, device: str | None, desc: str) -> int:
    """Run a video baseline and report (shared by video-ground and text-track)."""
    from pixbench.baselines.runner import RunError, distributed_context
    from pixbench.baselines.video_runner import run_video_baseline
    from pixbench.references import ReferenceError
    from pixbench.runs import OutputLocked
    from pixbench.video.export import ExportError

    try:
        context = distributed_context(device)
        summary = run_video_baseline(config, load_method=load_method, context=context, desc=desc)
    except UsageError as exc:
        print_error(str(exc))
        return EXIT_USAGE
    except KeyboardInterrupt:
        print_interrupted(config.out)
        return 130
    except (RunError, ExportError, ReferenceError, OutputLocked) as exc:
        print_error(str(exc))
        return EXIT_FAILED
    except (ImportError, OSError, ValueError, RuntimeError) as exc:
        print_error(f"{type(exc).__name__}: {exc}")
        return EXIT_FAILED
    for clip_id, probe, layout, why in summary.failed[:20]:
        print(f"  no line for id {clip_id} ({probe}{' ' + layout if layout else ''}): {why}", file=sys.stderr)
    if not context.is_main:
        return EXIT_FAILED if summary.failed else EXIT_OK
    print(f"{config.out}: {summary.lines} line(s); {summary.written} written now by this process, "
          f"{summary.skipped} already there", file=sys.stderr)
    if summary.problems:
        print_error(f"the merged file has {len(summary.problems)} problem(s):\n" + "\n".join(summary.problems[:20]))
        return EXIT_FAILED
    if summary.failed:
        print_error(f"{len(summary.failed)} clip(s) got no reply from the model and have no line; run again to "
                    "retry them")
        return EXIT_FAILED
    print(str(config.out))
    return EXIT_OK


def _box_method_settings(args: argparse.Namespace) -> tuple[dict[str, Any], str]:
    """The box step's settings for the run file (without loading the model) and its default model name."""
    from pixbench.baselines.boxes import box_format_for

    if args.model:
        from transformers import AutoConfig

        family = str(getattr(AutoConfig.from_pretrained(args.model), "model_type", ""))
        try:
            box_format = box_format_for(family, args.box_format)
        except ValueError as exc:
            raise UsageError(f"--model {args.model}: {exc}") from None
        return ({"backend": "transformers", "model": resolved_path(args.model), "family": family,
                 "box_format": box_format, "box_format_source": "override" if args.box_format else "family table",
                 "max_pixels": args.max_pixels, **({"min_pixels": args.min_pixels} if args.min_pixels else {}),
                 "max_new_tokens": args.max_new_tokens},
                short_model_name(args.model))
    from pixbench.endpoints import endpoint_identity
    from pixbench.judge import DEFAULT_OPENAI_ENDPOINT

    endpoint = endpoint_identity(args.base_url or DEFAULT_OPENAI_ENDPOINT)
    pixels = ({"min_pixels": _served_pixels(args)[0], "max_pixels": _served_pixels(args)[1]}
              if args.box_family.startswith("qwen") else {})
    return ({"backend": "openai", "model": args.openai_model, "base_url": endpoint, "family": args.box_family,
             **pixels, "box_format": box_format_for(args.box_family, args.box_format),
             "box_format_source": "override" if args.box_format else "family table", "prompt_style": "video",
             "frame_stride": args.frame_stride, "downscale": args.downscale},
            args.openai_model)


def _served_pixels(args: argparse.Namespace) -> tuple[int, int]:
    """``(min_pixels, max_pixels)`` of a served Qwen model's processor: as given, else the released values."""
    from pixbench.baselines.boxes import QWEN_RELEASED_MAX_PIXELS, QWEN_RELEASED_MIN_PIXELS

    return (args.min_pixels or QWEN_RELEASED_MIN_PIXELS, args.max_pixels or QWEN_RELEASED_MAX_PIXELS)


def _point_method_settings(args: argparse.Namespace) -> tuple[dict[str, Any], str]:
    """The point step's settings for the run file (without loading the model) and its default model name."""
    from pixbench.baselines.point_models import WHEN_MAX_PIXELS, question_settings

    question = question_settings(args.point_format, fps=args.fps, point_fps=args.point_fps,
                                 max_frames=args.point_max_frames)
    suffix = "-points" if args.point_format == "xml" else "-molmo-points"
    if args.model:
        from transformers import AutoConfig

        family = str(getattr(AutoConfig.from_pretrained(args.model), "model_type", ""))
        return ({"backend": "transformers", "model": resolved_path(args.model), "family": family,
                 "max_pixels": args.max_pixels, "frame_max_pixels": args.max_pixels or WHEN_MAX_PIXELS,
                 **({"min_pixels": args.min_pixels} if args.min_pixels else {}),
                 "max_new_tokens": args.max_new_tokens, **question},
                short_model_name(args.model) + suffix)
    from pixbench.endpoints import endpoint_identity
    from pixbench.judge import DEFAULT_OPENAI_ENDPOINT

    return ({"backend": "openai", "model": args.openai_model,
             "base_url": endpoint_identity(args.base_url or DEFAULT_OPENAI_ENDPOINT), "downscale": args.downscale,
             **question},
            args.openai_model + suffix)


def _check_prompt_options(args: argparse.Namespace) -> Any:
    """The ``init`` of the run (None for the xml point question), after refusing options of the other prompt."""
    if args.prompt == "boxes":
        return args.init or "first"
    for flag, given in (("--flip-merge", args.flip_merge), ("--box-format", args.box_format is not None),
                        ("--box-family", args.box_family != "openai")):
        if given:
            raise UsageError(f"{flag} is for --prompt boxes")
    if not (args.fps > 0 and args.point_fps > 0) or args.point_max_frames < 1:
        raise UsageError("--fps and --point-fps must be > 0 and --point-max-frames >= 1")
    if args.point_format == "xml":
        if args.init is not None or args.max_tries is not None:
            raise UsageError("--init and --max-tries are for --prompt boxes and --point-format molmo (the xml point "
                             "question shows the whole clip once)")
        return None
    if args.init == "window":
        raise UsageError("--init window is for --prompt boxes (--point-format molmo: first or keyframe)")
    return args.init or "first"


@needs("torch", "transformers")
def cmd_video_ground(args: argparse.Namespace) -> int:
    """MLLM boxes or point tracks + SAM 2 propagation (see the sub-command's --help)."""
    from pixbench.baselines.video_runner import model_fingerprint
    try:
        if bool(args.model) == bool(args.openai_model):
            raise UsageError("give one of --model QWEN_CKPT and --openai-model NAME (with --base-url)")
        if args.model and args.box_family != "openai":
            raise UsageError("--box-family is for --openai-model (a checkpoint's family comes from its config)")
        for name in ("max_expressions", "max_pixels", "min_pixels", "max_tries"):
            value = getattr(args, name)
            if value is not None and value < 1:
                raise UsageError(f"--{name.replace('_', '-')} must be >= 1, but got {value}")
        if args.frame_stride < 1 or args.downscale < 1:
            raise UsageError("--frame-stride and --downscale must be >= 1")
        init = _check_prompt_options(args)
        check_model_sources(model=args.model, sam2=args.sam2)
        if args.prompt == "boxes":
            box_settings, name = _box_method_settings(args)
            method = {"kind": "video-ground", "box": box_settings, "segmenter": model_fingerprint(args.sam2),
                      "max_tries": args.max_tries}
        else:
            point_settings, name = _point_method_settings(args)
            method = {"kind": "video-ground", "prompt": "points", "points": point_settings,
                      "segmenter": model_fingerprint(args.sam2), "max_tries": args.max_tries}
        config = _video_config(args, model_name=f"{name}+{short_model_name(args.sam2)}", method=method, init=init)
    except UsageError as exc:
        print_error(str(exc))
        return EXIT_USAGE
    except SourceError as exc:
        print_error(str(exc))
        return EXIT_FAILED
    except (OSError, ValueError, ImportError) as exc:
        print_error(f"{type(exc).__name__}: {exc}")
        return EXIT_FAILED

    def load(device: str) -> Any:
        from pixbench.baselines.box_models import OpenAIBoxModel, QwenBoxModel
        from pixbench.baselines.video_segmenters import load_video_segmenter

        segmenter = load_video_segmenter(args.sam2, device=device, offload=args.offload)
        if args.prompt == "points":
            return _point_method(args, device, segmenter, init)
        from pixbench.baselines.video_runner import BoxThenPropagate

        box_model: Any
        if args.model:
            box_model = QwenBoxModel.from_pretrained(args.model, device=device, dtype=args.dtype,
                                                     max_pixels=args.max_pixels, min_pixels=args.min_pixels,
                                                     max_new_tokens=args.max_new_tokens, box_format=args.box_format,
                                                     seed=args.seed)
        else:
            min_pixels, max_pixels = _served_pixels(args)
            box_model = OpenAIBoxModel.from_endpoint(args.openai_model, base_url=args.base_url, cache=_cache(args),
                                                     refresh=args.refresh, frame_stride=args.frame_stride,
                                                     downscale=args.downscale, box_format=args.box_format,
                                                     box_family=args.box_family, min_pixels=min_pixels,
                                                     max_pixels=max_pixels)
        return BoxThenPropagate(box_model, segmenter, init=init, max_tries=args.max_tries)

    return _video_run(config, load, args.device, "video-ground")


def _cache(args: argparse.Namespace) -> Any:
    """The reply cache of an endpoint (``--judge-cache`` or the default one)."""
    from pixbench.judge import JudgeCache, JudgeCacheError

    try:
        return JudgeCache(args.judge_cache) if args.judge_cache else JudgeCache()
    except JudgeCacheError as exc:
        raise UsageError(f"--judge-cache {exc}") from None


def _point_method(args: argparse.Namespace, device: str, segmenter: Any, init: Any) -> Any:
    """The point-prompt method: the back end of --model or --openai-model, then ``segment_points``."""
    from pixbench.baselines.point_models import WHEN_MAX_PIXELS, OpenAIPointModel, QwenPointModel
    from pixbench.baselines.video_runner import PointsThenPropagate

    point_model: Any
    if args.model:
        point_model = QwenPointModel.from_pretrained(args.model, device=device, dtype=args.dtype,
                                                     max_pixels=args.max_pixels, min_pixels=args.min_pixels,
                                                     frame_max_pixels=args.max_pixels or WHEN_MAX_PIXELS,
                                                     max_new_tokens=args.max_new_tokens, seed=args.seed)
    else:
        point_model = OpenAIPointModel.from_endpoint(args.openai_model, base_url=args.base_url, cache=_cache(args),
                                                     refresh=args.refresh, downscale=args.downscale)
    return PointsThenPropagate(point_model, segmenter, point_format=args.point_format, fps=args.fps,
                               point_fps=args.point_fps, max_frames=args.point_max_frames, init=init or "first",
                               max_tries=args.max_tries)


@needs("torch", "transformers")
def cmd_text_track(args: argparse.Namespace) -> int:
    """SAM 3 text-prompted tracking over a video benchmark (see the sub-command's --help)."""
    from pixbench.baselines.video_runner import model_fingerprint
    from pixbench.baselines.video_segmenters import sam3_video_classes

    try:
        sam3_video_classes()  # a clear error when transformers lacks SAM 3
    except ImportError as exc:
        print_error(str(exc))
        return EXIT_FAILED
    try:
        if args.max_expressions is not None and args.max_expressions < 1:
            raise UsageError(f"--max-expressions must be >= 1, but got {args.max_expressions}")
        check_model_sources(sam3=args.sam3)
        method = {"kind": "text-track", "segmenter": model_fingerprint(args.sam3)}
        config = _video_config(args, model_name=f"{short_model_name(args.sam3)}-text", method=method, init=None)
    except UsageError as exc:
        print_error(str(exc))
        return EXIT_USAGE
    except SourceError as exc:
        print_error(str(exc))
        return EXIT_FAILED
    except OSError as exc:
        print_error(f"{type(exc).__name__}: {exc}")
        return EXIT_FAILED

    def load(device: str) -> Any:
        from pixbench.baselines.video_runner import TextTrack
        from pixbench.baselines.video_segmenters import Sam3TextTracker

        return TextTrack(Sam3TextTracker.from_pretrained(args.sam3, device=device, offload=args.offload))

    return _video_run(config, load, args.device, "text-track")
