"""Reference rows (``pixbench.ground_truth``): the common fields, and the grouping values each benchmark fills
in ``groups`` (read from the tiny built benchmarks)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pixbench.benchmarks import get_image_benchmark
from pixbench.ground_truth import ReferenceRow, common_row_fields
from pixbench.references import load_reference

EMPTY_RLE = {"size": [2, 2], "counts": [4]}


def _row(**extra: Any) -> ReferenceRow:
    return ReferenceRow(id=1, height=2, width=2, mask=EMPTY_RLE, question="Is it on?", options=("Yes", "No"),
                        options_text="(a) Yes (b) No", answer="(a)", expression=None, **extra)


def test_groups_are_what_each_benchmark_fills(tiny_built: dict[str, Path]) -> None:
    mmvp = load_reference("pixmmvp", str(tiny_built["pixmmvp"])).rows
    assert dict(mmvp[1].groups) == {"pair_id": 1, "pattern": "Color and Appearance"}
    assert dict(mmvp[2].groups) == {"pair_id": 1, "pattern": "Color and Appearance"}
    assert {row.groups["pair_id"] for row in mmvp.values()} == set(range(1, len(mmvp) // 2 + 1))
    cv = load_reference("pixcvbench", str(tiny_built["pixcvbench"])).rows
    assert set(cv[2].groups) == {"source", "task"} and cv[2].groups["task"] == "Relation"
    assert {row.groups["source"] for row in cv.values()} == {"ADE20K", "COCO"}
    assert not hasattr(cv[2], "source") and not hasattr(mmvp[1], "pair_id")  # no closed list of fields
    # The options line the A-dagger judge reads: PixMMVP's column, PixCV-Bench's built one.
    assert mmvp[1].options_text == "(a) Red (b) Blue"
    assert cv[2].options_text == "(A) above (B) below"


def test_groups_are_any_names_read_only_and_copied() -> None:
    given = {"split": "val", "difficulty": 3}
    row = _row(groups=given)
    given["split"] = "changed"  # the caller's dict is copied
    assert dict(row.groups) == {"split": "val", "difficulty": 3}
    with pytest.raises(TypeError):
        row.groups["split"] = "test"  # type: ignore[index]
    assert dict(_row().groups) == {}
    with pytest.raises(TypeError):
        _row().groups["x"] = 1  # type: ignore[index]


def test_each_benchmark_says_which_of_its_columns_may_be_null() -> None:
    values = {"id": 7, "height": 2, "width": 2, "mask": {"size": [2, 2], "counts": "4"}, "question": "Q?",
              "options": None, "answer": "(a)", "expression": None, "pattern": None}
    pixmmvp, pixcvbench = get_image_benchmark("pixmmvp"), get_image_benchmark("pixcvbench")
    assert common_row_fields(values, nullable=pixmmvp.nullable_columns)["options"] == ()
    with pytest.raises(ValueError, match="pattern is null"):  # not a PixCV-Bench column: never null there
        common_row_fields(values, nullable=pixcvbench.nullable_columns)
    assert "objects" in pixcvbench.nullable_columns and "objects" not in pixmmvp.nullable_columns
