"""Video object segmentation for the video grounding baselines (``mocentric.md`` section 7), numpy in and out.

Contract shared by every segmenter here: ``frames`` are the presented clip, ``H x W x 3`` uint8 RGB in
presented order (one size for the whole clip); the result is one ``H x W`` bool mask per frame, mask ``t``
for frame ``t``, the **union** over the objects. Boxes are ``(x1, y1, x2, y2)`` in frame pixels (x right,
y down, ``x1 <= x2``, ``y1 <= y2``).

- :class:`Sam2VideoSegmenter` wraps ``transformers``' ``Sam2VideoModel`` + ``Sam2VideoProcessor``
  (:meth:`~Sam2VideoSegmenter.from_pretrained`: a hub id such as ``facebook/sam2.1-hiera-large`` or a local
  folder). Every box seeds one object on ``init_frame``; the objects are propagated forward from
  ``init_frame`` to the last frame, then backward from ``init_frame`` to frame 0, as the published scripts
  do; each frame's mask is the OR over objects of ``logits > 0`` after the processor's
  ``post_process_masks`` (bilinear upsampling of the low-resolution logits to ``H x W``), taken in one pass
  over the objects, :data:`UNION_BATCH` objects upsampled at a time (so a frame holds at most
  ``UNION_BATCH x H x W`` floats whatever the number of objects). No boxes: all-empty masks, the model is
  not run. Time grows linearly with the objects (``transformers`` tracks each object on its own): the
  video baseline seeds at most :data:`~pixbench.baselines.boxes.MAX_BOXES_PER_REPLY` (100) per clip.
  **Point prompts** (:meth:`~Sam2VideoSegmenter.segment_points`, :class:`PointPropagator`): positive points
  per object on any frames (point tracks, ``{frame: {object: [(x, y), ...]}}`` in frame pixels). Objects
  are numbered 1, 2, ... in the order they first appear (frames ascending, then object keys as given).
  Prompt frames are taken in order: a frame's points are added (each object's points of that frame
  together) when forward tracking reaches it, it is segmented from them, and tracking goes on from it to
  the frame before the next prompt frame (the last one: to the last frame); then the objects are tracked
  backward from the **first** prompt frame to frame 0 (an object first prompted later is absent from the
  forward frames before its prompt frame, as lmms-eval's stage 2 tracks it). The mask is the union over
  objects as above. No points: empty masks, the model is not run.
- :class:`Sam3TrackerVideoSegmenter`: the same for SAM 3's tracker (``Sam3TrackerVideoModel``, e.g.
  ``facebook/sam3``) where the installed ``transformers`` has it.
- :class:`Sam3TextTracker`: SAM 3's text-prompted video segmentation (``Sam3VideoModel``): detection of the
  text on every frame plus tracking, from frame 0 forward; the mask is the union of the instances the
  processor's ``postprocess_outputs`` returns.

Memory (what a call holds; ``offload=True`` keeps all of it on the CPU while the model runs on ``device``):

- Frames: a random-access ``frames`` (a list, a ``[T, H, W, 3]`` array, any lazy sequence with ``len`` and
  ``[t]``) is read frame by frame when the model needs a frame (about once per frame, the initial frame
  twice) and nothing of it is kept. Any other iterable is read once and kept resized to the model's input
  (``S x S x 3`` uint8, ``S`` = 1024 for SAM 2, 1008 for SAM 3; normalised when the model reads it, which
  gives exactly the processor's pixel values), since the backward pass needs the frames again.
- Tracking state: SAM 2 keeps every tracked frame's memory in its session (``transformers`` also keeps the
  full-resolution mask logits of each frame and object). With ``trim_state=True`` (default) the segmenter
  drops the full-resolution logits once the frame's memory is encoded and keeps only the frames the model
  can still read (the ``max(num_maskmem, max_object_pointers_in_encoder)`` frames behind the current one,
  plus as many after the initial frame for the backward pass), so the state is bounded by the clip's
  length; the masks are identical to the untrimmed run. SAM 3's text tracker keeps its own state.
- Output: :meth:`Sam2VideoSegmenter.iter_segment` yields one mask at a time (nothing accumulates);
  ``segment`` returns the list (``T x H x W`` bools).

torch and transformers are imported inside functions (``pip install "pixbench[baselines]"``).
:func:`make_tiny_sam2_video` (and :func:`make_tiny_sam3_tracker_video`, :func:`make_tiny_sam3_video`)
write tiny random models for tests and benchmarks; their masks are arbitrary.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

__all__ = [
    "UNION_BATCH",
    "VIDEO_KINDS",
    "BoxPropagator",
    "PointPrompts",
    "PointPropagator",
    "Sam2VideoSegmenter",
    "Sam3TextTracker",
    "Sam3TrackerVideoSegmenter",
    "load_video_segmenter",
    "make_tiny_sam2_video",
    "make_tiny_sam3_tracker_video",
    "make_tiny_sam3_video",
    "sam3_video_classes",
    "tiny_sam2_video",
    "tiny_sam3_tracker_video",
    "tiny_sam3_video",
    "write_tiny_video_models",
]

logger = logging.getLogger(__name__)

INSTALL_HINT = 'pip install "pixbench[baselines]"'
#: ``kind`` of :func:`load_video_segmenter` -> ``config.json`` ``model_type`` of that checkpoint family.
VIDEO_KINDS: dict[str, str] = {"sam2": "sam2_video", "sam3-tracker": "sam3_tracker_video"}
#: Objects whose masks are upsampled to the frame at once when taking the union (bounds ``[batch, 1, H, W]``).
UNION_BATCH = 16
Box = tuple[float, float, float, float]
Point = tuple[float, float]
#: Point prompts: presented frame -> object key -> positive points ``(x, y)`` in frame pixels.
PointPrompts = Mapping[int, Mapping[str, Sequence[Point]]]


@runtime_checkable
class BoxPropagator(Protocol):
    """Box-prompted video segmentation: one union mask per frame."""

    name: str

    def segment(self, frames: Iterable[np.ndarray], *, init_frame: int,
                boxes: Sequence[Box]) -> list[np.ndarray]:
        """Bool ``[H, W]`` per frame, objects seeded by ``boxes`` on ``init_frame``."""
        ...


@runtime_checkable
class PointPropagator(Protocol):
    """Point-prompted video segmentation: one union mask per frame."""

    name: str

    def segment_points(self, frames: Iterable[np.ndarray], *, points: PointPrompts) -> list[np.ndarray]:
        """Bool ``[H, W]`` per frame, objects seeded by their points on the prompt frames."""
        ...


# ----------------------------------------------------------------------------------------------- helpers


def _import_torch() -> Any:
    try:
        import torch
    except ImportError as exc:
        raise ImportError(f"Video segmentation needs torch: {INSTALL_HINT}") from exc
    return torch


def _transformers() -> Any:
    try:
        import transformers
    except ImportError as exc:
        raise ImportError(f"Video segmentation needs transformers: {INSTALL_HINT}") from exc
    return transformers


def _torch_dtype(dtype: Any) -> Any:
    torch = _import_torch()
    if isinstance(dtype, torch.dtype):
        return dtype
    names = {"float32": torch.float32, "fp32": torch.float32, "bfloat16": torch.bfloat16, "bf16": torch.bfloat16,
             "float16": torch.float16, "fp16": torch.float16}
    if dtype not in names:
        raise ValueError(f"Expected dtype in {sorted(names)} or a torch.dtype, but got {dtype!r}")
    return names[dtype]


def _model_device_dtype(model: Any) -> tuple[Any, Any]:
    """Device and dtype of the model's first parameter (cpu / float32 for a model without any)."""
    torch = _import_torch()
    try:
        first = next(iter(model.parameters()))
    except (AttributeError, StopIteration, TypeError):
        return torch.device("cpu"), torch.float32
    return first.device, first.dtype


def _check_frame(frame: Any, index: int, size: tuple[int, int] | None) -> np.ndarray:
    frame = np.asarray(frame)
    if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
        raise ValueError(f"Expected frame {index} as uint8 [H, W, 3] RGB, but got {frame.dtype} {frame.shape}")
    if size is not None and frame.shape[:2] != size:
        raise ValueError(f"Expected frame {index} of the clip's size {size[0]}x{size[1]} (frame 0), "
                         f"but got {frame.shape[0]}x{frame.shape[1]}")
    return frame if frame.flags.writeable else frame.copy()


def _check_boxes(boxes: Sequence[Box]) -> list[list[float]]:
    out = []
    for k, box in enumerate(boxes):
        values = [float(v) for v in box]
        if len(values) != 4 or not all(math.isfinite(v) for v in values):
            raise ValueError(f"Expected box {k} as 4 finite numbers (x1, y1, x2, y2), but got {tuple(box)!r}")
        x1, y1, x2, y2 = values
        if x2 < x1 or y2 < y1:
            raise ValueError(f"Expected box {k} with x1 <= x2 and y1 <= y2, but got {tuple(values)!r}")
        out.append(values)
    return out


#: One prompt frame's inputs: ``(frame, [(object number, [[x, y], ...]), ...])``.
FramePoints = tuple[int, list[tuple[int, list[list[float]]]]]


def _check_points(points: PointPrompts) -> list[FramePoints]:
    """Prompt frames ascending, each with its objects' points; objects numbered from 1 in order of first
    appearance; frames without any point left out. ``ValueError`` names the frame and object of a bad point."""
    numbers: dict[str, int] = {}
    out: list[FramePoints] = []
    for frame in sorted(points):
        if isinstance(frame, bool) or not isinstance(frame, (int, np.integer)) or frame < 0:
            raise ValueError(f"Expected prompt frames as integers >= 0, but got {frame!r}")
        objects: list[tuple[int, list[list[float]]]] = []
        for key, object_points in points[frame].items():
            checked = []
            for k, point in enumerate(object_points):
                values = [float(v) for v in point]
                if len(values) != 2 or not all(math.isfinite(v) for v in values):
                    raise ValueError(f"Expected point {k} of object {key!r} on frame {frame} as 2 finite numbers "
                                     f"(x, y), but got {tuple(point)!r}")
                checked.append(values)
            if checked:
                objects.append((numbers.setdefault(str(key), len(numbers) + 1), checked))
        if objects:
            out.append((int(frame), objects))
    return out


def _is_random_access(frames: Any) -> bool:
    return hasattr(frames, "__getitem__") and hasattr(frames, "__len__")


class _FrameStore:
    """The session's ``processed_frames``: ``len()`` and ``[t]`` -> normalised ``[3, S, S]`` pixel values.

    A random-access source is read and preprocessed on each access (nothing kept); any other iterable is
    read once and kept as resized uint8 on ``storage_device``, normalised on access. Both paths give exactly
    the video processor's pixel values (its resize keeps uint8; rescale and normalise come after).
    """

    def __init__(self, frames: Iterable[np.ndarray], video_processor: Any, *, processing_device: Any,
                 storage_device: Any, dtype: Any) -> None:
        self.video_processor = video_processor
        self.processing_device = processing_device
        self.dtype = dtype
        self._source: Any = None
        self._resized: list[Any] = []
        self.size: tuple[int, int] | None = None
        if _is_random_access(frames):
            self._source = frames
            self._length = len(frames)  # type: ignore[arg-type]
            if self._length:
                self.size = _check_frame(frames[0], 0, None).shape[:2]  # type: ignore[index]
        else:
            for t, frame in enumerate(frames):
                frame = _check_frame(frame, t, self.size)
                self.size = frame.shape[:2]
                resized = self._process(frame[None], do_rescale=False, do_normalize=False)
                self._resized.append(resized.to(storage_device))
            self._length = len(self._resized)

    def _process(self, video: Any, **kwargs: Any) -> Any:
        out = self.video_processor(videos=video, device=self.processing_device, return_tensors="pt", **kwargs)
        return out["pixel_values_videos"][0][0]

    def __len__(self) -> int:
        return self._length

    def __contains__(self, index: object) -> bool:
        return isinstance(index, int) and 0 <= index < self._length

    def __getitem__(self, index: int) -> Any:
        if not 0 <= index < self._length:
            raise IndexError(f"Expected a frame index in [0, {self._length}), but got {index}")
        if self._source is not None:
            frame = _check_frame(self._source[index], index, self.size)
            pixels = self._process(frame[None])
        else:
            pixels = self._process(self._resized[index][None], do_resize=False)
        return pixels.to(dtype=self.dtype)

    def __setitem__(self, index: int, value: Any) -> None:
        raise TypeError("Frames of a pixbench video session are fixed; streaming new frames is not supported")


def _processing_order(num_frames: int, init_frame: int) -> list[int]:
    """SAM 2's order over the frames: ``init_frame`` .. last (forward), then ``init_frame - 1`` .. 0."""
    if not num_frames:
        return []
    return list(range(init_frame, num_frames)) + list(range(init_frame - 1, -1, -1))


def _count_frames(frames: Iterable[np.ndarray]) -> tuple[int, tuple[int, int]]:
    """Number of frames and their ``(H, W)`` without preprocessing (a random-access clip: frame 0 only)."""
    if _is_random_access(frames):
        count = len(frames)  # type: ignore[arg-type]
        size = _check_frame(frames[0], 0, None).shape[:2] if count else (0, 0)  # type: ignore[index]
        return count, (int(size[0]), int(size[1]))
    count, size_or_none = 0, None
    for t, frame in enumerate(frames):
        size_or_none = _check_frame(frame, t, size_or_none).shape[:2]
        count += 1
    return count, size_or_none or (0, 0)


# ------------------------------------------------------------------------------------ SAM 2 / SAM 3 tracker


class Sam2VideoSegmenter:
    """SAM 2 video propagation of boxes behind :class:`BoxPropagator` (see the module docstring).

    ``model`` and ``processor`` are a ``Sam2VideoModel`` and a ``Sam2VideoProcessor`` (or SAM 3's tracker
    pair, or test doubles with the same methods); the session runs on the model's device and dtype.
    ``offload=True`` keeps the frames, the vision-feature cache and the tracking state on the CPU
    (``video_storage_device`` / ``inference_state_device`` of the session, and the encoded memories moved
    after each frame). ``trim_state=False`` keeps every frame's state as ``transformers`` does.
    """

    family = "sam2"

    def __init__(self, model: Any, processor: Any, *, offload: bool = False, trim_state: bool = True,
                 name: str = "sam2-video") -> None:
        self.model = model
        self.processor = processor
        self.offload = offload
        self.trim_state = trim_state
        self.name = name

    @classmethod
    def _classes(cls) -> tuple[Any, Any]:
        try:
            from transformers import Sam2VideoModel, Sam2VideoProcessor
        except ImportError as exc:
            raise ImportError(f"SAM 2 video needs torch and transformers with Sam2VideoModel: {INSTALL_HINT}") \
                from exc
        return Sam2VideoModel, Sam2VideoProcessor

    @classmethod
    def from_pretrained(cls, name_or_path: str, *, device: str = "cpu", dtype: Any = "float32",
                        offload: bool = False, trim_state: bool = True) -> Sam2VideoSegmenter:
        """Load the model and processor from a hub id or a local folder onto ``device`` in ``dtype``
        (``"float32"``, ``"bfloat16"``, ``"float16"``)."""
        model_class, processor_class = cls._classes()
        torch_dtype = _torch_dtype(dtype)
        model = model_class.from_pretrained(name_or_path, dtype=torch_dtype).to(device).eval()
        processor = processor_class.from_pretrained(name_or_path)
        return cls(model, processor, offload=offload, trim_state=trim_state, name=f"{cls.family}:{name_or_path}")

    # -- the session ---------------------------------------------------------------------------------

    def _session(self, frames: Iterable[np.ndarray]) -> tuple[Any, _FrameStore]:
        torch = _import_torch()
        device, dtype = _model_device_dtype(self.model)
        state_device = torch.device("cpu") if self.offload else device
        store = _FrameStore(frames, self.processor.video_processor, processing_device=device,
                            storage_device=state_device, dtype=dtype)
        session = self.processor.init_video_session(
            video=None, inference_device=device, inference_state_device=state_device,
            video_storage_device=state_device, processing_device=device, dtype=dtype)
        session.processed_frames = store
        if store.size is not None:
            session.video_height, session.video_width = store.size
        return session, store

    def _memory_window(self) -> int | None:
        """Frames behind the current one the model can read (memories and object pointers)."""
        config = getattr(self.model, "config", None)
        num_maskmem = getattr(config, "num_maskmem", None)
        pointers = getattr(config, "max_object_pointers_in_encoder", None)
        if not isinstance(num_maskmem, int) or not isinstance(pointers, int):
            return None
        return max(num_maskmem, pointers)

    def _after_frame(self, session: Any, frame: int, reverse: bool, init_frame: int) -> None:
        """Drop what no later frame reads (``trim_state``) and move this frame's memories to the CPU
        (``offload``)."""
        outputs_per_obj = getattr(session, "output_dict_per_obj", None)
        if not outputs_per_obj:
            return
        window = self._memory_window() if self.trim_state else None
        state_device = session.inference_state_device
        for outputs in outputs_per_obj.values():
            for kind in ("cond_frame_outputs", "non_cond_frame_outputs"):
                current = outputs[kind].get(frame)
                if current is None:
                    continue
                if self.trim_state:
                    current.pop("high_res_masks", None)
                if self.offload:
                    for key in ("maskmem_features", "maskmem_pos_enc", "pred_masks"):
                        value = current.get(key)
                        if value is not None and hasattr(value, "to"):
                            current[key] = value.to(state_device)
            if window is None:
                continue
            if reverse:  # the next frame (frame - 1) reads frame .. frame - 1 + window
                keep = range(frame, frame + window)
                stale = [t for t in outputs["non_cond_frame_outputs"] if t not in keep]
            else:  # the next frame reads frame + 1 - window .. frame; the backward pass reads init .. init + window
                stale = [t for t in outputs["non_cond_frame_outputs"]
                         if t < frame + 1 - window and not init_frame <= t < init_frame + window]
            for t in stale:
                del outputs["non_cond_frame_outputs"][t]

    # -- segmentation ---------------------------------------------------------------------------------

    def iter_segment(self, frames: Iterable[np.ndarray], *, init_frame: int,
                     boxes: Sequence[Box]) -> Iterator[tuple[int, np.ndarray]]:
        """Yield ``(t, mask)`` once per frame in processing order (``init_frame`` .. last, then
        ``init_frame - 1`` .. 0); ``mask`` is bool ``[H, W]``, the union over the boxes' objects.

        Frames and boxes are checked before the model runs; without boxes the masks are empty and the
        model is not called.
        """
        checked = _check_boxes(boxes)
        if not checked:
            yield from self._empty(frames, init_frame)
            return
        torch = _import_torch()

        def add_boxes(session: Any) -> None:
            self.processor.add_inputs_to_inference_session(
                inference_session=session, frame_idx=init_frame, obj_ids=list(range(1, len(checked) + 1)),
                input_boxes=[checked])

        # torch's decorator enters inference mode around each step of the generator, not across its yields
        yield from torch.inference_mode()(self._propagate)(frames, [(init_frame, add_boxes)])

    def iter_segment_points(self, frames: Iterable[np.ndarray], *,
                            points: PointPrompts) -> Iterator[tuple[int, np.ndarray]]:
        """Yield ``(t, mask)`` in processing order; ``mask`` is bool ``[H, W]``, the union over the objects
        the points seed (module docstring): from each prompt frame forward to the frame before the next one
        (the last: to the end), then from the first prompt frame back to frame 0. The first prompt frame
        comes twice, from the forward and from the backward pass (which also holds the objects first
        prompted later): the later mask is the frame's.

        Points are checked before the model runs; without points the masks are empty and the model is not
        called. Every prompt frame must be a frame of the clip.
        """
        prompts = _check_points(points)
        if not prompts:
            yield from self._empty(frames, 0)
            return
        torch = _import_torch()

        def adder(frame: int, objects: list[tuple[int, list[list[float]]]]) -> Any:
            def add_points(session: Any) -> None:
                for number, object_points in objects:
                    self.processor.add_inputs_to_inference_session(
                        inference_session=session, frame_idx=frame, obj_ids=[number],
                        input_points=[[object_points]], input_labels=[[[1] * len(object_points)]])
            return add_points

        steps = [(frame, adder(frame, objects)) for frame, objects in prompts]
        yield from torch.inference_mode()(self._propagate)(frames, steps, again=True)

    def segment_points(self, frames: Iterable[np.ndarray], *, points: PointPrompts) -> list[np.ndarray]:
        """Bool ``[H, W]`` per frame in frame order: the objects seeded by ``points`` (point tracks) tracked
        from each prompt frame to the next, and backward from the first; the union over objects."""
        masks: dict[int, np.ndarray] = dict(self.iter_segment_points(frames, points=points))
        return [masks[t] for t in range(len(masks))]

    @staticmethod
    def _empty(frames: Iterable[np.ndarray], init_frame: int) -> Iterator[tuple[int, np.ndarray]]:
        """All-empty masks in processing order, without the model."""
        count, size = _count_frames(frames)
        if count and not 0 <= init_frame < count:
            raise ValueError(f"Expected init_frame in [0, {count}), but got {init_frame}")
        for t in _processing_order(count, init_frame):
            yield t, np.zeros(size, dtype=bool)

    def _propagate(self, frames: Iterable[np.ndarray], steps: Sequence[tuple[int, Any]], *,
                   again: bool = False) -> Iterator[tuple[int, np.ndarray]]:
        """Run the session: for each ``(frame, add_inputs)`` step (frames ascending), add the inputs and track
        forward to the frame before the next step's (the last: to the end); then backward from the first
        step's frame to 0 (yielding that frame again only when ``again``)."""
        session, store = self._session(frames)
        count = len(store)
        bad = next((frame for frame, _ in steps if not 0 <= frame < count), None)
        if bad is not None:
            what = "init_frame" if len(steps) == 1 and not again else "prompt frames"
            raise ValueError(f"Expected {what} in [0, {count}), but got {bad}")
        height, width = store.size or (0, 0)
        init_frame = steps[0][0]
        for k, (frame, add_inputs) in enumerate(steps):
            add_inputs(session)
            limit = {"max_frame_num_to_track": steps[k + 1][0] - frame - 1} if k + 1 < len(steps) else {}
            for output in self.model.propagate_in_video_iterator(session, start_frame_idx=frame, **limit):
                current = int(output.frame_idx)
                self._after_frame(session, current, False, init_frame)
                yield current, self._union(output.pred_masks, height, width)
        for output in self.model.propagate_in_video_iterator(session, start_frame_idx=init_frame, reverse=True):
            current = int(output.frame_idx)
            self._after_frame(session, current, True, init_frame)
            if current == init_frame and not again:
                continue  # already yielded by the forward pass (the same cached masks)
            yield current, self._union(output.pred_masks, height, width)

    def _union(self, pred_masks: Any, height: int, width: int) -> np.ndarray:
        """OR over objects of the processor's thresholded, upsampled masks: bool ``[H, W]``, in one pass,
        :data:`UNION_BATCH` objects at a time."""
        torch = _import_torch()
        union = torch.zeros((height, width), dtype=torch.bool, device=pred_masks.device)
        for start in range(0, pred_masks.shape[0], UNION_BATCH):
            masks = self.processor.post_process_masks([pred_masks[start:start + UNION_BATCH]],
                                                      original_sizes=[[height, width]], binarize=True)[0]
            union |= masks.reshape(-1, height, width).any(dim=0).to(union.device)
        return np.asarray(union.cpu().numpy(), dtype=bool)

    def segment(self, frames: Iterable[np.ndarray], *, init_frame: int,
                boxes: Sequence[Box]) -> list[np.ndarray]:
        """Bool ``[H, W]`` per frame in frame order: every box seeds one object on ``init_frame``, propagated
        forward to the last frame and backward to frame 0; the union over objects (all empty without
        boxes, without running the model)."""
        masks: dict[int, np.ndarray] = dict(self.iter_segment(frames, init_frame=init_frame, boxes=boxes))
        return [masks[t] for t in range(len(masks))]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, offload={self.offload})"


class Sam3TrackerVideoSegmenter(Sam2VideoSegmenter):
    """SAM 3's tracker (``Sam3TrackerVideoModel`` + ``Sam3TrackerVideoProcessor``, e.g. ``facebook/sam3``)
    through the SAM 2 video interface of :class:`Sam2VideoSegmenter`."""

    family = "sam3-tracker"

    def __init__(self, model: Any, processor: Any, *, offload: bool = False, trim_state: bool = True,
                 name: str = "sam3-tracker-video") -> None:
        super().__init__(model, processor, offload=offload, trim_state=trim_state, name=name)

    @classmethod
    def _classes(cls) -> tuple[Any, Any]:
        transformers = _transformers()
        if not hasattr(transformers, "Sam3TrackerVideoModel"):
            raise ImportError(f"The installed transformers {transformers.__version__} has no SAM 3 tracker "
                              "(Sam3TrackerVideoModel); SAM 3 needs transformers >= 5: "
                              'pip install -U "transformers>=5"')
        return transformers.Sam3TrackerVideoModel, transformers.Sam3TrackerVideoProcessor


def load_video_segmenter(name_or_path: str, *, kind: str | None = None, device: str = "cpu",
                         dtype: Any = "float32", offload: bool = False) -> Sam2VideoSegmenter:
    """A box propagator from a hub id or folder: ``kind`` ``"sam2"`` or ``"sam3-tracker"``, or ``None`` to
    read it from the checkpoint's ``config.json`` (``sam2_video``; ``sam3_tracker_video`` or ``sam3_video``
    for SAM 3's tracker)."""
    if kind is None:
        try:
            from transformers import AutoConfig
        except ImportError as exc:
            raise ImportError(f"Video segmenters need transformers: {INSTALL_HINT}") from exc
        model_type = AutoConfig.from_pretrained(name_or_path).model_type
        kind = {"sam2_video": "sam2", "sam3_tracker_video": "sam3-tracker",
                "sam3_video": "sam3-tracker"}.get(model_type)
        if kind is None:
            raise ValueError(f"Expected a SAM 2 video or SAM 3 checkpoint at {name_or_path} (config model_type in "
                             f"{sorted(VIDEO_KINDS.values())}), but got model_type {model_type!r}")
    classes: dict[str, type[Sam2VideoSegmenter]] = {"sam2": Sam2VideoSegmenter,
                                                      "sam3-tracker": Sam3TrackerVideoSegmenter}
    if kind not in classes:
        raise ValueError(f"Expected kind in {sorted(classes)}, but got {kind!r}")
    return classes[kind].from_pretrained(name_or_path, device=device, dtype=dtype, offload=offload)


# --------------------------------------------------------------------------------------- SAM 3 text tracker


def sam3_video_classes() -> tuple[Any, Any]:
    """``(Sam3VideoModel, Sam3VideoProcessor)`` of the installed transformers; ImportError with the upgrade hint
    when it has none."""
    transformers = _transformers()
    if not hasattr(transformers, "Sam3VideoModel"):
        raise ImportError(f"The installed transformers {transformers.__version__} has no SAM 3 video model "
                          "(Sam3VideoModel), so text-prompted tracking is unavailable; SAM 3 needs "
                          'transformers >= 5: pip install -U "transformers>=5"')
    return transformers.Sam3VideoModel, transformers.Sam3VideoProcessor


class Sam3TextTracker:
    """SAM 3's text-prompted video segmentation (``Sam3VideoModel`` + ``Sam3VideoProcessor``).

    :meth:`segment_text` detects and tracks every instance of ``text`` from frame 0 to the last frame and
    returns the union of the instances per frame. ``offload`` keeps the frames and the session state on
    the CPU. Frames are read as in :class:`Sam2VideoSegmenter` (random access: on demand).
    """

    def __init__(self, model: Any, processor: Any, *, offload: bool = False, name: str = "sam3-video") -> None:
        sam3_video_classes()
        self.model = model
        self.processor = processor
        self.offload = offload
        self.name = name

    @classmethod
    def from_pretrained(cls, name_or_path: str, *, device: str = "cpu", dtype: Any = "float32",
                        offload: bool = False) -> Sam3TextTracker:
        """Load ``Sam3VideoModel`` and ``Sam3VideoProcessor`` (e.g. ``facebook/sam3``)."""
        model_class, processor_class = sam3_video_classes()
        model = model_class.from_pretrained(name_or_path, dtype=_torch_dtype(dtype)).to(device).eval()
        processor = processor_class.from_pretrained(name_or_path)
        return cls(model, processor, offload=offload, name=f"sam3-video:{name_or_path}")

    def segment_text(self, frames: Iterable[np.ndarray], text: str) -> list[np.ndarray]:
        """Bool ``[H, W]`` per frame: the union of the instances of ``text`` SAM 3 detects and tracks."""
        torch = _import_torch()
        if not isinstance(text, str) or not text.strip():
            raise ValueError(f"Expected a non-empty text prompt, but got {text!r}")
        device, dtype = _model_device_dtype(self.model)
        state_device = torch.device("cpu") if self.offload else device
        with torch.inference_mode():
            store = _FrameStore(frames, self.processor.video_processor, processing_device=device,
                                storage_device=state_device, dtype=dtype)
            count = len(store)
            if not count:
                return []
            height, width = store.size or (0, 0)
            session = self.processor.init_video_session(
                video=None, inference_device=device, inference_state_device=state_device,
                video_storage_device=state_device, processing_device=device, dtype=dtype)
            session.processed_frames = store
            session.video_height, session.video_width = height, width
            self.processor.add_text_prompt(inference_session=session, text=text)
            masks: dict[int, np.ndarray] = {}
            for output in self.model.propagate_in_video_iterator(inference_session=session, start_frame_idx=0):
                processed = self.processor.postprocess_outputs(session, output)
                instances = processed["masks"].reshape(-1, height, width)
                masks[int(output.frame_idx)] = np.asarray(instances.any(dim=0).cpu().numpy(), dtype=bool)
        empty = np.zeros((height, width), dtype=bool)
        return [masks.get(t, empty) for t in range(count)]

    def __repr__(self) -> str:
        return f"Sam3TextTracker({self.name!r}, offload={self.offload})"


# ------------------------------------------------------------------------------------------ tiny models


def _tiny_sam2_video_config(config_class: Any, image_size: int, num_maskmem: int, max_object_pointers: int,
                            vision_config: dict[str, Any]) -> Any:
    """Memory attention, memory encoder and SAM heads at 128 channels (the smallest ``transformers``
    accepts: its memory cross-attention reads 64-channel memories and splits 128-channel pointers)."""
    feature = image_size // 16
    return config_class(
        vision_config=vision_config,
        prompt_encoder_config={"hidden_size": 128, "image_size": image_size, "patch_size": 16,
                               "mask_input_channels": 4},
        mask_decoder_config={"hidden_size": 128, "mlp_dim": 64, "num_hidden_layers": 1, "num_attention_heads": 2,
                             "iou_head_depth": 1, "iou_head_hidden_dim": 16},
        image_size=image_size, num_maskmem=num_maskmem, max_object_pointers_in_encoder=max_object_pointers,
        memory_attention_hidden_size=128, memory_attention_num_layers=1,
        memory_attention_feed_forward_hidden_size=64, memory_attention_rope_feat_sizes=[feature, feature],
        memory_encoder_hidden_size=128, memory_encoder_output_channels=64, mask_downsampler_embed_dim=128,
        memory_fuser_num_layers=1, memory_fuser_embed_dim=128, memory_fuser_intermediate_dim=64)


def tiny_sam2_video(seed: int = 0, *, image_size: int = 64, num_maskmem: int = 7,
                    max_object_pointers: int = 16) -> tuple[Any, Any]:
    """A random ``Sam2VideoModel`` (Hiera with 5 blocks of 8..64 channels, 128-channel heads; input
    ``image_size`` px, a multiple of 32; 0.9 M parameters at 64 px) and its ``Sam2VideoProcessor``."""
    torch = _import_torch()
    from transformers import Sam2VideoConfig, Sam2VideoModel, Sam2VideoProcessor
    from transformers.models.sam2.image_processing_sam2 import Sam2ImageProcessor
    from transformers.models.sam2_video.video_processing_sam2_video import Sam2VideoVideoProcessor

    if image_size % 32:
        raise ValueError(f"Expected image_size a multiple of 32, but got {image_size}")
    sizes = [[image_size // s] * 2 for s in (4, 8, 16)]
    vision = {"model_type": "sam2_vision_model",
              "backbone_config": {"model_type": "sam2_hiera_det_model", "hidden_size": 8, "num_attention_heads": 1,
                                  "image_size": [image_size, image_size], "blocks_per_stage": [1, 1, 2, 1],
                                  "embed_dim_per_stage": [8, 16, 32, 64], "num_attention_heads_per_stage": [1, 1, 2, 2],
                                  "window_size_per_stage": [4, 4, 2, 2], "global_attention_blocks": [3],
                                  "window_positional_embedding_background_size": [2, 2], "mlp_ratio": 2.0},
              "backbone_channel_list": [64, 32, 16, 8], "backbone_feature_sizes": sizes, "fpn_hidden_size": 128}
    config = _tiny_sam2_video_config(Sam2VideoConfig, image_size, num_maskmem, max_object_pointers, vision)
    torch.manual_seed(seed)
    model = Sam2VideoModel(config).eval()
    size = {"height": image_size, "width": image_size}
    processor = Sam2VideoProcessor(
        image_processor=Sam2ImageProcessor(size=size, mask_size={"height": image_size // 4, "width": image_size // 4}),
        video_processor=Sam2VideoVideoProcessor(size=size))
    return model, processor


def _tiny_sam3_vision(image_size: int) -> dict[str, Any]:
    grid = image_size // 14
    return {"model_type": "sam3_vision_model",
            "backbone_config": {"model_type": "sam3_vit_model", "hidden_size": 32, "intermediate_size": 64,
                                "num_hidden_layers": 2, "num_attention_heads": 2, "image_size": image_size,
                                "patch_size": 14, "window_size": grid // 2, "global_attn_indexes": [1],
                                "pretrain_image_size": image_size},
            "fpn_hidden_size": 128, "backbone_feature_sizes": [[grid * 4] * 2, [grid * 2] * 2, [grid] * 2]}


def tiny_sam3_tracker_video(seed: int = 0, *, image_size: int = 112, num_maskmem: int = 7,
                            max_object_pointers: int = 16) -> tuple[Any, Any]:
    """A random ``Sam3TrackerVideoModel`` (2-layer ViT, 14 px patches, ``image_size`` a multiple of 112)
    and its ``Sam3TrackerVideoProcessor``; ``ImportError`` where ``transformers`` lacks SAM 3."""
    torch = _import_torch()
    Sam3TrackerVideoSegmenter._classes()
    from transformers import Sam3TrackerVideoConfig, Sam3TrackerVideoModel, Sam3TrackerVideoProcessor
    from transformers.models.sam2.image_processing_sam2 import Sam2ImageProcessor
    from transformers.models.sam2_video.video_processing_sam2_video import Sam2VideoVideoProcessor

    if image_size % 112:
        raise ValueError(f"Expected image_size a multiple of 112, but got {image_size}")
    config = _tiny_sam2_video_config(Sam3TrackerVideoConfig, image_size, num_maskmem, max_object_pointers,
                                     _tiny_sam3_vision(image_size))
    config.prompt_encoder_config.patch_size = 14
    config.memory_attention_rope_feat_sizes = [image_size // 14] * 2
    torch.manual_seed(seed)
    model = Sam3TrackerVideoModel(config).eval()
    size = {"height": image_size, "width": image_size}
    processor = Sam3TrackerVideoProcessor(
        image_processor=Sam2ImageProcessor(size=size, mask_size={"height": image_size // 4, "width": image_size // 4}),
        video_processor=Sam2VideoVideoProcessor(size=size))
    return model, processor


def tiny_sam3_video(seed: int = 0, *, image_size: int = 112) -> tuple[Any, Any]:
    """A random ``Sam3VideoModel`` (tiny detector with a 2-layer CLIP text encoder over
    :func:`pixbench.baselines.tiny.tiny_tokenizer`, and the tiny SAM 3 tracker) and its
    ``Sam3VideoProcessor``; ``ImportError`` where ``transformers`` lacks SAM 3."""
    torch = _import_torch()
    sam3_video_classes()
    from transformers import Sam3VideoConfig, Sam3VideoModel, Sam3VideoProcessor
    from transformers.models.sam2_video.video_processing_sam2_video import Sam2VideoVideoProcessor
    from transformers.models.sam3.image_processing_sam3 import Sam3ImageProcessor

    from pixbench.baselines.tiny import tiny_tokenizer

    tokenizer = tiny_tokenizer(("<unk>", "<|startoftext|>", "<|endoftext|>", "<pad>"), eos="<|endoftext|>",
                               pad="<pad>", bos="<|startoftext|>")
    tracker, _ = tiny_sam3_tracker_video(seed, image_size=image_size)
    detector = {
        "vision_config": _tiny_sam3_vision(image_size),
        "text_config": {"vocab_size": len(tokenizer), "hidden_size": 32, "intermediate_size": 64,
                        "projection_dim": 32, "num_hidden_layers": 2, "num_attention_heads": 2,
                        "max_position_embeddings": 32, "bos_token_id": tokenizer.bos_token_id,
                        "eos_token_id": tokenizer.eos_token_id, "pad_token_id": tokenizer.pad_token_id},
        "geometry_encoder_config": {"hidden_size": 128, "num_layers": 1, "num_attention_heads": 2,
                                    "intermediate_size": 64},
        "detr_encoder_config": {"hidden_size": 128, "num_layers": 1, "num_attention_heads": 2,
                                "intermediate_size": 64},
        "detr_decoder_config": {"hidden_size": 128, "num_layers": 1, "num_queries": 8, "num_attention_heads": 2,
                                "intermediate_size": 64},
        "mask_decoder_config": {"hidden_size": 128, "num_upsampling_stages": 2, "num_attention_heads": 2},
    }
    config = Sam3VideoConfig(detector_config=detector, tracker_config=tracker.config.to_dict(),
                             low_res_mask_size=image_size // 4, hotstart_delay=2, hotstart_unmatch_thresh=1,
                             hotstart_dup_thresh=1)
    torch.manual_seed(seed)
    model = Sam3VideoModel(config).eval()
    size = {"height": image_size, "width": image_size}
    processor = Sam3VideoProcessor(image_processor=Sam3ImageProcessor(size=size),
                                   video_processor=Sam2VideoVideoProcessor(size=size), tokenizer=tokenizer)
    return model, processor


def _save(pair: tuple[Any, Any], path: Path) -> Path:
    model, processor = pair
    path.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(path)
    processor.save_pretrained(path)
    return path


def make_tiny_sam2_video(path: Path, seed: int = 0, *, image_size: int = 64) -> Path:
    """Save :func:`tiny_sam2_video` (model + processor) to the folder ``path`` for ``from_pretrained``;
    return ``path``."""
    return _save(tiny_sam2_video(seed, image_size=image_size), Path(path))


def make_tiny_sam3_tracker_video(path: Path, seed: int = 0) -> Path:
    """Save :func:`tiny_sam3_tracker_video` to the folder ``path``; return ``path``."""
    return _save(tiny_sam3_tracker_video(seed), Path(path))


def make_tiny_sam3_video(path: Path, seed: int = 0) -> Path:
    """Save :func:`tiny_sam3_video` to the folder ``path``; return ``path``."""
    return _save(tiny_sam3_video(seed), Path(path))


def write_tiny_video_models(folder: Path, seed: int = 0) -> dict[str, Path]:
    """The tiny video models under ``folder`` (``sam2-video``, and ``sam3-tracker-video`` / ``sam3-video``
    where ``transformers`` has SAM 3), for ``pixbench baseline make-tiny``; return ``{name: path}``."""
    folder = Path(folder)
    paths = {"sam2-video": make_tiny_sam2_video(folder / "sam2-video", seed)}
    try:
        paths["sam3-tracker-video"] = make_tiny_sam3_tracker_video(folder / "sam3-tracker-video", seed)
        paths["sam3-video"] = make_tiny_sam3_video(folder / "sam3-video", seed)
    except ImportError as exc:
        logger.info("no tiny SAM 3 models: %s", exc)
    return paths
