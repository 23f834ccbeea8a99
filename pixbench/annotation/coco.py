"""Reader for COCO-style annotation json: VIA's COCO export and the PixCV-Bench segmentation files.

The file is ``{"images": [{"id", "file_name", "height"?, "width"?}], "annotations": [{"image_id",
"id"?, "segmentation"}], "categories": [...]}``. ``segmentation`` is either a list of flat polygons
``[[x1, y1, x2, y2, ...], ...]`` in image pixels, or an RLE dict ``{"size": [h, w], "counts": ...}``
(compressed string or uncompressed list) on its own canvas, which may differ from the image size.
Categories, ``area`` (VIA writes the bounding-box area there) and ``bbox`` are ignored: pixbench derives
everything from the geometry.

Ids are keys: a repeated ``images[].id`` or ``annotations[].id`` is an error naming the file, the id and
both records (a COCO tool indexing by id would silently keep one of them), as is a key repeated inside
a JSON object. Annotations may lack an id (PixCV-Bench's RLE masks do). A reader may be told of known
repeats of a release (``known_id_repeats``), which are then warnings.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pixbench.annotation import rle as rle_ops
from pixbench.annotation.findings import Findings
from pixbench.annotation.rle import MaskError, Rle


@dataclass(frozen=True)
class ImageEntry:
    """An image of an annotation file; sizes are ``None`` when the file does not give them."""

    id: int
    file_name: str
    height: int | None = None
    width: int | None = None


@dataclass(frozen=True)
class Region:
    """One annotated region: polygons in image pixels, or an RLE on its own canvas."""

    image_id: int
    index: int
    annotation_id: int | None = None
    polygons: tuple[tuple[float, ...], ...] = ()
    rle: Rle | None = None

    @property
    def label(self) -> str:
        """``image 5, annotation 12`` (or the position in the file when it has no id)."""
        ann = f"annotation {self.annotation_id}" if self.annotation_id is not None else f"annotation #{self.index}"
        return f"image {self.image_id}, {ann}"

    def to_rle(self, height: int, width: int) -> Rle:
        """The region as a mask of the image's size: polygons rasterised there, RLE resized there."""
        if self.rle is not None:
            return rle_ops.resize_nearest(self.rle, height, width)
        return rle_ops.from_polygons(self.polygons, height, width)


@dataclass
class AnnotationSet:
    """Images (in file order) and their regions (every image has an entry, maybe empty)."""

    path: str
    images: dict[int, ImageEntry] = field(default_factory=dict)
    regions: dict[int, list[Region]] = field(default_factory=dict)

    def by_file_name(self) -> dict[str, ImageEntry]:
        return {image.file_name: image for image in self.images.values()}

    @property
    def region_count(self) -> int:
        return sum(len(regions) for regions in self.regions.values())


def _as_int(value: Any) -> int | None:
    """An int from an int or an integral string/float; ``None`` otherwise."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None


def parse_polygons(segmentation: Any) -> tuple[tuple[float, ...], ...]:
    """Flat polygons from a COCO ``segmentation`` list (one flat list is accepted as one polygon).

    Raises ``ValueError`` for anything that is not a list of lists of finite or non-finite numbers;
    geometric checks (length, NaN, area) belong to :mod:`pixbench.annotation.validate`.
    """
    if not isinstance(segmentation, list):
        raise ValueError(f"Expected a list of polygons, but got {type(segmentation).__name__}")
    if segmentation and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in segmentation):
        segmentation = [segmentation]
    polygons = []
    for part in segmentation:
        if not isinstance(part, list) or not all(
                isinstance(v, (int, float)) and not isinstance(v, bool) for v in part):
            raise ValueError("Expected each polygon to be a flat list of numbers [x1, y1, x2, y2, ...]")
        polygons.append(tuple(float(v) for v in part))
    return tuple(polygons)


def parse_segmentation(segmentation: Any) -> tuple[tuple[tuple[float, ...], ...], Rle | None]:
    """``(polygons, rle)`` of a COCO ``segmentation`` value; exactly one of them is set."""
    if isinstance(segmentation, Mapping):
        return (), rle_ops.normalize(segmentation)
    return parse_polygons(segmentation), None


UNREADABLE = object()


def load_json(path: Path, report: Findings) -> Any:
    """The decoded file, or a sentinel after reporting that it is missing or not JSON.

    A key repeated inside one JSON object is an error (``json`` would keep the last value silently:
    in a VIA file, whose objects are keyed by image, that is a lost image).
    """
    repeated: list[str] = []

    def unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        result = dict(pairs)
        if len(result) != len(pairs):
            seen: set[str] = set()
            for key, _ in pairs:
                if key in seen:
                    repeated.append(key)
                seen.add(key)
        return result

    try:
        data = json.loads(path.read_text(encoding="utf-8"), object_pairs_hook=unique_keys)
    except FileNotFoundError:
        report.error(str(path), "", "", "file not found")
        return UNREADABLE
    except IsADirectoryError:
        report.error(str(path), "", "", "is a folder, not a JSON file")
        return UNREADABLE
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError, ValueError) as exc:
        report.error(str(path), "", "", f"not valid JSON: {exc}")
        return UNREADABLE
    for key in dict.fromkeys(repeated):
        report.error(str(path), "", "", f"duplicate key {key!r} in a JSON object (only its last value would be kept)")
    return data


def read_coco_json(path: str | Path, report: Findings, *,
                   known_id_repeats: Mapping[int, Collection[int]] | None = None) -> AnnotationSet:
    """Read a COCO-style annotation file; problems go to ``report`` and bad records are skipped.

    ``known_id_repeats`` maps an annotation id to the image ids of its known, tolerated repeats (a
    quirk of a released file): an id used once on each of exactly those images is a warning.
    """
    path = Path(path)
    result = AnnotationSet(path=str(path))
    data = load_json(path, report)
    if data is UNREADABLE:
        return result
    name = str(path)
    if not isinstance(data, dict) or not isinstance(data.get("images"), list) \
            or not isinstance(data.get("annotations"), list):
        report.error(name, "", "", "expected a COCO json object with 'images' and 'annotations' lists")
        return result
    _read_images(data["images"], result, report)
    _read_regions(data["annotations"], result, report)
    check_annotation_ids(result, report, known_id_repeats or {})
    return result


def check_annotation_ids(annotations: AnnotationSet, report: Findings,
                         known_id_repeats: Mapping[int, Collection[int]]) -> None:
    """Findings annotation ids used more than once: errors, or warnings for the known repeats."""
    by_id: dict[int, list[Region]] = {}
    for regions in annotations.regions.values():
        for region in regions:
            if region.annotation_id is not None:
                by_id.setdefault(region.annotation_id, []).append(region)
    for annotation_id, regions in sorted(by_id.items()):
        if len(regions) < 2:
            continue
        regions.sort(key=lambda r: r.index)
        images = [r.image_id for r in regions]
        known = known_id_repeats.get(annotation_id)
        if known is not None and sorted(images) == sorted(set(known)):
            report.warning(annotations.path, f"annotation id {annotation_id} (images {', '.join(map(str, images))})",
                           "id", "repeated annotation id, known in the release (two exports merged, each "
                                 "numbered from 1); both annotations are kept")
            continue
        first = regions[0]
        for region in regions[1:]:
            report.error(annotations.path, f"annotations[{region.index}] (image {region.image_id})", "id",
                         f"duplicate annotation id {annotation_id}, first at annotations[{first.index}] "
                         f"(image {first.image_id})")


def _read_images(entries: Sequence[Any], result: AnnotationSet, report: Findings) -> None:
    first_at: dict[int, int] = {}
    for position, entry in enumerate(entries):
        record = f"images[{position}]"
        if not isinstance(entry, dict):
            report.error(result.path, record, "", "expected an object")
            continue
        image_id = _as_int(entry.get("id"))
        if image_id is None:
            report.error(result.path, record, "id", f"expected an integer id, but got {entry.get('id')!r}")
            continue
        if image_id in first_at:
            report.error(result.path, f"image {image_id}", "id",
                         f"duplicate image id {image_id} at images[{position}], first at images[{first_at[image_id]}]")
            continue
        first_at[image_id] = position
        file_name = entry.get("file_name")
        if not isinstance(file_name, str) or not file_name:
            report.error(result.path, f"image {image_id}", "file_name", "missing file name")
            continue
        height, width = _as_int(entry.get("height")), _as_int(entry.get("width"))
        if (height is None) != (width is None) or (height is not None and (height <= 0 or width <= 0)):  # type: ignore[operator]
            report.error(result.path, f"image {image_id}", "height/width",
                         f"invalid size {entry.get('height')!r} x {entry.get('width')!r}")
            height = width = None
        result.images[image_id] = ImageEntry(image_id, file_name.lstrip("/"), height, width)
        result.regions[image_id] = []


def _read_regions(entries: Sequence[Any], result: AnnotationSet, report: Findings) -> None:
    for position, entry in enumerate(entries):
        record = f"annotations[{position}]"
        if not isinstance(entry, dict):
            report.error(result.path, record, "", "expected an object")
            continue
        image_id = _as_int(entry.get("image_id"))
        if image_id is None or image_id not in result.images:
            report.error(result.path, record, "image_id",
                         f"refers to image {entry.get('image_id')!r}, which the file does not list")
            continue
        # Ids name records in messages and must be unique (see check_annotation_ids); some files lack them.
        annotation_id = _as_int(entry.get("id"))
        if annotation_id is None and entry.get("id") is not None:
            report.error(result.path, record, "id", f"expected an integer id, but got {entry.get('id')!r}")
        region = Region(image_id, position, annotation_id)
        try:
            polygons, rle = parse_segmentation(entry.get("segmentation"))
        except (ValueError, MaskError, TypeError) as exc:
            report.error(result.path, region.label, "segmentation", str(exc))
            continue
        if rle is None and not polygons:
            report.warning(result.path, region.label, "segmentation", "empty polygon list")
        result.regions[image_id].append(
            Region(image_id, position, annotation_id, polygons=polygons, rle=rle))

