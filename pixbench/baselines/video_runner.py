"""Run a video grounding baseline over MoCentric-Bench and write a predictions file.

``pixbench baseline video-ground`` (an MLLM boxes the referred object in one presented frame, SAM 2
propagates the boxes through the presented clip) and ``pixbench baseline text-track`` (SAM 3 segments and
tracks the expression as a text prompt) share this runner; a *method* (:class:`ClipMethod`) turns one
presented clip into masks: :class:`BoxThenPropagate` and :class:`TextTrack`.

Units of work
    One unit per (probe, layout, expression of the probe's set): the ``expressions`` rows for ``original``,
    ``static`` and ``static-pair``, the ``reversed`` rows for ``reversed`` and ``reversed-pair``
    (:meth:`~pixbench.benchmarks.mocentric.VideoReference.rows_for`). Layouts apply to pair probes (each
    pair probe is run under every requested layout, or its :data:`~pixbench.benchmarks.mocentric.views.DEFAULT_LAYOUT`);
    other probes take none. The presented clip is
    :meth:`~pixbench.benchmarks.mocentric.views.ProbeView.compose` over the original frames, which are streamed from
    the ``videos`` config one video at a time (:func:`pixbench.video.export.iter_videos`) and decoded
    on first use.

Keyframe
    ``--init keyframe`` starts from the presented position of the row's keyframe: ``k`` for ``original``,
    ``static-pair``; ``T - 1 - k`` for the reversed probes; for ``static`` (every frame is ``I_k``) ``k``.

Flip merge (pair probes, ``flip_merge``)
    The mirrored canvas is the presented one with its halves swapped (left/right for ``target-left`` and
    ``target-right``, top/bottom for ``target-bottom``), built from the same view; it is given as
    ``mirrored`` to :func:`~pixbench.baselines.box_models.initial_frame`, which maps its boxes back.

Lines
    One :class:`~pixbench.predictions.Prediction` per unit: ``frames`` one RLE per presented frame (``None``
    = empty), ``details`` the expression as sent, the normalisation, the presented keyframe, the
    initial-frame search (every raw reply, the parsed boxes in frame pixels, the initial frame, the
    strategy, the mirrored answers) and the error when no box parsed anywhere (then every mask is empty).
    A unit whose model call got no reply (endpoint down after the retries) writes no line: a rerun retries
    it; :attr:`VideoRunSummary.failed` lists it.

Resuming, settings, determinism, data parallel
    As :mod:`pixbench.baselines.runner` (whose file helpers are reused): lines already in ``OUT`` or in
    shards of an interrupted run are skipped; the settings are stored in ``OUT.run.json`` and a resume
    with other settings is refused; each unit seeds torch from (seed, id, probe, layout); under
    ``accelerate launch`` process ``r`` of ``n`` takes every ``n``-th unit still to do and the main process
    merges the shards into ``OUT`` sorted by (probe order, layout order, dataset order), so the merged file
    equals one process's.

Expression normalisation
    MeViS-style loaders lowercase the expression and collapse whitespace (``lowercase_expressions``); the
    published Sa2VA loader does not. The run file records which (``expression_normalisation``).
"""

from __future__ import annotations

import hashlib
import logging
import sys
from collections.abc import Callable, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np

from pixbench.annotation import rle as rle_ops
from pixbench.annotation.rle import Rle
from pixbench.baselines.box_models import INIT_STRATEGIES, BoxModel, InitStrategy, initial_frame
from pixbench.baselines.runner import DistributedContext, file_sha256, resolve_path
from pixbench.benchmarks.mocentric import MOCENTRIC
from pixbench.benchmarks.mocentric.views import LAYOUTS, PAIR_PROBES, PROBES, ProbeView, probe_view, resolve_layout
from pixbench.predictions import Prediction, prediction_to_json, read_predictions
from pixbench.runs import (
    LineKey,
    LineWriter,
    RunError,
    exclusive_output,
    existing_keys,
    merge_shards,
    run_file,
    shard_path,
    shards_of,
    start_run,
)

__all__ = [
    "BoxThenPropagate",
    "Clip",
    "ClipMethod",
    "ClipResult",
    "TextTrack",
    "Unit",
    "VideoRunConfig",
    "VideoRunSummary",
    "mirrored_canvas",
    "model_fingerprint",
    "normalise_expression",
    "plan_units",
    "presented_keyframe",
    "run_video_baseline",
]

logger = logging.getLogger(__name__)

#: The benchmark the video baselines run on (its registry name).
BENCHMARK = MOCENTRIC.name
Normalisation = Literal["none", "lowercase-collapse-whitespace"]


def normalise_expression(text: str, *, lowercase: bool) -> str:
    """The expression as sent: as stored, or lowercased with runs of whitespace collapsed to one space and
    the ends stripped (MeViS-style loaders).

    Examples:
        >>> normalise_expression("  The  Cat\\tjumps ", lowercase=True)
        'the cat jumps'
    """
    return " ".join(text.lower().split()) if lowercase else text


def model_fingerprint(name_or_path: str) -> dict[str, Any]:
    """A local model folder or file as its resolved path and the sha256 of its weights (``*.safetensors``,
    ``*.bin``, ``*.pth`` and ``*.pt`` files, hashed in name order, then hashed together); a hub id as typed."""
    resolved = resolve_path(name_or_path)
    path = Path(resolved)
    if path.is_file():
        return {"path": resolved, "sha256": file_sha256(path)}
    if path.is_dir():
        weights = sorted(p for p in path.iterdir() if p.suffix in (".safetensors", ".bin", ".pth", ".pt"))
        digest = hashlib.sha256()
        for weight in weights:
            digest.update(f"{weight.name}:{file_sha256(weight)}\n".encode())
        return {"path": resolved, "sha256": digest.hexdigest() if weights else None}
    return {"path": resolved, "sha256": None}


# ------------------------------------------------------------------------------------ clips and methods


@dataclass(frozen=True)
class Clip:
    """One presented clip: ``frames`` (uint8 ``[H, W, 3]`` canvases in presented order), the expression as
    sent, the presented keyframe, and for a flip merge the ``mirrored`` canvases and their ``mirror_axis``."""

    id: str
    probe: str
    layout: str | None
    expression: str
    frames: Sequence[np.ndarray]
    keyframe: int
    mirrored: Sequence[np.ndarray] | None = None
    mirror_axis: Literal["x", "y"] | None = None


@dataclass(frozen=True)
class ClipResult:
    """What a method made of a clip: bool ``[H, W]`` masks per presented frame (``None``: all empty),
    ``details`` for the line, and ``failed`` (why) when a model call got no reply (no line is written)."""

    masks: Sequence[np.ndarray] | None
    details: dict[str, Any] = field(default_factory=dict)
    failed: str | None = None


class ClipMethod(Protocol):
    """Turns one presented clip into masks."""

    def __call__(self, clip: Clip) -> ClipResult: ...


class BoxThenPropagate:
    """The video grounding baseline: :func:`~pixbench.baselines.box_models.initial_frame` with ``init``
    (flip merge when the clip carries mirrored frames), then ``segmenter.segment`` from the initial frame
    (forward, then backward; union over the boxes' objects). No box anywhere: empty masks."""

    def __init__(self, box_model: BoxModel, segmenter: Any, *, init: InitStrategy = "first",
                 max_tries: int | None = None) -> None:
        if init not in INIT_STRATEGIES:
            raise ValueError(f"Expected init to be one of {list(INIT_STRATEGIES)}, but got {init!r}")
        self.box_model = box_model
        self.segmenter = segmenter
        self.init: InitStrategy = init
        self.max_tries = max_tries

    def __call__(self, clip: Clip) -> ClipResult:
        found = initial_frame(self.init, self.box_model, clip.frames, clip.expression, keyframe=clip.keyframe,
                              mirrored=clip.mirrored, mirror_axis=clip.mirror_axis, max_tries=self.max_tries)
        details: dict[str, Any] = {"initial_frame": found.frame_index, "boxes": [b.as_list() for b in found.boxes],
                                   "error": found.error, "search": found.to_json()}
        if found.call_failed:
            return ClipResult(None, details, failed=found.error or "a model call failed")
        if not found.found:
            return ClipResult(None, details)
        boxes = [tuple(b.as_list()) for b in found.boxes]
        masks = self.segmenter.segment(clip.frames, init_frame=found.frame_index, boxes=boxes)
        return ClipResult(masks, details)


class TextTrack:
    """SAM 3's text-prompted video segmentation with the expression as the prompt (union of instances)."""

    def __init__(self, tracker: Any) -> None:
        self.tracker = tracker

    def __call__(self, clip: Clip) -> ClipResult:
        masks = self.tracker.segment_text(clip.frames, clip.expression)
        return ClipResult(masks, {"prompt": clip.expression, "segmenter": getattr(self.tracker, "name", None)})


# ------------------------------------------------------------------------------------ configuration


@dataclass(frozen=True)
class VideoRunConfig:
    """What one run does. ``model_name`` goes in every line's ``model``; ``method`` is the method's settings
    as stamped in the run file (back end, model, box convention, segmenter path and hash...), compared on
    resume. ``layouts``: for the pair probes (None: each probe's default)."""

    data: str
    out: Path
    model_name: str
    probes: tuple[str, ...]
    method: Mapping[str, Any]
    layouts: tuple[str, ...] | None = None
    init: InitStrategy | None = "first"
    flip_merge: bool = False
    lowercase_expressions: bool = False
    seed: int = 0
    max_expressions: int | None = None
    overwrite: bool = False
    progress: bool = True

    def __post_init__(self) -> None:
        unknown = [p for p in self.probes if p not in PROBES]
        if unknown or not self.probes:
            raise ValueError(f"Expected probes among {list(PROBES)}, but got {list(self.probes)}")
        if self.layouts is not None:
            bad = [lay for lay in self.layouts if lay not in LAYOUTS]
            if bad or not self.layouts:
                raise ValueError(f"Expected layouts among {list(LAYOUTS)}, but got {list(self.layouts)}")
            if not any(p in PAIR_PROBES for p in self.probes):
                raise ValueError(f"Layouts apply to the pair probes {sorted(PAIR_PROBES)}, none of which is asked")
        if self.init is not None and self.init not in INIT_STRATEGIES:
            raise ValueError(f"Expected init to be one of {list(INIT_STRATEGIES)}, but got {self.init!r}")
        if self.max_expressions is not None and self.max_expressions < 1:
            raise ValueError(f"Expected max_expressions >= 1, but got {self.max_expressions}")
        if not self.model_name:
            raise ValueError("Expected a non-empty model name")

    @property
    def normalisation(self) -> Normalisation:
        return "lowercase-collapse-whitespace" if self.lowercase_expressions else "none"

    def probe_layouts(self) -> list[tuple[str, str | None]]:
        """(probe, layout) pairs in run order: probes as given, each pair probe under every layout."""
        out: list[tuple[str, str | None]] = []
        for probe in dict.fromkeys(self.probes):
            if probe in PAIR_PROBES:
                out.extend((probe, lay) for lay in dict.fromkeys(self.layouts or (resolve_layout(probe, None),)))
            else:
                out.append((probe, None))
        return out

    def fingerprint(self) -> dict[str, Any]:
        """The settings a resumed run must share with the output (module docstring)."""
        return {"benchmark": BENCHMARK, "data": resolve_path(self.data), "model": self.model_name,
                "method": dict(self.method), "probes": [p for p, _ in self.probe_layouts()],
                "layouts": [lay for _, lay in self.probe_layouts()], "init": self.init, "flip_merge": self.flip_merge,
                "expression_normalisation": self.normalisation, "seed": self.seed,
                "max_expressions": self.max_expressions}


# ------------------------------------------------------------------------------------ planning


@dataclass(frozen=True)
class Unit:
    """One line to write: (probe, layout, expression id), its video, and its place in the final order."""

    order: int
    probe: str
    layout: str | None
    id: str
    video_id: str


def plan_units(config: VideoRunConfig, reference: Any) -> tuple[list[Unit], list[Unit], int]:
    """(every unit in final order, the units still to do, the number already written)."""
    done = existing_keys(config.out)
    every: list[Unit] = []
    for probe, layout in config.probe_layouts():
        rows = list(reference.rows_for(probe).values())
        if config.max_expressions is not None:
            rows = rows[:config.max_expressions]
        every.extend(Unit(len(every) + k, probe, layout, row.id, row.video_id) for k, row in enumerate(rows))
    todo = [u for u in every if _unit_key(config, u) not in done]
    return every, todo, len(every) - len(todo)


def unit_seed(seed: int, unit: Unit) -> int:
    """A 31-bit seed for one unit, independent of process and order."""
    digest = hashlib.sha256(f"{seed}:{BENCHMARK}:{unit.id}:{unit.probe}:{unit.layout}".encode()).digest()
    return int.from_bytes(digest[:4], "little") & 0x7FFFFFFF


def _unit_key(config: VideoRunConfig, unit: Unit) -> LineKey:
    """The :func:`~pixbench.runs.line_key` of the line ``unit`` writes."""
    return config.model_name, BENCHMARK, unit.id, unit.probe, None, unit.layout


def merge_video_outputs(out: Path, order: Mapping[LineKey, int]) -> int:
    """Merge ``out`` and its shards into ``out`` sorted by ``order`` (first line of a key wins); delete the
    shards; return the number of lines."""
    return merge_shards(out, lambda key: (order.get(key, sys.maxsize), key[0], str(key[2])))


# ------------------------------------------------------------------------------------ one clip


def presented_keyframe(view: ProbeView, keyframe: int) -> int:
    """The presented position of the original keyframe ``keyframe`` (module docstring)."""
    if view.probe == "static":
        return keyframe
    return view.target_frames.index(keyframe)


def mirrored_canvas(canvas: np.ndarray, axis: Literal["x", "y"]) -> np.ndarray:
    """``canvas`` with its two halves swapped (``x``: left and right, ``y``: top and bottom)."""
    if axis == "x":
        half = canvas.shape[1] // 2
        return np.concatenate([canvas[:, half:], canvas[:, :half]], axis=1)
    half = canvas.shape[0] // 2
    return np.concatenate([canvas[half:], canvas[:half]], axis=0)


def _encode(masks: Sequence[np.ndarray] | None, view: ProbeView) -> tuple[Rle | None, ...]:
    if masks is None:
        return (None,) * view.length
    if len(masks) != view.length:
        raise RunError(f"the segmenter returned {len(masks)} masks for {view.length} presented frames")
    out: list[Rle | None] = []
    for t, mask in enumerate(masks):
        mask = np.asarray(mask)
        if mask.shape != view.canvas:
            raise RunError(f"the segmenter returned a {mask.shape} mask at frame {t}, the canvas is {view.canvas}")
        out.append(rle_ops.encode(mask) if mask.any() else None)
    return tuple(out)


def _predict(unit: Unit, row: Any, frames: Sequence[np.ndarray], config: VideoRunConfig,
             method: ClipMethod) -> tuple[Prediction | None, str | None]:
    import torch

    view = probe_view(probe=unit.probe, layout=unit.layout, frame_names=row.frame_names, keyframe=row.keyframe,
                      height=row.height, width=row.width)
    presented = view.compose(frames)
    expression = normalise_expression(row.expression, lowercase=config.lowercase_expressions)
    mirrored: list[np.ndarray] | None = None
    axis: Literal["x", "y"] | None = None
    if config.flip_merge and unit.probe in PAIR_PROBES:
        axis = "y" if unit.layout == "target-bottom" else "x"
        mirrored = [mirrored_canvas(c, axis) for c in presented]
    keyframe = presented_keyframe(view, row.keyframe)
    torch.manual_seed(unit_seed(config.seed, unit))
    result = method(Clip(unit.id, unit.probe, unit.layout, expression, presented, keyframe, mirrored, axis))
    if result.failed is not None:
        return None, result.failed
    details = {"expression": expression, "expression_normalisation": config.normalisation,
               "presented_keyframe": keyframe, "init": config.init, "flip_merge": mirrored is not None,
               "mirror_axis": axis, **result.details}
    if result.masks is None:
        details["empty_masks"] = True
    prediction = Prediction(benchmark=BENCHMARK, id=unit.id, probe=unit.probe, layout=unit.layout,
                            model=config.model_name, frames=_encode(result.masks, view), details=details)
    return prediction, None


def process_units(units: Sequence[Unit], reference: Any, config: VideoRunConfig, *, method: ClipMethod,
                  shard: Path, desc: str = "video-ground") -> tuple[int, list[tuple[str, str, str | None, str]]]:
    """Run ``units`` (streaming their videos one at a time) and append their lines to ``shard``; return the
    number written and the failed units ``(id, probe, layout, why)``."""
    from tqdm import tqdm

    from pixbench.video.export import FrameCache, iter_videos

    by_video: dict[str, list[Unit]] = {}
    for unit in units:
        by_video.setdefault(unit.video_id, []).append(unit)
    failed: list[tuple[str, str, str | None, str]] = []
    seen_videos: set[str] = set()
    with LineWriter(shard, drop_partial=True) as lines, \
            tqdm(total=len(units), desc=desc, unit="clip", file=sys.stderr, disable=not config.progress) as bar:
        for video in iter_videos(Path(config.data), wanted=set(by_video)):
            seen_videos.add(video.video_id)
            frames = FrameCache(video)
            for unit in by_video[video.video_id]:
                row = reference.rows_for(unit.probe)[unit.id]
                prediction, why = _predict(unit, row, frames, config, method)
                if prediction is None:
                    logger.warning("id %s (%s %s): no line written: %s", unit.id, unit.probe, unit.layout or "", why)
                    failed.append((unit.id, unit.probe, unit.layout, str(why)))
                else:
                    lines.write(prediction_to_json(prediction))
                bar.update(1)
    missing = sorted(set(by_video) - seen_videos)
    if missing:
        raise RunError(f"{config.data}: video(s) {missing[:5]} have expressions but no frames in the videos config")
    return lines.written, failed


# ------------------------------------------------------------------------------------ the whole run


@dataclass
class VideoRunSummary:
    """What a run did (``lines`` / ``problems`` on the main process only)."""

    planned: int = 0
    mine: int = 0
    written: int = 0
    skipped: int = 0
    lines: int = 0
    failed: list[tuple[str, str, str | None, str]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def run_video_baseline(config: VideoRunConfig, *, load_method: Callable[[str], ClipMethod],
                       context: DistributedContext | None = None, reference: Any = None,
                       desc: str = "video-ground") -> VideoRunSummary:
    """Plan, run this process's share, merge and check (module docstring). ``load_method(device)`` is
    called only when this process has units to do; ``reference`` defaults to
    ``load_reference("mocentric", config.data)``. The main process holds the lock on ``OUT``
    (:func:`~pixbench.runs.exclusive_output`) from before it reads it until the merge is checked."""
    from pixbench.video.export import video_shards

    context = context or DistributedContext()
    if reference is None:
        from pixbench.references import load_reference

        reference = load_reference(BENCHMARK, config.data)
    video_shards(Path(config.data))  # an annotations-only build fails here, before any work
    config.out.parent.mkdir(parents=True, exist_ok=True)
    with exclusive_output(config.out) if context.is_main else nullcontext():
        return _run_video_baseline(config, load_method=load_method, context=context, reference=reference, desc=desc)


def _run_video_baseline(config: VideoRunConfig, *, load_method: Callable[[str], ClipMethod],
                        context: DistributedContext, reference: Any, desc: str) -> VideoRunSummary:
    if context.is_main:
        if config.overwrite:
            for path in [config.out, run_file(config.out), *shards_of(config.out)]:
                path.unlink(missing_ok=True)
        start_run(config.out, producer=desc, model=config.model_name, benchmark=BENCHMARK,
                  settings=config.fingerprint(), hint="pass --overwrite to start over, or choose another --out")
    context.barrier()
    every, todo, skipped = plan_units(config, reference)
    context.barrier()  # every process plans from the same files before any of them writes
    mine = todo[context.rank::context.world]
    summary = VideoRunSummary(planned=len(todo), mine=len(mine), skipped=skipped)
    logger.info("process %d/%d: %d clip(s) to do of %d; %d line(s) already written", context.rank, context.world,
                len(mine), len(todo), skipped)
    if mine:
        method = load_method(context.device)
        shard = shard_path(config.out, context.rank, context.world)
        label = desc if context.world == 1 else f"{desc} [{context.rank}/{context.world}]"
        summary.written, summary.failed = process_units(mine, reference, config, method=method, shard=shard,
                                                        desc=label)
    context.barrier()
    if not context.is_main:
        return summary
    order = {_unit_key(config, u): u.order for u in every}
    summary.lines = merge_video_outputs(config.out, order)
    checked = read_predictions(config.out, index={BENCHMARK: MOCENTRIC.line_index(reference)})
    summary.problems = [str(p) for p in checked.problems]
    return summary
