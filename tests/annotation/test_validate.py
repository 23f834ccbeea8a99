"""Polygon validation with shapely: each finding and its severity."""

from __future__ import annotations

import pytest

from pixbench.annotation.coco import Region
from pixbench.annotation.findings import AnnotationError, Findings
from pixbench.annotation.validate import check_region, polygon_findings

SQUARE = [1.0, 1.0, 5.0, 1.0, 5.0, 5.0, 1.0, 5.0]


@pytest.mark.parametrize("polygon, severity, message", [
    ([1.0, 2.0, 3.0], "error", "odd number of coordinates (3)"),
    ([1.0, 2.0, 3.0, 4.0], "error", "fewer than 3 points (2)"),
    ([1.0, float("nan"), 3.0, 4.0, 5.0, 6.0], "error", "NaN or infinite"),
    ([0.0, 0.0, 1.0, 1.0, 2.0, 2.0], "error", "zero area"),
    ([0.0, 0.0, 4.0, 4.0, 4.0, 0.0, 0.0, 4.0], "warning", "self-intersection"),
])
def test_findings(polygon, severity, message):
    findings = polygon_findings(polygon, 10, 10)
    assert [f[0] for f in findings] == [severity]
    assert message in findings[0][1]


def test_valid_polygon_has_no_findings():
    assert polygon_findings(SQUARE, 10, 10) == []


def test_outside_the_image():
    slightly = [-3.0, 1.0, 5.0, 1.0, 5.0, 5.0]
    far = [1.0, 1.0, 50.0, 1.0, 5.0, 5.0]
    assert polygon_findings(slightly, 100, 100)[0][0] == "warning"
    assert polygon_findings(far, 10, 10) == [("error", "points up to 40.0 px outside the 10x10 image")]
    assert polygon_findings(far) == []  # no size known: no bounds check


def test_check_region_labels_and_report():
    report = Findings()
    region = Region(image_id=3, index=0, annotation_id=9, polygons=(tuple(SQUARE), (1.0, 2.0, 3.0)))
    assert check_region(region, "seg.json", report, 10, 10) is False
    (problem,) = report.problems
    assert str(problem) == "error: seg.json: image 3, annotation 9 [segmentation[1]]: odd number of coordinates (3)"
    error = AnnotationError(report, "test inputs")
    assert "1 problem(s) in the test inputs" in str(error)
