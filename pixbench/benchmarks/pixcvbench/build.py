"""PixCV-Bench: CV-Bench's 1438 2D questions with a referring expression and instance masks.

Raw inputs:
- CV-Bench's ``test.parquet`` (one or more files; columns ``idx``, ``type``, ``task``, ``image``,
  ``question``, ``choices``, ``answer``, ``prompt``, ``source``, ``source_filename``; only ``type == "2D"``);
- the PixCV-Bench annotation folder: ``ADE20K/FinalSegmentations.json`` (json image id = CV-Bench idx),
  ``COCO/FinalSegmentations.json`` (json image id = idx - 633) and ``Objects.csv`` (``,Id,file,Objects``;
  Count rows name one object, Relation rows a Python tuple of two).

Rows are linked by ``Objects.csv``'s ``Id``; the json file name must equal the row's ``source_filename``.
RLE masks carry their own canvas and are resized to the image by nearest neighbour; polygons are in
image pixels. The ground truth is the union of a question's instance masks.
"""

from __future__ import annotations

import ast
import io
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import pyarrow.parquet as pq
from datasets import Features, Image, List, Value
from PIL import Image as PILImage

from pixbench.annotation import rle as rle_ops
from pixbench.annotation.coco import AnnotationSet, ImageEntry, Region, read_coco_json
from pixbench.annotation.findings import Findings
from pixbench.annotation.validate import check_region
from pixbench.builds import folders as common
from pixbench.builds.folders import RLE_FEATURE, BuildResult, ConfigSpec

#: The dataset card template this builder fills (package data beside it).
CARD_TEMPLATE = Path(__file__).with_name("card.md")

NAME = "pixcvbench"
SOURCES = ("ADE20K", "COCO")
#: json image id = CV-Bench idx - offset, per source.
ID_OFFSETS = {"ADE20K": 0, "COCO": 633}
EXPECTED_ROWS = {"ADE20K": 633, "COCO": 805}
#: Annotation ids the released files repeat (id -> its images): ADE20K's json merges two VIA exports,
#: each numbered from 1. These are warnings; any other repeated id is an error.
KNOWN_ID_REPEATS: dict[str, dict[int, frozenset[int]]] = {
    "ADE20K": {1: frozenset({343, 473}), 2: frozenset({343, 473}), 3: frozenset({344, 473}),
               4: frozenset({344, 473}), 5: frozenset({348, 473}), 6: frozenset({348, 473}),
               7: frozenset({348, 473})},
    "COCO": {},
}
CVBENCH_COLUMNS = ("idx", "type", "task", "image", "question", "choices", "answer", "prompt", "source",
                   "source_filename")

FEATURES = Features({
    "id": Value("int32"),
    "source": Value("string"),
    "task": Value("string"),
    "image": Image(),
    "height": Value("int32"),
    "width": Value("int32"),
    "source_filename": Value("string"),
    "question": Value("string"),
    "prompt": Value("string"),
    "options": List(Value("string")),
    "answer": Value("string"),
    "objects": List(Value("string")),
    "expression": Value("string"),
    "mask": RLE_FEATURE,
    "instance_masks": List(RLE_FEATURE),
})
FEATURES_NO_IMAGES = Features({k: v for k, v in FEATURES.items() if k != "image"})
CONFIGS = (ConfigSpec("default", common.SPLIT, default=True),
           ConfigSpec("ade20k", f"{common.SPLIT}-ade20k"),
           ConfigSpec("coco", f"{common.SPLIT}-coco"))


@dataclass(frozen=True)
class ObjectRow:
    """One line of ``Objects.csv``: the question id, its source and the object names as given."""

    id: int
    source: str
    file_name: str
    objects: tuple[str, ...]


def first_synonym(name: str) -> str:
    """ADE20K names are WordNet synonym lists (``curtain, drape, ...``): keep the first."""
    return name.split(",")[0].strip()


def expression_for(objects: Sequence[str]) -> str:
    """``the curtain`` for one object, ``the spoon and the broccoli`` for two (also when both are equal)."""
    return " and ".join(f"the {first_synonym(name)}" for name in objects)


def parse_objects(value: str) -> tuple[str, ...]:
    """One name, or a Python tuple literal of names (``"('spoon', 'broccoli')"``)."""
    text = value.strip()
    if text.startswith("("):
        parsed = ast.literal_eval(text)
        if not isinstance(parsed, tuple) or not parsed or not all(isinstance(v, str) for v in parsed):
            raise ValueError(f"expected a tuple of names, but got {value!r}")
        return tuple(v.strip() for v in parsed)
    if not text:
        raise ValueError("empty object name")
    return (text,)


def source_of_path(path: str) -> str | None:
    """``ADE20K`` or ``COCO`` from an Objects.csv path (``CV-Bench/ADE20K/...``)."""
    parts = PurePosixPath(path.replace("\\", "/")).parts
    for source in SOURCES:
        if source in parts:
            return source
    return None


def read_objects(annotations_dir: Path, report: Findings) -> dict[int, ObjectRow]:
    """``Objects.csv`` rows by CV-Bench idx."""
    path = annotations_dir / "Objects.csv"
    rows: dict[int, ObjectRow] = {}
    for row in common.read_csv_rows(path, ["Id", "file", "Objects"], report):
        record = f"line {row['__line__']}"
        qid = common.parse_int(row["Id"], str(path), record, "Id", report)
        if qid is None:
            continue
        record = f"{record} (Id {qid})"
        if qid in rows:
            report.error(str(path), record, "Id", "duplicate id")
            continue
        source = source_of_path(row["file"])
        if source is None:
            report.error(str(path), record, "file", f"cannot tell ADE20K from COCO in {row['file']!r}")
            continue
        try:
            objects = parse_objects(row["Objects"])
        except (ValueError, SyntaxError) as exc:
            report.error(str(path), record, "Objects", f"unreadable object list {row['Objects']!r}: {exc}")
            continue
        if len(objects) > 2:
            report.error(str(path), record, "Objects", f"expected one or two objects, but got {len(objects)}")
            continue
        rows[qid] = ObjectRow(qid, source, PurePosixPath(row["file"]).name, objects)
    return rows


@dataclass
class Inputs:
    """Objects and both annotation files, linked: question id -> (source, json image entry)."""

    objects: dict[int, ObjectRow]
    annotations: dict[str, AnnotationSet]
    entry_of: dict[int, ImageEntry]


def read_inputs(annotations_dir: Path, report: Findings) -> Inputs:
    """Read and cross-check the annotation folder (no images needed)."""
    objects = read_objects(annotations_dir, report)
    annotations = {source: read_coco_json(annotations_dir / source / "FinalSegmentations.json", report,
                                          known_id_repeats=KNOWN_ID_REPEATS[source])
                   for source in SOURCES}
    entry_of: dict[int, ImageEntry] = {}
    for qid, row in sorted(objects.items()):
        source_set = annotations[row.source]
        if not source_set.images:
            continue  # the file itself was reported
        image = source_set.images.get(qid - ID_OFFSETS[row.source])
        if image is None:
            report.error(source_set.path, f"Id {qid}", "image id",
                         f"no image {qid - ID_OFFSETS[row.source]} (= Id - {ID_OFFSETS[row.source]})")
            continue
        if image.file_name != row.file_name:
            report.error(source_set.path, f"Id {qid} (image {image.id})", "file_name",
                         f"{image.file_name!r} != Objects.csv file {row.file_name!r}")
            continue
        entry_of[qid] = image
    for source, source_set in annotations.items():
        linked = {qid - ID_OFFSETS[source] for qid, row in objects.items() if row.source == source}
        unlinked = sorted(set(source_set.images) - linked)
        if objects and unlinked:
            report.error(source_set.path, "", "images", f"{len(unlinked)} image(s) not in Objects.csv: {unlinked[:10]}")
        count = sum(1 for row in objects.values() if row.source == source)
        if objects and count != EXPECTED_ROWS[source]:
            report.warning(str(annotations_dir / "Objects.csv"), "", "Id",
                           f"{count} {source} rows, the release has {EXPECTED_ROWS[source]}")
    return Inputs(objects, annotations, entry_of)


def regions_of(inputs: Inputs, qid: int) -> list[Region]:
    row = inputs.objects[qid]
    return inputs.annotations[row.source].regions.get(qid - ID_OFFSETS[row.source], [])


def report_question_masks(inputs: Inputs, report: Findings) -> None:
    """Warn about questions without any mask and two-object questions with a single mask."""
    for qid in sorted(inputs.entry_of):
        row = inputs.objects[qid]
        regions = regions_of(inputs, qid)
        if not regions:
            report.warning(inputs.annotations[row.source].path, f"Id {qid}", "annotations",
                           "no mask: empty ground truth")
        elif len(row.objects) == 2 and len(regions) == 1:
            report.warning(inputs.annotations[row.source].path, f"Id {qid}", "annotations",
                           "one mask for a two-object (Relation) question")


@dataclass(frozen=True)
class CvBenchRow:
    """The CV-Bench fields pixbench keeps, with the image bytes."""

    idx: int
    task: str
    image: bytes | None
    question: str
    choices: list[str]
    answer: str
    prompt: str
    source: str
    source_filename: str


def read_cvbench(paths: Sequence[Path], report: Findings) -> dict[int, CvBenchRow]:
    """2D rows of one or more CV-Bench parquet files, by ``idx``."""
    rows: dict[int, CvBenchRow] = {}
    for path in paths:
        try:
            table = pq.read_table(path)
        except FileNotFoundError:
            report.error(str(path), "", "", "file not found")
            continue
        except Exception as exc:  # pyarrow raises ArrowInvalid and OSError variants
            report.error(str(path), "", "", f"not a readable parquet file: {exc}")
            continue
        missing = [c for c in CVBENCH_COLUMNS if c not in table.column_names]
        if missing:
            report.error(str(path), "", "columns", f"missing column(s) {missing}; found {table.column_names}")
            continue
        columns = {name: table.column(name).to_pylist() for name in CVBENCH_COLUMNS if name != "image"}
        images = table.column("image")
        for position in range(table.num_rows):
            if columns["type"][position] != "2D":
                continue
            idx = columns["idx"][position]
            record = f"row {position} (idx {idx})"
            if idx in rows:
                report.error(str(path), record, "idx", "duplicate idx")
                continue
            image = images[position].as_py()
            data = image.get("bytes") if isinstance(image, dict) else image if isinstance(image, bytes) else None
            rows[int(idx)] = CvBenchRow(int(idx), str(columns["task"][position]), data,
                                        str(columns["question"][position]), list(columns["choices"][position] or []),
                                        str(columns["answer"][position]), str(columns["prompt"][position]),
                                        str(columns["source"][position]), str(columns["source_filename"][position]))
    return rows


def _image_size(data: bytes | None, file: str, record: str, report: Findings) -> tuple[int, int] | None:
    if not data:
        report.error(file, record, "image", "no image bytes")
        return None
    try:
        with PILImage.open(io.BytesIO(data)) as image:
            width, height = image.size
    except Exception as exc:  # PIL raises many types for broken files
        report.error(file, record, "image", f"unreadable image: {exc}")
        return None
    return height, width


def build_rows(inputs: Inputs, cvbench: dict[int, CvBenchRow], *, with_images: bool, cvbench_name: str,
               report: Findings) -> list[dict[str, Any]]:
    """Rows in id order; linking, image and mask problems go to ``report``."""
    rows = []
    for qid in sorted(inputs.entry_of):
        obj, entry = inputs.objects[qid], inputs.entry_of[qid]
        record = f"idx {qid}"
        source_row = cvbench.get(qid)
        if source_row is None:
            report.error(cvbench_name, record, "idx", "annotated question not in the CV-Bench 2D rows")
            continue
        problems = [(name, ours, theirs) for name, ours, theirs in (
            ("source_filename", entry.file_name, source_row.source_filename),
            ("source", obj.source, source_row.source))
            if ours != theirs]
        expected_task = "Count" if len(obj.objects) == 1 else "Relation"
        if source_row.task != expected_task:
            problems.append(("task", f"{expected_task} ({len(obj.objects)} object(s) in Objects.csv)", source_row.task))
        for name, ours, theirs in problems:
            report.error(cvbench_name, record, name, f"annotations say {ours!r}, CV-Bench says {theirs!r}")
        size = _image_size(source_row.image, cvbench_name, record, report)
        if problems or size is None:
            continue
        height, width = size
        annotations_path = inputs.annotations[obj.source].path
        regions = regions_of(inputs, qid)
        if not all([check_region(r, annotations_path, report, height, width) for r in regions]):
            continue
        instance_masks = [region.to_rle(height, width) for region in regions]
        row: dict[str, Any] = {
            "id": qid, "source": obj.source, "task": source_row.task, "height": height, "width": width,
            "source_filename": source_row.source_filename, "question": source_row.question,
            "prompt": source_row.prompt, "options": source_row.choices, "answer": source_row.answer,
            "objects": list(obj.objects), "expression": expression_for(obj.objects),
            "mask": rle_ops.union(instance_masks, height, width), "instance_masks": instance_masks,
        }
        if with_images:
            row["image"] = {"bytes": source_row.image, "path": None}
        rows.append(row)
    missing = sorted(set(cvbench) - set(inputs.entry_of))
    if missing:
        report.warning(cvbench_name, "", "idx", f"{len(missing)} CV-Bench 2D row(s) have no annotation: {missing[:10]}")
    return rows


def summarize(rows: list[dict[str, Any]], report: Findings, *, with_images: bool) -> dict[str, Any]:
    """Counts per source and task, empty masks and findings, for the card and the console."""
    areas = rle_ops.area([row["mask"] for row in rows])
    per_source = Counter(row["source"] for row in rows)
    per_task = Counter(f"{row['source']}/{row['task']}" for row in rows)
    return common.summary_header(NAME, len(rows), {
        "images_embedded": with_images,
        "rows_per_source": dict(sorted(per_source.items())),
        "rows_per_source_task": dict(sorted(per_task.items())),
        "instance_masks": sum(len(row["instance_masks"]) for row in rows),
        "empty_masks": [row["id"] for row, area in zip(rows, areas) if area == 0],
        "relation_rows_with_one_mask": [row["id"] for row in rows
                                        if len(row["objects"]) == 2 and len(row["instance_masks"]) == 1],
        "resized_masks": "RLE canvases differing from the image were resized by nearest neighbour",
        "warnings": dict(sorted(report.counts_by_message().items())),
    })


def build(*, cvbench_paths: Sequence[Path], annotations_dir: Path, out_dir: Path,
          with_images: bool = True, force: bool = False) -> BuildResult:
    """Build the PixCV-Bench hub folder; raise :class:`AnnotationError` (nothing written) on any error.

    ``out_dir`` must be new, empty or an earlier PixCV-Bench build, else :class:`common.OutDirError`;
    ``force`` writes into any folder (see :func:`common.inspect_out_dir`).
    """
    plan = common.inspect_out_dir(out_dir, NAME, force=force)
    report = Findings()
    inputs = read_inputs(annotations_dir, report)
    cvbench = read_cvbench(cvbench_paths, report)
    name = ", ".join(str(p) for p in cvbench_paths)
    # Rows are built even after input errors (so one run lists image and mask problems too), unless
    # CV-Bench itself could not be read, which would only repeat one error per row.
    rows = build_rows(inputs, cvbench, with_images=with_images, cvbench_name=name, report=report) \
        if cvbench else []
    report_question_masks(inputs, report)
    common.ensure_no_errors(report, "PixCV-Bench inputs")
    summary = summarize(rows, report, with_images=with_images)
    features = FEATURES if with_images else FEATURES_NO_IMAGES
    shards = {f"{common.SPLIT}-{source.lower()}": [row for row in rows if row["source"] == source]
              for source in SOURCES}
    files = common.write_hub_folder(
        out_dir, shards=shards, features=features, summary=summary, force=force,
        card_for=lambda num_bytes: render_card(features, summary, num_rows=len(rows), num_bytes=num_bytes))
    return BuildResult(out_dir, summary, report, files, list(plan.left_in_place))


def render_card(features: Features, summary: dict[str, Any], *, num_rows: int, num_bytes: int) -> str:
    """The dataset card: YAML header (three configs, features) and the template filled with the summary."""
    header = common.card_header(features=features, configs=CONFIGS, num_rows=num_rows, num_bytes=num_bytes,
                                pretty_name="PixCV-Bench", license="other",
                                extra={"tags": ["cv-bench", "referring-segmentation", "pixel-grounding"]})
    return header + common.fill_card(common.card_template(CARD_TEMPLATE),
                                     {"summary": common.format_summary_markdown(summary)})


def check(annotations_dir: Path) -> tuple[Findings, dict[str, Any]]:
    """``check-annotations``: read, link and validate without images or CV-Bench."""
    report = Findings()
    inputs = read_inputs(annotations_dir, report)
    for qid in sorted(inputs.entry_of):
        for region in regions_of(inputs, qid):
            check_region(region, inputs.annotations[inputs.objects[qid].source].path, report)
    report_question_masks(inputs, report)
    tasks = Counter("Count" if len(row.objects) == 1 else "Relation" for row in inputs.objects.values())
    summary = common.summary_header(NAME, len(inputs.entry_of), {
        "rows_per_source": dict(sorted(Counter(inputs.objects[q].source for q in inputs.entry_of).items())),
        "rows_per_task": dict(sorted(tasks.items())),
        "instance_masks": {source: s.region_count for source, s in inputs.annotations.items()},
        "polygon_masks": sum(1 for s in inputs.annotations.values() for rs in s.regions.values()
                             for r in rs if r.rle is None),
        "empty_masks": [q for q in sorted(inputs.entry_of) if not regions_of(inputs, q)],
        "relation_rows_with_one_mask": [q for q in sorted(inputs.entry_of)
                                        if len(inputs.objects[q].objects) == 2 and len(regions_of(inputs, q)) == 1],
        "warnings": dict(sorted(report.counts_by_message().items())),
    })
    return report, summary
