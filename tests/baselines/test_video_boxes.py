"""The box step of the video grounding baseline: parsing, conventions, flip merge, back ends, initial frame.

Pure parts are checked on hand-computed values; the Qwen-VL back end on tiny random Qwen2-VL, Qwen2.5-VL and
Qwen3-VL models built here (a random model's reply does not parse: the error is recorded; planted replies
check each family's conversion through the real processor's input size); the OpenAI back end against a
real local HTTP server (tests/judge_server.py) with the judge's SQLite cache.
"""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from PIL import Image

from pixbench.baselines.box_models import (
    OpenAIBoxModel,
    QwenBoxModel,
    frame_order,
    initial_frame,
    sample_indices,
)
from pixbench.baselines.boxes import (
    BOX_CONVENTIONS,
    BOX_SYSTEM,
    GPT_BOX_SYSTEM,
    NO_BOX_ANYWHERE,
    Box,
    BoxAnswer,
    WindowAnswer,
    box_format_for,
    box_prompt,
    gpt_box_prompt,
    merge_boxes,
    mirror_boxes,
    parse_boxes,
    parse_window,
    qwen_input_size,
    read_boxes,
    to_frame_pixels,
)

# ------------------------------------------------------------------------------------------------ prompts


def test_published_prompts_are_exact() -> None:
    assert BOX_SYSTEM == "You are a helpful assistant"
    assert box_prompt("man on the left") == "Locate the man on the left, output its bbox coordinates using JSON format."
    assert GPT_BOX_SYSTEM == "You are a helpful and precise assistant for following instructions precisely."
    assert gpt_box_prompt("the {odd} cat") == (
        "Given the query the {odd} cat, detect and localize the visual content described by this textual query and "
        "output the bounding box coordinates for all instances of that query in the first frame of the video in "
        'JSON format. Output Format: [{"bbox_2d": [x_min, y_min, x_max, y_max], ...}]')


# ------------------------------------------------------------------------------------------------ parsing


def test_parse_fenced_block_with_prose_around() -> None:
    reply = 'Here you go:\n```json\n[\n  {"bbox_2d": [10, 20, 30, 40], "label": "cat", "score": 0.9}\n]\n```\nDone.'
    parsed = parse_boxes(reply)
    assert parsed.ok and parsed.source == "fenced"
    assert parsed.boxes == (Box(10.0, 20.0, 30.0, 40.0, "cat"),)


def test_parse_raw_json_list_and_single_object() -> None:
    two = parse_boxes('[{"bbox_2d": [1, 2, 3, 4]}, {"bbox_2d": [5.5, 6, 7, 8], "label": 3}]')
    assert two.source == "raw"
    assert [b.as_list() for b in two.boxes] == [[1, 2, 3, 4], [5.5, 6, 7, 8]]
    assert two.boxes[1].label is None  # a non-string label is ignored
    single = parse_boxes('  {"bbox_2d": [1, 2, 3, 4], "label": "dog"}  ')
    assert single.boxes == (Box(1.0, 2.0, 3.0, 4.0, "dog"),) and single.source == "raw"


def test_parse_json_inside_prose() -> None:
    parsed = parse_boxes('The cat is here: [{"bbox_2d": [1, 2, 3, 4]}] and nowhere else (see [1, 2]).')
    assert parsed.source == "embedded" and len(parsed.boxes) == 1
    ambiguous = parse_boxes('First {"bbox_2d": [1, 2, 3, 4]} then {"bbox_2d": [5, 6, 7, 8]}')
    assert ambiguous.boxes == () and "2 JSON box lists" in str(ambiguous.error)


def test_parse_empty_list_is_an_answer_without_boxes() -> None:
    for reply in ("[]", "```json\n[]\n```"):
        parsed = parse_boxes(reply)
        assert parsed.ok and parsed.boxes == ()


@pytest.mark.parametrize("reply, fragment", [
    ('[{"bbox_2d": [1, 2, 3, 4]', "not valid JSON"),                      # broken JSON
    ('```json\n[{"bbox_2d": [1, 2, 3, 4]}\n```', "fenced block is not valid JSON"),
    ('```json\n[{"bbox_2d": [1, 2', "fence is not closed"),               # truncated by max_new_tokens
    ('[{"bbox_2d": [1, 2, 3]}]', "4 finite numbers"),                     # wrong length
    ('[{"bbox_2d": ["1", 2, 3, 4]}]', "4 finite numbers"),                # non-numeric
    ('[{"bbox_2d": [true, 2, 3, 4]}]', "4 finite numbers"),               # a bool is not a number
    ('[{"bbox_2d": [NaN, 2, 3, 4]}]', "NaN is not a JSON number"),
    ('[{"bbox": [1, 2, 3, 4]}]', 'no "bbox_2d"'),
    ('[[1, 2, 3, 4]]', "item 0 is not a JSON object"),
    ("42", "expected a JSON list"),
    ("The cat is at (12, 30) to (50, 80).", "no JSON box list"),           # stray numbers are never scraped
    ("", "empty reply"),
    (None, "empty reply"),
])
def test_parse_errors_are_recorded_never_guessed(reply: str | None, fragment: str) -> None:
    parsed = parse_boxes(reply)
    assert not parsed.ok and parsed.boxes == () and parsed.source is None
    assert fragment in str(parsed.error)


# ------------------------------------------------------------------------------------------------ conventions


def test_family_table_and_override() -> None:
    assert {k: v.box_format for k, v in BOX_CONVENTIONS.items()} == {
        "qwen2_vl": "norm-1000", "qwen2_5_vl": "input-pixels", "qwen3_vl": "norm-1000",
        "qwen3_vl_moe": "norm-1000", "openai": "input-pixels"}
    assert box_format_for("qwen2_5_vl", "norm-1000") == "norm-1000"
    with pytest.raises(ValueError, match="known box convention"):
        box_format_for("llava")
    with pytest.raises(ValueError, match="box_format"):
        box_format_for("qwen2_vl", "pixels")


@pytest.mark.parametrize("family, model_box, input_size, expected", [
    ("qwen2_vl", (100, 250, 500, 1000), None, [9.0, 15.0, 45.0, 60.0]),       # x * 90 / 1000, y * 60 / 1000
    ("qwen3_vl", (0, 0, 1000, 500), None, [0.0, 0.0, 90.0, 30.0]),
    ("qwen2_5_vl", (14, 28, 42, 56), (56, 84), [15.0, 30.0, 45.0, 60.0]),    # x * 90 / 84, y * 60 / 56
    ("openai", (5, 10, 20, 30), (30, 45), [10.0, 20.0, 40.0, 60.0]),         # sent at half size
])
def test_conversion_to_frame_pixels_by_family(family: str, model_box: tuple[float, ...],
                                              input_size: tuple[int, int] | None, expected: list[float]) -> None:
    converted = to_frame_pixels([Box(*model_box)], box_format=box_format_for(family), frame_size=(60, 90),
                                input_size=input_size)
    assert converted.dropped == ()
    assert converted.boxes[0].as_list() == pytest.approx(expected)


def test_conversion_needs_the_input_size_for_input_pixels() -> None:
    with pytest.raises(ValueError, match="input_size"):
        to_frame_pixels([Box(1, 2, 3, 4)], box_format="input-pixels", frame_size=(60, 90))
    same = to_frame_pixels([Box(1.5, 2, 3, 4)], box_format="frame-pixels", frame_size=(60, 90))
    assert same.boxes[0].as_list() == [1.5, 2, 3, 4]


def test_clamping_ordering_and_dropped_boxes() -> None:
    boxes = [Box(80, 70, -10, 20, "swapped"), Box(95, 10, 120, 20), Box(10, 10, 10, 30), Box(-5, -5, 95, 65)]
    converted = to_frame_pixels(boxes, box_format="frame-pixels", frame_size=(60, 90))
    assert [b.as_list() for b in converted.boxes] == [[0, 20, 80, 60], [0, 0, 90, 60]]
    assert converted.boxes[0].label == "swapped"
    assert [(d.index, d.box.as_list()) for d in converted.dropped] == [(1, [95, 10, 120, 20]), (2, [10, 10, 10, 30])]
    assert "outside the 60 x 90 frame" in converted.dropped[0].reason
    assert converted.dropped[1].reason == "zero area as written"


def test_read_boxes_records_everything_for_the_run_file() -> None:
    answer = read_boxes('```json\n[{"bbox_2d": [14, 28, 42, 56], "label": "cat"}, {"bbox_2d": [90, 0, 99, 5]}]\n```',
                        frame_index=3, box_format="input-pixels", frame_size=(60, 90), input_size=(56, 84))
    assert answer.found and answer.error is None and answer.source == "fenced"
    assert len(answer.boxes) == 1 and answer.boxes[0].as_list() == pytest.approx([15.0, 30.0, 45.0, 60.0])
    assert len(answer.model_boxes) == 2 and len(answer.dropped) == 1
    record = json.loads(json.dumps(answer.to_json()))
    assert record["frame"] == 3 and record["box_format"] == "input-pixels" and record["input_size"] == [56, 84]
    assert record["labels"] == ["cat"] and record["dropped"][0]["index"] == 1
    broken = read_boxes("no idea", frame_index=0, box_format="norm-1000", frame_size=(60, 90))
    assert not broken.found and broken.error and broken.reply == "no idea"


def test_qwen_input_size_matches_transformers_smart_resize() -> None:
    transformers = pytest.importorskip("transformers")
    from transformers.models.qwen2_vl.image_processing_qwen2_vl import smart_resize

    assert transformers is not None
    budgets = [(56 * 56, 28 * 28 * 1280), (3136, 12845056), (28 * 28 * 4, 28 * 28 * 64), (28 * 28 * 16, 28 * 28 * 256)]
    sizes = [(1, 1), (10, 10), (60, 90), (480, 854), (720, 1280), (1080, 1920), (2160, 3840), (37, 2000), (333, 77)]
    for min_pixels, max_pixels in budgets:
        for height, width in sizes:
            for patch in (14, 16):
                try:
                    expected = smart_resize(height, width, factor=patch * 2, min_pixels=min_pixels,
                                            max_pixels=max_pixels)
                except ValueError:
                    continue
                assert qwen_input_size(height, width, min_pixels=min_pixels, max_pixels=max_pixels,
                                       patch_size=patch) == expected, (height, width, min_pixels, max_pixels, patch)
    assert qwen_input_size(720, 1280) == (728, 1288)  # 26 x 46 cells of 28 px, 937664 px <= 1003520


def test_qwen_input_size_is_the_processor_grid_times_14() -> None:
    pytest.importorskip("transformers")
    from transformers.models.qwen2_vl.image_processing_qwen2_vl import Qwen2VLImageProcessor

    processor = Qwen2VLImageProcessor(min_pixels=28 * 28 * 4, max_pixels=28 * 28 * 64)
    for height, width in ((60, 90), (200, 120), (31, 300), (720, 1280)):
        grid = processor(images=[np.zeros((height, width, 3), np.uint8)], return_tensors="pt")["image_grid_thw"][0]
        assert (int(grid[1]) * 14, int(grid[2]) * 14) == qwen_input_size(height, width, min_pixels=28 * 28 * 4,
                                                                          max_pixels=28 * 28 * 64)


# ------------------------------------------------------------------------------------------------ flip merge


def test_mirror_boxes_side_by_side() -> None:
    canvas = (40, 100)  # seam at x = 50
    left, right, across, touching = Box(10, 5, 30, 20, "l"), Box(70, 0, 90, 10), Box(40, 0, 60, 10), Box(30, 0, 50, 10)
    mapped = mirror_boxes([left, right, across, touching], canvas=canvas, axis="x")
    assert [b.as_list() for b in mapped] == [[60, 5, 80, 20], [20, 0, 40, 10], [40, 0, 60, 10], [80, 0, 100, 10]]
    assert mapped[0].label == "l"
    odd = mirror_boxes([Box(0, 0, 10, 10)], canvas=(10, 101), axis="x")
    assert odd[0].as_list() == [50.5, 0, 60.5, 10]


def test_mirror_boxes_stacked() -> None:
    canvas = (80, 50)  # seam at y = 40
    top, bottom, across = Box(5, 10, 20, 30), Box(0, 50, 10, 70), Box(0, 30, 10, 50)
    mapped = mirror_boxes([top, bottom, across], canvas=canvas, axis="y")
    assert [b.as_list() for b in mapped] == [[5, 50, 20, 70], [0, 10, 10, 30], [0, 30, 10, 50]]
    with pytest.raises(ValueError, match="axis"):
        mirror_boxes([top], canvas=canvas, axis="z")  # type: ignore[arg-type]


def test_merge_boxes_is_the_union_without_exact_duplicates() -> None:
    a = [Box(0, 0, 10, 10, "a"), Box(5, 5, 8, 8)]
    b = [Box(0, 0, 10, 10, "b"), Box(1, 1, 2, 2), Box(1, 1, 2, 2)]
    assert merge_boxes(a, b) == (Box(0, 0, 10, 10, "a"), Box(5, 5, 8, 8), Box(1, 1, 2, 2))
    assert merge_boxes([], []) == ()


# ------------------------------------------------------------------------------------------------ window


def test_parse_window() -> None:
    answer = parse_window('```json\n{"start_frame": 2, "end_frame": 7}\n```', num_frames=10, frames_shown=[0, 3, 6, 9])
    assert (answer.start, answer.end, answer.middle, answer.error) == (2, 7, 4, None)
    assert answer.frames_shown == (0, 3, 6, 9)
    assert parse_window('[{"start_frame": 3.0, "end_frame": 3}]', num_frames=4).middle == 3
    assert parse_window('It happens at {"start_frame": 1, "end_frame": 2}.', num_frames=4).middle == 1
    for reply, fragment in (('{"start_frame": 5, "end_frame": 2}', "start_frame <= end_frame"),
                            ('{"start_frame": 0, "end_frame": 10}', "0..9"),
                            ('{"start_frame": 1.5, "end_frame": 2}', "whole frame number"),
                            ('{"start_frame": true, "end_frame": 2}', "whole frame number"),
                            ('{"start_time": 1, "end_time": 2}', "start_frame"),
                            ("from frame 2 to frame 5", "no JSON frame window")):
        bad = parse_window(reply, num_frames=10)
        assert bad.middle is None and fragment in str(bad.error), reply


def test_frame_order_and_sampling() -> None:
    assert frame_order("first", 4) == (0, 1, 2, 3)
    assert frame_order("keyframe", 5, keyframe=3) == (3, 0, 1, 2, 4)
    assert frame_order("window", 8, window=(2, 5)) == (3, 2, 4, 5, 0, 1, 6, 7)
    assert frame_order("window", 3) == (0, 1, 2)
    with pytest.raises(ValueError, match="keyframe"):
        frame_order("keyframe", 5)
    assert sample_indices(10, 4) == (0, 3, 6, 9)
    assert sample_indices(2, 5) == (0, 1)


# ------------------------------------------------------------------------------------------------ initial frame


class ScriptedModel:
    """A box back end answering planted replies per frame (frame pixels on a 40 x 100 canvas)."""

    family = "scripted"
    box_format = "frame-pixels"

    def __init__(self, replies: dict[int, str], window: str = "", mirrored: dict[int, str] | None = None) -> None:
        self.replies, self.window, self.mirrored_replies = replies, window, mirrored or {}
        self.calls: list[tuple[str, int]] = []

    def locate(self, frames: Any, expression: str, frame_index: int) -> BoxAnswer:
        mirrored = bool(frames[0][0, 0, 0] == 1)
        self.calls.append(("mirrored" if mirrored else "presented", frame_index))
        table = self.mirrored_replies if mirrored else self.replies
        return read_boxes(table.get(frame_index, "I see nothing."), frame_index=frame_index,
                          box_format="frame-pixels", frame_size=(40, 100))

    def when(self, frames: Any, expression: str) -> WindowAnswer:
        return parse_window(self.window, num_frames=len(frames), frames_shown=range(len(frames)))

    def settings(self) -> dict[str, Any]:
        return {}


def _frames(count: int, value: int = 0) -> list[np.ndarray]:
    return [np.full((40, 100, 3), value, np.uint8) for _ in range(count)]


BOX = '[{"bbox_2d": [10, 5, 30, 20]}]'


def test_initial_frame_first_tries_frames_in_order_until_boxes() -> None:
    model = ScriptedModel({0: "nothing here", 1: "[]", 2: BOX})
    found = initial_frame("first", model, _frames(5), "cat")
    assert found.found and found.frame_index == 2 and found.error is None
    assert [b.as_list() for b in found.boxes] == [[10, 5, 30, 20]]
    assert [a.frame_index for a in found.attempts] == [0, 1, 2]
    assert found.replies == ("nothing here", "[]", BOX)
    assert json.loads(json.dumps(found.to_json()))["frame"] == 2


def test_initial_frame_keyframe_then_others() -> None:
    assert initial_frame("keyframe", ScriptedModel({3: BOX}), _frames(5), "cat", keyframe=3).frame_index == 3
    fallback = initial_frame("keyframe", ScriptedModel({1: BOX}), _frames(5), "cat", keyframe=3)
    assert [a.frame_index for a in fallback.attempts] == [3, 0, 1]


def test_initial_frame_window_middle_first() -> None:
    model = ScriptedModel({4: BOX}, window='{"start_frame": 2, "end_frame": 4}')
    found = initial_frame("window", model, _frames(6), "cat")
    assert found.window is not None and found.window.middle == 3
    assert [a.frame_index for a in found.attempts] == [3, 2, 4]
    assert found.replies[0] == '{"start_frame": 2, "end_frame": 4}'
    unparsable = initial_frame("window", ScriptedModel({1: BOX}, window="soon"), _frames(6), "cat")
    assert unparsable.window is not None and unparsable.window.error
    assert [a.frame_index for a in unparsable.attempts] == [0, 1]


def test_initial_frame_with_no_box_anywhere() -> None:
    none = initial_frame("first", ScriptedModel({}), _frames(3), "cat")
    assert not none.found and none.error == NO_BOX_ANYWHERE and none.boxes == ()
    assert len(none.attempts) == 3 and all(a.answer.error for a in none.attempts)
    short = initial_frame("first", ScriptedModel({}), _frames(3), "cat", max_tries=2)
    assert short.error is not None and short.error.startswith(NO_BOX_ANYWHERE) and "max_tries=2" in short.error


def test_initial_frame_stops_when_a_call_gets_no_reply() -> None:
    class Failing(ScriptedModel):
        def locate(self, frames: Any, expression: str, frame_index: int) -> BoxAnswer:
            if frame_index == 1:
                return BoxAnswer(frame_index, None, (), (), "frame-pixels", (40, 100), error="HTTP 503")
            return super().locate(frames, expression, frame_index)

    stopped = initial_frame("first", Failing({2: BOX}), _frames(4), "cat")
    assert stopped.call_failed and not stopped.found and [a.frame_index for a in stopped.attempts] == [0, 1]
    assert stopped.error == "the box call failed at frame 1: HTTP 503"
    assert stopped.attempts[1].answer.call_failed and not stopped.attempts[0].answer.call_failed


def test_initial_frame_flip_merge() -> None:
    # the mirrored layout's frames are marked with 1s; its box (left half) maps to the right half
    only_mirrored = ScriptedModel({}, mirrored={0: BOX})
    found = initial_frame("first", only_mirrored, _frames(2), "cat", mirrored=_frames(2, 1), mirror_axis="x")
    assert found.frame_index == 0 and [b.as_list() for b in found.boxes] == [[60, 5, 80, 20]]
    assert only_mirrored.calls == [("presented", 0), ("mirrored", 0)]
    both = ScriptedModel({0: '[{"bbox_2d": [60, 5, 80, 20]}]'}, mirrored={0: BOX})
    merged = initial_frame("first", both, _frames(2), "cat", mirrored=_frames(2, 1), mirror_axis="x")
    assert [b.as_list() for b in merged.boxes] == [[60, 5, 80, 20]]  # the same box found twice counts once
    assert merged.attempts[0].mirrored is not None and len(merged.replies) == 2
    with pytest.raises(ValueError, match="mirror_axis"):
        initial_frame("first", both, _frames(2), "cat", mirrored=_frames(2, 1))


# ------------------------------------------------------------------------------------------------ Qwen-VL models

FRAME_SIZE = (60, 90)


def _clip(count: int = 3, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 255, size=(*FRAME_SIZE, 3), dtype=np.uint8) for _ in range(count)]


@pytest.fixture(scope="module")
def tiny_qwen25() -> tuple[Any, Any]:
    pytest.importorskip("transformers")
    from pixbench.baselines.tiny import tiny_qwen2vl

    return tiny_qwen2vl(seed=0, version="2.5")


def _tiny_qwen3vl(seed: int = 0) -> tuple[Any, Any]:
    """A random Qwen3-VL (16 px patches, merge 2, 4..64 merged cells per image) and its processor."""
    import torch
    from transformers import Qwen3VLConfig, Qwen3VLForConditionalGeneration, Qwen3VLProcessor
    from transformers.models.qwen2_vl.image_processing_qwen2_vl import Qwen2VLImageProcessor
    from transformers.models.qwen3_vl.video_processing_qwen3_vl import Qwen3VLVideoProcessor

    from pixbench.baselines.tiny import QWEN_SPECIALS, QWEN_TEMPLATE, tiny_tokenizer

    tokenizer = tiny_tokenizer(QWEN_SPECIALS, eos="<|im_end|>", pad="<|endoftext|>", bos=None)
    ids = {t: tokenizer.convert_tokens_to_ids(t) for t in QWEN_SPECIALS}
    config = Qwen3VLConfig(
        vision_config={"depth": 1, "hidden_size": 32, "intermediate_size": 64, "num_heads": 2, "patch_size": 16,
                       "spatial_merge_size": 2, "temporal_patch_size": 2, "out_hidden_size": 32,
                       "num_position_embeddings": 64, "deepstack_visual_indexes": [0]},
        text_config={"vocab_size": len(tokenizer), "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
                     "num_attention_heads": 4, "num_key_value_heads": 4, "head_dim": 8,
                     "rope_parameters": {"rope_type": "default", "rope_theta": 10000.0, "mrope_section": [1, 1, 2],
                                         "mrope_interleaved": True},
                     "max_position_embeddings": 4096, "pad_token_id": ids["<|endoftext|>"]},
        image_token_id=ids["<|image_pad|>"], video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"], vision_end_token_id=ids["<|vision_end|>"])
    torch.manual_seed(seed)
    model = Qwen3VLForConditionalGeneration(config).eval()
    model.generation_config.pad_token_id = ids["<|endoftext|>"]
    model.generation_config.eos_token_id = ids["<|im_end|>"]
    image_processor = Qwen2VLImageProcessor(min_pixels=32 * 32 * 4, max_pixels=32 * 32 * 64, patch_size=16,
                                            merge_size=2, temporal_patch_size=2)
    processor = Qwen3VLProcessor(image_processor=image_processor, tokenizer=tokenizer,
                                 video_processor=Qwen3VLVideoProcessor(), chat_template=QWEN_TEMPLATE)
    return model, processor


@pytest.fixture(scope="module")
def tiny_qwen3() -> tuple[Any, Any]:
    pytest.importorskip("transformers")
    return _tiny_qwen3vl()


def _plant(monkeypatch: pytest.MonkeyPatch, box_model: QwenBoxModel, reply: str) -> list[Any]:
    """Replace the model call by a planted reply; the processor still runs. Returns the inputs seen."""
    seen: list[Any] = []

    def generate(inputs: Any) -> str:
        seen.append(inputs)
        return reply

    monkeypatch.setattr(box_model, "generate", generate)
    return seen


def test_qwen25_locate_end_to_end_records_the_unparsable_reply(tiny_qwen25: tuple[Any, Any]) -> None:
    model, processor = tiny_qwen25
    box_model = QwenBoxModel(model, processor, max_new_tokens=6)
    assert (box_model.family, box_model.box_format) == ("qwen2_5_vl", "input-pixels")
    answer = box_model.locate(_clip(), "red cat", 1)
    assert isinstance(answer, BoxAnswer) and answer.frame_index == 1
    assert isinstance(answer.reply, str) and answer.error is not None and answer.boxes == ()
    assert answer.input_size == (56, 84) and answer.frame_size == FRAME_SIZE
    again = box_model.locate(_clip(), "red cat", 1)
    assert again.reply == answer.reply  # greedy: same inputs, same reply


def test_qwen25_planted_reply_in_resized_input_pixels(tiny_qwen25: tuple[Any, Any],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    model, processor = tiny_qwen25
    box_model = QwenBoxModel(model, processor)
    seen = _plant(monkeypatch, box_model, '```json\n[{"bbox_2d": [14, 28, 42, 56], "label": "cat"}]\n```')
    answer = box_model.locate(_clip(), "cat", 0)
    assert seen[0]["image_grid_thw"].tolist() == [[1, 4, 6]]  # 56 x 84 px = 4 x 6 patches of 14
    assert answer.input_size == (56, 84)
    assert answer.boxes[0].as_list() == pytest.approx([15.0, 30.0, 45.0, 60.0])  # x * 90 / 84, y * 60 / 56
    # --max-pixels reaches the processor: 28 x 56 px input, boxes rescaled from that
    small = QwenBoxModel(model, processor, max_pixels=28 * 28 * 4)
    _plant(monkeypatch, small, '[{"bbox_2d": [14, 7, 42, 21]}]')
    answer = small.locate(_clip(), "cat", 0)
    assert answer.input_size == (28, 56) == qwen_input_size(60, 90, min_pixels=28 * 28 * 4, max_pixels=28 * 28 * 4)
    assert answer.boxes[0].as_list() == pytest.approx([22.5, 15.0, 67.5, 45.0])
    assert small.settings()["max_pixels"] == 28 * 28 * 4


def test_qwen2_planted_reply_in_norm_1000(tiny_qwen: tuple[Any, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    model, processor = tiny_qwen
    box_model = QwenBoxModel(model, processor)
    assert (box_model.family, box_model.box_format) == ("qwen2_vl", "norm-1000")
    _plant(monkeypatch, box_model, '[{"bbox_2d": [100, 250, 500, 1000]}]')
    answer = box_model.locate(_clip(), "cat", 2)
    assert answer.boxes[0].as_list() == pytest.approx([9.0, 15.0, 45.0, 60.0])
    overridden = QwenBoxModel(model, processor, box_format="input-pixels")
    _plant(monkeypatch, overridden, '[{"bbox_2d": [14, 28, 42, 56]}]')
    assert overridden.locate(_clip(), "cat", 2).boxes[0].as_list() == pytest.approx([15.0, 30.0, 45.0, 60.0])
    assert overridden.settings()["box_format_source"] == "override"


def test_qwen3_locate_end_to_end_and_norm_1000(tiny_qwen3: tuple[Any, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    model, processor = tiny_qwen3
    box_model = QwenBoxModel(model, processor, max_new_tokens=4)
    assert (box_model.family, box_model.box_format) == ("qwen3_vl", "norm-1000")
    real = box_model.locate(_clip(), "cat", 0)
    assert real.error is not None and real.boxes == () and real.input_size == (64, 96)  # 16 px patches
    _plant(monkeypatch, box_model, 'Sure. {"bbox_2d": [0, 0, 1000, 500], "label": "cat"}')
    answer = box_model.locate(_clip(), "cat", 0)
    assert answer.source == "embedded" and answer.boxes[0].as_list() == pytest.approx([0.0, 0.0, 90.0, 30.0])


def test_qwen_when_shows_labelled_sampled_frames(tiny_qwen25: tuple[Any, Any],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    model, processor = tiny_qwen25
    box_model = QwenBoxModel(model, processor, max_new_tokens=4, when_frames=3, when_max_pixels=28 * 28 * 4)
    real = box_model.when(_clip(5), "the cat jumping")
    assert isinstance(real, WindowAnswer) and real.middle is None and real.error and real.frames_shown == (0, 2, 4)
    seen = _plant(monkeypatch, box_model, '{"start_frame": 2, "end_frame": 4}')
    window = box_model.when(_clip(5), "the cat jumping")
    assert window.middle == 3
    assert seen[0]["image_grid_thw"].tolist() == [[1, 2, 4]] * 3  # three frames at the window's pixel budget
    text = processor.batch_decode(seen[0]["input_ids"])[0]
    assert text.count("<|vision_start|>") == 3


def test_qwen_rejects_other_families_and_loads_from_a_folder(tiny_qwen25: tuple[Any, Any], tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError, match="Qwen-VL"):
        QwenBoxModel(SimpleNamespace(config=SimpleNamespace(model_type="llava")), None)
    model, processor = tiny_qwen25
    model.save_pretrained(tmp_path / "qwen25")
    processor.save_pretrained(tmp_path / "qwen25")
    loaded = QwenBoxModel.from_pretrained(str(tmp_path / "qwen25"), device="cpu", max_pixels=28 * 28 * 4,
                                          max_new_tokens=3)
    assert loaded.family == "qwen2_5_vl" and loaded.settings()["attn_implementation"] == "sdpa"
    _plant(monkeypatch, loaded, '[{"bbox_2d": [14, 7, 42, 21]}]')
    assert loaded.locate(_clip(), "cat", 0).boxes[0].as_list() == pytest.approx([22.5, 15.0, 67.5, 45.0])


# ------------------------------------------------------------------------------------------------ OpenAI endpoint

SECRET = "sk-pixbench-test-SECRET-0123456789"
PLANTED = '```json\n[{"bbox_2d": [4, 6, 20, 18], "label": "cat"}]\n```'


def _sent_images(body: dict[str, Any]) -> list[Image.Image]:
    images = []
    for part in body["messages"][-1]["content"]:
        if part.get("type") == "image_url":
            url = part["image_url"]["url"]
            assert url.startswith("data:image/jpeg;base64,")
            images.append(Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))))
    return images


def _video(count: int = 8) -> list[np.ndarray]:
    rng = np.random.default_rng(1)
    return [rng.integers(0, 255, size=(48, 64, 3), dtype=np.uint8) for _ in range(count)]


def _endpoint(server: Any, cache: Any, **kwargs: Any) -> OpenAIBoxModel:
    return OpenAIBoxModel.from_endpoint("gpt-test", base_url=server.base_url, cache=cache, backoff=0.01, **kwargs)


def test_openai_boxes_scaled_back_stride_and_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("openai")
    from judge_server import running_server

    from pixbench.judge import JudgeCache

    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    cache_path = tmp_path / "judge.sqlite"
    with running_server(lambda body: PLANTED) as server:
        with JudgeCache(cache_path) as cache:
            box_model = _endpoint(server, cache)
            answer = box_model.locate(_video(), "cat", 0)
            from_three = box_model.locate(_video(), "cat", 3)
            box_model.close()
        assert server.request_count == 2
        first, second = (r.body for r in server.requests)
        assert server.requests[0].headers["authorization"] == f"Bearer {SECRET}"  # the key was used...
        assert first["messages"][0] == {"role": "system", "content": GPT_BOX_SYSTEM}
        assert first["messages"][1]["content"][0] == {"type": "text", "text": gpt_box_prompt("cat")}
        assert len(_sent_images(first)) == 4 and len(_sent_images(second)) == 3  # frames 0,2,4,6 and 3,5,7
        assert {image.size for image in _sent_images(first)} == {(32, 24)}  # (w, h) halved
        assert answer.input_size == (24, 32) and answer.frame_size == (48, 64) and not answer.cached
        assert answer.boxes == (Box(8.0, 12.0, 40.0, 36.0, "cat"),)  # x 2 back to frame pixels
        assert from_three.frame_index == 3 and from_three.found

        with JudgeCache(cache_path) as cache:  # a rerun: every reply from the cache, no request
            server.reset()
            rerun = _endpoint(server, cache)
            again = rerun.locate(_video(), "cat", 0)
            rerun.close()
        assert server.request_count == 0
        assert again.cached and again.boxes == answer.boxes and again.reply == answer.reply
    stored = b"".join(path.read_bytes() for path in tmp_path.iterdir() if path.name.startswith("judge.sqlite"))
    assert PLANTED.encode() in stored or b"bbox_2d" in stored
    assert SECRET.encode() not in stored  # ...but never cached


def test_openai_stride_downscale_and_image_style(tmp_path: Path) -> None:
    pytest.importorskip("openai")
    from judge_server import running_server

    with running_server(lambda body: '[{"bbox_2d": [1, 2, 3, 4]}]') as server:
        box_model = _endpoint(server, None, frame_stride=3, downscale=1)
        answer = box_model.locate(_video(), "cat", 1)
        image_model = _endpoint(server, None, prompt_style="image", downscale=4)
        single = image_model.locate(_video(), "cat", 5)
        box_model.close()
        image_model.close()
    video_body, image_body = (r.body for r in server.requests)
    assert [im.size for im in _sent_images(video_body)] == [(64, 48)] * 3  # frames 1, 4, 7 at full size
    assert answer.boxes[0].as_list() == [1, 2, 3, 4]
    assert image_body["messages"][0]["content"] == BOX_SYSTEM
    assert image_body["messages"][1]["content"][0]["text"] == box_prompt("cat")
    assert [im.size for im in _sent_images(image_body)] == [(16, 12)]
    assert single.boxes[0].as_list() == [4, 8, 12, 16]  # x 4 back
    assert image_model.settings()["prompt_style"] == "image"


def test_openai_failures_are_recorded(tmp_path: Path) -> None:
    pytest.importorskip("openai")
    from judge_server import garbage, ok, running_server, server_error

    from pixbench.judge import JudgeCache

    reply = "I am not sure where the cat is."
    script = [server_error(500), server_error(500)]
    with running_server(lambda body: reply, script=script) as server, JudgeCache(tmp_path / "judge.sqlite") as cache:
        box_model = _endpoint(server, cache, max_attempts=2)
        failed = box_model.locate(_video(), "cat", 0)
        assert server.request_count == 2  # at most 2 attempts
        assert failed.reply is None and failed.boxes == () and "HTTP 500" in str(failed.error)
        assert len(cache) == 0

        server.reset()
        server.push(server_error(500), ok())
        recovered = box_model.locate(_video(), "cat", 0)
        assert server.request_count == 2 and recovered.reply == reply
        assert recovered.error is not None and "no JSON box list" in recovered.error  # parsed strictly
        assert len(cache) == 1  # the reply is kept even though it has no box

        server.reset()
        server.push(garbage())
        malformed = box_model.locate(_video(), "dog", 0)
        assert server.request_count == 1 and "malformed" in str(malformed.error)  # not retried
        box_model.close()


def test_openai_initial_frame_stops_on_a_failing_endpoint() -> None:
    pytest.importorskip("openai")
    from judge_server import running_server, server_error

    with running_server(lambda body: PLANTED, always=server_error(502)) as server:
        box_model = _endpoint(server, None, max_attempts=2)
        found = initial_frame("first", box_model, _video(3), "cat")
        box_model.close()
    assert found.call_failed and found.frame_index is None and "HTTP 502" in str(found.error)
    assert server.request_count == 2 and len(found.attempts) == 1  # no call for frames 1 and 2
    assert box_model.unreachable is None  # the server answered: an HTTP error, not a dead endpoint


def test_openai_when_window(tmp_path: Path) -> None:
    pytest.importorskip("openai")
    from judge_server import running_server

    with running_server(lambda body: '{"start_frame": 2, "end_frame": 6}') as server:
        box_model = _endpoint(server, None, when_frames=3)
        window = box_model.when(_video(), "the cat jumping")
        box_model.close()
    assert window.middle == 4 and window.frames_shown == (0, 4, 7)
    parts = server.requests[0].body["messages"][1]["content"]
    assert [p["text"] for p in parts if p["type"] == "text"][1:] == ["Frame 0:", "Frame 4:", "Frame 7:"]
    assert len(_sent_images(server.requests[0].body)) == 3
