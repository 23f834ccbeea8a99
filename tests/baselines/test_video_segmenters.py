"""Video segmenters of the video grounding baselines: tiny random SAM 2 / SAM 3 models built here, planted
logits through stubbed models for exact masks, and transformers' own whole-video session as the reference."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
if not hasattr(transformers, "Sam2VideoModel"):
    pytest.skip("the installed transformers has no Sam2VideoModel", allow_module_level=True)

from pixbench.baselines import video_segmenters as vs  # noqa: E402
from pixbench.baselines.video_segmenters import (  # noqa: E402
    BoxPropagator,
    Sam2VideoSegmenter,
    Sam3TextTracker,
    Sam3TrackerVideoSegmenter,
    load_video_segmenter,
    make_tiny_sam2_video,
    tiny_sam2_video,
)

HAVE_SAM3 = hasattr(transformers, "Sam3VideoModel") and hasattr(transformers, "Sam3TrackerVideoModel")
HEIGHT, WIDTH, FRAMES, INIT = 64, 96, 6, 2
RED_BOX = (20.0, 16.0, 44.0, 40.0)  # the red square on frame INIT
GREEN_BOX = (70.0, 44.0, 82.0, 60.0)  # the green bar on frame INIT


def moving_clip(frames: int = FRAMES, height: int = HEIGHT, width: int = WIDTH) -> list[np.ndarray]:
    """A red square moving right and a green bar moving left on a grey background."""
    clip = []
    for t in range(frames):
        frame = np.full((height, width, 3), 30, dtype=np.uint8)
        frame[16:40, 8 + 6 * t:32 + 6 * t] = (220, 40, 40)
        frame[44:60, 80 - 5 * t:92 - 5 * t] = (40, 200, 60)
        clip.append(frame)
    return clip


@pytest.fixture(scope="module", autouse=True)
def one_thread() -> Iterator[None]:
    """Tiny models run faster on one thread, and two shared cores do not oversubscribe."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def tiny() -> tuple[Any, Any]:
    """The tiny random SAM 2 video model (64 px) and its processor (shared: do not modify)."""
    return tiny_sam2_video(seed=0)


@pytest.fixture(scope="module")
def short_memory() -> tuple[Any, Any]:
    """A tiny SAM 2 that reads 2 memories and 3 object pointers, so a 12-frame clip exceeds its window."""
    return tiny_sam2_video(seed=1, num_maskmem=3, max_object_pointers=4)


def reference_masks(model: Any, processor: Any, frames: list[np.ndarray], init: int,
                    boxes: list[tuple[float, ...]]) -> list[np.ndarray]:
    """transformers' documented use: the whole video in one session, forward then backward, union."""
    session = processor.init_video_session(video=frames, inference_device="cpu")
    processor.add_inputs_to_inference_session(inference_session=session, frame_idx=init,
                                              obj_ids=list(range(1, len(boxes) + 1)),
                                              input_boxes=[[list(b) for b in boxes]])
    height, width = frames[0].shape[:2]
    out: dict[int, np.ndarray] = {}
    for reverse in (False, True):
        for output in model.propagate_in_video_iterator(session, start_frame_idx=init, reverse=reverse):
            masks = processor.post_process_masks([output.pred_masks], original_sizes=[[height, width]])[0]
            out[output.frame_idx] = masks.any(dim=0)[0].numpy()
    return [out[t] for t in range(len(frames))]


# ----------------------------------------------------------------------------------------------- SAM 2


def test_masks_have_the_frame_size_and_count(tiny: tuple[Any, Any]) -> None:
    segmenter = Sam2VideoSegmenter(*tiny)
    assert isinstance(segmenter, BoxPropagator)
    masks = segmenter.segment(moving_clip(), init_frame=INIT, boxes=[RED_BOX])
    assert len(masks) == FRAMES
    assert all(m.shape == (HEIGHT, WIDTH) and m.dtype == bool for m in masks)


def test_matches_transformers_whole_video_session(tiny: tuple[Any, Any]) -> None:
    frames = moving_clip()
    masks = Sam2VideoSegmenter(*tiny).segment(frames, init_frame=INIT, boxes=[RED_BOX, GREEN_BOX])
    expected = reference_masks(*tiny, frames, INIT, [RED_BOX, GREEN_BOX])
    for t in range(FRAMES):
        np.testing.assert_array_equal(masks[t], expected[t], err_msg=f"frame {t}")


def test_no_boxes_gives_empty_masks_without_the_model() -> None:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the model must not run without boxes")

    model = SimpleNamespace(propagate_in_video_iterator=refuse, __call__=refuse)
    processor = SimpleNamespace(init_video_session=refuse, add_inputs_to_inference_session=refuse,
                                video_processor=refuse, post_process_masks=refuse)
    segmenter = Sam2VideoSegmenter(model, processor)
    for frames in (moving_clip(), iter(moving_clip()), np.stack(moving_clip())):
        masks = segmenter.segment(frames, init_frame=INIT, boxes=[])
        assert len(masks) == FRAMES
        assert all(m.shape == (HEIGHT, WIDTH) and m.dtype == bool and not m.any() for m in masks)
    assert segmenter.segment([], init_frame=0, boxes=[]) == []


def test_missing_torch_or_transformers_gives_the_install_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    for module, load in (("torch", vs._import_torch), ("transformers", vs._transformers)):
        with monkeypatch.context() as patch:
            patch.setitem(sys.modules, module, None)
            with pytest.raises(ImportError, match=r'pip install "pixbench\[baselines\]"'):
                load()
    monkeypatch.setitem(sys.modules, "torch", None)  # no boxes: numpy only
    assert not Sam2VideoSegmenter(None, None).segment(moving_clip(), init_frame=0, boxes=[])[0].any()


def test_propagates_forward_then_backward(tiny: tuple[Any, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    model, processor = tiny
    original = model.propagate_in_video_iterator
    calls: list[tuple[int, bool, list[int]]] = []

    def spy(session: Any, start_frame_idx: int, reverse: bool = False, **kwargs: Any) -> Iterator[Any]:
        seen: list[int] = []
        calls.append((start_frame_idx, reverse, seen))
        for output in original(session, start_frame_idx=start_frame_idx, reverse=reverse, **kwargs):
            seen.append(output.frame_idx)
            yield output

    monkeypatch.setattr(model, "propagate_in_video_iterator", spy)
    segmenter = Sam2VideoSegmenter(model, processor)
    order = [t for t, _ in segmenter.iter_segment(moving_clip(), init_frame=INIT, boxes=[RED_BOX])]
    assert calls == [(INIT, False, [2, 3, 4, 5]), (INIT, True, [2, 1, 0])]
    assert order == [2, 3, 4, 5, 1, 0]  # each frame once: forward from init, then backward


def test_union_of_two_boxes_is_the_or_of_single_box_runs(tiny: tuple[Any, Any]) -> None:
    segmenter, frames = Sam2VideoSegmenter(*tiny), moving_clip()
    both = segmenter.segment(frames, init_frame=INIT, boxes=[RED_BOX, GREEN_BOX])
    red = segmenter.segment(frames, init_frame=INIT, boxes=[RED_BOX])
    green = segmenter.segment(frames, init_frame=INIT, boxes=[GREEN_BOX])
    for t in range(FRAMES):
        np.testing.assert_array_equal(both[t], red[t] | green[t], err_msg=f"frame {t}")
    assert segmenter.segment(frames, init_frame=INIT, boxes=[RED_BOX])[3].tolist() == red[3].tolist()


def test_streamed_frames_equal_a_list(tiny: tuple[Any, Any]) -> None:
    segmenter, frames = Sam2VideoSegmenter(*tiny), moving_clip()
    from_list = segmenter.segment(frames, init_frame=INIT, boxes=[RED_BOX])
    from_iterator = segmenter.segment((f for f in frames), init_frame=INIT, boxes=[RED_BOX])
    from_array = segmenter.segment(np.stack(frames), init_frame=INIT, boxes=[RED_BOX])
    for t in range(FRAMES):
        np.testing.assert_array_equal(from_iterator[t], from_list[t])
        np.testing.assert_array_equal(from_array[t], from_list[t])


def test_trimmed_state_gives_the_same_masks_and_stays_bounded(short_memory: tuple[Any, Any],
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    frames = moving_clip(frames=12)
    full = Sam2VideoSegmenter(*short_memory, trim_state=False).segment(frames, init_frame=5, boxes=[RED_BOX])
    segmenter = Sam2VideoSegmenter(*short_memory)
    stored: list[int] = []
    after = segmenter._after_frame

    def count(session: Any, frame: int, reverse: bool, init_frame: int) -> None:
        after(session, frame, reverse, init_frame)
        outputs = session.output_dict_per_obj[0]
        stored.append(len(outputs["non_cond_frame_outputs"]))
        assert all("high_res_masks" not in out for kind in outputs.values() for out in kind.values())

    monkeypatch.setattr(segmenter, "_after_frame", count)
    trimmed = segmenter.segment(frames, init_frame=5, boxes=[RED_BOX])
    for t in range(12):
        np.testing.assert_array_equal(trimmed[t], full[t], err_msg=f"frame {t}")
    window = max(3, 4)
    assert max(stored) <= 2 * window < 12 - 1


def test_a_too_short_window_would_change_the_masks(short_memory: tuple[Any, Any],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """The equality above is not vacuous: trimming more than the model reads changes the result."""
    frames = moving_clip(frames=12)
    full = Sam2VideoSegmenter(*short_memory, trim_state=False).segment(frames, init_frame=5, boxes=[RED_BOX])
    segmenter = Sam2VideoSegmenter(*short_memory)
    monkeypatch.setattr(segmenter, "_memory_window", lambda: 1)
    short = segmenter.segment(frames, init_frame=5, boxes=[RED_BOX])
    assert any((a != b).any() for a, b in zip(short, full))


def test_offload_runs_and_keeps_state_on_cpu(tiny: tuple[Any, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    frames = moving_clip()
    plain = Sam2VideoSegmenter(*tiny).segment(frames, init_frame=INIT, boxes=[RED_BOX])
    segmenter = Sam2VideoSegmenter(*tiny, offload=True)
    devices: set[str] = set()
    after = segmenter._after_frame

    def record(session: Any, frame: int, reverse: bool, init_frame: int) -> None:
        after(session, frame, reverse, init_frame)
        devices.add(str(session.inference_state_device))
        for outputs in session.output_dict_per_obj.values():
            for kind in outputs.values():
                for out in kind.values():
                    devices.update(str(out[key].device) for key in ("maskmem_features", "pred_masks") if key in out)

    monkeypatch.setattr(segmenter, "_after_frame", record)
    offloaded = segmenter.segment(iter(frames), init_frame=INIT, boxes=[RED_BOX])
    assert devices == {"cpu"}
    for t in range(FRAMES):
        np.testing.assert_array_equal(offloaded[t], plain[t])


class PlantedModel:
    """A stand-in ``Sam2VideoModel`` whose propagation yields planted logits ``[objects, 1, H, W]`` per frame."""

    def __init__(self, logits: dict[int, Any]) -> None:
        self.logits = logits
        self.started: list[tuple[int, bool]] = []

    def propagate_in_video_iterator(self, session: Any, start_frame_idx: int, reverse: bool = False) -> Iterator[Any]:
        self.started.append((start_frame_idx, reverse))
        last = session.num_frames - 1
        frames = range(start_frame_idx, -1, -1) if reverse else range(start_frame_idx, last + 1)
        for t in frames:
            yield SimpleNamespace(frame_idx=t, pred_masks=self.logits[t], object_ids=[1, 2])


def test_union_threshold_and_order_on_planted_logits(tiny: tuple[Any, Any]) -> None:
    frames, height, width = 5, 8, 12
    logits: dict[int, Any] = {}
    expected = []
    for t in range(frames):
        planted = torch.full((2, 1, height, width), -3.0)
        planted[0, 0, 1:3, t:t + 2] = 2.5  # object 1: a block moving right with the frame index
        planted[1, 0, 5:7, 9 - t:11 - t] = 0.5  # object 2: a block moving left
        planted[1, 0, 7, :] = 0.0  # exactly at the threshold: background (the processor keeps logits > 0)
        logits[t] = planted
        mask = np.zeros((height, width), dtype=bool)
        mask[1:3, t:t + 2] = True
        mask[5:7, 9 - t:11 - t] = True
        expected.append(mask)
    model = PlantedModel(logits)
    clip = [np.zeros((height, width, 3), dtype=np.uint8)] * frames
    segmenter = Sam2VideoSegmenter(model, tiny[1])
    masks = segmenter.segment(clip, init_frame=3, boxes=[(0, 0, 4, 4), (6, 4, 11, 7)])
    assert model.started == [(3, False), (3, True)]
    assert len(masks) == frames
    for t in range(frames):
        np.testing.assert_array_equal(masks[t], expected[t], err_msg=f"frame {t}")
    assert [t for t, _ in segmenter.iter_segment(clip, init_frame=3, boxes=[(0, 0, 4, 4)])] == [3, 4, 2, 1, 0]


def test_planted_logits_are_upsampled_like_the_processor(tiny: tuple[Any, Any]) -> None:
    """Low-resolution logits: each object is thresholded after the processor's bilinear upsampling, then ORed."""
    low = torch.full((2, 1, 4, 4), -5.0)
    low[0, 0, 0, 0] = 5.0
    low[1, 0, 3, 3] = 5.0
    model = PlantedModel(dict.fromkeys(range(2), low))
    masks = Sam2VideoSegmenter(model, tiny[1]).segment([np.zeros((16, 16, 3), np.uint8)] * 2, init_frame=0,
                                                       boxes=[(0, 0, 3, 3), (12, 12, 15, 15)])
    per_object = torch.nn.functional.interpolate(low, (16, 16), mode="bilinear", align_corners=False) > 0
    np.testing.assert_array_equal(masks[1], per_object.any(dim=0)[0].numpy())
    assert masks[1][0, 0] and masks[1][15, 15] and not masks[1][8, 8]


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"init_frame": 6, "boxes": [RED_BOX]}, "init_frame in"),
    ({"init_frame": -1, "boxes": [RED_BOX]}, "init_frame in"),
    ({"init_frame": 0, "boxes": [(10.0, 0.0, 5.0, 4.0)]}, "x1 <= x2"),
    ({"init_frame": 0, "boxes": [(0.0, 0.0, float("nan"), 4.0)]}, "4 finite numbers"),
    ({"init_frame": 0, "boxes": [(0.0, 0.0, 4.0)]}, "4 finite numbers"),
])
def test_bad_arguments_are_rejected(tiny: tuple[Any, Any], kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Sam2VideoSegmenter(*tiny).segment(moving_clip(), **kwargs)


def test_bad_frames_are_rejected(tiny: tuple[Any, Any]) -> None:
    segmenter = Sam2VideoSegmenter(*tiny)
    clip = moving_clip()
    with pytest.raises(ValueError, match="frame 3 of the clip's size 64x96"):
        segmenter.segment(iter([*clip[:3], clip[3][:32]]), init_frame=0, boxes=[RED_BOX])
    with pytest.raises(ValueError, match=r"frame 0 as uint8 \[H, W, 3\]"):
        segmenter.segment([clip[0].astype(np.float32)], init_frame=0, boxes=[])


def test_tiny_folder_loads_offline_and_matches(tiny: tuple[Any, Any], tmp_path: Path) -> None:
    path = make_tiny_sam2_video(tmp_path / "sam2-video", seed=0)
    frames = moving_clip()
    loaded = load_video_segmenter(str(path))
    assert type(loaded) is Sam2VideoSegmenter and loaded.name == f"sam2:{path}"
    reloaded = loaded.segment(frames, init_frame=INIT, boxes=[RED_BOX])
    in_memory = Sam2VideoSegmenter(*tiny).segment(frames, init_frame=INIT, boxes=[RED_BOX])
    for t in range(FRAMES):
        np.testing.assert_array_equal(reloaded[t], in_memory[t])
    half = Sam2VideoSegmenter.from_pretrained(str(path), dtype="bfloat16", offload=True)
    assert next(half.model.parameters()).dtype == torch.bfloat16
    assert len(half.segment(frames, init_frame=INIT, boxes=[RED_BOX])) == FRAMES
    with pytest.raises(ValueError, match="Expected dtype"):
        Sam2VideoSegmenter.from_pretrained(str(path), dtype="float8")


# ----------------------------------------------------------------------------------------------- SAM 3

needs_sam3 = pytest.mark.skipif(not HAVE_SAM3, reason="the installed transformers has no SAM 3")


@needs_sam3
def test_sam3_tracker_through_the_sam2_interface() -> None:
    model, processor = vs.tiny_sam3_tracker_video(seed=0)
    frames = moving_clip(frames=4)
    masks = Sam3TrackerVideoSegmenter(model, processor).segment(frames, init_frame=1, boxes=[RED_BOX, GREEN_BOX])
    assert len(masks) == 4 and all(m.shape == (HEIGHT, WIDTH) and m.dtype == bool for m in masks)
    expected = reference_masks(model, processor, frames, 1, [RED_BOX, GREEN_BOX])
    for t in range(4):
        np.testing.assert_array_equal(masks[t], expected[t])


@pytest.fixture(scope="module")
def tiny_sam3_video() -> tuple[Any, Any]:
    if not HAVE_SAM3:
        pytest.skip("the installed transformers has no SAM 3")
    return vs.tiny_sam3_video(seed=0)


@needs_sam3
def test_sam3_text_tracker_runs_on_a_tiny_model(tiny_sam3_video: tuple[Any, Any]) -> None:
    masks = Sam3TextTracker(*tiny_sam3_video).segment_text(moving_clip(frames=3), "the red square")
    assert len(masks) == 3 and all(m.shape == (HEIGHT, WIDTH) and m.dtype == bool for m in masks)
    with pytest.raises(ValueError, match="non-empty text"):
        Sam3TextTracker(*tiny_sam3_video).segment_text(moving_clip(frames=1), "  ")


@needs_sam3
def test_sam3_text_tracker_unions_instances_by_frame_index(tiny_sam3_video: tuple[Any, Any],
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    model, processor = tiny_sam3_video
    instances = {0: [(0, 0)], 1: [(1, 1), (2, 2)], 2: []}  # frame -> instance pixels

    def propagate(inference_session: Any, start_frame_idx: int = 0, **kwargs: Any) -> Iterator[Any]:
        assert start_frame_idx == 0 and inference_session.num_frames == 3
        assert inference_session.prompts == {0: "the red square"}
        yield from (SimpleNamespace(frame_idx=t) for t in (1, 0, 2))  # hotstart may delay frames

    def postprocess(session: Any, output: Any, **kwargs: Any) -> dict[str, Any]:
        masks = torch.zeros((len(instances[output.frame_idx]), 4, 4), dtype=torch.bool)
        for k, (y, x) in enumerate(instances[output.frame_idx]):
            masks[k, y, x] = True
        return {"masks": masks}

    monkeypatch.setattr(model, "propagate_in_video_iterator", propagate)
    monkeypatch.setattr(processor, "postprocess_outputs", postprocess)
    masks = Sam3TextTracker(model, processor).segment_text([np.zeros((4, 4, 3), np.uint8)] * 3, "the red square")
    assert [sorted(zip(*np.nonzero(m))) for m in masks] == [[(0, 0)], [(1, 1), (2, 2)], []]


def test_sam3_missing_from_transformers_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(vs, "_transformers", lambda: SimpleNamespace(__version__="4.55.0"))
    with pytest.raises(ImportError, match=r"no SAM 3 video model \(Sam3VideoModel\).*transformers>=5"):
        Sam3TextTracker.from_pretrained("facebook/sam3")
    with pytest.raises(ImportError, match=r"4\.55\.0 has no SAM 3 video model"):
        Sam3TextTracker(object(), object())
    with pytest.raises(ImportError, match=r"no SAM 3 tracker \(Sam3TrackerVideoModel\)"):
        Sam3TrackerVideoSegmenter.from_pretrained("facebook/sam3")


# ----------------------------------------------------------------------------------------- point prompts

RED_POINT, GREEN_POINTS = (32.0, 28.0), [(84.0, 52.0), (86.0, 50.0)]  # on frame INIT


def test_one_prompt_frame_equals_transformers_point_session(tiny: tuple[Any, Any]) -> None:
    model, processor = tiny
    frames = moving_clip()
    session = processor.init_video_session(video=frames, inference_device="cpu")
    processor.add_inputs_to_inference_session(inference_session=session, frame_idx=INIT, obj_ids=[1],
                                              input_points=[[[list(RED_POINT)]]], input_labels=[[[1]]])
    expected: dict[int, np.ndarray] = {}
    for reverse in (False, True):
        for output in model.propagate_in_video_iterator(session, start_frame_idx=INIT, reverse=reverse):
            masks = processor.post_process_masks([output.pred_masks], original_sizes=[[HEIGHT, WIDTH]])[0]
            expected[output.frame_idx] = masks.any(dim=0)[0].numpy()
    segmenter = Sam2VideoSegmenter(*tiny)
    assert isinstance(segmenter, vs.PointPropagator)
    masks = segmenter.segment_points(frames, points={INIT: {"red": [RED_POINT]}})
    assert len(masks) == FRAMES and any(m.any() for m in masks)
    for t in range(FRAMES):
        np.testing.assert_array_equal(masks[t], expected[t], err_msg=f"frame {t}")


def test_point_tracks_propagate_from_each_prompt_frame_then_back(tiny: tuple[Any, Any],
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    model, processor = tiny
    original = model.propagate_in_video_iterator
    calls: list[tuple[int, bool, list[int]]] = []

    def spy(session: Any, start_frame_idx: int, reverse: bool = False, **kwargs: Any) -> Iterator[Any]:
        seen: list[int] = []
        calls.append((start_frame_idx, reverse, seen))
        for output in original(session, start_frame_idx=start_frame_idx, reverse=reverse, **kwargs):
            seen.append(output.frame_idx)
            yield output

    monkeypatch.setattr(model, "propagate_in_video_iterator", spy)
    segmenter = Sam2VideoSegmenter(model, processor)
    points = {4: {"red": [(44.0, 28.0)], "green": GREEN_POINTS}, INIT: {"red": [RED_POINT]}}
    order = [t for t, _ in segmenter.iter_segment_points(moving_clip(), points=points)]
    assert calls == [(INIT, False, [2, 3]), (4, False, [4, 5]), (INIT, True, [2, 1, 0])]
    assert order == [2, 3, 4, 5, 2, 1, 0]
    # the object first prompted on frame 4 is absent from frame 3 (tracked forward from frame 2 before it was
    # prompted, as the lmms-eval stage-2 script does) and present on 4-5 and in the backward pass
    monkeypatch.setattr(model, "propagate_in_video_iterator", original)
    both = segmenter.segment_points(moving_clip(), points=points)
    red_only = segmenter.segment_points(moving_clip(), points={INIT: {"red": [RED_POINT]},
                                                               4: {"red": [(44.0, 28.0)]}})
    np.testing.assert_array_equal(both[3], red_only[3])
    assert all((both[t] != red_only[t]).any() for t in (4, 5))


def test_no_points_give_empty_masks_without_the_model() -> None:
    masks = Sam2VideoSegmenter(None, None).segment_points(moving_clip(), points={3: {"a": []}})
    assert len(masks) == FRAMES and not any(m.any() for m in masks)


def test_bad_points_are_refused_naming_frame_and_object(tiny: tuple[Any, Any]) -> None:
    segmenter = Sam2VideoSegmenter(*tiny)
    with pytest.raises(ValueError, match=r"point 0 of object 'red' on frame 2 .*\(nan, 3"):
        segmenter.segment_points(moving_clip(), points={INIT: {"red": [(float("nan"), 3.0)]}})
    with pytest.raises(ValueError, match=r"prompt frames in \[0, 6\), but got 9"):
        segmenter.segment_points(moving_clip(), points={INIT: {"red": [RED_POINT]}, 9: {"red": [RED_POINT]}})
