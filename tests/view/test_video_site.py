"""``pixbench view`` on MoCentric-Bench: the data and media of the expression players and grids.

Built from the synthetic MeViS with two made-up models (the demo's), one of them also on the other pair layouts
and the other missing a few lines; checked against ``probe_view``, the predictions' masks and `pixbench score
--per-sample`'s records.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from pixbench.annotation import rle as rle_ops
from pixbench.benchmarks.mocentric import build as builder
from pixbench.benchmarks.mocentric import synthetic
from pixbench.benchmarks.mocentric.demo import demo_predictions
from pixbench.benchmarks.mocentric.views import LAYOUTS, canvas_size, probe_view
from pixbench.cli import main
from pixbench.predictions import Prediction, write_predictions
from pixbench.references import load_reference
from pixbench.video.export import decode_frame, iter_videos
from pixbench.view.media import display_size
from pixbench.view.video_media import mask_sheet, sheet_columns
from pixbench.view.video_plan import group_key, shown_positions

AWARE, LOOKS = "demo-motion-aware", "demo-appearance-only"
#: Expressions the appearance-only model has no line for (scored as missing).
DROPPED = {("original", 1), ("reversed-pair", 0)}


def read_data(path: Path) -> Any:
    """The document a data file hands to ``pixbench.put``."""
    match = re.fullmatch(r'pixbench\.put\("[^"]*",(.*)\);\n', path.read_text(encoding="utf-8"), flags=re.DOTALL)
    assert match is not None, path
    return json.loads(match.group(1))


def decode_png(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("L")) > 127


def tile(sheet: np.ndarray, k: int, columns: int, size: tuple[int, int]) -> np.ndarray:
    height, width = size
    row, column = divmod(k, columns)
    return sheet[row * height:(row + 1) * height, column * width:(column + 1) * width]


@dataclass(frozen=True)
class VideoSite:
    root: Path
    built: Path
    reference: Any
    lines: dict[tuple[str, str, str, str | None], Prediction]
    records: list[dict[str, Any]]
    argv: tuple[str, ...]

    def data(self, key: str) -> Any:
        return read_data(self.root / "data" / "mocentric" / f"{key}.js")

    def expression(self, expression_id: str) -> Any:
        keys = dict(self.data("models")["expressions"])
        return self.data(f"exp-{keys[expression_id]}")


def _lines(reference: Any) -> dict[str, list[Prediction]]:
    """The demo's two models; the motion-aware one also in every other pair layout (its truth), the
    appearance-only one without the :data:`DROPPED` lines."""
    made = demo_predictions(reference)
    extra = []
    for probe, default in (("static-pair", "target-left"), ("reversed-pair", "target-right")):
        for layout in LAYOUTS:
            if layout == default:
                continue
            for row_id, row in reference.rows_for(probe).items():
                view = probe_view(probe=probe, layout=layout, frame_names=row.frame_names, keyframe=row.keyframe,
                                  height=row.height, width=row.width)
                extra.append(Prediction(benchmark="mocentric", id=row_id, probe=probe, layout=layout, model=AWARE,
                                        frames=tuple(view.ground_truth(list(row.masks)))))
    made[AWARE] += extra
    ids = {probe: list(reference.rows_for(probe)) for probe, _ in DROPPED}
    dropped = {(probe, ids[probe][k]) for probe, k in DROPPED}
    made[LOOKS] = [p for p in made[LOOKS] if (p.probe, p.id) not in dropped]
    return made


def _build(root: Path, *, frames: bool = True) -> Path:
    raw = synthetic.write_synthetic_mevis(root / "raw")
    out = root / "MoCentric-Bench"
    builder.build(mevis_root=raw.root, keyframes=raw.keyframes, reverse_expressions=raw.reverse_expressions,
                  out_dir=out, with_frames=frames)
    return out


def make_site(work: Path, *extra: str, frames: bool = True, score: bool = True) -> VideoSite:
    """The site of :func:`_lines`' files on a synthetic build (``score``: also `pixbench score`'s records)."""
    built = _build(work / "data", frames=frames)
    reference = load_reference("mocentric", str(built))
    files = []
    lines = {}
    for model, predictions in _lines(reference).items():
        path = work / f"{model}.jsonl"
        write_predictions(path, predictions)
        files.append(str(path))
        lines.update(((model, str(p.id), p.probe, p.layout), p) for p in predictions)
    argv = (*files, "--data", f"mocentric={built}", "--no-judge")
    assert main(["view", *argv, "--out", str(work / "site"), *extra]) == 0
    records = []
    if score:
        per_sample = work / "per-sample.jsonl"
        assert main(["score", *argv, "--format", "json", "--output", str(work / "report.json"),
                     "--per-sample", str(per_sample)]) == 0
        records = [json.loads(line) for line in per_sample.read_text(encoding="utf-8").splitlines() if line]
    return VideoSite(work / "site", built, reference, lines, records, (*argv, *extra))


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> VideoSite:
    return make_site(tmp_path_factory.mktemp("video-site"))


@pytest.fixture(scope="module")
def sampled(tmp_path_factory: pytest.TempPathFactory) -> VideoSite:
    """Four frames shown of each clip (of 5 to 9): evenly spaced positions."""
    return make_site(tmp_path_factory.mktemp("video-sampled"), "--video-frames", "4", score=False)


# ------------------------------------------------------------------ what is there


def test_every_scored_expression_and_probe_has_its_player(site):
    models = site.data("models")
    keys = {m["model"]: m["key"] for m in models["models"]}
    assert set(keys) == {AWARE, LOOKS}
    assert [pair[0] for pair in models["expressions"]] == list(site.reference.expressions)
    assert (site.root / "video.html").is_file() and (site.root / "videos.html").is_file()
    for record in site.records:
        document = site.expression(record["id"])
        key = group_key(record["probe"], record["layout"])
        assert key in {p["key"] for p in document["probes"]}, (record["id"], key)
        entry = document["models"][keys[record["model"]]]["probes"][key]
        assert entry["missing"] is record["missing"]
        assert ("mask" in entry) is not record["missing"]
        for media in [document["video"]["src"], *(p["gt"]["src"] for p in document["probes"])] + \
                ([entry["mask"]["src"]] if "mask" in entry else []):
            assert (site.root / media).is_file(), media
    # every probe key of a document is scored by some model, reversed probes only for reversed expressions
    scored = {(r["id"], group_key(r["probe"], r["layout"])) for r in site.records}
    for expression_id in site.reference.expressions:
        document = site.expression(expression_id)
        assert {(expression_id, p["key"]) for p in document["probes"]} == {s for s in scored if s[0] == expression_id}
        has_reversed = expression_id in site.reference.reversed
        assert any(p["probe"] == "reversed" for p in document["probes"]) is has_reversed
        assert document["reversed_expression"] == (site.reference.reversed[expression_id].expression
                                                   if has_reversed else None)
    # and every model entry of a document is a record of the score
    entries = {(m["model"], expression_id, key) for expression_id in site.reference.expressions
               for m in site.expression(expression_id)["models"].values() for key in m["probes"]}
    assert entries == {(r["model"], r["id"], group_key(r["probe"], r["layout"])) for r in site.records}


def test_the_view_spec_is_probe_view_at_the_shown_positions(site, sampled):
    checked = set()
    for built, limit in ((site, 48), (sampled, 4)):
        for expression_id in built.reference.expressions:
            document = built.expression(expression_id)
            length = document["length"]
            assert document["positions"] == shown_positions(length, limit)
            if limit < length:
                assert document["positions"][0] == 0 and document["positions"][-1] == length - 1
                assert len(document["positions"]) == limit
            for spec in document["probes"]:
                rows = built.reference.rows_for(spec["probe"])
                row = rows[expression_id]
                view = probe_view(probe=spec["probe"], layout=spec["layout"], frame_names=row.frame_names,
                                  keyframe=row.keyframe, height=row.height, width=row.width)
                positions = document["positions"]
                assert spec["key"] == group_key(view.probe, view.layout)
                assert spec["target_frames"] == [view.target_frames[p] for p in positions]
                assert spec["other_frames"] == (None if view.other_frames is None
                                                else [view.other_frames[p] for p in positions])
                assert spec["names"] == [view.names[p] for p in positions]
                assert tuple(spec["canvas"]) == view.canvas
                assert spec["target"] == [view.target[0].start // row.height, view.target[1].start // row.width]
                assert spec["other"] == (None if view.other is None else
                                         [view.other[0].start // row.height, view.other[1].start // row.width])
                assert spec["expression"] == row.expression
                display = display_size(row.height, row.width, 480)
                assert spec["display"] == list(canvas_size(*display, view.probe, view.layout))
                # every frame the page composes is in the video's sheet, every truth frame in the truth's
                assert set(spec["target_frames"]) <= set(spec["gt"]["frames"])
                assert set(spec["target_frames"]) | set(spec["other_frames"] or []) <= set(document["video"]["frames"])
                checked.add((spec["probe"], spec["layout"], limit))
    assert {(p, layout) for p, layout, _ in checked} == {
        ("original", None), ("static", None), ("reversed", None),
        *(("static-pair", layout) for layout in LAYOUTS), *(("reversed-pair", layout) for layout in LAYOUTS)}


def test_mask_sheets_hold_the_predictions_and_the_truth_resized(site, sampled):
    for built in (site, sampled):
        keys = {m["key"]: m["model"] for m in built.data("models")["models"]}
        for expression_id in built.reference.expressions:
            document = built.expression(expression_id)
            display = tuple(document["display"])
            positions = document["positions"]
            for spec in document["probes"]:
                row = built.reference.rows_for(spec["probe"])[expression_id]
                truth = decode_png(built.root / spec["gt"]["src"])
                for k, frame in enumerate(spec["gt"]["frames"]):
                    expected = rle_ops.decode(rle_ops.resize_nearest(row.masks[frame], *display)).astype(bool)
                    assert np.array_equal(tile(truth, k, spec["gt"]["columns"], display), expected)
                tile_size = tuple(spec["display"])
                for key, model in document["models"].items():
                    entry = model["probes"].get(spec["key"])
                    if entry is None or "mask" not in entry:
                        continue
                    line = built.lines[(keys[key], expression_id, spec["probe"], spec["layout"])]
                    sheet = decode_png(built.root / entry["mask"]["src"])
                    assert entry["mask"]["columns"] == sheet_columns(len(positions), tile_size)
                    for i, p in enumerate(positions):
                        mask = line.frames[p]
                        expected = (np.zeros(tile_size, dtype=bool) if mask is None else
                                    rle_ops.decode(rle_ops.resize_nearest(mask, *tile_size)).astype(bool))
                        assert np.array_equal(tile(sheet, i, entry["mask"]["columns"], tile_size), expected), \
                            (expression_id, spec["key"], key, i)


def test_frames_sheet_holds_the_videos_frames(site):
    videos = {video.video_id: video for video in iter_videos(site.built)}
    for expression_id in site.reference.expressions:
        document = site.expression(expression_id)
        video = videos[document["video_id"]]
        display = tuple(document["display"])
        with Image.open(site.root / document["video"]["src"]) as image:
            assert image.format == "WEBP"
            sheet = np.asarray(image.convert("RGB"), dtype=np.float64)
        assert document["video"]["grey"] is False
        for k, frame in enumerate(document["video"]["frames"]):
            original = Image.fromarray(decode_frame(video.frames[frame])).resize((display[1], display[0]))
            row, column = divmod(k, document["video"]["columns"])
            shown = sheet[row * display[0]:(row + 1) * display[0], column * display[1]:(column + 1) * display[1]]
            assert np.abs(shown - np.asarray(original, dtype=np.float64)).mean() < 6  # WebP at quality 80


def test_values_and_per_frame_values_are_the_score_records(site):
    keys = {m["model"]: m["key"] for m in site.data("models")["models"]}
    grids = {model: {row["id"]: row for row in site.data(f"grid-{key}")["rows"]} for model, key in keys.items()}
    assert len(site.records) > 0
    for record in site.records:
        entry = site.expression(record["id"])["models"][keys[record["model"]]]["probes"][
            group_key(record["probe"], record["layout"])]
        per_frame = ("FPR_t", "FG_FPR_t") if record["probe"] == "static" else ("J_t", "F_t")
        for name in per_frame:
            assert entry[name] == record[name]
        assert len(entry[per_frame[0]]) == site.expression(record["id"])["length"]
        for name in ("J", "F", "F_native", "D_FPR", "J_bg", "H_bg", "FPR", "FG_FPR"):
            assert entry["values"].get(name) == record.get(name)
        if "J" in record:
            assert entry["values"]["JF"] == pytest.approx((record["J"] + record["F"]) / 2, abs=1e-6)
        grid_value = grids[record["model"]][record["id"]]["values"][group_key(record["probe"], record["layout"])]
        assert grid_value == (record["FPR"] if record["probe"] == "static" else entry["values"]["JF"])
        assert (group_key(record["probe"], record["layout"]) in grids[record["model"]][record["id"]]["missing"]) \
            is record["missing"]
    missing = {(r["probe"], r["id"]) for r in site.records if r["model"] == LOOKS and r["missing"]}
    assert len(missing) == len(DROPPED)


def test_grid_columns_and_rows(site):
    models = site.data("models")
    columns = [c["key"] for c in models["columns"]]
    assert columns == ["original", "static", *(f"static-pair:{layout}" for layout in LAYOUTS), "reversed",
                       *(f"reversed-pair:{layout}" for layout in LAYOUTS)]
    assert {c["key"]: c["metric"] for c in models["columns"]}["static"] == "FPR"
    for model in models["models"]:
        grid = site.data(f"grid-{model['key']}")
        assert [row["id"] for row in grid["rows"]] == list(site.reference.expressions)
        for row in grid["rows"]:
            assert (site.root / row["thumb"]).is_file() and (site.root / row["gt_thumb"]).is_file()
            assert row["expression"] == site.reference.expressions[row["id"]].expression


def test_a_second_build_writes_no_media_and_a_changed_file_redraws_its_masks(site, tmp_path):
    root = tmp_path / "site"
    shutil.copytree(site.root, root)
    before = {p: p.stat().st_mtime_ns for p in (root / "media").rglob("*") if p.is_file()}
    assert main(["view", *site.argv, "--out", str(root)]) == 0
    after = {p: p.stat().st_mtime_ns for p in (root / "media").rglob("*") if p.is_file()}
    assert after == before  # nothing written again, nothing new
    # files lost since (an interrupted copy): only they are written again
    lost = [next((root / "media" / "mocentric").glob("*/frames-*.webp")),
            next((root / "media" / "mocentric").glob("*/thumb-*.webp")),
            next((root / "media" / "mocentric").glob("*/*/*.png"))]
    for path in lost:
        path.unlink()
    assert main(["view", *site.argv, "--out", str(root)]) == 0
    back = {p: p.stat().st_mtime_ns for p in (root / "media").rglob("*") if p.is_file()}
    assert set(back) == set(before)
    assert {p for p in back if back[p] != before[p]} == set(lost)
    for path in lost:
        assert path.read_bytes() == (site.root / path.relative_to(root)).read_bytes()
    # a model's changed predictions file: its mask sheets are new files, the frames and truth are kept
    files = [a for a in site.argv if a.endswith(".jsonl")]
    changed = tmp_path / "changed.jsonl"
    text = Path(files[0]).read_text(encoding="utf-8").splitlines()
    changed.write_text("\n".join(text[1:]) + "\n", encoding="utf-8")  # one line less
    argv = [changed if a == files[0] else a for a in site.argv]
    assert main(["view", *map(str, argv), "--out", str(root)]) == 0
    again = {p: p.stat().st_mtime_ns for p in (root / "media").rglob("*") if p.is_file()}
    new = set(again) - set(before)
    model = json.loads(text[0])["model"]
    key = next(m["key"] for m in site.data("models")["models"] if m["model"] == model)
    assert new and all(p.suffix == ".png" and p.name.startswith(key + "-") for p in new)
    assert all(again[p] == t for p, t in back.items())


def test_a_build_without_frames_draws_grey(tmp_path):
    built = make_site(tmp_path, frames=False, score=False)
    document = built.expression(next(iter(built.reference.expressions)))
    assert document["video"]["grey"] is True
    with Image.open(built.root / document["video"]["src"]) as image:
        pixels = np.asarray(image.convert("RGB"), dtype=np.int64)
    assert np.abs(pixels - 128).max() <= 2
    # the truth and the masks are drawn all the same
    spec = document["probes"][0]
    row = built.reference.rows_for(spec["probe"])[document["id"]]
    truth = decode_png(built.root / spec["gt"]["src"])
    first = tile(truth, 0, spec["gt"]["columns"], tuple(document["display"]))
    assert np.array_equal(first, rle_ops.decode(rle_ops.resize_nearest(row.masks[spec["gt"]["frames"][0]],
                                                                       *document["display"])).astype(bool))
    assert all("mask" in model["probes"][spec["key"]] for model in document["models"].values())


def test_mask_sheet_on_runs_equals_the_dense_resize():
    rng = np.random.default_rng(3)
    for _ in range(40):
        height, width = (int(v) for v in rng.integers(1, 30, 2))
        masks = [None if rng.random() < 0.2 else rle_ops.encode(rng.random((height, width)) < rng.random())
                 for _ in range(int(rng.integers(1, 7)))]
        size = (int(rng.integers(1, 40)), int(rng.integers(1, 40)))  # smaller and larger than the source
        columns = int(rng.integers(1, len(masks) + 1))
        sheet = mask_sheet(masks, source=(height, width), tile=size, columns=columns)
        for k, mask in enumerate(masks):
            expected = (np.zeros(size, dtype=bool) if mask is None
                        else rle_ops.decode(rle_ops.resize_nearest(mask, *size)).astype(bool))
            assert np.array_equal(tile(sheet, k, columns, size), expected)
