"""Draw one MoCentric-Bench expression as a probe presents it: an animated GIF and a contact sheet.

Every presented frame (:mod:`pixbench.benchmarks.mocentric.views`: the same composition export and scoring use) is
drawn with

- the **ground truth** as a yellow outline (the boundary pixels of :func:`pixbench.metrics.video.boundary_map`,
  two pixels thick): ``G_t`` on the target half; for ``static``, whose right answer is empty, the keyframe's
  truth ``K`` (what a model must *not* segment) in cyan;
- a model's **prediction** (``preds``: that model's line for this id, probe and layout) as a magenta
  outline (one pixel) and magenta diagonal stripes over its area (every ``HATCH_PERIOD``-th diagonal), so
  the truth's outline on top never hides it;
- above the frame, a **caption** with the frame's name ``frames[t]`` and, with a prediction, its per-frame
  score: J (:func:`pixbench.metrics.video.frame_j`), or for ``static`` J_bg and FPR
  (:func:`pixbench.metrics.video.static_scores`);
- above that, a **title** naming the expression (``<video_id>_<exp_id>`` and its text: the reversed text
  for the reversed probes, as the probe asks it), the probe and layout (and which half is the target), the
  model (or "no prediction"), and a legend of the colours.

Colours that read on any object: every coloured line has a one-pixel **halo** on both sides, each halo pixel
black or white, whichever contrasts more (WCAG contrast ratio, :func:`contrast_ratio`) with the pixel it
covers; each prediction stripe has such a contrasting stripe beside it. So on a red or magenta object the
black halo carries the outline, on a dark one the colour or the white halo does: some drawn pixel of each
overlay has a contrast ratio of at least 4.5 with any uniform background.

Text always fits: title and captions are drawn with Pillow's built-in font (:func:`caption_font`,
``FONT_SIZE`` px) in black bands as wide as the picture, wrapped at word boundaries (a word wider than the
band is broken between characters) by :func:`wrap_text`; a band is as high as its lines need, and the caption
band of every frame is as high as the longest caption's, so GIF frames share one size.

Canvases wider than ``max_width`` are scaled down (frames with Lanczos, masks nearest-neighbour on the runs)
before drawing, so outlines stay crisp and GIFs small. The contact sheet (``clip.png`` beside ``clip.gif``)
has the title once, wrapped at the sheet's width, above a grid of every frame, each under its caption and
drawn again at most ``SHEET_TILE_WIDTH`` px wide (outlines and text are drawn at that size, never scaled).
A build without frames (``--no-frames``) is drawn on grey.
"""

from __future__ import annotations

import difflib
import functools
import logging
import math
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from pixbench.annotation import rle as rle_ops
from pixbench.annotation.rle import Rle
from pixbench.benchmarks.mocentric import MOCENTRIC
from pixbench.benchmarks.mocentric.rows import VideoReference
from pixbench.benchmarks.mocentric.views import REVERSED_PROBES, resolve_layout
from pixbench.metrics.video import boundary_map, frame_j, static_scores
from pixbench.video.export import ExportError, FrameCache, iter_videos, one_frame, view_of

logger = logging.getLogger(__name__)

GROUND_TRUTH_COLOUR = (255, 230, 0)
KEYFRAME_COLOUR = (0, 220, 255)
PREDICTION_COLOUR = (255, 60, 230)
HATCH_PERIOD = 5
TEXT_COLOUR = (255, 255, 255)
BAND_COLOUR = (0, 0, 0)
FONT_SIZE = 10
#: Pixels between a band's edges and its text.
TEXT_MARGIN = 2
SHEET_TILE_WIDTH = 320
DEFAULT_MAX_WIDTH = 640
DEFAULT_FPS = 6.0
STATIC_PROBE = "static"
#: Ids a wrong ``--id`` is answered with.
CLOSEST_IDS = 5

Font = ImageFont.ImageFont | ImageFont.FreeTypeFont


class ShowError(ValueError):
    """The expression, probe or prediction to draw does not exist; the message names what is missing."""


@dataclass(frozen=True)
class ShowResult:
    """What :func:`show_expression` wrote: ``gif`` and ``sheet`` paths, the number of ``frames``, the
    presented ``canvas`` and the drawn ``size`` (both ``(height, width)``, title and caption excluded), the
    ``model`` drawn (``None`` without predictions) and its per-frame ``scores`` (J, or J_bg for ``static``);
    ``title`` the title's parts (each starts a line and wraps) and ``captions`` each frame's caption, as
    drawn before wrapping."""

    gif: Path
    sheet: Path
    frames: int
    canvas: tuple[int, int]
    size: tuple[int, int]
    model: str | None
    scores: tuple[float, ...] | None
    title: tuple[str, ...] = ()
    captions: tuple[str, ...] = ()


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


# ------------------------------------------------------------------------------------ text


@functools.lru_cache(maxsize=1)
def caption_font() -> Font:
    """The font of titles and captions: Pillow's built-in one at ``FONT_SIZE`` px (its bitmap font on a
    Pillow without FreeType or older than 10.1)."""
    try:
        return ImageFont.load_default(size=FONT_SIZE)
    except TypeError:  # Pillow < 10.1: no size
        return ImageFont.load_default()


def _drawable(text: str, font: Font) -> str:
    """``text`` on one line, whitespace runs as one space; characters a bitmap font lacks as ``?``."""
    text = " ".join(text.split())
    return text if isinstance(font, ImageFont.FreeTypeFont) else text.encode("latin-1", "replace").decode("latin-1")


def text_width(text: str, font: Font) -> int:
    """Pixels from the pen position to the right edge of ``text``'s ink or advance, whichever is wider."""
    return max(math.ceil(font.getlength(text)), int(font.getbbox(text)[2])) if text else 0


def line_height(font: Font) -> int:
    """Pixels between two lines' tops: the deepest descender and tallest ascender, plus one."""
    return int(font.getbbox("Ag|_y")[3]) + 1


def wrap_text(text: str, width: int, font: Font) -> list[str]:
    """``text`` (whitespace collapsed) in lines at most ``width`` px wide in ``font``: greedily at spaces,
    a word wider than ``width`` broken between characters (a line holds at least one character). The
    lines joined by spaces give the text back, except where a word was broken."""
    lines: list[str] = []
    line = ""
    for word in _drawable(text, font).split(" "):
        joined = f"{line} {word}" if line else word
        if text_width(joined, font) <= width:
            line = joined
            continue
        if line:
            lines.append(line)
        line = ""
        for char in word:
            if line and text_width(line + char, font) > width:
                lines.append(line)
                line = ""
            line += char
    return [*lines, line] if line or not lines else lines


def band_height(lines: int, font: Font) -> int:
    """The height of a band holding ``lines`` lines of text."""
    return 2 * TEXT_MARGIN + lines * line_height(font) if lines else 0


def text_band(parts: Sequence[str], width: int, *, lines: int | None = None,
              legend: Sequence[tuple[tuple[int, int, int], str]] = ()) -> Image.Image:
    """A black band ``width`` px wide with ``parts`` (each starting a line, wrapped by :func:`wrap_text`)
    in white, then the ``legend`` (a colour swatch before each label: all on one line where they fit, else
    one label a line, wrapped), padded to ``lines`` lines."""
    font = caption_font()
    inner = max(1, width - 2 * TEXT_MARGIN)
    text = [line for part in parts for line in wrap_text(part, inner, font)]
    swatch = line_height(font) - 3
    gap = swatch + 3
    entries = [(colour, _drawable(label, font)) for colour, label in legend]
    keys: list[list[tuple[tuple[int, int, int] | None, str]]]
    if sum(gap + text_width(label, font) for _, label in entries) + 6 * (len(entries) - 1) <= inner:
        keys = [list(entries)] if entries else []
    else:  # one entry a line, its label wrapped beside the swatch
        keys = [[(colour if k == 0 else None, line)]
                for colour, label in entries for k, line in enumerate(wrap_text(label, max(1, inner - gap), font))]
    count = max(len(text) + len(keys), lines or 0)
    band = Image.new("RGB", (width, band_height(count, font)), BAND_COLOUR)
    draw = ImageDraw.Draw(band)
    step = line_height(font)
    for k, line in enumerate(text):
        draw.text((TEXT_MARGIN, TEXT_MARGIN + k * step), line, fill=TEXT_COLOUR, font=font)
    for k, row in enumerate(keys, start=len(text)):
        x, y = TEXT_MARGIN, TEXT_MARGIN + k * step
        for colour, label in row:
            if colour is not None:
                draw.rectangle((x, y + 1, x + swatch - 1, y + swatch), fill=colour)
            draw.text((x + gap, y), label, fill=TEXT_COLOUR, font=font)
            x += gap + text_width(label, font) + 6
    return band


def wrapped_lines(parts: Sequence[str], width: int) -> int:
    """How many lines :func:`text_band` needs for ``parts`` at ``width`` px (legend excluded)."""
    font = caption_font()
    return sum(len(wrap_text(part, max(1, width - 2 * TEXT_MARGIN), font)) for part in parts)


def stacked(images: Sequence[Image.Image]) -> Image.Image:
    """The images (one width) one above the other."""
    out = Image.new("RGB", (images[0].width, sum(image.height for image in images)), BAND_COLOUR)
    top = 0
    for image in images:
        out.paste(image, (0, top))
        top += image.height
    return out


# ------------------------------------------------------------------------------------ overlays


def relative_luminance(rgb: np.ndarray) -> np.ndarray:
    """WCAG relative luminance of sRGB pixels (``... x 3``, 0..255) in [0, 1]."""
    c = np.asarray(rgb, dtype=np.float64) / 255.0
    linear = np.where(c <= 0.03928, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return np.asarray(linear @ np.array([0.2126, 0.7152, 0.0722]))


def contrast_ratio(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """WCAG contrast ratio (1..21) between sRGB pixels ``a`` and ``b`` (broadcast, ``... x 3``).

    Examples:
        >>> float(contrast_ratio(np.array([0, 0, 0]), np.array([255, 255, 255])))
        21.0
    """
    la, lb = relative_luminance(a), relative_luminance(b)
    return np.asarray((np.maximum(la, lb) + 0.05) / (np.minimum(la, lb) + 0.05))


def _contrasting(pixels: np.ndarray) -> np.ndarray:
    """Black or white per pixel, whichever has the higher contrast ratio with it."""
    white = relative_luminance(pixels) < 0.179  # where (L + .05) / .05 == 1.05 / (L + .05)
    return np.where(white[..., None], 255.0, 0.0) * np.ones(3)


def _dilated(mask: np.ndarray) -> np.ndarray:
    """``mask`` grown by one pixel in the eight directions."""
    out = mask.copy()
    out[1:, :] |= mask[:-1, :]
    out[:-1, :] |= mask[1:, :]
    rows = out.copy()
    out[:, 1:] |= rows[:, :-1]
    out[:, :-1] |= rows[:, 1:]
    return out


def _outline(mask: np.ndarray, thickness: int) -> np.ndarray:
    """The mask's boundary, thickened to ``thickness`` pixels (2: one more to the right and below)."""
    edge = boundary_map(mask)
    if thickness < 2:
        return edge
    thick = edge.copy()
    thick[1:, :] |= edge[:-1, :]
    thick[:, 1:] |= edge[:, :-1]
    return thick & mask if mask.any() else thick


def _paint(pixels: np.ndarray, line: np.ndarray, colour: tuple[int, int, int], original: np.ndarray) -> None:
    """``line`` in ``colour`` with a halo on both sides contrasting with ``original``'s pixels."""
    halo = _dilated(line) & ~line
    pixels[halo] = _contrasting(original[halo])
    pixels[line] = colour


def draw_frame(image: Image.Image, *, truth: Rle | None, pred: Rle | None,
               truth_colour: tuple[int, int, int] = GROUND_TRUTH_COLOUR) -> Image.Image:
    """``image`` (already at the drawn size) with the prediction striped and outlined and the truth outlined
    on top, each with contrasting halos (rules in the module docstring); masks are RLE of any size (resized
    nearest-neighbour to the image)."""
    height, width = image.height, image.width
    original = np.asarray(image.convert("RGB"), dtype=np.float64)
    pixels = original.copy()
    if pred is not None:
        mask = rle_ops.decode(rle_ops.resize_nearest(pred, height, width)).astype(bool)
        diagonal = np.add.outer(np.arange(height), np.arange(width)) % HATCH_PERIOD
        stripe, shadow = mask & (diagonal == 0), mask & (diagonal == 1)
        pixels[shadow] = _contrasting(original[shadow])
        pixels[stripe] = PREDICTION_COLOUR
        _paint(pixels, _outline(mask, 1), PREDICTION_COLOUR, original)
    if truth is not None:
        mask = rle_ops.decode(rle_ops.resize_nearest(truth, height, width)).astype(bool)
        _paint(pixels, _outline(mask, 2), truth_colour, original)
    return Image.fromarray(pixels.clip(0, 255).astype(np.uint8))


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


# ------------------------------------------------------------------------------------ one expression


def _target_side(layout: str | None) -> str:
    return {"target-left": "target: left half", "target-right": "target: right half",
            "target-bottom": "target: bottom half"}.get(layout or "", "")


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


def unknown_id_message(data: Path, reference: VideoReference, row_id: str, probe: str) -> str:
    """Why ``row_id`` cannot be drawn under ``probe``, the closest ids it has (difflib) and how to list all."""
    rows = reference.rows_for(probe)
    if row_id in reference.expressions and probe in REVERSED_PROBES:
        why = f"not among the reversed expressions (the `reversed` config) that probe {probe!r} shows"
    else:
        why = "not an expression of this build (ids are '<video_id>_<exp_id>')"
    closest = difflib.get_close_matches(row_id, list(rows), n=CLOSEST_IDS, cutoff=0.0)
    listing = shlex.join(["pixbench", MOCENTRIC.name, "ids", "--data", str(data),
                          *(["--probe", probe] if probe in REVERSED_PROBES else [])])
    return (f"{data}: id {row_id!r} is {why}; closest ids: {', '.join(closest) or 'none'}; "
            f"list them all with `{listing}`")


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
        raise ShowError(unknown_id_message(data, reference, row_id, probe))
    row = rows[row_id]
    view = view_of(row, probe, layout)
    truths: Sequence[Rle] = view.ground_truth(list(row.masks))
    drawn_model, masks = (None, None) if preds is None else read_prediction(
        preds, reference, row_id=row_id, probe=probe, layout=layout, model=model)
    scores: tuple[float, ...] | None = None
    captions = list(view.names)
    if masks is not None:
        if probe == STATIC_PROBE:
            static = static_scores(preds=masks, keyframe_gt=row.masks[row.keyframe])
            scores = tuple(float(v) for v in static.jbg)
            captions = [f"{name} J_bg {jbg:.2f} FPR {fpr:.3f}" for name, jbg, fpr in zip(view.names, static.jbg,
                                                                                          static.fpr)]
        else:
            scores = tuple(frame_j(pred=p, gt=g) for p, g in zip(masks, truths))
            captions = [f"{name} J {j:.2f}" for name, j in zip(view.names, scores)]
    title = (f"{row_id}: {row.expression}",
             f"probe {probe}" + (f", layout {layout} ({_target_side(layout)})" if layout else ""),
             f"model {drawn_model}" if drawn_model else "no prediction (--preds FILE draws a model's)")
    truth_label = "keyframe truth K (must stay empty)" if probe == STATIC_PROBE else "truth"
    colour = KEYFRAME_COLOUR if probe == STATIC_PROBE else GROUND_TRUTH_COLOUR
    legend = [(colour, truth_label)] + ([(PREDICTION_COLOUR, "prediction")] if masks is not None else [])
    frames = _frames(data, row.video_id, len(row.frame_names), (row.height, row.width))
    size = _scaled(view.canvas, max_width)
    tile = _scaled(size, SHEET_TILE_WIDTH)
    pictures: list[Image.Image] = []
    thumbs: list[Image.Image] = []
    for t in range(view.length):
        composed = Image.fromarray(one_frame(view, t).compose(frames)[0])
        pred = None if masks is None else masks[t]
        for drawn, into in ((size, pictures), (tile, thumbs)):
            canvas = composed if composed.size == (drawn[1], drawn[0]) else composed.resize(
                (drawn[1], drawn[0]), Image.Resampling.LANCZOS)
            into.append(draw_frame(canvas, truth=truths[t], pred=pred, truth_colour=colour))
    out.parent.mkdir(parents=True, exist_ok=True)
    head = text_band(title, size[1], legend=legend)
    images = [stacked([head, frame]) for frame in _captioned(pictures, captions, size[1])]
    images[0].save(out, format="GIF", save_all=True, append_images=images[1:], duration=round(1000 / fps), loop=0)
    sheet = out.with_suffix(".png")
    tiles = contact_sheet(_captioned(thumbs, captions, tile[1]), tile_width=tile[1])
    stacked([text_band(title, tiles.width, legend=legend), tiles]).save(sheet, format="PNG")
    return ShowResult(gif=out, sheet=sheet, frames=view.length, canvas=view.canvas, size=size, model=drawn_model,
                      scores=scores, title=title, captions=tuple(captions))


def _captioned(pictures: Sequence[Image.Image], captions: Sequence[str], width: int) -> list[Image.Image]:
    """Each picture under its caption band, all bands as high as the longest caption needs."""
    lines = max(wrapped_lines([caption], width) for caption in captions)
    return [stacked([text_band([caption], width, lines=lines), picture])
            for picture, caption in zip(pictures, captions)]


def _scaled(size: tuple[int, int], max_width: int) -> tuple[int, int]:
    height, width = size
    if width <= max_width:
        return height, width
    return max(1, round(height * max_width / width)), max_width


__all__ = ["ShowError", "ShowResult", "caption_font", "contrast_ratio", "draw_frame", "read_prediction",
           "show_expression", "text_band", "unknown_id_message", "wrap_text"]
