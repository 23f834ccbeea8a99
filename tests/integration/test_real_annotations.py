"""Full builds from the real annotation files in ../shared/data, with generated stand-in images.

Checks counts, nulls and empty masks against the release, loads the result with ``load_dataset``
offline, and compares every stored mask with an independent rasterisation of the raw json
(pycocotools directly, plus a separate nearest-neighbour resize).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from datasets import load_dataset
from pycocotools import mask as coco_mask

from pixbench.benchmarks.pixcvbench import build as pixcvbench
from pixbench.benchmarks.pixcvbench.synthetic import write_cvbench_parquet
from pixbench.benchmarks.pixmmvp import build as pixmmvp
from pixbench.benchmarks.pixmmvp.synthetic import write_mmvp_release
from pixbench.cli import main

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def built(shared_data, tmp_path_factory):
    root = tmp_path_factory.mktemp("real")
    mmvp = write_mmvp_release(shared_data / "pixmmvp", root / "MMVP")
    parquet = write_cvbench_parquet(shared_data / "pixcvbench", root / "CV-Bench" / "test.parquet")
    pixmmvp.build(annotations_dir=shared_data / "pixmmvp", mmvp_dir=mmvp, out_dir=root / "PixMMVP")
    pixcvbench.build(cvbench_paths=[parquet], annotations_dir=shared_data / "pixcvbench",
                     out_dir=root / "PixCV-Bench")
    return root


def _reference_mask(segmentations, height: int, width: int) -> np.ndarray:
    """Independent ground truth: pycocotools on the raw json values, union by numpy OR."""
    union = np.zeros((height, width), dtype=bool)
    for seg in segmentations:
        if isinstance(seg, list):
            decoded = coco_mask.decode(coco_mask.merge(coco_mask.frPyObjects(seg, height, width)))
        else:
            source = coco_mask.decode({"size": seg["size"], "counts": seg["counts"].encode()})
            rows = [(2 * r + 1) * source.shape[0] // (2 * height) for r in range(height)]
            cols = [(2 * c + 1) * source.shape[1] // (2 * width) for c in range(width)]
            decoded = source[rows][:, cols]
        union |= decoded.astype(bool)
    return union


def test_pixmmvp_counts(built):
    ds = load_dataset(str(built / "PixMMVP"), split="test")
    assert ds.num_rows == 300 and list(ds["id"]) == list(range(1, 301))
    expressions = list(ds["expression"])
    assert sum(e is None for e in expressions) == 14
    assert 'the key "Z"' in expressions and not any(e and (e != e.strip() or '""' in e) for e in expressions)
    areas = [int(np.sum(coco_mask.area([{"size": m["size"], "counts": m["counts"].encode()}]))) for m in ds["mask"]]
    assert sum(a == 0 for a in areas) == 53
    assert sum(len(m) for m in ds["instance_masks"]) == 384
    assert len(set(ds["pattern"])) == 9
    assert all(h == w == 224 for h, w in zip(ds["height"], ds["width"]))
    assert not any(v is None for column in ("question", "options_text", "answer", "pattern") for v in ds[column])


def test_pixmmvp_masks_equal_reference(built, shared_data):
    raw = json.loads((shared_data / "pixmmvp" / "Segmentations.json").read_text())
    by_image: dict[int, list] = {}
    for ann in raw["annotations"]:
        by_image.setdefault(ann["image_id"], []).append(ann["segmentation"])
    ids = {int(Path(img["file_name"]).stem): img["id"] for img in raw["images"]}
    ds = load_dataset(str(built / "PixMMVP"), split="test")
    for row in ds:
        reference = _reference_mask(by_image.get(ids[row["id"]], []), 224, 224)
        stored = coco_mask.decode({"size": row["mask"]["size"], "counts": row["mask"]["counts"].encode()})
        assert np.array_equal(stored.astype(bool), reference), row["id"]


def test_pixcvbench_counts_and_masks(built, shared_data):
    ds = load_dataset(str(built / "PixCV-Bench"), split="test")
    assert ds.num_rows == 1438 and list(ds["id"]) == list(range(1438))
    assert load_dataset(str(built / "PixCV-Bench"), "ade20k", split="test").num_rows == 633
    assert load_dataset(str(built / "PixCV-Bench"), "coco", split="test").num_rows == 805
    tasks = list(ds["task"])
    assert tasks.count("Count") == 788 and tasks.count("Relation") == 650
    summary = json.loads((built / "PixCV-Bench" / "build_summary.json").read_text())
    assert summary["empty_masks"] == [207]
    assert len(summary["relation_rows_with_one_mask"]) == 2
    assert summary["instance_masks"] == 1366 + 1672
    raw = {s: json.loads((shared_data / "pixcvbench" / s / "FinalSegmentations.json").read_text())
           for s in ("ADE20K", "COCO")}
    segs = {s: {} for s in raw}
    for source, data in raw.items():
        for ann in data["annotations"]:
            segs[source].setdefault(ann["image_id"], []).append(ann["segmentation"])
    for row in ds.remove_columns("image"):
        json_id = row["id"] - (633 if row["source"] == "COCO" else 0)
        reference = _reference_mask(segs[row["source"]].get(json_id, []), row["height"], row["width"])
        stored = coco_mask.decode({"size": row["mask"]["size"], "counts": row["mask"]["counts"].encode()})
        assert np.array_equal(stored.astype(bool), reference), row["id"]
        assert row["expression"].startswith("the ") and "," not in row["expression"]


def test_check_annotations_cli_on_real_files(shared_data, capsys):
    assert main(["check-annotations", "pixmmvp", str(shared_data / "pixmmvp")]) == 0
    assert json.loads(capsys.readouterr().out)["empty_masks"] == 53
    assert main(["check-annotations", "pixcvbench", str(shared_data / "pixcvbench")]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["rows"] == 1438 and summary["polygon_masks"] == 187


def test_scoring_tools_on_real_annotations(built, tmp_path, capsys):
    """Variants, intervals, comparison and a harness bridge on the full 300-row PixMMVP."""
    from pixbench.references import load_reference

    reference = load_reference("pixmmvp", str(built / "PixMMVP"))
    truth = {i: row.answer.strip("()").upper() for i, row in reference.rows.items()}
    always_a = {i: "A" for i in reference.rows}
    variants = []
    for variant, answers in (("qa-1", truth), ("qa-2", always_a)):
        variants += [{"benchmark": "pixmmvp", "id": i, "probe": "letter", "response": r, "variant": variant}
                     for i, r in answers.items()]
    (tmp_path / "m.jsonl").write_text("".join(json.dumps(line) + "\n" for line in variants))
    data = ["--data", f"pixmmvp={built / 'PixMMVP'}"]
    assert main(["score", str(tmp_path / "m.jsonl"), *data, "--no-judge", "--ci", "0.95", "--bootstrap", "2000",
                 "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    by_variant = {r["variant"]: r for r in document["results"]}
    share_a = sum(r == "A" for r in truth.values()) / 300 * 100
    pairs_all_a = sum(truth[2 * k - 1] == truth[2 * k] == "A" for k in range(1, 151)) / 150 * 100
    assert by_variant["qa-1"]["metrics"]["A"] == 100.0
    assert by_variant["qa-2"]["metrics"]["A_per_question"] == pytest.approx(share_a, abs=1e-4)
    assert by_variant["qa-2"]["metrics"]["A"] == pytest.approx(pairs_all_a, abs=1e-4)
    low, high = by_variant["qa-2"]["ci"]["metrics"]["A_per_question"]
    assert low < share_a < high and high - low < 15  # 300 rows: a few points wide
    (table,) = document["sensitivity"]
    assert table["metrics"]["A"]["spread"] == pytest.approx(100.0 - pairs_all_a, abs=1e-4)

    for name, answers in (("a", truth), ("b", always_a)):
        (tmp_path / f"{name}.jsonl").write_text("".join(
            json.dumps({"benchmark": "pixmmvp", "id": i, "probe": "letter", "response": r}) + "\n"
            for i, r in answers.items()))
    assert main(["compare", str(tmp_path / "a.jsonl"), str(tmp_path / "b.jsonl"), *data, "--no-judge",
                 "--bootstrap", "2000", "--format", "json"]) == 0
    (comparison,) = json.loads(capsys.readouterr().out)["comparisons"]
    per_question = comparison["metrics"]["A_per_question"]
    assert comparison["rows"] == 300
    assert per_question["mcnemar"]["a_only"] == sum(r != "A" for r in truth.values())
    assert per_question["mcnemar"]["b_only"] == 0 and per_question["p_value"] < 0.001

    samples = [{"doc_id": i - 1, "doc": {"Index": i, "Question": reference.rows[i].question},
                "resps": [[f"({truth[i].lower()})"]], "filtered_resps": [f"({truth[i].lower()})"]}
               for i in reference.rows]
    (tmp_path / "samples_mmvp.jsonl").write_text("".join(json.dumps(s) + "\n" for s in samples))
    assert main(["convert", "--from", "lmms-eval", str(tmp_path / "samples_mmvp.jsonl"), "--out",
                 str(tmp_path / "lmms.jsonl"), "--data", str(built / "PixMMVP")]) == 0
    capsys.readouterr()
    assert main(["score", str(tmp_path / "lmms.jsonl"), *data, "--no-judge", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["results"][0]["metrics"]["A"] == 100.0
