"""``pixbench run``: a served vision-language model's predictions (and, with ``--score``, its Table 1 row).

The model under test is a :class:`pixbench.chat.ChatClient` (role ``served model``) with its own
:class:`pixbench.chat.ReplyCache` (``--cache``), passed to :func:`pixbench.served.run_served`. ``--score``
then scores OUT through the library, as ``pixbench score OUT --data BENCHMARK=DATA`` with the same judge
options would: :func:`pixbench.score_files.make_judge` and :func:`pixbench.cli.scoring.score_and_report`, the
scoring of ``pixbench score`` (the table on stdout, the same messages on stderr, the same exit status, and
``--receipt``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pixbench.cli.options import (
    Subparsers,
    add_command,
    add_judge_options,
    check_model_sources,
    check_output_file,
    judge_from_options,
    positive_int,
)

_DESCRIPTION = """\
Ask a served vision-language model (any OpenAI-compatible endpoint: vLLM, SGLang, LMDeploy, a hosted API)
the probes of PixMMVP or PixCV-Bench with the published prompts and write a predictions file.

letter / vqa: the image (base64 JPEG data URL) and the published prompt (--template, --family as for
`pixbench baseline attend-segment`); the reply is the line's response.
segment: the box family's grounding prompt ("Locate the {expression}, output its bbox coordinates using JSON
format.", the expression's leading article dropped unless --keep-article); the reply is parsed strictly in the
family's box convention (--box-family, --box-format; Qwen2.5-VL boxes in the server's resized input, with the
released checkpoints' --min-pixels/--max-pixels unless given), at most 100 boxes, each box becomes a mask
through SAM (--sam-checkpoint/--sam-type or --sam-model) and the line's mask is their union; a
reply without a box is the empty mask (recorded).

Replies are cached (--cache, default OUT.cache.sqlite) as they arrive and lines already in OUT are skipped,
so an interrupted run resumes and a finished one makes no request. OUT.run.json records the settings
(temperature, max tokens, seed ...). --score then scores OUT as `pixbench score` would, with its judge options
(--receipt: and writes its receipt; see `pixbench verify`).
"""

_EPILOG = """\
The API key of the served model comes from OPENAI_API_KEY (never printed; a local server needs none).
Example (a vLLM server started with `vllm serve Qwen/Qwen2.5-VL-7B-Instruct --port 8000`):
  pixbench run --base-url http://127.0.0.1:8000/v1 --model Qwen/Qwen2.5-VL-7B-Instruct \\
      --benchmark pixmmvp --probe letter vqa segment --sam-checkpoint sam_vit_h_4b8939.pth \\
      --out qwen25vl.jsonl --score --judge-model gpt-4o
"""


def cmd_run(args: argparse.Namespace) -> int:
    """Run the probes; exit 0, 1 on bad input or an unreachable endpoint, 3 when requests failed."""
    from pixbench.benchmarks import REGISTRY
    from pixbench.chat import ChatClient, ReplyCache
    from pixbench.loaders.sources import SourceError
    from pixbench.runs import OutputLocked
    from pixbench.served import ServedConfig, ServedError, run_served

    if (args.sam_checkpoint is not None) and (args.sam_model is not None):
        print("error: give one of --sam-checkpoint and --sam-model, not both", file=sys.stderr)
        return 1
    segmenter_name = ""
    if args.sam_checkpoint is not None:
        segmenter_name = f"segment-anything:{args.sam_type}:{Path(args.sam_checkpoint).name}"
    elif args.sam_model is not None:
        segmenter_name = f"transformers:{args.sam_model}"
    if args.receipt and not args.score:
        print("error: --receipt is the receipt of --score: give --score too", file=sys.stderr)
        return 1
    if "segment" in args.probe and not segmenter_name:
        print('error: the segment probe turns boxes into masks with SAM: give --sam-checkpoint PATH (with '
              '--sam-type) or --sam-model ID (install SAM with: pip install "pixbench[baselines]")', file=sys.stderr)
        return 1
    data = args.data or REGISTRY[args.benchmark].hub_id
    out = Path(args.out)
    try:
        check_model_sources(sam_model=args.sam_model if "segment" in args.probe else None)
        check_output_file(args.receipt, "--receipt")
        cache = ReplyCache(args.cache or out.with_name(out.name + ".cache.sqlite"), option="--cache")
        client = ChatClient(model=args.model, base_url=args.base_url, temperature=args.temperature,
                            max_tokens=args.max_tokens, seed=args.seed, concurrency=args.concurrency,
                            max_retries=args.retries, timeout=args.timeout, cache=cache, role="served model")
        config = ServedConfig(benchmark=args.benchmark, data=data, out=out, model=args.model,
                              endpoint=client.endpoint, probes=tuple(dict.fromkeys(args.probe)),
                              template=args.template, family=args.family, box_family=args.box_family,
                              box_format=args.box_format, min_pixels=args.min_pixels,
                              max_pixels=args.max_pixels, keep_article=args.keep_article,
                              temperature=args.temperature,
                              max_tokens=args.max_tokens, seed=args.seed, concurrency=args.concurrency,
                              segmenter=segmenter_name, limit=args.limit, progress=sys.stderr.isatty())
    except (ValueError, ImportError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1

    def load_segmenter() -> object:
        from pixbench.baselines.sam import load_segmenter as load

        return load(checkpoint=args.sam_checkpoint, model_type=args.sam_type, pretrained=args.sam_model,
                    device=args.device)

    def report(text: str) -> None:
        print(f"run {args.model}: {text}", file=sys.stderr, flush=True)

    try:
        summary = run_served(config, client=client, load_segmenter=load_segmenter,
                             report=None if config.progress else report)
    except (ServedError, OutputLocked, SourceError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"interrupted: the lines written so far are in {out} and every reply received is cached in "
              f"{cache.path}; run the same command again to resume", file=sys.stderr)
        return 130
    finally:
        client.close()
        cache.close()
    print(f"{out}: {summary.written} line(s) written, {summary.skipped} already there; {summary.asked} request(s) "
          f"asked, {summary.cached} from the cache; {summary.without_box} segment repl(ies) without a box "
          "(empty masks)", file=sys.stderr)
    if summary.failed:
        for error in summary.errors[:10]:
            print(f"  {error}", file=sys.stderr)
        print(f"error: {summary.failed} request(s) failed (no line written); rerun to ask them again",
              file=sys.stderr)
        return 3
    if not args.score:
        return 0
    return _score(args, out, data)


def _score(args: argparse.Namespace, out: Path, data: str) -> int:
    """Score ``out`` as ``pixbench score OUT --data BENCHMARK=DATA`` with ``args``' judge options would, through
    the same :func:`pixbench.cli.scoring.score_and_report` (and ``--receipt``): the report as a table on stdout;
    warnings, problems, predictions missing and judge failures on stderr; exit 0, 1 on invalid input, 3 on judge
    errors or an unreachable judge (every selection, reading and report option at ``pixbench score``'s default)."""
    from pixbench import score_report as report
    from pixbench.cli.options import report_score_outcome
    from pixbench.cli.scoring import given_base_url, score_and_report
    from pixbench.score_files import ScoreRequest

    try:
        judge = judge_from_options(args)
    except (ValueError, ImportError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    request = ScoreRequest(predictions=(str(out),), data={args.benchmark: data})
    scored = score_and_report(request, judge, receipt=args.receipt, base_url=given_base_url(args))
    if isinstance(scored, int):
        return scored
    sys.stdout.write(report.render(scored.report, "table"))
    return report_score_outcome(scored.run, scored.judge, allow_flag=None)


def _arguments(parser: argparse.ArgumentParser) -> None:
    from pixbench.baselines.boxes import QWEN_RELEASED_MAX_PIXELS, QWEN_RELEASED_MIN_PIXELS
    from pixbench.benchmarks import REGISTRY
    from pixbench.cli.scoring import add_receipt_option
    from pixbench.prompts import FAMILIES
    from pixbench.served import SERVED_PROBES, known_box_families

    model = parser.add_argument_group("served model")
    model.add_argument("--base-url", required=True, metavar="URL",
                       help="the OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1")
    model.add_argument("--model", required=True, metavar="NAME", help="the served model name")
    model.add_argument("--temperature", type=float, default=0.0, help="sampling temperature (default 0)")
    model.add_argument("--max-tokens", type=positive_int, default=1024, metavar="N",
                       help="max tokens per reply (default 1024)")
    model.add_argument("--seed", type=int, default=0, help="the request's seed (default 0)")
    model.add_argument("--concurrency", type=positive_int, default=8, metavar="N",
                       help="requests in flight at once (default 8)")
    model.add_argument("--retries", type=int, default=5, help="retries of a failed request (default 5)")
    model.add_argument("--timeout", type=float, default=120.0, help="seconds per request (default 120)")
    model.add_argument("--cache", metavar="PATH", help="SQLite file of cached replies (default OUT.cache.sqlite)")
    what = parser.add_argument_group("what to ask")
    images = [spec for spec in REGISTRY.values() if spec.kind == "image"]  # the benchmarks a served model answers
    what.add_argument("--benchmark", required=True, choices=[spec.name for spec in images])
    what.add_argument("--data", metavar="PATH_OR_HUB_ID",
                      help=f"the built benchmark (default {' or '.join(spec.hub_id for spec in images)})")
    what.add_argument("--probe", nargs="+", choices=SERVED_PROBES, default=list(SERVED_PROBES))
    what.add_argument("--template", metavar="ID", help="a question template (qa-1 .. qa-10), recorded as variant")
    what.add_argument("--family", choices=FAMILIES, default="vanilla", help="prompt family (default vanilla)")
    what.add_argument("--limit", type=positive_int, metavar="N", help="only the first N rows")
    what.add_argument("--out", required=True, metavar="PREDS.jsonl")
    boxes = parser.add_argument_group("segment probe")
    boxes.add_argument("--box-family", choices=known_box_families(), default="qwen2_5_vl",
                       help="whose box convention the replies follow (default qwen2_5_vl)")
    boxes.add_argument("--box-format", choices=("norm-1000", "input-pixels", "frame-pixels"),
                       help="override the family's box format")
    boxes.add_argument("--min-pixels", type=positive_int, default=QWEN_RELEASED_MIN_PIXELS, metavar="N",
                       help="Qwen box families: the server's processor min_pixels, which its boxes are written in "
                            f"(default {QWEN_RELEASED_MIN_PIXELS}, the released checkpoints' value)")
    boxes.add_argument("--max-pixels", type=positive_int, default=QWEN_RELEASED_MAX_PIXELS, metavar="N",
                       help="Qwen box families: the server's processor max_pixels (default "
                            f"{QWEN_RELEASED_MAX_PIXELS}, the released checkpoints' value; give the server's if it "
                            "was started with other limits)")
    boxes.add_argument("--keep-article", action="store_true",
                       help='send the expression as is in "Locate the {expression}, ..." (the published text; '
                            'PixMMVP/PixCV-Bench expressions then read "Locate the the square"); by default a '
                            "leading the/a/an is dropped (recorded in OUT.run.json)")
    boxes.add_argument("--sam-checkpoint", metavar="PATH", help="a segment-anything checkpoint (.pth)")
    boxes.add_argument("--sam-type", default="vit_h", choices=("vit_h", "vit_l", "vit_b", "tiny"))
    boxes.add_argument("--sam-model", metavar="ID", help="a transformers SAM (hub id or folder)")
    boxes.add_argument("--device", default="cpu", help="SAM's device (default cpu)")
    scoring = parser.add_argument_group("scoring")
    scoring.add_argument("--score", action="store_true", help="score OUT as `pixbench score` would")
    add_judge_options(scoring)
    add_receipt_option(scoring)


def configure(subparsers: Subparsers) -> None:
    """Add ``run`` to the ``pixbench`` commands."""
    add_command(subparsers, "run", cmd_run, _arguments,
                help="ask a served model (OpenAI-compatible) the probes; --score prints its Table 1 row",
                formatter_class=argparse.RawDescriptionHelpFormatter, description=_DESCRIPTION, epilog=_EPILOG)
