"""Images and masks at display size, as the site's pages show them.

- An image is scaled so that its longer side is at most ``max_side`` pixels (never enlarged; Lanczos) and
  written as WebP (``quality`` 80): the display size is :func:`display_size`, the same for the image and every
  mask drawn over it.
- A mask (RLE of the image's full size) is resampled to the display size by nearest neighbour on its runs
  (:func:`pixbench.annotation.rle.resize_nearest`) and written as a 1-bit PNG, white where the mask is: the page
  colours it, fills or outlines it and sets its opacity (CSS and an SVG filter), so one file serves every way of
  drawing it. An empty mask is a valid (all black) PNG of a few dozen bytes.

Nothing here keeps more than one image in memory.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
from PIL import Image

from pixbench.annotation import rle as rle_ops

#: The longer side of images and masks on a sample page, in pixels (a page shows one large image).
DEFAULT_MAX_SIDE = 768
WEBP_QUALITY = 80


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


def image_webp(image: Image.Image, size: tuple[int, int], quality: int = WEBP_QUALITY) -> bytes:
    """``image`` (any mode) as RGB WebP of ``size`` (height, width)."""
    rgb = image.convert("RGB")
    if rgb.size != (size[1], size[0]):
        rgb = rgb.resize((size[1], size[0]), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    rgb.save(buffer, format="WEBP", quality=quality, method=4)
    return buffer.getvalue()


def grey_webp(size: tuple[int, int]) -> bytes:
    """A neutral grey canvas (rows of a build without images)."""
    return image_webp(Image.new("RGB", (size[1], size[0]), (128, 128, 128)), size)


def mask_png(mask: Mapping[str, Any] | None, size: tuple[int, int]) -> bytes:
    """The mask (``None``: empty) at ``size`` (height, width) as a 1-bit PNG, white where the mask is."""
    if mask is None:
        array = np.zeros(size, dtype=bool)
    else:
        array = rle_ops.decode(rle_ops.resize_nearest(mask, *size)).astype(bool)
    buffer = io.BytesIO()
    Image.fromarray(array).convert("1").save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()
