"""COCO-style and VIA readers: what they accept, and every problem named with file and record."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from pixbench.annotation import rle
from pixbench.annotation.coco import read_coco_json
from pixbench.annotation.findings import Findings
from pixbench.annotation.via import read_via_json, shape_to_polygon


def write(tmp_path, data, name="ann.json"):
    path = tmp_path / name
    path.write_text(json.dumps(data) if not isinstance(data, str) else data)
    return path


def test_coco_reader_polygons_rle_and_uncompressed(tmp_path):
    compressed = rle.encode(np.eye(4, dtype=np.uint8))
    data = {
        "images": [{"id": 1, "file_name": "1.jpg", "height": 4, "width": 4},
                   {"id": "2", "file_name": "/2.jpg"}],
        "annotations": [
            {"id": 7, "image_id": 1, "segmentation": [[0, 0, 3, 0, 3, 3]], "category_id": None, "area": 99},
            {"image_id": 2, "segmentation": compressed},
            {"image_id": 2, "segmentation": {"size": [4, 4], "counts": [0, 16]}},
        ],
        "categories": [{"id": None, "name": "Bird"}],
    }
    report = Findings()
    result = read_coco_json(write(tmp_path, data), report)
    assert report.problems == []
    assert list(result.images) == [1, 2]
    assert result.images[2].file_name == "2.jpg" and result.images[2].height is None
    (polygon_region,) = result.regions[1]
    assert polygon_region.polygons == ((0.0, 0.0, 3.0, 0.0, 3.0, 3.0),)
    assert polygon_region.label == "image 1, annotation 7"
    assert result.regions[2][0].rle == compressed
    assert rle.area([result.regions[2][1].to_rle(4, 4)])[0] == 16
    assert rle.area([result.regions[2][0].to_rle(8, 8)])[0] == 16  # 4 diagonal pixels, each now 2x2


def test_coco_reader_reports_every_problem(tmp_path):
    data = {
        "images": [{"id": 1, "file_name": "1.jpg"}, {"id": 1, "file_name": "dup.jpg"}, {"file_name": "x.jpg"}],
        "annotations": [
            {"image_id": 5, "segmentation": [[0, 0, 1, 1, 2, 0]]},
            {"image_id": 1, "segmentation": "[[0, 0, 1, 1]]"},
            {"image_id": 1, "segmentation": {"size": [2, 2], "counts": "zz"}},
        ],
    }
    report = Findings()
    read_coco_json(write(tmp_path, data), report)
    text = report.format()
    assert len(report.errors) == 5
    assert "image 1 [id]: duplicate image id" in text
    assert "images[2] [id]: expected an integer id" in text
    assert "annotations[0] [image_id]: refers to image 5" in text
    assert "image 1, annotation #1 [segmentation]: Expected a list of polygons, but got str" in text
    assert "image 1, annotation #2 [segmentation]" in text and "alphabet" in text


@pytest.mark.parametrize("content, message", [
    ("{not json", "not valid JSON"),
    ('{"images": []}', "expected a COCO json object"),
])
def test_coco_reader_structural_errors(tmp_path, content, message):
    report = Findings()
    read_coco_json(write(tmp_path, content), report)
    assert message in report.format()
    report = Findings()
    read_coco_json(tmp_path / "missing.json", report)
    assert "file not found" in report.format()


def test_via_project_and_export(tmp_path):
    regions = [
        {"shape_attributes": {"name": "polygon", "all_points_x": [1, 5, 5], "all_points_y": [1, 1, 5]},
         "region_attributes": {"name": "cup"}},
        {"shape_attributes": {"name": "rect", "x": 2, "y": 3, "width": 4, "height": 2}, "region_attributes": {}},
        {"shape_attributes": {"name": "point", "cx": 1, "cy": 1}, "region_attributes": {}},
    ]
    export = {"a.jpg123": {"filename": "a.jpg", "size": 123, "regions": regions, "file_attributes": {}},
              "b.jpg9": {"filename": "b.jpg", "size": 9, "regions": [], "file_attributes": {}}}
    report = Findings()
    result = read_via_json(write(tmp_path, export), report)
    assert [i.file_name for i in result.images.values()] == ["a.jpg", "b.jpg"]
    assert result.regions[1][0].polygons == ((1.0, 1.0, 5.0, 1.0, 5.0, 5.0),)
    assert result.regions[1][1].polygons == ((2.0, 3.0, 6.0, 3.0, 6.0, 5.0, 2.0, 5.0),)
    assert len(report.errors) == 1 and "unsupported VIA shape 'point'" in report.format()
    project = {"_via_settings": {}, "_via_img_metadata": export, "_via_image_id_list": ["b.jpg9", "a.jpg123"]}
    result = read_via_json(write(tmp_path, project, "project.json"), Findings())
    assert [i.file_name for i in result.images.values()] == ["b.jpg", "a.jpg"]


def test_via1_dict_regions_and_shapes():
    assert len(shape_to_polygon({"name": "circle", "cx": 10, "cy": 10, "r": 5})) == 128
    ellipse = shape_to_polygon({"name": "ellipse", "cx": 0, "cy": 0, "rx": 4, "ry": 2, "theta": math.pi / 2})
    assert max(abs(v) for v in ellipse[1::2]) == pytest.approx(4)
    with pytest.raises(ValueError, match="lacks 'all_points_y'"):
        shape_to_polygon({"name": "polygon", "all_points_x": [1, 2, 3]})
    with pytest.raises(ValueError, match="3 values but all_points_y has 2"):
        shape_to_polygon({"name": "polygon", "all_points_x": [1, 2, 3], "all_points_y": [1, 2]})


def test_via1_regions_dict(tmp_path):
    via1 = {"x.png1": {"filename": "x.png", "regions": {
        "1": {"shape_attributes": {"name": "rect", "x": 0, "y": 0, "width": 1, "height": 1}},
        "0": {"shape_attributes": {"name": "rect", "x": 5, "y": 5, "width": 1, "height": 1}}}}}
    result = read_via_json(write(tmp_path, via1), Findings())
    assert [r.polygons[0][0] for r in result.regions[1]] == [5.0, 0.0]


def _two_images(annotations):
    return {"images": [{"id": 1, "file_name": "1.jpg"}, {"id": 2, "file_name": "2.jpg"}],
            "annotations": annotations}


SQUARE = [[0, 0, 3, 0, 3, 3, 0, 3]]


@pytest.mark.parametrize("images", [(1, 2), (1, 1)])
def test_duplicate_annotation_id_is_an_error(tmp_path, images):
    data = _two_images([{"id": 7, "image_id": images[0], "segmentation": SQUARE},
                        {"id": 8, "image_id": 1, "segmentation": SQUARE},
                        {"id": "7", "image_id": images[1], "segmentation": SQUARE}])
    report = Findings()
    result = read_coco_json(write(tmp_path, data), report)
    (error,) = report.errors
    assert error.file.endswith("ann.json") and error.field == "id"
    assert error.record == f"annotations[2] (image {images[1]})"
    assert error.message == f"duplicate annotation id 7, first at annotations[0] (image {images[0]})"
    assert result.region_count == 3  # both kept, so later checks still see them; the error stops builds


def test_duplicate_image_id_names_both_records(tmp_path):
    data = {"images": [{"id": 4, "file_name": "a.jpg"}, {"id": 5, "file_name": "b.jpg"},
                       {"id": 4.0, "file_name": "c.jpg"}], "annotations": []}
    report = Findings()
    read_coco_json(write(tmp_path, data), report)
    assert [str(p) for p in report.errors] == [
        f"error: {tmp_path / 'ann.json'}: image 4 [id]: duplicate image id 4 at images[2], first at images[0]"]


def test_known_id_repeats_are_warnings_and_only_those(tmp_path):
    data = _two_images([{"id": 1, "image_id": 1, "segmentation": SQUARE},
                        {"id": 1, "image_id": 2, "segmentation": SQUARE}])
    report = Findings()
    read_coco_json(write(tmp_path, data), report, known_id_repeats={1: {1, 2}})
    assert report.ok and len(report.warnings) == 1 and "repeated annotation id" in report.format()
    for known in ({2: {1, 2}}, {1: {1, 3}}, {1: {1}}):  # another id, other images: still errors
        report = Findings()
        read_coco_json(write(tmp_path, data), report, known_id_repeats=known)
        assert len(report.errors) == 1 and "duplicate annotation id 1" in report.format()
    data["annotations"].append({"id": 1, "image_id": 2, "segmentation": SQUARE})  # a third copy
    report = Findings()
    read_coco_json(write(tmp_path, data), report, known_id_repeats={1: {1, 2}})
    assert len(report.errors) == 2


def test_non_integer_annotation_id_and_repeated_json_keys(tmp_path):
    text = ('{"images": [{"id": 1, "file_name": "1.jpg"}], "annotations": '
            '[{"id": "x7", "image_id": 1, "segmentation": [[0, 0, 3, 0, 3, 3]]}], "images": []}')
    report = Findings()
    read_coco_json(write(tmp_path, text), report)
    text = report.format()
    assert "duplicate key 'images' in a JSON object" in text
    report = Findings()
    data = _two_images([{"id": "x7", "image_id": 1, "segmentation": SQUARE}])
    read_coco_json(write(tmp_path, data), report)
    assert "annotations[0] [id]: expected an integer id, but got 'x7'" in report.format()


def test_via_repeated_image_key_is_an_error(tmp_path):
    entry = '{"filename": "a.jpg", "regions": []}'
    report = Findings()
    result = read_via_json(write(tmp_path, '{"a.jpg1": ' + entry + ', "a.jpg1": ' + entry + '}'), report)
    assert "duplicate key 'a.jpg1' in a JSON object" in report.format() and len(result.images) == 1


def test_real_files_repeat_only_the_known_ids(shared_data):
    """The released files: unique image ids; annotation ids unique but for ADE20K's known repeats."""
    from pixbench.benchmarks.pixcvbench.build import KNOWN_ID_REPEATS

    for path, known in ((shared_data / "pixmmvp" / "Segmentations.json", {}),
                        (shared_data / "pixcvbench" / "ADE20K" / "FinalSegmentations.json", KNOWN_ID_REPEATS["ADE20K"]),
                        (shared_data / "pixcvbench" / "COCO" / "FinalSegmentations.json", KNOWN_ID_REPEATS["COCO"])):
        report = Findings()
        read_coco_json(path, report, known_id_repeats=known)
        assert report.ok, report.format()
        repeats = [p for p in report.warnings if p.field == "id"]
        assert len(repeats) == len(known), path
        report = Findings()
        read_coco_json(path, report)  # without the pin, every repeat is an error
        assert len(report.errors) == len(known), path
