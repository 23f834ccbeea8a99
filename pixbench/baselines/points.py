"""From per-token attention maps to one point per noun phrase (``baselines.md`` steps 3 and 5).

Arrays are numpy in and out; the bicubic resampling uses ``torch.nn.functional.interpolate``
(``mode="bicubic"``, ``align_corners=False``) so points match the published implementation exactly.
torch is imported inside :func:`upsample_to_image` only.

Shapes: ``T`` generated tokens, ``G`` phrase groups, a vision grid of ``rows x cols`` cells, an image of
``H x W`` pixels. Points are ``(x, y)`` = (column, row) in integer pixels of the original image.

How a grid covers the image (``fit``, given by the model adapter):

- ``"pad"``: the image was padded to a centred square of side ``S = max(H, W)`` before resizing
  (LLaVA-1.5). Upsample to ``S x S``, then crop rows ``[(S - H) // 2, (S - H) // 2 + H)`` and columns
  ``[(S - W) // 2, (S - W) // 2 + W)``.
- ``"stretch"``: the grid covers the whole image, possibly with a slightly different aspect ratio
  (Qwen2-VL's resize to multiples of the patch size). Upsample straight to ``H x W``.
- ``"crop"``: the image was resized on its short side and centre-cropped to a square (CLIP-style
  processors without padding). The grid covers the centred ``s x s`` square, ``s = min(H, W)``; pixels
  outside it, which the model never saw, get the map's minimum, so the arg-max never lands there.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, get_args

import numpy as np

__all__ = ["FITS", "Fit", "argmax_points", "group_maps", "normalise_maps", "upsample_to_image"]

Fit = Literal["pad", "stretch", "crop"]
FITS: tuple[str, ...] = get_args(Fit)


def normalise_maps(maps: np.ndarray) -> np.ndarray:
    """Subtract the mean map over the answer: ``maps - maps.mean(axis=0)``, float32 ``[T, rows, cols]``."""
    maps = np.asarray(maps, dtype=np.float32)
    if maps.ndim != 3:
        raise ValueError(f"Expected maps of shape [T, rows, cols], but got shape {maps.shape}")
    if maps.shape[0] == 0:
        return maps.copy()
    return maps - maps.mean(axis=0, keepdims=True)


def group_maps(maps: np.ndarray, groups: Sequence[Sequence[int]]) -> np.ndarray:
    """Mean of each group's token maps: float32 ``[G, rows, cols]`` from ``[T, rows, cols]``.

    ``groups[g]`` lists token indices in ``0..T-1`` (non-empty).
    """
    maps = np.asarray(maps, dtype=np.float32)
    if maps.ndim != 3:
        raise ValueError(f"Expected maps of shape [T, rows, cols], but got shape {maps.shape}")
    out = np.zeros((len(groups), maps.shape[1], maps.shape[2]), dtype=np.float32)
    for g, tokens in enumerate(groups):
        index = np.asarray(list(tokens), dtype=np.int64)
        if index.size == 0:
            raise ValueError(f"Expected group {g} to list at least one token, but got none")
        if index.min() < 0 or index.max() >= maps.shape[0]:
            raise ValueError(f"Expected group {g}'s tokens in [0, {maps.shape[0]}), but got {index.tolist()}")
        out[g] = maps[index].mean(axis=0)
    return out


def upsample_to_image(maps: np.ndarray, height: int, width: int, fit: Fit = "pad") -> np.ndarray:
    """Bicubic upsampling of grid maps to the image, undoing the model's resize/pad (see module docstring).

    ``maps``: float ``[G, rows, cols]``; returns float32 ``[G, height, width]``.
    """
    import torch

    maps = np.asarray(maps, dtype=np.float32)
    if maps.ndim != 3:
        raise ValueError(f"Expected maps of shape [G, rows, cols], but got shape {maps.shape}")
    if height < 1 or width < 1:
        raise ValueError(f"Expected a positive image size, but got height={height}, width={width}")
    if fit not in FITS:
        raise ValueError(f"Expected fit to be one of {list(FITS)}, but got {fit!r}")
    if maps.shape[0] == 0:
        return np.zeros((0, height, width), dtype=np.float32)
    grid = torch.from_numpy(np.ascontiguousarray(maps)).unsqueeze(0)  # [1, G, rows, cols]

    def resize(h: int, w: int) -> np.ndarray:
        out = torch.nn.functional.interpolate(grid, size=(h, w), mode="bicubic", align_corners=False)
        return out.squeeze(0).numpy()

    if fit == "stretch":
        return np.ascontiguousarray(resize(height, width), dtype=np.float32)
    if fit == "pad":
        side = max(height, width)
        top, left = (side - height) // 2, (side - width) // 2
        return np.ascontiguousarray(resize(side, side)[:, top:top + height, left:left + width], dtype=np.float32)
    side = min(height, width)
    top, left = (height - side) // 2, (width - side) // 2
    inner = resize(side, side)
    out = np.empty((maps.shape[0], height, width), dtype=np.float32)
    out[:] = inner.reshape(inner.shape[0], -1).min(axis=1)[:, None, None]
    out[:, top:top + side, left:left + side] = inner
    return out


def argmax_points(maps: np.ndarray) -> np.ndarray:
    """The arg-max pixel of each map as int64 ``[G, 2]`` ``(x, y)``; ties go to the first in row-major order."""
    maps = np.asarray(maps)
    if maps.ndim != 3 or maps.shape[1] == 0 or maps.shape[2] == 0:
        raise ValueError(f"Expected maps of shape [G, H, W] with H, W > 0, but got shape {maps.shape}")
    flat = np.argmax(maps.reshape(maps.shape[0], -1), axis=1)
    width = maps.shape[2]
    return np.stack([flat % width, flat // width], axis=1).astype(np.int64)
