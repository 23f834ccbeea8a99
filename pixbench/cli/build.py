"""``pixbench build``, ``check-annotations``, ``push`` and ``show``: make, check, upload and review hub folders.

``build`` and ``check-annotations`` reach each benchmark's builder module through the
:class:`~pixbench.benchmarks.base.BuilderSpec` the benchmark declares (``REGISTRY[name].builder``; the
module is imported when the command runs): the module's ``build(**keywords)`` writes the hub folder and its
``check(annotations_dir)`` checks an annotation folder (a builder without an annotation folder, such as
MoCentric-Bench's, takes its own inputs as keywords in both). A benchmark's raw-input flags are still
declared on these parsers.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from pixbench.benchmarks.base import BuilderSpec
from pixbench.cli.options import Subparsers, add_command, print_report

__all__ = ["Builder", "builder", "cmd_build", "cmd_check", "cmd_push", "cmd_show", "configure"]


def _optional_path(value: str | None) -> Path | None:
    return Path(value) if value else None


def _paths(values: list[str] | None) -> list[Path]:
    return [Path(value) for value in values or []]


_CONVERSIONS: dict[str, Callable[[Any], Any]] = {"path": _optional_path, "paths": _paths, "flag": bool, "text": str}


@dataclass(frozen=True)
class Builder:
    """A benchmark's :class:`~pixbench.benchmarks.base.BuilderSpec` as the command calls it."""

    spec: BuilderSpec

    @property
    def annotations(self) -> bool:
        return self.spec.annotations

    @property
    def media(self) -> str:
        return self.spec.media

    @property
    def inputs(self) -> Mapping[str, tuple[str, str]]:
        return self.spec.inputs

    def load(self) -> ModuleType:
        """The builder module (imported now: builders import ``datasets`` and ``pyarrow``)."""
        return importlib.import_module(self.spec.module)

    def keywords(self, name: str, args: argparse.Namespace) -> dict[str, Any]:
        """This builder's own ``build`` keywords from the options; ``ValueError`` if one it needs is missing."""
        needs = {"annotations": "--annotations DIR (its annotation folder)"} if self.spec.annotations else {}
        for dest, what in {**needs, **self.spec.needs}.items():
            if not getattr(args, dest, None):
                raise ValueError(f"{name} needs {what}")
        return {keyword: _CONVERSIONS[conversion](getattr(args, dest))
                for keyword, (dest, conversion) in self.spec.inputs.items()}


def builder(name: str) -> Builder:
    """The builder of the benchmark called ``name`` (declared by the benchmark: ``REGISTRY[name].builder``)."""
    from pixbench.benchmarks import REGISTRY

    benchmark = REGISTRY.get(name)
    if benchmark is None:
        raise ValueError(f"no benchmark called {name!r} (known: {', '.join(REGISTRY)})")
    return Builder(benchmark.builder)


def cmd_build(args: argparse.Namespace) -> int:
    """Build a hub folder from raw inputs."""
    from pixbench.annotation.findings import AnnotationError

    out = Path(args.out)
    try:
        chosen = builder(args.benchmark)
        keywords = chosen.keywords(args.benchmark, args)
        if chosen.annotations:
            keywords["annotations_dir"] = Path(args.annotations)
        result = chosen.load().build(out_dir=out, force=args.force, **{chosen.media: not args.no_images},
                                     **keywords)
    except AnnotationError as exc:
        print(f"error: build stopped, nothing written.\n{exc.report.format(None)}", file=sys.stderr)
        return 1
    except ValueError as exc:  # usage: missing --mmvp, an --out that is not new, empty or an earlier build
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a full disk, a read error: the staged build left the folder as it was
        shown = " ".join(str(exc).split()) or type(exc).__name__
        print(f"error: build failed, {out} left as it was: {shown}", file=sys.stderr)
        return 1
    print_report(result.report)
    if result.left_in_place:
        shown = ", ".join(result.left_in_place[:10]) + (" ..." if len(result.left_in_place) > 10 else "")
        print(f"note: left in place in {out} (not written by pixbench): {shown}", file=sys.stderr)
    print(json.dumps(result.summary, indent=2))
    print(f"wrote {len(result.files)} files to {out}", file=sys.stderr)
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    """Check an annotation folder (or a builder's own inputs) without images; exit 1 on errors, 2 on usage."""
    try:
        chosen = builder(args.benchmark)
        if chosen.annotations and not args.annotations:
            raise ValueError(f"{args.benchmark} needs ANN_DIR (its annotation folder)")
        keywords = {} if chosen.annotations else chosen.keywords(args.benchmark, args)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if chosen.annotations:
        report, summary = chosen.load().check(Path(args.annotations))
    else:
        report, summary = chosen.load().check(**keywords)
    print(json.dumps(summary, indent=2))
    print(report.format(None), file=sys.stderr)
    return 0 if report.ok else 1


def cmd_push(args: argparse.Namespace) -> int:
    """Upload a built folder to the hub (or list what would be uploaded)."""
    from pixbench.loaders import hub

    folder = Path(args.folder)
    try:
        plan = hub.plan_push(folder, args.repo_id)
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.dry_run:
        visibility = "private" if args.private else "public"
        print(f"would create (if missing) the {visibility} dataset repo {plan.repo_id} and upload:")
        for name in plan.upload:
            size = (folder / name).stat().st_size
            print(f"  {name}  ({size:,} bytes)")
        print(f"and delete remote files matching {plan.delete_patterns} that this build does not have")
        return 0
    try:
        url = hub.push(folder, args.repo_id, private=args.private)
    except Exception as exc:  # network and auth errors from huggingface_hub
        print(f"error: push to {args.repo_id} failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print(url)
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    """Write mask/polygon overlays of chosen rows and a contact sheet."""
    from pixbench.loaders import review

    try:
        ids = [int(v) for v in args.ids.split(",") if v.strip()] if args.ids else None
    except ValueError:
        print(f"error: --ids expects comma-separated integers, but got {args.ids!r}", file=sys.stderr)
        return 2
    try:
        written = review.write_overlays(Path(args.dataset), Path(args.out), ids=ids, limit=args.limit)
    except (KeyError, FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for path in written:
        print(path)
    return 0


# ------------------------------------------------------------------------------------ arguments


def _build_arguments(parser: argparse.ArgumentParser) -> None:
    from pixbench.benchmarks import BENCHMARK_NAMES, REGISTRY

    annotated = [b.display_name for b in REGISTRY.values() if b.builder.annotations]
    parser.add_argument("benchmark", choices=BENCHMARK_NAMES)
    parser.add_argument("--annotations", metavar="DIR",
                        help=f"the {' or '.join(annotated)} annotation folder (required for those)")
    parser.add_argument("--out", required=True, metavar="OUT_DIR", help="the folder to write")
    _builder_options(parser, [(b.name, b.builder) for b in REGISTRY.values()])
    parser.add_argument("--no-images", "--no-frames", dest="no_images", action="store_true",
                        help="annotations-only build: do not embed images or video frames (sizes still come from "
                             "them, or for a video benchmark from the masks; frame files not needed)")
    parser.add_argument("--force", action="store_true",
                        help="write into an OUT_DIR that is not new, empty or an earlier build of this benchmark: "
                             "replace its README.md, build_summary.json and data/*.parquet, leave the rest")


def _check_arguments(parser: argparse.ArgumentParser) -> None:
    from pixbench.benchmarks import BENCHMARK_NAMES, REGISTRY

    annotated = [name for name, b in REGISTRY.items() if b.builder.annotations]
    parser.add_argument("benchmark", choices=BENCHMARK_NAMES)
    parser.add_argument("annotations", metavar="ANN_DIR", nargs="?",
                        help=f"the annotation folder ({', '.join(annotated)})")
    _builder_options(parser, [(b.name, b.builder) for b in REGISTRY.values() if not b.builder.annotations])


def _builder_options(parser: argparse.ArgumentParser, specs: Sequence[tuple[str, BuilderSpec]]) -> None:
    """The options the builders of ``specs`` (benchmark name, builder) declare
    (:class:`~pixbench.benchmarks.base.BuildOption`), each once: under the builder's argument group when one
    builder declares it and that builder names a group; an option several builders declare goes with the
    options of every builder, its help naming each builder's use (``mocentric: ...; mevis: ...``) unless
    they read the same."""
    declared: dict[str, list[tuple[str, BuilderSpec, Any]]] = {}
    for name, spec in specs:
        for option in spec.options:
            declared.setdefault(option.dest, []).append((name, spec, option))
    groups: dict[str, Any] = {}
    for uses in declared.values():
        _, spec, option = uses[0]
        helps = list(dict.fromkeys(o.help for _, _, o in uses))
        text = helps[0] if len(helps) == 1 else "; ".join(f"{name}: {o.help}" for name, _, o in uses)
        if len(uses) == 1 and spec.group:
            if spec.group not in groups:
                groups[spec.group] = parser.add_argument_group(spec.group)
            target = groups[spec.group]
        else:
            target = parser
        extra: dict[str, Any] = {"metavar": option.metavar} if option.metavar else {}
        if option.default is not None:
            extra["default"] = option.default
        target.add_argument(*option.flags, dest=option.dest, action=option.action, help=text, **extra)


def _push_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("folder", metavar="OUT_DIR")
    parser.add_argument("--repo-id", required=True, help="e.g. IVUlab/PixMMVP")
    parser.add_argument("--private", action="store_true", help="create the repo as private")
    parser.add_argument("--dry-run", action="store_true", help="list what would be uploaded, upload nothing")


def _show_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dataset", metavar="DATASET_DIR", help="a built folder (or hub id)")
    parser.add_argument("--ids", help="comma-separated row ids (default: the first --limit rows)")
    parser.add_argument("--limit", type=int, default=16, help="rows to draw when --ids is not given")
    parser.add_argument("--out", required=True, metavar="DIR")


def configure(subparsers: Subparsers) -> None:
    """Add ``build``, ``check-annotations``, ``push`` and ``show`` to the ``pixbench`` commands."""
    add_command(subparsers, "build", cmd_build, _build_arguments,
                help="build a benchmark's hub folder from its raw inputs (annotations, images, MeViS)",
                description="Read, link and check the raw inputs, then write README.md (dataset "
                            "card), build_summary.json and data/test-*.parquet. Each benchmark reads its own "
                            "inputs: an annotation folder (--annotations) where it has one, and the options its "
                            "builder declares (named after it below). Nothing is written if any check fails. "
                            "OUT_DIR must be new, empty or an earlier build of the same benchmark (exit 2 "
                            "otherwise; --force to replace).")
    add_command(subparsers, "check-annotations", cmd_check, _check_arguments,
                help="check an annotation folder (no images needed)",
                description="Counts, ids, polygon validity, RLE sanity and cross-file consistency; "
                            "exit 1 when any error is found. A benchmark without an annotation folder checks "
                            "the inputs its builder declares (below) without images or frames.")
    add_command(subparsers, "push", cmd_push, _push_arguments,
                help="upload a built folder to the Hugging Face hub",
                description="Create the dataset repo if needed and upload README.md and the parquet "
                            "shards in one commit, deleting stale shards. The token comes from "
                            "`huggingface-cli login` or HF_TOKEN.")
    add_command(subparsers, "show", cmd_show, _show_arguments,
                help="draw masks and polygons of image-benchmark rows over their images",
                description="Write <id>.png overlays and contact_sheet.png of a PixMMVP or PixCV-Bench build "
                            "for review. For MoCentric-Bench use `pixbench mocentric show` (one expression as "
                            "a probe presents it) and `pixbench mocentric ids` (its ids).")
