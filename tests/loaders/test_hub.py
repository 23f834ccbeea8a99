"""Loading helpers and the push plan; the upload itself is checked against a recording fake HfApi."""

from __future__ import annotations

import numpy as np
import pytest

from pixbench.annotation import rle
from pixbench.loaders import hub


def test_load_and_decode(tiny_built):
    ds = hub.load(str(tiny_built["pixmmvp"]))
    masks = hub.decode_masks(ds[0])
    assert masks["mask"].shape == (96, 128) and masks["mask"].dtype == bool
    assert masks["mask"].sum() == rle.area([ds[0]["mask"]])[0]
    assert len(masks["instance_masks"]) == 1
    assert np.array_equal(hub.mask_array(ds[0]), masks["mask"])
    assert hub.load(str(tiny_built["pixcvbench"]), "coco").num_rows == 3


def test_resolve_and_revision(tiny_built):
    assert hub.resolve("pixmmvp") == "IVUlab/PixMMVP"
    assert hub.resolve("PixCVBench") == "IVUlab/PixCV-Bench"
    assert hub.resolve("someone/other") == "someone/other"
    revision = hub.dataset_revision(str(tiny_built["pixmmvp"]))
    assert len(revision["sha256"]) == 64
    assert revision == hub.dataset_revision(str(tiny_built["pixmmvp"]))


def test_push_plan(tiny_built, tmp_path):
    plan = hub.plan_push(tiny_built["pixcvbench"], "IVUlab/PixCV-Bench")
    assert plan.upload == ["README.md", "build_summary.json", "data/test-ade20k-00000-of-00001.parquet",
                           "data/test-coco-00000-of-00001.parquet"]
    with pytest.raises(FileNotFoundError, match="not a built benchmark folder"):
        hub.plan_push(tmp_path, "x/y")


def test_push_creates_repo_and_uploads(tiny_built, monkeypatch):
    calls = []

    class FakeApi:
        def __init__(self, token=None):
            calls.append(("init", token))

        def create_repo(self, repo_id, **kwargs):
            calls.append(("create_repo", repo_id, kwargs))

        def upload_folder(self, **kwargs):
            calls.append(("upload_folder", kwargs))

            class Info:
                commit_url = "https://huggingface.co/datasets/IVUlab/PixMMVP/commit/abc"
            return Info()

    import huggingface_hub

    monkeypatch.setattr(huggingface_hub, "HfApi", FakeApi)
    url = hub.push(tiny_built["pixmmvp"], "IVUlab/PixMMVP", private=True)
    assert url.endswith("/commit/abc")
    assert calls[1] == ("create_repo", "IVUlab/PixMMVP", {"repo_type": "dataset", "private": True, "exist_ok": True})
    upload = calls[2][1]
    assert upload["repo_type"] == "dataset" and upload["delete_patterns"] == ["data/*.parquet"]
    assert "data/*.parquet" in upload["allow_patterns"]


def test_draw_row_from_the_top_level(tiny_built):
    import pixbench

    ds = pixbench.load(str(tiny_built["pixmmvp"]))
    picture = pixbench.draw_row(ds[0])
    assert picture.size == (128, 96)
    assert np.asarray(picture)[48, 56].tolist() != np.asarray(ds[0]["image"].convert("RGB"))[48, 56].tolist()
