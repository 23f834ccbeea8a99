"""Hostile box replies are data: bounded parsing (nesting, size, lone surrogates), at most 100 boxes per reply,
and the union of many boxes' masks in one bounded pass (SAM for images, SAM 2 for video).

Parsing is fuzzed with hypothesis and checked on the red team's replies (100,000 nested ``[``, a lone
surrogate, 10,000 boxes); the OpenAI back end against a real local HTTP server (tests/judge_server.py) with
the judge's SQLite cache; SAM's batched union against the per-box OR on the tiny random segment-anything and
transformers SAM; the video union against transformers' own whole-video session on the tiny random SAM 2.
"""

from __future__ import annotations

import base64
import io
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pixbench.baselines.box_models import initial_frame
from pixbench.baselines.boxes import (
    MAX_BOXES_PER_REPLY,
    MAX_JSON_DEPTH,
    MAX_REPLY_CHARS,
    SCAN_TOKENS_PER_CHAR,
    Box,
    encodable_text,
    parse_boxes,
    parse_window,
    read_boxes,
    to_frame_pixels,
)

NESTED = "[" * 100_000
OVER = f"over the limit of {MAX_BOXES_PER_REPLY} boxes per reply"


def box_list(count: int, *, left: bool = False) -> str:
    """``count`` distinct boxes as a JSON reply (in the left half of a 40 x 100 frame when ``left``)."""
    if left:
        boxes = [[(k % 10) * 4, (k // 10 % 10) * 3, (k % 10) * 4 + 4, (k // 10 % 10) * 3 + 3] for k in range(count)]
    else:
        boxes = [[k % 50, k % 40, k % 50 + 30, k % 40 + 20] for k in range(count)]
    return json.dumps([{"bbox_2d": box, "label": f"x{k}"} for k, box in enumerate(boxes)])


def writable(record: Any) -> bytes:
    """What a run file gets: the record as one JSON line in UTF-8 (raises on a lone surrogate)."""
    return (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")


def check_parsed(reply: str | None) -> None:
    parsed = parse_boxes(reply)
    assert (parsed.error is None) == (parsed.source is not None)
    if parsed.error is not None:
        assert parsed.boxes == ()
        parsed.error.encode("utf-8")
    for box in parsed.boxes:
        assert all(math.isfinite(v) for v in box.as_list())
        if box.label is not None:
            box.label.encode("utf-8")
    answer = read_boxes(reply, frame_index=0, box_format="norm-1000", frame_size=(30, 40))
    assert len(answer.boxes) <= MAX_BOXES_PER_REPLY
    writable(answer.to_json())
    window = parse_window(reply, num_frames=5)
    assert (window.error is None) == (window.middle is not None)
    writable(window.to_json())


# ------------------------------------------------------------------------------------------------ parsing

# every character, lone surrogates included (hypothesis leaves out category Cs unless told)
any_text = st.text(alphabet=st.characters(exclude_categories=()), max_size=300)
json_ish = st.lists(st.sampled_from(['[', ']', '{', '}', '"', ',', ':', ' ', '\n', '\\', '0', '7', '-1e999', '1' * 400,
                                     '"bbox_2d"', '"label"', '"start_frame"', '"end_frame"', '"bbox_2d": [1, 2, 3, 4]',
                                     '```json\n', '```', 'NaN', 'true', '\\ud800', '\ud800', '"\\"', 'x']),
                    max_size=120).map("".join)


@st.composite
def nested(draw: st.DrawFn) -> str:
    """Deep or near-limit nesting around text, closed or not, in prose or a fence."""
    depth = draw(st.one_of(st.integers(0, 3 * MAX_JSON_DEPTH), st.integers(0, 2_000)))
    openers = draw(st.sampled_from(["[", "{", '{"a":', '[{"bbox_2d":', '["\\"', '"[']))
    inner = draw(st.sampled_from(["", "1", '{"bbox_2d": [1, 2, 3, 4]}', '"', "[1, 2, 3, 4]"]))
    closers = draw(st.integers(0, depth + 2))
    closer = draw(st.sampled_from(["]", "}", "]}"]))
    prefix = draw(st.sampled_from(["", "Here: ", "```json\n", 'He said "no" ']))
    return prefix + openers * depth + inner + closer * closers


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.none(), any_text, json_ish, nested()))
def test_parsing_never_raises(reply: str | None) -> None:
    check_parsed(reply)


@pytest.mark.parametrize("reply", [
    NESTED,                                    # the red team's reply
    "The boxes: " + NESTED,                    # inside prose
    "```json\n" + NESTED,                      # in an unclosed fence
    '{"a":' * 100_000,                         # objects
    "[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1),
])
def test_deep_nesting_is_an_error_not_a_crash(reply: str) -> None:
    parsed = parse_boxes(reply)  # RecursionError before
    assert parsed.boxes == () and parsed.source is None
    if not reply.startswith("The"):
        assert f"nested deeper than {MAX_JSON_DEPTH} arrays/objects" in str(parsed.error)
    window = parse_window(reply, num_frames=4)
    assert window.middle is None and window.error


def test_nesting_up_to_the_limit_still_parses() -> None:
    deepest = "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH
    assert "item 0 is not a JSON object" in str(parse_boxes(deepest).error)  # decoded, then refused by shape
    wrapped = f'Found it: {{"a": {"[" * (MAX_JSON_DEPTH - 2)}{"]" * (MAX_JSON_DEPTH - 2)}}} and ' \
              '[{"bbox_2d": [1, 2, 3, 4], "label": "cat"}] after ' + "[" * 5000
    parsed = parse_boxes(wrapped)
    assert parsed.source == "embedded" and parsed.boxes == (Box(1.0, 2.0, 3.0, 4.0, "cat"),)


def test_too_large_and_non_text_replies() -> None:
    huge = "[" + '{"bbox_2d": [1, 2, 3, 4]},' * (MAX_REPLY_CHARS // 26 + 1) + "]"
    assert len(huge) > MAX_REPLY_CHARS
    parsed = parse_boxes(huge)
    assert parsed.boxes == () and "too large to parse" in str(parsed.error) and f"{len(huge):,}" in str(parsed.error)
    assert "expected the reply as text, but got bytes" in str(parse_boxes(b"[]").error)  # type: ignore[arg-type]


@pytest.mark.parametrize("repeat", [2_500, 25_000])
def test_brackets_that_never_close_exhaust_the_scan_budget(repeat: int) -> None:
    # every opener sits in a string of the previous scan, so each is scanned again to the end (quadratic): the
    # budget, linear in the reply, ends it
    reply = "x " + '["\\"' * repeat
    parsed = parse_boxes(reply)
    budget = SCAN_TOKENS_PER_CHAR * len(reply) + 10_000
    assert parsed.boxes == () and f"gave up looking for JSON after {budget:,} brackets" in str(parsed.error)


def test_an_escaped_quote_storm_before_the_boxes() -> None:
    # 120,000 openers whose strings run to the list's first quote: each was decoded from its absolute position
    for storm in ('\\"[' * 120_000, '\\"[' * 120_000 + '"]'):
        parsed = parse_boxes("x " + storm + ' [{"bbox_2d": [1, 2, 3, 4]}]')
        assert parsed.source == "embedded" and parsed.boxes == (Box(1.0, 2.0, 3.0, 4.0),)


def test_lone_surrogates_in_labels_keys_and_replies_are_written_as_u_fffd() -> None:
    escaped = '[{"bbox_2d": [1, 2, 30, 40], "label": "cat \\ud800"}]'  # an ASCII reply, a surrogate once decoded
    answer = read_boxes(escaped + " \udfff", frame_index=0, box_format="frame-pixels", frame_size=(60, 90))
    assert answer.boxes == (Box(1.0, 2.0, 30.0, 40.0, "cat \ufffd"),) and answer.source == "embedded"
    record = json.loads(writable(answer.to_json()))  # UnicodeEncodeError before
    assert record["labels"] == ["cat \ufffd"] and record["reply"] == escaped + " \ufffd"
    keyed = parse_boxes('[{"\\udc80": 1}]')
    assert 'no "bbox_2d" (keys: \ufffd)' in str(keyed.error)
    window = parse_window('{"start_frame": 1, "end_frame": 0} \ud800', num_frames=3)
    assert json.loads(writable(window.to_json()))["reply"].endswith("\ufffd")
    assert encodable_text("a\ud800b\U0001F600") == "a\ufffdb\U0001F600"


def test_integers_beyond_the_float_range_are_not_numbers() -> None:
    parsed = parse_boxes('[{"bbox_2d": [1, 2, 3, 1' + "0" * 400 + "]}]")  # OverflowError before
    assert parsed.boxes == () and "4 finite numbers" in str(parsed.error)
    window = parse_window('{"start_frame": 1, "end_frame": 1' + "0" * 400 + "}", num_frames=3)
    assert window.middle is None and "whole frame number" in str(window.error)


# ------------------------------------------------------------------------------------------------ box limit


def test_at_most_100_boxes_per_reply_the_rest_dropped_with_the_reason() -> None:
    answer = read_boxes(box_list(10_000), frame_index=0, box_format="frame-pixels", frame_size=(60, 90))
    assert len(answer.model_boxes) == 10_000 and len(answer.boxes) == MAX_BOXES_PER_REPLY
    assert [b.label for b in answer.boxes] == [f"x{k}" for k in range(MAX_BOXES_PER_REPLY)]
    assert [d.index for d in answer.dropped] == list(range(MAX_BOXES_PER_REPLY, 10_000))
    assert {d.reason for d in answer.dropped} == {OVER}
    record = json.loads(writable(answer.to_json()))
    assert len(record["boxes"]) == 100 and record["dropped"][0] == {"index": 100, "bbox": [0, 20, 30, 40],
                                                                    "reason": OVER}
    everything = read_boxes(box_list(150), frame_index=0, box_format="frame-pixels", frame_size=(60, 90),
                            max_boxes=None)
    assert len(everything.boxes) == 150 and everything.dropped == ()


def test_the_limit_counts_boxes_that_survive_conversion() -> None:
    boxes = [Box(5, 5, 5, 9)] * 3 + [Box(k, 0, k + 2, 2) for k in range(6)]  # 3 zero-area boxes first
    converted = to_frame_pixels(boxes, box_format="frame-pixels", frame_size=(10, 10), max_boxes=4)
    assert [b.x1 for b in converted.boxes] == [0, 1, 2, 3]
    assert [(d.index, d.reason) for d in converted.dropped] == [
        (0, "zero area as written"), (1, "zero area as written"), (2, "zero area as written"),
        (7, "over the limit of 4 boxes per reply"), (8, "over the limit of 4 boxes per reply")]
    with pytest.raises(ValueError, match="max_boxes >= 0"):
        to_frame_pixels(boxes, box_format="frame-pixels", frame_size=(10, 10), max_boxes=-1)


# ------------------------------------------------------------------------------------------------ OpenAI endpoint


def _mean_of_first_image(body: dict[str, Any]) -> float:
    from PIL import Image

    part = next(p for p in body["messages"][-1]["content"] if p.get("type") == "image_url")
    data = base64.b64decode(part["image_url"]["url"].split(",", 1)[1])
    return float(np.asarray(Image.open(io.BytesIO(data))).mean())


def test_hostile_replies_through_a_real_endpoint_and_its_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                                               ) -> None:
    pytest.importorskip("openai")
    from judge_server import running_server

    from pixbench.baselines.box_models import OpenAIBoxModel
    from pixbench.judge import JudgeCache

    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    replies = {"nested": NESTED, "many": box_list(10_000), "surrogate": 'A \ud800 [{"bbox_2d": [1, 2, 30, 40], '
                                                                       '"label": "\\ud800"}]'}
    frames = [np.full((60, 90, 3), 40 * k, np.uint8) for k in range(3)]
    results: dict[str, Any] = {}
    for rerun in (False, True):  # the second run answers from the cache, and must not fail either
        with running_server(lambda body: replies[body["messages"][-1]["content"][0]["text"].split()[3]]) as server, \
                JudgeCache(tmp_path / "judge.sqlite") as cache:
            model = OpenAIBoxModel.from_endpoint("gpt-test", base_url=server.base_url, cache=cache, backoff=0.01,
                                                 downscale=1)
            for name in replies:
                found = initial_frame("first", model, frames, f"{name} thing")
                writable(found.to_json())
                results[name] = found
            model.close()
        assert server.request_count == (0 if rerun else 3 + 1 + 1)  # nested: all 3 frames tried, then one each
        nested_answer = results["nested"].attempts[0].answer
        assert not results["nested"].found and len(results["nested"].attempts) == 3
        assert nested_answer.cached == rerun and "nested deeper than 32" in str(nested_answer.error)
        many = results["many"]
        assert many.frame_index == 0 and len(many.boxes) == MAX_BOXES_PER_REPLY
        assert len(many.attempts[0].answer.dropped) == 10_000 - MAX_BOXES_PER_REPLY
        assert results["surrogate"].boxes == (Box(1.0, 2.0, 30.0, 40.0, "\ufffd"),)


def test_flip_merge_keeps_at_most_100_boxes(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("openai")
    from judge_server import running_server

    from pixbench.baselines.box_models import OpenAIBoxModel

    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    presented = [np.zeros((40, 100, 3), np.uint8)] * 2
    mirrored = [np.full((40, 100, 3), 200, np.uint8)] * 2
    full = box_list(MAX_BOXES_PER_REPLY, left=True)  # 100 distinct boxes in the left half, on both layouts
    with running_server(lambda body: full) as server:
        model = OpenAIBoxModel.from_endpoint("gpt-test", base_url=server.base_url, cache=None, downscale=1)
        found = initial_frame("first", model, presented, "cat", mirrored=mirrored, mirror_axis="x")
        model.close()
        assert sorted(_mean_of_first_image(r.body) > 100 for r in server.requests) == [False, True]
    attempt = found.attempts[0]
    assert len(attempt.answer.boxes) == len(attempt.mirrored.boxes) == MAX_BOXES_PER_REPLY  # type: ignore[union-attr]
    assert found.boxes == attempt.answer.boxes  # the presented layout's boxes come first
    assert len(attempt.over_limit) == MAX_BOXES_PER_REPLY and all(b.x1 >= 50 for b in attempt.over_limit)
    assert len(json.loads(writable(found.to_json()))["attempts"][0]["over_limit"]) == MAX_BOXES_PER_REPLY


# ------------------------------------------------------------------------------------------------ SAM union


def _random_boxes(count: int, height: int, width: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    corner = rng.uniform(0, [width - 4, height - 4], size=(count, 2))
    return np.concatenate([corner, corner + rng.uniform(2, 30, size=(count, 2))], axis=1)


def _segmenter(backend: str) -> Any:
    """The tiny random segment-anything or transformers SAM behind :class:`BoxSegmenter`."""
    pytest.importorskip("torch")
    pytest.importorskip("segment_anything")
    pytest.importorskip("transformers")
    from segment_anything import SamPredictor

    from pixbench.baselines.sam import SegmentAnythingSegmenter, TransformersSamSegmenter
    from pixbench.baselines.tiny import tiny_segment_anything, tiny_transformers_sam

    if backend == "segment-anything":
        return SegmentAnythingSegmenter(SamPredictor(tiny_segment_anything()))
    return TransformersSamSegmenter(*tiny_transformers_sam())


@pytest.mark.parametrize("backend", ["segment-anything", "transformers"])
def test_batched_union_equals_the_per_box_or(backend: str) -> None:
    from baseline_helpers import make_image

    from pixbench.baselines.sam import BOX_BATCH, BoxSegmenter

    segmenter = _segmenter(backend)
    assert isinstance(segmenter, BoxSegmenter)
    image = np.asarray(make_image(96, 128))
    boxes = _random_boxes(2 * BOX_BATCH + 7, 96, 128)  # two full batches and a partial one
    segmenter.set_image(image)
    singles = [segmenter.predict_box(box) for box in boxes]
    expected = np.logical_or.reduce(singles)
    assert not expected.all() and all((single != expected).any() for single in singles)  # a union that tells
    sizes: list[int] = []
    if backend == "segment-anything":
        predict_torch = segmenter.predictor.predict_torch
        segmenter.predictor.predict_torch = lambda *a, **k: (sizes.append(len(k["boxes"])), predict_torch(*a, **k))[1]
    else:
        forward = segmenter.model.forward
        segmenter.model.forward = lambda **k: (sizes.append(k["input_boxes"].shape[1]), forward(**k))[1]
    union = segmenter.predict_box_union(boxes)
    np.testing.assert_array_equal(union, expected)
    assert sizes == [BOX_BATCH, BOX_BATCH, 7]  # memory bounded by the batch, not by the number of boxes
    assert not segmenter.predict_box_union(np.zeros((0, 4))).any()
    with pytest.raises(ValueError, match="box 1 as 4 finite numbers"):
        segmenter.predict_box_union(np.array([[1, 2, 3, 4], [1, 2, np.nan, 4]]))


def test_segment_boxes_is_the_served_step_for_a_10000_box_reply() -> None:
    from baseline_helpers import make_image

    from pixbench.baselines.sam import segment_boxes

    segmenter = _segmenter("segment-anything")
    image = np.asarray(make_image(60, 90, seed=2))
    answer = read_boxes(box_list(10_000), frame_index=0, box_format="frame-pixels", frame_size=(60, 90))
    boxes = np.array([b.as_list() for b in answer.boxes])
    mask = segment_boxes(segmenter, image, boxes)
    assert mask.shape == (60, 90) and mask.dtype == bool

    class PerBox:  # a segmenter with predict_box only: asked box by box, ORed
        name = "per-box"

        def set_image(self, image: np.ndarray) -> None:
            segmenter.set_image(image)

        def predict_box(self, box: np.ndarray) -> np.ndarray:
            return segmenter.predict_box(box)

    np.testing.assert_array_equal(segment_boxes(PerBox(), image, boxes), mask)

    class Unset:
        def set_image(self, image: np.ndarray) -> None:
            raise AssertionError("SAM must not run without boxes")

    assert not segment_boxes(Unset(), image, []).any()


# ------------------------------------------------------------------------------------------------ video union


def test_video_union_of_many_objects_in_bounded_batches_matches_transformers() -> None:
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    if not hasattr(transformers, "Sam2VideoModel"):
        pytest.skip("the installed transformers has no Sam2VideoModel")
    from pixbench.baselines.video_segmenters import UNION_BATCH, Sam2VideoSegmenter, tiny_sam2_video

    torch.set_num_threads(1)
    model, processor = tiny_sam2_video(seed=0)
    rng = np.random.default_rng(3)
    frames = [rng.integers(0, 255, size=(40, 56, 3), dtype=np.uint8) for _ in range(3)]
    boxes = [tuple(b) for b in _random_boxes(UNION_BATCH + 5, 40, 56, seed=4).clip(0, [56, 40, 56, 40]).tolist()]
    session = processor.init_video_session(video=frames, inference_device="cpu")  # transformers' documented use
    processor.add_inputs_to_inference_session(inference_session=session, frame_idx=1,
                                              obj_ids=list(range(1, len(boxes) + 1)),
                                              input_boxes=[[list(b) for b in boxes]])
    expected: dict[int, np.ndarray] = {}
    for reverse in (False, True):
        for output in model.propagate_in_video_iterator(session, start_frame_idx=1, reverse=reverse):
            masks = processor.post_process_masks([output.pred_masks], original_sizes=[[40, 56]])[0]
            expected[output.frame_idx] = masks.any(dim=0)[0].numpy()
    objects: list[int] = []
    post_process = processor.post_process_masks
    processor.post_process_masks = lambda masks, **k: (objects.append(len(masks[0])), post_process(masks, **k))[1]
    result = Sam2VideoSegmenter(model, processor).segment(frames, init_frame=1, boxes=boxes)
    for t in range(3):
        np.testing.assert_array_equal(result[t], expected[t], err_msg=f"frame {t}")
    assert max(objects) == UNION_BATCH and sum(objects) == 3 * len(boxes)  # all objects per frame, in batches


def test_video_ground_on_a_10000_box_reply_tracks_100_objects(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("openai")
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    if not hasattr(transformers, "Sam2VideoModel"):
        pytest.skip("the installed transformers has no Sam2VideoModel")
    from judge_server import running_server

    from pixbench.baselines.box_models import OpenAIBoxModel
    from pixbench.baselines.video_runner import BoxThenPropagate, Clip
    from pixbench.baselines.video_segmenters import Sam2VideoSegmenter, tiny_sam2_video

    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    torch.set_num_threads(1)
    model, processor = tiny_sam2_video(seed=0)
    seeded: list[int] = []
    add = processor.add_inputs_to_inference_session
    processor.add_inputs_to_inference_session = lambda **k: (seeded.append(len(k["obj_ids"])), add(**k))[1]
    frames = [np.zeros((60, 90, 3), np.uint8)] * 2
    reply = box_list(10_000)
    with running_server(lambda body: reply) as server:
        box_model = OpenAIBoxModel.from_endpoint("gpt-test", base_url=server.base_url, cache=None, downscale=1)
        result = BoxThenPropagate(box_model, Sam2VideoSegmenter(model, processor))(
            Clip(id="c", probe="original", layout=None, expression="x", frames=frames, keyframe=0))
        box_model.close()
    assert seeded == [MAX_BOXES_PER_REPLY] and result.masks is not None and len(result.masks) == 2
    assert len(result.details["boxes"]) == MAX_BOXES_PER_REPLY
    answer = result.details["search"]["attempts"][0]["answer"]
    dropped = answer["dropped"]  # the first ones stored, all of them counted (a line stays short)
    assert len(dropped) == MAX_BOXES_PER_REPLY and dropped[-1]["reason"] == OVER
    assert answer["dropped_count"] == 10_000 - MAX_BOXES_PER_REPLY and answer["model_box_count"] == 10_000
    writable(result.details)
