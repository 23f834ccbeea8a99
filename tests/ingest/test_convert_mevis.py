"""``pixbench convert --from mevis-pngs``: MoCentric-Bench PNG folders ``PRED_ROOT/<video_id>/<exp_id>/<frame>.png``
to predictions lines, on the synthetic MeViS (14 expressions in 4 videos of 5-9 frames, 7 of them reversed;
frames 64 x 96).

The PNG folders are written from the probe views' ground truth, so a faithful conversion scores J = F = 100.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pixbench.annotation import rle as rle_ops
from pixbench.benchmarks.mocentric import build as mocentric
from pixbench.benchmarks.mocentric.rows import VideoReference
from pixbench.benchmarks.mocentric.synthetic import write_synthetic_mevis
from pixbench.benchmarks.mocentric.views import probe_view
from pixbench.cli import main
from pixbench.ingest import ConvertError, convert_mevis_pngs, existing_keys
from pixbench.predictions import read_predictions
from pixbench.references import load_reference


@pytest.fixture(scope="session")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The synthetic MoCentric-Bench, built (no frames: conversion and scoring never read them)."""
    base = tmp_path_factory.mktemp("mevis-convert")
    raw = write_synthetic_mevis(base / "mevis")
    out = base / "MoCentric-Bench"
    mocentric.build(mevis_root=raw.root, keyframes=raw.keyframes, reverse_expressions=raw.reverse_expressions,
                    out_dir=out, with_frames=False)
    return out


@pytest.fixture(scope="session")
def reference(data: Path) -> VideoReference:
    return load_reference("mocentric", str(data))


def write_pngs(root: Path, reference: VideoReference, probe: str, layout: str | None, *,
               empty: bool = False) -> Path:
    """The published layout of a perfect model: the probe view's ground truth as 0/255 PNGs (all empty with
    ``empty``: the right output of the ``static`` probe)."""
    for row in reference.rows_for(probe).values():
        view = probe_view(probe=probe, layout=layout, frame_names=row.frame_names, keyframe=row.keyframe,
                          height=row.height, width=row.width)
        folder = root / row.video_id / str(row.exp_id)
        folder.mkdir(parents=True, exist_ok=True)
        for name, mask in zip(view.names, view.ground_truth(row.masks), strict=True):
            pixels = rle_ops.decode(mask).astype(np.uint8) * 255
            Image.fromarray(pixels * 0 if empty else pixels).save(folder / f"{name}.png")
    return root


def convert(*args: str | Path) -> int:
    return main(["convert", "--from", "mevis-pngs", *map(str, args)])


def scores(capsys: pytest.CaptureFixture[str], preds: Path, data: Path) -> dict[tuple[str, str, str | None], dict]:
    capsys.readouterr()
    assert main(["score", str(preds), "--data", f"mocentric={data}", "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    return {(r["model"], r["probe"], r["layout"]): r for r in report["results"]}


def first(reference: VideoReference, probe: str = "original") -> tuple[str, str]:
    row = next(iter(reference.rows_for(probe).values()))
    return row.video_id, str(row.exp_id)


# ---------------------------------------------------------------------------------------------- round trip


def test_converted_ground_truth_scores_100(data, reference, tmp_path, capsys):
    preds = tmp_path / "preds.jsonl"
    runs = [("original", None), ("static-pair", "target-left"), ("reversed", None), ("reversed-pair", "target-bottom")]
    for k, (probe, layout) in enumerate(runs):
        root = write_pngs(tmp_path / f"{probe}-{layout}", reference, probe, layout)
        args = [root, "--data", data, "--probe", probe, "--model", "m", "--out", preds]
        assert convert(*args, *(["--layout", layout] if layout else []), *(["--append"] if k else [])) == 0
    assert "from 14 of the 14 expression(s)" in capsys.readouterr().err
    # a second model whose original run lacks one expression folder: left out, then counted missing
    root = write_pngs(tmp_path / "partial", reference, "original", None)
    video, exp = first(reference)
    shutil.rmtree(root / video / exp)
    assert convert(root, "--data", data, "--probe", "original", "--model", "m2", "--out", preds, "--append") == 0
    err = capsys.readouterr().err
    assert "13 line(s)" in err and "1 expression(s) without a folder left out" in err and f"{video}_{exp}" in err
    # static: the right output is empty everywhere
    root = write_pngs(tmp_path / "static", reference, "static", None, empty=True)
    assert convert(root, "--data", data, "--probe", "static", "--model", "m", "--out", preds, "--append") == 0

    results = scores(capsys, preds, data)
    for probe, layout in runs:
        result = results["m", probe, layout]
        assert result["metrics"]["J"] == result["metrics"]["F"] == 100.0
        assert result["counts"] == {"expressions": len(reference.rows_for(probe)), "missing": 0}
    assert results["m", "static-pair", "target-left"]["metrics"]["D_FPR"] == 0.0
    partial = results["m2", "original", None]
    assert partial["counts"] == {"expressions": 14, "missing": 1}
    assert partial["metrics"]["J"] == pytest.approx(100 * 13 / 14)
    static = results["m", "static", None]["metrics"]
    assert static["J_bg"] == static["H_bg"] == 100.0 and static["FPR"] == 0.0


def test_lines_hold_the_presented_masks_in_presented_order(reference, tmp_path):
    root = write_pngs(tmp_path / "rev", reference, "reversed", None)
    result = convert_mevis_pngs(root, reference=reference, probe="reversed", layout=None, model="m", workers=2)
    assert [p.id for p in result.predictions] == list(reference.reversed)
    assert result.missing == [] and not result.warnings and result.expressions == 7
    for prediction in result.predictions:
        row = reference.reversed[str(prediction.id)]
        assert prediction.benchmark == "mocentric" and prediction.probe == "reversed" and prediction.layout is None
        assert prediction.frames is not None and len(prediction.frames) == len(row.frame_names)
        for t, mask in enumerate(prediction.frames):
            truth = rle_ops.decode(row.masks[len(row.frame_names) - 1 - t])  # presented t = original T-1-t
            assert np.array_equal(rle_ops.decode(mask) if mask is not None else np.zeros_like(truth), truth)
            assert mask is None or truth.any()  # an empty frame is stored as null


def test_lines_name_the_benchmark_of_the_reference(reference, tmp_path):
    """The lines are the reference's benchmark's: the converter reads the MeViS layout, not a benchmark's name."""
    root = write_pngs(tmp_path / "original", reference, "original", None)
    other = dataclasses.replace(reference, benchmark="another-video-benchmark")
    result = convert_mevis_pngs(root, reference=other, probe="original", layout=None, model="m")
    assert len(result.predictions) == 14
    assert {p.benchmark for p in result.predictions} == {"another-video-benchmark"}
    same = convert_mevis_pngs(root, reference=reference, probe="original", layout=None, model="m")
    assert [p.frames for p in result.predictions] == [p.frames for p in same.predictions]
    assert {p.benchmark for p in same.predictions} == {reference.benchmark}


def test_the_written_file_passes_the_reader_with_the_dataset(data, reference, tmp_path):
    root = write_pngs(tmp_path / "pair", reference, "static-pair", "target-right")
    preds = tmp_path / "p.jsonl"
    assert convert(root, "--data", data, "--probe", "static-pair", "--layout", "target-right", "--out", preds) == 0
    lines = [json.loads(line) for line in preds.read_text(encoding="utf-8").splitlines()]
    assert {line["model"] for line in lines} == {"p"}  # default model: the file's stem
    assert all(line["layout"] == "target-right" for line in lines)
    from pixbench.benchmarks.mocentric import MOCENTRIC

    read = read_predictions(preds, index={"mocentric": MOCENTRIC.line_index(reference)})
    assert read.problem_count == 0 and len(read.predictions) == 14


def test_any_nonzero_grey_pixel_is_foreground(reference, tmp_path):
    root = write_pngs(tmp_path / "o", reference, "original", None)
    video, exp = first(reference)
    row = reference.expressions[f"{video}_{exp}"]
    rgb = np.zeros((row.height, row.width, 3), dtype=np.uint8)
    rgb[3, 4, 2] = 9  # the least blue whose grey level (OpenCV's read) is 1
    rgb[5, 6, 2] = 1  # grey level 0: background
    Image.fromarray(rgb).save(root / video / exp / f"{row.frame_names[0]}.png")
    result = convert_mevis_pngs(root, reference=reference, probe="original", layout=None, model="m")
    mask = result.predictions[0].frames[0]  # type: ignore[index]
    assert mask is not None and np.argwhere(rle_ops.decode(mask)).tolist() == [[3, 4]]


def test_extra_files_are_warnings(data, reference, tmp_path, capsys):
    root = write_pngs(tmp_path / "o", reference, "original", None)
    video, exp = first(reference)
    Image.new("L", (96, 64)).save(root / video / exp / "99999.png")
    (root / video / exp / "notes.txt").write_text("x", encoding="utf-8")
    (root / video / exp / ".hidden").write_text("x", encoding="utf-8")
    (root / "README").write_text("x", encoding="utf-8")
    preds = tmp_path / "p.jsonl"
    assert convert(root, "--data", data, "--probe", "original", "--out", preds) == 0
    err = capsys.readouterr().err
    assert "warning: 2 thing(s) ignored" in err
    assert "1 PNG(s) that name no presented frame, 1 other file(s) ignored: 99999.png, notes.txt" in err
    assert str(root / "README") in err and ".hidden" not in err
    assert len(preds.read_text(encoding="utf-8").splitlines()) == 14


# ---------------------------------------------------------------------------------------------- errors


def test_missing_frames_are_named(data, reference, tmp_path, capsys):
    root = write_pngs(tmp_path / "o", reference, "original", None)
    video, exp = first(reference)
    (root / video / exp / "00001.png").unlink()
    (root / video / exp / "00004.png").unlink()
    preds = tmp_path / "p.jsonl"
    assert convert(root, "--data", data, "--probe", "original", "--out", preds) == 1
    err = capsys.readouterr().err
    assert f"{root / video / exp}: lacks 2 of the 7 presented frame(s): 00001.png, 00004.png" in err
    assert "nothing written" in err and not preds.exists()


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def test_wrong_size_is_refused_from_the_header(data, reference, tmp_path, capsys):
    root = write_pngs(tmp_path / "o", reference, "original", None)  # 64 x 96: the single frame
    video, exp = first(reference)
    # a PNG whose header claims 4000 x 3000 and has no pixel data: decoding it would fail, reading the
    # header does not, so the message proves that it was never decoded
    header = struct.pack(">IIBBBBB", 3000, 4000, 8, 0, 0, 0, 0)  # width, height, 8-bit grey
    big = b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + png_chunk(b"IDAT", b"junk") + png_chunk(b"IEND", b"")
    (root / video / exp / "00002.png").write_bytes(big)
    preds = tmp_path / "p.jsonl"
    args = [root, "--data", data, "--probe", "static-pair", "--layout", "target-left", "--out", preds]
    assert convert(*args) == 1
    err = capsys.readouterr().err
    assert f"{root / video / exp}: 6 of 7 PNG(s) are 64x96 (height x width), but the static-pair target-left " \
           "canvas is 64x192; that is one frame's size" in err
    assert f"{root / video / exp}: 1 of 7 PNG(s) are 4000x3000" in err
    assert "15 problem(s)" in err and "unreadable" not in err and not preds.exists()
    # the bottom layout stacks the halves: 128 x 96
    assert convert(root, "--data", data, "--probe", "reversed-pair", "--layout", "target-bottom", "--out", preds) == 1
    assert "canvas is 128x96" in capsys.readouterr().err
    # the same junk with the canvas's size in its header is decoded, and fails
    header = struct.pack(">IIBBBBB", 96, 64, 8, 0, 0, 0, 0)
    junk = b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + png_chunk(b"IDAT", b"junk") + png_chunk(b"IEND", b"")
    (root / video / exp / "00002.png").write_bytes(junk)
    assert convert(root, "--data", data, "--probe", "original", "--out", preds) == 1
    assert f"{root / video / exp / '00002.png'}: unreadable PNG" in capsys.readouterr().err


def test_unreadable_and_non_png_files(data, reference, tmp_path, capsys):
    root = write_pngs(tmp_path / "o", reference, "original", None)
    video, exp = first(reference)
    (root / video / exp / "00000.png").write_bytes(b"not an image")
    Image.new("L", (96, 64)).save(root / video / exp / "00001.png", format="JPEG")
    assert convert(root, "--data", data, "--probe", "original", "--out", tmp_path / "p.jsonl") == 1
    err = capsys.readouterr().err
    assert f"{root / video / exp / '00000.png'}: unreadable PNG" in err
    assert f"{root / video / exp / '00001.png'}: not a PNG file (JPEG)" in err


def test_every_problem_is_counted(data, reference, tmp_path, capsys):
    root = write_pngs(tmp_path / "o", reference, "original", None)
    for path in root.rglob("*.png"):
        path.write_bytes(b"junk")
    assert convert(root, "--data", data, "--probe", "original", "--out", tmp_path / "p.jsonl") == 1
    err = capsys.readouterr().err
    total = sum(len(row.frame_names) for row in reference.expressions.values())
    assert f"{total} problem(s)" in err and f"... and {total - 50} more" in err


def test_layout_rules(data, reference, tmp_path, capsys):
    root = write_pngs(tmp_path / "o", reference, "original", None)
    preds = tmp_path / "p.jsonl"
    assert convert(root, "--data", data, "--probe", "original", "--layout", "target-left", "--out", preds) == 1
    assert "probe 'original' takes no layout" in capsys.readouterr().err
    assert convert(root, "--data", data, "--probe", "static-pair", "--out", preds) == 1
    assert "probe 'static-pair' needs a layout" in capsys.readouterr().err
    with pytest.raises(ValueError, match="takes no layout"):
        convert_mevis_pngs(root, reference=reference, probe="reversed", layout="target-right", model="m")
    # --layout and MoCentric probes belong to --from mevis-pngs
    assert main(["convert", "--benchmark", "pixmmvp", "--probe", "segment", "--layout", "target-left",
                 "--masks", str(root), "--out", str(preds)]) == 1
    assert "--layout applies to --from mevis-pngs only" in capsys.readouterr().err
    assert main(["convert", "--benchmark", "pixmmvp", "--probe", "original", "--masks", str(root),
                 "--out", str(preds)]) == 1
    assert "--probe original is a MoCentric-Bench probe" in capsys.readouterr().err
    assert not preds.exists()


def test_arguments_of_other_sources_are_refused(data, reference, tmp_path, capsys):
    root = write_pngs(tmp_path / "o", reference, "original", None)
    preds = tmp_path / "p.jsonl"
    assert convert("--data", data, "--probe", "original", "--out", preds) == 1
    assert "needs the PNG folder" in capsys.readouterr().err
    assert convert(root, "--probe", "original", "--out", preds) == 1
    assert "needs --data" in capsys.readouterr().err
    assert convert(root, "--data", data, "--out", preds) == 1
    assert "needs --probe" in capsys.readouterr().err
    assert convert(root, "--data", data, "--probe", "segment", "--out", preds) == 1
    assert "not a MoCentric-Bench probe" in capsys.readouterr().err
    assert convert(root, "--data", data, "--probe", "original", "--benchmark", "pixmmvp", "--out", preds) == 1
    assert "converts mocentric outputs" in capsys.readouterr().err
    assert convert(root, "--data", data, "--probe", "original", "--masks", root, "--out", preds) == 1
    assert "--masks do not apply" in capsys.readouterr().err
    assert convert(tmp_path / "nowhere", "--data", data, "--probe", "original", "--out", preds) == 1
    assert "not a folder" in capsys.readouterr().err
    assert not preds.exists()


def test_non_reversed_expression_in_reversed(data, reference, tmp_path, capsys):
    root = write_pngs(tmp_path / "rev", reference, "reversed", None)
    other = next(row for row_id, row in reference.expressions.items() if row_id not in reference.reversed)
    shutil.copytree(root / first(reference, "reversed")[0] / first(reference, "reversed")[1],
                    root / other.video_id / str(other.exp_id))
    preds = tmp_path / "p.jsonl"
    assert convert(root, "--data", data, "--probe", "reversed", "--out", preds) == 1
    err = capsys.readouterr().err
    assert f"{root / other.video_id}: 1 expression(s) that the 'reversed' probe does not score" in err
    assert f": {other.exp_id}" in err and not preds.exists()


def test_unknown_video_and_expression_folders(data, reference, tmp_path, capsys):
    nested = write_pngs(tmp_path / "run" / "Annotations", reference, "original", None)
    video, _exp = first(reference)
    preds = tmp_path / "p.jsonl"
    assert convert(nested.parent, "--data", data, "--probe", "original", "--out", preds) == 1
    assert f"{nested}: not a video of the dataset; it holds video folders" in capsys.readouterr().err
    (nested / video / "77").mkdir()
    (nested / "0123456789ab").mkdir()
    assert convert(nested, "--data", data, "--probe", "original", "--out", preds) == 1
    err = capsys.readouterr().err
    assert f"{nested / video}: 1 folder(s) that are no expression of video {video} in the dataset: 77" in err
    assert f"{nested / '0123456789ab'}: not a video of the dataset" in err
    empty = tmp_path / "empty"
    empty.mkdir()
    assert convert(empty, "--data", data, "--probe", "original", "--out", preds) == 1
    assert "no expression folder of the 14 expression(s)" in capsys.readouterr().err
    assert not preds.exists()


def test_append_refuses_duplicates_but_takes_another_layout(data, reference, tmp_path, capsys):
    left = write_pngs(tmp_path / "left", reference, "static-pair", "target-left")
    right = write_pngs(tmp_path / "right", reference, "static-pair", "target-right")
    preds = tmp_path / "p.jsonl"
    common = ["--data", data, "--probe", "static-pair", "--model", "m", "--out", preds]
    assert convert(left, *common, "--layout", "target-left") == 0
    assert convert(left, *common, "--layout", "target-left") == 1
    assert "exists; pass --append" in capsys.readouterr().err
    before = preds.read_bytes()
    assert convert(left, *common, "--layout", "target-left", "--append") == 1
    err = capsys.readouterr().err
    assert "already has lines for model 'm', mocentric, probe static-pair (layout target-left)" in err
    assert "nothing written" in err and preds.read_bytes() == before
    assert convert(right, *common, "--layout", "target-right", "--append") == 0
    assert convert(left, *common[:-2], "--out", preds, "--layout", "target-left", "--append",
                   "--model", "other") == 0
    keys = existing_keys(preds)
    assert len(keys) == 3 * 14
    assert {(k[0], k[5]) for k in keys} == {("m", "target-left"), ("m", "target-right"), ("other", "target-left")}
    assert read_predictions(preds).problem_count == 0


def test_convert_error_lists_problems(reference, tmp_path):
    root = write_pngs(tmp_path / "o", reference, "original", None)
    video, exp = first(reference)
    (root / video / exp / "00000.png").unlink()
    with pytest.raises(ConvertError, match="lacks 1 of the 7 presented frame"):
        convert_mevis_pngs(root, reference=reference, probe="original", layout=None, model="m")
