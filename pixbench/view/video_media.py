"""Sprite sheets of a video's frames and masks, as the site's video player draws them.

A sheet holds ``count`` tiles of one size ``tile`` = ``(height, width)``, in rows of ``columns`` tiles: tile ``k``
is at row ``k // columns`` and column ``k % columns`` (pixels ``[r * height, (r + 1) * height)`` x
``[c * width, (c + 1) * width)``); the sheet is ``ceil(count / columns) * height`` by ``columns * width`` pixels
(unused tiles of the last row are black, grey in a frames sheet). :func:`sheet_columns` makes a sheet as wide as
:data:`MAX_SHEET_SIDE` (WebP's limit) allows, so the browser draws any tile with one ``drawImage`` of its rectangle.

- A **frames sheet** is RGB WebP (:func:`frames_webp`), each tile one original frame scaled to the player's
  frame size (:func:`frame_tile`: a JPEG decoded at the smallest DCT scale at least that size, then Lanczos).
- A **mask sheet** is a 1-bit PNG, white where the mask is (:func:`mask_sheet`, :func:`bits_png`), each tile one
  mask resized by nearest neighbour at pixel centres exactly as
  :func:`pixbench.annotation.rle.resize_nearest` does: output pixel ``(r, c)`` is source pixel
  ``((2r + 1) * H // (2h), (2c + 1) * W // (2w))``. It is computed on the masks' runs (never a full-size
  frame): each foreground interval is cut at column boundaries, the sampled source columns kept and their
  row ranges mapped to output rows; a mask of ``None`` is empty. The page colours a mask tile with the site's
  SVG filters (:mod:`pixbench.view.pages`), as it does the image pages' PNG masks.

Nothing here holds more than one sheet.
"""

from __future__ import annotations

import io
import math
import struct
import zlib
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from PIL import Image

from pixbench.annotation import rle as rle_ops
from pixbench.view.media import WEBP_QUALITY

#: The longest side of a sheet (WebP cannot be larger).
MAX_SHEET_SIDE = 16383
#: zlib level of the mask sheets (6: about half the bytes of level 1, a few ms a sheet).
PNG_LEVEL = 6
#: WebP effort of the frames sheets (2: within 2 % of the size at 4, three times faster).
WEBP_METHOD = 2
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


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
    """The masks (RLE of ``source`` = (height, width), ``None``: empty) resized to ``tile`` and laid out in a
    sheet (rules in the module docstring), as a boolean array."""
    big_h, big_w = source
    height, width = tile
    sheet_h, sheet_w = sheet_size(len(masks), tile, columns)
    present = [k for k, mask in enumerate(masks) if mask is not None]
    for k in present:
        found = rle_ops.size_of(masks[k])  # type: ignore[arg-type]
        if found != (big_h, big_w):
            raise SheetError(f"mask {k} is {found[0]}x{found[1]}, expected {big_h}x{big_w}")
    # +1 where a run of rows starts in a sheet column, -1 where it ends; summed down the columns below
    diff = np.zeros((sheet_h + 1, sheet_w), dtype=np.int8)
    if present and big_h and big_w:
        counts = [_counts(masks[k]) for k in present]  # type: ignore[arg-type]
        found_fg = rle_ops.foreground_many(counts, np.full(len(present), big_h * big_w, dtype=np.int64))
        starts, ends, first = found_fg.intervals()
        owner = np.repeat(np.asarray(present, dtype=np.int64), np.diff(first))
        starts, ends = starts.astype(np.int64), ends.astype(np.int64)
        keep = ends > starts
        starts, ends, owner = starts[keep], ends[keep], owner[keep]
        # cut each interval at column boundaries: one piece per source column it covers
        first_col, last_col = starts // big_h, (ends - 1) // big_h
        span = last_col - first_col + 1
        piece = np.repeat(np.arange(starts.size), span)
        column = first_col[piece] + (np.arange(piece.size) - np.repeat(np.cumsum(span) - span, span))
        low = np.maximum(starts[piece] - column * big_h, 0)
        high = np.minimum(ends[piece] - column * big_h, big_h)
        owner = owner[piece]
        # the output column each source column is sampled by (-1: none; display sizes never enlarge, but an
        # enlarged tile samples a source column several times, handled by repeating the pieces)
        out_cols = (2 * np.arange(width, dtype=np.int64) + 1) * big_w // (2 * width)
        out_rows = (2 * np.arange(height, dtype=np.int64) + 1) * big_h // (2 * height)
        order = np.argsort(out_cols, kind="stable")
        lo_at = np.searchsorted(out_cols[order], column, side="left")
        hi_at = np.searchsorted(out_cols[order], column, side="right")
        times = hi_at - lo_at
        again = np.repeat(np.arange(column.size), times)
        target_col = order[lo_at[again] + (np.arange(again.size) - np.repeat(np.cumsum(times) - times, times))]
        low, high, owner = low[again], high[again], owner[again]
        row_lo = np.searchsorted(out_rows, low, side="left")
        row_hi = np.searchsorted(out_rows, high, side="left")
        keep = row_hi > row_lo
        target_col, row_lo, row_hi, owner = target_col[keep], row_lo[keep], row_hi[keep], owner[keep]
        sheet_col = (owner % columns) * width + target_col
        top = (owner // columns) * height
        # a column's pieces are disjoint, so no two start (or end) at one pixel; one may end where another
        # starts: the two statements then cancel there, which joins the two
        diff[top + row_lo, sheet_col] += 1
        diff[top + row_hi, sheet_col] -= 1
    for r in range(1, sheet_h):  # a running sum down the rows: row r += row r - 1 (in place, row by row)
        np.add(diff[r], diff[r - 1], out=diff[r])
    return diff[:sheet_h].view(bool)


def _counts(mask: Mapping[str, Any]) -> str:
    """A mask's compressed counts (the predictions and the truth hold them so; a list of runs is compressed)."""
    counts = mask["counts"]
    return counts if isinstance(counts, str) else rle_ops.normalize(mask)["counts"]


def bits_png(pixels: np.ndarray, level: int = PNG_LEVEL) -> bytes:
    """A boolean array as a 1-bit greyscale PNG (white where true), written directly (no filter, zlib at
    ``level``)."""
    height, width = pixels.shape
    packed = np.packbits(np.asarray(pixels, dtype=bool), axis=1)
    raw = np.zeros((height, packed.shape[1] + 1), dtype=np.uint8)  # each row: filter type 0, then its bits
    raw[:, 1:] = packed

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (_PNG_SIGNATURE + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw.tobytes(), level))
            + chunk(b"IEND", b""))


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


def mask_sheet_png(path: str, masks: Sequence[Mapping[str, Any] | None], source: tuple[int, int],
                   tile: tuple[int, int], columns: int) -> tuple[str, bytes]:
    """``(path, the PNG of the masks' sheet)``: :func:`mask_sheet` then :func:`bits_png` (one call, so that a
    worker process could run it; two processes measured no faster on two shared cores, so none does)."""
    return path, bits_png(mask_sheet(masks, source=source, tile=tile, columns=columns))
