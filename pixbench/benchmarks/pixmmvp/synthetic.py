"""PixMMVP's raw inputs made by pixbench itself, for the demo, tests and timing scripts (no network, no real images).

Written in the layout :mod:`.build` reads (``--mmvp`` and ``--annotations``):

- *the tiny benchmark* (:func:`write_tiny_mmvp`): an MMVP-like folder with 8 questions (4 pairs) and its
  PixMMVP annotation folder, with the shapes drawn in the images where the annotations say they are: a square
  whose colour is asked, a disc left or right, a triangle present or not, and a pair without any object;
- *a stand-in for MMVP fitted to the real annotations* (:func:`write_mmvp_release`): MMVP's ``Questions.csv``
  and images for the real PixMMVP annotation folder in ``../shared/data`` (the real images cannot be had
  here), flat-coloured with a gradient at the sizes of ``Segmentations.json``.

Files, as released: ``Questions.csv`` has MMVP's ``lndex`` header (sic) and ``MMVP Images/<id>.jpg`` the
images; the annotation folder holds ``visual_patterns.csv``, ``Objects.csv`` (``Index, Object``, ``None``
where no object is referred to), ``meta_none.txt`` (the images without objects) and the COCO
``Segmentations.json`` (polygons in image pixels). The same arguments give byte-identical files.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pixbench.annotation.coco import read_coco_json
from pixbench.annotation.findings import Findings
from pixbench.benchmarks.pixmmvp import build as pixmmvp
from pixbench.benchmarks.synthetic_images import drawn_image, flat_image

__all__ = ["TinyMmvp", "write_mmvp_release", "write_tiny_mmvp"]


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


# ---------------------------------------------------------------- the tiny benchmark


@dataclass(frozen=True)
class TinyMmvp:
    """Paths of the tiny benchmark's raw inputs: ``mmvp_dir`` (``--mmvp``) and ``annotations`` (``--annotations``)."""

    mmvp_dir: Path
    annotations: Path


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


def write_tiny_mmvp(root: Path) -> TinyMmvp:
    """Write the tiny benchmark's raw inputs under ``root`` (``root/MMVP``, ``root/PixMMVP-annotations``) and
    return their paths."""
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
            image = drawn_image(height, width, polygons, qid, colour)
            (mmvp / pixmmvp.IMAGES_FOLDER / f"{qid}.jpg").write_bytes(image)
            images.append({"id": qid, "width": width, "height": height, "file_name": f"{qid}.jpg"})
            for polygon in polygons:
                annotations.append({"segmentation": [polygon], "area": 0, "bbox": [0, 0, 0, 0], "iscrowd": 0,
                                    "id": len(annotations) + 1, "image_id": qid, "category_id": None})
    none = [f"{qid}.jpg" for qid, *_, expression, _shape in _TINY_MMVP if expression is None]
    (ann / "meta_none.txt").write_text("\n".join(none) + "\n", encoding="utf-8")
    coco = {"info": {"description": "pixbench tiny benchmark"}, "images": images, "annotations": annotations,
            "licenses": [], "categories": [{"supercategory": "type", "id": None, "name": "object"}]}
    (ann / "Segmentations.json").write_text(json.dumps(coco), encoding="utf-8")
    return TinyMmvp(mmvp, ann)
