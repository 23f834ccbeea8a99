"""MeViS builder: the v1 / v2 configs, the no-target flag and types, the union masks, frames shared with
MoCentric-Bench's storage, version selection and every bad input, end to end on a synthetic release."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from datasets import load_dataset

from pixbench.annotation import rle
from pixbench.annotation.findings import AnnotationError
from pixbench.benchmarks import REGISTRY
from pixbench.benchmarks.mevis import build as mevis
from pixbench.benchmarks.mevis.synthetic import ADDED, DROPPED, SyntheticRelease, write_synthetic_release
from pixbench.benchmarks.mocentric import build as mocentric
from pixbench.cli import main
from pixbench.references import load_reference


@pytest.fixture(scope="session")
def raw(tmp_path_factory: pytest.TempPathFactory) -> SyntheticRelease:
    """The synthetic release (read-only: tests that edit it take a copy)."""
    return write_synthetic_release(tmp_path_factory.mktemp("mevis-raw") / "mevis")


@pytest.fixture(scope="session")
def built(raw, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("mevis") / "MeViS"
    mevis.build(mevis_root=raw.root, out_dir=out)
    return out


@pytest.fixture()
def copy(raw, tmp_path) -> SyntheticRelease:
    root = shutil.copytree(raw.root, tmp_path / "mevis")
    moved = {name: root / getattr(raw, name).relative_to(raw.root) for name in (
        "split_dir", "meta_expressions", "mask_dict", "reverse_expressions", "keyframes", "meta_v2")}
    return dataclasses.replace(raw, root=root, **moved)


def _json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _load(folder: Path, config: str):
    return load_dataset(str(folder), config, split="test")


def _files(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def _errors(excinfo: pytest.ExceptionInfo[AnnotationError]) -> str:
    return excinfo.value.report.format(None)


# ------------------------------------------------------------------------------------------ the synthetic release


def test_the_synthetic_release_holds_both_versions(raw, tmp_path):
    v1, v2 = _json(raw.meta_expressions)["videos"], _json(raw.meta_v2)["videos"]
    assert list(v1) == list(v2) == list(raw.video_ids)
    assert sum(len(v["expressions"]) for v in v1.values()) == 14
    assert sum(len(v["expressions"]) for v in v2.values()) == 14 - 1 + sum(map(len, ADDED.values())) == 18
    dropped = f"{raw.video_ids[DROPPED[0]]}_{DROPPED[1]}"
    assert raw.only_v1 == (dropped,) and len(raw.no_target) == 3 and set(raw.no_target) <= set(raw.only_v2)
    for row_id in raw.no_target:
        video, exp = row_id.rsplit("_", 1)
        assert v2[video]["expressions"][exp]["anno_id"] == [] == v2[video]["expressions"][exp]["obj_id"]
    shared = [(vid, e) for vid in v1 for e in v1[vid]["expressions"] if e in v2[vid]["expressions"]]
    assert all(v2[vid]["expressions"][e] == {**v1[vid]["expressions"][e], "type": "motion"} for vid, e in shared)
    again = write_synthetic_release(tmp_path / "again")
    assert [(raw.root / f).read_bytes() for f in _files(raw.root)] == [(again.root / f).read_bytes()
                                                                        for f in _files(again.root)]


# ------------------------------------------------------------------------------------------ the built folder


def test_layout_configs_and_card(built, raw):
    assert _files(built) == ["README.md", "build_summary.json", "data/test-v1-00000-of-00001.parquet",
                             "data/test-v2-00000-of-00001.parquet", "data/test-videos-00000-of-00001.parquet"]
    v1, v2, videos = (_load(built, c) for c in ("v1", "v2", "videos"))
    assert v1.features == v2.features == mevis.EXPRESSION_FEATURES and videos.features == mocentric.VIDEO_FEATURES
    assert (v1.num_rows, v2.num_rows, videos.num_rows) == (14, 18, 4)
    assert load_dataset(str(built), split="test")["id"] == v1["id"]  # the first version is the default
    meta = _json(raw.meta_v2)["videos"]
    assert v2["id"] == [f"{vid}_{e}" for vid in meta for e in sorted(map(int, meta[vid]["expressions"]))]
    assert set(v1["id"]) - set(v2["id"]) == set(raw.only_v1) and set(v2["id"]) - set(v1["id"]) == set(raw.only_v2)
    assert [i for i, flag in zip(v2["id"], v2["no_target"]) if flag] == list(raw.no_target)
    assert not any(v1["no_target"]) and set(v1["type"]) == {None}
    assert {row["type"] for row in v2} == {"motion", "reasoning"}
    summary = _json(built / "build_summary.json")
    assert summary["versions"] == ["v1", "v2"] and summary["rows"] == 32
    assert summary["v2"] == {"expressions": 18, "videos": 4, "no_target_expressions": 3,
                             "multi_object_expressions": 5, "types": {"motion": 16, "reasoning": 2}}
    assert (summary["ids_only_in_v1"], summary["ids_only_in_v2"]) == (1, 5)
    card = (built / "README.md").read_text(encoding="utf-8")
    assert "license: cc-by-nc-sa-4.0" in card and "non-commercial research use" in card and "{{" not in card
    assert "`v1` (14 expressions, 0 no-target), `v2` (18 expressions, 3 no-target)" in card
    assert "never publishes any MeViS data" in card


def test_masks_are_the_union_of_the_referred_objects_and_empty_for_no_target(built, raw):
    masks = _json(raw.mask_dict)
    meta = _json(raw.meta_v2)["videos"]
    seen_multi = False
    for row in _load(built, "v2"):
        anno_ids = meta[row["video_id"]]["expressions"][str(row["exp_id"])]["anno_id"]
        assert row["anno_ids"] == anno_ids and row["no_target"] == (not anno_ids)
        seen_multi |= len(anno_ids) > 1
        for t, stored in enumerate(row["masks"]):
            expected = np.zeros((row["height"], row["width"]), dtype=bool)
            for anno in anno_ids:
                if masks[str(anno)][t] is not None:
                    expected |= rle.decode(masks[str(anno)][t])
            assert np.array_equal(rle.decode(stored), expected)
            if row["no_target"]:
                assert not expected.any()
    assert seen_multi


def test_a_version_built_alone_matches_the_same_version_of_a_build_of_both(built, raw, tmp_path):
    out = tmp_path / "v1"
    result = mevis.build(mevis_root=raw.root, out_dir=out, version="v1")
    assert result.summary["versions"] == ["v1"] and "v2" not in result.summary
    assert _files(out) == ["README.md", "build_summary.json", "data/test-v1-00000-of-00001.parquet",
                           "data/test-videos-00000-of-00001.parquet"]
    assert (out / "data/test-v1-00000-of-00001.parquet").read_bytes() == \
        (built / "data/test-v1-00000-of-00001.parquet").read_bytes()
    only_v2 = mevis.build(mevis_root=raw.root, out_dir=tmp_path / "v2", version="v2")
    assert load_dataset(str(tmp_path / "v2"), split="test").num_rows == 18  # v2 is the default of a v2 build
    assert only_v2.summary["versions"] == ["v2"]


def test_v1_rows_equal_mocentric_expressions_and_frames_are_stored_alike(built, raw, tmp_path):
    """MeViS v1 is MoCentric-Bench's ``original`` expression set: same ids, texts, masks; same frame storage."""
    out = tmp_path / "MoCentric-Bench"
    mocentric.build(mevis_root=raw.root, keyframes=raw.keyframes, reverse_expressions=raw.reverse_expressions,
                    out_dir=out)
    ours, theirs = _load(built, "v1"), _load(out, "expressions")
    for column in ("id", "video_id", "exp_id", "expression", "obj_ids", "anno_ids", "height", "width",
                   "frame_names", "masks"):
        assert ours[column] == theirs[column], column
    assert (built / "data/test-videos-00000-of-00001.parquet").read_bytes() == \
        (out / "data/test-videos-00000-of-00001.parquet").read_bytes()


def test_rebuild_is_byte_identical_and_no_frames_build(built, raw, tmp_path):
    again = tmp_path / "again"
    mevis.build(mevis_root=raw.root, out_dir=again)
    assert [(built / f).read_bytes() for f in _files(built)] == [(again / f).read_bytes() for f in _files(again)]
    bare = tmp_path / "bare"
    result = mevis.build(mevis_root=raw.root, out_dir=bare, with_frames=False)
    assert "data/test-videos-00000-of-00001.parquet" not in _files(bare)
    assert result.summary["frames_embedded"] is False
    assert (bare / "data/test-v2-00000-of-00001.parquet").read_bytes() == \
        (built / "data/test-v2-00000-of-00001.parquet").read_bytes()
    assert "built with `--no-frames`" in (bare / "README.md").read_text(encoding="utf-8")


def test_frames_are_not_needed_without_frames(copy, tmp_path):
    shutil.rmtree(copy.split_dir / "JPEGImages")
    with pytest.raises(AnnotationError, match="frame folder not found"):
        mevis.build(mevis_root=copy.root, out_dir=tmp_path / "with")
    assert mevis.build(mevis_root=copy.root, out_dir=tmp_path / "without", with_frames=False).summary["rows"] == 32


def test_the_reference_reads_both_versions(built, raw):
    reference = load_reference("mevis", str(built))
    assert list(reference.versions) == ["v1", "v2"]
    row = reference.rows_for("v2")[raw.no_target[0]]
    assert row.no_target and row.anno_ids == () and row.type == "motion"
    assert all(rle.area(list(row.masks)).sum() == 0 for row in reference.rows_for("v2").values() if row.no_target)
    assert reference.origin["path"] == str(built.resolve())
    index = REGISTRY["mevis"].line_index(reference)
    assert index[raw.only_v1[0]].versions == {"v1"} and index[raw.only_v2[0]].versions == {"v2"}
    assert index[raw.no_target[0]].built == ("v1", "v2")


# ------------------------------------------------------------------------------------------ bad inputs


def test_version_selection(copy, tmp_path):
    with pytest.raises(ValueError, match=r"--version: expected one of \['v1', 'v2', 'all'\], but got 'v3'"):
        mevis.build(mevis_root=copy.root, out_dir=tmp_path / "x", version="v3")
    copy.meta_v2.unlink()
    assert mevis.build(mevis_root=copy.root, out_dir=tmp_path / "all").summary["versions"] == ["v1"]
    with pytest.raises(AnnotationError) as excinfo:
        mevis.build(mevis_root=copy.root, out_dir=tmp_path / "v2", version="v2")
    assert f"{copy.meta_v2}: file not found" in _errors(excinfo)
    copy.meta_expressions.unlink()
    with pytest.raises(AnnotationError) as excinfo:
        mevis.build(mevis_root=copy.root, out_dir=tmp_path / "none")
    assert "neither meta_expressions.json (MeViS v1) nor meta_expressions_v2.json (MeViS v2) found" in \
        _errors(excinfo)
    assert not (tmp_path / "none").exists()


def test_versions_that_disagree_on_a_videos_frames(copy, tmp_path):
    data = _json(copy.meta_v2)
    video = copy.video_ids[1]
    data["videos"][video]["frames"] = data["videos"][video]["frames"][:-1]
    copy.meta_v2.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(AnnotationError) as excinfo:
        mevis.build(mevis_root=copy.root, out_dir=tmp_path / "x")
    text = _errors(excinfo)
    assert f"{copy.meta_v2}: video {video} [frames]: 4 frames (00000..00003) differ from the 5 of " \
           "meta_expressions.json (00000..00004)" in text
    assert "5 entries, but meta_expressions_v2.json lists 4 frames for the video" in text  # its masks too


def test_no_target_in_v1_is_a_warning_and_a_bad_type_is_ignored(copy, tmp_path):
    data = _json(copy.meta_expressions)
    video = copy.video_ids[0]
    data["videos"][video]["expressions"]["0"].update(obj_id=[], anno_id=[])
    copy.meta_expressions.write_text(json.dumps(data), encoding="utf-8")
    v2 = _json(copy.meta_v2)
    v2["videos"][video]["expressions"]["1"]["type"] = 7
    copy.meta_v2.write_text(json.dumps(v2), encoding="utf-8")
    result = mevis.build(mevis_root=copy.root, out_dir=tmp_path / "x")
    text = result.report.format(None)
    assert f"{copy.meta_expressions}: video {video} expression 0 [anno_id]: no anno_id" in text
    assert f"{copy.meta_v2}: video {video} expression 1 [type]: expected a string, but got 7: ignored" in text
    assert "no anno_id" not in text.split(str(copy.meta_v2))[-1]  # v2's no-target expressions are expected
    assert result.summary["v1"]["no_target_expressions"] == 1


def test_an_anno_id_missing_from_the_mask_dict(copy, tmp_path):
    v2 = _json(copy.meta_v2)
    video = copy.video_ids[2]
    v2["videos"][video]["expressions"]["0"]["anno_id"] = [999]
    copy.meta_v2.write_text(json.dumps(v2), encoding="utf-8")
    with pytest.raises(AnnotationError) as excinfo:
        mevis.build(mevis_root=copy.root, out_dir=tmp_path / "x")
    assert f"{copy.meta_v2}: video {video} expression 0 [anno_id]: anno_id 999 not in mask_dict.json" in \
        _errors(excinfo)


def test_a_video_of_no_target_expressions_alone_needs_frames(copy, tmp_path):
    v2 = _json(copy.meta_v2)
    video = copy.video_ids[2]
    v2["videos"][video]["expressions"] = {"0": {"exp": "nothing", "obj_id": [], "anno_id": []}}
    copy.meta_v2.write_text(json.dumps(v2), encoding="utf-8")
    with pytest.raises(AnnotationError) as excinfo:
        mevis.build(mevis_root=copy.root, out_dir=tmp_path / "x", version="v2", with_frames=False)
    assert f"{copy.mask_dict}: video {video} [size]: no frame size: its expressions refer to no object" in \
        _errors(excinfo)
    assert mevis.build(mevis_root=copy.root, out_dir=tmp_path / "y", version="v2").summary["v2"]["expressions"] == 16


# ------------------------------------------------------------------------------------------ command line


def test_cli_build_and_check(raw, built, tmp_path, capsys):
    out = tmp_path / "cli"
    assert main(["build", "mevis", "--mevis", str(raw.root), "--version", "v2", "--out", str(out)]) == 0
    assert json.loads(capsys.readouterr().out)["versions"] == ["v2"]
    assert (out / "data/test-v2-00000-of-00001.parquet").read_bytes() == \
        (built / "data/test-v2-00000-of-00001.parquet").read_bytes()
    assert main(["check-annotations", "mevis", "--mevis", str(raw.root)]) == 0
    assert json.loads(capsys.readouterr().out)["rows"] == 32
    assert main(["check-annotations", "mevis", "--mevis", str(raw.root), "--version", "v3"]) == 1
    assert "--version: expected one of" in capsys.readouterr().err
    assert main(["build", "mevis", "--out", str(tmp_path / "x")]) == 2
    assert "error: mevis needs --mevis ROOT" in capsys.readouterr().err
    assert main(["build", "mevis", "--mevis", str(raw.root), "--version", "v9", "--out", str(tmp_path / "y")]) == 2
    assert not (tmp_path / "y").exists()
