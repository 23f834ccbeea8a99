"""Images and masks at display size, as the site's pages show them.

- An image is scaled so that its longer side is at most ``max_side`` pixels (never enlarged) and written as
  WebP (``quality`` 80, effort :data:`WEBP_METHOD`): the display size is :func:`display_size`, the same for the
  image and every mask drawn over it. A JPEG is decoded at the smallest of its DCT scales (1/2, 1/4, 1/8) that is
  still at least the display size (PIL's ``draft``), then resized (:data:`RESAMPLING`); a sample's thumbnail is
  the displayed image resized again (:func:`display_webps`).
- A mask (RLE of the image's full size) is resampled to the display size by nearest neighbour at pixel
  centres, exactly as :func:`pixbench.annotation.rle.resize_nearest` does (output pixel ``(r, c)`` is source
  pixel ``((2r + 1) * H // (2h), (2c + 1) * W // (2w))``), and written as a 1-bit greyscale PNG (rows
  unfiltered, zlib level :data:`PNG_LEVEL`: :func:`bits_png`), white where the mask is: the page colours it,
  fills or outlines it and sets its opacity (CSS and an SVG filter), so one file serves every way of drawing
  it. An empty mask is a valid (all black) PNG of a few dozen bytes. :class:`MaskDrawer` draws the many masks
  of one image (the sampled rows and columns computed once).

Nothing here keeps more than one image in memory.
"""

from __future__ import annotations

import io
import math
import struct
import zlib
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

import numpy as np
from PIL import Image

from pixbench.annotation import rle as rle_ops

#: The longer side of images and masks on a sample page, in pixels (a page shows one large image).
DEFAULT_MAX_SIDE = 768
WEBP_QUALITY = 80
#: WebP effort (0-6) of images: 0 is within 2 % of the size at 2 in half the time (photographs at 768 px).
WEBP_METHOD = 0
#: zlib level of mask PNGs: 6 is about 13 % larger than 9 and five times faster.
PNG_LEVEL = 6
#: How images are scaled down (after a JPEG's reduced decoding, by at most 2): bicubic, half Lanczos' time.
RESAMPLING = Image.Resampling.BICUBIC
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def display_size(height: int, width: int, max_side: int) -> tuple[int, int]:
    """``(height, width)`` scaled so that the longer side is at most ``max_side`` (at least 1 pixel each).

    Examples:
        >>> display_size(1080, 1920, 768)
        (432, 768)
        >>> display_size(100, 50, 768)
        (100, 50)
    """
    scale = min(1.0, max_side / max(height, width, 1))
    return max(1, math.floor(height * scale + 0.5)), max(1, math.floor(width * scale + 0.5))


def _webp(image: Image.Image, quality: int) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="WEBP", quality=quality, method=WEBP_METHOD)
    return buffer.getvalue()


def _scaled(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    """``image`` (any mode; a JPEG not loaded yet is decoded at a reduced scale) as RGB of ``size``
    (height, width)."""
    target = (size[1], size[0])
    if image.size != target:
        image.draft("RGB", target)  # JPEG only: the smallest DCT scale still at least the target
    rgb = image.convert("RGB")
    return rgb if rgb.size == target else rgb.resize(target, RESAMPLING)


def image_webp(image: Image.Image, size: tuple[int, int], quality: int = WEBP_QUALITY) -> bytes:
    """``image`` (any mode) as RGB WebP of ``size`` (height, width)."""
    return _webp(_scaled(image, size), quality)


def display_webps(image: Image.Image, size: tuple[int, int], thumb: tuple[int, int],
                  quality: int = WEBP_QUALITY) -> tuple[bytes, bytes]:
    """``image`` as WebP at ``size`` and, resized from that, at ``thumb`` (both (height, width)); ``OSError``
    when it cannot be decoded."""
    shown = _scaled(image, size)
    small = shown if shown.size == (thumb[1], thumb[0]) else shown.resize((thumb[1], thumb[0]), RESAMPLING)
    return _webp(shown, quality), _webp(small, quality)


@lru_cache(maxsize=64)
def grey_webp(size: tuple[int, int]) -> bytes:
    """A neutral grey canvas (rows of a build without images)."""
    return _webp(Image.new("RGB", (size[1], size[0]), (128, 128, 128)), WEBP_QUALITY)


def _sampled(length: int, shown: int) -> np.ndarray:
    """The source index of each of ``shown`` output pixels along a side of ``length`` (pixel centres)."""
    return (2 * np.arange(shown, dtype=np.int64) + 1) * length // (2 * shown)


def bits_png(pixels: np.ndarray, level: int = PNG_LEVEL) -> bytes:
    """A 2-D array as a 1-bit greyscale PNG, white where non-zero (written directly: rows without a filter,
    zlib at ``level``).

    Examples:
        >>> from PIL import Image
        >>> image = Image.open(io.BytesIO(bits_png(np.array([[0, 1, 1], [1, 0, 0]]))))
        >>> image.mode, image.size, np.asarray(image.convert("L")).tolist()
        ('1', (3, 2), [[0, 255, 255], [255, 0, 0]])
    """
    height, width = pixels.shape
    bits = pixels if pixels.dtype == bool else np.asarray(pixels) != 0
    packed = np.packbits(bits, axis=1)
    raw = np.zeros((height, packed.shape[1] + 1), dtype=np.uint8)  # each row: filter type 0, then its bits
    raw[:, 1:] = packed
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (_PNG_SIGNATURE + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(raw.tobytes(), level))
            + _chunk(b"IEND", b""))


def _chunk(tag: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)


class MaskDrawer:
    """Draws masks of one image size (``source``: height, width) as 1-bit PNGs of ``size`` (height, width).

    Masks are resized on their runs, many at once, never as full-size arrays: each foreground interval (a
    column-major run) is cut at column boundaries, the pieces in sampled source columns kept, their row ranges
    mapped to the output rows whose sampled source row they hold, and the output marked +1 at a piece's first
    row and -1 past its last, summed down the columns. (A larger ``size`` than ``source``, which the site never
    asks for, is drawn from the decoded masks.)
    """

    #: Masks resized in one pass (the pass holds two bytes a display pixel a mask).
    BATCH = 32

    def __init__(self, source: tuple[int, int], size: tuple[int, int]) -> None:
        self.source, self.size = (int(source[0]), int(source[1])), (int(size[0]), int(size[1]))
        (big_h, big_w), (height, width) = self.source, self.size
        self._rows = _sampled(big_h, height) if big_h and height else np.zeros(0, dtype=np.int64)
        self._columns = _sampled(big_w, width) if big_w and width else np.zeros(0, dtype=np.int64)
        self._enlarged = height > big_h or width > big_w
        self._column_at = np.full(big_w, -1, dtype=np.int64)  # source column -> the output column sampling it
        if not self._enlarged:
            self._column_at[self._columns] = np.arange(width, dtype=np.int64)
        self._empty: bytes | None = None

    def _check(self, masks: Sequence[Mapping[str, Any] | None]) -> list[int]:
        present = []
        for k, mask in enumerate(masks):
            if mask is None:
                continue
            found = rle_ops.size_of(mask)
            if found != self.source:
                raise rle_ops.MaskError(f"Expected a mask of {self.source[0]}x{self.source[1]}, but got "
                                        f"{found[0]}x{found[1]}")
            present.append(k)
        return present

    def pixels_many(self, masks: Sequence[Mapping[str, Any] | None], *,
                    runs: rle_ops.RunsCache | None = None) -> np.ndarray:
        """The masks (``None``: empty) at the display size: a boolean array ``(len(masks), height, width)``
        (``runs`` may hold their decoded runs); :class:`~pixbench.annotation.rle.MaskError` for a mask of
        another size."""
        (big_h, big_w), (height, width) = self.source, self.size
        present = self._check(masks)
        if self._enlarged:
            out = np.zeros((len(masks), height, width), dtype=bool)
            for k in present:
                mask = masks[k]
                assert mask is not None
                out[k] = rle_ops.decode(mask).take(self._rows, axis=0).take(self._columns, axis=1) != 0
            return out
        # marks[r, k, c]: +1 where a piece of mask k starts at output row r of column c, -1 past its end
        marks = np.zeros((height + 1, len(masks), width), dtype=np.int8)
        if present and big_h * big_w and height * width:
            counts = [_text_counts(masks[k]) for k in present]  # type: ignore[arg-type]
            found = rle_ops.foreground_many(counts, np.full(len(present), big_h * big_w, dtype=np.int64), cache=runs)
            starts, ends, first = found.intervals()
            owner = np.repeat(np.asarray(present, dtype=np.int64), np.diff(first))
            starts, ends = starts.astype(np.int64), ends.astype(np.int64)
            keep = ends > starts
            starts, ends, owner = starts[keep], ends[keep], owner[keep]
            first_column = starts // big_h
            span = (ends - 1) // big_h - first_column + 1
            piece = np.repeat(np.arange(starts.size, dtype=np.int64), span)
            column = first_column[piece] + (np.arange(piece.size, dtype=np.int64) - np.repeat(np.cumsum(span) - span,
                                                                                               span))
            out_column = self._column_at[column]
            keep = out_column >= 0
            piece, column, out_column = piece[keep], column[keep], out_column[keep]
            low = np.searchsorted(self._rows, np.maximum(starts[piece] - column * big_h, 0), side="left")
            high = np.searchsorted(self._rows, np.minimum(ends[piece] - column * big_h, big_h), side="left")
            keep = high > low
            who, out_column = owner[piece][keep], out_column[keep]
            np.add.at(marks, (low[keep], who, out_column), 1)
            np.subtract.at(marks, (high[keep], who, out_column), 1)
        for row in range(1, height):  # summed down the columns, a row at a time (faster than np.cumsum here)
            np.add(marks[row], marks[row - 1], out=marks[row])
        return marks[:height].view(bool).transpose(1, 0, 2)

    def pngs(self, masks: Sequence[Mapping[str, Any] | None], *,
             runs: rle_ops.RunsCache | None = None) -> list[bytes]:
        """The masks (``None``: empty) as 1-bit PNGs of the display size (``runs`` may hold their runs)."""
        out: list[bytes] = []
        for start in range(0, len(masks), self.BATCH):
            batch = masks[start:start + self.BATCH]
            drawn = self.pixels_many(batch, runs=runs)
            out += [self._blank() if mask is None else bits_png(pixels) for mask, pixels in zip(batch, drawn)]
        return out

    def _blank(self) -> bytes:
        if self._empty is None:
            self._empty = bits_png(np.zeros(self.size, dtype=np.uint8))
        return self._empty


def _text_counts(mask: Mapping[str, Any]) -> str:
    counts = mask.get("counts")
    return counts if isinstance(counts, str) else rle_ops.normalize(mask)["counts"]
