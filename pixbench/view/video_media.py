"""Sprite sheets of a video's frames and masks, as the site's video player draws them.

A sheet holds ``count`` tiles of one size ``tile`` = ``(height, width)``, in rows of ``columns`` tiles: tile ``k``
is at row ``k // columns`` and column ``k % columns`` (pixels ``[r * height, (r + 1) * height)`` x
``[c * width, (c + 1) * width)``); the sheet is ``ceil(count / columns) * height`` by ``columns * width`` pixels
(unused tiles of the last row are black, grey in a frames sheet). :func:`sheet_columns` makes a sheet as wide as
:data:`MAX_SHEET_SIDE` (WebP's limit) allows, so the browser draws any tile with one ``drawImage`` of its rectangle.

- A **frames sheet** is RGB WebP (:func:`frames_webp`), each tile one original frame scaled to the player's
  frame size (:func:`frame_tile`: a JPEG decoded at the smallest DCT scale at least that size, then Lanczos).
- A **mask sheet** is a 1-bit PNG, white where the mask is (:func:`mask_sheet`, then
  :func:`pixbench.view.media.bits_png`), each tile one mask resized as the image pages resize theirs
  (:class:`pixbench.view.media.MaskDrawer`: on the runs, nearest neighbour at pixel centres, exactly
  :func:`pixbench.annotation.rle.resize_nearest`); a mask of ``None`` is empty. The page colours a mask tile with
  the site's SVG filters (:mod:`pixbench.view.pages`), as it does the image pages' PNG masks.

Nothing here holds more than one sheet.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from PIL import Image

from pixbench.view.media import WEBP_QUALITY, MaskDrawer

#: The longest side of a sheet (WebP cannot be larger).
MAX_SHEET_SIDE = 16383
#: WebP effort of the frames sheets (2: within 2 % of the size at 4, three times faster).
WEBP_METHOD = 2


class SheetError(ValueError):
    """A sheet that cannot be made (too large for the format, masks of another size)."""


def sheet_columns(count: int, tile: tuple[int, int]) -> int:
    """Tiles per row of a sheet of ``count`` tiles of ``tile`` (height, width): as many as fit in
    :data:`MAX_SHEET_SIDE` pixels (the fewest rows of pixels: a mask sheet is summed row by row); a sheet that
    cannot fit, :class:`SheetError`.

    Examples:
        >>> sheet_columns(48, (270, 480)), sheet_columns(48, (270, 960)), sheet_columns(3, (8, 96))
        (34, 17, 3)
    """
    height, width = tile
    if count < 1:
        raise SheetError(f"Expected at least one tile, but got {count}")
    columns = max(1, min(count, MAX_SHEET_SIDE // max(width, 1)))
    if columns * width > MAX_SHEET_SIDE or math.ceil(count / columns) * height > MAX_SHEET_SIDE:
        raise SheetError(f"{count} tiles of {height}x{width} px do not fit a sheet of at most {MAX_SHEET_SIDE} px a "
                         "side: show fewer frames (video_frames) or smaller ones (video_side)")
    return columns


def sheet_size(count: int, tile: tuple[int, int], columns: int) -> tuple[int, int]:
    """``(height, width)`` of a sheet (see the module docstring)."""
    return math.ceil(count / columns) * tile[0], columns * tile[1]


def mask_sheet(masks: Sequence[Mapping[str, Any] | None], *, source: tuple[int, int], tile: tuple[int, int],
               columns: int) -> np.ndarray:
    """The masks (RLE of ``source`` = (height, width), ``None``: empty) resized to ``tile`` by
    :class:`~pixbench.view.media.MaskDrawer` (on their runs) and laid out in a sheet, as a boolean array;
    :class:`~pixbench.annotation.rle.MaskError` for a mask of another size."""
    height, width = tile
    sheet = np.zeros(sheet_size(len(masks), tile, columns), dtype=bool)
    if not masks:
        return sheet
    pixels = MaskDrawer(source, tile).pixels_many(masks)
    for start in range(0, len(masks), columns):  # a row of tiles at a time
        row = pixels[start:start + columns]
        top = (start // columns) * height
        sheet[top:top + height, :row.shape[0] * width] = row.transpose(1, 0, 2).reshape(height, -1)
    return sheet


def frame_tile(data: bytes, size: tuple[int, int], expected: tuple[int, int]) -> Image.Image:
    """An encoded frame of ``expected`` (height, width) as an RGB image of ``size`` (height, width);
    :class:`SheetError` for a frame of another size (``OSError`` for one that cannot be decoded)."""
    height, width = size
    with Image.open(io.BytesIO(data)) as image:
        if image.size != (expected[1], expected[0]):
            raise SheetError(f"a frame of {image.height}x{image.width}, expected {expected[0]}x{expected[1]}")
        image.draft("RGB", (width, height))  # JPEG: decode at the smallest scale still at least that size
        rgb = image.convert("RGB")
    if rgb.size != (width, height):
        rgb = rgb.resize((width, height), Image.Resampling.LANCZOS)
    return rgb


def frames_webp(tiles: Sequence[Image.Image | None], tile: tuple[int, int], columns: int,
                quality: int = WEBP_QUALITY) -> bytes:
    """The tiles (RGB images of ``tile``; ``None``: grey) as a WebP sheet."""
    sheet_h, sheet_w = sheet_size(len(tiles), tile, columns)
    sheet = Image.new("RGB", (sheet_w, sheet_h), (128, 128, 128))
    for k, image in enumerate(tiles):
        if image is not None:
            sheet.paste(image, ((k % columns) * tile[1], (k // columns) * tile[0]))
    buffer = io.BytesIO()
    sheet.save(buffer, format="WEBP", quality=quality, method=WEBP_METHOD)
    return buffer.getvalue()
