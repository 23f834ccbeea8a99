"""MoCentric-Bench builder: configs, union masks, keyframes, frames, determinism and every bad input."""

from __future__ import annotations

import csv
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from datasets import Image, List, load_dataset

import pixbench
from pixbench.annotation import rle
from pixbench.annotation.findings import AnnotationError
from pixbench.benchmarks.mocentric import build as mocentric
from pixbench.benchmarks.mocentric.synthetic import SyntheticMevis, write_mevis_for_release, write_synthetic_mevis


@pytest.fixture(scope="session")
def raw(tmp_path_factory: pytest.TempPathFactory) -> SyntheticMevis:
    """The synthetic MeViS inputs (read-only: tests that edit them take a copy)."""
    return write_synthetic_mevis(tmp_path_factory.mktemp("mevis") / "mevis")


def _build(inputs: SyntheticMevis, out: Path, **kwargs):
    return mocentric.build(mevis_root=inputs.root, keyframes=inputs.keyframes,
                           reverse_expressions=inputs.reverse_expressions, out_dir=out, **kwargs)


@pytest.fixture(scope="session")
def built(raw, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("mocentric") / "MoCentric-Bench"
    _build(raw, out)
    return out


@pytest.fixture()
def copy(raw, tmp_path) -> SyntheticMevis:
    """An editable copy of the synthetic inputs."""
    root = shutil.copytree(raw.root, tmp_path / "mevis")
    moved = {name: root / getattr(raw, name).relative_to(raw.root)
             for name in ("split_dir", "meta_expressions", "mask_dict", "reverse_expressions", "keyframes")}
    return SyntheticMevis(root=root, video_ids=raw.video_ids, no_keyframe=raw.no_keyframe, **moved)


def _json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _dump(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, indent=4) + "\n", encoding="utf-8")


def _load(folder: Path, config: str):
    return load_dataset(str(folder), config, split="test")


# ------------------------------------------------------------------------------------------ the synthetic inputs


def test_synthetic_inputs_are_deterministic_and_shaped_like_the_release(raw, tmp_path):
    again = write_synthetic_mevis(tmp_path / "again")
    files = sorted(p.relative_to(raw.root) for p in raw.root.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(again.root) for p in again.root.rglob("*") if p.is_file())
    assert all((raw.root / f).read_bytes() == (again.root / f).read_bytes() for f in files)
    assert write_synthetic_mevis(tmp_path / "other", seed=1).video_ids != raw.video_ids
    lines = raw.keyframes.read_text(encoding="utf-8").splitlines()
    assert lines[0] == ",video_name,frame,exp_id"
    assert lines[1] == f"0,{raw.video_ids[0]},valid_u/JPEGImages/{raw.video_ids[0]}/" + lines[1].rsplit("/", 1)[1]
    meta = _json(raw.meta_expressions)["videos"]
    reversed_ = _json(raw.reverse_expressions)["videos"]
    assert list(meta) == list(reversed_) == list(raw.video_ids)
    assert all(len(vid) == 12 and int(vid, 16) >= 0 for vid in meta)
    assert sorted({len(v["frames"]) for v in meta.values()}) == [5, 6, 7, 9]
    assert [len(v["expressions"]) for v in reversed_.values()] == [3, 1, 0, 3]
    masks = _json(raw.mask_dict)
    assert any(entry is None for entries in masks.values() for entry in entries)
    assert raw.reverse_expressions.read_bytes().endswith(b"}\n")


# ------------------------------------------------------------------------------------------ the built folder


def test_layout_and_configs(built, raw):
    assert sorted(p.relative_to(built).as_posix() for p in built.rglob("*") if p.is_file()) == [
        "README.md", "build_summary.json", "data/test-expressions-00000-of-00001.parquet",
        "data/test-reversed-00000-of-00001.parquet", "data/test-videos-00000-of-00001.parquet"]
    expressions, reversed_, videos = (_load(built, c) for c in ("expressions", "reversed", "videos"))
    assert expressions.features == mocentric.EXPRESSION_FEATURES == reversed_.features
    assert videos.features == mocentric.VIDEO_FEATURES
    assert expressions.num_rows == 14 and reversed_.num_rows == 7 and videos.num_rows == 4
    assert load_dataset(str(built), split="test")["id"] == expressions["id"]  # expressions is the default
    meta = _json(raw.meta_expressions)["videos"]
    assert expressions["id"] == [f"{vid}_{e}" for vid in meta for e in sorted(map(int, meta[vid]["expressions"]))]
    assert videos["video_id"] == list(raw.video_ids)
    row = expressions[2]
    assert row["video_id"] == raw.video_ids[0] and row["exp_id"] == 2
    assert row["expression"] == "the two shapes passing each other"
    assert row["obj_ids"] == [0, 1] and row["anno_ids"] == [0, 1]
    assert (row["height"], row["width"]) == (64, 96)
    assert row["frame_names"] == [f"{t:05d}" for t in range(7)] and len(row["masks"]) == 7
    card = (built / "README.md").read_text(encoding="utf-8")
    assert "license: cc-by-nc-sa-4.0" in card and "non-commercial research use" in card
    assert "**keyframe_fallbacks**: 1" in card and "{{" not in card


def test_masks_are_the_union_of_the_anno_ids(built, raw):
    masks = _json(raw.mask_dict)
    meta = _json(raw.meta_expressions)["videos"]
    overlap_seen = False
    for config in ("expressions", "reversed"):
        for row in _load(built, config):
            assert len(row["masks"]) == len(meta[row["video_id"]]["frames"])
            for t, stored in enumerate(row["masks"]):
                dense = np.zeros((row["height"], row["width"]), dtype=bool)
                areas = 0
                for anno in row["anno_ids"]:
                    entry = masks[str(anno)][t]
                    if entry is not None:
                        part = rle.decode(entry)
                        dense |= part
                        areas += int(part.sum())
                assert stored["size"] == [64, 96]
                assert np.array_equal(rle.decode(stored), dense), (row["id"], t)
                overlap_seen |= areas > int(dense.sum())
    assert overlap_seen  # overlapping objects are counted once


def test_absent_objects_give_empty_masks(built, raw):
    rows = {row["id"]: row for row in _load(built, "expressions")}
    green = rows[f"{raw.video_ids[0]}_3"]  # the green box enters at frame 2
    assert rle.area(green["masks"]).tolist()[:2] == [0, 0] and all(rle.area(green["masks"])[2:] > 0)
    vanishing = rows[f"{raw.video_ids[1]}_1"]  # the magenta box leaves after frame 2
    assert rle.area(vanishing["masks"]).tolist()[3:] == [0, 0]


def test_keyframes_from_the_csv_and_the_fallback(built, raw):
    with open(raw.keyframes, newline="", encoding="utf-8") as handle:
        named = {f"{r['video_name']}_{r['exp_id']}": Path(r["frame"]).stem for r in csv.DictReader(handle)}
    rows = list(_load(built, "expressions"))
    for row in rows:
        if row["id"] in named:
            assert row["keyframe_from_csv"] and row["frame_names"][row["keyframe"]] == named[row["id"]]
        else:
            assert not row["keyframe_from_csv"] and row["keyframe"] == 0
    assert [r["id"] for r in rows if not r["keyframe_from_csv"]] == list(raw.no_keyframe)
    summary = _json(built / "build_summary.json")
    assert summary["keyframe_fallbacks"] == 1 and summary["keyframe_fallback_ids"] == list(raw.no_keyframe)
    assert summary["keyframes_from_csv"] == 13 and summary["keyframe_rows"] == 13


def test_reversed_rows(built, raw):
    reversed_json = _json(raw.reverse_expressions)["videos"]
    originals = {row["id"]: row for row in _load(built, "expressions")}
    rows = list(_load(built, "reversed"))
    assert [r["id"] for r in rows] == [f"{vid}_{e}" for vid, v in reversed_json.items()
                                       for e in sorted(map(int, v["expressions"]))]
    assert raw.video_ids[2] not in {r["video_id"] for r in rows}  # its reversed expressions are {}
    for row in rows:
        original = originals[row["id"]]
        assert row["expression"] == reversed_json[row["video_id"]]["expressions"][str(row["exp_id"])]["exp"]
        assert row["expression"] != original["expression"]
        for name in ("anno_ids", "obj_ids", "masks", "keyframe", "keyframe_from_csv", "frame_names"):
            assert row[name] == original[name]
    summary = _json(built / "build_summary.json")
    assert (summary["reversed_expressions"], summary["videos_with_reversed"]) == (7, 3)


def test_videos_hold_the_original_jpeg_bytes(built, raw):
    videos = _load(built, "videos")
    raw_bytes = videos.cast_column("frames", List(Image(decode=False)))
    for row, undecoded in zip(videos, raw_bytes):
        folder = raw.split_dir / "JPEGImages" / row["video_id"]
        assert [f["bytes"] for f in undecoded["frames"]] == [(folder / f"{n}.jpg").read_bytes()
                                                             for n in row["frame_names"]]
        assert all(image.size == (96, 64) for image in row["frames"])


def test_rebuild_is_byte_identical(built, raw, tmp_path):
    again = tmp_path / "again"
    _build(raw, again)
    files = sorted(p.relative_to(built) for p in built.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(again) for p in again.rglob("*") if p.is_file())
    assert all((built / f).read_bytes() == (again / f).read_bytes() for f in files)
    _build(raw, again)  # an earlier build of the same benchmark is replaced in place
    assert all((built / f).read_bytes() == (again / f).read_bytes() for f in files)


def test_no_frames_build(built, raw, tmp_path):
    out = tmp_path / "no-frames"
    result = _build(raw, out, with_frames=False)
    assert not list((out / "data").glob("*videos*"))
    assert "config_name: videos" not in (out / "README.md").read_text(encoding="utf-8")
    assert result.summary["frames_embedded"] is False and result.summary["frame_sizes"] == {"64x96": 4}
    for name in ("test-expressions-00000-of-00001.parquet", "test-reversed-00000-of-00001.parquet"):
        assert (out / "data" / name).read_bytes() == (built / "data" / name).read_bytes()
    with pytest.raises(ValueError):
        _load(out, "videos")


def test_frames_are_not_needed_without_frames(copy, tmp_path):
    shutil.rmtree(copy.split_dir / "JPEGImages")
    assert _build(copy, tmp_path / "out", with_frames=False).summary["expressions"] == 14
    with pytest.raises(AnnotationError, match=r"\[frames\]: frame folder not found"):
        _build(copy, tmp_path / "out2")
    assert not (tmp_path / "out2").exists()


def test_shards_and_row_groups_are_streamed(built, raw, tmp_path, monkeypatch):
    monkeypatch.setattr(mocentric.common, "ROWS_PER_SHARD", 5)
    monkeypatch.setattr(mocentric.common, "ROWS_PER_ROW_GROUP", 2)
    monkeypatch.setattr(mocentric, "MAX_VIDEO_SHARD_BYTES", 1)
    out = tmp_path / "small-shards"
    _build(raw, out)
    shards = sorted(p.name for p in (out / "data").glob("*.parquet"))
    assert shards == [f"test-expressions-0000{k}-of-00003.parquet" for k in range(3)] + [
        "test-reversed-00000-of-00002.parquet", "test-reversed-00001-of-00002.parquet"] + [
        f"test-videos-0000{k}-of-00004.parquet" for k in range(4)]
    groups = [pq.ParquetFile(out / "data" / s).metadata.num_rows for s in shards[:3]]
    assert groups == [5, 5, 4]
    assert pq.ParquetFile(out / "data" / shards[0]).metadata.num_row_groups == 3  # 2 + 2 + 1
    for config in ("expressions", "reversed", "videos"):
        assert _load(out, config).to_list() == _load(built, config).to_list()


def test_pixbench_load_and_decode(built):
    rows = pixbench.load(str(built), "reversed")
    assert rows.num_rows == 7
    decoded = pixbench.decode_masks(rows[0])["masks"]
    assert len(decoded) == len(rows[0]["frame_names"]) and decoded[0].shape == (64, 96)
    assert [int(m.sum()) for m in decoded] == rle.area(rows[0]["masks"]).tolist()
    assert pixbench.load(str(built)).num_rows == 14


def test_duplicate_reversed_texts_are_warnings(raw, tmp_path):
    result = _build(raw, tmp_path / "out", with_frames=False)
    assert [str(w).split(": ", 1)[1] for w in result.report.warnings] == [
        f"{raw.keyframes}: video {raw.video_ids[1]} expression 2 [exp_id]: no keyframe row: frame index 0 is used",
        f"{raw.reverse_expressions}: video {raw.video_ids[3]} expression 1 [exp]: duplicate text: same as reversed "
        "expression 0 ('the shape moving right')"]


# ------------------------------------------------------------------------------------------ bad inputs


def _fails(inputs: SyntheticMevis, out: Path, pattern: str, *, with_frames: bool = True) -> str:
    with pytest.raises(AnnotationError, match=pattern) as caught:
        _build(inputs, out, with_frames=with_frames)
    assert not out.exists(), "nothing may be written on error"
    return str(caught.value)


def test_malformed_json_files(copy, tmp_path):
    copy.meta_expressions.write_text("{not json", encoding="utf-8")
    _fails(copy, tmp_path / "out", r"meta_expressions\.json: not valid JSON")
    copy.meta_expressions.write_text('{"videos": []}', encoding="utf-8")
    copy.mask_dict.write_text("[]", encoding="utf-8")
    message = _fails(copy, tmp_path / "out", r"meta_expressions\.json \[videos\]: expected")
    assert "mask_dict.json: expected an object {anno_id: [RLE or null per frame]}" in message


def test_malformed_expression_fields(copy, tmp_path):
    meta = _json(copy.meta_expressions)
    vid = copy.video_ids[1]
    del meta["videos"][vid]["expressions"]["0"]["anno_id"]
    meta["videos"][vid]["expressions"]["x"] = meta["videos"][vid]["expressions"]["1"]
    _dump(copy.meta_expressions, meta)
    message = _fails(copy, tmp_path / "out", rf"video {vid} expression 0 \[anno_id\]: expected a list of ints")
    assert f"video {vid} expression x [exp_id]: expected the string of an int" in message


def test_anno_id_missing_from_mask_dict(copy, tmp_path):
    masks = _json(copy.mask_dict)
    del masks["1"]
    copy.mask_dict.write_text(json.dumps(masks), encoding="utf-8")
    vid = copy.video_ids[0]
    message = _fails(copy, tmp_path / "out", rf"meta_expressions\.json: video {vid} expression 1 \[anno_id\]: "
                                             r"anno_id 1 not in mask_dict\.json")
    assert f"video {vid} expression 2 [anno_id]: anno_id 1 not in" in message


def test_frame_count_differs_from_meta(copy, tmp_path):
    masks = _json(copy.mask_dict)
    masks["0"] = masks["0"][:-1]
    copy.mask_dict.write_text(json.dumps(masks), encoding="utf-8")
    _fails(copy, tmp_path / "out", rf"mask_dict\.json: video {copy.video_ids[0]} expression 0 anno_id 0 \[frames\]: "
                                   r"6 entries, but meta_expressions\.json lists 7 frames for the video")


def test_rle_of_the_wrong_size(copy, tmp_path):
    masks = _json(copy.mask_dict)
    masks["0"][2] = dict(rle.encode(np.ones((32, 48), dtype=np.uint8)))
    copy.mask_dict.write_text(json.dumps(masks), encoding="utf-8")
    vid = copy.video_ids[0]
    _fails(copy, tmp_path / "out", rf"mask_dict\.json: video {vid} expression 0 anno_id 0 \[size\]: RLE size "
                                   r"\[32, 48\] at frame\(s\) 00002, but the frames are \[64, 96\]")
    _fails(copy, tmp_path / "out", rf"mask_dict\.json: video {vid} \[size\]: masks of one video have different "
                                   r"sizes: 64x96 \(\d+ masks\), 32x48 \(1 masks\)", with_frames=False)


def test_rle_counts_that_do_not_cover_the_frame(copy, tmp_path):
    masks = _json(copy.mask_dict)
    masks["4"][1]["counts"] = "0"
    copy.mask_dict.write_text(json.dumps(masks), encoding="utf-8")
    _fails(copy, tmp_path / "out", rf"video {copy.video_ids[1]} expression 1 anno_id 4 frame 00001 \[counts\]: "
                                   r"RLE runs cover 0 pixels, expected height\*width = 6144")


def test_missing_frame_files(copy, tmp_path):
    vid = copy.video_ids[2]
    (copy.split_dir / "JPEGImages" / vid / "00003.jpg").unlink()
    (copy.split_dir / "JPEGImages" / vid / "00008.jpg").unlink()
    _fails(copy, tmp_path / "out", rf"JPEGImages/{vid}: video {vid} \[frames\]: 2 of 9 frame file\(s\) missing: "
                                   r"00003\.jpg, 00008\.jpg")
    assert _build(copy, tmp_path / "out", with_frames=False).summary["frames_embedded"] is False


def test_frames_of_another_size(copy, tmp_path):
    vid = copy.video_ids[3]
    from pixbench.benchmarks.mocentric.synthetic import jpeg_bytes

    (copy.split_dir / "JPEGImages" / vid / "00004.jpg").write_bytes(jpeg_bytes(np.zeros((20, 30, 3), np.uint8)))
    _fails(copy, tmp_path / "out", rf"video {vid} \[frames\]: frame\(s\) 00004 are 20x30, frame 00000 is 64x96")


def _csv_rows(path: Path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def _write_csv(path: Path, rows: list[list[str]]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)


def test_bad_keyframe_rows(copy, tmp_path):
    rows = _csv_rows(copy.keyframes)
    vid = copy.video_ids[0]
    rows.append(["13", "000000000000", "valid_u/JPEGImages/000000000000/00001.jpg", "0"])
    rows.append(["14", vid, f"valid_u/JPEGImages/{vid}/00001.jpg", "9"])
    rows.append(["15", copy.video_ids[1], f"valid_u/JPEGImages/{copy.video_ids[1]}/00042.jpg", "2"])
    _write_csv(copy.keyframes, rows)
    message = _fails(copy, tmp_path / "out", r"mevis_keyframes\.csv: line 15 \(video 000000000000 expression 0\) "
                                             r"\[video_name\]: unknown video")
    assert f"mevis_keyframes.csv: line 16 (video {vid} expression 9) [exp_id]: unknown expression" in message
    assert (f"line 17 (video {copy.video_ids[1]} expression 2) [frame]: frame 00042 is not one of the video's "
            "5 frames (00000..00004)") in message


def test_duplicate_keyframe_row(copy, tmp_path):
    rows = _csv_rows(copy.keyframes)
    rows.append(["13", *rows[1][1:]])
    _write_csv(copy.keyframes, rows)
    _fails(copy, tmp_path / "out", r"line 15 \(video \w+ expression 0\) \[exp_id\]: duplicate row \(first on line 2\)")


def test_bad_reversed_expressions(copy, tmp_path):
    data = _json(copy.reverse_expressions)
    vid = copy.video_ids[0]
    expressions = data["videos"][vid]["expressions"]
    expressions["0"]["anno_id"] = [0, 1]
    expressions["2"]["obj_id"] = [1, 0]
    expressions["7"] = {"exp": "nothing", "obj_id": [0], "anno_id": [0]}
    data["videos"]["ffffffffffff"] = {"vid_id": 9, "frames": ["00000"], "expressions": {}}
    data["videos"][copy.video_ids[1]]["frames"] = data["videos"][copy.video_ids[1]]["frames"][:3]
    _dump(copy.reverse_expressions, data)
    message = _fails(copy, tmp_path / "out", rf"meta_expressions_reverse_filtered\.json: video {vid} expression 0 "
                                             r"\[anno_id\]: \[0, 1\] differs from the original expression's \[0\]")
    assert f"video {vid} expression 2 [obj_id]: [1, 0] differs from the original expression's [0, 1]" in message
    assert f"video {vid} expression 7 [exp_id]: unknown expression: not in meta_expressions.json" in message
    assert "video ffffffffffff: unknown video: not in meta_expressions.json" in message
    assert f"video {copy.video_ids[1]} [frames]: 3 frames (00000..00002) differ from the 5" in message


def test_failed_rebuild_keeps_the_earlier_build(copy, tmp_path):
    out = tmp_path / "out"
    _build(copy, out, with_frames=False)
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    copy.mask_dict.write_text("{}", encoding="utf-8")
    with pytest.raises(AnnotationError):
        _build(copy, out, with_frames=False)
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


# ------------------------------------------------------------------------------------------ check-annotations


def test_check_reads_the_json_files_alone(copy):
    shutil.rmtree(copy.split_dir / "JPEGImages")
    report, summary = mocentric.check(mevis_root=copy.root, keyframes=copy.keyframes,
                                      reverse_expressions=copy.reverse_expressions)
    assert report.ok and len(report.warnings) == 2
    assert "frames_embedded" not in summary
    assert (summary["videos"], summary["expressions"], summary["reversed_expressions"]) == (4, 14, 7)
    assert summary["keyframe_fallbacks"] == 1 and summary["frames"] == 27
    masks = _json(copy.mask_dict)
    del masks["2"]
    copy.mask_dict.write_text(json.dumps(masks), encoding="utf-8")
    report, _ = mocentric.check(mevis_root=copy.root, keyframes=copy.keyframes,
                                reverse_expressions=copy.reverse_expressions)
    assert [str(p) for p in report.errors] == [
        f"error: {copy.meta_expressions}: video {copy.video_ids[0]} expression {e} [anno_id]: anno_id 2 not in "
        "mask_dict.json" for e in (3, 4)]


# ------------------------------------------------------------------------------------------ the released files


@pytest.fixture(scope="module")
def released() -> Path:
    # as tests/conftest.py's shared_data_dir(): ../shared/data beside the checkout, or $PIXBENCH_SHARED_DATA
    shared = os.environ.get("PIXBENCH_SHARED_DATA", Path(__file__).resolve().parents[3] / "shared" / "data")
    folder = Path(shared) / "mocentric"
    names = ("mevis_keyframes.csv", "meta_expressions_reverse_filtered.json")
    if not all((folder / name).is_file() for name in names):
        pytest.skip(f"MoCentric-Bench files not found at {folder} (set PIXBENCH_SHARED_DATA to run this test)")
    return folder


@pytest.mark.integration
def test_build_on_the_released_keyframes_and_reversed_expressions(released, tmp_path):
    fake = write_mevis_for_release(tmp_path / "mevis", reverse_expressions=released /
                                   "meta_expressions_reverse_filtered.json",
                                   keyframes=released / "mevis_keyframes.csv")
    report, checked = mocentric.check(mevis_root=fake.root, keyframes=fake.keyframes,
                                      reverse_expressions=fake.reverse_expressions)
    assert report.ok, report.format()
    out = tmp_path / "MoCentric-Bench"
    result = _build(fake, out)
    summary = result.summary
    assert (summary["videos"], summary["frames"]) == (50, 3440)
    assert (summary["reversed_expressions"], summary["videos_with_reversed"]) == (152, 28)
    # the fake's originals are ids 0..max per video: 792 of MeViS's 793 (one row-less id is past the max)
    assert (summary["expressions"], summary["keyframe_rows"], summary["keyframes_from_csv"]) == (792, 789, 789)
    assert summary["keyframe_fallbacks"] == 3
    assert set(summary["keyframe_fallback_ids"]) == {"8a3ceef4f248_5", "d32e4f23eb40_2", "90cc34e3926f_5"}
    assert summary["reversed_keyframe_fallback_ids"] == ["d32e4f23eb40_2"]
    assert summary["keyframe_frames"] == ["00000", "00055"]
    assert {key: value for key, value in checked.items() if key != "warnings"} == {
        key: value for key, value in summary.items() if key not in ("warnings", "frames_embedded")}
    duplicates = [w for w in result.report.warnings if "duplicate text" in w.message]
    assert any("video 329909730c21 expression 13" in w.record for w in duplicates)
    reversed_ = _load(out, "reversed")
    assert reversed_.num_rows == 152 and len(set(reversed_["video_id"])) == 28
    with open(released / "mevis_keyframes.csv", newline="", encoding="utf-8") as handle:
        named = {f"{r['video_name']}_{r['exp_id']}": os.path.basename(r["frame"])[:-4] for r in csv.DictReader(handle)}
    expressions = _load(out, "expressions").select_columns(["id", "frame_names", "keyframe", "keyframe_from_csv"])
    for row in expressions:
        assert row["keyframe_from_csv"] == (row["id"] in named)
        assert row["frame_names"][row["keyframe"]] == named.get(row["id"], "00000")
    assert _load(out, "videos").num_rows == 50


# ------------------------------------------------------------------------------------------ the command line


@pytest.fixture()
def cli(monkeypatch):
    """``pixbench.cli.main``, with ``mocentric`` among the command-line choices even before the registry
    holds it (the registry's module comes separately; once it does, this changes nothing)."""
    import pixbench.benchmarks as benchmarks
    from pixbench.cli import main

    if "mocentric" not in benchmarks.BENCHMARK_NAMES:
        monkeypatch.setattr(benchmarks, "BENCHMARK_NAMES", (*benchmarks.BENCHMARK_NAMES, "mocentric"))
    return main


def test_cli_build_and_check(cli, raw, built, tmp_path, capsys):
    inputs = ["--mevis", str(raw.root), "--keyframes", str(raw.keyframes),
              "--reverse-expressions", str(raw.reverse_expressions)]
    out = tmp_path / "cli"
    assert cli(["build", "mocentric", *inputs, "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["keyframe_fallbacks"] == 1 and "wrote 5 files" in captured.err
    assert all((out / f).read_bytes() == (built / f).read_bytes()
               for f in ("README.md", "build_summary.json", "data/test-videos-00000-of-00001.parquet"))
    assert cli(["build", "mocentric", *inputs, "--out", str(tmp_path / "nf"), "--no-frames", "--split", "valid_u"]) == 0
    assert not list((tmp_path / "nf" / "data").glob("*videos*"))
    capsys.readouterr()
    assert cli(["check-annotations", "mocentric", *inputs]) == 0
    assert json.loads(capsys.readouterr().out)["reversed_expressions"] == 7
    assert cli(["build", "mocentric", "--mevis", str(raw.root), "--out", str(tmp_path / "x")]) == 2
    assert "mocentric needs --keyframes CSV" in capsys.readouterr().err
    assert cli(["check-annotations", "mocentric", "--mevis", str(raw.root)]) == 2


def test_cli_build_error_writes_nothing(cli, copy, tmp_path, capsys):
    masks = _json(copy.mask_dict)
    del masks["4"]
    copy.mask_dict.write_text(json.dumps(masks), encoding="utf-8")
    inputs = ["--mevis", str(copy.root), "--keyframes", str(copy.keyframes),
              "--reverse-expressions", str(copy.reverse_expressions)]
    assert cli(["build", "mocentric", *inputs, "--out", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert "build stopped, nothing written" in err
    assert f"video {copy.video_ids[1]} expression 2 [anno_id]: anno_id 4 not in mask_dict.json" in err
    assert not (tmp_path / "out").exists()
    assert cli(["check-annotations", "mocentric", *inputs]) == 1
