"""SAM prompted with one positive point per noun phrase (``baselines.md`` step 6), behind one interface.

A :class:`PointSegmenter` sets an image once (``H x W x 3`` uint8 RGB) and predicts, for ``N`` points
``(x, y)`` in pixels of that image, ``N x 3`` binary masks at the image's size in SAM's multimask order
(``multimask_output=True``), with SAM's predicted IoU for each.

- :class:`SegmentAnythingSegmenter` wraps ``segment_anything.SamPredictor`` (build it from a checkpoint
  with :meth:`SegmentAnythingSegmenter.from_checkpoint`: SAM's ``vit_h``/``vit_l``/``vit_b``, or the
  ``tiny`` test model of ``pixbench baseline make-tiny``; or inject any predictor). Points are mapped with
  the predictor's ``ResizeLongestSide`` transform and predicted in batches, as published.
- :class:`TransformersSamSegmenter` wraps ``transformers``' ``SamModel`` and ``SamProcessor`` (a hub id
  such as ``facebook/sam-vit-huge`` or a local folder, :meth:`TransformersSamSegmenter.from_pretrained`).

Both skip recomputing the image embedding when the same image (same bytes) is set again, so several
probes of one row share it. torch, segment_anything and transformers are imported inside functions.

Boxes (:class:`BoxSegmenter`): :meth:`~BoxSegmenter.predict_box` gives SAM's single mask
(``multimask_output=False``) for one box; :meth:`~BoxSegmenter.predict_box_union` gives the union of those
masks over ``N`` boxes in one pass, :data:`BOX_BATCH` boxes per decoder call (segment-anything's
``predict_torch`` with ``boxes``, transformers' ``input_boxes`` with several boxes), each batch ORed into
the result at once, so memory stays at one batch's masks (``BOX_BATCH x H x W``, and segment-anything's
``BOX_BATCH x 1024 x 1024`` upsampling) whatever ``N``; it equals the OR of ``predict_box`` box by box.
:func:`segment_boxes` is the whole step for one image (set it, union the boxes).
"""

from __future__ import annotations

import hashlib
import logging
import pickle
from typing import Any, Protocol, runtime_checkable

import numpy as np

__all__ = ["BOX_BATCH", "BoxSegmenter", "PointSegmenter", "SegmentAnythingSegmenter", "TransformersSamSegmenter",
           "load_segmenter", "segment_boxes"]

logger = logging.getLogger(__name__)

INSTALL_HINT = 'pip install "pixbench[baselines]"'
#: ``--sam-type`` of the tiny random segment-anything model that ``pixbench baseline make-tiny`` writes.
TINY_TYPE = "tiny"
#: Points per SAM decoder call (bounds the ``[batch, 3, H, W]`` mask tensor).
POINT_BATCH = 32
#: Boxes per SAM decoder call in ``predict_box_union`` (bounds the ``[batch, 1, H, W]`` mask tensor).
BOX_BATCH = 16


@runtime_checkable
class PointSegmenter(Protocol):
    """Point-prompted segmentation of one image at a time."""

    name: str

    def set_image(self, image: np.ndarray) -> None:
        """Set the image: uint8 ``[H, W, 3]`` RGB."""
        ...

    def predict_points(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Masks for ``points`` (float ``[N, 2]`` ``(x, y)`` pixels, one positive point each).

        Returns ``(masks, scores)``: bool ``[N, 3, H, W]`` in SAM's order and float32 ``[N, 3]``.
        """
        ...


@runtime_checkable
class BoxSegmenter(Protocol):
    """Box-prompted segmentation of one image at a time (both SAM wrappers below implement it)."""

    name: str

    def set_image(self, image: np.ndarray) -> None:
        """Set the image: uint8 ``[H, W, 3]`` RGB."""
        ...

    def predict_box(self, box: np.ndarray) -> np.ndarray:
        """SAM's single mask (``multimask_output=False``) for one box: float ``[4]`` ``(x1, y1, x2, y2)``
        in pixels of the image set; returns bool ``[H, W]``."""
        ...

    def predict_box_union(self, boxes: np.ndarray) -> np.ndarray:
        """The union of :meth:`predict_box` over ``boxes`` (float ``[N, 4]``), :data:`BOX_BATCH` boxes per
        decoder call; returns bool ``[H, W]`` (all False for ``N = 0``)."""
        ...


def _check_box(box: np.ndarray) -> np.ndarray:
    box = np.asarray(box, dtype=np.float64)
    if box.shape != (4,) or not np.all(np.isfinite(box)):
        raise ValueError(f"Expected one box as 4 finite numbers (x1, y1, x2, y2), but got {box.tolist()!r}")
    return box


def _check_boxes(boxes: Any) -> np.ndarray:
    boxes = np.asarray(boxes, dtype=np.float64)
    if boxes.size == 0:
        return boxes.reshape(0, 4)
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise ValueError(f"Expected boxes as [N, 4] (x1, y1, x2, y2), but got shape {boxes.shape}")
    bad = np.flatnonzero(~np.isfinite(boxes).all(axis=1))
    if bad.size:
        raise ValueError(f"Expected box {int(bad[0])} as 4 finite numbers (x1, y1, x2, y2), but got "
                         f"{boxes[bad[0]].tolist()!r}")
    return boxes


def segment_boxes(segmenter: Any, image: np.ndarray, boxes: Any) -> np.ndarray:
    """SAM's box masks on ``image`` (uint8 ``[H, W, 3]`` RGB) ORed over ``boxes`` (``[N, 4]`` ``(x1, y1, x2,
    y2)`` pixels): bool ``[H, W]``; without boxes all False and SAM is not run (no ``set_image``).

    Uses ``segmenter.predict_box_union`` (batched, one pass); a segmenter that has only ``predict_box`` (a
    stand-in) is asked box by box and ORed, which gives the same mask.
    """
    boxes = _check_boxes(boxes)
    height, width = np.asarray(image).shape[:2]
    if not len(boxes):
        return np.zeros((height, width), dtype=bool)
    segmenter.set_image(image)
    union = getattr(segmenter, "predict_box_union", None)
    if callable(union):
        mask = np.asarray(union(boxes), dtype=bool)
    else:
        mask = np.zeros((height, width), dtype=bool)
        for box in boxes:
            mask |= np.asarray(segmenter.predict_box(box), dtype=bool)
    if mask.shape != (height, width):
        raise RuntimeError(f"Expected a SAM mask of shape {(height, width)}, but got {mask.shape}")
    return mask


def _check_image(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"Expected an RGB image as uint8 [H, W, 3], but got {image.dtype} {image.shape}")
    return np.ascontiguousarray(image)


def _check_points(points: np.ndarray) -> np.ndarray:
    points = np.asarray(points, dtype=np.float64)
    if points.ndim != 2 or points.shape[1] != 2:
        raise ValueError(f"Expected points as [N, 2] (x, y), but got shape {points.shape}")
    return points


def _image_key(image: np.ndarray) -> tuple[tuple[int, ...], str]:
    return image.shape, hashlib.blake2b(image.tobytes(), digest_size=16).hexdigest()


class SegmentAnythingSegmenter:
    """``segment_anything.SamPredictor`` behind :class:`PointSegmenter`."""

    def __init__(self, predictor: Any, *, name: str = "segment-anything") -> None:
        self.predictor = predictor
        self.name = name
        self._key: Any = None
        self._size: tuple[int, int] | None = None

    @classmethod
    def from_checkpoint(cls, checkpoint: str, model_type: str = "vit_h", *,
                        device: str = "cpu") -> SegmentAnythingSegmenter:
        """Build SAM of ``model_type`` (``vit_h``, ``vit_l``, ``vit_b``) from a ``.pth`` checkpoint.

        ``model_type="tiny"`` builds the random test model of :func:`pixbench.baselines.tiny.tiny_segment_anything`
        (64 px, one encoder block) and loads a checkpoint written by ``pixbench baseline make-tiny``.
        """
        try:
            from segment_anything import SamPredictor, sam_model_registry
        except ImportError as exc:
            raise ImportError(f"SAM checkpoints need `segment-anything`: {INSTALL_HINT}") from exc
        if model_type == TINY_TYPE:
            sam = _load_tiny_segment_anything(checkpoint)
        elif model_type in sam_model_registry:
            sam = sam_model_registry[model_type](checkpoint=checkpoint)
        else:
            raise ValueError(f"Expected a SAM model type in {sorted([*sam_model_registry, TINY_TYPE])}, "
                             f"but got {model_type!r}")
        sam = sam.to(device).eval()
        return cls(SamPredictor(sam), name=f"segment-anything:{model_type}")

    def set_image(self, image: np.ndarray) -> None:
        image = _check_image(image)
        key = _image_key(image)
        if key == self._key:
            return
        self.predictor.set_image(image, image_format="RGB")
        self._key, self._size = key, (image.shape[0], image.shape[1])

    def predict_points(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        import torch

        if self._size is None:
            raise RuntimeError("Expected set_image() before predict_points()")
        points = _check_points(points)
        height, width = self._size
        if points.shape[0] == 0:
            return np.zeros((0, 3, height, width), dtype=bool), np.zeros((0, 3), dtype=np.float32)
        predictor = self.predictor
        masks, scores = [], []
        for start in range(0, points.shape[0], POINT_BATCH):
            chunk = points[start:start + POINT_BATCH]
            coords = predictor.transform.apply_coords(chunk.copy(), predictor.original_size)
            coords_t = torch.as_tensor(coords, dtype=torch.float, device=predictor.device).unsqueeze(1)
            labels_t = torch.ones((chunk.shape[0], 1), dtype=torch.int, device=predictor.device)
            with torch.no_grad():
                batch_masks, batch_scores, _ = predictor.predict_torch(coords_t, labels_t, multimask_output=True)
            masks.append(batch_masks.cpu().numpy().astype(bool))
            scores.append(batch_scores.float().cpu().numpy())
        out = np.concatenate(masks)
        if out.shape[1:] != (3, height, width):
            raise RuntimeError(f"Expected SAM masks of shape [N, 3, {height}, {width}], but got {out.shape}")
        return out, np.concatenate(scores).astype(np.float32)

    def predict_box(self, box: np.ndarray) -> np.ndarray:
        if self._size is None:
            raise RuntimeError("Expected set_image() before predict_box()")
        masks, _, _ = self.predictor.predict(box=_check_box(box), multimask_output=False)
        out = np.asarray(masks[0], dtype=bool)
        if out.shape != self._size:
            raise RuntimeError(f"Expected a SAM mask of shape {self._size}, but got {out.shape}")
        return out

    def predict_box_union(self, boxes: np.ndarray) -> np.ndarray:
        import torch

        if self._size is None:
            raise RuntimeError("Expected set_image() before predict_box_union()")
        boxes = _check_boxes(boxes)
        predictor = self.predictor
        union = torch.zeros(self._size, dtype=torch.bool, device=predictor.device)
        for start in range(0, boxes.shape[0], BOX_BATCH):
            chunk = predictor.transform.apply_boxes(boxes[start:start + BOX_BATCH], predictor.original_size)
            boxes_t = torch.as_tensor(chunk, dtype=torch.float, device=predictor.device)
            with torch.no_grad():
                masks, _, _ = predictor.predict_torch(None, None, boxes=boxes_t, multimask_output=False)
            if masks.shape[-2:] != self._size:
                raise RuntimeError(f"Expected SAM masks of size {self._size}, but got {tuple(masks.shape)}")
            union |= masks.reshape(-1, *self._size).any(dim=0)
        return np.asarray(union.cpu().numpy(), dtype=bool)

    def __repr__(self) -> str:
        return f"SegmentAnythingSegmenter({self.name!r})"


class TransformersSamSegmenter:
    """``transformers`` ``SamModel`` + ``SamProcessor`` behind :class:`PointSegmenter`."""

    def __init__(self, model: Any, processor: Any, *, name: str = "transformers-sam") -> None:
        self.model = model
        self.processor = processor
        self.name = name
        self._key: Any = None
        self._state: dict[str, Any] | None = None

    @classmethod
    def from_pretrained(cls, name_or_path: str, *, device: str = "cpu") -> TransformersSamSegmenter:
        """Load ``SamModel`` and ``SamProcessor`` from a hub id or a local folder."""
        try:
            from transformers import SamModel, SamProcessor
        except ImportError as exc:
            raise ImportError(f"transformers' SAM needs `transformers`: {INSTALL_HINT}") from exc
        processor = SamProcessor.from_pretrained(name_or_path)
        model: Any = SamModel.from_pretrained(name_or_path)
        model = model.to(device).eval()
        return cls(model, processor, name=f"transformers:{name_or_path}")

    @property
    def _device(self) -> Any:
        return next(self.model.parameters()).device

    def set_image(self, image: np.ndarray) -> None:
        import torch

        image = _check_image(image)
        key = _image_key(image)
        if key == self._key:
            return
        inputs = self.processor(images=image if image.flags.writeable else image.copy(), return_tensors="pt")
        with torch.no_grad():
            pixel_values = inputs["pixel_values"].to(self._device, next(self.model.parameters()).dtype)
            embeddings = self.model.get_image_embeddings(pixel_values)
        self._state = {"embeddings": embeddings, "original_sizes": inputs["original_sizes"],
                       "reshaped_input_sizes": inputs["reshaped_input_sizes"], "size": image.shape[:2]}
        self._key = key

    def predict_points(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        import torch

        if self._state is None:
            raise RuntimeError("Expected set_image() before predict_points()")
        points = _check_points(points)
        state = self._state
        height, width = state["size"]
        if points.shape[0] == 0:
            return np.zeros((0, 3, height, width), dtype=bool), np.zeros((0, 3), dtype=np.float32)
        # The processor's own point normalisation: scale x and y by the resized / original size.
        new_h, new_w = (int(v) for v in state["reshaped_input_sizes"][0].tolist())
        scale = np.array([new_w / width, new_h / height], dtype=np.float64)
        masks, scores = [], []
        for start in range(0, points.shape[0], POINT_BATCH):
            chunk = points[start:start + POINT_BATCH] * scale
            input_points = torch.as_tensor(chunk, dtype=torch.float32, device=self._device)[None, :, None, :]
            input_labels = torch.ones(input_points.shape[:3], dtype=torch.int64, device=self._device)
            with torch.no_grad():
                output = self.model(image_embeddings=state["embeddings"], input_points=input_points,
                                    input_labels=input_labels, multimask_output=True)
            full = self.processor.image_processor.post_process_masks(
                output.pred_masks.cpu(), state["original_sizes"], state["reshaped_input_sizes"])[0]
            masks.append(np.asarray(full.numpy(), dtype=bool))
            scores.append(output.iou_scores[0].float().cpu().numpy())
        out = np.concatenate(masks)
        if out.shape[1:] != (3, height, width):
            raise RuntimeError(f"Expected SAM masks of shape [N, 3, {height}, {width}], but got {out.shape}")
        return out, np.concatenate(scores).astype(np.float32)

    def predict_box(self, box: np.ndarray) -> np.ndarray:
        import torch

        if self._state is None:
            raise RuntimeError("Expected set_image() before predict_box()")
        state = self._state
        height, width = state["size"]
        new_h, new_w = (int(v) for v in state["reshaped_input_sizes"][0].tolist())
        scaled = _check_box(box) * np.array([new_w / width, new_h / height] * 2)
        input_boxes = torch.as_tensor(scaled, dtype=torch.float32, device=self._device)[None, None, :]
        with torch.no_grad():
            output = self.model(image_embeddings=state["embeddings"], input_boxes=input_boxes,
                                multimask_output=False)
        full = self.processor.image_processor.post_process_masks(
            output.pred_masks.cpu(), state["original_sizes"], state["reshaped_input_sizes"])[0]
        out = np.asarray(full.numpy(), dtype=bool).reshape(-1, height, width)[0]
        return out

    def predict_box_union(self, boxes: np.ndarray) -> np.ndarray:
        import torch

        if self._state is None:
            raise RuntimeError("Expected set_image() before predict_box_union()")
        boxes = _check_boxes(boxes)
        state = self._state
        height, width = state["size"]
        new_h, new_w = (int(v) for v in state["reshaped_input_sizes"][0].tolist())
        scaled = boxes * np.array([new_w / width, new_h / height] * 2)
        union = torch.zeros((height, width), dtype=torch.bool)
        for start in range(0, scaled.shape[0], BOX_BATCH):
            input_boxes = torch.as_tensor(scaled[start:start + BOX_BATCH], dtype=torch.float32,
                                          device=self._device)[None]
            with torch.no_grad():
                output = self.model(image_embeddings=state["embeddings"], input_boxes=input_boxes,
                                    multimask_output=False)
            full = self.processor.image_processor.post_process_masks(
                output.pred_masks.cpu(), state["original_sizes"], state["reshaped_input_sizes"])[0]
            union |= full.reshape(-1, height, width).any(dim=0)
        return np.asarray(union.numpy(), dtype=bool)

    def __repr__(self) -> str:
        return f"TransformersSamSegmenter({self.name!r})"


def _load_tiny_segment_anything(checkpoint: str) -> Any:
    """The tiny segment-anything architecture with the weights of ``checkpoint`` (a state dict)."""
    import torch

    from pixbench.baselines.tiny import tiny_segment_anything

    with torch.random.fork_rng(devices=[]):  # the random weights, replaced below, leave torch's generator alone
        sam = tiny_segment_anything()
    try:
        sam.load_state_dict(torch.load(checkpoint, map_location="cpu", weights_only=True))
    except (RuntimeError, AttributeError, TypeError, EOFError, pickle.UnpicklingError) as exc:
        raise ValueError(f"{checkpoint} is not a tiny segment-anything checkpoint (as written by "
                         f"`pixbench baseline make-tiny`); use --sam-type vit_h/vit_l/vit_b for SAM's own: "
                         f"{str(exc).splitlines()[0]}") from None
    return sam


def load_segmenter(*, checkpoint: str | None = None, model_type: str = "vit_h", pretrained: str | None = None,
                   device: str = "cpu") -> PointSegmenter:
    """A segment-anything checkpoint (``checkpoint`` + ``model_type``) or a transformers SAM (``pretrained``)."""
    if (checkpoint is None) == (pretrained is None):
        raise ValueError("Expected exactly one of a segment-anything checkpoint or a transformers SAM "
                         f"(hub id or folder), but got checkpoint={checkpoint!r}, pretrained={pretrained!r}")
    if checkpoint is not None:
        return SegmentAnythingSegmenter.from_checkpoint(checkpoint, model_type, device=device)
    return TransformersSamSegmenter.from_pretrained(str(pretrained), device=device)
