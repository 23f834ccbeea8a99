"""``pixbench baseline ...``: the training-free baselines of :mod:`pixbench.baselines` from the command line.

:func:`configure` mounts the sub-commands as ``pixbench baseline``; :func:`configure_parser` adds them to
any parser; every handler is ``(args) -> int`` (the exit code) and is stored as ``args.func``.
``accelerate launch -m pixbench baseline attend-segment ...`` starts ``pixbench`` on every process (the
earlier ``-m pixbench.baselines`` still works: :mod:`pixbench.baselines.__main__`).
torch, transformers and segment_anything are imported when a command runs, never at import.
"""

from __future__ import annotations

import argparse
import logging
import re
import sys
import textwrap
from pathlib import Path
from typing import Any

from pixbench.cli.options import CommandParser, Subparsers, add_command, add_judge_options, check_model_sources
from pixbench.loaders.sources import SourceError

__all__ = ["VISION_JUDGE_TEMPERATURE", "cmd_attend_segment", "cmd_explain", "cmd_make_tiny",
           "cmd_text_track", "cmd_video_ground", "configure", "configure_parser"]

logger = logging.getLogger(__name__)

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_JUDGE = 0, 1, 2, 3

_ATTEND_DESCRIPTION = """\
Run the attend-and-segment baseline of PixFoundation over a benchmark and write a predictions file.

For every row and probe, the model answers the probe's prompt while the attention of each generated
token to the image tokens is recorded (mean over layers and heads, reduced step by step). The maps are
normalised over the answer, grouped by the noun phrases of the answer, and the peak of each phrase's map
prompts SAM with one point; its three masks become the line's candidates, each with the phrase, its
character span, first token, point and phrase-to-expression similarity (`score`).

Probes: the published prompts of pixbench.prompts: vqa = question and options; segment = the --family's
segment prompt ("Identify {expression} in the scene." for vanilla MLLMs); letter = question, "A. x" option
lines and "Answer with the option's letter from the given choices directly." (text only). --template
qa-1..qa-10 / ground-1..ground-7 swaps in a template of the sensitivity study and records it as `variant`.

With --auto-select a vision judge then chooses among the candidates (PixFoundation): is the expression
in the image (no -> "selected": "none"), then which red-highlighted candidate shows it best (groups of
at most 12, then a final round). Without it, score the file with --select oracle (PixFoundation-dagger)
or --select score (a+s).

The run resumes: lines already in OUT are skipped (settings are kept in OUT.run.json and must match;
local paths are compared resolved, a --sam-checkpoint by the sha256 of its content).
Several processes share the rows when launched with accelerate; the main process merges their shards:
  accelerate launch --num_processes 4 -m pixbench.baselines attend-segment ... (GPUs)
  accelerate launch --multi_gpu --num_processes 2 -m pixbench.baselines attend-segment --device cpu ...
"""

_ATTEND_EPILOG = """\
examples:
  pixbench baseline attend-segment --model llava-hf/llava-1.5-7b-hf \\
      --sam-checkpoint sam_vit_h_4b8939.pth --sam-type vit_h --benchmark pixmmvp --probe segment vqa \\
      --out preds/llava-1.5-7b.jsonl
  pixbench baseline attend-segment --model Qwen/Qwen2-VL-7B-Instruct --sam-model facebook/sam-vit-huge \\
      --benchmark pixcvbench --data build/PixCV-Bench --auto-select --out preds/qwen2-vl.jsonl
  pixbench score preds/llava-1.5-7b.jsonl --select oracle --no-judge

The judge's API key comes from OPENAI_API_KEY (never printed); --judge-base-url points at any
OpenAI-compatible server. Verdicts are cached (default $PIXBENCH_CACHE_DIR or ~/.cache/pixbench/judge.sqlite).
Exit status: 0 done, 1 failed (nothing is lost: run again to resume), 2 bad arguments,
3 judge errors left rows without a selection (run again to retry them).
"""

_EXPLAIN_DESCRIPTION = """\
Explain when grounding emerges in a model's answer, for one image and one referring expression.

The model answers "Identify {expression} in the scene." (or --prompt); for every noun phrase of the
answer, the three SAM masks prompted at the phrase's attention peak are drawn over the image with the
point (phrase-GG.png). The best grounding is chosen by the oracle (best IoU with --gt-mask), by the
vision judge, or by phrase similarity (--select score), and summary.png / summary.json say which phrase
it was and where in the answer it appeared (character offset / answer length, in percent).
"""

_EXPLAIN_EPILOG = """\
examples:
  pixbench baseline explain --image cat.jpg --expression "the kitten's closed eyes" \\
      --model llava-hf/llava-1.5-7b-hf --sam-checkpoint sam_vit_h_4b8939.pth --out explain/cat
  pixbench baseline explain --image 12.jpg --expression "the hands holding the hat" --gt-mask 12.png \\
      --model llava-hf/llava-1.5-7b-hf --sam-model facebook/sam-vit-huge --phrases rules --out explain/12

Exit status: 0 written, 1 failed, 2 bad arguments, 3 the judge failed (the report is written without a choice).
"""


_VIDEO_DESCRIPTION = """\
Run the video grounding baseline of PixFoundation 2.0 over a built MoCentric-Bench: for every expression
of each probe (and layout), an MLLM boxes the referred object in one presented frame and SAM 2
propagates every box from that frame forward and then backward through the presented clip; the line's
mask per presented frame is the union over the boxes' objects.

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
examples (the paper's settings):
  pixbench baseline video-ground --data build/MoCentric-Bench --probe original static static-pair \\
      reversed reversed-pair --model Qwen/Qwen2.5-VL-7B-Instruct --sam2 facebook/sam2.1-hiera-large \\
      --init window --lowercase-expressions --out preds/qwen2.5-vl-7b+sam2.jsonl
  OPENAI_API_KEY=... pixbench baseline video-ground --data build/MoCentric-Bench --probe original \\
      --openai-model gpt-4o --base-url https://api.openai.com/v1 --sam2 facebook/sam2.1-hiera-large \\
      --frame-stride 2 --downscale 2 --out preds/gpt-4o+sam2.jsonl
  pixbench score preds/qwen2.5-vl-7b+sam2.jsonl --data mocentric=build/MoCentric-Bench

Exit status: 0 done, 1 failed or some clips got no reply (run again to resume), 2 bad arguments.
"""

_TEXT_TRACK_DESCRIPTION = """\
SAM 3's text-prompted video segmentation over a built MoCentric-Bench: the expression is the text prompt,
SAM 3 detects and tracks every instance from the first presented frame on, and the line's mask per frame
is the union of the instances. An appearance-only baseline: it sees no motion words' meaning beyond what
SAM 3's text encoder makes of them. Needs a transformers with Sam3VideoModel (transformers >= 5).
"""


# ------------------------------------------------------------------------------------ options


def _add_model_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("model")
    group.add_argument("--model", required=True, metavar="HUB_ID_OR_DIR",
                       help="a transformers image-text model: LLaVA-1.5 (llava-hf/llava-1.5-7b-hf) or "
                            "Qwen2-VL / Qwen2.5-VL; hub id or local folder")
    group.add_argument("--device", help="cpu, cuda, cuda:1 ... (default: cuda when available; under accelerate "
                                        "each process's own device)")
    group.add_argument("--dtype", choices=("auto", "float32", "float16", "bfloat16"), default="auto",
                       help="model weights (default auto: float16 on CUDA, float32 on CPU)")
    group.add_argument("--no-pad-to-square", dest="pad_to_square", action="store_false",
                       help="LLaVA: let the processor resize and centre-crop instead of padding the image to a "
                            "square as LLaVA-1.5 does (the published setting pads)")
    group.add_argument("--max-new-tokens", type=int, default=1024, help="longest answer in tokens (default 1024)")
    group.add_argument("--temperature", type=float, default=0.0,
                       help="0 = greedy (default); > 0 samples (the published runs used 0.2), seeded per row")
    group.add_argument("--top-p", type=float, help="nucleus sampling mass when --temperature > 0")
    group.add_argument("--seed", type=int, default=0, help="seed; each (row, probe) derives its own (default 0)")


def _add_sam_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("SAM (one of)")
    group.add_argument("--sam-checkpoint", metavar="PATH",
                       help="a segment-anything checkpoint (.pth), used with --sam-type")
    group.add_argument("--sam-type", default="vit_h", choices=("vit_h", "vit_l", "vit_b", "tiny"),
                       help="segment-anything model type of --sam-checkpoint (default vit_h; tiny: the random "
                            "test checkpoint DIR/sam_tiny.pth of `make-tiny`)")
    group.add_argument("--sam-model", metavar="HUB_ID_OR_DIR",
                       help="a transformers SAM instead: hub id (facebook/sam-vit-huge) or local folder")


def _add_phrase_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("noun phrases")
    group.add_argument("--phrases", choices=("spacy", "rules"), default="spacy",
                       help="noun-phrase parser and similarity: spacy (published: noun chunks and word vectors "
                            "of --spacy-model, which you install) or rules (a small built-in chunker and "
                            "character-trigram similarity; offline, not the published numbers)")
    group.add_argument("--spacy-model", default="en_core_web_lg",
                       help="spaCy pipeline name or path (default en_core_web_lg: "
                            "python -m spacy download en_core_web_lg)")


#: Temperature of the vision judge (automatic selection). The published A-dagger protocol's 0.2 is for the
#: accuracy judge; no temperature is published for the selection, so it stays greedy (and its cache valid).
VISION_JUDGE_TEMPERATURE = 0.0


def _add_judge_options(parser: argparse.ArgumentParser) -> None:
    add_judge_options(parser.add_argument_group("vision judge"),
                      ("--judge-model", "--judge-temperature", "--judge-base-url", "--judge-cache", "--refresh-judge",
                       "--judge-concurrency", "--judge-retries"),
                      temperature=VISION_JUDGE_TEMPERATURE, concurrency=8, role="vision judge")


def _attend_arguments(attend: argparse.ArgumentParser) -> None:
    from pixbench.benchmarks import BENCHMARK_NAMES

    data = attend.add_argument_group("data and output")
    data.add_argument("--benchmark", required=True, choices=BENCHMARK_NAMES,
                      help="which benchmark (the predictions' `benchmark`)")
    data.add_argument("--data", metavar="PATH_OR_HUB_ID",
                      help="a folder made by `pixbench build` or a hub id (default: IVUlab/PixMMVP, "
                           "IVUlab/PixCV-Bench); it must hold the images")
    data.add_argument("--dataset-config", metavar="NAME", help="a dataset config (PixCV-Bench: ade20k, coco)")
    data.add_argument("--probe", nargs="+", choices=("vqa", "segment", "letter"), default=["segment"],
                      help="probes to run (default segment)")
    data.add_argument("--out", required=True, type=Path, metavar="PREDS.jsonl", help="the predictions file")
    data.add_argument("--model-name", help="the predictions' `model` (default: the last part of --model)")
    data.add_argument("--ids", metavar="LIST", help="only these row ids, e.g. 1-20,25")
    data.add_argument("--limit", type=int, metavar="N", help="only the first N rows (after --ids)")
    data.add_argument("--overwrite", action="store_true", help="start over instead of resuming")
    data.add_argument("--template", metavar="ID",
                      help="a prompt template of pixbench.prompts: qa-1..qa-10 (vqa, letter) or ground-1..ground-7 "
                           "(segment); recorded as every line's `variant` for the sensitivity analysis")
    data.add_argument("--family", default="vanilla",
                      help="whose published segment prompt to use: vanilla (default), lisa, glamm, omg-llava, llava-g")
    data.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar")
    _add_model_options(attend)
    _add_sam_options(attend)
    _add_phrase_options(attend)
    selection = attend.add_argument_group("automatic selection")
    selection.add_argument("--auto-select", action="store_true",
                           help="let the vision judge fill `selected` (PixFoundation); the main process asks")
    _add_judge_options(attend)


def _explain_arguments(explain: argparse.ArgumentParser) -> None:
    inputs = explain.add_argument_group("input and output")
    inputs.add_argument("--image", required=True, type=Path, metavar="IMG", help="the image (any PIL format)")
    inputs.add_argument("--expression", required=True,
                        help='the referring expression, e.g. "the hands holding the hat"')
    inputs.add_argument("--prompt", help='the prompt (default "Identify {expression} in the scene.")')
    inputs.add_argument("--gt-mask", type=Path, metavar="PNG",
                        help="a ground-truth mask (non-zero = object) at the image's size: enables the oracle")
    inputs.add_argument("--select", choices=("auto", "oracle", "judge", "score"), default="auto",
                        help="how to choose the best grounding: auto (oracle with --gt-mask, else judge), oracle "
                             "(best IoU), judge (PixFoundation), score (most similar phrase)")
    inputs.add_argument("--out", required=True, type=Path, metavar="DIR", help="folder for the images and JSON")
    _add_model_options(explain)
    _add_sam_options(explain)
    _add_phrase_options(explain)
    _add_judge_options(explain)


def _tiny_arguments(tiny: argparse.ArgumentParser) -> None:
    tiny.add_argument("out", type=Path, metavar="DIR")
    tiny.add_argument("--seed", type=int, default=0)


def _video_data_arguments(parser: argparse.ArgumentParser) -> None:
    from pixbench.mocentric.views import LAYOUTS, PROBES

    data = parser.add_argument_group("data and output")
    data.add_argument("--data", required=True, type=Path, metavar="PATH",
                      help="a MoCentric-Bench folder made by `pixbench build mocentric` (with frames)")
    data.add_argument("--probe", nargs="+", choices=PROBES, default=["original"], metavar="PROBE",
                      help=f"probes to run, any of {', '.join(PROBES)} (default original)")
    data.add_argument("--layout", nargs="+", choices=LAYOUTS, metavar="LAYOUT",
                      help="layouts of the pair probes, any of " + ", ".join(LAYOUTS) + " (default: each pair "
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

    _video_data_arguments(parser)
    box = parser.add_argument_group("box step (one of --model and --openai-model)")
    box.add_argument("--model", metavar="HUB_ID_OR_DIR",
                     help="a Qwen2-VL / Qwen2.5-VL / Qwen3-VL checkpoint (e.g. Qwen/Qwen2.5-VL-7B-Instruct)")
    box.add_argument("--openai-model", metavar="NAME", help="a vision model of an OpenAI-compatible endpoint")
    box.add_argument("--base-url", metavar="URL", help="the endpoint (default: OpenAI's); key from OPENAI_API_KEY")
    box.add_argument("--init", choices=INIT_STRATEGIES, default="first",
                     help="which frame to box first: first (default), keyframe or window")
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
    seg = parser.add_argument_group("video segmenter")
    seg.add_argument("--sam2", required=True, metavar="HUB_ID_OR_DIR",
                     help="a transformers SAM 2 video checkpoint (facebook/sam2.1-hiera-large) or a SAM 3 "
                          "tracker one (facebook/sam3), hub id or local folder")


def _text_track_arguments(parser: argparse.ArgumentParser) -> None:
    _video_data_arguments(parser)
    parser.add_argument("--sam3", required=True, metavar="HUB_ID_OR_DIR",
                        help="a transformers SAM 3 video checkpoint (facebook/sam3) or local folder")


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Add the ``attend-segment``, ``explain`` and ``make-tiny`` sub-commands to ``parser``.

    Their options are declared when one is chosen (:class:`~pixbench.cli.options.CommandParser`).
    """
    sub = parser.add_subparsers(dest="baseline_command", required=True, metavar="BASELINE_COMMAND",
                                parser_class=CommandParser)
    add_command(sub, "attend-segment", cmd_attend_segment, _attend_arguments,
                help="attend and segment over a benchmark -> predictions file",
                description=_ATTEND_DESCRIPTION, epilog=_ATTEND_EPILOG,
                formatter_class=argparse.RawDescriptionHelpFormatter)
    add_command(sub, "explain", cmd_explain, _explain_arguments,
                help="where in the answer does grounding emerge? (one image)",
                description=_EXPLAIN_DESCRIPTION, epilog=_EXPLAIN_EPILOG,
                formatter_class=argparse.RawDescriptionHelpFormatter)
    add_command(sub, "video-ground", cmd_video_ground, _video_ground_arguments,
                help="MoCentric-Bench: MLLM boxes + SAM 2 propagation -> predictions file",
                description=_VIDEO_DESCRIPTION, epilog=_VIDEO_EPILOG,
                formatter_class=argparse.RawDescriptionHelpFormatter)
    add_command(sub, "text-track", cmd_text_track, _text_track_arguments,
                help="MoCentric-Bench: SAM 3 text-prompted tracking -> predictions file",
                description=_TEXT_TRACK_DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter,
                epilog="example:\n  pixbench baseline text-track --data build/MoCentric-Bench --probe original "
                       "--sam3 facebook/sam3 --out preds/sam3-text.jsonl")
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


# ------------------------------------------------------------------------------------ helpers


class _UsageError(ValueError):
    pass


def _parse_ids(text: str | None) -> tuple[int, ...] | None:
    if not text:
        return None
    ids: list[int] = []
    for part in (p.strip() for p in text.split(",")):
        match = re.fullmatch(r"(\d+)(?:\s*-\s*(\d+))?", part)
        if not match:
            raise _UsageError(f"--ids expects comma-separated ids and ranges like 1-20,25, but got {text!r}")
        first = int(match.group(1))
        ids.extend(range(first, int(match.group(2) or first) + 1))
    return tuple(ids)


def _resolved(name_or_path: str) -> str:
    """A local folder as an absolute path (so resuming from another directory matches), else as given."""
    path = Path(name_or_path).expanduser()
    return str(path.resolve()) if path.exists() else name_or_path


def _model_name(model: str) -> str:
    return Path(model.rstrip("/")).name or model


def _settings(args: argparse.Namespace) -> Any:
    from pixbench.baselines.attention import GenerationSettings

    try:
        return GenerationSettings(max_new_tokens=args.max_new_tokens, temperature=args.temperature, top_p=args.top_p)
    except ValueError as exc:
        raise _UsageError(str(exc)) from None


def _check_sam(args: argparse.Namespace, needed: bool) -> None:
    if needed and not (args.sam_checkpoint or args.sam_model):
        raise _UsageError("SAM is needed: give --sam-checkpoint PATH (segment-anything, with --sam-type) or "
                          "--sam-model HUB_ID_OR_DIR (transformers)")
    if args.sam_checkpoint and args.sam_model:
        raise _UsageError("give one of --sam-checkpoint and --sam-model, not both")


def _sam_name(args: argparse.Namespace) -> str:
    if args.sam_checkpoint:
        return f"segment-anything:{args.sam_type}:{_resolved(args.sam_checkpoint)}"
    return f"transformers:{_resolved(args.sam_model)}" if args.sam_model else ""


def _make_judge(args: argparse.Namespace) -> Any:
    from pixbench.judge import JudgeCache, JudgeCacheError, OpenAICompatibleJudge

    try:
        cache = JudgeCache(args.judge_cache) if args.judge_cache else JudgeCache()
    except JudgeCacheError as exc:
        raise _UsageError(f"the vision judge cannot be used: --judge-cache {exc}") from None
    try:
        return OpenAICompatibleJudge(model=args.judge_model, base_url=args.judge_base_url, cache=cache,
                                     refresh=args.refresh_judge, concurrency=args.judge_concurrency,
                                     max_retries=args.judge_retries, temperature=args.judge_temperature)
    except (ValueError, ImportError) as exc:
        cache.close()
        raise _UsageError(f"the vision judge cannot be used: {exc}") from None


def _load_models(args: argparse.Namespace, phrases: Any, with_sam: bool) -> Any:
    def load(device: str) -> tuple[Any, Any, Any]:
        from pixbench.baselines.attention import load_vlm
        from pixbench.baselines.sam import load_segmenter

        if not getattr(args, "progress", True):
            from transformers.utils import logging as transformers_logging

            transformers_logging.disable_progress_bar()
        adapter_options = {"pad_to_square": args.pad_to_square}
        logger.info("loading %s on %s", args.model, device)
        adapter = load_vlm(args.model, device=device, dtype=args.dtype, **adapter_options)
        segmenter = load_segmenter(checkpoint=args.sam_checkpoint, model_type=args.sam_type, pretrained=args.sam_model,
                                   device=device) if with_sam else None
        return adapter, segmenter, phrases

    return load


def _error(message: str) -> None:
    print(f"error: {message}", file=sys.stderr)


# ------------------------------------------------------------------------------------ commands


def cmd_attend_segment(args: argparse.Namespace) -> int:
    """Run attend-and-segment over a benchmark (see the sub-command's --help)."""
    try:
        from pixbench.baselines.attention import require_baseline_deps

        require_baseline_deps("torch", "transformers")
        from pixbench.baselines.phrases import load_phrase_tools
        from pixbench.baselines.runner import RunConfig, RunError, distributed_context, run_attend_segment
        from pixbench.benchmarks import REGISTRY
        from pixbench.runs import OutputLocked
    except ImportError as exc:
        _error(str(exc))
        return EXIT_FAILED
    try:
        needs_masks = any(p in ("vqa", "segment") for p in args.probe)
        _check_sam(args, needs_masks)
        if args.auto_select and not needs_masks:
            raise _UsageError("--auto-select needs a probe with masks (vqa or segment)")
        if args.limit is not None and args.limit < 1:
            raise _UsageError(f"--limit must be >= 1, but got {args.limit}")
        config = RunConfig(benchmark=args.benchmark, data=_resolved(args.data or REGISTRY[args.benchmark].hub_id),
                           out=args.out, model_name=args.model_name or _model_name(args.model),
                           model_path=_resolved(args.model),
                           probes=tuple(dict.fromkeys(args.probe)), dataset_config=args.dataset_config,
                           sam_checkpoint=args.sam_checkpoint if needs_masks else None, sam_type=args.sam_type,
                           sam_model=args.sam_model if needs_masks else None,
                           phrases_name="", settings=_settings(args), seed=args.seed, ids=_parse_ids(args.ids),
                           limit=args.limit, overwrite=args.overwrite, progress=args.progress,
                           template=args.template, family=args.family)
        check_model_sources(model=args.model, sam_model=args.sam_model if needs_masks else None)
    except (_UsageError, ValueError) as exc:
        _error(str(exc))
        return EXIT_USAGE
    try:
        phrases = load_phrase_tools(args.phrases, spacy_model=args.spacy_model) if needs_masks else None
        config = _with_phrases(config, phrases.name if phrases is not None else "")
        context = distributed_context(args.device)
        judge = _make_judge(args) if args.auto_select and context.is_main else None
        summary = run_attend_segment(config, load_models=_load_models(args, phrases, needs_masks), context=context,
                                     judge=judge)
    except _UsageError as exc:
        _error(str(exc))
        return EXIT_USAGE
    except KeyboardInterrupt:
        _interrupted(args.out)
        return 130
    except (RunError, ImportError, OSError, ValueError, RuntimeError) as exc:
        plain = isinstance(exc, (RunError, OutputLocked, SourceError))
        _error(str(exc) if plain else f"{type(exc).__name__}: {exc}")
        return EXIT_FAILED
    if not context.is_main:
        return EXIT_OK
    print(f"{config.out}: {summary.lines} line(s); {summary.written} written now by this process, "
          f"{summary.skipped} already there", file=sys.stderr)
    if summary.problems:
        _error(f"the merged file has {len(summary.problems)} problem(s):\n" + "\n".join(summary.problems[:20]))
        return EXIT_FAILED
    if summary.selection is not None:
        counts = ", ".join(f"{k}: {v}" for k, v in sorted(summary.selection.counts.items())) or "nothing to select"
        print(f"automatic selection: {counts}", file=sys.stderr)
        for row_id, probe, why in summary.selection.failed[:20]:
            print(f"  no selection for id {row_id} ({probe}): {why}", file=sys.stderr)
        if summary.selection.errors:
            return EXIT_JUDGE
    print(str(config.out))
    return EXIT_OK


def _with_phrases(config: Any, name: str) -> Any:
    from dataclasses import replace

    return replace(config, phrases_name=name)


def cmd_explain(args: argparse.Namespace) -> int:
    """Write the interpretability report for one image (see the sub-command's --help)."""
    try:
        from pixbench.baselines.attention import require_baseline_deps

        require_baseline_deps("torch", "transformers")
        import numpy as np
        from PIL import Image

        from pixbench.annotation.rle import read_png
        from pixbench.baselines.explain import explain, write_explanation
        from pixbench.baselines.phrases import load_phrase_tools
        from pixbench.baselines.runner import distributed_context
    except ImportError as exc:
        _error(str(exc))
        return EXIT_FAILED
    try:
        _check_sam(args, True)
        method: Any = args.select if args.select != "auto" else ("oracle" if args.gt_mask else "judge")
        if method == "oracle" and not args.gt_mask:
            raise _UsageError("--select oracle needs --gt-mask PNG")
        settings = _settings(args)
        if not args.image.is_file():
            raise _UsageError(f"--image: no such file: {args.image}")
        image = Image.open(args.image).convert("RGB")
        gt = read_png(args.gt_mask) if args.gt_mask else None
        if gt is not None and gt.shape != (image.height, image.width):
            raise _UsageError(f"--gt-mask is {gt.shape[0]}x{gt.shape[1]}, the image is {image.height}x{image.width}")
    except (_UsageError, OSError) as exc:
        _error(str(exc))
        return EXIT_USAGE
    try:
        phrases = load_phrase_tools(args.phrases, spacy_model=args.spacy_model)
        judge = _make_judge(args) if method == "judge" else None
        device = distributed_context(args.device).device
        adapter, segmenter, _ = _load_models(args, phrases, True)(device)
        result = explain(adapter=adapter, segmenter=segmenter, phrases=phrases, image=image,
                         expression=args.expression, settings=settings, method=method, prompt=args.prompt,
                         gt_mask=np.asarray(gt, dtype=bool) if gt is not None else None, judge=judge)
        result.extra.update(image=str(args.image), model=args.model, sam=_sam_name(args), phrases_tool=phrases.name)
        written = write_explanation(result, image, args.out)
    except _UsageError as exc:
        _error(f"{exc} (or choose without a judge: --gt-mask PNG for the oracle, or --select score)")
        return EXIT_USAGE
    except (ImportError, OSError, ValueError, RuntimeError) as exc:
        _error(f"{type(exc).__name__}: {exc}")
        return EXIT_FAILED
    selection = result.selection
    if selection.candidate is not None:
        grounding = result.result.groundings[selection.candidate // 3]
        from pixbench.baselines.explain import location_percent

        where = location_percent(grounding.group.char_start, result.result.response)
        print(f"best grounding ({selection.method}): phrase '{grounding.group.text}', mask "
              f"{selection.candidate % 3}, at {where:.1f}% of the answer", file=sys.stderr)
    else:
        print(f"no grounding chosen ({selection.method}): {selection.status}"
              + (f" ({selection.detail})" if selection.detail else ""), file=sys.stderr)
    for path in written:
        print(path)
    return EXIT_JUDGE if selection.status == "error" else EXIT_OK


def _video_config(args: argparse.Namespace, *, model_name: str, method: dict[str, Any], init: Any) -> Any:
    from pixbench.baselines.video_runner import VideoRunConfig

    try:
        return VideoRunConfig(data=str(args.data), out=args.out, model_name=args.model_name or model_name,
                              probes=tuple(dict.fromkeys(args.probe)), method=method,
                              layouts=tuple(dict.fromkeys(args.layout)) if args.layout else None, init=init,
                              flip_merge=bool(getattr(args, "flip_merge", False)),
                              lowercase_expressions=args.lowercase_expressions, seed=args.seed,
                              max_expressions=args.max_expressions, overwrite=args.overwrite,
                              progress=args.progress)
    except ValueError as exc:
        raise _UsageError(str(exc)) from None


def _interrupted(out: Path) -> None:
    """What Ctrl-C leaves of a baseline run, and how to go on."""
    print(f"interrupted: the lines written so far are in {out.name}.shard-*-of-*.jsonl beside {out} (merged into "
          "it when the run ends); run the same command again to resume", file=sys.stderr)


def _video_run(config: Any, load_method: Any, device: str | None, desc: str) -> int:
    """Run a video baseline and report (shared by video-ground and text-track)."""
    from pixbench.baselines.runner import RunError, distributed_context
    from pixbench.baselines.video_runner import run_video_baseline
    from pixbench.mocentric.export import ExportError
    from pixbench.references import ReferenceError
    from pixbench.runs import OutputLocked

    try:
        context = distributed_context(device)
        summary = run_video_baseline(config, load_method=load_method, context=context, desc=desc)
    except _UsageError as exc:
        _error(str(exc))
        return EXIT_USAGE
    except KeyboardInterrupt:
        _interrupted(config.out)
        return 130
    except (RunError, ExportError, ReferenceError, OutputLocked) as exc:
        _error(str(exc))
        return EXIT_FAILED
    except (ImportError, OSError, ValueError, RuntimeError) as exc:
        _error(f"{type(exc).__name__}: {exc}")
        return EXIT_FAILED
    for clip_id, probe, layout, why in summary.failed[:20]:
        print(f"  no line for id {clip_id} ({probe}{' ' + layout if layout else ''}): {why}", file=sys.stderr)
    if not context.is_main:
        return EXIT_FAILED if summary.failed else EXIT_OK
    print(f"{config.out}: {summary.lines} line(s); {summary.written} written now by this process, "
          f"{summary.skipped} already there", file=sys.stderr)
    if summary.problems:
        _error(f"the merged file has {len(summary.problems)} problem(s):\n" + "\n".join(summary.problems[:20]))
        return EXIT_FAILED
    if summary.failed:
        _error(f"{len(summary.failed)} clip(s) got no reply from the model and have no line; run again to retry them")
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
            raise _UsageError(f"--model {args.model}: {exc}") from None
        return ({"backend": "transformers", "model": _resolved(args.model), "family": family,
                 "box_format": box_format, "box_format_source": "override" if args.box_format else "family table",
                 "max_pixels": args.max_pixels, **({"min_pixels": args.min_pixels} if args.min_pixels else {}),
                 "max_new_tokens": args.max_new_tokens},
                _model_name(args.model))
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


def cmd_video_ground(args: argparse.Namespace) -> int:
    """MLLM boxes + SAM 2 propagation over MoCentric-Bench (see the sub-command's --help)."""
    try:
        from pixbench.baselines.attention import require_baseline_deps

        require_baseline_deps("torch", "transformers")
        from pixbench.baselines.video_runner import model_fingerprint
    except ImportError as exc:
        _error(str(exc))
        return EXIT_FAILED
    try:
        if bool(args.model) == bool(args.openai_model):
            raise _UsageError("give one of --model QWEN_CKPT and --openai-model NAME (with --base-url)")
        if args.model and args.box_family != "openai":
            raise _UsageError("--box-family is for --openai-model (a checkpoint's family comes from its config)")
        for name in ("max_expressions", "max_pixels", "min_pixels", "max_tries"):
            value = getattr(args, name)
            if value is not None and value < 1:
                raise _UsageError(f"--{name.replace('_', '-')} must be >= 1, but got {value}")
        if args.frame_stride < 1 or args.downscale < 1:
            raise _UsageError("--frame-stride and --downscale must be >= 1")
        check_model_sources(model=args.model, sam2=args.sam2)
        box_settings, box_name = _box_method_settings(args)
        method = {"kind": "video-ground", "box": box_settings, "segmenter": model_fingerprint(args.sam2),
                  "max_tries": args.max_tries}
        config = _video_config(args, model_name=f"{box_name}+{_model_name(args.sam2)}", method=method,
                               init=args.init)
    except _UsageError as exc:
        _error(str(exc))
        return EXIT_USAGE
    except SourceError as exc:
        _error(str(exc))
        return EXIT_FAILED
    except (OSError, ValueError, ImportError) as exc:
        _error(f"{type(exc).__name__}: {exc}")
        return EXIT_FAILED

    def load(device: str) -> Any:
        from pixbench.baselines.box_models import OpenAIBoxModel, QwenBoxModel
        from pixbench.baselines.video_runner import BoxThenPropagate
        from pixbench.baselines.video_segmenters import load_video_segmenter

        box_model: Any
        if args.model:
            box_model = QwenBoxModel.from_pretrained(args.model, device=device, dtype=args.dtype,
                                                     max_pixels=args.max_pixels, min_pixels=args.min_pixels,
                                                     max_new_tokens=args.max_new_tokens, box_format=args.box_format,
                                                     seed=args.seed)
        else:
            from pixbench.judge import JudgeCache, JudgeCacheError

            try:
                cache = JudgeCache(args.judge_cache) if args.judge_cache else JudgeCache()
            except JudgeCacheError as exc:
                raise _UsageError(f"--judge-cache {exc}") from None
            min_pixels, max_pixels = _served_pixels(args)
            box_model = OpenAIBoxModel.from_endpoint(args.openai_model, base_url=args.base_url, cache=cache,
                                                     refresh=args.refresh, frame_stride=args.frame_stride,
                                                     downscale=args.downscale, box_format=args.box_format,
                                                     box_family=args.box_family, min_pixels=min_pixels,
                                                     max_pixels=max_pixels)
        segmenter = load_video_segmenter(args.sam2, device=device, offload=args.offload)
        return BoxThenPropagate(box_model, segmenter, init=args.init, max_tries=args.max_tries)

    return _video_run(config, load, args.device, "video-ground")


def cmd_text_track(args: argparse.Namespace) -> int:
    """SAM 3 text-prompted tracking over MoCentric-Bench (see the sub-command's --help)."""
    try:
        from pixbench.baselines.attention import require_baseline_deps

        require_baseline_deps("torch", "transformers")
        from pixbench.baselines.video_runner import model_fingerprint
        from pixbench.baselines.video_segmenters import sam3_video_classes

        sam3_video_classes()  # a clear error when transformers lacks SAM 3
    except ImportError as exc:
        _error(str(exc))
        return EXIT_FAILED
    try:
        if args.max_expressions is not None and args.max_expressions < 1:
            raise _UsageError(f"--max-expressions must be >= 1, but got {args.max_expressions}")
        check_model_sources(sam3=args.sam3)
        method = {"kind": "text-track", "segmenter": model_fingerprint(args.sam3)}
        config = _video_config(args, model_name=f"{_model_name(args.sam3)}-text", method=method, init=None)
    except _UsageError as exc:
        _error(str(exc))
        return EXIT_USAGE
    except SourceError as exc:
        _error(str(exc))
        return EXIT_FAILED
    except OSError as exc:
        _error(f"{type(exc).__name__}: {exc}")
        return EXIT_FAILED

    def load(device: str) -> Any:
        from pixbench.baselines.video_runner import TextTrack
        from pixbench.baselines.video_segmenters import Sam3TextTracker

        return TextTrack(Sam3TextTracker.from_pretrained(args.sam3, device=device, offload=args.offload))

    return _video_run(config, load, args.device, "text-track")


def cmd_make_tiny(args: argparse.Namespace) -> int:
    """Write tiny random models for trying the commands offline."""
    try:
        from pixbench.baselines.attention import require_baseline_deps

        require_baseline_deps("torch", "transformers")
        from pixbench.baselines.tiny import tiny_qwen2vl, write_tiny_models
        from pixbench.baselines.video_segmenters import write_tiny_video_models
    except ImportError as exc:
        _error(str(exc))
        return EXIT_FAILED
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
