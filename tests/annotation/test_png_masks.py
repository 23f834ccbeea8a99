"""PNG masks read as the published evaluator reads them: ``cv2.imread(path, cv2.IMREAD_GRAYSCALE)``, then > 0.

Every test writes real PNG files (Pillow, OpenCV, matplotlib, or chunk by chunk where no library writes
that kind) and compares :func:`pixbench.annotation.png.read_png_grey` with OpenCV's grey levels, value for
value, on every 8-bit colour type: all 2**24 RGB colours in one 4096 x 4096 image, palettes (with and
without transparency, 1 to 8 bits), grey (1 to 8 bits), grey + alpha, RGB, RGBA, with and without gamma
chunks. OpenCV is a test dependency only (the ``dev`` extra); pixbench reads PNGs with Pillow and numpy.
"""

from __future__ import annotations

import struct
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFile, PngImagePlugin

from pixbench.annotation import png
from pixbench.annotation.png import PngSizeError, read_png, read_png_grey, read_png_header
from pixbench.annotation.rle import MaskError

cv2 = pytest.importorskip("cv2")


def chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def raw_png(width: int, height: int, depth: int, color: int, rows: list[bytes], extra: bytes = b"") -> bytes:
    """A PNG chunk by chunk: IHDR, ``extra`` chunks, one IDAT of unfiltered ``rows``, IEND."""
    header = struct.pack(">IIBBBBB", width, height, depth, color, 0, 0, 0)
    data = zlib.compress(b"".join(b"\x00" + row for row in rows))
    return (png.PNG_SIGNATURE + chunk(b"IHDR", header) + extra + chunk(b"IDAT", data) + chunk(b"IEND", b""))


def with_chunks(png: bytes, chunks: bytes, *, before_image_data: bool = False) -> bytes:
    """``png`` with ``chunks`` inserted right after IHDR (before any PLTE), or right before the first IDAT."""
    at = png.index(b"IDAT") - 4 if before_image_data else 33
    return png[:at] + chunks + png[at:]


def gamma_chunk(value: int) -> bytes:
    return chunk(b"gAMA", struct.pack(">I", value))


SRGB = chunk(b"sRGB", b"\x00")


def opencv_grey(path: Path) -> np.ndarray:
    grey = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    assert grey is not None, f"OpenCV could not read {path}"
    return grey


def assert_reads_as_opencv(path: Path, *, every_way: bool = True) -> np.ndarray:
    expected = opencv_grey(path)
    grey = read_png_grey(path)
    assert grey.dtype == np.uint8 and grey.shape == expected.shape
    assert np.array_equal(grey, expected), f"{path.name}: {(grey != expected).sum()} pixel(s) differ"
    if every_way:
        assert np.array_equal(read_png(path), expected > 0)
        assert np.array_equal(read_png_grey(path.read_bytes()), expected)  # bytes read as the file
    return grey


def _colours(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Random 8-bit values, half of them under 13 (where the foreground decision is made)."""
    values = rng.integers(0, 256, shape, dtype=np.uint8)
    low = rng.random(shape) < 0.5
    values[low] = rng.integers(0, 13, int(low.sum()), dtype=np.uint8)
    return values


# ------------------------------------------------------------------ every colour


@pytest.mark.parametrize("chunks", [b"", SRGB], ids=["no-gamma", "srgb"])
def test_all_rgb_colours_read_as_opencv(tmp_path, chunks):
    values = np.arange(1 << 24, dtype=np.uint32)
    rgb = np.stack([values >> 16, (values >> 8) & 255, values & 255], axis=-1).astype(np.uint8)
    ok, encoded = cv2.imencode(".png", rgb.reshape(4096, 4096, 3)[..., ::-1], [cv2.IMWRITE_PNG_COMPRESSION, 1])
    assert ok
    path = tmp_path / "all.png"
    path.write_bytes(with_chunks(encoded.tobytes(), chunks))
    grey = assert_reads_as_opencv(path, every_way=False).reshape(-1)
    if not chunks:  # the rule written out: libpng's truncated fixed-point luminance
        luminance = rgb[:, 0] * np.uint32(9797)
        luminance += rgb[:, 1] * np.uint32(19234)
        luminance += rgb[:, 2] * np.uint32(3737)
        assert np.array_equal(grey, luminance >> 15)
        assert grey[0x000008] == 0 and grey[0x000009] == 1  # pure blue under 9 is background
    else:
        assert grey[0x000009] == 0 and grey[0x808080] == 128  # through linear light; greys stay


# ------------------------------------------------------------------ every 8-bit colour type


def _pillow_files(folder: Path, rng: np.random.Generator, info: PngImagePlugin.PngInfo | None) -> list[Path]:
    rgb = _colours(rng, (24, 32, 3))
    alpha = rng.integers(0, 256, (24, 32), dtype=np.uint8)
    alpha[::3] = 0
    files = {
        "1": Image.fromarray(rgb[..., 0] > 6),
        "L": Image.fromarray(rgb[..., 0]),
        "LA": Image.fromarray(np.dstack([rgb[..., 1], alpha]), "LA"),
        "RGB": Image.fromarray(rgb),
        "RGBA": Image.fromarray(np.dstack([rgb, alpha]), "RGBA"),
        "P": Image.fromarray(rgb).quantize(200),
    }
    paths = []
    for mode, image in files.items():
        paths.append(folder / f"{mode}.png")
        image.save(paths[-1], pnginfo=info)
    extra = {"P-tRNS": (files["P"], {"transparency": bytes(rng.integers(0, 256, 200, dtype=np.uint8))}),
             "L-tRNS": (files["L"], {"transparency": 3}),
             "RGB-tRNS": (files["RGB"], {"transparency": (1, 2, 3)})}
    for bits in (1, 2, 4):
        extra[f"P-{bits}bit"] = (Image.fromarray(rgb).quantize(2**bits), {"bits": bits})
    for name, (image, options) in extra.items():
        paths.append(folder / f"{name}.png")
        image.save(paths[-1], pnginfo=info, **options)
    return paths


@pytest.mark.parametrize("gamma", [None, 45455, 100000, 96000, 94000, 106000, 220000, 1, 2**31 - 1])
def test_every_8bit_mode_written_by_pillow_reads_as_opencv(tmp_path, gamma):
    info = None
    if gamma is not None:
        info = PngImagePlugin.PngInfo()
        info.add(b"gAMA", struct.pack(">I", gamma))
    paths = _pillow_files(tmp_path, np.random.default_rng(gamma or 0), info)
    modes = set()
    for path in paths:
        with Image.open(path) as image:
            modes.add(image.mode)
        assert_reads_as_opencv(path)
    assert modes == {"1", "L", "LA", "RGB", "RGBA", "P"}


@pytest.mark.parametrize("depth", [1, 2, 4])
def test_low_bit_grey_reads_as_opencv(tmp_path, depth):
    levels = np.random.default_rng(depth).integers(0, 2**depth, (9, 16), dtype=np.uint8)
    bits = np.unpackbits(levels[..., None], axis=2)[..., 8 - depth:].reshape(9, -1)
    path = tmp_path / "grey.png"
    path.write_bytes(raw_png(16, 9, depth, 0, [np.packbits(row).tobytes() for row in bits]))
    grey = assert_reads_as_opencv(path)
    assert np.array_equal(grey, levels.astype(np.int64) * 255 // (2**depth - 1))


CICP = chunk(b"cICP", b"\x01\x0d\x00\x01")
GAMMA_CASES = {
    "srgb-and-gamma": (SRGB + gamma_chunk(220000), False),
    "gamma-then-srgb": (gamma_chunk(220000) + SRGB, False),
    "two-gammas": (gamma_chunk(220000) + gamma_chunk(45455), False),
    "bad-srgb-intent": (chunk(b"sRGB", b"\x07"), False),
    "gamma-after-palette": (gamma_chunk(220000), True),
    "srgb-after-palette": (SRGB, True),
    "cicp-gamma-srgb": (CICP + gamma_chunk(220000) + SRGB, False),
    "srgb-cicp-gamma": (SRGB + CICP + gamma_chunk(220000), False),
    "chrm-ignored": (chunk(b"cHRM", struct.pack(">8I", 31270, 32900, 64000, 33000, 30000, 60000, 15000, 6000)),
                     False),
}


@pytest.mark.parametrize("name", list(GAMMA_CASES))
def test_gamma_chunks_count_as_in_libpng(tmp_path, name):
    chunks, place = GAMMA_CASES[name]
    rng = np.random.default_rng(7)
    image = Image.fromarray(_colours(rng, (16, 16, 3)))
    for kind, picture in (("rgb", image), ("palette", image.quantize(64))):
        path = tmp_path / f"{name}-{kind}.png"
        picture.save(path)
        path.write_bytes(with_chunks(path.read_bytes(), chunks, before_image_data=place))
        assert_reads_as_opencv(path)


def test_damaged_chunks_are_refused_never_misread(tmp_path):
    """Pillow refuses what libpng skips with a warning (a gAMA chunk of 2 bytes): an error, not a guess."""
    path = tmp_path / "short-gamma.png"
    Image.fromarray(np.eye(4, dtype=np.uint8) * 255).save(path)
    path.write_bytes(with_chunks(path.read_bytes(), chunk(b"gAMA", b"\x00\x01")))
    with pytest.raises(MaskError, match="unreadable PNG"):
        read_png(path)


def test_palette_index_past_the_palette_is_black(tmp_path):
    path = tmp_path / "short-palette.png"
    path.write_bytes(raw_png(4, 1, 8, 3, [bytes([0, 1, 5, 200])], chunk(b"PLTE", bytes([0, 0, 0, 9, 9, 9]))))
    assert assert_reads_as_opencv(path).tolist() == [[0, 9, 0, 0]]


# ------------------------------------------------------------------ masks as tools write them


def test_matplotlib_imsave_rgba_mask(tmp_path):
    """``plt.imsave`` writes RGBA with opaque alpha: the old any-channel rule read it all as foreground."""
    plt = pytest.importorskip("matplotlib.pyplot")
    mask = np.zeros((48, 64), dtype=bool)
    mask[10:30, 5:40] = True
    path = tmp_path / "imsave.png"
    plt.imsave(path, mask.astype(float), cmap="gray")
    with Image.open(path) as image:
        assert image.mode == "RGBA" and np.asarray(image)[..., 3].min() == 255
    assert_reads_as_opencv(path)
    assert np.array_equal(read_png(path), mask)
    plt.imsave(path, mask, cmap="viridis")  # a colour map: the background is dark purple, not black
    assert np.array_equal(read_png(path), opencv_grey(path) > 0) and read_png(path).all()


def test_sixteen_bit_pngs_keep_every_non_zero_value(tmp_path):
    grey = np.zeros((6, 8), dtype=np.uint16)
    grey[1, 1], grey[2, 2], grey[3, 3] = 1, 255, 65535
    Image.fromarray(grey).save(tmp_path / "grey16.png")
    assert (opencv_grey(tmp_path / "grey16.png") > 0).sum() == 1  # OpenCV's 8-bit read keeps 65535 only
    assert read_png_grey(tmp_path / "grey16.png").tolist() == grey.tolist()

    colour = np.zeros((6, 8, 4), dtype=np.uint16)
    colour[..., 3] = 65535  # opaque
    colour[0, 0, :3] = (0, 0, 1)
    colour[1, 2, :3] = (300, 0, 0)
    colour[4, 5, :3] = (0, 65535, 2)
    colour[5, 7, 3] = 7  # alpha alone is ignored
    expected = colour[..., :3].max(axis=2)
    for name, pixels in (("rgb16.png", colour[..., :3]), ("rgba16.png", colour)):
        assert cv2.imwrite(str(tmp_path / name), pixels[..., [2, 1, 0, 3][:pixels.shape[2]]])
        assert read_png_header(tmp_path / name).bit_depth == 16
        assert read_png_grey(tmp_path / name).tolist() == expected.tolist()
        assert read_png(tmp_path / name).sum() == 3

    grey_alpha = np.stack([grey, np.full_like(grey, 513)], axis=-1).astype(">u2")
    path = tmp_path / "la16.png"
    path.write_bytes(raw_png(8, 6, 16, 4, [row.tobytes() for row in grey_alpha]))
    assert read_png_grey(path).tolist() == grey.tolist()


# ------------------------------------------------------------------ refusals and limits


def test_bytes_that_are_not_a_png_are_refused(tmp_path):
    picture = Image.fromarray(np.eye(8, dtype=np.uint8) * 255)
    for fmt, name in (("JPEG", "JPEG"), ("GIF", "GIF"), ("BMP", "BMP"), ("TIFF", "TIFF"), ("WEBP", "WebP")):
        path = tmp_path / f"{fmt}.png"
        picture.save(path, format=fmt)
        with pytest.raises(MaskError, match=rf"^not a PNG file \({name}\)$"):
            read_png(path)
        with pytest.raises(MaskError, match=rf"^not a PNG file \({name}\)$"):
            read_png_header(path.read_bytes())
    with pytest.raises(MaskError, match=r"unreadable PNG: not a PNG file \(no PNG signature; it starts with "
                                        r"b'not an image'\)"):
        read_png(b"not an image at all")
    good = tmp_path / "good.png"
    picture.save(good)
    data = good.read_bytes()
    with pytest.raises(MaskError, match="unreadable PNG"):
        read_png(data[:-30])  # truncated
    with pytest.raises(MaskError, match="does not start with an IHDR"):
        read_png(data[:20])
    with pytest.raises(MaskError, match=r"cannot read: No such file or directory"):
        read_png(tmp_path / "missing.png")


def test_header_is_checked_before_any_pixel_is_decoded(tmp_path, monkeypatch):
    decoded: list[str] = []
    original = ImageFile.ImageFile.load
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda self: decoded.append("x") or original(self))
    # a 12000 x 12000 RGBA header with junk for pixels: decoding would fail, so the errors prove it never ran
    header = struct.pack(">IIBBBBB", 12000, 12000, 8, 6, 0, 0, 0)
    huge = png.PNG_SIGNATURE + chunk(b"IHDR", header) + chunk(b"IDAT", b"junk") + chunk(b"IEND", b"")
    assert read_png_header(huge) == png.PngHeader(12000, 12000, 8, 6)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Pillow's DecompressionBombWarning would fail the test
        with pytest.raises(PngSizeError, match=r"^size \[12000, 12000\] != ground truth \[4, 4\]$") as caught:
            read_png(huge, expected=(4, 4))
        assert caught.value.size == (12000, 12000)
        with pytest.raises(MaskError, match="12000x12000 pixels is more than the 67,108,864 a mask may have"):
            read_png(huge, max_pixels=2**26)
        bigger = huge.replace(chunk(b"IHDR", header), chunk(b"IHDR", struct.pack(">IIBBBBB", 20000, 20000, 8, 6,
                                                                                  0, 0, 0)))
        with pytest.raises(MaskError, match="20000x20000 pixels is more than the 268,435,456"):  # the default
            read_png(bigger)
    assert not decoded
    small = huge.replace(chunk(b"IHDR", header), chunk(b"IHDR", struct.pack(">IIBBBBB", 4, 4, 8, 6, 0, 0, 0)))
    with pytest.raises(MaskError, match="unreadable PNG"):  # the right size: decoded, and the junk fails
        read_png(small, expected=(4, 4))
    assert decoded == ["x"]
