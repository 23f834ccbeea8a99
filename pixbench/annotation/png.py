"""PNG mask files, read as the published evaluators read them.

One function, :func:`read_png` (grey levels: :func:`read_png_grey`), reads a mask as
``cv2.imread(path, cv2.IMREAD_GRAYSCALE) > 0`` does, bit for bit on 8-bit PNGs of every colour type (colour
to grey by libpng's fixed-point rule, alpha ignored, palettes through their colours), any non-zero value on
16-bit ones, with Pillow and numpy (OpenCV is only the tests' reference). The header is read first (size
against the ground truth and a pixel limit, :func:`read_png_header`), and bytes that are not a PNG are refused
(:class:`~pixbench.annotation.rle.MaskError` naming what they are).
"""

from __future__ import annotations

import io
import math
import os
import struct
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np

from pixbench.annotation.rle import MaskError

#: The eight bytes every PNG file starts with.
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: Most pixels :func:`read_png` decodes when the caller names no limit (the most a mask may have).
DEFAULT_PNG_PIXEL_LIMIT = 2**28
#: libpng's fixed-point RGB-to-grey coefficients for OpenCV's ``png_set_rgb_to_gray(png, 1, 0.299, 0.587)``:
#: ``int(29900 * 32768 / 100000)``, ``int(58700 * 32768 / 100000)`` and the rest of 32768 for blue.
_RED, _GREEN, _BLUE = 9797, 19234, 32768 - 9797 - 19234
#: libpng's file gamma (x 100000) of an sRGB chunk, and the band around 1.0 that it treats as no gamma.
_SRGB_GAMMA, _GAMMA_THRESHOLD = 45455, 5000
#: The other formats a file named ``.png`` is most often in, by their first bytes.
_OTHER_FORMATS = ((b"\xff\xd8\xff", "JPEG"), (b"GIF87a", "GIF"), (b"GIF89a", "GIF"), (b"BM", "BMP"),
                  (b"II*\x00", "TIFF"), (b"MM\x00*", "TIFF"), (b"\x00\x00\x00\x0cjP  ", "JPEG 2000"))
#: Bit depths allowed for each PNG colour type (0 grey, 2 RGB, 3 palette, 4 grey + alpha, 6 RGBA).
_DEPTHS = {0: (1, 2, 4, 8, 16), 2: (8, 16), 3: (1, 2, 4, 8), 4: (8, 16), 6: (8, 16)}
#: The chunks that decide libpng's file gamma, and their lengths.
_GAMMA_CHUNKS = {b"gAMA": 4, b"sRGB": 1, b"cICP": 4}
#: Pillow raw modes giving the low bytes of a 16-bit colour PNG (its default gives the high bytes).
_LOW_BYTES = {2: "RGB;16L", 4: "RGBA", 6: "RGBA;16L"}


class PngSizeError(MaskError):
    """A PNG whose header gives another size than the one expected; ``size`` is its ``(height, width)``."""

    def __init__(self, size: tuple[int, int], expected: tuple[int, int]) -> None:
        self.size = size
        super().__init__(f"size [{size[0]}, {size[1]}] != ground truth {list(expected)}")


@dataclass(frozen=True)
class PngHeader:
    """What a PNG's ``IHDR`` chunk says: size, bits per sample and colour type (0 grey, 2 RGB,
    3 palette, 4 grey + alpha, 6 RGBA)."""

    height: int
    width: int
    bit_depth: int
    color_type: int


def _open_png(source: str | os.PathLike[str] | bytes) -> BinaryIO:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return io.BytesIO(bytes(source))
    try:
        return open(source, "rb")
    except OSError as exc:
        raise MaskError(f"cannot read: {exc.strerror or exc}") from None


def _header(stream: BinaryIO) -> PngHeader:
    head = stream.read(33)
    if not head.startswith(PNG_SIGNATURE):
        if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
            raise MaskError("not a PNG file (WebP)")
        for magic, name in _OTHER_FORMATS:
            if head.startswith(magic):
                raise MaskError(f"not a PNG file ({name})")
        raise MaskError(f"unreadable PNG: not a PNG file (no PNG signature; it starts with {head[:12]!r})")
    if len(head) < 33 or head[8:16] != b"\x00\x00\x00\x0dIHDR":
        raise MaskError("unreadable PNG: the file does not start with an IHDR chunk of 13 bytes")
    width, height, depth, color = struct.unpack(">IIBB", head[16:26])
    if not (0 < width < 2**31 and 0 < height < 2**31) or depth not in _DEPTHS.get(color, ()):
        raise MaskError(f"unreadable PNG: damaged IHDR ({width}x{height} pixels, colour type {color}, "
                        f"bit depth {depth})")
    return PngHeader(height, width, depth, color)


def read_png_header(source: str | os.PathLike[str] | bytes) -> PngHeader:
    """The header of a PNG file (or of its bytes), read without decoding a pixel.

    Raises :class:`MaskError` for a file that cannot be opened, bytes that are not a PNG (``not a PNG
    file (JPEG)`` for a JPEG named ``.png``) and a damaged header.
    """
    with _open_png(source) as stream:
        return _header(stream)


def _chunk_gamma(stream: BinaryIO) -> int:
    """The file gamma (x 100000, 0 = none) that libpng 1.6 takes from the chunks before the image data.

    An ``sRGB`` chunk gives 45455 and wins over ``gAMA``; each counts only before ``PLTE``, once, with its
    exact length and a valid value (libpng drops the others with a warning).
    """
    stream.seek(33)
    gamma, seen, after_palette = 0, set(), False
    while True:
        head = stream.read(8)
        if len(head) < 8:
            return gamma
        length, kind = int.from_bytes(head[:4], "big"), head[4:]
        if kind == b"IDAT":
            return gamma
        wanted = _GAMMA_CHUNKS.get(kind)
        data = stream.read(length) if wanted == length else b""
        stream.seek(length - len(data) + 4, os.SEEK_CUR)  # the rest of the data and the CRC
        if kind == b"PLTE":
            after_palette = True
        if wanted != length or after_palette or kind in seen or len(data) != length:
            continue
        if kind == b"gAMA":
            value = int.from_bytes(data, "big")
            if value > 2**31 - 1:
                continue
            gamma = gamma or value
        elif kind == b"sRGB":
            if data[0] > 3:
                continue
            if b"cICP" not in seen or gamma == 0:
                gamma = _SRGB_GAMMA
        seen.add(kind)


def _reciprocal(value: int) -> int:
    """libpng's ``png_reciprocal``: 1e10 / value in fixed point, 0 when it overflows."""
    result = math.floor(1e10 / value + 0.5) if value else 2**31
    return int(result) if -(2**31) <= result <= 2**31 - 1 else 0


def _reciprocal2(first: int, second: int) -> int:
    """libpng's ``png_reciprocal2``: 1e15 / first / second in fixed point, 0 when it overflows."""
    if not first or not second:
        return 0
    result = math.floor(1e15 / first / second + 0.5)
    return int(result) if -(2**31) <= result <= 2**31 - 1 else 0


def _gamma_table(gamma: int) -> np.ndarray:
    """libpng's 8-bit gamma table for ``gamma`` (x 100000): the identity when it is within 5% of 1."""
    if abs(gamma - 100_000) <= _GAMMA_THRESHOLD:
        return np.arange(256, dtype=np.uint8)
    table = np.floor(255 * np.power(np.arange(256) / 255, gamma * 0.00001) + 0.5)
    table[0], table[255] = 0, 255
    return table.astype(np.uint8)


def _luminance(red: np.ndarray, green: np.ndarray, blue: np.ndarray, file_gamma: int) -> np.ndarray:
    """OpenCV's grey level of 8-bit colours: libpng's ``png_do_rgb_to_gray`` with OpenCV's coefficients.

    Without a file gamma away from 1.0 it is ``(9797 r + 19234 g + 3737 b) >> 15``; with one, libpng
    converts through linear light with its gamma tables and rounds (``png_init_gamma_values`` and
    ``png_build_gamma_table``: the screen gamma is the file gamma's reciprocal).
    """
    file_gamma, screen = (file_gamma, _reciprocal(file_gamma)) if file_gamma > 0 else (100_000, 100_000)
    if abs(file_gamma - 100_000) <= _GAMMA_THRESHOLD and abs(screen - 100_000) <= _GAMMA_THRESHOLD:
        acc = red.astype(np.uint32) * np.uint32(_RED)
        acc += green.astype(np.uint32) * np.uint32(_GREEN)
        acc += blue.astype(np.uint32) * np.uint32(_BLUE)
        acc >>= 15
        return acc.astype(np.uint8)
    to_linear = _gamma_table(_reciprocal(file_gamma)).astype(np.uint32)
    from_linear = _gamma_table(_reciprocal(screen) if screen > 0 else file_gamma)
    grey = _gamma_table(_reciprocal2(screen, file_gamma) if screen > 0 else 100_000)
    acc = to_linear[red] * np.uint32(_RED) + to_linear[green] * np.uint32(_GREEN) + to_linear[blue] * np.uint32(_BLUE)
    acc += np.uint32(16384)
    acc >>= 15
    return np.where((red == green) & (green == blue), grey[red], from_linear[acc])


def _decode(stream: BinaryIO, rawmode: str | None = None) -> tuple[np.ndarray, list[int] | None]:
    """The pixels as Pillow's PNG decoder gives them, and the palette of a palette image.

    ``rawmode`` replaces the decoder's raw mode. The PNG plugin is used directly: nothing but a PNG is
    decoded, and Pillow's decompression-bomb warning is never raised (the caller checked the size).
    """
    from PIL import PngImagePlugin  # here: scoring RLE masks needs no image library

    stream.seek(0)
    with PngImagePlugin.PngImageFile(stream) as image:
        if rawmode is not None:  # Pillow >= 11 has named tiles; before, tuples (codec, extents, offset, args)
            image.tile = [tile._replace(args=rawmode) if hasattr(tile, "_replace")  # type: ignore[misc]
                          else (*tile[:3], rawmode) for tile in image.tile]
        array = np.asarray(image)
        return array, image.getpalette("RGB") if image.mode == "P" else None


def _grey(stream: BinaryIO, header: PngHeader) -> np.ndarray:
    """The grey levels of a PNG whose header was read (see :func:`read_png_grey`)."""
    if header.bit_depth == 16:
        high, _ = _decode(stream)
        if header.color_type == 0:
            return np.asarray(high, dtype=np.uint16)
        if header.color_type == 4:  # decoded as bytes: grey high, grey low, alpha high, alpha low
            pairs, _ = _decode(stream, _LOW_BYTES[4])
            return (pairs[..., 0].astype(np.uint16) << 8) | pairs[..., 1]
        low, _ = _decode(stream, _LOW_BYTES[header.color_type])
        return ((high[..., :3].astype(np.uint16) << 8) | low[..., :3]).max(axis=2)
    gamma = _chunk_gamma(stream) if header.color_type in (2, 3, 6) else 0
    array, palette = _decode(stream)
    if palette is not None:  # each entry's grey; indices past the palette are black, as in libpng
        entries = np.zeros(768, dtype=np.uint8)
        entries[:min(len(palette), 768)] = palette[:768]
        colours = entries.reshape(256, 3)
        return _luminance(colours[:, 0], colours[:, 1], colours[:, 2], gamma)[array]
    if array.dtype == bool:  # 1-bit grey
        return array.astype(np.uint8) * np.uint8(255)
    if array.ndim == 2:  # 2-, 4- and 8-bit grey, scaled to 0..255 by Pillow as by libpng
        return array
    if header.color_type == 4:
        return np.ascontiguousarray(array[..., 0])
    return _luminance(array[..., 0], array[..., 1], array[..., 2], gamma)


def read_png_grey(source: str | os.PathLike[str] | bytes, *, expected: tuple[int, int] | None = None,
                  max_pixels: int | None = DEFAULT_PNG_PIXEL_LIMIT) -> np.ndarray:
    """The grey levels of a PNG mask (a path or the file's bytes) as the published evaluator reads them.

    8-bit and smaller PNGs of every colour type give what ``cv2.imread(path, cv2.IMREAD_GRAYSCALE)``
    gives, bit for bit (``uint8``; OpenCV with libpng 1.6, read with Pillow and numpy): grey as is (1, 2
    and 4 bits scaled to 0..255), alpha ignored, palette entries and RGB(A) pixels turned to grey by
    libpng's ``(9797 r + 19234 g + 3737 b) >> 15`` (0.299, 0.587, 0.114 truncated; through linear light
    when a ``gAMA`` or ``sRGB`` chunk gives a gamma away from 1.0). So pure blue under 9 reads as 0.
    16-bit PNGs give ``uint16``: the grey value, or the largest of R, G and B (alpha ignored), so that
    every non-zero value is kept (OpenCV's 8-bit read would drop values under 256).

    The header is read first: the size must be ``expected`` (``(height, width)``) when given, else
    :class:`PngSizeError`, and have at most ``max_pixels`` pixels (``None``: no limit), before any pixel
    is decoded. Bytes that are not a PNG (a JPEG named ``.png``), damaged files and files that cannot be
    read raise :class:`MaskError`; messages do not name the file (callers do).
    """
    with _open_png(source) as stream:
        header = _header(stream)
        if expected is not None and (header.height, header.width) != tuple(expected):
            raise PngSizeError((header.height, header.width), (int(expected[0]), int(expected[1])))
        if max_pixels is not None and header.height * header.width > max_pixels:
            raise MaskError(f"{header.height}x{header.width} pixels is more than the {max_pixels:,} a mask may have")
        try:
            return _grey(stream, header)
        except MemoryError:
            raise
        except Exception as exc:  # Pillow raises many types (OSError, SyntaxError, ValueError...) for damage
            raise MaskError(f"unreadable PNG: {str(exc)[:200] or type(exc).__name__}") from None


def read_png(source: str | os.PathLike[str] | bytes, *, expected: tuple[int, int] | None = None,
             max_pixels: int | None = DEFAULT_PNG_PIXEL_LIMIT) -> np.ndarray:
    """A mask from a PNG file (or its bytes): a pixel is foreground when its grey level is not zero.

    The grey level is :func:`read_png_grey`'s, so the mask is ``cv2.imread(path, cv2.IMREAD_GRAYSCALE) > 0``
    for 8-bit PNGs (an RGBA mask with opaque alpha and a black background reads as drawn), and any
    non-zero value for 16-bit ones. Checks and errors are :func:`read_png_grey`'s.
    """
    return read_png_grey(source, expected=expected, max_pixels=max_pixels) != 0
