"""``pixbench mocentric show`` pictures a new user can read: captions and title that fit the 64 x 96 synthetic
clips, a title naming expression, probe, layout and model, overlays readable on any object colour, and a
wrong ``--id`` answered with the closest ids."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image, ImageDraw

from pixbench.annotation import rle
from pixbench.benchmarks.mocentric import build as builder
from pixbench.benchmarks.mocentric import synthetic as synthetic_video
from pixbench.benchmarks.mocentric.views import probe_view
from pixbench.cli import main
from pixbench.predictions import Prediction, write_predictions
from pixbench.references import load_reference
from pixbench.video import show


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    raw = synthetic_video.write_synthetic_mevis(tmp_path_factory.mktemp("mevis") / "raw")  # 64 x 96 frames
    out = tmp_path_factory.mktemp("built") / "MoCentric-Bench"
    builder.build(mevis_root=raw.root, keyframes=raw.keyframes, reverse_expressions=raw.reverse_expressions,
                  out_dir=out)
    return out


@pytest.fixture(scope="module")
def reference(built: Path) -> Any:
    return load_reference("mocentric", str(built))


def _ink_right(line: str) -> int:
    """The right edge of ``line``'s ink drawn at x = 0 with the captions' font (0 for no ink)."""
    font = show.caption_font()
    canvas = Image.new("L", (20 * len(line) + 40, 40), 0)
    ImageDraw.Draw(canvas).text((0, 0), line, fill=255, font=font)
    box = canvas.getbbox()
    return 0 if box is None else box[2]


def _predictions(tmp_path: Path, row: Any, probe: str, layout: str | None, model: str) -> Path:
    """A line whose masks are the keyframe truth on every presented frame (J and J_bg vary)."""
    view = probe_view(probe=probe, layout=layout, frame_names=row.frame_names, keyframe=row.keyframe,
                      height=row.height, width=row.width)
    keyframe = view.ground_truth(list(row.masks))[0]
    path = tmp_path / f"{probe}.jsonl"
    write_predictions(path, [Prediction(benchmark="mocentric", id=row.id, probe=probe, layout=layout, model=model,
                                        frames=tuple([keyframe] * view.length))])
    return path


@pytest.mark.parametrize(("probe", "layout"), [("static", None), ("reversed-pair", "target-bottom"),
                                               ("static-pair", "target-right")])
def test_title_and_captions_fit_the_clip_width(tmp_path, built, reference, probe, layout):
    row = max(reference.rows_for(probe).values(), key=lambda r: len(r.expression))
    model = "demo-appearance-only-with-a-long-name"
    preds = _predictions(tmp_path, row, probe, layout, model)
    result = show.show_expression(data=built, reference=reference, row_id=row.id, probe=probe, layout=layout,
                                  out=tmp_path / "clip.gif", preds=preds)
    width = result.size[1]
    assert width == (192 if probe == "static-pair" else 96)
    font, inner = show.caption_font(), width - 2 * show.TEXT_MARGIN
    # the static caption 'NNNNN J_bg 0.00 FPR 0.000' alone is wider than 96 px: it is wrapped, not cut
    assert probe != "static" or _ink_right(result.captions[0]) > inner
    lines: dict[str, list[str]] = {}
    for part in (*result.title, *result.captions):
        lines[part] = show.wrap_text(part, inner, font)
        assert all(0 < _ink_right(line) <= inner for line in lines[part]), lines[part]
        assert "".join(lines[part]).replace(" ", "") == part.replace(" ", "")  # every character drawn
    title_lines = sum(len(lines[part]) for part in result.title)
    caption_lines = max(len(lines[caption]) for caption in result.captions)
    with Image.open(result.gif) as gif:
        assert gif.n_frames == len(row.frame_names)
        for t in range(gif.n_frames):
            gif.seek(t)
            frame = np.asarray(gif.convert("RGB"))
            bands = frame[: frame.shape[0] - result.size[0]]  # everything above the picture
            assert frame.shape[1] == width
            assert bands.shape[0] >= show.band_height(title_lines, font) + show.band_height(caption_lines, font)
            assert bands[:, width - show.TEXT_MARGIN:].max() == 0  # no ink in the right margin: nothing runs off
            assert (bands.min(axis=2) > 150).sum() > 100  # light text is there (antialiased, quantised)
    with Image.open(result.sheet) as sheet:
        assert sheet.format == "PNG" and sheet.width >= width


def test_title_names_expression_probe_layout_and_model(tmp_path, built, reference):
    row = next(iter(reference.reversed.values()))
    preds = _predictions(tmp_path, row, "reversed-pair", "target-left", "m-7")
    result = show.show_expression(data=built, reference=reference, row_id=row.id, probe="reversed-pair",
                                  layout="target-left", out=tmp_path / "t.gif", preds=preds)
    title = " ".join(result.title)
    assert f"{row.id}: {row.expression}" in title  # the reversed text: what this probe asks
    assert row.expression != reference.expressions[row.id].expression
    assert "probe reversed-pair" in title and "layout target-left" in title and "model m-7" in title
    plain = show.show_expression(data=built, reference=reference, row_id=row.id, probe="original", layout=None,
                                 out=tmp_path / "p.gif")
    assert plain.title[0] == f"{row.id}: {reference.expressions[row.id].expression}"
    assert plain.model is None and plain.title[2].startswith("no prediction")


def _contrast(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """WCAG 2 contrast ratio, written out here independently of pixbench."""
    def luminance(rgb: np.ndarray) -> np.ndarray:
        c = np.asarray(rgb, dtype=float) / 255
        c = np.where(c <= 0.03928, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
        return 0.2126 * c[..., 0] + 0.7152 * c[..., 1] + 0.0722 * c[..., 2]

    la, lb = luminance(a), luminance(b)
    return (np.maximum(la, lb) + 0.05) / (np.minimum(la, lb) + 0.05)


OBJECT_COLOURS = [(220, 40, 40), show.PREDICTION_COLOUR, show.GROUND_TRUTH_COLOUR, show.KEYFRAME_COLOUR,
                  (255, 255, 255), (0, 0, 0), (60, 60, 60), (100, 100, 100), (128, 128, 128), (40, 60, 220),
                  (40, 200, 60), (255, 140, 0)]


@pytest.mark.parametrize("colour", OBJECT_COLOURS)
def test_overlays_read_on_any_object_colour(colour):
    size = 48
    image = Image.new("RGB", (size, size), colour)
    truth, pred = np.zeros((size, size), np.uint8), np.zeros((size, size), np.uint8)
    truth[6:20, 6:20] = 1
    pred[26:42, 26:42] = 1
    drawn = np.asarray(show.draw_frame(image, truth=rle.encode(truth), pred=rle.encode(pred)))
    background = np.array(colour)
    assert (drawn[:3] == background).all()  # far from both masks: untouched
    ring = np.zeros((size, size), bool)
    ring[4:22, 4:22], ring[9:17, 9:17] = True, False  # around the truth's boundary
    inside = np.zeros((size, size), bool)
    inside[29:39, 29:39] = True  # the prediction's area, away from its outline
    for region, own in ((ring, show.GROUND_TRUTH_COLOUR), (inside, show.PREDICTION_COLOUR)):
        pixels = drawn[region]
        assert _contrast(pixels, background).max() >= 4.5  # some drawn pixel stands out from the object
        assert (pixels == np.array(own)).all(axis=1).any()  # and the overlay's own colour is there


def test_a_wrong_id_lists_the_closest_ids(tmp_path, capsys, built, reference):
    row = next(iter(reference.expressions.values()))
    typo = row.id[:3] + row.id[4:]  # one character dropped
    argv = ["mocentric", "show", "--data", str(built), "--probe", "original", "--out", str(tmp_path / "x.gif")]
    assert main([*argv, "--id", typo]) == 1
    err = " ".join(capsys.readouterr().err.split())
    assert "not an expression of this build" in err
    closest = err.split("closest ids: ")[1].split(";")[0].split(", ")
    assert closest[0] == row.id and len(closest) == show.CLOSEST_IDS
    assert f"list them all with `pixbench mocentric ids --data {built}`" in err
    plain = next(r for r in reference.expressions.values() if r.id not in reference.reversed)
    argv[5] = "reversed"
    assert main([*argv, "--id", plain.id]) == 1
    err = " ".join(capsys.readouterr().err.split())
    assert "not among the reversed expressions" in err
    assert set(err.split("closest ids: ")[1].split(";")[0].split(", ")) <= set(reference.reversed)
    assert f"`pixbench mocentric ids --data {built} --probe reversed`" in err
