"""``pixbench baseline attend-segment`` and ``explain``: the image baselines (PixMMVP, PixCV-Bench)."""

from __future__ import annotations

import argparse
import logging
import re
import sys
from pathlib import Path
from typing import Any

from pixbench.cli.baseline_common import (
    EXIT_FAILED,
    EXIT_JUDGE,
    EXIT_OK,
    EXIT_USAGE,
    UsageError,
    needs,
    print_error,
    print_interrupted,
    resolved_path,
    short_model_name,
)
from pixbench.cli.options import Subparsers, add_command, add_judge_options, check_model_sources
from pixbench.loaders.sources import SourceError

logger = logging.getLogger(__name__)

__all__ = ["VISION_JUDGE_TEMPERATURE", "add_commands", "cmd_attend_segment", "cmd_explain"]


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


def add_commands(sub: Subparsers) -> None:
    """Add ``attend-segment`` and ``explain`` to the baseline sub-commands."""
    add_command(sub, "attend-segment", cmd_attend_segment, _attend_arguments,
                help="attend and segment over a benchmark -> predictions file",
                description=_ATTEND_DESCRIPTION, epilog=_ATTEND_EPILOG,
                formatter_class=argparse.RawDescriptionHelpFormatter)
    add_command(sub, "explain", cmd_explain, _explain_arguments,
                help="where in the answer does grounding emerge? (one image)",
                description=_EXPLAIN_DESCRIPTION, epilog=_EXPLAIN_EPILOG,
                formatter_class=argparse.RawDescriptionHelpFormatter)


def _parse_ids(text: str | None) -> tuple[int, ...] | None:
    if not text:
        return None
    ids: list[int] = []
    for part in (p.strip() for p in text.split(",")):
        match = re.fullmatch(r"(\d+)(?:\s*-\s*(\d+))?", part)
        if not match:
            raise UsageError(f"--ids expects comma-separated ids and ranges like 1-20,25, but got {text!r}")
        first = int(match.group(1))
        ids.extend(range(first, int(match.group(2) or first) + 1))
    return tuple(ids)


def _settings(args: argparse.Namespace) -> Any:
    from pixbench.baselines.attention import GenerationSettings

    try:
        return GenerationSettings(max_new_tokens=args.max_new_tokens, temperature=args.temperature, top_p=args.top_p)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def _check_sam(args: argparse.Namespace, needed: bool) -> None:
    if needed and not (args.sam_checkpoint or args.sam_model):
        raise UsageError("SAM is needed: give --sam-checkpoint PATH (segment-anything, with --sam-type) or "
                          "--sam-model HUB_ID_OR_DIR (transformers)")
    if args.sam_checkpoint and args.sam_model:
        raise UsageError("give one of --sam-checkpoint and --sam-model, not both")


def _sam_name(args: argparse.Namespace) -> str:
    if args.sam_checkpoint:
        return f"segment-anything:{args.sam_type}:{resolved_path(args.sam_checkpoint)}"
    return f"transformers:{resolved_path(args.sam_model)}" if args.sam_model else ""


def _make_judge(args: argparse.Namespace) -> Any:
    from pixbench.judge import JudgeCache, JudgeCacheError, OpenAICompatibleJudge

    try:
        cache = JudgeCache(args.judge_cache) if args.judge_cache else JudgeCache()
    except JudgeCacheError as exc:
        raise UsageError(f"the vision judge cannot be used: --judge-cache {exc}") from None
    try:
        return OpenAICompatibleJudge(model=args.judge_model, base_url=args.judge_base_url, cache=cache,
                                     refresh=args.refresh_judge, concurrency=args.judge_concurrency,
                                     max_retries=args.judge_retries, temperature=args.judge_temperature)
    except (ValueError, ImportError) as exc:
        cache.close()
        raise UsageError(f"the vision judge cannot be used: {exc}") from None


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


@needs("torch", "transformers")
def cmd_attend_segment(args: argparse.Namespace) -> int:
    """Run attend-and-segment over a benchmark (see the sub-command's --help)."""
    from pixbench.baselines.phrases import load_phrase_tools
    from pixbench.baselines.runner import RunConfig, RunError, distributed_context, run_attend_segment
    from pixbench.benchmarks import REGISTRY
    from pixbench.runs import OutputLocked
    try:
        needs_masks = any(p in ("vqa", "segment") for p in args.probe)
        _check_sam(args, needs_masks)
        if args.auto_select and not needs_masks:
            raise UsageError("--auto-select needs a probe with masks (vqa or segment)")
        if args.limit is not None and args.limit < 1:
            raise UsageError(f"--limit must be >= 1, but got {args.limit}")
        config = RunConfig(benchmark=args.benchmark, data=resolved_path(args.data or REGISTRY[args.benchmark].hub_id),
                           out=args.out, model_name=args.model_name or short_model_name(args.model),
                           model_path=resolved_path(args.model),
                           probes=tuple(dict.fromkeys(args.probe)), dataset_config=args.dataset_config,
                           sam_checkpoint=args.sam_checkpoint if needs_masks else None, sam_type=args.sam_type,
                           sam_model=args.sam_model if needs_masks else None,
                           phrases_name="", settings=_settings(args), seed=args.seed, ids=_parse_ids(args.ids),
                           limit=args.limit, overwrite=args.overwrite, progress=args.progress,
                           template=args.template, family=args.family)
        check_model_sources(model=args.model, sam_model=args.sam_model if needs_masks else None)
    except (UsageError, ValueError) as exc:
        print_error(str(exc))
        return EXIT_USAGE
    try:
        phrases = load_phrase_tools(args.phrases, spacy_model=args.spacy_model) if needs_masks else None
        config = _with_phrases(config, phrases.name if phrases is not None else "")
        context = distributed_context(args.device)
        judge = _make_judge(args) if args.auto_select and context.is_main else None
        summary = run_attend_segment(config, load_models=_load_models(args, phrases, needs_masks), context=context,
                                     judge=judge)
    except UsageError as exc:
        print_error(str(exc))
        return EXIT_USAGE
    except KeyboardInterrupt:
        print_interrupted(args.out)
        return 130
    except (RunError, ImportError, OSError, ValueError, RuntimeError) as exc:
        plain = isinstance(exc, (RunError, OutputLocked, SourceError))
        print_error(str(exc) if plain else f"{type(exc).__name__}: {exc}")
        return EXIT_FAILED
    if not context.is_main:
        return EXIT_OK
    print(f"{config.out}: {summary.lines} line(s); {summary.written} written now by this process, "
          f"{summary.skipped} already there", file=sys.stderr)
    if summary.problems:
        print_error(f"the merged file has {len(summary.problems)} problem(s):\n" + "\n".join(summary.problems[:20]))
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


@needs("torch", "transformers")
def cmd_explain(args: argparse.Namespace) -> int:
    """Write the interpretability report for one image (see the sub-command's --help)."""
    import numpy as np
    from PIL import Image

    from pixbench.annotation.png import read_png
    from pixbench.baselines.explain import explain, write_explanation
    from pixbench.baselines.phrases import load_phrase_tools
    from pixbench.baselines.runner import distributed_context
    try:
        _check_sam(args, True)
        method: Any = args.select if args.select != "auto" else ("oracle" if args.gt_mask else "judge")
        if method == "oracle" and not args.gt_mask:
            raise UsageError("--select oracle needs --gt-mask PNG")
        settings = _settings(args)
        if not args.image.is_file():
            raise UsageError(f"--image: no such file: {args.image}")
        image = Image.open(args.image).convert("RGB")
        gt = read_png(args.gt_mask) if args.gt_mask else None
        if gt is not None and gt.shape != (image.height, image.width):
            raise UsageError(f"--gt-mask is {gt.shape[0]}x{gt.shape[1]}, the image is {image.height}x{image.width}")
    except (UsageError, OSError) as exc:
        print_error(str(exc))
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
    except UsageError as exc:
        print_error(f"{exc} (or choose without a judge: --gt-mask PNG for the oracle, or --select score)")
        return EXIT_USAGE
    except (ImportError, OSError, ValueError, RuntimeError) as exc:
        print_error(f"{type(exc).__name__}: {exc}")
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
