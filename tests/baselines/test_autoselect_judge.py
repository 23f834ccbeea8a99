"""Automatic selection with a vision judge: presence, red-tinted candidates, tournament, strict parsing."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
from PIL import Image

from pixbench.annotation import rle as rle_ops
from pixbench.baselines.autoselect import (
    SelectionRequest,
    auto_select,
    image_data_url,
    tint_red,
    tournament_groups,
)
from pixbench.judge import FakeJudge, JudgeCache


def _masks(count: int, height: int = 12, width: int = 16) -> list[rle_ops.Rle]:
    """Candidate k covers column k (mod width) only, so each tinted image is distinct."""
    masks = []
    for k in range(count):
        array = np.zeros((height, width), dtype=bool)
        array[:, k % width] = True
        array[k // width, :] = True
        masks.append(rle_ops.encode(array))
    return masks


IMAGE = np.full((12, 16, 3), 100, dtype=np.uint8)


def _text(messages):
    return messages[0]["content"][0]["text"]


def _urls(messages):
    return [part["image_url"]["url"] for part in messages[0]["content"][1:]]


def _decode(url):
    assert url.startswith("data:image/jpeg;base64,")
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))))


def test_tint_red_blends_half_with_red_on_the_mask_only():
    image = np.array([[[100, 50, 0], [255, 255, 255]]], dtype=np.uint8)
    mask = np.array([[True, False]])
    out = tint_red(image, mask)
    np.testing.assert_array_equal(out, [[[177, 25, 0], [255, 255, 255]]])
    assert image[0, 0, 0] == 100  # the input is not modified
    with pytest.raises(ValueError, match="mask of shape"):
        tint_red(image, np.zeros((2, 2), dtype=bool))


def test_image_data_url_round_trip():
    url = image_data_url(IMAGE)
    assert _decode(url).shape == (12, 16, 3)


def test_tournament_groups():
    assert tournament_groups(range(5), 2) == [[0, 1], [2, 3], [4]]
    assert [len(g) for g in tournament_groups(range(30))] == [12, 12, 6]
    with pytest.raises(ValueError, match=">= 2"):
        tournament_groups([1], 1)


def test_presence_no_gives_none_and_yes_then_choice():
    def reply(messages):
        text = _text(messages)
        if text.startswith("Does this image have the cat?"):
            return "No."
        if text.startswith("Does this image have"):
            return "Yes"
        assert text == ("Select the image that has the dog best highlighted in red color than the others? "
                        "Answer with a number from 1 to 3. Mention the number only.")
        return "2"

    judge = FakeJudge(reply)
    outcomes = auto_select(judge, [SelectionRequest("the cat", IMAGE, _masks(3)),
                                   SelectionRequest("the dog", IMAGE, _masks(3))])
    assert (outcomes[0].selected, outcomes[0].status) == ("none", "absent")
    assert (outcomes[1].selected, outcomes[1].status) == (1, "selected")
    assert outcomes[1].replies == ("Yes", "2")


def test_candidate_images_are_the_tinted_image_in_order():
    seen = {}

    def reply(messages):
        if _text(messages).startswith("Does"):
            seen["presence"] = _urls(messages)
            return "yes"
        seen["choice"] = _urls(messages)
        return "3"

    image = np.full((16, 48, 3), 100, dtype=np.uint8)
    blocks = [np.zeros((16, 48), dtype=bool) for _ in range(3)]
    for k, block in enumerate(blocks):
        block[:, 16 * k:16 * (k + 1)] = True  # candidate k: the k-th third of the image
    masks = [rle_ops.encode(b) for b in blocks]
    outcome = auto_select(FakeJudge(reply), [SelectionRequest("the dog", image, masks)])[0]
    assert outcome.selected == 2
    np.testing.assert_allclose(_decode(seen["presence"][0]), image, atol=3)
    expected = [tint_red(image, b).astype(int) for b in blocks]
    for k, url in enumerate(seen["choice"]):
        errors = [np.abs(_decode(url).astype(int) - e).mean() for e in expected]
        assert int(np.argmin(errors)) == k and errors[k] < 5


def test_tournament_of_30_candidates():
    asked = []

    def reply(messages):
        if _text(messages).startswith("Does"):
            return "yes"
        count = len(_urls(messages))
        asked.append(count)
        return {12: "5", 6: "6", 3: "2"}[count]

    outcome = auto_select(FakeJudge(reply), [SelectionRequest("the dog", IMAGE, _masks(30))])[0]
    # groups [0..11] -> 4, [12..23] -> 16, [24..29] -> 29; final among (4, 16, 29) -> 16.
    assert sorted(asked) == [3, 6, 12, 12]
    assert outcome.selected == 16 and outcome.status == "selected"


def test_a_group_of_one_goes_through_without_a_question():
    asked = []

    def reply(messages):
        if _text(messages).startswith("Does"):
            return "yes"
        asked.append(len(_urls(messages)))
        return "1" if len(asked) == 1 else "2"

    outcome = auto_select(FakeJudge(reply), [SelectionRequest("the dog", IMAGE, _masks(13))])[0]
    assert asked == [12, 2] and outcome.selected == 12


@pytest.mark.parametrize("presence,choice,status", [
    ("maybe", "1", "undetermined"),
    ("yes", "7", "undetermined"),      # out of range
    ("yes", "Image 2", "undetermined"),  # not digits only
    ("yes", "0", "undetermined"),
])
def test_strict_parsing_leaves_no_selection(presence, choice, status):
    judge = FakeJudge(lambda m: presence if _text(m).startswith("Does") else choice)
    outcome = auto_select(judge, [SelectionRequest("the dog", IMAGE, _masks(3))])[0]
    assert outcome.selected is None and outcome.status == status and not outcome.ok


def test_judge_errors_and_trivial_rows():
    def reply(messages):
        raise ConnectionError("down")

    outcomes = auto_select(FakeJudge(reply), [SelectionRequest("the dog", IMAGE, _masks(2)),
                                              SelectionRequest(None, IMAGE, _masks(2)),
                                              SelectionRequest("the dog", IMAGE, [])])
    assert outcomes[0].status == "error" and outcomes[0].selected is None and "down" in (outcomes[0].detail or "")
    assert (outcomes[1].selected, outcomes[1].status) == ("none", "no_expression")
    assert (outcomes[2].selected, outcomes[2].status) == ("none", "no_candidates")


def test_one_candidate_needs_only_the_presence_question():
    judge = FakeJudge(lambda m: "yes")
    assert auto_select(judge, [SelectionRequest("the dog", IMAGE, _masks(1))])[0].selected == 0
    assert judge.calls == 1


def test_through_a_local_server_and_the_cache(tmp_path):
    pytest.importorskip("openai")
    from judge_server import running_server

    from pixbench.judge import OpenAICompatibleJudge

    def reply(body):
        text = body["messages"][0]["content"][0]["text"]
        return "Yes" if text.startswith("Does") else "2"

    requests = [SelectionRequest("the dog", IMAGE, _masks(3)), SelectionRequest("the cat", IMAGE, _masks(2))]
    with running_server(reply) as server, JudgeCache(tmp_path / "cache.sqlite") as cache:
        judge = OpenAICompatibleJudge(model="judge-test", base_url=server.base_url, cache=cache)
        first = auto_select(judge, requests)
        assert server.request_count == 4
        again = auto_select(judge, requests)
        assert server.request_count == 4  # every verdict came from the cache
        judge.close()
    assert [o.selected for o in first] == [o.selected for o in again] == [1, 1]
    body = server.requests[0].body
    assert body["model"] == "judge-test"
    assert body["messages"][0]["content"][1]["image_url"]["url"].startswith("data:image/jpeg;base64,")
