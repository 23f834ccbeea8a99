"""SAM behind one interface: segment-anything's SamPredictor and transformers' SamModel."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("segment_anything")
pytest.importorskip("transformers")

from baseline_helpers import make_image

from pixbench.baselines.sam import (
    SegmentAnythingSegmenter,
    TransformersSamSegmenter,
    load_segmenter,
)
from pixbench.baselines.tiny import tiny_segment_anything, tiny_transformers_sam

POINTS = np.array([[10, 20], [100, 5], [64, 48]], dtype=np.float64)


def test_segment_anything_matches_the_predictor_point_by_point():
    from segment_anything import SamPredictor

    image = np.asarray(make_image(96, 128))
    segmenter = SegmentAnythingSegmenter(SamPredictor(tiny_segment_anything()))
    segmenter.set_image(image)
    masks, scores = segmenter.predict_points(POINTS)
    assert masks.shape == (3, 3, 96, 128) and masks.dtype == bool and scores.shape == (3, 3)
    reference = SamPredictor(tiny_segment_anything())
    reference.set_image(image)
    for k, point in enumerate(POINTS):
        expected, expected_scores, _ = reference.predict(point_coords=point[None], point_labels=np.array([1]),
                                                         multimask_output=True)
        np.testing.assert_array_equal(masks[k], expected)  # SAM's order, at the image's size
        np.testing.assert_allclose(scores[k], expected_scores, rtol=1e-5, atol=1e-6)


def test_segment_anything_embeds_an_image_once():
    from segment_anything import SamPredictor

    predictor = SamPredictor(tiny_segment_anything())
    calls = []
    original = predictor.set_image
    predictor.set_image = lambda *a, **k: (calls.append(1), original(*a, **k))  # type: ignore[method-assign]
    segmenter = SegmentAnythingSegmenter(predictor)
    image = np.asarray(make_image(40, 30))
    segmenter.set_image(image)
    segmenter.set_image(image.copy())
    segmenter.set_image(np.asarray(make_image(40, 30, seed=1)))
    assert len(calls) == 2
    masks, scores = segmenter.predict_points(np.zeros((0, 2)))
    assert masks.shape == (0, 3, 40, 30) and scores.shape == (0, 3)


def test_transformers_sam_matches_a_direct_call():
    import torch

    model, processor = tiny_transformers_sam()
    image = np.asarray(make_image(96, 128))
    segmenter = TransformersSamSegmenter(model, processor)
    segmenter.set_image(image)
    masks, scores = segmenter.predict_points(POINTS)
    assert masks.shape == (3, 3, 96, 128) and masks.dtype == bool and scores.shape == (3, 3)
    inputs = processor(images=image.copy(), input_points=[[[list(p)] for p in POINTS.tolist()]], return_tensors="pt")
    with torch.no_grad():
        output = model(pixel_values=inputs["pixel_values"], input_points=inputs["input_points"].float(),
                       multimask_output=True)
    expected = processor.image_processor.post_process_masks(output.pred_masks, inputs["original_sizes"],
                                                            inputs["reshaped_input_sizes"])[0].numpy()
    np.testing.assert_array_equal(masks, expected)
    np.testing.assert_allclose(scores, output.iou_scores[0].numpy(), rtol=1e-5, atol=1e-6)


def test_transformers_sam_from_a_folder(tiny_models_dir):
    segmenter = load_segmenter(pretrained=str(tiny_models_dir["sam"]))
    assert isinstance(segmenter, TransformersSamSegmenter)
    segmenter.set_image(np.asarray(make_image(30, 50)))
    masks, _ = segmenter.predict_points(np.array([[3.0, 4.0]]))
    assert masks.shape == (1, 3, 30, 50)


def test_checks():
    segmenter = SegmentAnythingSegmenter(object())
    with pytest.raises(RuntimeError, match="set_image"):
        segmenter.predict_points(POINTS)
    with pytest.raises(ValueError, match=r"uint8 \[H, W, 3\]"):
        segmenter.set_image(np.zeros((4, 4), dtype=np.uint8))
    with pytest.raises(ValueError, match="exactly one"):
        load_segmenter()
    with pytest.raises(ValueError, match="exactly one"):
        load_segmenter(checkpoint="sam.pth", pretrained="facebook/sam-vit-huge")
    with pytest.raises(ValueError, match="SAM model type"):
        SegmentAnythingSegmenter.from_checkpoint("sam.pth", "vit_tiny")


def test_tiny_checkpoint_loads_with_sam_type_tiny(tmp_path):
    import torch
    from segment_anything import SamPredictor

    from pixbench.baselines.tiny import write_tiny_sam_checkpoint

    path = write_tiny_sam_checkpoint(tmp_path / "sam_tiny.pth", seed=3)
    torch.manual_seed(7)
    segmenter = load_segmenter(checkpoint=str(path), model_type="tiny")
    assert torch.equal(torch.rand(4), (torch.manual_seed(7), torch.rand(4))[1])  # torch's generator untouched
    assert isinstance(segmenter, SegmentAnythingSegmenter) and segmenter.name == "segment-anything:tiny"
    image = np.asarray(make_image(96, 128))
    segmenter.set_image(image)
    masks, scores = segmenter.predict_points(POINTS)
    reference = SegmentAnythingSegmenter(SamPredictor(tiny_segment_anything(seed=3)))
    reference.set_image(image)
    expected, expected_scores = reference.predict_points(POINTS)
    np.testing.assert_array_equal(masks, expected)  # the saved weights, not fresh random ones
    np.testing.assert_allclose(scores, expected_scores, rtol=1e-5, atol=1e-6)

    bad = tmp_path / "other.pth"
    torch.save({"weight": torch.zeros(2)}, bad)
    with pytest.raises(ValueError, match="not a tiny segment-anything checkpoint"):
        SegmentAnythingSegmenter.from_checkpoint(str(bad), "tiny")
    with pytest.raises(ValueError, match=r"SAM model type in \[.*'tiny'.*'vit_h'"):
        SegmentAnythingSegmenter.from_checkpoint(str(path), "vit_s")
