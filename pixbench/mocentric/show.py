"""Draw one MoCentric-Bench expression as a probe presents it: an animated GIF and a contact sheet.

Every presented frame (:mod:`pixbench.mocentric.views`: the same composition export and scoring use) is
drawn with

- the **ground truth** as a yellow outline (the boundary pixels of :func:`pixbench.metrics.video.boundary_map`,
  two pixels thick): ``G_t`` on the target half; for ``static``, whose right answer is empty, the keyframe's
  truth ``K`` (what a model must *not* segment) in cyan;
- a model's **prediction** (``preds``: that model's line for this id, probe and layout) as a magenta tint
  with its own outline;
- a caption above the frame: probe, layout (and which half is the target), the frame's name ``frames[t]``
  and, with a prediction, its per-frame score: J (:func:`pixbench.metrics.video.frame_j`), or for ``static``
  J_bg and FPR (:func:`pixbench.metrics.video.static_scores`).

Canvases wider than ``max_width`` are scaled down (frames with Lanczos, masks nearest-neighbour on the runs)
before drawing, so outlines stay crisp and GIFs small. The contact sheet (``clip.png`` beside ``clip.gif``)
tiles every drawn frame, caption included, at most ``SHEET_TILE_WIDTH`` px wide. A build without frames
(``--no-frames``) is drawn on grey.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from pixbench.annotation import rle as rle_ops
from pixbench.annotation.rle import Rle
from pixbench.benchmarks.mocentric import MOCENTRIC
from pixbench.metrics.video import boundary_map, frame_j, static_scores
from pixbench.mocentric.export import ExportError, FrameCache, iter_videos, one_frame, resolve_layout, view_of
from pixbench.mocentric.rows import VideoReference
from pixbench.mocentric.views import REVERSED_PROBES

logger = logging.getLogger(__name__)

GROUND_TRUTH_COLOUR = (255, 230, 0)
KEYFRAME_COLOUR = (0, 220, 255)
PREDICTION_COLOUR = (230, 30, 200)
PREDICTION_ALPHA = 0.45
CAPTION_HEIGHT = 14
SHEET_TILE_WIDTH = 320
DEFAULT_MAX_WIDTH = 640
DEFAULT_FPS = 6.0
STATIC_PROBE = "static"


class ShowError(ValueError):
    """The expression, probe or prediction to draw does not exist; the message names what is missing."""


@dataclass(frozen=True)
class ShowResult:
    """What :func:`show_expression` wrote: ``gif`` and ``sheet`` paths, the number of ``frames``, the
    presented ``canvas`` and the drawn ``size`` (both ``(height, width)``, caption excluded), the
    ``model`` drawn (``None`` without predictions) and its per-frame ``scores`` (J, or J_bg for ``static``)."""

    gif: Path
    sheet: Path
    frames: int
    canvas: tuple[int, int]
    size: tuple[int, int]
    model: str | None
    scores: tuple[float, ...] | None


def read_prediction(path: Path, reference: VideoReference, *, row_id: str, probe: str, layout: str | None,
                    model: str | None) -> tuple[str, tuple[Rle | None, ...]]:
    """``(model, masks per presented frame)`` of the line for ``row_id`` / ``probe`` / ``layout`` in the
    predictions file ``path`` (checked against the build); :class:`ShowError` when there is none, or
    several models have one and ``model`` does not choose."""
    from pixbench.predictions import read_predictions

    read = read_predictions(path, index={MOCENTRIC.name: MOCENTRIC.line_index(reference)})
    lines = [p for p in read.predictions if p.benchmark == MOCENTRIC.name and str(p.id) == row_id
             and p.probe == probe and p.layout == layout and p.frames is not None]
    models = sorted({p.model for p in lines})
    if model is not None:
        lines = [p for p in lines if p.model == model]
    where = f"id {row_id}, probe {probe}{', layout ' + layout if layout else ''}"
    if not lines:
        about = [str(q) for q in read.problems if str(q.id) == row_id]
        detail = (f"; a problem there: {about[0]}" if about
                  else f"; models with such a line: {models}" if models else "")
        raise ShowError(f"{path}: no valid line for {where}{' and model ' + model if model else ''}{detail}")
    if len(lines) > 1:
        raise ShowError(f"{path}: several models have a line for {where}: {models}; choose one with --model")
    frames = lines[0].frames
    assert frames is not None
    return lines[0].model, frames


def _scaled(size: tuple[int, int], max_width: int) -> tuple[int, int]:
    height, width = size
    if width <= max_width:
        return height, width
    return max(1, round(height * max_width / width)), max_width


def _outline(mask: np.ndarray) -> np.ndarray:
    """The mask's boundary, thickened by one pixel to the right and below."""
    edge = boundary_map(mask)
    thick = edge.copy()
    thick[1:, :] |= edge[:-1, :]
    thick[:, 1:] |= edge[:, :-1]
    return thick & mask if mask.any() else thick


def draw_frame(image: Image.Image, *, truth: Rle | None, pred: Rle | None, caption: str,
               truth_colour: tuple[int, int, int] = GROUND_TRUTH_COLOUR) -> Image.Image:
    """``image`` (already at the drawn size) with the prediction tinted, the truth outlined and a caption
    bar above; masks are RLE of any size (resized nearest-neighbour to the image)."""
    height, width = image.height, image.width
    pixels = np.asarray(image.convert("RGB"), dtype=np.float32).copy()
    if pred is not None:
        mask = rle_ops.decode(rle_ops.resize_nearest(pred, height, width)).astype(bool)
        pixels[mask] = (1 - PREDICTION_ALPHA) * pixels[mask] + PREDICTION_ALPHA * np.array(PREDICTION_COLOUR)
        pixels[_outline(mask)] = PREDICTION_COLOUR
    if truth is not None:
        pixels[_outline(rle_ops.decode(rle_ops.resize_nearest(truth, height, width)).astype(bool))] = truth_colour
    framed = Image.new("RGB", (width, height + CAPTION_HEIGHT), (0, 0, 0))
    framed.paste(Image.fromarray(pixels.clip(0, 255).astype(np.uint8)), (0, CAPTION_HEIGHT))
    ImageDraw.Draw(framed).text((2, 1), caption, fill=(255, 255, 255))
    return framed


def contact_sheet(images: Sequence[Image.Image], *, tile_width: int = SHEET_TILE_WIDTH) -> Image.Image:
    """The images (all of one size) scaled to at most ``tile_width`` px wide, in a grid about as wide as high."""
    scale = min(1.0, tile_width / images[0].width)
    width, height = max(1, round(images[0].width * scale)), max(1, round(images[0].height * scale))
    columns = max(1, min(len(images), round(math.sqrt(len(images) * height / width))))
    rows = math.ceil(len(images) / columns)
    sheet = Image.new("RGB", (columns * width, rows * height), (255, 255, 255))
    for k, image in enumerate(images):
        thumb = image if scale == 1.0 else image.resize((width, height), Image.Resampling.LANCZOS)
        sheet.paste(thumb, ((k % columns) * width, (k // columns) * height))
    return sheet


def _target_side(layout: str | None) -> str:
    return {"target-left": "target left", "target-right": "target right", "target-bottom": "target bottom"}.get(
        layout or "", "")


def _frames(folder: Path, video_id: str, length: int, size: tuple[int, int]) -> Sequence[np.ndarray]:
    """The video's original frames (decoded on use), or grey frames when the build has none."""
    try:
        video = next(iter_videos(folder, wanted={video_id}), None)
    except ExportError as exc:
        logger.warning("%s: drawing on grey", exc)
        video = None
    else:
        if video is None:
            logger.warning("video %s has no frames in the videos config: drawing on grey", video_id)
    if video is None or len(video.frames) != length:
        grey = np.full((*size, 3), 128, dtype=np.uint8)
        return [grey] * length
    return FrameCache(video)


def show_expression(*, data: Path, reference: VideoReference, row_id: str, probe: str, layout: str | None,
                    out: Path, preds: Path | None = None, model: str | None = None,
                    max_width: int = DEFAULT_MAX_WIDTH, fps: float = DEFAULT_FPS) -> ShowResult:
    """Write ``out`` (an animated GIF) and ``out`` with ``.png`` (the contact sheet) for expression
    ``row_id`` under ``probe`` / ``layout`` (default layout for pairs), with the ground truth and, with
    ``preds``, that file's masks for it (drawing rules in the module docstring)."""
    if out.suffix.lower() != ".gif":
        raise ShowError(f"--out {out}: expected a .gif file name (the contact sheet is written beside it as .png)")
    if max_width < 16:
        raise ShowError(f"Expected a max width of at least 16 px, but got {max_width}")
    if not fps > 0:
        raise ShowError(f"Expected a positive frame rate, but got {fps}")
    layout = resolve_layout(probe, layout)
    rows = reference.rows_for(probe)
    if row_id not in rows:
        known = row_id in reference.expressions
        raise ShowError(f"{data}: id {row_id!r} is " + ("not among the reversed expressions (the `reversed` "
                        f"config) that probe {probe!r} shows" if known and probe in REVERSED_PROBES
                        else "not an expression of this build (ids are '<video_id>_<exp_id>')"))
    row = rows[row_id]
    view = view_of(row, probe, layout)
    truths: Sequence[Rle] = view.ground_truth(list(row.masks))
    drawn_model, masks = (None, None) if preds is None else read_prediction(
        preds, reference, row_id=row_id, probe=probe, layout=layout, model=model)
    scores: tuple[float, ...] | None = None
    labels = list(view.names)
    if masks is not None:
        if probe == STATIC_PROBE:
            static = static_scores(preds=masks, keyframe_gt=row.masks[row.keyframe])
            scores = tuple(float(v) for v in static.jbg)
            labels = [f"{name} J_bg {jbg:.2f} FPR {fpr:.3f}" for name, jbg, fpr in zip(view.names, static.jbg,
                                                                                        static.fpr)]
        else:
            scores = tuple(frame_j(pred=p, gt=g) for p, g in zip(masks, truths))
            labels = [f"{name} J {j:.2f}" for name, j in zip(view.names, scores)]
    frames = _frames(data, row.video_id, len(row.frame_names), (row.height, row.width))
    size = _scaled(view.canvas, max_width)
    head = " ".join(part for part in (probe, _target_side(layout)) if part)
    colour = KEYFRAME_COLOUR if probe == STATIC_PROBE else GROUND_TRUTH_COLOUR
    images = []
    for t in range(view.length):
        canvas = Image.fromarray(one_frame(view, t).compose(frames)[0])
        if canvas.size != (size[1], size[0]):
            canvas = canvas.resize((size[1], size[0]), Image.Resampling.LANCZOS)
        images.append(draw_frame(canvas, truth=truths[t], pred=None if masks is None else masks[t],
                                 caption=f"{head} | {labels[t]}", truth_colour=colour))
    out.parent.mkdir(parents=True, exist_ok=True)
    images[0].save(out, format="GIF", save_all=True, append_images=images[1:], duration=round(1000 / fps), loop=0)
    sheet = out.with_suffix(".png")
    contact_sheet(images).save(sheet, format="PNG")
    return ShowResult(gif=out, sheet=sheet, frames=view.length, canvas=view.canvas, size=size, model=drawn_model,
                      scores=scores)


__all__ = ["ShowError", "ShowResult", "draw_frame", "read_prediction", "show_expression"]
