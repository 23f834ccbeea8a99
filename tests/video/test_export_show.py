"""``pixbench mocentric export`` and ``show`` end to end on the synthetic MeViS (via ``main([...])``)."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from pixbench.annotation import rle
from pixbench.benchmarks.mocentric import build as builder
from pixbench.benchmarks.mocentric import synthetic as synthetic_video
from pixbench.benchmarks.mocentric.views import (
    DEFAULT_LAYOUT,
    LAYOUTS,
    PAIR_PROBES,
    PROBES,
    REVERSED_PROBES,
    probe_view,
)
from pixbench.cli import main
from pixbench.predictions import Prediction, write_predictions
from pixbench.references import load_reference
from pixbench.video import export as export_module
from pixbench.video.show import show_expression

GROUPS = [(probe, layout) for probe in PROBES for layout in (LAYOUTS if probe in PAIR_PROBES else (None,))]


@pytest.fixture(scope="module")
def raw(tmp_path_factory: pytest.TempPathFactory) -> synthetic_video.SyntheticMevis:
    return synthetic_video.write_synthetic_mevis(tmp_path_factory.mktemp("mevis") / "raw")


@pytest.fixture(scope="module")
def built(raw: synthetic_video.SyntheticMevis, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("built") / "MoCentric-Bench"
    builder.build(mevis_root=raw.root, keyframes=raw.keyframes, reverse_expressions=raw.reverse_expressions,
                  out_dir=out)
    return out


@pytest.fixture(scope="module")
def no_frames(raw: synthetic_video.SyntheticMevis, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("built") / "NoFrames"
    builder.build(mevis_root=raw.root, keyframes=raw.keyframes, reverse_expressions=raw.reverse_expressions,
                  out_dir=out, with_frames=False)
    return out


@pytest.fixture(scope="module")
def reference(built: Path) -> Any:
    return load_reference("mocentric", str(built))


def _originals(raw: synthetic_video.SyntheticMevis, video_id: str, names: tuple[str, ...]) -> list[bytes]:
    return [(raw.split_dir / "JPEGImages" / video_id / f"{name}.jpg").read_bytes() for name in names]


def _decoded(data: list[bytes]) -> list[np.ndarray]:
    return [np.asarray(Image.open(io.BytesIO(item)).convert("RGB")) for item in data]


def _export(built: Path, out: Path, probe: str, layout: str | None, *extra: str) -> int:
    argv = ["mocentric", "export", "--data", str(built), "--probe", probe, "--out", str(out), *extra]
    return main(argv + (["--layout", layout] if layout else []))


def _summary(capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    out = capsys.readouterr().out
    return json.loads(out)


def _frame_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.parent != folder)


# ------------------------------------------------------------------ export


@pytest.mark.parametrize(("probe", "layout"), GROUPS)
def test_export_writes_the_presented_frames_and_meta(tmp_path, capsys, raw, built, reference, probe, layout):
    out = tmp_path / "export"
    assert _export(built, out, probe, layout) == 0
    summary = _summary(capsys)
    rows = reference.rows_for(probe)
    copy = probe == "original"
    ext = "jpg" if copy else "png"
    assert summary["image_format"] == ("original" if copy else "png")
    assert summary["layout"] == layout and summary["skipped"] == 0 and summary["expressions"] == len(rows)
    per_expression = probe in {"static", "static-pair"}
    expected_files: set[Path] = set()
    for row in rows.values():
        view = probe_view(probe=probe, layout=layout, frame_names=row.frame_names, keyframe=row.keyframe,
                          height=row.height, width=row.width)
        folder = out / "JPEGImages" / row.video_id / (str(row.exp_id) if per_expression else "")
        names = sorted(p.name for p in folder.iterdir() if p.is_file())
        assert names == sorted(f"{name}.{ext}" for name in row.frame_names)  # presented t is named frames[t]
        originals = _originals(raw, row.video_id, row.frame_names)
        composed = view.compose(_decoded(originals))
        for t, name in enumerate(view.names):
            path = folder / f"{name}.{ext}"
            expected_files.add(path)
            with Image.open(path) as image:
                assert image.size == (view.canvas[1], view.canvas[0])
                assert image.format == ("JPEG" if copy else "PNG")
                pixels = np.asarray(image.convert("RGB"))
            if copy:
                assert path.read_bytes() == originals[t]  # the original JPEG bytes, untouched
            else:
                assert np.array_equal(pixels, composed[t]), (probe, layout, row.id, name)
    assert set(_frame_files(out / "JPEGImages")) == expected_files  # nothing else: no stray or temporary file
    if not per_expression:
        assert all(p.is_file() for v in (out / "JPEGImages").iterdir() for p in v.iterdir())
    assert summary["frames"] == summary["written"] == len(expected_files)

    meta = json.loads((out / "meta_expressions.json").read_text(encoding="utf-8"))
    source = raw.reverse_expressions if probe in REVERSED_PROBES else raw.meta_expressions
    published = json.loads(source.read_text(encoding="utf-8"))["videos"]
    assert meta == {"videos": {vid: entry for vid, entry in published.items() if entry["expressions"]}}
    assert sum(len(v["expressions"]) for v in meta["videos"].values()) == len(rows)
    assert summary["videos"] == len(meta["videos"]) == len(list((out / "JPEGImages").iterdir()))


def test_reversed_meta_holds_the_reversed_texts(tmp_path, capsys, built, reference):
    assert _export(built, tmp_path / "rev", "reversed", None) == 0
    capsys.readouterr()
    meta = json.loads((tmp_path / "rev" / "meta_expressions.json").read_text(encoding="utf-8"))["videos"]
    for row in reference.reversed.values():
        entry = meta[row.video_id]["expressions"][str(row.exp_id)]
        assert entry["exp"] == row.expression != reference.expressions[row.id].expression
        assert entry["anno_id"] == list(row.anno_ids)
    assert "the red box moving left" in {e["exp"] for v in meta.values() for e in v["expressions"].values()}


@pytest.mark.parametrize("probe", sorted(PAIR_PROBES))
def test_pair_probes_default_to_the_published_layout(tmp_path, capsys, raw, built, reference, probe):
    assert _export(built, tmp_path / "pair", probe, None) == 0
    assert _summary(capsys)["layout"] == DEFAULT_LAYOUT[probe]
    manifest = json.loads((tmp_path / "pair" / "pixbench_export.json").read_text(encoding="utf-8"))
    assert manifest["layout"] == DEFAULT_LAYOUT[probe] and manifest["probe"] == probe
    row = next(iter(reference.rows_for(probe).values()))
    folder = tmp_path / "pair" / "JPEGImages" / row.video_id / (str(row.exp_id) if probe == "static-pair" else "")
    first = np.asarray(Image.open(folder / f"{row.frame_names[0]}.png").convert("RGB"))
    frames = _decoded(_originals(raw, row.video_id, row.frame_names))
    target = 0 if probe == "static-pair" else len(frames) - 1  # target half at t = 0: I_0, reversed: I_{T-1}
    half = first[:, row.width:] if DEFAULT_LAYOUT[probe] == "target-right" else first[:, :row.width]
    assert np.array_equal(half, frames[target])


def test_export_resumes_and_skips_done_frames(tmp_path, capsys, built, monkeypatch):
    out = tmp_path / "resume"
    assert _export(built, out, "static-pair", "target-bottom") == 0
    first = _summary(capsys)
    files = _frame_files(out / "JPEGImages")
    stamps = {p: p.stat().st_mtime_ns for p in files}
    removed, truncated = files[0], files[5]
    removed.unlink()
    truncated.write_bytes(b"")  # an unreadable frame is redone
    stale = files[3].parent / f"{export_module.TEMP_PREFIX}x.png.123.tmp"
    stale.write_bytes(b"partial")
    written: list[Path] = []
    real = export_module.write_atomic
    monkeypatch.setattr(export_module, "write_atomic", lambda path, data: (written.append(path), real(path, data)))
    assert _export(built, out, "static-pair", "target-bottom") == 0
    second = _summary(capsys)
    assert second["written"] == 2 and second["skipped"] == first["frames"] - 2
    frames_written = sorted(p for p in written if p.parent != out)
    assert frames_written == sorted([removed, truncated])
    assert (out / "meta_expressions.json") in written
    assert not stale.exists()
    for path in files:
        if path not in (removed, truncated):
            assert path.stat().st_mtime_ns == stamps[path]
    with Image.open(truncated) as image:
        assert image.size == (96, 2 * 64)  # target-bottom: 2H x W


def test_export_refuses_a_folder_with_another_export(tmp_path, capsys, built):
    out = tmp_path / "one"
    assert _export(built, out, "static-pair", "target-left") == 0
    capsys.readouterr()
    assert _export(built, out, "static-pair", "target-right") == 1
    err = capsys.readouterr().err
    assert "another export" in err and "target-right" in err and len(err.strip().splitlines()) == 1


def test_jpeg_option_reencodes_like_the_published_generator(tmp_path, capsys, raw, built, reference):
    out = tmp_path / "jpg"
    assert _export(built, out, "static", None, "--image-format", "jpg", "--jpeg-quality", "75") == 0
    assert _summary(capsys)["image_format"] == "jpg"
    row = next(iter(reference.expressions.values()))
    view = probe_view(probe="static", layout=None, frame_names=row.frame_names, keyframe=row.keyframe,
                      height=row.height, width=row.width)
    composed = view.compose(_decoded(_originals(raw, row.video_id, row.frame_names)))
    folder = out / "JPEGImages" / row.video_id / str(row.exp_id)
    assert sorted(p.name for p in folder.iterdir()) == sorted(f"{n}.jpg" for n in row.frame_names)
    buffer = io.BytesIO()
    Image.fromarray(composed[0]).save(buffer, format="JPEG")  # the published `Image.save(path.jpg)`: quality 75
    assert (folder / f"{row.frame_names[0]}.jpg").read_bytes() == buffer.getvalue()
    assert _export(built, tmp_path / "q", "original", None, "--image-format", "jpg", "--jpeg-quality", "30") == 0
    summary = _summary(capsys)
    assert summary["image_format"] == "jpg"
    original = raw.split_dir / "JPEGImages" / row.video_id / f"{row.frame_names[0]}.jpg"
    assert (tmp_path / "q" / "JPEGImages" / row.video_id / original.name).read_bytes() != original.read_bytes()


def test_original_as_png_is_lossless(tmp_path, capsys, raw, built, reference):
    assert _export(built, tmp_path / "png", "original", None, "--image-format", "png") == 0
    capsys.readouterr()
    row = next(iter(reference.expressions.values()))
    frames = _decoded(_originals(raw, row.video_id, row.frame_names))
    for name, frame in zip(row.frame_names, frames):
        saved = Image.open(tmp_path / "png" / "JPEGImages" / row.video_id / f"{name}.png").convert("RGB")
        assert np.array_equal(np.asarray(saved), frame)


@pytest.mark.parametrize(("args", "message"), [
    (["--probe", "sideways"], "unknown probe 'sideways'"),
    (["--probe", "original", "--layout", "target-left"], "takes no layout"),
    (["--probe", "static-pair", "--layout", "diagonal"], "unknown layout 'diagonal'"),
])
def test_export_errors_on_bad_probe_or_layout(tmp_path, capsys, built, args, message):
    assert main(["mocentric", "export", "--data", str(built), "--out", str(tmp_path / "x"), *args]) == 1
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "x").exists()


def test_export_errors_without_frames(tmp_path, capsys, no_frames):
    assert _export(no_frames, tmp_path / "x", "original", None) == 1
    err = capsys.readouterr().err
    assert "no `videos` config" in err and "--no-frames" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "x").exists()


# ------------------------------------------------------------------ show


def _show(built: Path, out: Path, row_id: str, probe: str, layout: str | None, *extra: str) -> int:
    argv = ["mocentric", "show", "--data", str(built), "--id", row_id, "--probe", probe, "--out", str(out), *extra]
    return main(argv + (["--layout", layout] if layout else []))


@pytest.mark.parametrize(("probe", "layout"), [("original", None), ("static", None), ("static-pair", "target-bottom"),
                                               ("reversed-pair", None)])
def test_show_writes_a_gif_and_a_sheet(tmp_path, capsys, built, reference, probe, layout):
    row = next(iter(reference.rows_for(probe).values()))
    out = tmp_path / "clips" / "clip.gif"
    assert _show(built, out, row.id, probe, layout) == 0
    assert capsys.readouterr().out.split() == [str(out), str(out.with_suffix(".png"))]
    with Image.open(out) as gif:
        assert gif.format == "GIF" and gif.n_frames == len(row.frame_names)
    with Image.open(out.with_suffix(".png")) as sheet:
        assert sheet.format == "PNG"


def test_show_draws_a_prediction_with_per_frame_j(tmp_path, capsys, built, reference):
    row = next(iter(reference.reversed.values()))
    view = probe_view(probe="reversed-pair", layout="target-left", frame_names=row.frame_names, keyframe=row.keyframe,
                      height=row.height, width=row.width)
    truths = view.ground_truth(list(row.masks))
    frames: list[rle.Rle | None] = list(truths)
    frames[1] = None  # empty: J 0 where the truth is not empty
    frames[2] = rle.encode(np.ones(view.canvas, dtype=np.uint8))
    preds = tmp_path / "preds.jsonl"
    write_predictions(preds, [Prediction(benchmark="mocentric", id=row.id, probe="reversed-pair",
                                         layout="target-left", model="m", frames=tuple(frames))])
    out = tmp_path / "clip.gif"
    assert _show(built, out, row.id, "reversed-pair", "target-left", "--preds", str(preds), "--max-width", "150") == 0
    assert "m: mean J" in capsys.readouterr().err
    with Image.open(out) as gif:
        assert gif.n_frames == len(row.frame_names)
        assert gif.size[0] == 150  # 192 px canvas scaled down to --max-width
    result = show_expression(data=built, reference=reference, row_id=row.id, probe="reversed-pair",
                             layout="target-left", out=tmp_path / "lib.gif", preds=preds)
    assert result.model == "m" and result.scores is not None and result.frames == len(row.frame_names)
    area = [int(rle.area([t])[0]) for t in truths]
    assert result.scores[0] == 1.0 and result.scores[1] == (1.0 if area[1] == 0 else 0.0)
    assert result.scores[2] == pytest.approx(area[2] / (view.canvas[0] * view.canvas[1]))
    # a line for another layout is not drawn
    assert _show(built, tmp_path / "no.gif", row.id, "reversed-pair", "target-right", "--preds", str(preds)) == 1
    assert "no valid line" in capsys.readouterr().err


def test_show_static_prediction_scores_background(tmp_path, capsys, built, reference):
    row = next(r for r in reference.expressions.values() if rle.area([r.masks[r.keyframe]])[0] > 0)
    empty = rle.empty(row.height, row.width)
    frames = tuple([row.masks[row.keyframe]] + [empty] * (len(row.frame_names) - 1))
    preds = tmp_path / "static.jsonl"
    write_predictions(preds, [Prediction(benchmark="mocentric", id=row.id, probe="static", model="m", frames=frames)])
    result = show_expression(data=built, reference=reference, row_id=row.id, probe="static", layout=None,
                             out=tmp_path / "s.gif", preds=preds)
    assert result.scores is not None and result.scores[0] == 0.0 and set(result.scores[1:]) == {1.0}
    assert _show(built, tmp_path / "s2.gif", row.id, "static", None, "--preds", str(preds)) == 0
    assert "J_bg" in capsys.readouterr().err


def test_show_errors_and_grey_frames(tmp_path, capsys, built, no_frames, reference):
    plain = next(r for r in reference.expressions.values() if r.id not in reference.reversed)
    assert _show(built, tmp_path / "x.gif", plain.id, "reversed", None) == 1
    assert "not among the reversed expressions" in capsys.readouterr().err
    assert _show(built, tmp_path / "x.png", plain.id, "original", None) == 1
    assert ".gif" in capsys.readouterr().err
    assert _show(built, tmp_path / "x.gif", "nope_0", "original", None) == 1
    assert "not an expression" in capsys.readouterr().err
    assert _show(no_frames, tmp_path / "grey.gif", plain.id, "static-pair", None) == 0  # drawn on grey
    capsys.readouterr()
    with Image.open(tmp_path / "grey.gif") as gif:
        assert gif.n_frames == len(plain.frame_names)


def test_temporary_names_never_look_like_frames():
    name = f"{export_module.TEMP_PREFIX}00000.png.{os.getpid()}.tmp"
    assert name.startswith(".") and not name.endswith((".png", ".jpg"))
