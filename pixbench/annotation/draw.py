"""Drawing masks, polygons and points over images, so maintainers can review annotations by eye.

Colours cycle through a fixed palette (instance k gets colour k), masks are alpha-blended with a
one-pixel outline, polygons are drawn as outlines with their vertices, points as crosses. Images
without pixels (annotations-only builds) are drawn on a neutral grey canvas of the image's size.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from pixbench.annotation import rle as rle_ops

PALETTE: tuple[tuple[int, int, int], ...] = (
    (230, 25, 75), (60, 180, 75), (255, 225, 25), (0, 130, 200), (245, 130, 48), (145, 30, 180),
    (70, 240, 240), (240, 50, 230), (210, 245, 60), (250, 190, 212), (0, 128, 128), (170, 110, 40),
)


def _as_array(mask: np.ndarray | Mapping[str, Any]) -> np.ndarray:
    return rle_ops.decode(mask) if isinstance(mask, Mapping) else np.asarray(mask) != 0


def blank_image(height: int, width: int) -> Image.Image:
    """A neutral grey canvas for rows without image pixels."""
    return Image.new("RGB", (width, height), (128, 128, 128))


def overlay(image: Image.Image, masks: Sequence[np.ndarray | Mapping[str, Any]] = (),
            polygons: Sequence[Sequence[float]] = (), points: Sequence[Sequence[float]] = (),
            alpha: float = 0.5) -> Image.Image:
    """A copy of ``image`` with masks blended in (colour k for mask k), polygon outlines and points.

    Masks are HxW arrays or RLE dicts of the image's size; polygons flat ``[x1, y1, ...]`` pixel
    lists; points ``(x, y)`` pixels. Raises ``ValueError`` when a mask's size differs from the image.
    """
    base = np.asarray(image.convert("RGB"), dtype=np.float32).copy()
    edges = np.zeros(base.shape[:2], dtype=bool)
    edge_colour = np.zeros_like(base)
    for k, mask in enumerate(masks):
        array = _as_array(mask)
        if array.shape != base.shape[:2]:
            raise ValueError(f"Expected mask {k} of size {list(base.shape[:2])}, but got {list(array.shape)}")
        colour = np.array(PALETTE[k % len(PALETTE)], dtype=np.float32)
        base[array] = (1 - alpha) * base[array] + alpha * colour
        boundary = array & ~_eroded(array)
        edges |= boundary
        edge_colour[boundary] = colour
    base[edges] = edge_colour[edges]
    result = Image.fromarray(base.clip(0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(result)
    for k, polygon in enumerate(polygons):
        vertices = list(zip(polygon[0::2], polygon[1::2]))
        if len(vertices) >= 2:
            draw.line([*vertices, vertices[0]], fill=PALETTE[k % len(PALETTE)], width=1)
        for x, y in vertices:
            draw.rectangle([x - 1, y - 1, x + 1, y + 1], outline=(255, 255, 255))
    size = max(3, round(min(result.size) / 40))
    for x, y in points:
        draw.line([x - size, y, x + size, y], fill=(255, 255, 255), width=2)
        draw.line([x, y - size, x, y + size], fill=(255, 255, 255), width=2)
        draw.point((x, y), fill=(0, 0, 0))
    return result


def _eroded(mask: np.ndarray) -> np.ndarray:
    """4-neighbour erosion (pixels whose neighbours are all foreground), for outlines."""
    padded = np.pad(mask, 1, constant_values=False)
    return (padded[1:-1, 1:-1] & padded[:-2, 1:-1] & padded[2:, 1:-1]
            & padded[1:-1, :-2] & padded[1:-1, 2:])


def contact_sheet(images: Sequence[Image.Image], labels: Sequence[str], *, tile: int = 256,
                  columns: int | None = None) -> Image.Image:
    """Tiles of ``tile`` px (scaled to fit, aspect kept, letterboxed) in a grid with a label under each."""
    if len(images) != len(labels):
        raise ValueError(f"Expected one label per image, but got {len(labels)} labels for {len(images)} images")
    count = max(1, len(images))
    columns = columns or max(1, math.ceil(math.sqrt(count)))
    rows = math.ceil(count / columns)
    label_height = 14
    sheet = Image.new("RGB", (columns * tile, rows * (tile + label_height)), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    for k, (image, label) in enumerate(zip(images, labels)):
        scale = min(tile / image.width, tile / image.height)
        thumb = image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))),
                             Image.Resampling.NEAREST if scale > 1 else Image.Resampling.LANCZOS)
        x0, y0 = (k % columns) * tile, (k // columns) * (tile + label_height)
        sheet.paste(thumb, (x0 + (tile - thumb.width) // 2, y0 + (tile - thumb.height) // 2))
        draw.text((x0 + 2, y0 + tile + 1), label[: tile // 6], fill=(0, 0, 0))
    return sheet
