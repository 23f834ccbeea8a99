"""The image benchmarks' site as data (no browser): what `pixbench view` writes equals what `pixbench score`
prints for the same files, the masks drawn are the predictions at display size, a second build keeps the
media, and hostile inputs (markup in names and replies, large non-square images, RGBA and palette images) are
shown as they are.

The site (``image_site``, see ``conftest.py``) is the tiny PixMMVP and PixCV-Bench with three models (the
demo's two, one of them with candidates, and a hostile one), judged by a real server on 127.0.0.1.
"""

from __future__ import annotations

import io
import json
import os
import shutil
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest
from PIL import Image, ImageDraw

from pixbench.annotation import rle as rle_ops
from pixbench.cli import main
from pixbench.references import load_reference

BENCHMARKS = ("pixmmvp", "pixcvbench")
MASK_PROBES = ("segment", "vqa")


def resized_nearest(mask: np.ndarray, height: int, width: int) -> np.ndarray:
    """Nearest-neighbour sampling at pixel centres: output (r, c) takes source (floor((r + .5) h / height), ...)."""
    rows = (2 * np.arange(height) + 1) * mask.shape[0] // (2 * height)
    cols = (2 * np.arange(width) + 1) * mask.shape[1] // (2 * width)
    return mask[np.ix_(rows, cols)]


def png_mask(path: Path) -> np.ndarray:
    """A site's 1-bit mask PNG as a bool array (white = the mask)."""
    with Image.open(path) as image:
        assert image.format == "PNG" and image.mode == "1", f"{path}: {image.format} {image.mode}"
        return np.asarray(image.convert("L")) > 127


def decoded(mask: dict[str, Any] | None, height: int, width: int) -> np.ndarray:
    return np.zeros((height, width), bool) if mask is None else rle_ops.decode(mask).astype(bool)


def hand_iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    return 1.0 if union == 0 else float(np.logical_and(a, b).sum() / union)


def predictions_by_key(paths: Any) -> dict[tuple[str, str, int, str], dict[str, Any]]:
    """(model, benchmark, id, probe) -> the line as written (the model defaults to the file's stem)."""
    lines = {}
    for path in paths:
        for text in Path(path).read_text(encoding="utf-8").splitlines():
            line = json.loads(text)
            lines[(line.get("model", Path(path).stem), line["benchmark"], int(line["id"]), line["probe"])] = line
    return lines


# ------------------------------------------------------------------------------------------------ numbers


def test_report_data_is_the_score_report(image_site):
    assert image_site.data_file("report") == image_site.report
    models = {r["model"] for r in image_site.report["results"]}
    assert models == {"demo-pixel-mllm", "demo-attend-segment", image_site.hostile_model}
    assert image_site.report["judge"]["enabled"] is True


@pytest.mark.parametrize("benchmark", BENCHMARKS)
def test_grid_records_are_the_per_sample_records(image_site, benchmark):
    reference = load_reference(benchmark, str(image_site.data[benchmark]))
    for entry in image_site.models(benchmark):
        grid = image_site.data_file(f"{benchmark}/grid-{entry['key']}")
        records = image_site.records(benchmark, entry["model"])
        assert grid["model"] == entry["model"] and [r["id"] for r in grid["rows"]] == sorted(reference.rows)
        for row in grid["rows"]:
            letter, vqa = records.get((row["id"], "letter")), records.get((row["id"], "vqa"))
            assert row["letter"] == (letter or {}).get("correct"), (entry["model"], row["id"])
            assert row["verdict"] == (vqa or {}).get("verdict")
            assert row["judged"] == (vqa or {}).get("correct")
            expected = {probe: round(records[(row["id"], probe)]["iou"] * 100, 4) for probe in MASK_PROBES
                        if "iou" in records.get((row["id"], probe), {})}
            assert row["iou"] == expected, (entry["model"], row["id"])
            assert row["groups"] == dict(reference.rows[row["id"]].groups)
    verdicts = {r.get("verdict") for r in image_site.per_sample if r["probe"] == "vqa"}
    assert {"yes", "no"} <= verdicts and len(verdicts) >= 3  # the site shows every kind of verdict


@pytest.mark.parametrize("benchmark", BENCHMARKS)
def test_candidates_are_chosen_by_the_modes_that_score_them(image_site, benchmark):
    """Each candidate's ``chosen_by`` lists exactly the modes under which `pixbench score --select MODE` scores
    it; its IoU is the hand-computed one."""
    reference = load_reference(benchmark, str(image_site.data[benchmark]))
    key = image_site.key_of(benchmark, "demo-attend-segment")
    lines = predictions_by_key(image_site.predictions)
    seen_modes: set[str] = set()
    for row_id, row in reference.rows.items():
        entry = image_site.data_file(f"{benchmark}/row-{row_id}")["models"][key]["probes"]["vqa"]
        line = lines[("demo-attend-segment", benchmark, row_id, "vqa")]
        assert len(entry["candidates"]) == len(line["candidates"]) == 3
        gt = decoded(row.mask, row.height, row.width)
        for k, (shown, given) in enumerate(zip(entry["candidates"], line["candidates"], strict=True)):
            scored_by = sorted(mode for mode, records in image_site.per_mode.items()
                               if {(int(r["id"]), r["probe"]): r for r in records
                                   if r["model"] == "demo-attend-segment" and r["benchmark"] == benchmark}
                               [(row_id, "vqa")].get("candidate") == k)
            assert sorted(shown["chosen_by"]) == scored_by, (row_id, k)
            seen_modes.update(scored_by)
            assert shown["iou"] == pytest.approx(hand_iou(decoded(given["mask"], row.height, row.width), gt) * 100,
                                                 abs=1e-6)
            assert (shown["phrase"], shown["score"]) == (given["phrase"], given["score"])
        assert entry["scored_candidate"] == image_site.records(benchmark, "demo-attend-segment")[
            (row_id, "vqa")].get("candidate")
    assert seen_modes == {"given", "oracle", "score"}


@pytest.mark.parametrize("benchmark", BENCHMARKS)
def test_masks_are_the_predictions_resized_nearest_to_the_display_size(image_site, benchmark):
    reference = load_reference(benchmark, str(image_site.data[benchmark]))
    lines = predictions_by_key(image_site.predictions)
    checked = 0
    for row_id, row in reference.rows.items():
        page = image_site.data_file(f"{benchmark}/row-{row_id}")
        height, width = page["display"]
        assert page["size"] == [row.height, row.width] and max(height, width) <= 768
        with Image.open(image_site.root / page["image"]) as image:
            assert (image.format, image.size) == ("WEBP", (width, height))
        gt = decoded(row.mask, row.height, row.width)
        assert np.array_equal(png_mask(image_site.root / page["gt"]), resized_nearest(gt, height, width))
        for model in page["models"].values():
            records = image_site.records(benchmark, model["model"])
            for probe, entry in model["probes"].items():
                if "mask" not in entry:
                    continue
                line = lines.get((model["model"], benchmark, row_id, probe), {})
                index = records[(row_id, probe)].get("candidate")
                scored = line["candidates"][index]["mask"] if index is not None else line.get("mask")
                expected = resized_nearest(decoded(scored, row.height, row.width), height, width)
                assert np.array_equal(png_mask(image_site.root / entry["mask"]), expected), (model["model"], probe)
                for candidate, given in zip(entry.get("candidates", []), line.get("candidates", []), strict=True):
                    assert np.array_equal(png_mask(image_site.root / candidate["mask"]),
                                          resized_nearest(decoded(given["mask"], row.height, row.width), height,
                                                          width))
                checked += 1
    assert checked >= 3 * len(reference.rows)


def test_masks_resized_on_their_runs_equal_the_decoded_masks_resized():
    """The drawer's run-based resizing against the definition on decoded pixels, on random masks of random
    sizes: noise, whole columns (runs across column boundaries), full, empty and None, 1-pixel sides, and
    enlarging."""
    from pixbench.view.media import MaskDrawer, display_size

    rng = np.random.default_rng(7)
    for _ in range(150):
        height, width = int(rng.integers(1, 120)), int(rng.integers(1, 120))
        size = display_size(height, width, int(rng.integers(1, 140)))
        if rng.random() < 0.1:
            size = (height + int(rng.integers(0, 9)), width + int(rng.integers(0, 9)))  # enlarged
        whole = np.zeros((height, width), bool)
        whole[:, int(rng.integers(0, width + 1)):int(rng.integers(0, width + 1))] = True
        arrays = [rng.random((height, width)) < rng.random(), whole, np.ones((height, width), bool),
                  np.zeros((height, width), bool)]
        masks = [rle_ops.encode(a.astype(np.uint8)) for a in arrays] + [None]
        drawn = MaskDrawer((height, width), size).pixels_many(masks)
        for array, got in zip([*arrays, np.zeros((height, width), bool)], drawn, strict=True):
            assert np.array_equal(got, resized_nearest(array, *size)), (height, width, size)


# ------------------------------------------------------------------------------------------------ builds


def site_files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_score_html_writes_the_same_site_as_view(image_site):
    first, second = site_files(image_site.root), site_files(image_site.html_root)
    assert sorted(first) == sorted(second)
    assert [name for name in first if first[name] != second[name]] == []
    assert any(name.startswith("media/pixcvbench/") for name in first)


def test_rows_drawn_in_worker_processes_give_the_same_site(image_site, tmp_path, monkeypatch):
    from pixbench.view import image_samples

    argv = [*(str(p) for p in image_site.predictions), *(f"--data={n}={p}" for n, p in image_site.data.items()),
            "--no-judge"]
    assert main(["view", *argv, "--out", str(tmp_path / "here")]) == 0
    monkeypatch.setattr(image_samples, "POOL_MIN_ROWS", 1)
    monkeypatch.setattr(image_samples, "_cpus", lambda: 2)
    assert image_samples.row_workers(6) == 2
    assert main(["view", *argv, "--out", str(tmp_path / "pooled")]) == 0
    here, pooled = site_files(tmp_path / "here"), site_files(tmp_path / "pooled")
    assert sorted(here) == sorted(pooled) and [name for name in here if here[name] != pooled[name]] == []


def test_a_second_build_writes_no_media(image_site, tmp_path, capsys):
    root = tmp_path / "site"
    shutil.copytree(image_site.root, root)
    media = {p: p.stat().st_mtime_ns for p in (root / "media").rglob("*") if p.is_file()}
    argv = [*(str(p) for p in image_site.predictions), *(f"--data={n}={p}" for n, p in image_site.data.items())]
    for path in media:
        os.utime(path, ns=(1, 1))  # any rewrite would change it
    capsys.readouterr()
    assert main(["view", *argv, "--no-judge", "--out", str(root)]) == 0
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert all(p.stat().st_mtime_ns == 1 for p in media)
    rewritten = [p for p in root.rglob("*") if p.is_file() and p.stat().st_mtime_ns != 1 and p not in media]
    assert {p.relative_to(root).parts[0] for p in rewritten} <= {"data", "static", "index.html", "samples.html",
                                                                "sample.html", "compare.html", "site.json"}
    assert f"{len(rewritten)} files written, {len(media)} kept" in line, line


def test_a_folder_that_is_not_a_site_is_refused(image_site, tmp_path, capsys):
    folder = tmp_path / "thesis"
    folder.mkdir()
    (folder / "chapter1.tex").write_text("keep me", encoding="utf-8")
    argv = [*(str(p) for p in image_site.predictions), *(f"--data={n}={p}" for n, p in image_site.data.items())]
    assert main(["view", *argv, "--no-judge", "--out", str(folder)]) == 1
    err = capsys.readouterr().err
    assert f"--out {folder}: holds files and no site.json" in err and "chapter1.tex" in err
    assert [p.name for p in folder.iterdir()] == ["chapter1.tex"]


# ------------------------------------------------------------------------------------------------ hostile


class Tags(HTMLParser):
    """Every start tag with its attributes, and the text inside each table cell."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.cells: list[str] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag == "td":
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._cell is not None:
            self.cells.append("".join(self._cell))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def test_markup_in_model_names_and_replies_stays_text(image_site, read_data):
    parser = Tags()
    parser.feed((image_site.root / "index.html").read_text(encoding="utf-8"))
    scripts = [attrs.get("src") for tag, attrs in parser.tags if tag == "script"]
    assert scripts == ["static/site.js", "static/index.js"]  # no script from a model's name
    assert not any(tag == "b" for tag, _ in parser.tags)
    assert image_site.hostile_model in parser.cells  # the name, as text, in the tables
    for path in (image_site.root / "data").rglob("*.js"):
        text = path.read_text(encoding="utf-8")
        assert "</script" not in text.lower(), path  # a data file can never end a script element
        read_data(path)  # and parses back
    key = image_site.key_of("pixmmvp", image_site.hostile_model)
    assert image_site.data_file("pixmmvp/grid-" + key)["model"] == image_site.hostile_model
    row = image_site.data_file("pixmmvp/row-1")
    assert row["models"][key]["probes"]["letter"]["response"] == image_site.hostile_reply
    assert all(set(name) <= set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-/")
               for name in (p.relative_to(image_site.root).as_posix() for p in image_site.root.rglob("*")))


#: Images put in the hostile build: row id -> (width, height, mode).
HOSTILE_IMAGES = {0: (1600, 900, "RGB"), 1: (80, 60, "RGBA"), 2: (64, 64, "P"), 634: (900, 1600, "L")}
RED = (220, 20, 20)


def _encoded(width: int, height: int, mode: str, box: tuple[int, int, int, int] | None) -> bytes:
    """An image of ``mode`` with a gradient and, when given, ``box`` (top, left, bottom, right) in red."""
    ramp = np.linspace(40, 120, width, dtype=np.float32)[None, :, None] + np.zeros((height, 1, 3), np.float32)
    image = Image.fromarray(np.clip(ramp + np.array([0, 30, 60]), 0, 255).astype(np.uint8))
    if box is not None:
        top, left, bottom, right = box
        ImageDraw.Draw(image).rectangle((left, top, right - 1, bottom - 1), fill=RED)
    buffer = io.BytesIO()
    if mode == "RGBA":
        image = image.convert("RGBA")
        image.putalpha(Image.linear_gradient("L").resize(image.size))
        image.save(buffer, format="PNG")
    elif mode == "P":
        image.convert("P", palette=Image.Palette.ADAPTIVE, colors=16).save(buffer, format="PNG")
    elif mode == "L":
        image.convert("L").save(buffer, format="JPEG", quality=90)
    else:
        image.save(buffer, format="JPEG", quality=92)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def hostile_images(tiny_inputs, tmp_path_factory):
    """The tiny PixCV-Bench with its images replaced (:data:`HOSTILE_IMAGES`; row 0's mask drawn in red at the
    image's size), a model's file and the site `pixbench view` writes: ``(site, reference, lines)``."""
    from pixbench.benchmarks.pixcvbench import build as pixcvbench

    work = tmp_path_factory.mktemp("hostile-images")
    table = pq.read_table(tiny_inputs.cvbench_parquet)
    records = table.to_pylist()
    for record in records:
        if record["idx"] in HOSTILE_IMAGES:
            width, height, mode = HOSTILE_IMAGES[record["idx"]]
            # row 0's mask: the box (5, 5, 15, 20) on a 30 x 40 canvas, resized x30 and x40 to 900 x 1600
            box = (150, 200, 450, 800) if record["idx"] == 0 else None
            record["image"] = {"bytes": _encoded(width, height, mode, box), "path": None}
    parquet = work / "CV-Bench" / "test.parquet"
    parquet.parent.mkdir(parents=True)
    pq.write_table(type(table).from_pylist(records, schema=table.schema), parquet)
    pixcvbench.build(cvbench_paths=[parquet], annotations_dir=tiny_inputs.pixcvbench_annotations,
                     out_dir=work / "PixCV-Bench")
    reference = load_reference("pixcvbench", str(work / "PixCV-Bench"))
    lines = []
    for row_id, row in reference.rows.items():
        moved = rle_ops.encode(np.roll(rle_ops.decode(row.mask), 7, axis=1))
        lines += [{"benchmark": "pixcvbench", "id": row_id, "probe": "letter", "response": "(A)"},
                  {"benchmark": "pixcvbench", "id": row_id, "probe": "segment", "mask": dict(moved)}]
    path = work / "large.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    assert main(["view", str(path), f"--data=pixcvbench={work / 'PixCV-Bench'}", "--no-judge",
                 "--out", str(work / "site")]) == 0
    return work / "site", reference, {line["id"]: line for line in lines if line["probe"] == "segment"}


def test_large_non_square_images_are_shown_at_display_size_with_aligned_masks(hostile_images, read_data):
    site, reference, lines = hostile_images
    for row_id, (width, height, _) in HOSTILE_IMAGES.items():
        row = reference.rows[row_id]
        assert (row.width, row.height) == (width, height)
        page = read_data(site / "data" / "pixcvbench" / f"row-{row_id}.js")
        scale = min(1.0, 768 / max(width, height))
        expected = (max(1, int(height * scale + 0.5)), max(1, int(width * scale + 0.5)))
        assert tuple(page["display"]) == expected
        with Image.open(site / page["image"]) as image:
            assert image.size == (expected[1], expected[0]) and image.mode == "RGB"
        with Image.open(site / f"media/pixcvbench/{row_id}/thumb.webp") as thumb:
            assert max(thumb.size) == min(256, max(width, height))
        gt = png_mask(site / page["gt"])
        assert gt.shape == expected
        assert np.array_equal(gt, resized_nearest(decoded(row.mask, height, width), *expected))
        (model,) = page["models"].values()
        shown = png_mask(site / model["probes"]["segment"]["mask"])
        assert np.array_equal(shown, resized_nearest(decoded(lines[row_id]["mask"], height, width), *expected))
    assert tuple(read_data(site / "data/pixcvbench/row-0.js")["display"]) == (432, 768)
    assert tuple(read_data(site / "data/pixcvbench/row-634.js")["display"]) == (768, 432)


def test_the_ground_truth_lies_on_the_object_in_the_shown_image(hostile_images):
    """Row 0: the red box drawn at the mask's place in the 1600 x 900 image is where gt.png is white."""
    site, _, _ = hostile_images
    with Image.open(site / "media/pixcvbench/0/image.webp") as image:
        pixels = np.asarray(image.convert("RGB")).astype(int)
    red = (pixels[..., 0] > 160) & (pixels[..., 1] < 90) & (pixels[..., 2] < 90)
    gt = png_mask(site / "media/pixcvbench/0/gt.png")
    assert gt.sum() == (450 - 150) * (800 - 200) * (768 / 1600) ** 2 == 41472
    assert hand_iou(red, gt) > 0.97


def test_rgba_palette_and_grey_images_are_drawn_in_their_colours(hostile_images):
    site = hostile_images[0]
    for row_id, (width, height, mode) in HOSTILE_IMAGES.items():
        if mode == "RGB":
            continue
        with Image.open(site / f"media/pixcvbench/{row_id}/image.webp") as shown:
            pixels = np.asarray(shown.convert("RGB")).astype(int)
        source = np.asarray(Image.open(io.BytesIO(_encoded(width, height, mode, None))).convert("RGB"))
        if shown.size != (width, height):
            source = np.asarray(Image.fromarray(source).resize(shown.size, Image.Resampling.LANCZOS))
        assert np.abs(pixels - source.astype(int)).mean() < 6, (row_id, mode)  # not grey, not black
        assert pixels.std() > 5  # the gradient is there


def test_the_page_shows_the_mask_the_score_used_and_grounds_an_empty_answer_on_an_empty_truth():
    """Under score/oracle a line with candidates and none chosen was scored on the empty mask, even when it also
    carries a mask of its own; an empty answer on an empty truth is grounded (as the failure analysis counts it)."""
    from pixbench.prediction_records import Candidate, Prediction
    from pixbench.view.image_samples import _category, _scored_mask

    own = rle_ops.encode(np.eye(4, dtype=np.uint8))
    other = rle_ops.encode(np.ones((4, 4), dtype=np.uint8))
    line = Prediction(benchmark="pixmmvp", id=1, probe="segment", model="m", mask=own, has_mask=True,
                      candidates=(Candidate(mask=other, score=0.1),))
    assert _scored_mask(line, {"candidate": None}, "score") is None
    assert _scored_mask(line, {"candidate": None}, "given") == own
    assert _scored_mask(line, {"candidate": 0}, "oracle") == other
    records = {"letter": {"correct": True}, "segment": {"iou": 1.0}}
    assert _category(records, True, {"segment": 0.0}) == "both_succeed"
    assert _category(records, True, {"segment": 0.5}) == "grounding_only_failure"
