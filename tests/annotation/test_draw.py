"""Overlays: masks blended where they are, outlines, errors on size mismatch; contact sheets."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from pixbench.annotation import rle
from pixbench.annotation.draw import PALETTE, blank_image, contact_sheet, overlay


def test_overlay_blends_mask_pixels_only():
    image = Image.new("RGB", (6, 5), (0, 0, 0))
    mask = np.zeros((5, 6), dtype=bool)
    mask[1:4, 1:4] = True
    out = np.asarray(overlay(image, masks=[rle.encode(mask)], alpha=0.5))
    assert out[0, 0].tolist() == [0, 0, 0]
    centre = out[2, 2].tolist()
    assert centre == [round(0.5 * c) if c % 2 == 0 else int(0.5 * c) for c in PALETTE[0]]
    assert out[1, 1].tolist() == list(PALETTE[0])  # outline pixel in full colour


def test_overlay_second_mask_gets_second_colour_and_points_draw():
    image = blank_image(8, 8)
    a = np.zeros((8, 8), dtype=bool)
    a[0:3, 0:3] = True
    b = np.zeros((8, 8), dtype=bool)
    b[5:8, 5:8] = True
    out = np.asarray(overlay(image, masks=[a, b], points=[(4, 4)], alpha=1.0))
    assert out[1, 1].tolist() == list(PALETTE[0])
    assert out[6, 6].tolist() == list(PALETTE[1])
    assert out[4, 4].tolist() == [0, 0, 0]


def test_overlay_rejects_wrong_size():
    with pytest.raises(ValueError, match=r"mask 0 of size \[4, 4\], but got \[3, 4\]"):
        overlay(blank_image(4, 4), masks=[np.zeros((3, 4))])


def test_contact_sheet_grid():
    tiles = [blank_image(10, 20) for _ in range(5)]
    sheet = contact_sheet(tiles, [str(k) for k in range(5)], tile=32)
    assert sheet.size == (3 * 32, 2 * (32 + 14))
    with pytest.raises(ValueError, match="one label per image"):
        contact_sheet(tiles, ["a"])
