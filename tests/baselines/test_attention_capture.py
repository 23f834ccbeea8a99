"""Streaming attention capture: equal to the output_attentions=True maps, planted peaks, adapters, errors."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from baseline_helpers import DiscSegmenter, PlantedAttention, forced, make_image

from pixbench.baselines.attention import (
    AttentionCaptureError,
    AttentionRecorder,
    GenerationSettings,
    LlavaAdapter,
    QwenVLAdapter,
    adapter_for,
    generate,
    maps_from_output_attentions,
)
from pixbench.baselines.phrases import PhraseTools, RuleBasedChunker, char_ngram_similarity
from pixbench.baselines.pipeline import attend_and_segment
from pixbench.baselines.tiny import tiny_llava, tiny_qwen2vl

RULES = PhraseTools("rules", RuleBasedChunker(), char_ngram_similarity)


def test_llava_layout_and_prompt(tiny_llava):
    model, processor = tiny_llava
    adapter = adapter_for(model, processor)
    assert isinstance(adapter, LlavaAdapter)
    prepared = adapter.prepare(make_image(96, 128), "Identify the lamp in the scene.")
    layout = prepared.layout
    assert layout.grid == (6, 6) and layout.fit == "pad" and layout.contiguous
    ids = prepared.inputs["input_ids"][0].numpy()
    assert (ids[layout.positions] == model.config.image_token_id).all()
    assert prepared.prompt_text == "USER: <image>\nIdentify the lamp in the scene. ASSISTANT:"
    assert prepared.prompt_length == ids.size


def test_llava_pads_to_a_square_with_the_mean_colour(tiny_llava):
    model, processor = tiny_llava
    adapter = LlavaAdapter(model, processor)
    from PIL import Image

    square = adapter._square(Image.new("RGB", (40, 20), (0, 0, 0)))
    array = np.asarray(square)
    assert square.size == (40, 40)
    mean = tuple(int(v * 255) for v in processor.image_processor.image_mean)
    assert tuple(array[0, 0]) == mean and tuple(array[39, 39]) == mean  # padding rows top and bottom
    assert tuple(array[10, 0]) == (0, 0, 0) and tuple(array[29, 39]) == (0, 0, 0)  # image rows 10..29
    assert LlavaAdapter(model, processor, pad_to_square=False).prepare(make_image(), "x").layout.fit == "crop"


@pytest.mark.parametrize("temperature", [0.0, 1.0])
def test_streaming_maps_equal_output_attentions_llava(tiny_llava, temperature):
    import torch

    model, processor = tiny_llava
    adapter = adapter_for(model, processor)
    prepared = adapter.prepare(make_image(), "Identify the lamp in the scene.")
    torch.manual_seed(3)
    result = generate(adapter, prepared, GenerationSettings(max_new_tokens=12, temperature=temperature),
                      output_attentions=True)
    reference = maps_from_output_attentions(result.extra["attentions"], positions=prepared.layout.positions,
                                            prompt_length=prepared.prompt_length)
    assert result.maps is not None and result.maps.shape == (result.token_ids.size, 6, 6)
    assert result.token_ids.size > 0 and np.abs(result.maps).sum() > 0
    np.testing.assert_allclose(result.maps.reshape(reference.shape), reference, rtol=1e-5, atol=1e-7)
    # A second run without output_attentions gives the same tokens and maps.
    torch.manual_seed(3)
    again = generate(adapter, prepared, GenerationSettings(max_new_tokens=12, temperature=temperature))
    np.testing.assert_array_equal(again.token_ids, result.token_ids)
    np.testing.assert_allclose(again.maps, result.maps, rtol=1e-6, atol=1e-8)
    assert "attentions" not in again.extra


def test_reference_by_hand_on_two_steps():
    import torch

    heads, length = 2, 5
    prefill = [torch.rand(1, heads, length, length) for _ in range(3)]
    decode = [torch.rand(1, heads, 1, length + 1) for _ in range(3)]
    positions = np.array([1, 2])
    maps = maps_from_output_attentions([prefill, decode], positions=positions, prompt_length=length)
    expected0 = torch.stack([w[0, :, length - 2, [1, 2]] for w in prefill]).mean(dim=(0, 1)).numpy()
    expected1 = torch.stack([w[0, :, -1, [1, 2]] for w in decode]).mean(dim=(0, 1)).numpy()
    np.testing.assert_allclose(maps, np.stack([expected0, expected1]), rtol=1e-6)


def test_streaming_maps_equal_output_attentions_qwen(tiny_qwen):
    model, processor = tiny_qwen
    adapter = adapter_for(model, processor)
    assert isinstance(adapter, QwenVLAdapter)
    prepared = adapter.prepare(make_image(96, 128), "Identify the lamp in the scene.")
    assert prepared.layout.fit == "stretch"
    rows, cols = prepared.layout.grid
    thw = prepared.inputs["image_grid_thw"][0].tolist()
    assert (rows, cols) == (thw[1] // 2, thw[2] // 2)
    result = generate(adapter, prepared, GenerationSettings(max_new_tokens=10), output_attentions=True)
    reference = maps_from_output_attentions(result.extra["attentions"], positions=prepared.layout.positions,
                                            prompt_length=prepared.prompt_length)
    assert result.maps is not None and result.maps.shape == (result.token_ids.size, rows, cols)
    np.testing.assert_allclose(result.maps.reshape(reference.shape), reference, rtol=1e-5, atol=1e-7)


def test_streaming_maps_equal_output_attentions_qwen25():
    model, processor = tiny_qwen2vl(seed=0, version="2.5")
    adapter = adapter_for(model, processor)
    assert isinstance(adapter, QwenVLAdapter) and model.config.model_type == "qwen2_5_vl"
    prepared = adapter.prepare(make_image(96, 128), "Identify the lamp in the scene.")
    result = generate(adapter, prepared, GenerationSettings(max_new_tokens=8), output_attentions=True)
    reference = maps_from_output_attentions(result.extra["attentions"], positions=prepared.layout.positions,
                                            prompt_length=prepared.prompt_length)
    assert result.maps is not None and result.maps.shape == (result.token_ids.size, *prepared.layout.grid)
    np.testing.assert_allclose(result.maps.reshape(reference.shape), reference, rtol=1e-5, atol=1e-7)


def test_qwen_grid_follows_the_image(tiny_qwen):
    adapter = adapter_for(*tiny_qwen)
    wide = adapter.prepare(make_image(96, 192), "x").layout.grid
    tall = adapter.prepare(make_image(192, 96), "x").layout.grid
    assert wide[1] > wide[0] and tall[0] > tall[1] and wide == tall[::-1]


def _planted_run(model_and_processor, schedule_cells, words, image=None):
    model, processor = model_and_processor
    adapter = adapter_for(model, processor)
    image = image or make_image(96, 128)
    prepared = adapter.prepare(image, "Identify the table in the scene.")
    positions = prepared.layout.positions
    cells = prepared.layout.grid[0] * prepared.layout.grid[1]
    planted = PlantedAttention(lambda step: int(positions[schedule_cells.get(step, (5 * step + 3) % cells)]))
    planted.install(model)
    segmenter = DiscSegmenter()
    result = attend_and_segment(adapter=adapter, segmenter=segmenter, phrases=RULES, image=image,
                                prompt="Identify the table in the scene.", expression="the red table",
                                settings=GenerationSettings(max_new_tokens=20),
                                **forced(adapter.tokenizer, words, prepared.prompt_length))
    return result, prepared.layout


def _cell_box_pad(cell, grid, height, width):
    """Pixel box [x0, x1) x [y0, y1) of a cell of a grid over the centred padded square."""
    side = max(height, width)
    rows, cols = grid
    r, c = divmod(cell, cols)
    top, left = (side - height) // 2, (side - width) // 2
    return (c * side / cols - left, (c + 1) * side / cols - left, r * side / rows - top, (r + 1) * side / rows - top)


def test_planted_attention_gives_points_in_the_cell_and_covering_candidates():
    pair = tiny_llava(seed=1)  # its own model: the planted attention function stays installed
    words = ["the", "lamp", "is", "on", "the", "red", "table"]
    # Steps 0-1 spell "the lamp", 4-6 "the red table"; other steps look elsewhere.
    result, layout = _planted_run(pair, {0: 14, 1: 14, 4: 27, 5: 27, 6: 27}, words)
    assert result.response == "the lamp is on the red table"
    assert [g.group.text for g in result.groundings] == ["the lamp", "the red table"]
    assert [g.group.tokens for g in result.groundings] == [(0, 1), (4, 5, 6)]
    for grounding, cell in zip(result.groundings, (14, 27)):
        x0, x1, y0, y1 = _cell_box_pad(cell, layout.grid, 96, 128)
        x, y = grounding.point
        assert x0 <= x < x1 and y0 <= y < y1, (grounding.group.text, grounding.point, (x0, x1, y0, y1))
        assert grounding.masks[:, y, x].all()  # every candidate of the phrase covers its point
    candidates = result.candidates()
    assert len(candidates) == 6 and [c.phrase for c in candidates] == ["the lamp"] * 3 + ["the red table"] * 3
    assert candidates[3].char_start == 15 and candidates[3].char_end == 28 and candidates[3].token_start == 4
    assert candidates[3].score == pytest.approx(char_ngram_similarity("the red table", "the red table"))
    assert candidates[3].score > candidates[0].score


def test_planted_attention_qwen_stretch():
    pair = tiny_qwen2vl(seed=1)
    words = ["the", "lamp", "is", "on", "the", "red", "table"]
    result, layout = _planted_run(pair, {0: 2, 1: 2, 4: 11, 5: 11, 6: 11}, words)
    rows, cols = layout.grid
    for grounding, cell in zip(result.groundings, (2, 11)):
        r, c = divmod(cell, cols)
        x, y = grounding.point
        assert c * 128 / cols <= x < (c + 1) * 128 / cols and r * 96 / rows <= y < (r + 1) * 96 / rows


def test_no_weights_is_an_error_and_sdpa_is_switched():
    model, processor = tiny_llava(seed=2, attn="sdpa")
    assert model.model.language_model.config._attn_implementation == "sdpa"
    adapter = adapter_for(model, processor)  # switches the text model to eager
    assert model.model.language_model.config._attn_implementation == "eager"
    assert model.model.vision_tower.config._attn_implementation == "sdpa"
    prepared = adapter.prepare(make_image(), "x")
    assert generate(adapter, prepared, GenerationSettings(max_new_tokens=3)).maps is not None
    model.set_attn_implementation({"text_config": "sdpa"})  # behind the adapter's back
    with pytest.raises(AttentionCaptureError, match="attn_implementation='eager'"):
        generate(adapter, prepared, GenerationSettings(max_new_tokens=3))


def test_recorder_checks_its_arguments():
    with pytest.raises(ValueError, match="at least one attention module"):
        AttentionRecorder([], positions=[1], prompt_length=5)
    with pytest.raises(ValueError, match="inside the prompt"):
        AttentionRecorder([object()], positions=[4], prompt_length=5)
    with pytest.raises(ValueError, match="at least 2 tokens"):
        AttentionRecorder([object()], positions=[0], prompt_length=1)


def test_unknown_family_is_refused(tiny_llava):
    class Config:
        model_type = "gpt2"

    class Model:
        config = Config()

    with pytest.raises(NotImplementedError, match="'gpt2'"):
        adapter_for(Model(), tiny_llava[1])


def test_generation_settings():
    assert GenerationSettings().generate_kwargs()["do_sample"] is False
    sampled = GenerationSettings(temperature=0.2, top_p=0.9).generate_kwargs()
    assert sampled["do_sample"] is True and sampled["temperature"] == 0.2 and sampled["top_p"] == 0.9
    with pytest.raises(ValueError, match="max_new_tokens"):
        GenerationSettings(max_new_tokens=0)
    with pytest.raises(ValueError, match="top_p"):
        GenerationSettings(temperature=1.0, top_p=0.0)


def test_recorder_keeps_one_vector_per_step(tiny_llava):
    """What the recorder holds grows with steps x image tokens, not layers x heads x sequence."""
    model, processor = tiny_llava
    adapter = adapter_for(model, processor)
    prepared = adapter.prepare(make_image(), "x")
    recorder = AttentionRecorder(adapter.attention_modules(), positions=prepared.layout.positions,
                                 prompt_length=prepared.prompt_length)
    import torch

    hooks_before = [len(m._forward_hooks) for m in adapter.attention_modules()]  # transformers may own some

    with recorder, torch.no_grad():
        model.generate(**prepared.inputs, max_new_tokens=5, min_new_tokens=5, do_sample=False)
        assert recorder.steps == 5
        assert all(tuple(step.shape) == (36,) and step.dtype == torch.float32 for step in recorder._steps)
    assert recorder._handles == [] and recorder.maps().shape == (5, 36)
    assert [len(m._forward_hooks) for m in adapter.attention_modules()] == hooks_before  # removed on exit
