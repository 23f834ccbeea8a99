"""PNG masks end to end: ``pixbench score`` (image ``{"png": ...}`` masks, MoCentric ``png_dir`` lines) and
``pixbench convert --from mevis-pngs`` read every PNG as the published evaluator does (OpenCV's grayscale
read), refuse what is not a PNG, and place every path problem at its file, line and id.

Masks are written by the tools people use: ``matplotlib.pyplot.imsave`` (RGBA, opaque alpha: read as all
foreground before, J 10.2 instead of 100) and Pillow in every mode. Data: the tiny PixMMVP build and the
synthetic MoCentric-Bench (frames 64 x 96).
"""

from __future__ import annotations

import json
import os
import struct
import warnings
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from pixbench.annotation import rle
from pixbench.benchmarks.mocentric import MOCENTRIC
from pixbench.benchmarks.mocentric import build as mocentric
from pixbench.benchmarks.mocentric.synthetic import write_synthetic_mevis
from pixbench.benchmarks.mocentric.views import probe_view
from pixbench.cli import main
from pixbench.predictions import ReadOptions, read_predictions
from pixbench.references import load_reference

plt = pytest.importorskip("matplotlib.pyplot")


def imsave(path: Path, mask: np.ndarray) -> None:
    """The mask as ``plt.imsave`` writes it: RGBA, alpha 255, black background, white object."""
    plt.imsave(path, mask.astype(float), cmap="gray", vmin=0, vmax=1)


def _pillow(mode: str) -> Callable[[Path, np.ndarray], None]:
    def write(path: Path, mask: np.ndarray) -> None:
        if mode == "RGBA-red":  # a red object on opaque black
            pixels = np.zeros((*mask.shape, 4), dtype=np.uint8)
            pixels[..., 3] = 255
            pixels[mask, 0] = 200
            Image.fromarray(pixels, "RGBA").save(path)
        elif mode == "P-tRNS":  # palette (black, green) with the background colour fully transparent
            image = Image.fromarray(mask.astype(np.uint8), "P")
            image.putpalette([0, 0, 0, 0, 160, 0])
            image.save(path, transparency=0)
        elif mode == "LA":
            Image.fromarray(np.dstack([mask.astype(np.uint8) * 255, np.full(mask.shape, 255, np.uint8)]),
                            "LA").save(path)
        elif mode == "I;16":
            Image.fromarray(mask.astype(np.uint16) * 7).save(path)  # 16-bit: 7 is foreground too
        else:
            Image.fromarray(mask).save(path)  # mode "1"
    return write


WRITERS = [imsave, *(_pillow(mode) for mode in ("RGBA-red", "P-tRNS", "LA", "I;16", "1"))]


def _write(path: Path, lines: list[Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return path


def _jpeg(path: Path, mask: np.ndarray) -> None:
    Image.fromarray(mask.astype(np.uint8) * 255).save(path, format="JPEG")


@pytest.fixture(scope="module")
def video_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("png-video")
    raw = write_synthetic_mevis(base / "mevis")
    out = base / "MoCentric-Bench"
    mocentric.build(mevis_root=raw.root, keyframes=raw.keyframes, reverse_expressions=raw.reverse_expressions,
                    out_dir=out, with_frames=False)
    return out


@pytest.fixture(scope="module")
def reference(video_data: Path) -> Any:
    return load_reference("mocentric", str(video_data))


def _frames(row: Any) -> list[tuple[str, np.ndarray]]:
    view = probe_view(probe="original", layout=None, frame_names=row.frame_names, keyframe=row.keyframe,
                      height=row.height, width=row.width)
    return [(name, rle.decode(mask)) for name, mask in zip(view.names, view.ground_truth(row.masks), strict=True)]


def _score(capsys: pytest.CaptureFixture[str], preds: Path, *data: str) -> dict[str, Any]:
    capsys.readouterr()
    code = main(["score", str(preds), *(a for d in data for a in ("--data", d)), "--no-judge", "--format", "json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return json.loads(captured.out)


# ------------------------------------------------------------------ image benchmarks: {"png": path}


def test_image_png_masks_score_100_and_jpeg_is_refused(tmp_path, tiny_built, capsys):
    reference = load_reference("pixmmvp", str(tiny_built["pixmmvp"]))
    lines = []
    for k, (row_id, row) in enumerate(sorted(reference.rows.items())):
        name = f"masks/{row_id}.png"
        (tmp_path / "masks").mkdir(exist_ok=True)
        WRITERS[k % len(WRITERS)](tmp_path / name, rle.decode(row.mask))
        lines.append({"benchmark": "pixmmvp", "id": row_id, "probe": "segment", "mask": {"png": name}})
    preds = _write(tmp_path / "m.jsonl", lines)
    [result] = _score(capsys, preds, f"pixmmvp={tiny_built['pixmmvp']}")["results"]
    assert result["metrics"]["M"] == 100.0 and result["metrics"]["cIoU"] == 100.0
    # the same mask as JPEG bytes named .png: refused, file, line and id named (it scored J 98.4 before)
    _jpeg(tmp_path / "masks" / "3.png", rle.decode(reference.rows[3].mask))
    assert main(["score", str(preds), "--data", f"pixmmvp={tiny_built['pixmmvp']}", "--no-judge"]) == 1
    err = capsys.readouterr().err
    assert f"{preds}:3: id 3: `mask.png`: {tmp_path / 'masks' / '3.png'}: not a PNG file (JPEG)" in err


# ------------------------------------------------------------------ MoCentric: png_dir lines and convert


def test_png_dir_lines_of_every_mode_score_100(tmp_path, video_data, reference, capsys):
    lines = []
    for k, (row_id, row) in enumerate(reference.expressions.items()):
        folder = tmp_path / "run" / "pngs" / row_id
        folder.mkdir(parents=True)
        for t, (name, mask) in enumerate(_frames(row)):
            WRITERS[(k + t) % len(WRITERS)](folder / f"{name}.png", mask)
        lines.append({"benchmark": "mocentric", "id": row_id, "probe": "original", "model": "m",
                      "masks": {"png_dir": f"pngs/{row_id}"}})
    preds = _write(tmp_path / "run" / "p.jsonl", lines)
    [result] = _score(capsys, preds, f"mocentric={video_data}")["results"]
    assert result["metrics"]["J"] == result["metrics"]["F"] == 100.0
    assert result["counts"] == {"expressions": 14, "missing": 0}
    # a JPEG named .png in one folder: refused with the file, line and id
    row_id, row = next(iter(reference.expressions.items()))
    name, mask = _frames(row)[2]
    _jpeg(tmp_path / "run" / "pngs" / row_id / f"{name}.png", mask)
    assert main(["score", str(preds), "--data", f"mocentric={video_data}"]) == 1
    err = capsys.readouterr().err
    assert (f"{preds}:1: id {row_id}: `masks.png_dir[{name}].png`: "
            f"{tmp_path / 'run' / 'pngs' / row_id / f'{name}.png'}: not a PNG file (JPEG)") in err


def test_convert_mevis_pngs_written_by_matplotlib_scores_100(tmp_path, video_data, reference, capsys):
    root = tmp_path / "Annotations"
    for k, row in enumerate(reference.expressions.values()):
        folder = root / row.video_id / str(row.exp_id)
        folder.mkdir(parents=True)
        for t, (name, mask) in enumerate(_frames(row)):
            (imsave if k % 2 == 0 else WRITERS[t % len(WRITERS)])(folder / f"{name}.png", mask)
    preds = tmp_path / "preds.jsonl"
    assert main(["convert", "--from", "mevis-pngs", str(root), "--data", str(video_data), "--probe", "original",
                 "--model", "m", "--out", str(preds)]) == 0
    [result] = _score(capsys, preds, f"mocentric={video_data}")["results"]
    assert result["metrics"]["J"] == result["metrics"]["F"] == 100.0


# ------------------------------------------------------------------ paths that cannot be used


def test_unusable_png_dir_paths_are_placed(tmp_path, video_data, reference, capsys):
    row_id = next(iter(reference.expressions))
    (tmp_path / "a-file").write_text("x", encoding="utf-8")
    lines = [{"benchmark": "mocentric", "id": row_id, "probe": "original", "masks": {"png_dir": "d" * 4000}},
             {"benchmark": "mocentric", "id": row_id, "probe": "original", "model": "y",
              "masks": {"png_dir": "a-file"}},
             {"benchmark": "mocentric", "id": row_id, "probe": "original", "model": "x",
              "masks": {"png_dir": "x/" + "e" * 300 + "/" + "f" * 300}}]
    preds = _write(tmp_path / "p.jsonl", lines)
    read = read_predictions(preds, index={"mocentric": MOCENTRIC.line_index(reference)})
    problems = [str(p) for p in read.problems]
    assert read.problem_count == 3
    long_path = str(tmp_path / ("d" * 4000))
    assert problems[0] == (f"{preds}:1: id {row_id}: `masks.png_dir`: cannot read {long_path[:300]}... "
                           f"({len(long_path)} characters): File name too long")
    assert problems[1] == f"{preds}:2: id {row_id}: `masks.png_dir`: not a folder: {tmp_path / 'a-file'}"
    assert problems[2].startswith(f"{preds}:3: id {row_id}: `masks.png_dir`: not a folder: {tmp_path}/x/eee")
    assert main(["score", str(preds), "--data", f"mocentric={video_data}"]) == 1
    err = capsys.readouterr().err
    assert "OSError" not in err and "Errno" not in err and f"{preds}:1: id {row_id}" in err


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every folder")
def test_png_dir_without_permission_is_placed(tmp_path, video_data, reference):
    row_id = next(iter(reference.expressions))
    locked = tmp_path / "locked"
    (locked / "inner").mkdir(parents=True)
    locked.chmod(0)
    try:
        preds = _write(tmp_path / "p.jsonl", [{"benchmark": "mocentric", "id": row_id, "probe": "original",
                                               "masks": {"png_dir": "locked/inner"}}])
        [problem] = read_predictions(preds, index={"mocentric": MOCENTRIC.line_index(reference)}).problems
        assert str(problem).startswith(f"{preds}:1: id {row_id}: `masks.png_dir`: cannot read")
        assert "Permission denied" in str(problem)
    finally:
        locked.chmod(0o755)


@pytest.fixture(scope="module")
def huge_rgba_png() -> bytes:
    """A real 12000 x 12000 RGBA PNG, all transparent black (576 MB of pixels, 2.5 MB of file)."""
    header = struct.pack(">IIBBBBB", 12000, 12000, 8, 6, 0, 0, 0)
    compress = zlib.compressobj(1)
    row = b"\x00" * (1 + 12000 * 4)
    data = b"".join([*(compress.compress(row) for _ in range(12000)), compress.flush()])

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")


def test_huge_png_is_refused_by_size_without_pillow_warnings(tmp_path, tiny_built, video_data, reference, capsys,
                                                            huge_rgba_png):
    (tmp_path / "masks").mkdir()
    (tmp_path / "masks" / "huge.png").write_bytes(huge_rgba_png)
    row_id, row = next(iter(reference.expressions.items()))
    folder = tmp_path / "pngs"
    folder.mkdir()
    for name, mask in _frames(row):
        imsave(folder / f"{name}.png", mask)
    (folder / f"{row.frame_names[1]}.png").write_bytes(huge_rgba_png)
    preds = _write(tmp_path / "p.jsonl", [
        {"benchmark": "pixmmvp", "id": 1, "probe": "segment", "mask": {"png": "masks/huge.png"}},
        {"benchmark": "mocentric", "id": row_id, "probe": "original", "masks": {"png_dir": "pngs"}}])
    with warnings.catch_warnings(record=True) as caught:  # what a terminal would show
        warnings.simplefilter("always")
        code = main(["score", str(preds), "--data", f"pixmmvp={tiny_built['pixmmvp']}", "--data",
                     f"mocentric={video_data}", "--no-judge"])
    err = capsys.readouterr().err
    assert not [str(w.message) for w in caught]
    assert code == 1 and "DecompressionBomb" not in err and "Warning" not in err, err
    assert f"{preds}:1: id 1: `mask.png`: {tmp_path / 'masks' / 'huge.png'}: size [12000, 12000] != ground " \
           "truth [96, 128]" in err
    assert (f"{preds}:2: id {row_id}: `masks.png_dir[{row.frame_names[1]}].png`: "
            f"{folder / row.frame_names[1]}.png: size [12000, 12000] != ground truth [64, 96]") in err
    # without a dataset the size limit refuses it, the file named
    problems = [str(p) for p in read_predictions(preds).problems]
    assert any("huge.png: 12000x12000 pixels is more than the 67,108,864 a mask may have" in p for p in problems)
    # convert --from mevis-pngs: the header's size, no warning either
    root = tmp_path / "Annotations" / row.video_id / str(row.exp_id)
    root.mkdir(parents=True)
    for name, mask in _frames(row):
        imsave(root / f"{name}.png", mask)
    (root / f"{row.frame_names[0]}.png").write_bytes(huge_rgba_png)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert main(["convert", "--from", "mevis-pngs", str(tmp_path / "Annotations"), "--data", str(video_data),
                     "--probe", "original", "--out", str(tmp_path / "c.jsonl")]) == 1
    err = capsys.readouterr().err
    assert not [str(w.message) for w in caught]
    assert "DecompressionBomb" not in err and f"{root}: 1 of {len(row.frame_names)} PNG(s) are 12000x12000" in err


def test_convert_root_that_cannot_be_read(tmp_path, video_data, capsys):
    root = tmp_path / ("r" * 4000)
    assert main(["convert", "--from", "mevis-pngs", str(root), "--data", str(video_data), "--probe", "original",
                 "--out", str(tmp_path / "c.jsonl")]) == 1
    err = capsys.readouterr().err
    assert "cannot read: File name too long" in err and "OSError" not in err and len(err) < 1000


# ------------------------------------------------------------------ every problem of a file listed


def _candidates_lines(tiny_built: dict[str, Path]) -> list[dict[str, Any]]:
    candidate = {"mask": {"size": [96, 128], "counts": [96 * 128]}}
    return [{"benchmark": "pixmmvp", "id": 1, "probe": "vqa", "response": "x", "candidates": [candidate]},
            {"benchmark": "pixmmvp", "id": 2, "probe": "segment", "mask": {"png": "masks/missing.png"}},
            {"benchmark": "pixmmvp", "id": 3, "probe": "vqa", "response": "x", "candidates": [candidate],
             "selected": "none"}]


def test_candidates_without_selection_listed_with_other_problems(tmp_path, tiny_built):
    preds = _write(tmp_path / "m.jsonl", _candidates_lines(tiny_built))
    read = read_predictions(preds, options=ReadOptions(select="given"))
    assert read.problem_count == 2
    first, second = (str(p) for p in read.problems)
    assert first.startswith(f"{preds}:1: id 1: Expected `mask` or `selected` on a line with candidates under "
                            "--select given, but got neither")
    assert second.startswith(f"{preds}:2: id 2: `mask.png`: file not found")
    # other modes choose among candidates themselves: no problem there
    assert read_predictions(preds, options=ReadOptions(select="oracle")).problem_count == 1


def test_score_lists_candidates_without_selection_with_other_problems(tmp_path, tiny_built, capsys):
    preds = _write(tmp_path / "m.jsonl", _candidates_lines(tiny_built))
    assert main(["score", str(preds), "--data", f"pixmmvp={tiny_built['pixmmvp']}", "--no-judge"]) == 1
    err = capsys.readouterr().err
    assert f"{preds}:1: id 1: Expected `mask` or `selected`" in err and f"{preds}:2: id 2: `mask.png`" in err
    assert "nothing scored (2 problem(s))" in err
