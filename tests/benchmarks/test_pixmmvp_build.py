"""PixMMVP builder on the tiny synthetic benchmark: values, loading, determinism, and bad input."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from datasets import load_dataset

from pixbench.annotation import rle
from pixbench.annotation.findings import AnnotationError
from pixbench.benchmarks.pixmmvp import build as pixmmvp


@pytest.fixture()
def raw(tiny_inputs, tmp_path):
    """A private, editable copy of the tiny PixMMVP inputs."""
    mmvp = shutil.copytree(tiny_inputs.mmvp_dir, tmp_path / "MMVP")
    ann = shutil.copytree(tiny_inputs.pixmmvp_annotations, tmp_path / "ann")
    return mmvp, ann


def test_clean_expression_and_options():
    assert pixmmvp.clean_expression(' the key ""Z""') == 'the key "Z"'
    assert pixmmvp.clean_expression(" None") is None
    assert pixmmvp.clean_expression(" the butterfly's wings ") == "the butterfly's wings"
    assert pixmmvp.parse_options("(a) Open (b) Closed") == ["Open", "Closed"]
    assert pixmmvp.parse_options("(a) Yes, it is (b) No (c) Maybe") == ["Yes, it is", "No", "Maybe"]
    with pytest.raises(ValueError, match="expected options"):
        pixmmvp.parse_options("(a) Open (c) Closed")


def test_built_rows(tiny_built):
    ds = load_dataset(str(tiny_built["pixmmvp"]), split="test")
    assert ds.num_rows == 8
    assert list(ds["id"]) == list(range(1, 9))
    assert list(ds["pair_id"]) == [1, 1, 2, 2, 3, 3, 4, 4]
    row = ds[0]
    assert row["options"] == ["Red", "Blue"] and row["options_text"] == "(a) Red (b) Blue"
    assert row["answer"] == "(a)" and row["pattern"] == "Color and Appearance"
    assert row["image"].size == (128, 96) and (row["height"], row["width"]) == (96, 128)
    # the square polygon [32,24]-[80,72] covers 48x48 pixels as COCO rasterises it
    assert rle.area([row["mask"]])[0] == 48 * 48
    assert row["polygons"] == [[32.0, 24.0, 80.0, 24.0, 80.0, 72.0, 32.0, 72.0]]
    absent, none = ds[5], ds[6]
    assert absent["expression"] == "the triangle" and absent["has_object"] and rle.area([absent["mask"]])[0] == 0
    assert none["expression"] is None and not none["has_object"] and none["instance_masks"] == []


def test_mask_equals_union_of_instances(tiny_built):
    ds = load_dataset(str(tiny_built["pixmmvp"]), split="test")
    for row in ds:
        dense = np.zeros((row["height"], row["width"]), dtype=bool)
        for instance in row["instance_masks"]:
            dense |= rle.decode(instance)
        assert np.array_equal(rle.decode(row["mask"]), dense)


def test_card_has_configs_and_label_set(tiny_built):
    card = (tiny_built["pixmmvp"] / "README.md").read_text()
    assert "config_name: default" in card and "path: data/test-*.parquet" in card
    assert "original MMVP labels" in card
    summary = json.loads((tiny_built["pixmmvp"] / "build_summary.json").read_text())
    assert summary["empty_masks"] == 3 and summary["none_questions"] == 2


def test_build_is_deterministic(tiny_inputs, tmp_path):
    for name in ("a", "b"):
        pixmmvp.build(annotations_dir=tiny_inputs.pixmmvp_annotations, mmvp_dir=tiny_inputs.mmvp_dir,
                      out_dir=tmp_path / name)
    first = (tmp_path / "a" / "data" / "test-00000-of-00001.parquet").read_bytes()
    assert first == (tmp_path / "b" / "data" / "test-00000-of-00001.parquet").read_bytes()
    assert (tmp_path / "a" / "README.md").read_text() == (tmp_path / "b" / "README.md").read_text()


def test_corrections_swap_labels(tmp_path, raw):
    mmvp, ann = raw
    # make the tiny set 300 questions long is unnecessary: check the rule directly
    question = pixmmvp.Question(99, "q", "(a) x (b) y", "(a)", "p")
    assert pixmmvp.answer_for(question, corrections=True) == "(b)"
    assert pixmmvp.answer_for(question, corrections=False) == "(a)"
    other = pixmmvp.Question(98, "q", "(a) x (b) y", "(a)", "p")
    assert pixmmvp.answer_for(other, corrections=True) == "(a)"
    result = pixmmvp.build(annotations_dir=ann, mmvp_dir=mmvp, out_dir=tmp_path / "out", corrections=True)
    assert result.summary["label_set"].startswith("corrected")
    assert "corrected" in (tmp_path / "out" / "README.md").read_text()


def test_no_images_build_uses_json_sizes(tmp_path, raw):
    _, ann = raw
    pixmmvp.build(annotations_dir=ann, out_dir=tmp_path / "out", with_images=False)
    ds = load_dataset(str(tmp_path / "out"), split="test")
    assert "image" not in ds.column_names and ds.num_rows == 8
    with pytest.raises(ValueError, match="--no-images"):
        pixmmvp.build(annotations_dir=ann, out_dir=tmp_path / "x", with_images=True)


def _expect_failure(tmp_path, mmvp, ann, *messages):
    out = tmp_path / "out"
    with pytest.raises(AnnotationError) as info:
        pixmmvp.build(annotations_dir=ann, mmvp_dir=mmvp, out_dir=out)
    text = str(info.value)
    for message in messages:
        assert message in text, text
    assert not (out / "data").exists()  # nothing written


def test_missing_and_wrong_size_images(tmp_path, raw):
    from PIL import Image

    mmvp, ann = raw
    (mmvp / "MMVP Images" / "3.jpg").unlink()
    Image.new("RGB", (10, 10)).save(mmvp / "MMVP Images" / "4.jpg")
    _expect_failure(tmp_path, mmvp, ann, "3.jpg: id 3 [image]: image file not found",
                    "id 4 [size]: image is 10x10 but Segmentations.json says 128x96")


def test_broken_polygon_and_duplicate_id(tmp_path, raw):
    mmvp, ann = raw
    seg = json.loads((ann / "Segmentations.json").read_text())
    seg["annotations"][0]["segmentation"] = [[1, 2, 3, 4, 5]]
    (ann / "Segmentations.json").write_text(json.dumps(seg))
    with open(ann / "Objects.csv", "a") as handle:
        handle.write("2, the other square\n")
    _expect_failure(tmp_path, mmvp, ann, "image 1, annotation 1 [segmentation]: odd number of coordinates (5)",
                    "Objects.csv: id 2 [Index]: duplicate id")


def test_questions_mismatch_and_misspelt_header(tmp_path, raw):
    mmvp, ann = raw
    text = (mmvp / "Questions.csv").read_text()
    assert text.startswith("lndex")
    (mmvp / "Questions.csv").write_text(text.replace("Is the square red or blue?", "Is it red?", 1))
    _expect_failure(tmp_path, mmvp, ann, "Questions.csv: id 1 [Question]: 'Is it red?' differs")


def test_missing_files_and_columns(tmp_path, raw):
    mmvp, ann = raw
    (ann / "meta_none.txt").unlink()
    (ann / "Objects.csv").write_text("Idx, Thing\n1, x\n")
    _expect_failure(tmp_path, mmvp, ann, "meta_none.txt: file not found",
                    "Objects.csv: line 1 [header]: missing column(s) ['Index', 'Object']")


def test_unlinked_image_file_name(tmp_path, raw):
    mmvp, ann = raw
    seg = json.loads((ann / "Segmentations.json").read_text())
    seg["images"][0]["file_name"] = "one.jpg"
    (ann / "Segmentations.json").write_text(json.dumps(seg))
    _expect_failure(tmp_path, mmvp, ann, "image 1 [file_name]: expected '<question id>.jpg', but got 'one.jpg'",
                    "Segmentations.json [ids]: 1 question id(s) missing: [1]")


def test_duplicate_annotation_and_image_ids_stop_build_and_check(tmp_path, raw, capsys):
    from pixbench.cli import main

    mmvp, ann = raw
    seg = json.loads((ann / "Segmentations.json").read_text())
    second = seg["annotations"][1]
    second["id"] = seg["annotations"][0]["id"]  # another image's annotation, same id
    seg["images"].append(dict(seg["images"][0], file_name="extra.jpg"))
    (ann / "Segmentations.json").write_text(json.dumps(seg))
    dup = f"annotations[1] (image {second['image_id']}) [id]: duplicate annotation id 1, first at annotations[0]"
    _expect_failure(tmp_path, mmvp, ann, f"Segmentations.json: {dup}",
                    "Segmentations.json: image 1 [id]: duplicate image id 1 at images[8], first at images[0]")
    assert main(["build", "pixmmvp", "--mmvp", str(mmvp), "--annotations", str(ann),
                 "--out", str(tmp_path / "cli")]) == 1
    assert dup in capsys.readouterr().err and not (tmp_path / "cli").exists()
    report, _ = pixmmvp.check(ann)
    assert any(dup in str(p) for p in report.errors)
    assert main(["check-annotations", "pixmmvp", str(ann)]) == 1
    assert dup in capsys.readouterr().err
