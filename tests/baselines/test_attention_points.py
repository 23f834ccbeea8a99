"""Normalisation, grouping, upsampling (pad / stretch / crop) and arg-max points."""

from __future__ import annotations

import numpy as np
import pytest

from pixbench.baselines.points import argmax_points, group_maps, normalise_maps, upsample_to_image


def test_normalise_subtracts_the_mean_over_steps():
    maps = np.arange(2 * 2 * 3, dtype=np.float32).reshape(2, 2, 3)
    out = normalise_maps(maps)
    np.testing.assert_allclose(out, maps - maps.mean(axis=0))
    np.testing.assert_allclose(out.sum(axis=0), 0.0)
    assert normalise_maps(np.zeros((0, 2, 2))).shape == (0, 2, 2)
    with pytest.raises(ValueError, match=r"\[T, rows, cols\]"):
        normalise_maps(np.zeros((2, 3)))


def test_group_maps_are_means_of_their_tokens():
    maps = np.stack([np.full((2, 2), v, dtype=np.float32) for v in (1.0, 3.0, 8.0)])
    out = group_maps(maps, [(0, 1), (2,)])
    np.testing.assert_allclose(out[:, 0, 0], [2.0, 8.0])
    with pytest.raises(ValueError, match="at least one token"):
        group_maps(maps, [()])
    with pytest.raises(ValueError, match=r"in \[0, 3\)"):
        group_maps(maps, [(3,)])


def test_upsample_matches_torch_and_crops_the_padding():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    maps = rng.random((2, 4, 4)).astype(np.float32)
    out = upsample_to_image(maps, 60, 80, "pad")
    full = torch.nn.functional.interpolate(torch.from_numpy(maps)[None], size=(80, 80), mode="bicubic",
                                           align_corners=False)[0].numpy()
    assert out.shape == (2, 60, 80) and out.dtype == np.float32
    np.testing.assert_array_equal(out, full[:, 10:70, :])
    stretched = upsample_to_image(maps, 60, 80, "stretch")
    direct = torch.nn.functional.interpolate(torch.from_numpy(maps)[None], size=(60, 80), mode="bicubic",
                                             align_corners=False)[0].numpy()
    np.testing.assert_array_equal(stretched, direct)


@pytest.mark.parametrize("height,width", [(60, 80), (80, 60), (50, 50), (7, 130)])
def test_peak_cell_lands_in_its_pixels_for_every_fit(height, width):
    pytest.importorskip("torch")
    grid = np.zeros((1, 6, 6), dtype=np.float32)
    grid[0, 2, 3] = 1.0  # row 2, column 3
    # Pixel (x, y) is in a cell when its centre (x + 0.5, y + 0.5) is.
    # pad: the cell covers [3 S/6, 4 S/6) x [2 S/6, 3 S/6) of the padded square, S = max(H, W).
    side = max(height, width)
    x, y = argmax_points(upsample_to_image(grid, height, width, "pad"))[0] + 0.5
    x_pad, y_pad = x + (side - width) // 2, y + (side - height) // 2
    assert 3 * side / 6 <= x_pad < 4 * side / 6 and 2 * side / 6 <= y_pad < 3 * side / 6
    # stretch: the grid covers the image.
    x, y = argmax_points(upsample_to_image(grid, height, width, "stretch"))[0] + 0.5
    assert 3 * width / 6 <= x < 4 * width / 6 and 2 * height / 6 <= y < 3 * height / 6
    # crop: the grid covers the centred square of side min(H, W); outside it holds the minimum.
    small = min(height, width)
    out = upsample_to_image(grid, height, width, "crop")
    x, y = argmax_points(out)[0] + 0.5
    x_in, y_in = x - (width - small) // 2, y - (height - small) // 2
    assert 3 * small / 6 <= x_in < 4 * small / 6 and 2 * small / 6 <= y_in < 3 * small / 6
    if width > small:
        assert out[0, :, 0].max() == out[0].min()


def test_upsample_checks():
    pytest.importorskip("torch")
    with pytest.raises(ValueError, match="fit"):
        upsample_to_image(np.zeros((1, 2, 2)), 4, 4, "zoom")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="positive image size"):
        upsample_to_image(np.zeros((1, 2, 2)), 0, 4)
    assert upsample_to_image(np.zeros((0, 2, 2)), 3, 4).shape == (0, 3, 4)


def test_argmax_points_are_xy_and_first_in_row_major_order():
    maps = np.zeros((2, 3, 5), dtype=np.float32)
    maps[0, 2, 4] = 1.0
    maps[1, 1, 3] = maps[1, 2, 0] = 5.0  # a tie: row 1 comes first
    np.testing.assert_array_equal(argmax_points(maps), [[4, 2], [3, 1]])
    assert argmax_points(maps).dtype == np.int64
    with pytest.raises(ValueError, match=r"\[G, H, W\]"):
        argmax_points(np.zeros((2, 0, 3)))
