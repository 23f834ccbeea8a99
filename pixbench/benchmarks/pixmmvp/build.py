"""PixMMVP: MMVP's 300 questions with a referring expression and a polygon mask each.

Raw inputs:
- the MMVP release folder: ``MMVP Images/<id>.jpg`` and ``Questions.csv``
  (``Index,Question,Options,Correct Answer``; the header may read ``lndex``);
- the PixMMVP annotation folder: ``Segmentations.json`` (VIA project exported as COCO json, image
  ``file_name`` ``<id>.jpg``), ``Objects.csv`` (``Index, Object``; values start with a space, ``""`` stands
  for ``"``, ``None`` = nothing to ground), ``visual_patterns.csv`` (``,Index,Question,Options,Correct
  Answer,Pattern``) and ``meta_none.txt`` (image names of the ``None`` questions).

One row per question, ids 1..300; rows 2k-1 and 2k form pair k. Masks are the union of the image's
polygons rasterised as COCO does at the image's size; images without polygons get an empty mask.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from datasets import Features, Image, List, Value
from PIL import Image as PILImage

from pixbench.annotation import rle as rle_ops
from pixbench.annotation.coco import AnnotationSet, read_coco_json
from pixbench.annotation.findings import Findings
from pixbench.annotation.validate import check_region
from pixbench.builds import folders as common
from pixbench.builds.folders import RLE_FEATURE, BuildResult, ConfigSpec

#: The dataset card template this builder fills (package data beside it).
CARD_TEMPLATE = Path(__file__).with_name("card.md")

NAME = "pixmmvp"
NUM_QUESTIONS = 300
IMAGES_FOLDER = "MMVP Images"
#: MMVP pairs whose answers are swapped in the original labels (ids of both rows).
LABEL_CORRECTIONS = ((99, 100), (279, 280))

FEATURES = Features({
    "id": Value("int32"),
    "pair_id": Value("int32"),
    "image": Image(),
    "height": Value("int32"),
    "width": Value("int32"),
    "question": Value("string"),
    "options": List(Value("string")),
    "options_text": Value("string"),
    "answer": Value("string"),
    "pattern": Value("string"),
    "expression": Value("string"),
    "has_object": Value("bool"),
    "mask": RLE_FEATURE,
    "instance_masks": List(RLE_FEATURE),
    "polygons": List(List(Value("float32"))),
})
FEATURES_NO_IMAGES = Features({k: v for k, v in FEATURES.items() if k != "image"})

_OPTION = re.compile(r"\(([a-z])\)\s*", re.IGNORECASE)


@dataclass(frozen=True)
class Question:
    """One MMVP question as read from the CSV files."""

    id: int
    question: str
    options_text: str
    answer: str
    pattern: str


def parse_options(options_text: str) -> list[str]:
    """``"(a) Open (b) Closed"`` -> ``["Open", "Closed"]``; ValueError when not of that form."""
    parts = _OPTION.split(options_text.strip())
    letters, texts = parts[1::2], [t.strip() for t in parts[2::2]]
    expected = [chr(ord("a") + k) for k in range(len(letters))]
    if parts[0].strip() or len(letters) < 2 or [x.lower() for x in letters] != expected or not all(texts):
        raise ValueError(f"expected options like '(a) X (b) Y', but got {options_text!r}")
    return texts


def clean_expression(raw: str) -> str | None:
    """Trim, undo doubled quotes (``the key ""Z""`` -> ``the key "Z"``); ``None`` stays null."""
    text = raw.strip().replace('""', '"')
    return None if text in ("", "None") else text


def read_questions(annotations_dir: Path, mmvp_dir: Path | None, report: Findings) -> dict[int, Question]:
    """Questions from ``visual_patterns.csv``, checked against MMVP's ``Questions.csv`` when given."""
    patterns_path = annotations_dir / "visual_patterns.csv"
    rows = common.read_csv_rows(patterns_path, ["Index", "Question", "Options", "Correct Answer", "Pattern"],
                                report)
    questions: dict[int, Question] = {}
    for row in rows:
        record = f"line {row['__line__']}"
        qid = common.parse_int(row["Index"], str(patterns_path), record, "Index", report)
        if qid is None:
            continue
        if qid in questions:
            report.error(str(patterns_path), f"{record} (id {qid})", "Index", "duplicate id")
            continue
        questions[qid] = Question(qid, row["Question"].strip(), row["Options"].strip(),
                                  row["Correct Answer"].strip(), row["Pattern"].strip())
    if mmvp_dir is not None:
        _check_against_mmvp(questions, mmvp_dir / "Questions.csv", report)
    return questions


def _check_against_mmvp(questions: dict[int, Question], path: Path, report: Findings) -> None:
    rows = common.read_csv_rows(path, ["Index", "Question", "Options", "Correct Answer"], report,
                                aliases={"lndex": "Index"})
    seen = set()
    for row in rows:
        qid = common.parse_int(row["Index"], str(path), f"line {row['__line__']}", "Index", report)
        if qid is None:
            continue
        seen.add(qid)
        known = questions.get(qid)
        if known is None:
            report.error(str(path), f"id {qid}", "Index", "not in visual_patterns.csv")
            continue
        for column, ours in (("Question", known.question), ("Options", known.options_text),
                             ("Correct Answer", known.answer)):
            if " ".join(row[column].split()) != " ".join(ours.split()):
                report.error(str(path), f"id {qid}", column,
                             f"{row[column].strip()!r} differs from visual_patterns.csv {ours!r}")
    for qid in sorted(set(questions) - seen):
        report.error(str(path), f"id {qid}", "Index", "missing (present in visual_patterns.csv)")


def read_expressions(annotations_dir: Path, report: Findings) -> dict[int, str | None]:
    """Referring expression per question id from ``Objects.csv`` (``None`` for nothing to ground)."""
    path = annotations_dir / "Objects.csv"
    expressions: dict[int, str | None] = {}
    for row in common.read_csv_rows(path, ["Index", "Object"], report):
        qid = common.parse_int(row["Index"], str(path), f"line {row['__line__']}", "Index", report)
        if qid is None:
            continue
        if qid in expressions:
            report.error(str(path), f"id {qid}", "Index", "duplicate id")
            continue
        expressions[qid] = clean_expression(row["Object"])
    return expressions


def read_none_ids(annotations_dir: Path, report: Findings) -> set[int]:
    """Ids listed in ``meta_none.txt`` (``<id>.jpg`` per line)."""
    path = annotations_dir / "meta_none.txt"
    try:
        lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    except FileNotFoundError:
        report.error(str(path), "", "", "file not found")
        return set()
    ids = set()
    for number, line in enumerate(lines, start=1):
        stem = Path(line).stem
        if not stem.isdigit():
            report.error(str(path), f"line {number}", "", f"expected '<id>.jpg', but got {line!r}")
            continue
        ids.add(int(stem))
    return ids


def _image_ids_by_question(annotations: AnnotationSet, report: Findings) -> dict[int, int]:
    """Question id (from the file name ``<id>.jpg``) -> json image id."""
    linked: dict[int, int] = {}
    for image in annotations.images.values():
        stem = Path(image.file_name).stem
        if not stem.isdigit():
            report.error(annotations.path, f"image {image.id}", "file_name",
                         f"expected '<question id>.jpg', but got {image.file_name!r}")
            continue
        linked[int(stem)] = image.id
    return linked


@dataclass
class Inputs:
    """Everything read and linked, ready to become rows."""

    questions: dict[int, Question]
    expressions: dict[int, str | None]
    none_ids: set[int]
    annotations: AnnotationSet
    image_of: dict[int, int]


def read_inputs(annotations_dir: Path, mmvp_dir: Path | None, report: Findings) -> Inputs:
    """Read and cross-check the annotation folder (and MMVP's questions when given)."""
    questions = read_questions(annotations_dir, mmvp_dir, report)
    expressions = read_expressions(annotations_dir, report)
    none_ids = read_none_ids(annotations_dir, report)
    annotations = read_coco_json(annotations_dir / "Segmentations.json", report)
    image_of = _image_ids_by_question(annotations, report)
    inputs = Inputs(questions, expressions, none_ids, annotations, image_of)
    _cross_check(inputs, annotations_dir, report)
    return inputs


def _cross_check(inputs: Inputs, annotations_dir: Path, report: Findings) -> None:
    count = len(inputs.questions)
    expected = set(range(1, count + 1))
    patterns_file = str(annotations_dir / "visual_patterns.csv")
    if inputs.questions and set(inputs.questions) != expected:
        report.error(patterns_file, "", "Index", f"expected ids 1..{count}, but got gaps or extra ids")
    if count % 2:
        report.error(patterns_file, "", "Index", f"expected pairs (an even number of questions), but got {count}")
    if inputs.questions and count != NUM_QUESTIONS:
        report.warning(patterns_file, "", "Index", f"{count} questions; the MMVP release has {NUM_QUESTIONS}")
    for label, ids in (("Objects.csv", set(inputs.expressions)), ("Segmentations.json", set(inputs.image_of))):
        if not ids:
            continue  # the file itself was reported
        if ids - expected:
            report.error(str(annotations_dir / label), "", "ids",
                         f"ids not in visual_patterns.csv: {sorted(ids - expected)[:10]}")
        if expected - ids:
            report.error(str(annotations_dir / label), "", "ids",
                         f"{len(expected - ids)} question id(s) missing: {sorted(expected - ids)[:10]}")
    null_ids = {qid for qid, expression in inputs.expressions.items() if expression is None}
    if inputs.expressions and null_ids != inputs.none_ids:
        report.error(str(annotations_dir / "meta_none.txt"), "", "",
                     f"disagrees with Objects.csv 'None' rows: only in meta_none {sorted(inputs.none_ids - null_ids)}, "
                     f"only in Objects.csv {sorted(null_ids - inputs.none_ids)}")
    for qid in sorted(null_ids):
        image_id = inputs.image_of.get(qid)
        if image_id is not None and inputs.annotations.regions.get(image_id):
            report.warning(inputs.annotations.path, f"image {image_id}", "annotations",
                           f"question {qid} has no object ('None') but the image has polygons; they are kept")
    for qid, question in inputs.questions.items():
        try:
            options = parse_options(question.options_text)
        except ValueError as exc:
            report.error(str(annotations_dir / "visual_patterns.csv"), f"id {qid}", "Options", str(exc))
            continue
        letter = question.answer.strip("()").lower()
        if len(letter) != 1 or not 0 <= ord(letter) - ord("a") < len(options):
            report.error(str(annotations_dir / "visual_patterns.csv"), f"id {qid}", "Correct Answer",
                         f"expected one of {[f'({chr(97 + k)})' for k in range(len(options))]}, "
                         f"but got {question.answer!r}")


def _image_bytes_and_size(path: Path, report: Findings, qid: int) -> tuple[bytes, int, int] | None:
    try:
        data = path.read_bytes()
        with PILImage.open(io.BytesIO(data)) as image:
            image.verify()
        with PILImage.open(io.BytesIO(data)) as image:
            width, height = image.size
    except FileNotFoundError:
        report.error(str(path), f"id {qid}", "image", "image file not found")
        return None
    except Exception as exc:  # PIL raises many types for broken files
        report.error(str(path), f"id {qid}", "image", f"unreadable image: {exc}")
        return None
    return data, height, width


def answer_for(question: Question, corrections: bool) -> str:
    """The answer label, swapped within the known mislabelled pairs when ``corrections`` is set."""
    if not corrections:
        return question.answer
    for first, second in LABEL_CORRECTIONS:
        if question.id in (first, second):
            return "(b)" if question.answer.lower() == "(a)" else "(a)"
    return question.answer


def build_rows(inputs: Inputs, *, mmvp_dir: Path | None, with_images: bool, corrections: bool,
               report: Findings) -> list[dict[str, Any]]:
    """Rows in id order; image and polygon problems go to ``report``."""
    rows = []
    for qid in sorted(inputs.questions):
        question = inputs.questions[qid]
        image_id = inputs.image_of.get(qid)
        entry = inputs.annotations.images.get(image_id) if image_id is not None else None
        image_bytes = None
        if mmvp_dir is not None:
            loaded = _image_bytes_and_size(mmvp_dir / IMAGES_FOLDER / f"{qid}.jpg", report, qid)
            if loaded is None:
                continue
            image_bytes, height, width = loaded
            if entry is not None and entry.height is not None and (entry.height, entry.width) != (height, width):
                report.error(str(mmvp_dir / IMAGES_FOLDER / f"{qid}.jpg"), f"id {qid}", "size",
                             f"image is {width}x{height} but Segmentations.json says {entry.width}x{entry.height}")
                continue
        elif entry is not None and entry.height is not None and entry.width is not None:
            height, width = entry.height, entry.width
        else:
            report.error(inputs.annotations.path, f"id {qid}", "height/width",
                         "no image folder given and the annotation json has no size for this image")
            continue
        regions = inputs.annotations.regions.get(image_id, []) if image_id is not None else []
        if not all([check_region(r, inputs.annotations.path, report, height, width) for r in regions]):
            continue
        instance_masks = [region.to_rle(height, width) for region in regions]
        expression = inputs.expressions.get(qid)
        row: dict[str, Any] = {
            "id": qid,
            "pair_id": (qid + 1) // 2,
            "height": height,
            "width": width,
            "question": question.question,
            "options": parse_options(question.options_text),
            "options_text": question.options_text,
            "answer": answer_for(question, corrections),
            "pattern": question.pattern,
            "expression": expression,
            "has_object": expression is not None,
            "mask": rle_ops.union(instance_masks, height, width),
            "instance_masks": instance_masks,
            "polygons": [list(polygon) for region in regions for polygon in region.polygons],
        }
        if with_images:
            row["image"] = {"bytes": image_bytes, "path": None}
        rows.append(row)
    return rows


def summarize(rows: list[dict[str, Any]], report: Findings, *, corrections: bool, with_images: bool) -> dict[str, Any]:
    """Counts for the card and the console."""
    areas = rle_ops.area([row["mask"] for row in rows])
    empty_ids = [row["id"] for row, area in zip(rows, areas) if area == 0]
    none_ids = [row["id"] for row in rows if not row["has_object"]]
    patterns: dict[str, int] = {}
    for row in rows:
        patterns[row["pattern"]] = patterns.get(row["pattern"], 0) + 1
    return common.summary_header(NAME, len(rows), {
        "pairs": len({row["pair_id"] for row in rows}),
        "images_embedded": with_images,
        "label_set": "corrected (pairs 99/100 and 279/280 swapped)" if corrections else "original MMVP labels",
        "instance_masks": sum(len(row["instance_masks"]) for row in rows),
        "empty_masks": len(empty_ids),
        "none_questions": len(none_ids),
        "absent_object_questions": len([i for i in empty_ids if i not in none_ids]),
        "mask_rows": len(rows) - len(none_ids),
        "patterns": dict(sorted(patterns.items())),
        "warnings": dict(sorted(report.counts_by_message().items())),
    })


def build(*, annotations_dir: Path, out_dir: Path, mmvp_dir: Path | None = None, with_images: bool = True,
          corrections: bool = False, force: bool = False) -> BuildResult:
    """Build the PixMMVP hub folder; raise :class:`AnnotationError` (nothing written) on any error.

    ``out_dir`` must be new, empty or an earlier PixMMVP build, else :class:`common.OutDirError`;
    ``force`` writes into any folder (see :func:`common.inspect_out_dir`).
    """
    if with_images and mmvp_dir is None:
        raise ValueError("Expected the MMVP folder (--mmvp) to embed images; use --no-images for an "
                         "annotations-only build")
    plan = common.inspect_out_dir(out_dir, NAME, force=force)
    report = Findings()
    inputs = read_inputs(annotations_dir, mmvp_dir, report)
    # Rows are built even after input errors, so that one run lists image and polygon problems too.
    rows = build_rows(inputs, mmvp_dir=mmvp_dir, with_images=with_images, corrections=corrections, report=report)
    common.ensure_no_errors(report, "PixMMVP inputs")
    summary = summarize(rows, report, corrections=corrections, with_images=with_images)
    features = FEATURES if with_images else FEATURES_NO_IMAGES
    files = common.write_hub_folder(
        out_dir, shards={common.SPLIT: rows}, features=features, summary=summary, force=force,
        card_for=lambda num_bytes: render_card(features, summary, num_rows=len(rows), num_bytes=num_bytes))
    return BuildResult(out_dir, summary, report, files, list(plan.left_in_place))


def render_card(features: Features, summary: dict[str, Any], *, num_rows: int, num_bytes: int) -> str:
    """The dataset card: YAML header (configs, features) and the template filled with the summary."""
    header = common.card_header(features=features, configs=[ConfigSpec("default", common.SPLIT, default=True)],
                                num_rows=num_rows, num_bytes=num_bytes, pretty_name="PixMMVP", license="other",
                                extra={"tags": ["mmvp", "referring-segmentation", "pixel-grounding"]})
    body = common.fill_card(common.card_template(CARD_TEMPLATE), {
        "summary": common.format_summary_markdown(summary),
        "label_set": summary["label_set"],
    })
    return header + body


def check(annotations_dir: Path) -> tuple[Findings, dict[str, Any]]:
    """``check-annotations``: read, link and validate without images; rows are built at json sizes."""
    report = Findings()
    inputs = read_inputs(annotations_dir, None, report)
    rows = build_rows(inputs, mmvp_dir=None, with_images=False, corrections=False, report=report)
    return report, summarize(rows, report, corrections=False, with_images=False)

