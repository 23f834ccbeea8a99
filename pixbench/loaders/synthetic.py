"""Raw inputs made by pixbench itself, for the demo, tests and benchmarks (no network, no real images).

Two kinds:
- a *tiny benchmark* (:func:`write_tiny_inputs`): an MMVP-like folder with 8 questions and a CV-Bench-like
  parquet with 6 questions, plus their PixMMVP / PixCV-Bench annotation folders, with shapes drawn in
  the images where the annotations say they are;
- *stand-in sources for the real annotations* (:func:`write_mmvp_release`, :func:`write_cvbench_parquet`):
  MMVP's ``Questions.csv`` and images, and a CV-Bench ``test.parquet`` with the real column set, made to
  fit the real annotation files in ``../shared/data`` (the real images cannot be had here). Images are
  flat-coloured with a gradient; their sizes follow the annotations (see :func:`cvbench_image_size`).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from PIL import Image, ImageDraw

from pixbench.annotation import rle as rle_ops
from pixbench.annotation.coco import read_coco_json
from pixbench.annotation.findings import Findings
from pixbench.benchmarks.pixcvbench import build as pixcvbench
from pixbench.benchmarks.pixmmvp import build as pixmmvp
from pixbench.metrics.letters import lettered_options

CVBENCH_SCHEMA = pa.schema([
    ("idx", pa.int64()), ("type", pa.string()), ("task", pa.string()),
    ("image", pa.struct([("bytes", pa.binary()), ("path", pa.string())])),
    ("question", pa.string()), ("choices", pa.list_(pa.string())), ("answer", pa.string()),
    ("prompt", pa.string()), ("filename", pa.string()), ("source", pa.string()),
    ("source_dataset", pa.string()), ("source_filename", pa.string()), ("target_class", pa.string()),
    ("target_size", pa.int64()), ("bbox", pa.list_(pa.list_(pa.float64()))),
])


def flat_image(height: int, width: int, seed: int, fmt: str = "JPEG") -> bytes:
    """A deterministic gradient image of the given size, encoded as JPEG or PNG."""
    rng = np.random.default_rng(seed)
    base = rng.integers(40, 200, size=3)
    ramp = np.linspace(0, 50, width, dtype=np.float32)[None, :, None]
    array = np.clip(base[None, None, :] + ramp + np.zeros((height, 1, 1)), 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format=fmt, quality=85) if fmt == "JPEG" else \
        Image.fromarray(array).save(buffer, format=fmt)
    return buffer.getvalue()


# ---------------------------------------------------------------- stand-ins for the real annotations


def write_mmvp_release(annotations_dir: Path, out_dir: Path) -> Path:
    """An MMVP-like folder (``Questions.csv`` with MMVP's ``lndex`` header, ``MMVP Images/<id>.jpg``)
    matching the PixMMVP annotation folder: questions from ``visual_patterns.csv``, image sizes from
    ``Segmentations.json``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    report = Findings()
    questions = pixmmvp.read_questions(annotations_dir, None, report)
    annotations = read_coco_json(annotations_dir / "Segmentations.json", report)
    if not report.ok:
        raise ValueError(report.format())
    sizes = {int(Path(i.file_name).stem): (i.height or 224, i.width or 224) for i in annotations.images.values()}
    with open(out_dir / "Questions.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["lndex", "Question", "Options", "Correct Answer"])
        for qid in sorted(questions):
            q = questions[qid]
            writer.writerow([qid, q.question, q.options_text, q.answer])
    images = out_dir / pixmmvp.IMAGES_FOLDER
    images.mkdir(exist_ok=True)
    for qid in sorted(questions):
        height, width = sizes.get(qid, (224, 224))
        (images / f"{qid}.jpg").write_bytes(flat_image(height, width, seed=qid))
    return out_dir


def cvbench_image_size(regions: Sequence[Any], scale: float = 1.0) -> tuple[int, int]:
    """Image size for a stand-in CV-Bench image: the canvas of the first RLE mask of the question
    times ``scale`` (>= 1, so polygons stay inside), else the polygons' extent rounded up to a multiple
    of 32, else 480x640."""
    for region in regions:
        if region.rle is not None:
            height, width = rle_ops.size_of(region.rle)
            return round(height * scale), round(width * scale)
    coordinates = [v for region in regions for polygon in region.polygons for v in polygon]
    if coordinates:
        width = int(max(coordinates[0::2])) + 1
        height = int(max(coordinates[1::2])) + 1
        return -(-height // 32) * 32, -(-width // 32) * 32
    return 480, 640


def write_cvbench_parquet(annotations_dir: Path, out_path: Path, *, extra_3d_rows: int = 2,
                          scale: float = 1.0) -> Path:
    """A CV-Bench-like ``test.parquet`` for the PixCV-Bench annotation folder: one 2D row per
    ``Objects.csv`` line (task from the object count), plus a few 3D rows the builder must skip.
    ``scale`` > 1 makes images larger than the masks' canvases, so that every RLE mask is resized."""
    if scale < 1:
        raise ValueError(f"Expected scale >= 1 (polygons are in image pixels), but got {scale}")
    report = Findings()
    inputs = pixcvbench.read_inputs(annotations_dir, report)
    if not report.ok:
        raise ValueError(report.format())
    records: list[dict[str, Any]] = []
    for qid in sorted(inputs.entry_of):
        obj, entry = inputs.objects[qid], inputs.entry_of[qid]
        height, width = cvbench_image_size(pixcvbench.regions_of(inputs, qid), scale)
        records.append(_cvbench_record(qid, obj.source, entry.file_name, obj.objects, height, width))
    next_idx = max(inputs.entry_of, default=-1) + 1
    for k in range(extra_3d_rows):
        record = _cvbench_record(next_idx + k, "Omni3D", f"omni3d_{k}.jpg", ("chair",), 48, 64)
        record.update(type="3D", task="Depth")
        records.append(record)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(records, schema=CVBENCH_SCHEMA), out_path)
    return out_path


def _cvbench_record(idx: int, source: str, file_name: str, objects: Sequence[str], height: int,
                    width: int) -> dict[str, Any]:
    names = [pixcvbench.first_synonym(name) for name in objects]
    if len(objects) == 1:
        task, question = "Count", f"How many {names[0]}s are in the image?"
        choices = ["0", "1", "2", "3"]
    else:
        task = "Relation"
        question = (f"Considering the relative positions of the {names[0]} and the {names[1]} in the image "
                    f"provided, where is the {names[0]} located with respect to the {names[1]}?")
        choices = ["above", "below"]
    options = lettered_options(choices)
    return {
        "idx": idx, "type": "2D", "task": task,
        "image": {"bytes": flat_image(height, width, seed=idx), "path": None},
        "question": question, "choices": choices, "answer": f"({chr(65 + idx % len(choices))})",
        "prompt": f"{question} Select from the following choices.\n{options}",
        "filename": f"img/2D/{task.lower()}/{source.lower()}_{idx}.png", "source": source,
        "source_dataset": f"{source} Validation Set", "source_filename": file_name,
        "target_class": names[0], "target_size": None, "bbox": None,
    }


# ---------------------------------------------------------------- the tiny benchmark


@dataclass(frozen=True)
class TinyInputs:
    """Paths of a generated tiny benchmark's raw inputs."""

    mmvp_dir: Path
    pixmmvp_annotations: Path
    cvbench_parquet: Path
    pixcvbench_annotations: Path


# (id, question, options, answer, pattern, expression, shape) for 4 MMVP-like pairs.
_TINY_MMVP = [
    (1, "Is the square red or blue?", "(a) Red (b) Blue", "(a)", "Color and Appearance", "the square", "square"),
    (2, "Is the square red or blue?", "(a) Red (b) Blue", "(b)", "Color and Appearance", "the square", "square"),
    (3, "Is the disc on the left or the right?", "(a) Left (b) Right", "(a)", "Positional and Relational Context",
     "the disc", "disc_left"),
    (4, "Is the disc on the left or the right?", "(a) Left (b) Right", "(b)", "Positional and Relational Context",
     "the disc", "disc_right"),
    (5, "Is there a triangle in the image?", "(a) Yes (b) No", "(a)", "Presence of Specific Features",
     "the triangle", "triangle"),
    (6, "Is there a triangle in the image?", "(a) Yes (b) No", "(b)", "Presence of Specific Features",
     "the triangle", None),
    (7, "Is the scene bright or dark?", "(a) Bright (b) Dark", "(a)", "State and Condition", None, None),
    (8, "Is the scene bright or dark?", "(a) Bright (b) Dark", "(b)", "State and Condition", None, None),
]
_TINY_SIZE = (96, 128)  # height, width of the tiny MMVP images


def _tiny_polygon(shape: str, height: int, width: int) -> list[float]:
    if shape == "square":
        return [32.0, 24.0, 80.0, 24.0, 80.0, 72.0, 32.0, 72.0]
    if shape in ("disc_left", "disc_right"):
        cx = 32.0 if shape == "disc_left" else width - 32.0
        angles = np.linspace(0, 2 * np.pi, 16, endpoint=False)
        return [float(round(v, 2)) for a in angles for v in (cx + 20 * np.cos(a), height / 2 + 20 * np.sin(a))]
    if shape == "triangle":
        return [64.0, 16.0, 104.0, 80.0, 24.0, 80.0]
    raise ValueError(shape)


def _draw(height: int, width: int, polygons: Sequence[Sequence[float]], seed: int,
          colour: tuple[int, int, int]) -> bytes:
    image = Image.open(io.BytesIO(flat_image(height, width, seed, fmt="PNG"))).convert("RGB")
    draw = ImageDraw.Draw(image)
    for polygon in polygons:
        draw.polygon(list(zip(polygon[0::2], polygon[1::2])), fill=colour)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def _write_tiny_mmvp(root: Path) -> tuple[Path, Path]:
    mmvp, ann = root / "MMVP", root / "PixMMVP-annotations"
    (mmvp / pixmmvp.IMAGES_FOLDER).mkdir(parents=True, exist_ok=True)
    ann.mkdir(parents=True, exist_ok=True)
    height, width = _TINY_SIZE
    images: list[dict[str, Any]] = []
    annotations: list[dict[str, Any]] = []
    with open(ann / "visual_patterns.csv", "w", newline="", encoding="utf-8") as patterns, \
            open(mmvp / "Questions.csv", "w", newline="", encoding="utf-8") as questions, \
            open(ann / "Objects.csv", "w", encoding="utf-8") as objects:
        pattern_writer, question_writer = csv.writer(patterns), csv.writer(questions)
        pattern_writer.writerow(["", "Index", "Question", "Options", "Correct Answer", "Pattern"])
        question_writer.writerow(["lndex", "Question", "Options", "Correct Answer"])
        objects.write("Index, Object\n")
        for qid, question, options, answer, pattern, expression, shape in _TINY_MMVP:
            pattern_writer.writerow([qid - 1, qid, question, options, answer, pattern])
            question_writer.writerow([qid, question, options, answer])
            objects.write(f"{qid}, {expression if expression else 'None'}\n")
            polygons = [_tiny_polygon(shape, height, width)] if shape else []
            colour = (200, 30, 30) if qid != 2 else (30, 30, 200)
            (mmvp / pixmmvp.IMAGES_FOLDER / f"{qid}.jpg").write_bytes(_draw(height, width, polygons, qid, colour))
            images.append({"id": qid, "width": width, "height": height, "file_name": f"{qid}.jpg"})
            for polygon in polygons:
                annotations.append({"segmentation": [polygon], "area": 0, "bbox": [0, 0, 0, 0], "iscrowd": 0,
                                    "id": len(annotations) + 1, "image_id": qid, "category_id": None})
    none = [f"{qid}.jpg" for qid, *_, expression, _shape in _TINY_MMVP if expression is None]
    (ann / "meta_none.txt").write_text("\n".join(none) + "\n", encoding="utf-8")
    coco = {"info": {"description": "pixbench tiny benchmark"}, "images": images, "annotations": annotations,
            "licenses": [], "categories": [{"supercategory": "type", "id": None, "name": "object"}]}
    (ann / "Segmentations.json").write_text(json.dumps(coco), encoding="utf-8")
    return mmvp, ann


# (idx, source, file name, objects, image size, [(kind, geometry)]) for 6 CV-Bench-like questions.
_TINY_CV = [
    (0, "ADE20K", "ADE_val_00000001.jpg", "lamp", (60, 80), [("rle_half", (10, 10, 30, 40))]),
    (1, "ADE20K", "ADE_val_00000002.jpg", "curtain, drape, drapery, mantle, pall", (60, 80),
     [("rle", (5, 5, 20, 30)), ("rle", (35, 40, 55, 70))]),
    (2, "ADE20K", "ADE_val_00000003.jpg", "('table', 'lamp')", (64, 64),
     [("polygon", (8, 8, 30, 30)), ("rle", (40, 40, 60, 60))]),
    (633, "COCO", "000000000001.jpg", "train", (48, 64), [("rle", (0, 0, 48, 64))]),
    (634, "COCO", "000000000002.jpg", "('dog', 'cat')", (48, 64), [("rle", (4, 4, 20, 30))]),
    (635, "COCO", "000000000003.jpg", "('tree', 'tree')", (48, 64), []),
]


def _box_mask(height: int, width: int, box: tuple[int, int, int, int]) -> np.ndarray:
    top, left, bottom, right = box
    mask = np.zeros((height, width), dtype=np.uint8)
    mask[top:bottom, left:right] = 1
    return mask


def _write_tiny_cvbench(root: Path) -> tuple[Path, Path]:
    ann = root / "PixCV-Bench-annotations"
    records, per_source = [], {s: {"categories": [{"id": 0, "name": "foreground"}], "images": [],
                                   "annotations": []} for s in pixcvbench.SOURCES}
    lines = [",Id,file,Objects"]
    for idx, source, file_name, objects, (height, width), masks in _TINY_CV:
        folder = "ADE20K/validation/images" if source == "ADE20K" else "COCO/coco/images"
        quoted = f'"{objects}"' if "," in objects else objects
        lines.append(f"{idx},{idx},CV-Bench/{folder}/{file_name},{quoted}")
        image_id = idx - pixcvbench.ID_OFFSETS[source]
        per_source[source]["images"].append({"id": image_id, "file_name": file_name})
        polygons = []
        for kind, box in masks:
            if kind == "polygon":
                top, left, bottom, right = box
                polygon = [left, top, right, top, right, bottom, left, bottom]
                polygons.append(polygon)
                segmentation: Any = [polygon]
                extra = {"area": 0, "bbox": [0, 0, 0, 0], "iscrowd": 0, "id": 1}
            else:
                # "rle_half": drawn on a canvas half the image's size, as many real masks are.
                scale = 2 if kind == "rle_half" else 1
                box = tuple(v // scale for v in box)  # type: ignore[assignment]
                segmentation = dict(rle_ops.encode(_box_mask(height // scale, width // scale, box)))
                extra = {}
            per_source[source]["annotations"].append(
                {"image_id": image_id, "category_id": 0, "segmentation": segmentation, **extra})
        parsed = pixcvbench.parse_objects(objects)
        record = _cvbench_record(idx, source, file_name, parsed, height, width)
        record["image"] = {"bytes": _draw(height, width, polygons, idx, (200, 30, 30)), "path": None}
        records.append(record)
    for source, data in per_source.items():
        (ann / source).mkdir(parents=True, exist_ok=True)
        (ann / source / "FinalSegmentations.json").write_text(json.dumps(data), encoding="utf-8")
    (ann / "Objects.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    record = _cvbench_record(900, "Omni3D", "omni3d.jpg", ("chair",), 32, 32)
    record.update(type="3D", task="Depth")
    records.append(record)
    parquet = root / "CV-Bench" / "test.parquet"
    parquet.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(records, schema=CVBENCH_SCHEMA), parquet)
    return parquet, ann


def write_tiny_inputs(root: Path) -> TinyInputs:
    """Write the tiny benchmark's raw inputs under ``root`` and return their paths."""
    mmvp, mmvp_ann = _write_tiny_mmvp(root)
    parquet, cv_ann = _write_tiny_cvbench(root)
    return TinyInputs(mmvp, mmvp_ann, parquet, cv_ann)
