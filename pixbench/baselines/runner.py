"""Run attend-and-segment over a benchmark and write a predictions file (``pixbench baseline attend-segment``).

One line per (row, probe) of the model, as ``metrics.md`` section 2 says: ``vqa`` and ``segment`` lines
carry the ``response`` and ``candidates`` (three SAM masks per noun phrase, with phrase, character span,
first token, point and phrase-to-expression ``score``); ``letter`` lines carry the ``response`` only. A
``segment`` line for a row without an expression (PixMMVP's "None" questions) has no prompt to run: it
is written with no candidates and ``selected: "none"``. Rows without an expression get ``score`` 0.0.

Resuming
    Lines already in the output (or in shards left by an interrupted run) are skipped; a partial last
    line of a shard is ignored and redone. The settings of a run are stored beside the output in
    ``OUT.run.json``; resuming with different settings is refused (start over with ``overwrite``).
    Every local path there (model, SAM folder or checkpoint, data) is stored resolved (absolute), and
    hub ids as typed; the settings given on resume are resolved the same way, so ``tiny/sam`` and
    ``/abs/tiny/sam`` are one setting. A segment-anything checkpoint is identified by the sha256 of its
    content (``sam_checkpoint_sha256``; its resolved path is kept for information only): the same file
    moved elsewhere continues the run, another file under the same name does not.

    Run files of older versions (no ``run_format``) recorded the checkpoint by file name only. They are
    accepted when the SAM type and file name match the checkpoint given now (the content of the old one
    cannot be checked; a warning says so) and then rewritten with the checkpoint's hash, so later resumes
    are checked by content. Refusing them would force redoing a finished run's work over a gap in what
    was recorded, not over a difference that is known.

Determinism
    Each (row, probe) seeds torch with a value derived from (seed, benchmark, id, probe), so a row's
    output does not depend on which process ran it or on what ran before. The final file is sorted
    (model, benchmark, dataset order, probe order ``vqa, segment, letter``), so a run split across
    processes gives the same file as one process.

Data parallel
    Under ``accelerate launch`` (or ``torchrun``), process ``r`` of ``n`` takes every ``n``-th row still
    to do, starting at ``r``, and appends its lines to ``OUT.shard-r-of-n.jsonl``, flushing each line.
    After a barrier the main process merges the output and all shards into ``OUT`` (written to a
    temporary file and renamed), deletes the shards, checks the file against the dataset, and then runs
    the automatic selection if asked (judge calls are made by the main process only).
"""

from __future__ import annotations

import hashlib
import logging
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pixbench.baselines.attention import GenerationSettings, VisionLanguageAdapter
from pixbench.baselines.autoselect import AutoSelection, SelectionRequest, auto_select
from pixbench.baselines.phrases import PhraseTools
from pixbench.baselines.pipeline import attend_and_segment
from pixbench.baselines.sam import PointSegmenter
from pixbench.benchmarks import get_image_benchmark
from pixbench.judge import Judge
from pixbench.predictions import BENCHMARKS, PROBES, Prediction, prediction_to_json, read_predictions
from pixbench.prompts import FAMILIES, UnknownTemplateError, get_template, render_prompt
from pixbench.runs import (
    RUN_FORMAT,
    LineKey,
    LineWriter,
    RunError,
    exclusive_output,
    existing_keys,
    merge_shards,
    output_lines,
    rewrite_output,
    run_file,
    shard_path,
    shards_of,
    start_run,
)

__all__ = [
    "RUN_FORMAT",
    "DistributedContext",
    "RowPlan",
    "RunConfig",
    "RunSummary",
    "SelectSummary",
    "distributed_context",
    "file_sha256",
    "merge_outputs",
    "plan_rows",
    "process_rows",
    "resolve_path",
    "run_attend_segment",
    "select_in_file",
]

logger = logging.getLogger(__name__)

MASK_PROBES = ("vqa", "segment")
SELECT_CHUNK = 16
#: Settings stored in ``OUT.run.json`` for information only (not compared on resume).
INFORMATION_ONLY = frozenset({"sam_checkpoint"})
HASH_CHUNK = 1 << 20


# ------------------------------------------------------------------------------------ configuration


def resolve_path(name_or_path: str) -> str:
    """An existing local file or folder as an absolute, resolved path (``~`` expanded); anything else
    (a hub id such as ``facebook/sam-vit-huge``) as typed."""
    path = Path(name_or_path).expanduser()
    return str(path.resolve()) if path.exists() else name_or_path


def file_sha256(path: str | Path) -> str:
    """The sha256 of a file's content (hex), read in 1 MiB chunks (a 2.5 GB SAM checkpoint takes seconds)."""
    digest = hashlib.sha256()
    buffer = bytearray(HASH_CHUNK)
    view = memoryview(buffer)
    with open(path, "rb", buffering=0) as handle:
        while size := handle.readinto(buffer):
            digest.update(view[:size])
    return digest.hexdigest()


@dataclass(frozen=True)
class RunConfig:
    """What one run does. ``model_name`` is written in every line's ``model`` field.

    SAM is recorded from ``sam_checkpoint`` + ``sam_type`` (segment-anything) or ``sam_model``
    (transformers) when given, else by ``segmenter_name`` (an injected segmenter).
    """

    benchmark: str
    data: str
    out: Path
    model_name: str
    model_path: str
    probes: tuple[str, ...] = ("segment",)
    dataset_config: str | None = None
    segmenter_name: str = ""
    phrases_name: str = ""
    settings: GenerationSettings = field(default_factory=GenerationSettings)
    seed: int = 0
    ids: tuple[int, ...] | None = None
    limit: int | None = None
    overwrite: bool = False
    progress: bool = True
    template: str | None = None
    family: str = "vanilla"
    sam_checkpoint: str | None = None
    sam_type: str = "vit_h"
    sam_model: str | None = None

    def __post_init__(self) -> None:
        if self.benchmark not in BENCHMARKS:
            raise ValueError(f"Expected benchmark to be one of {list(BENCHMARKS)}, but got {self.benchmark!r}")
        unknown = [p for p in self.probes if p not in PROBES]
        if unknown or not self.probes:
            raise ValueError(f"Expected probes among {list(PROBES)}, but got {list(self.probes)}")
        if not self.model_name:
            raise ValueError("Expected a non-empty model name")
        if self.template is not None:
            get_template(self.template)  # UnknownTemplateError (a ValueError) listing the valid ids
        if self.family not in FAMILIES:
            raise UnknownTemplateError(f"unknown model family {self.family!r}; valid families: {', '.join(FAMILIES)}")
        if self.sam_checkpoint is not None and self.sam_model is not None:
            raise ValueError("Expected one of sam_checkpoint and sam_model, not both")

    def fingerprint(self) -> dict[str, Any]:
        """The settings that must match for a resumed run to continue the same output (local paths
        resolved, the SAM checkpoint hashed; ``sam_checkpoint`` itself is for information only)."""
        segmenter, checkpoint, digest = self.segmenter_name, None, None
        if self.sam_checkpoint is not None:
            checkpoint = resolve_path(self.sam_checkpoint)
            if not Path(checkpoint).is_file():
                raise RunError(f"SAM checkpoint {self.sam_checkpoint}: no such file")
            segmenter, digest = f"segment-anything:{self.sam_type}", file_sha256(checkpoint)
        elif self.sam_model is not None:
            segmenter = f"transformers:{resolve_path(self.sam_model)}"
        return {"benchmark": self.benchmark, "data": resolve_path(self.data), "dataset_config": self.dataset_config,
                "model": self.model_name, "model_path": resolve_path(self.model_path), "segmenter": segmenter,
                "sam_checkpoint_sha256": digest, "sam_checkpoint": checkpoint, "phrases": self.phrases_name,
                "generation": asdict(self.settings), "seed": self.seed, "template": self.template,
                "family": self.family}

    def prompt(self, row: Mapping[str, Any], probe: str) -> str | None:
        """The prompt of ``probe`` for ``row``: the run's template where it fits the probe (a question
        template for vqa/letter, a grounding one for segment), else the published prompt of ``family``;
        ``None`` for ``segment`` on a row without an expression."""
        if probe == "segment" and not row.get("expression"):
            return None
        template = self.template
        if template is not None and (get_template(template).kind == "question") != (probe != "segment"):
            template = None
        return render_prompt(row, probe=probe, benchmark=get_image_benchmark(self.benchmark), template=template,
                             family=self.family)

    @property
    def needs_masks(self) -> bool:
        return any(p in MASK_PROBES for p in self.probes)


@dataclass(frozen=True)
class DistributedContext:
    """This process's place in a data-parallel run (rank 0 of 1 when not launched in parallel)."""

    rank: int = 0
    world: int = 1
    device: str = "cpu"
    barrier: Callable[[], None] = field(default=lambda: None, repr=False)

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def distributed_context(device: str | None = None) -> DistributedContext:
    """The context of this process: from ``accelerate`` when launched with several processes
    (``WORLD_SIZE > 1``), else a single process on ``device`` (default: ``cuda`` when available)."""
    import torch

    world = int(os.environ.get("WORLD_SIZE", "1") or 1)
    if world <= 1:
        return DistributedContext(0, 1, device or ("cuda" if torch.cuda.is_available() else "cpu"))
    try:
        from accelerate import PartialState
    except ImportError as exc:
        raise ImportError('Data-parallel runs need `accelerate`: pip install "pixbench[baselines]"') from exc
    cpu = device == "cpu" or (device is None and not torch.cuda.is_available())
    state = PartialState(cpu=cpu)
    return DistributedContext(int(state.process_index), int(state.num_processes), str(state.device),
                              state.wait_for_everyone)


# ------------------------------------------------------------------------------------ output files


def _legacy_settings(stored: Mapping[str, Any], wanted: Mapping[str, Any], path: Path) -> dict[str, Any]:
    """Settings of a run file without ``run_format`` (older versions) in today's terms (module docstring).

    Their SAM entry was ``segment-anything:TYPE:FILE_NAME`` (no hash) or ``transformers:AS_TYPED``.
    """
    upgraded = {"sam_checkpoint_sha256": None, **stored}
    kind, _, rest = str(stored.get("segmenter") or "").partition(":")
    if kind == "segment-anything" and "sam_checkpoint_sha256" not in stored:
        sam_type, _, file_name = rest.partition(":")
        upgraded["segmenter"] = f"segment-anything:{sam_type}"
        given = wanted.get("sam_checkpoint")
        if upgraded["segmenter"] == wanted.get("segmenter") and given and Path(given).name == file_name:
            logger.warning("%s: written by an older pixbench that recorded the SAM checkpoint by file name only "
                           "(%s), so its content cannot be checked; continuing with %s (sha256 %s), recorded by "
                           "content from now on", path, file_name, given, wanted.get("sam_checkpoint_sha256"))
            upgraded["sam_checkpoint_sha256"] = wanted.get("sam_checkpoint_sha256")
        else:
            upgraded["sam_checkpoint_sha256"] = f"unknown (an older run file naming only {file_name!r})"
    elif kind == "transformers":
        upgraded["segmenter"] = f"transformers:{resolve_path(rest)}"
    for key in ("data", "model_path"):
        if isinstance(upgraded.get(key), str):
            upgraded[key] = resolve_path(upgraded[key])
    return upgraded


def _difference(key: str, stored: Mapping[str, Any], wanted: Mapping[str, Any]) -> str:
    text = f"{key}: {stored.get(key)!r} != {wanted.get(key)!r}"
    if key == "sam_checkpoint_sha256" and wanted.get(key) and stored.get("segmenter") == wanted.get("segmenter"):
        given = wanted.get("sam_checkpoint")
        if stored.get("sam_checkpoint"):
            text += (f" (--sam-checkpoint {given} has other content than {stored['sam_checkpoint']}, the checkpoint "
                     "this output was made with)")
        else:
            text += f" (this output was made with a checkpoint recorded by file name only, not {given})"
    return text


def _start(config: RunConfig) -> None:
    """The engine's start (:func:`pixbench.runs.start_run`): ``OUT`` and its record checked before any model
    loads; records of older versions upgraded by :func:`_legacy_settings`."""
    start_run(config.out, producer="attend-segment", model=config.model_name, benchmark=config.benchmark,
              settings=config.fingerprint(), hint="pass --overwrite to start over, or choose another --out",
              upgrade=_legacy_settings, information_only=INFORMATION_ONLY, explain=_difference)


def merge_outputs(out: Path, order: Mapping[tuple[str, int], int]) -> int:
    """Merge ``out`` and its shards into ``out`` (sorted, first line of a key wins); delete the shards.

    ``order`` maps (benchmark, id) to the row's position in the dataset. Returns the number of lines.
    """
    probe_rank = {p: k for k, p in enumerate(PROBES)}

    def sort_key(key: LineKey) -> tuple[Any, ...]:
        model, benchmark, row_id, probe, _variant, _layout = key
        return model, benchmark, order.get((benchmark, row_id), sys.maxsize), row_id, probe_rank.get(probe, 99)

    return merge_shards(out, sort_key)


# ------------------------------------------------------------------------------------ planning


@dataclass(frozen=True)
class RowPlan:
    """A dataset row still to do: its position in the dataset, its id, and the probes it lacks."""

    index: int
    id: int
    probes: tuple[str, ...]


def _parse_ids(ids: Sequence[int] | None, all_ids: Sequence[int]) -> set[int] | None:
    if ids is None:
        return None
    missing = sorted(set(ids) - set(all_ids))
    if missing:
        raise RunError(f"Expected ids of the dataset, but got {missing[:10]} which it does not have")
    return set(ids)


def plan_rows(config: RunConfig, all_ids: Sequence[int]) -> tuple[list[RowPlan], int]:
    """Rows still to do (in dataset order) and the number of (row, probe) lines already written."""
    wanted = _parse_ids(config.ids, all_ids)
    done = {key[:4] for key in existing_keys(config.out)}
    plans: list[RowPlan] = []
    skipped = 0
    considered = 0
    for index, row_id in enumerate(all_ids):
        if wanted is not None and row_id not in wanted:
            continue
        if config.limit is not None and considered >= config.limit:
            break
        considered += 1
        missing = tuple(p for p in config.probes if (config.model_name, config.benchmark, row_id, p) not in done)
        skipped += len(config.probes) - len(missing)
        if missing:
            plans.append(RowPlan(index, int(row_id), missing))
    return plans, skipped


def row_seed(seed: int, benchmark: str, row_id: int, probe: str) -> int:
    """A 31-bit seed for one (row, probe), independent of process and order."""
    digest = hashlib.sha256(f"{seed}:{benchmark}:{row_id}:{probe}".encode()).digest()
    return int.from_bytes(digest[:4], "little") & 0x7FFFFFFF


# ------------------------------------------------------------------------------------ processing


def process_rows(plans: Sequence[RowPlan], dataset: Any, config: RunConfig, *, adapter: VisionLanguageAdapter,
                 segmenter: PointSegmenter | None, phrases: PhraseTools | None, shard: Path,
                 desc: str = "attend-segment") -> int:
    """Run every planned (row, probe) and append its line to ``shard``; return the number of lines."""
    import torch
    from tqdm import tqdm

    with LineWriter(shard, drop_partial=True) as lines, \
            tqdm(total=len(plans), desc=desc, unit="row", file=sys.stderr, disable=not config.progress) as bar:
        for plan in plans:
            row = dataset[plan.index]
            image = row.get("image")
            if image is None:
                raise RunError(f"row {plan.id} has no image: {config.data} is an annotations-only build; "
                               "use a build with images")
            if (image.height, image.width) != (row["height"], row["width"]):
                raise RunError(f"row {plan.id}: image is {image.height}x{image.width}, the dataset says "
                               f"{row['height']}x{row['width']}")
            for probe in plan.probes:
                prediction = _predict(row, probe, config, adapter=adapter, segmenter=segmenter, phrases=phrases,
                                      torch_module=torch)
                lines.write(prediction_to_json(prediction))
            bar.update(1)
    return lines.written


def _predict(row: Mapping[str, Any], probe: str, config: RunConfig, *, adapter: VisionLanguageAdapter,
             segmenter: PointSegmenter | None, phrases: PhraseTools | None, torch_module: Any) -> Prediction:
    row_id = int(row["id"])
    prompt = config.prompt(row, probe)
    if prompt is None:  # segment probe, no expression: nothing to ask for
        return Prediction(benchmark=config.benchmark, id=row_id, probe=probe, model=config.model_name,
                          candidates=(), selected="none", variant=config.template)
    torch_module.manual_seed(row_seed(config.seed, config.benchmark, row_id, probe))
    masks = probe in MASK_PROBES
    result = attend_and_segment(adapter=adapter, segmenter=segmenter, phrases=phrases, image=row["image"],
                                prompt=prompt, expression=row.get("expression"), settings=config.settings,
                                masks=masks)
    return Prediction(benchmark=config.benchmark, id=row_id, probe=probe, model=config.model_name, prompt=prompt,
                      response=result.response, candidates=tuple(result.candidates()) if masks else None,
                      variant=config.template)


# ------------------------------------------------------------------------------------ selection


@dataclass
class SelectSummary:
    """Counts of automatic-selection outcomes by status, and the rows left without a selection."""

    counts: dict[str, int] = field(default_factory=dict)
    failed: list[tuple[int, str, str]] = field(default_factory=list)

    @property
    def errors(self) -> int:
        return self.counts.get("error", 0)


def select_in_file(out: Path, dataset: Any, *, benchmark: str, model: str, judge: Judge,
                   progress: bool = True, chunk: int = SELECT_CHUNK) -> SelectSummary:
    """Fill ``selected`` on the ``vqa``/``segment`` lines of ``model`` that lack it (rewrites ``out``).

    Rows are sent to the judge ``chunk`` at a time (bounding the images held in memory); lines that get
    no selection (undetermined reply, judge error) keep none and are listed in the summary.
    """
    objects = output_lines(out)
    index_of = {int(i): k for k, i in enumerate(dataset["id"])}
    todo = [obj for obj in objects
            if obj.get("model") == model and obj.get("benchmark") == benchmark and obj.get("probe") in MASK_PROBES
            and obj.get("selected") is None and obj.get("candidates") is not None]
    summary = SelectSummary()
    logger.info("automatic selection: %d line(s) to choose for", len(todo))
    for start in range(0, len(todo), chunk):
        batch = todo[start:start + chunk]
        requests = []
        for obj in batch:
            row = dataset[index_of[int(obj["id"])]]
            image = np.asarray(row["image"].convert("RGB"), dtype=np.uint8)
            requests.append(SelectionRequest(row.get("expression"), image, [c["mask"] for c in obj["candidates"]]))
        outcomes: list[AutoSelection] = auto_select(judge, requests, progress=progress)
        for obj, outcome in zip(batch, outcomes):
            summary.counts[outcome.status] = summary.counts.get(outcome.status, 0) + 1
            if outcome.selected is not None:
                obj["selected"] = outcome.selected
            else:
                summary.failed.append((int(obj["id"]), str(obj["probe"]), outcome.detail or outcome.status))
    if todo:
        rewrite_output(out, objects)
    return summary


# ------------------------------------------------------------------------------------ the whole run


@dataclass
class RunSummary:
    """What a run did (filled on every process; ``lines``/``problems``/``selection`` on the main one)."""

    planned_rows: int = 0
    my_rows: int = 0
    written: int = 0
    skipped: int = 0
    lines: int = 0
    problems: list[str] = field(default_factory=list)
    selection: SelectSummary | None = None


ModelLoader = Callable[[str], tuple[VisionLanguageAdapter, PointSegmenter | None, PhraseTools | None]]


def run_attend_segment(config: RunConfig, *, load_models: ModelLoader, context: DistributedContext | None = None,
                       judge: Judge | None = None, dataset: Any = None) -> RunSummary:
    """Plan, run this process's share, merge, check, and (main process, with ``judge``) select.

    ``load_models(device)`` is called only when this process has rows to do. ``dataset`` defaults to
    ``pixbench.load(config.data, config.dataset_config)``. The main process holds the lock on ``OUT``
    (:func:`~pixbench.runs.exclusive_output`) from before it reads it until the merge is checked.
    """
    context = context or DistributedContext()
    if dataset is None:
        from pixbench.loaders.hub import load

        dataset = load(config.data, config.dataset_config)
    config.out.parent.mkdir(parents=True, exist_ok=True)
    with exclusive_output(config.out) if context.is_main else nullcontext():
        return _run_attend_segment(config, load_models=load_models, context=context, judge=judge, dataset=dataset)


def _run_attend_segment(config: RunConfig, *, load_models: ModelLoader, context: DistributedContext,
                        judge: Judge | None, dataset: Any) -> RunSummary:
    if context.is_main:
        if config.overwrite:
            for path in [config.out, run_file(config.out), *shards_of(config.out)]:
                path.unlink(missing_ok=True)
        _start(config)
    context.barrier()
    all_ids = [int(i) for i in dataset["id"]]
    plans, skipped = plan_rows(config, all_ids)
    context.barrier()  # every process plans from the same files before any of them writes
    mine = list(plans[context.rank::context.world])
    summary = RunSummary(planned_rows=len(plans), my_rows=len(mine), skipped=skipped)
    logger.info("process %d/%d: %d row(s) to do of %d; %d line(s) already written", context.rank, context.world,
                len(mine), len(plans), skipped)
    if mine:
        adapter, segmenter, phrases = load_models(context.device)
        shard = shard_path(config.out, context.rank, context.world)
        desc = "attend-segment" if context.world == 1 else f"attend-segment [{context.rank}/{context.world}]"
        summary.written = process_rows(mine, dataset, config, adapter=adapter, segmenter=segmenter,
                                       phrases=phrases, shard=shard, desc=desc)
    context.barrier()
    if not context.is_main:
        return summary
    order = {(config.benchmark, row_id): k for k, row_id in enumerate(all_ids)}
    summary.lines = merge_outputs(config.out, order)
    sizes = {int(i): (int(h), int(w)) for i, h, w in zip(dataset["id"], dataset["height"], dataset["width"])}
    checked = read_predictions(config.out, index={config.benchmark: sizes})
    summary.problems = [str(p) for p in checked.problems]
    if judge is not None and not summary.problems:
        summary.selection = select_in_file(config.out, dataset, benchmark=config.benchmark, model=config.model_name,
                                           judge=judge, progress=config.progress)
    return summary
