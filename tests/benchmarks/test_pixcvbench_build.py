"""PixCV-Bench builder on the tiny synthetic benchmark: linking, resizing, configs, bad input."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pyarrow.parquet as pq
import pytest
from datasets import load_dataset

from pixbench.annotation import rle
from pixbench.annotation.findings import AnnotationError
from pixbench.benchmarks.pixcvbench import build as pixcvbench


@pytest.fixture()
def raw(tiny_inputs, tmp_path):
    shutil.copy(tiny_inputs.cvbench_parquet, tmp_path / "test.parquet")
    ann = shutil.copytree(tiny_inputs.pixcvbench_annotations, tmp_path / "ann")
    return tmp_path / "test.parquet", ann


def test_expressions_and_objects():
    assert pixcvbench.expression_for(["curtain, drape, drapery, mantle, pall"]) == "the curtain"
    assert pixcvbench.expression_for(pixcvbench.parse_objects("('spoon', 'broccoli')")) == "the spoon and the broccoli"
    assert pixcvbench.expression_for(pixcvbench.parse_objects("('tree', 'tree')")) == "the tree and the tree"
    assert pixcvbench.parse_objects(" train ") == ("train",)
    with pytest.raises(ValueError):
        pixcvbench.parse_objects("(1, 2)")


def test_built_rows_and_configs(tiny_built):
    ds = load_dataset(str(tiny_built["pixcvbench"]), split="test")
    assert list(ds["id"]) == [0, 1, 2, 633, 634, 635]  # the 3D row is skipped
    assert load_dataset(str(tiny_built["pixcvbench"]), "ade20k", split="test").num_rows == 3
    assert list(load_dataset(str(tiny_built["pixcvbench"]), "coco", split="test")["id"]) == [633, 634, 635]
    row = ds[1]
    assert row["objects"] == ["curtain, drape, drapery, mantle, pall"] and row["expression"] == "the curtain"
    assert row["task"] == "Count" and row["source"] == "ADE20K" and len(row["instance_masks"]) == 2
    assert rle.area([row["mask"]])[0] == 15 * 25 + 20 * 30
    assert ds[5]["expression"] == "the tree and the tree" and rle.area([ds[5]["mask"]])[0] == 0


def test_half_canvas_mask_is_resized_to_the_image(tiny_built):
    ds = load_dataset(str(tiny_built["pixcvbench"]), split="test")
    row = ds[0]  # mask drawn on a 30x40 canvas for a 60x80 image: box rows 5..15, cols 5..20
    assert row["mask"]["size"] == [60, 80]
    expected = np.zeros((60, 80), dtype=bool)
    expected[10:30, 10:40] = True
    assert np.array_equal(rle.decode(row["mask"]), expected)


def test_polygon_rasterised_at_image_size(tiny_built):
    row = load_dataset(str(tiny_built["pixcvbench"]), split="test")[2]
    assert [m["size"] for m in row["instance_masks"]] == [[64, 64], [64, 64]]
    assert rle.area(row["instance_masks"]).tolist() == [22 * 22, 20 * 20]


def test_filename_mismatch_fails_loudly(tmp_path, raw):
    parquet, ann = raw
    data = json.loads((ann / "COCO" / "FinalSegmentations.json").read_text())
    data["images"][1]["file_name"] = "000000999999.jpg"
    (ann / "COCO" / "FinalSegmentations.json").write_text(json.dumps(data))
    with pytest.raises(AnnotationError, match=r"Id 634 \(image 1\) \[file_name\]: '000000999999.jpg' != Objects.csv"):
        pixcvbench.build(cvbench_paths=[parquet], annotations_dir=ann, out_dir=tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_cvbench_disagreements_are_listed(tmp_path, raw):
    parquet, ann = raw
    table = pq.read_table(parquet).to_pylist()
    table[0]["source_filename"] = "ADE_val_wrong.jpg"
    table[1]["task"] = "Relation"
    table[3]["image"] = {"bytes": b"not an image", "path": None}
    import pyarrow as pa

    from pixbench.benchmarks.pixcvbench.synthetic import CVBENCH_SCHEMA

    pq.write_table(pa.Table.from_pylist(table, schema=CVBENCH_SCHEMA), parquet)
    with pytest.raises(AnnotationError) as info:
        pixcvbench.build(cvbench_paths=[parquet], annotations_dir=ann, out_dir=tmp_path / "out")
    text = str(info.value)
    assert "idx 0 [source_filename]: annotations say 'ADE_val_00000001.jpg', CV-Bench says 'ADE_val_wrong.jpg'" in text
    assert "idx 1 [task]: annotations say 'Count (1 object(s) in Objects.csv)', CV-Bench says 'Relation'" in text
    assert "idx 633 [image]: unreadable image" in text


def test_missing_columns_and_bad_rle(tmp_path, raw):
    parquet, ann = raw
    pq.write_table(pq.read_table(parquet).drop(["prompt"]), parquet)
    data = json.loads((ann / "ADE20K" / "FinalSegmentations.json").read_text())
    data["annotations"][0]["segmentation"]["counts"] = "0"
    (ann / "ADE20K" / "FinalSegmentations.json").write_text(json.dumps(data))
    with pytest.raises(AnnotationError) as info:
        pixcvbench.build(cvbench_paths=[parquet], annotations_dir=ann, out_dir=tmp_path / "out")
    text = str(info.value)
    assert "test.parquet [columns]: missing column(s) ['prompt']" in text
    assert "image 0, annotation #0 [segmentation]: RLE runs cover 0 pixels, expected height*width = 1200" in text


def test_annotated_row_absent_from_cvbench(tmp_path, raw):
    parquet, ann = raw
    pq.write_table(pq.read_table(parquet).slice(1), parquet)
    with pytest.raises(AnnotationError, match=r"idx 0 \[idx\]: annotated question not in the CV-Bench 2D rows"):
        pixcvbench.build(cvbench_paths=[parquet], annotations_dir=ann, out_dir=tmp_path / "out")


def test_several_parquet_files(tmp_path, raw):
    parquet, ann = raw
    table = pq.read_table(parquet)
    pq.write_table(table.slice(0, 3), tmp_path / "a.parquet")
    pq.write_table(table.slice(3), tmp_path / "b.parquet")
    result = pixcvbench.build(cvbench_paths=[tmp_path / "a.parquet", tmp_path / "b.parquet"], annotations_dir=ann,
                              out_dir=tmp_path / "out", with_images=False)
    assert result.summary["rows"] == 6 and not result.summary["images_embedded"]
    ds = load_dataset(str(tmp_path / "out"), split="test")
    assert "image" not in ds.column_names and ds[0]["height"] == 60


def test_duplicate_annotation_id_stops_build_and_check(tmp_path, raw, capsys):
    from pixbench.cli import main

    parquet, ann = raw
    data = json.loads((ann / "ADE20K" / "FinalSegmentations.json").read_text())
    ids = [a.get("id") for a in data["annotations"]]
    assert ids.count(1) == 1  # the polygon of image 2
    data["annotations"][0]["id"] = 1  # image 0's RLE mask takes the same id
    (ann / "ADE20K" / "FinalSegmentations.json").write_text(json.dumps(data))
    with pytest.raises(AnnotationError, match=r"FinalSegmentations.json: annotations\[\d\] \(image 2\) \[id\]: "
                                              r"duplicate annotation id 1, first at annotations\[0\] \(image 0\)"):
        pixcvbench.build(cvbench_paths=[parquet], annotations_dir=ann, out_dir=tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert main(["check-annotations", "pixcvbench", str(ann)]) == 1
    assert "duplicate annotation id 1" in capsys.readouterr().err


def test_known_id_repeats_are_pinned_to_the_release():
    known = pixcvbench.KNOWN_ID_REPEATS["ADE20K"]
    assert sorted(known) == list(range(1, 8)) and all(473 in images and len(images) == 2 for images in known.values())
    assert pixcvbench.KNOWN_ID_REPEATS["COCO"] == {}
