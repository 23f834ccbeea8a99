"""Failure modes and "when grounding emerges" (contract section 6)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pixbench.metrics.analysis import (
    CONCEPT_CATEGORIES,
    FailureModes,
    concept_histogram,
    emergence_location,
    failure_modes,
    location_histogram,
    plot_histograms,
    row_grounded,
)


def test_row_grounded() -> None:
    assert row_grounded(iou=0.51, gt_empty=False, pred_area_fraction=0.9)
    assert not row_grounded(iou=0.5, gt_empty=False, pred_area_fraction=0.0)  # strictly above 0.5
    assert not row_grounded(iou=None, gt_empty=False, pred_area_fraction=None)
    assert row_grounded(iou=0.0, gt_empty=True, pred_area_fraction=0.49)  # IoU ignored on empty truth
    assert not row_grounded(iou=1.0, gt_empty=True, pred_area_fraction=0.5)  # strictly under half
    assert not row_grounded(iou=1.0, gt_empty=True, pred_area_fraction=None)  # missing never succeeds


def test_failure_modes_by_hand() -> None:
    # Pair 1 (rows 1, 2): VQA right, grounding right.
    # Pair 2 (rows 3, 4): VQA wrong (row 4), grounding right (row 4 has empty truth, small mask).
    # Pair 3 (rows 5, 6): VQA right, grounding wrong (row 6 IoU 0.5).
    # Pair 4 (rows 7, 8): VQA wrong, grounding wrong (row 7 missing).
    vqa = {1: True, 2: True, 3: True, 4: False, 5: True, 6: True, 7: False, 8: True}
    ious = {1: 0.9, 2: 0.6, 3: 0.7, 4: 0.0, 5: 0.8, 6: 0.5, 8: 0.9}
    gt_empty = {4: True}
    fractions = {1: 0.1, 2: 0.1, 3: 0.1, 4: 0.2, 5: 0.1, 6: 0.1, 8: 0.1}
    modes = failure_modes(vqa_correct=vqa, ious=ious, gt_empty=gt_empty, pred_area_fraction=fractions,
                          n_pairs=4)
    assert modes == FailureModes(both_succeed=1, vqa_only_failure=1, grounding_only_failure=1, both_fail=1)
    assert modes.total == 4
    assert modes.as_dict() == {"both_succeed": 1, "vqa_only_failure": 1, "grounding_only_failure": 1,
                               "both_fail": 1}


def test_failure_modes_count_the_callers_pairs() -> None:
    """No pair count is assumed: nothing measured is every pair failing, as many as the caller says."""
    assert failure_modes(vqa_correct={}, ious={}, gt_empty={}, pred_area_fraction={}, n_pairs=150) == \
        FailureModes(0, 0, 0, 150)
    modes = failure_modes(vqa_correct={1: True, 2: True}, ious={1: 0.9, 2: 0.9}, gt_empty={},
                          pred_area_fraction={1: 0.1, 2: 0.1}, n_pairs=3)
    assert modes == FailureModes(both_succeed=1, vqa_only_failure=0, grounding_only_failure=0, both_fail=2)
    with pytest.raises(TypeError, match="n_pairs"):
        failure_modes(vqa_correct={}, ious={}, gt_empty={}, pred_area_fraction={})  # type: ignore[call-arg]
    with pytest.raises(ValueError, match=r"`vqa_correct` keyed by row ids in 1\.\.6"):
        failure_modes(vqa_correct={7: True}, ious={}, gt_empty={}, pred_area_fraction={}, n_pairs=3)


@given(st.dictionaries(st.integers(1, 300), st.booleans()),
       st.dictionaries(st.integers(1, 300), st.floats(0, 1)),
       st.dictionaries(st.integers(1, 300), st.booleans()),
       st.dictionaries(st.integers(1, 300), st.floats(0, 1)))
def test_failure_modes_sum_to_the_pairs(vqa: dict[int, bool], ious: dict[int, float], gt_empty: dict[int, bool],
                                        fractions: dict[int, float]) -> None:
    modes = failure_modes(vqa_correct=vqa, ious=ious, gt_empty=gt_empty, pred_area_fraction=fractions, n_pairs=150)
    assert modes.total == 150
    assert all(v >= 0 for v in modes.as_dict().values())


def test_failure_modes_rejects_ids_outside_the_pairs() -> None:
    with pytest.raises(ValueError, match="`ious` keyed by row ids"):
        failure_modes(vqa_correct={}, ious={0: 1.0}, gt_empty={}, pred_area_fraction={}, n_pairs=150)


def test_emergence_location() -> None:
    assert emergence_location(0, 40) == 0.0
    assert emergence_location(10, 40) == 25.0
    assert emergence_location(40, 40) == 100.0
    for bad_start, bad_length in [(-1, 10), (11, 10), (0, 0), (1.5, 10)]:
        with pytest.raises(ValueError, match="Expected"):
            emergence_location(bad_start, bad_length)  # type: ignore[arg-type]


def test_location_histogram_bins() -> None:
    hist = location_histogram([0.0, 9.999, 10.0, 55.0, 89.9, 90.0, 99.9, 100.0])
    assert hist == [2, 1, 0, 0, 0, 1, 0, 0, 1, 3]
    assert location_histogram([]) == [0] * 10
    with pytest.raises(ValueError, match="percent"):
        location_histogram([100.5])
    with pytest.raises(ValueError, match="percent"):
        location_histogram([float("nan")])


@given(st.integers(1, 5000), st.data())
def test_location_histogram_of_computed_locations(length: int, data: st.DataObject) -> None:
    start = data.draw(st.integers(0, length))
    hist = location_histogram([emergence_location(start, length)])
    assert sum(hist) == 1
    assert hist.index(1) == min(start * 10 // length, 9)  # exact integer binning agrees


def test_concept_histogram() -> None:
    counts = concept_histogram([["a"], ["(C)"], ["b", "e"], ["f", "f"], [" (a) "]])
    assert list(counts) == list(CONCEPT_CATEGORIES.values())
    assert counts == {"color and appearance": 2, "location and position": 1, "object part": 1,
                      "context or setting": 0, "objects/entities": 1, "state": 1}
    with pytest.raises(ValueError, match=r"\(a\)\.\.\(f\)"):
        concept_histogram([["g"]])
    with pytest.raises(ValueError, match="sequence of letters"):
        concept_histogram(["ab"])


def test_plot_histograms(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    target = tmp_path / "when.png"
    plot_histograms([1, 2, 3, 0, 0, 0, 0, 0, 0, 4], concept_histogram([["a"], ["e"]]), target)
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match="10 bins"):
        plot_histograms([1, 2], {}, tmp_path / "bad.png")


def _panel_texts(axes) -> list[str]:
    return [text.get_text() for text in axes.texts]


def test_plot_histograms_concept_panel(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    location = [1, 2, 3, 0, 0, 0, 0, 0, 0, 4]
    drawn = plot_histograms(location, concept_histogram([["a"], ["e"]]), tmp_path / "drawn.png")
    where, what = drawn.axes
    assert what.axison and _panel_texts(what) == [] and len(what.patches) == 6  # six category bars
    assert [t.get_text() for t in what.get_xticklabels()] == list(CONCEPT_CATEGORIES.values())
    # No judge: a note instead of an empty axis running from -0.04 to 0.04.
    target = tmp_path / "no-judge.png"
    figure = plot_histograms(location, None, target)
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    where, what = figure.axes
    assert not what.axison and _panel_texts(what) == ["not computed: no judge"]
    assert what.get_title() == "Concept of the best phrase" and not what.patches
    assert where.axison and len(where.patches) == 10 and _panel_texts(where) == []
    # A judge that categorised nothing: all zeros say so, without claiming there was no judge.
    figure = plot_histograms(location, concept_histogram([]), tmp_path / "zeros.png")
    assert not figure.axes[1].axison and _panel_texts(figure.axes[1]) == ["no phrase categorised"]
