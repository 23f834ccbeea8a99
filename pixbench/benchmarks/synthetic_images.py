"""Made-up images shared by the image benchmarks' synthetic raw inputs (``<benchmark>/synthetic.py``).

Deterministic and offline: the same arguments give the same bytes (PIL's encoders, fixed qualities). An image
is flat-coloured with a horizontal gradient (:func:`flat_image`); :func:`drawn_image` fills polygons on one,
so that a synthetic benchmark's shapes are where its annotations say they are.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw

__all__ = ["drawn_image", "flat_image"]


def flat_image(height: int, width: int, seed: int, fmt: str = "JPEG") -> bytes:
    """A deterministic gradient image of the given size, encoded as JPEG (quality 85) or PNG.

    Examples:
        >>> from PIL import Image
        >>> Image.open(io.BytesIO(flat_image(6, 8, seed=1))).size
        (8, 6)
        >>> flat_image(6, 8, seed=1, fmt="PNG") == flat_image(6, 8, seed=1, fmt="PNG")
        True
    """
    rng = np.random.default_rng(seed)
    base = rng.integers(40, 200, size=3)
    ramp = np.linspace(0, 50, width, dtype=np.float32)[None, :, None]
    array = np.clip(base[None, None, :] + ramp + np.zeros((height, 1, 1)), 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format=fmt, quality=85) if fmt == "JPEG" else \
        Image.fromarray(array).save(buffer, format=fmt)
    return buffer.getvalue()


def drawn_image(height: int, width: int, polygons: Sequence[Sequence[float]], seed: int,
                colour: tuple[int, int, int]) -> bytes:
    """The :func:`flat_image` of ``seed`` with ``polygons`` (flat ``[x1, y1, x2, y2, ...]`` pixel lists) filled
    in ``colour``, encoded as JPEG (quality 90)."""
    image = Image.open(io.BytesIO(flat_image(height, width, seed, fmt="PNG"))).convert("RGB")
    draw = ImageDraw.Draw(image)
    for polygon in polygons:
        draw.polygon(list(zip(polygon[0::2], polygon[1::2])), fill=colour)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()
