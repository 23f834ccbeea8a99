"""The point-track parser: lmms-eval's RVOS XML format and Molmo-style points, read strictly, and the SAM 2 point
prompts they give (also from lmms-eval's already-parsed tracks). Values are computed by hand; hostile replies
(nested junk, 100,000 points, lone surrogates, attributes in any order, percent > 100) must never raise."""

from __future__ import annotations

import json

import pytest

from pixbench.baselines.boxes import MAX_REPLY_CHARS, MAX_STORED_REPLY_CHARS
from pixbench.baselines.point_tracks import (
    MAX_POINT_OBJECTS,
    MAX_POINTS_PER_REPLY,
    MAX_RECORDED_ERRORS,
    MAX_RECORDED_POINTS,
    NO_POINT_ELEMENT,
    PointTrackAnswer,
    TrackPoint,
    frame_for_time,
    point_prompts,
    prompts_from_lmms_tracks,
    read_point_tracks,
)

SIZE = (720, 1280)  # (H, W)


def _read(reply: str | None, **kwargs) -> PointTrackAnswer:
    return read_point_tracks(reply, frame_size=SIZE, **kwargs)


def _as_lists(answer: PointTrackAnswer) -> list[list]:
    return [p.as_list() for p in answer.points]


def _utf8_json(answer: PointTrackAnswer) -> dict:
    text = json.dumps(answer.to_json(), ensure_ascii=False)
    text.encode("utf-8")  # no lone surrogate survives
    return json.loads(text)


# ------------------------------------------------------------------------------------------------ xml


def test_lmms_eval_reply_two_objects_over_three_times():
    reply = ("The dog runs to the left while the cat stays.\n"
             '<tracks coords="0.0 0 512 384 1 100 200; 0.5 0 480 390 1 101 201; 1.0 0 400 395">dog and cat</tracks>')
    answer = _read(reply)
    assert answer.point_format == "xml" and answer.error is None and answer.errors == () and answer.labels == (
        "dog and cat",)
    # x * 1280 / 1000, y * 720 / 1000
    assert _as_lists(answer) == [[0.0, "0", 655.36, 276.48], [0.0, "1", 128.0, 144.0], [0.5, "0", 614.4, 280.8],
                                 [0.5, "1", 129.28, 144.72], [1.0, "0", 512.0, 284.4]]
    assert answer.objects == ("0", "1") and answer.dropped.total == 0


def test_points_tag_with_coords_reads_as_xml_and_single_quotes_any_order():
    answer = _read("<points alt='dogs' coords='2.5 3 0 1000'>dogs</points>")
    assert answer.point_format == "xml" and answer.points == (TrackPoint(2.5, "3", 0.0, 720.0),)
    assert _read('<tracks  coords = "0 0.0 10 10"  extra="x" >a</tracks>').points[0].object == "0"  # id 0.0 = 0


def test_the_separators_lmms_eval_reads_and_empty_segments():
    reply = '<tracks coords="0 0 500 500,1 0 510 510\t2 0 520 520:3 0 530 530\n4 0 540 540;; 5 ;">x</tracks>'
    answer = _read(reply)
    assert [p.time for p in answer.points] == [0.0, 1.0, 2.0, 3.0, 4.0] and answer.error is None  # "5": no object


def test_a_malformed_segment_is_an_error_and_not_half_read():
    reply = ('<tracks coords="0 0 500 500; 0.5 0 510 x; 1.0 0 520 520 1 30; 1.5 0.5 1 1; -1 0 2 2; 2 0 530 530">'
             "dog</tracks>")
    answer = _read(reply)
    assert [p.time for p in answer.points] == [0.0, 2.0]  # segment 2's complete first triple is not read either
    assert answer.dropped.malformed == 4 and answer.error_count == 4
    assert "segment 1 ('0.5 0 510 x'): 'x' is not a number" in answer.errors[0]
    assert "segment 2 ('1.0 0 520 520 1 30'): expected a time then (object id, x, y) triples, but got 5" in \
        answer.errors[1]
    assert "segment 3 ('1.5 0.5 1 1'): expected a whole object id, but got '0.5'" in answer.errors[2]
    assert "segment 4 ('-1 0 2 2'): expected a time in seconds >= 0" in answer.errors[3]


def test_out_of_range_and_duplicate_points_are_dropped_and_counted():
    reply = '<tracks coords="0 0 1000 0 1 1001 5 2 -1 5 3 5 1000.5; 0 0 7 7; 1 0 0 0">x</tracks>'
    answer = _read(reply)
    assert _as_lists(answer) == [[0.0, "0", 1280.0, 0.0], [1.0, "0", 0.0, 0.0]]  # the first (0, "0") is kept
    assert (answer.dropped.out_of_range, answer.dropped.duplicate) == (3, 1) and answer.error is None


@pytest.mark.parametrize("token", ["1e3", "NaN", "inf", "\u0663", "0x10", "5.5.5", "+"])
def test_numbers_are_ascii_decimals_only(token):
    answer = _read(f'<tracks coords="0 0 {token} 10">x</tracks>')
    assert answer.points == () and "is not a number" in str(answer.error)


def test_an_empty_coords_is_an_answer_without_points_and_prose_is_an_error():
    empty = _read('<tracks coords="">none</tracks>')
    assert empty.points == () and empty.error is None and empty.point_format == "xml"
    for reply in ("There are none.", "", None, "The dog is at (512, 384) at 0.5 s."):
        answer = _read(reply)
        assert answer.points == () and answer.error is not None and answer.point_format is None
    assert _read("There are none.").error.startswith(NO_POINT_ELEMENT)
    assert _read("  ").error == "empty reply" and _read(None).error == "no reply"


def test_a_truncated_reply_is_an_error_naming_the_tag():
    answer = _read('<tracks coords="0 0 500 500; 0.5 0 510 5')
    assert answer.points == () and answer.error.startswith(NO_POINT_ELEMENT)
    assert "<tracks> at character 0 is not a well-formed tag" in answer.errors[1]
    unclosed = _read('<tracks coords="0 0 500 500">the dog')  # the tag is whole; only the closing tag is missing
    assert len(unclosed.points) == 1 and unclosed.error is None and unclosed.labels == ()


# ------------------------------------------------------------------------------------------------ molmo


def test_molmo_point_and_points_in_percent():
    reply = ('Sure! <point x="61.5" y="40.4" alt="the cat">the cat</point> and '
             '<points x1="10.0" y1="20.0" x2="30.5" y2="40" alt="dogs">dogs</points>')
    answer = _read(reply)
    assert answer.point_format == "molmo" and answer.error is None and answer.labels == ("the cat", "dogs")
    # x * 1280 / 100, y * 720 / 100; each point its own object, keyed in reply order
    assert _as_lists(answer) == [[None, "1", 787.2, 290.88], [None, "2", 128.0, 144.0], [None, "3", 390.4, 288.0]]


def test_molmo_attributes_in_any_order_and_percent_over_100():
    assert _read('<point alt="dog" y="40" x="60">dog</point>').points == (TrackPoint(None, "1", 768.0, 288.0),)
    answer = _read('<points y3="100" alt="x" x1="101" y1="50" x2="50" y2="100.5" x3="100">x</points>')
    assert answer.points == (TrackPoint(None, "3", 1280.0, 720.0),)
    assert answer.dropped.out_of_range == 2 and answer.error is None
    assert _read('<point x="-0.5" y="3"/>').dropped.out_of_range == 1


@pytest.mark.parametrize("reply, fragment", [
    ('<points x1="1" y1="2" x3="5" y3="6">a</points>', "x2 is missing"),
    ('<points x1="1" y1="2" x2="3">a</points>', "y2 is missing"),
    ('<point x="1">a</point>', 'expected x=".." and y=".."'),
    ('<point x="1" y="two">a</point>', "expected x and y to be numbers"),
    ('<point x=1 y=2>a</point>', "not a well-formed tag"),
    ('<point x="1" x="2" y="3">a</point>', "attribute 'x' given twice"),
    ('<points alt="nothing">a</points>', "expected coords"),
    ('<points coords="0 0 1 1" x1="1" y1="1">a</points>', "both coords and x1/y1"),
])
def test_malformed_molmo_elements_are_errors(reply, fragment):
    answer = _read(reply)
    assert answer.points == () and any(fragment in e for e in answer.errors), answer.errors


def test_a_format_asked_reads_only_its_elements():
    mixed = '<point x="50" y="50">a</point> <tracks coords="0 0 500 500">b</tracks>'
    as_xml = _read(mixed, point_format="xml")
    assert as_xml.point_format == "xml" and _as_lists(as_xml) == [[0.0, "0", 640.0, 360.0]]
    assert "is a molmo-format element in a reply read as xml: not read" in as_xml.errors[0]
    detected = _read(mixed)  # the first element decides
    assert detected.point_format == "molmo" and detected.points == (TrackPoint(None, "1", 640.0, 360.0),)
    only_molmo = _read('<point x="50" y="50">a</point>', point_format="xml")
    assert only_molmo.points == () and only_molmo.point_format is None and only_molmo.error.startswith(
        NO_POINT_ELEMENT)


# ------------------------------------------------------------------------------------------------ hostile


def test_nested_junk_reads_only_well_formed_tags():
    answer = _read('<tracks coords="<tracks coords="0 0 500 500">x</tracks>">y</tracks>'
                   '<tracks><tracks coords=""><<<tracks coords="1 0 250 250"/>')
    assert _as_lists(answer) == [[0.0, "0", 640.0, 360.0], [1.0, "0", 320.0, 180.0]]
    assert answer.error_count == 2 and "is not a well-formed tag" in answer.errors[0]
    assert "<tracks> at character 67: expected a coords=" in answer.errors[1]


def test_100000_points_are_bounded_and_counted():
    many_objects = '<tracks coords="0 ' + " ".join(f"{k} 1 1" for k in range(100_000)) + '">x</tracks>'
    answer = _read(many_objects)
    assert len(answer.points) == len(answer.objects) == MAX_POINT_OBJECTS
    assert answer.dropped.over_objects == 100_000 - MAX_POINT_OBJECTS and answer.error is None
    one_object = '<tracks coords="' + ";".join(f"{k} 0 1 1" for k in range(80_000)) + '">x</tracks>'
    answer = _read(one_object)
    assert len(answer.points) == MAX_POINTS_PER_REPLY and answer.dropped.over_points == 80_000 - MAX_POINTS_PER_REPLY
    record = _utf8_json(answer)
    assert len(record["points"]) == MAX_RECORDED_POINTS and record["point_count"] == MAX_POINTS_PER_REPLY
    molmo = "".join(f'<point x="{k % 100}" y="1"/>' for k in range(40_000))
    answer = _read(molmo)
    assert len(answer.points) == MAX_POINT_OBJECTS and answer.dropped.over_objects == 40_000 - MAX_POINT_OBJECTS


def test_too_large_and_tag_floods_never_raise():
    huge = _read("<" * (MAX_REPLY_CHARS + 1))
    assert huge.points == () and "too large" in str(huge.error)
    for reply in ("<" * 500_000, '<point x="' * 100_000, "<tracks" + " " * 500_000, '<tracks coords="' * 50_000,
                  "</tracks>" * 100_000, '<tracks coords="0 0 1 1"' + ' a="b"' * 50_000 + ">x</tracks>",
                  "<tracks>" * 100_000):
        answer = _read(reply)
        assert isinstance(answer, PointTrackAnswer)
        record = _utf8_json(answer)
        assert len(record["errors"]) <= MAX_RECORDED_ERRORS and record["error_count"] >= len(record["errors"])
    flood = _read('<point x="' * 100_000)
    assert flood.error_count == 100_001 and flood.dropped.malformed == 100_000  # every tag, then "no element"
    attributes = _read('<tracks coords="0 0 1 1"' + "".join(f' a{k}="b"' for k in range(50_000)) + ">x</tracks>")
    assert len(attributes.points) == 1 and attributes.error is None
    assert "attribute 'a' given twice" in str(_read('<tracks coords="0 0 1 1" a="b" a="c">x</tracks>').errors)


def test_lone_surrogates_are_replaced_in_every_record():
    reply = ('\ud800<tracks coords="0 0 1 1; 1 \udfff 2 2" alt="d\ud800g">c\udc00t</tracks>'
             '<point x="\ud800" y="1"/>' + "x" * (MAX_STORED_REPLY_CHARS + 10))
    answer = _read(reply)
    assert len(answer.points) == 1 and answer.labels == ("c\ufffdt",)
    record = _utf8_json(answer)
    assert record["reply"].startswith("\ufffd<tracks") and record["reply_chars"] == len(reply)
    assert len(record["reply"]) == MAX_STORED_REPLY_CHARS
    assert "\ufffd" in record["errors"][0]  # the bad object id, written encodable
    assert _read('<point x="5" y="5" alt="\ud800"/>').labels == ("\ufffd",)


def test_long_numbers_are_errors_not_crashes():
    assert "time in seconds" in str(_read('<tracks coords="' + "9" * 400 + ' 0 1 1">x</tracks>').error)  # inf
    assert "whole object id" in str(_read('<tracks coords="0 ' + "9" * 5000 + ' 1 1">x</tracks>').error)
    far = _read('<tracks coords="0 0 ' + "9" * 400 + ' 1">x</tracks>')  # an x of 1e400 is out of range
    assert far.dropped.out_of_range == 1 and far.error is None


def test_errors_are_bounded_with_the_full_count():
    reply = '<tracks coords="' + ";".join(f"{k} 0 x 1" for k in range(500)) + '">x</tracks>'
    answer = _read(reply)
    assert len(answer.errors) == MAX_RECORDED_ERRORS and answer.error_count == 500 == answer.dropped.malformed


# ------------------------------------------------------------------------------------------------ prompts


def test_point_prompts_frames_rounding_and_clamping():
    answer = read_point_tracks('<tracks coords="0 0 500 500 1 0 0; 0.25 0 1000 1000; 0.5 1 10 20; 9 0 1 1">'
                               "x</tracks>", frame_size=(10, 20))
    # 0.25 s x 6 fps = 1.5 -> 2 (half to even); 9 s -> frame 54, clamped to 4; x 1000 -> 20 -> clamped to 19
    assert point_prompts(answer, fps=6, num_frames=5) == {
        0: {"0": [(10.0, 5.0)], "1": [(0.0, 0.0)]}, 2: {"0": [(19.0, 9.0)]}, 3: {"1": [(0.2, 0.2)]},
        4: {"0": [(0.02, 0.01)]}}
    assert [frame_for_time(t, fps=6, num_frames=100) for t in (0.0, 1 / 12, 0.25, 0.5, 0.75)] == [0, 0, 2, 3, 4]


def test_molmo_points_go_on_the_frame_shown():
    answer = read_point_tracks('<points x1="50" y1="50" x2="100" y2="0">a</points>', frame_size=(10, 20))
    assert point_prompts(answer, fps=6, num_frames=5, shown_frame=3) == {3: {"1": [(10.0, 5.0)],
                                                                              "2": [(19.0, 0.0)]}}
    with pytest.raises(ValueError, match="shown_frame"):
        point_prompts(answer, fps=6, num_frames=5)
    with pytest.raises(ValueError, match="fps"):
        point_prompts(answer, fps=0, num_frames=5, shown_frame=0)


def _lmms_stage1(reply: str, width: int, height: int, fps: float) -> list[dict]:
    """What lmms-eval's stage 1 stores for a well-formed reply, written out by hand: grouped by time, x / y in
    the record's pixels, the first point of an id per time."""
    tracks = []
    coords = reply.split('coords="', 1)[1].split('"', 1)[0]
    for segment in coords.split(";"):
        numbers = segment.split()
        points = {}
        for k in range(1, len(numbers), 3):
            points.setdefault(numbers[k], {"point": [float(numbers[k + 1]) / 1000 * width,
                                                     float(numbers[k + 2]) / 1000 * height]})
        tracks.append({"time": float(numbers[0]), "frame": round(float(numbers[0]) * fps), "points": points})
    return tracks


def test_lmms_tracks_give_the_prompts_of_the_same_reply():
    reply = '<tracks coords="0 0 500 250 1 999 999; 0.5 0 520 260; 2.0 1 0 1000">x</tracks>'
    tracks = _lmms_stage1(reply, width=1280, height=720, fps=30)  # the record: a 720p video at 30 fps
    ours = point_prompts(read_point_tracks(reply, frame_size=(360, 640)), fps=6, num_frames=10)
    theirs = prompts_from_lmms_tracks(tracks, fps=6, num_frames=10, record_size=(720, 1280), frame_size=(360, 640))
    assert theirs.keys() == ours.keys() == {0, 3, 9}
    for frame in ours:
        assert theirs[frame].keys() == ours[frame].keys()
        for key in ours[frame]:
            assert [v for xy in theirs[frame][key] for v in xy] == pytest.approx([v for xy in ours[frame][key]
                                                                                 for v in xy])
    assert theirs[0]["1"] == [(639.0, 359.0)]  # 999/1000 of 640 = 639.36 and of 360 = 359.64, clamped to W-1, H-1


def test_lmms_tracks_scaling_clamping_frames_and_errors():
    tracks = [{"time": 0.5, "frame": 15, "points": {"0": {"point": [1280.0, -4.0], "occluded": False}}},
              {"frame": 7, "points": {"2": [640.0, 360.0]}},          # no time: frame / fps (7 / 6 s -> frame 7)
              {"time": 0.5, "points": {"0": {"point": [10.0, 10.0]}}},  # the same frame: appended
              {"time": 99, "points": {}}]
    prompts = prompts_from_lmms_tracks(tracks, fps=6, num_frames=8, record_size=(720, 1280), frame_size=(72, 128))
    assert prompts == {3: {"0": [(127.0, 0.0), (1.0, 1.0)]}, 7: {"2": [(64.0, 36.0)]}}
    same = prompts_from_lmms_tracks(tracks[:1], fps=6, num_frames=8, record_size=(72, 128), frame_size=(72, 128))
    assert same == {3: {"0": [(127.0, 0.0)]}}  # x 1280 clamped to W - 1, y -4 to 0
    for bad, fragment in ([{"points": {}}], "a time or a frame"), ([{"time": "1"}], "tracks[0].time"), \
            ([{"time": 1, "points": {"0": {"point": [1]}}}], "tracks[0].points['0']"), \
            ([{"time": 1, "points": {"0": [float("nan"), 1]}}], "finite"), ([3], "tracks[0]: expected an object"), \
            ({"time": 1}, "a list of entries"):
        with pytest.raises(ValueError, match=fragment.replace("[", r"\[").replace("]", r"\]")):
            prompts_from_lmms_tracks(bad, fps=6, num_frames=8, record_size=(72, 128), frame_size=(72, 128))
