"""Run a video grounding baseline over a video benchmark (MoCentric-Bench, MeViS) and write a predictions file.

``pixbench baseline video-ground`` (an MLLM boxes the referred object in one presented frame, or answers point
tracks over the clip, and SAM 2 propagates them through the presented clip) and ``pixbench baseline
text-track`` (SAM 3 segments and tracks the expression as a text prompt) share this runner; a *method*
(:class:`ClipMethod`) turns one presented clip into masks: :class:`BoxThenPropagate`,
:class:`PointsThenPropagate` and :class:`TextTrack`.

Benchmarks and their clips
    The benchmark is the build's (``build_summary.json``) or the one named (``VideoRunConfig.benchmark``).
    What it shows a model comes from the benchmark itself (:func:`clip_source`, a :class:`ClipSource`: its
    registry entry's ``clip_views()``): which
    probes take a layout (the first is the default), whether its expressions have a keyframe, whether one
    model's lines may answer several probes, and per (row, probe, layout) a :class:`ClipView` (the presented
    canvas size and length, the presented frames composed from the original ones, the presented keyframe, the
    axis along which a pair canvas's halves swap). MoCentric-Bench's clips are its probe views
    (:func:`~pixbench.benchmarks.mocentric.views.probe_view`: pair probes take a layout, the keyframe is
    ``k`` for ``original`` / ``static`` / ``static-pair`` and ``T - 1 - k`` for the reversed probes); MeViS's
    are the native frames (a line's probe is its version; no layout, no keyframe: ``init="keyframe"`` is
    refused; one version per run).

Units of work
    One unit per (probe, layout, expression of the probe's rows): ``rows_for(probe)`` of the benchmark's
    reference (a probe without rows in the build is an error). Probes that take layouts run under every
    requested layout, or their default. The original frames are streamed from the build's ``videos`` config
    one video at a time (:func:`pixbench.video.export.iter_videos`) and decoded on first use.

Flip merge (``flip_merge``, views with a ``mirror_axis``)
    The mirrored canvas is the presented one with its halves swapped along the view's axis; it is given as
    ``mirrored`` to :func:`~pixbench.baselines.box_models.initial_frame`, which maps its boxes back.

Lines
    One :class:`~pixbench.predictions.Prediction` per unit: ``frames`` one RLE per presented frame (``None``
    = empty), ``details`` the expression as sent, the normalisation, the presented keyframe and the method's
    record (boxes: the initial-frame search with every raw reply, the parsed boxes in frame pixels, the
    initial frame, the strategy, the mirrored answers; points: every question's frames and times, the raw
    reply, the format read, the parsed points, the dropped counts and errors, the prompt frames) and the
    error when nothing parsed anywhere (then every mask is empty). A unit whose model call got no reply
    (endpoint down after the retries) writes no line: a rerun retries it; :attr:`VideoRunSummary.failed`
    lists it.

Resuming, settings, determinism, data parallel
    As :mod:`pixbench.baselines.runner` (whose file helpers are reused): lines already in ``OUT`` or in
    shards of an interrupted run are skipped; the settings are stored in ``OUT.run.json`` and a resume
    with other settings is refused; each unit seeds torch from (seed, benchmark, id, probe, layout); under
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
from typing import Any, Literal, Protocol, cast

import numpy as np

from pixbench.annotation import rle as rle_ops
from pixbench.annotation.rle import Rle
from pixbench.baselines.box_models import INIT_STRATEGIES, BoxModel, InitStrategy, frame_order, initial_frame
from pixbench.baselines.point_models import (
    DEFAULT_MAX_FRAMES,
    DEFAULT_POINT_FPS,
    PointModel,
    PointQuestion,
    molmo_question,
    track_question,
)
from pixbench.baselines.point_tracks import POINT_FORMATS, PointFormat, PointTrackAnswer, point_prompts
from pixbench.baselines.runner import DistributedContext, file_sha256, resolve_path
from pixbench.benchmarks import REGISTRY, Benchmark, UnknownBenchmarkError, get_benchmark
from pixbench.builds.layout import BUILD_SUMMARY_FILE, summary_benchmark
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
    "NO_POINT_ANYWHERE",
    "BoxThenPropagate",
    "Clip",
    "ClipMethod",
    "ClipResult",
    "ClipSource",
    "ClipView",
    "PointsThenPropagate",
    "TextTrack",
    "Unit",
    "VideoRunConfig",
    "VideoRunSummary",
    "benchmark_of_build",
    "clip_source",
    "mirrored_canvas",
    "model_fingerprint",
    "normalise_expression",
    "plan_units",
    "run_video_baseline",
    "video_benchmarks",
]

logger = logging.getLogger(__name__)

#: The line's ``details["error"]`` when no question gave a point (the masks are then empty).
NO_POINT_ANYWHERE = "no parsable point anywhere"
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


# ------------------------------------------------------------------------------------ benchmarks' clips


class ClipView(Protocol):
    """One expression's presented clip as its benchmark shows it: ``length`` presented frames on a ``canvas``
    ``(height, width)``, composed by :meth:`compose` from the video's original frames; ``keyframe``: the
    presented position of the row's keyframe (None: the benchmark has none); ``mirror_axis``: the axis along
    which the canvas's two halves swap for a flip merge (``x``: side by side, ``y``: stacked; None: one
    picture)."""

    @property
    def length(self) -> int: ...

    @property
    def canvas(self) -> tuple[int, int]: ...

    @property
    def keyframe(self) -> int | None: ...

    @property
    def mirror_axis(self) -> Literal["x", "y"] | None: ...

    def compose(self, frames: Sequence[np.ndarray]) -> list[np.ndarray]: ...


class ClipSource(Protocol):
    """What a video benchmark gives the video baselines (module docstring): ``keyframes``: its expressions
    have a keyframe; ``exclusive_probes``: one model's lines answer one probe only (a run asks one);
    :meth:`layouts`: the layouts a probe takes, the default first (``()``: none); :meth:`view`: a row's clip
    under a probe and layout."""

    @property
    def keyframes(self) -> bool: ...

    @property
    def exclusive_probes(self) -> bool: ...

    def layouts(self, probe: str) -> tuple[str, ...]: ...

    def view(self, row: Any, probe: str, layout: str | None) -> ClipView: ...


def clip_source(benchmark: Benchmark) -> ClipSource | None:
    """``benchmark``'s clips for the video baselines (its :meth:`~pixbench.benchmarks.base.Benchmark.clip_views`);
    None for a benchmark without clips (an image one)."""
    return cast("ClipSource | None", benchmark.clip_views())


def video_benchmarks() -> dict[str, ClipSource]:
    """The registry's benchmarks the video baselines run on (those with clips), by name, in registry order."""
    found = {name: clip_source(benchmark) for name, benchmark in REGISTRY.items() if benchmark.kind == "video"}
    return {name: source for name, source in found.items() if source is not None}


def benchmark_of_build(folder: str | Path) -> str:
    """The benchmark a built folder holds (its ``build_summary.json``'s ``benchmark``); ``ValueError`` naming
    the file when it cannot be read."""
    try:
        name = summary_benchmark(folder)
    except ValueError as exc:
        raise ValueError(f"{Path(folder) / BUILD_SUMMARY_FILE}: cannot tell which benchmark the build holds "
                         f"({exc}); name it: --data BENCHMARK=PATH") from None
    if name not in REGISTRY:
        raise ValueError(f"{Path(folder) / BUILD_SUMMARY_FILE}: expected the benchmark of the build, one of "
                         f"{list(REGISTRY)}, but got {name!r}")
    return name


# ------------------------------------------------------------------------------------ clips and methods


@dataclass(frozen=True)
class Clip:
    """One presented clip: ``frames`` (uint8 ``[H, W, 3]`` canvases in presented order), the expression as
    sent, the presented keyframe (None: the benchmark has none), and for a flip merge the ``mirrored``
    canvases and their ``mirror_axis``."""

    id: str
    probe: str
    layout: str | None
    expression: str
    frames: Sequence[np.ndarray]
    keyframe: int | None
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


class PointsThenPropagate:
    """The point-prompt baseline: the model answers point tracks, ``segmenter.segment_points`` propagates them
    (:class:`~pixbench.baselines.video_segmenters.PointPropagator`: from each prompt frame to the next and
    backward from the first; union over objects).

    ``point_format="xml"``: one question (:func:`~pixbench.baselines.point_models.track_question`: frames at
    ``point_fps`` of a clip at ``fps``, at most ``max_frames``, with their times), whose timed points go on
    frames ``round(t * fps)``. ``"molmo"``: frames asked one at a time
    (:func:`~pixbench.baselines.point_models.molmo_question`) in
    :func:`~pixbench.baselines.box_models.frame_order` of ``init`` (``first`` or ``keyframe``), at most
    ``max_tries``, until one answer has a point; its points go on that frame. No point anywhere: empty masks,
    with :data:`NO_POINT_ANYWHERE` and the answers' first problem as the line's error when a reply did not
    read cleanly (a clean answer without any point is the model saying nothing matches: no error). A call
    that gets no reply: no line (``failed``). Mirrored frames (a flip merge) are not used.
    """

    def __init__(self, point_model: PointModel, segmenter: Any, *, point_format: PointFormat = "xml",
                 fps: float = 6.0, point_fps: float = DEFAULT_POINT_FPS, max_frames: int = DEFAULT_MAX_FRAMES,
                 init: InitStrategy = "first", max_tries: int | None = None) -> None:
        if point_format not in POINT_FORMATS:
            raise ValueError(f"Expected point_format to be one of {list(POINT_FORMATS)}, but got {point_format!r}")
        if init not in ("first", "keyframe"):
            raise ValueError(f"Expected init 'first' or 'keyframe' for point prompts, but got {init!r}")
        if max_tries is not None and max_tries < 1:
            raise ValueError(f"Expected max_tries >= 1 or None, but got {max_tries}")
        track_question("", num_frames=1, fps=fps, point_fps=point_fps, max_frames=max_frames)  # checks the rates
        self.point_model = point_model
        self.segmenter = segmenter
        self.point_format: PointFormat = point_format
        self.fps, self.point_fps, self.max_frames = float(fps), float(point_fps), max_frames
        self.init: InitStrategy = init
        self.max_tries = max_tries

    def _questions(self, clip: Clip) -> list[PointQuestion]:
        count = len(clip.frames)
        if self.point_format == "xml":
            return [track_question(clip.expression, num_frames=count, fps=self.fps, point_fps=self.point_fps,
                                   max_frames=self.max_frames)]
        order = frame_order(self.init, count, keyframe=clip.keyframe)
        return [molmo_question(clip.expression, index) for index in order[:self.max_tries]]

    def __call__(self, clip: Clip) -> ClipResult:
        asked: list[tuple[PointQuestion, PointTrackAnswer]] = []
        for question in self._questions(clip):
            answer = self.point_model.ask(clip.frames, question)
            asked.append((question, answer))
            if answer.call_failed or answer.found:
                break
        question, answer = asked[-1]
        details: dict[str, Any] = {
            "prompt": "points", "point_format": self.point_format,
            "attempts": [{"question": q.to_json(), "answer": a.to_json()} for q, a in asked]}
        if answer.call_failed:
            details["error"] = f"the point call failed: {answer.error}"
            return ClipResult(None, details, failed=details["error"])
        shown = question.frames[0] if question.times is None else None
        prompts = point_prompts(answer, fps=self.fps, num_frames=len(clip.frames), shown_frame=shown)
        problem = next((a.error for _, a in asked if a.error is not None), None)
        details.update({
            "prompt_frames": list(prompts), "prompt_objects": len({key for f in prompts.values() for key in f}),
            "prompt_points": sum(len(points) for f in prompts.values() for points in f.values()),
            "dropped": answer.dropped.to_json(),
            "error": None if prompts or problem is None else f"{NO_POINT_ANYWHERE}: {problem}"})
        if not prompts:
            return ClipResult(None, details)
        return ClipResult(self.segmenter.segment_points(clip.frames, points=prompts), details)


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
    as stamped in the run file (back end, model, box convention or point format, segmenter path and hash...),
    compared on resume. ``benchmark``: the registry name (None: the build's, :func:`benchmark_of_build`);
    ``layouts``: for the probes that take one (None: each probe's default). ``ValueError`` for a benchmark
    without clips, probes it does not have, layouts no asked probe takes, a keyframe start on expressions
    without keyframes, several probes of a benchmark whose lines answer one."""

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
    benchmark: str | None = None

    def __post_init__(self) -> None:
        name = self.benchmark if self.benchmark is not None else benchmark_of_build(self.data)
        try:
            benchmark = get_benchmark(name)
        except UnknownBenchmarkError as exc:
            raise ValueError(str(exc)) from None
        clips = clip_source(benchmark)
        if clips is None:
            raise ValueError(f"{benchmark.display_name} has no video clips: the video baselines run on "
                             f"{', '.join(video_benchmarks()) or 'none'}")
        object.__setattr__(self, "benchmark", name)
        unknown = [p for p in self.probes if p not in benchmark.probes]
        if unknown or not self.probes:
            raise ValueError(f"Expected {benchmark.display_name} probes among {list(benchmark.probes)}, but got "
                             f"{list(self.probes)}")
        if clips.exclusive_probes and len(set(self.probes)) > 1:
            raise ValueError(f"one model's {benchmark.display_name} lines answer one probe, but "
                             f"{list(dict.fromkeys(self.probes))} were asked: run each in its own run (its own "
                             "output and model name)")
        if self.layouts is not None:
            taking = [p for p in benchmark.probes if clips.layouts(p)]
            if not any(p in taking for p in self.probes):
                raise ValueError(f"Layouts apply to the pair probes {taking} (those that take a layout), none of "
                                 "which is asked")
            known = {lay for p in self.probes for lay in clips.layouts(p)}
            bad = [lay for lay in self.layouts if lay not in known]
            if bad or not self.layouts:
                raise ValueError(f"Expected layouts among {sorted(known)}, but got {list(self.layouts)}")
        if self.init is not None and self.init not in INIT_STRATEGIES:
            raise ValueError(f"Expected init to be one of {list(INIT_STRATEGIES)}, but got {self.init!r}")
        if self.init == "keyframe" and not clips.keyframes:
            raise ValueError(f"init 'keyframe' starts from each expression's keyframe, but {benchmark.display_name} "
                             "expressions have none: start from the first frame or the model's window instead")
        if self.max_expressions is not None and self.max_expressions < 1:
            raise ValueError(f"Expected max_expressions >= 1, but got {self.max_expressions}")
        if not self.model_name:
            raise ValueError("Expected a non-empty model name")

    @property
    def benchmark_name(self) -> str:
        """The registry name of the benchmark (resolved)."""
        assert self.benchmark is not None
        return self.benchmark

    @property
    def clips(self) -> ClipSource:
        """The benchmark's clips (:func:`clip_source`)."""
        source = clip_source(get_benchmark(self.benchmark_name))
        assert source is not None
        return source

    @property
    def normalisation(self) -> Normalisation:
        return "lowercase-collapse-whitespace" if self.lowercase_expressions else "none"

    def probe_layouts(self) -> list[tuple[str, str | None]]:
        """(probe, layout) pairs in run order: probes as given, each probe that takes layouts under every
        requested one it takes (or its default)."""
        clips = self.clips
        out: list[tuple[str, str | None]] = []
        for probe in dict.fromkeys(self.probes):
            layouts = clips.layouts(probe)
            if layouts:
                wanted = [lay for lay in dict.fromkeys(self.layouts or layouts[:1]) if lay in layouts]
                out.extend((probe, lay) for lay in wanted)
            else:
                out.append((probe, None))
        return out

    def fingerprint(self) -> dict[str, Any]:
        """The settings a resumed run must share with the output (module docstring)."""
        return {"benchmark": self.benchmark_name, "data": resolve_path(self.data), "model": self.model_name,
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
    """(every unit in final order, the units still to do, the number already written); :class:`RunError`
    when a probe has no rows in the build."""
    done = existing_keys(config.out)
    every: list[Unit] = []
    for probe, layout in config.probe_layouts():
        rows = list(reference.rows_for(probe).values())
        if not rows:
            raise RunError(f"{config.data}: the build holds no expressions of probe {probe!r}")
        if config.max_expressions is not None:
            rows = rows[:config.max_expressions]
        every.extend(Unit(len(every) + k, probe, layout, row.id, row.video_id) for k, row in enumerate(rows))
    todo = [u for u in every if _unit_key(config, u) not in done]
    return every, todo, len(every) - len(todo)


def unit_seed(seed: int, unit: Unit, benchmark: str) -> int:
    """A 31-bit seed for one unit, independent of process and order."""
    digest = hashlib.sha256(f"{seed}:{benchmark}:{unit.id}:{unit.probe}:{unit.layout}".encode()).digest()
    return int.from_bytes(digest[:4], "little") & 0x7FFFFFFF


def _unit_key(config: VideoRunConfig, unit: Unit) -> LineKey:
    """The :func:`~pixbench.runs.line_key` of the line ``unit`` writes."""
    return config.model_name, config.benchmark_name, unit.id, unit.probe, None, unit.layout


def merge_video_outputs(out: Path, order: Mapping[LineKey, int]) -> int:
    """Merge ``out`` and its shards into ``out`` sorted by ``order`` (first line of a key wins); delete the
    shards; return the number of lines."""
    return merge_shards(out, lambda key: (order.get(key, sys.maxsize), key[0], str(key[2])))


# ------------------------------------------------------------------------------------ one clip


def mirrored_canvas(canvas: np.ndarray, axis: Literal["x", "y"]) -> np.ndarray:
    """``canvas`` with its two halves swapped (``x``: left and right, ``y``: top and bottom)."""
    if axis == "x":
        half = canvas.shape[1] // 2
        return np.concatenate([canvas[:, half:], canvas[:, :half]], axis=1)
    half = canvas.shape[0] // 2
    return np.concatenate([canvas[half:], canvas[:half]], axis=0)


def _encode(masks: Sequence[np.ndarray] | None, view: ClipView) -> tuple[Rle | None, ...]:
    if masks is None:
        return (None,) * view.length
    if len(masks) != view.length:
        raise RunError(f"the segmenter returned {len(masks)} masks for {view.length} presented frames")
    out: list[Rle | None] = []
    for t, mask in enumerate(masks):
        mask = np.asarray(mask)
        if mask.shape != tuple(view.canvas):
            raise RunError(f"the segmenter returned a {mask.shape} mask at frame {t}, the canvas is {view.canvas}")
        out.append(rle_ops.encode(mask) if mask.any() else None)
    return tuple(out)


def _predict(unit: Unit, row: Any, frames: Sequence[np.ndarray], config: VideoRunConfig, clips: ClipSource,
             method: ClipMethod) -> tuple[Prediction | None, str | None]:
    import torch

    view = clips.view(row, unit.probe, unit.layout)
    presented = view.compose(frames)
    expression = normalise_expression(row.expression, lowercase=config.lowercase_expressions)
    mirrored: list[np.ndarray] | None = None
    axis = view.mirror_axis if config.flip_merge else None
    if axis is not None:
        mirrored = [mirrored_canvas(c, axis) for c in presented]
    keyframe = view.keyframe
    torch.manual_seed(unit_seed(config.seed, unit, config.benchmark_name))
    result = method(Clip(unit.id, unit.probe, unit.layout, expression, presented, keyframe, mirrored, axis))
    if result.failed is not None:
        return None, result.failed
    details = {"expression": expression, "expression_normalisation": config.normalisation,
               "presented_keyframe": keyframe, "init": config.init, "flip_merge": mirrored is not None,
               "mirror_axis": axis, **result.details}
    if result.masks is None:
        details["empty_masks"] = True
    prediction = Prediction(benchmark=config.benchmark_name, id=unit.id, probe=unit.probe, layout=unit.layout,
                            model=config.model_name, frames=_encode(result.masks, view), details=details)
    return prediction, None


def process_units(units: Sequence[Unit], reference: Any, config: VideoRunConfig, *, method: ClipMethod,
                  shard: Path, desc: str = "video-ground") -> tuple[int, list[tuple[str, str, str | None, str]]]:
    """Run ``units`` (streaming their videos one at a time) and append their lines to ``shard``; return the
    number written and the failed units ``(id, probe, layout, why)``."""
    from tqdm import tqdm

    from pixbench.video.export import FrameCache, iter_videos

    clips = config.clips
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
                prediction, why = _predict(unit, row, frames, config, clips, method)
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
    ``load_reference(config.benchmark, config.data)``. The main process holds the lock on ``OUT``
    (:func:`~pixbench.runs.exclusive_output`) from before it reads it until the merge is checked."""
    from pixbench.video.export import video_shards

    context = context or DistributedContext()
    if reference is None:
        from pixbench.references import load_reference

        reference = load_reference(config.benchmark_name, config.data)
    video_shards(Path(config.data))  # an annotations-only build fails here, before any work
    config.out.parent.mkdir(parents=True, exist_ok=True)
    with exclusive_output(config.out) if context.is_main else nullcontext():
        return _run_video_baseline(config, load_method=load_method, context=context, reference=reference, desc=desc)


def _run_video_baseline(config: VideoRunConfig, *, load_method: Callable[[str], ClipMethod],
                        context: DistributedContext, reference: Any, desc: str) -> VideoRunSummary:
    benchmark = config.benchmark_name
    if context.is_main:
        if config.overwrite:
            for path in [config.out, run_file(config.out), *shards_of(config.out)]:
                path.unlink(missing_ok=True)
        start_run(config.out, producer=desc, model=config.model_name, benchmark=benchmark,
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
    checked = read_predictions(config.out, index={benchmark: get_benchmark(benchmark).line_index(reference)})
    summary.problems = [str(p) for p in checked.problems]
    return summary
