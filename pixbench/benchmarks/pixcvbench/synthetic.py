"""PixCV-Bench's raw inputs made by pixbench itself, for the demo, tests and timing scripts (no network).

Written in the layout :mod:`.build` reads (``--cvbench`` and ``--annotations``):

- *the tiny benchmark* (:func:`write_tiny_cvbench`): a CV-Bench-like ``test.parquet`` with 6 questions (ADE20K
  and COCO, count and relation tasks, plus one 3D row the builder must skip) and its PixCV-Bench annotation
  folder: RLE masks (one on a canvas half the image's size, as many real masks are), a polygon, several
  masks for one question and a question without any; the polygons are drawn in the images;
- *a stand-in for CV-Bench fitted to the real annotations* (:func:`write_cvbench_parquet`): a ``test.parquet``
  with CV-Bench's real column set for the real PixCV-Bench annotation folder in ``../shared/data`` (the real
  images cannot be had here), flat-coloured with a gradient at sizes that fit the masks
  (:func:`cvbench_image_size`).

Files, as released: the parquet has the columns of :data:`CVBENCH_SCHEMA` (``image`` a struct of encoded
bytes); the annotation folder holds ``Objects.csv`` (``,Id,file,Objects``) and one
``<source>/FinalSegmentations.json`` per source (COCO, ids offset per source). The same arguments give
byte-identical files.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from pixbench.annotation import rle as rle_ops
from pixbench.annotation.findings import Findings
from pixbench.benchmarks.pixcvbench import build as pixcvbench
from pixbench.benchmarks.synthetic_images import drawn_image, flat_image
from pixbench.metrics.letters import lettered_options

__all__ = ["CVBENCH_SCHEMA", "TinyCvBench", "cvbench_image_size", "write_cvbench_parquet", "write_tiny_cvbench"]

#: The columns of CV-Bench's ``test.parquet``.
CVBENCH_SCHEMA = pa.schema([
    ("idx", pa.int64()), ("type", pa.string()), ("task", pa.string()),
    ("image", pa.struct([("bytes", pa.binary()), ("path", pa.string())])),
    ("question", pa.string()), ("choices", pa.list_(pa.string())), ("answer", pa.string()),
    ("prompt", pa.string()), ("filename", pa.string()), ("source", pa.string()),
    ("source_dataset", pa.string()), ("source_filename", pa.string()), ("target_class", pa.string()),
    ("target_size", pa.int64()), ("bbox", pa.list_(pa.list_(pa.float64()))),
])


# ---------------------------------------------------------------- stand-in for the real annotations


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
class TinyCvBench:
    """Paths of the tiny benchmark's raw inputs: ``parquet`` (``--cvbench``) and ``annotations``
    (``--annotations``)."""

    parquet: Path
    annotations: Path


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


def write_tiny_cvbench(root: Path) -> TinyCvBench:
    """Write the tiny benchmark's raw inputs under ``root`` (``root/CV-Bench/test.parquet``,
    ``root/PixCV-Bench-annotations``) and return their paths."""
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
        record["image"] = {"bytes": drawn_image(height, width, polygons, idx, (200, 30, 30)), "path": None}
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
    return TinyCvBench(parquet, ann)
