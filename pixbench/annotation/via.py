"""Reader for VGG Image Annotator (VIA) native json: project files and "export annotations (json)".

VIA 2 writes ``{key: {"filename", "size", "regions": [{"shape_attributes": {...},
"region_attributes": {...}}], "file_attributes": {...}}}``; a saved project wraps that mapping in
``{"_via_img_metadata": ..., "_via_image_id_list": [...], ...}``; VIA 1 stored ``regions`` as a dict
keyed by ``"0"``, ``"1"``, .... Shapes become polygons in image pixels: ``polygon`` as drawn, ``rect``
as its four corners, ``circle`` and ``ellipse`` sampled at 64 points. ``point`` and ``polyline`` enclose
no area and are reported. Images get ids 1, 2, ... in file order (VIA has no numeric ids) and no size
(VIA's ``size`` is the file size in bytes).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from pixbench.annotation.coco import UNREADABLE, AnnotationSet, ImageEntry, Region, load_json
from pixbench.annotation.findings import Findings

_ELLIPSE_POINTS = 64


def _ellipse(cx: float, cy: float, rx: float, ry: float, theta: float = 0.0) -> tuple[float, ...]:
    points: list[float] = []
    cos_t, sin_t = math.cos(theta), math.sin(theta)
    for k in range(_ELLIPSE_POINTS):
        angle = 2 * math.pi * k / _ELLIPSE_POINTS
        x, y = rx * math.cos(angle), ry * math.sin(angle)
        points += [cx + x * cos_t - y * sin_t, cy + x * sin_t + y * cos_t]
    return tuple(points)


def shape_to_polygon(shape: dict[str, Any]) -> tuple[float, ...]:
    """A flat ``[x1, y1, ...]`` polygon for a VIA ``shape_attributes`` dict; ValueError if it has no area."""
    name = shape.get("name")
    try:
        if name == "polygon":
            xs, ys = shape["all_points_x"], shape["all_points_y"]
            if len(xs) != len(ys):
                raise ValueError(f"all_points_x has {len(xs)} values but all_points_y has {len(ys)}")
            return tuple(float(v) for pair in zip(xs, ys) for v in pair)
        if name == "rect":
            x, y, w, h = (float(shape[k]) for k in ("x", "y", "width", "height"))
            return (x, y, x + w, y, x + w, y + h, x, y + h)
        if name == "circle":
            r = float(shape["r"])
            return _ellipse(float(shape["cx"]), float(shape["cy"]), r, r)
        if name == "ellipse":
            return _ellipse(float(shape["cx"]), float(shape["cy"]), float(shape["rx"]), float(shape["ry"]),
                            float(shape.get("theta", 0.0)))
    except KeyError as exc:
        raise ValueError(f"{name} shape lacks {exc.args[0]!r}") from None
    except TypeError as exc:
        raise ValueError(f"{name} shape has non-numeric coordinates ({exc})") from None
    raise ValueError(f"unsupported VIA shape {name!r} (only polygon, rect, circle and ellipse enclose an area)")


def read_via_json(path: str | Path, report: Findings) -> AnnotationSet:
    """Read a VIA project or VIA json export; problems go to ``report``."""
    path = Path(path)
    name = str(path)
    result = AnnotationSet(path=name)
    data = load_json(path, report)
    if data is UNREADABLE:
        return result
    if isinstance(data, dict) and isinstance(data.get("_via_img_metadata"), dict):
        metadata = data["_via_img_metadata"]
        order = data.get("_via_image_id_list") or list(metadata)
        entries = [(key, metadata[key]) for key in order if key in metadata]
    elif isinstance(data, dict):
        entries = list(data.items())
    else:
        report.error(name, "", "", "expected a VIA json object keyed by image")
        return result
    position = 0
    for image_id, (key, entry) in enumerate(entries, start=1):
        if not isinstance(entry, dict) or not isinstance(entry.get("filename"), str):
            report.error(name, f"entry {key!r}", "filename", "expected an object with a 'filename'")
            continue
        result.images[image_id] = ImageEntry(image_id, entry["filename"])
        result.regions[image_id] = []
        regions = entry.get("regions", [])
        if isinstance(regions, dict):  # VIA 1
            regions = [regions[k] for k in sorted(regions, key=lambda k: int(k) if str(k).isdigit() else 0)]
        for region_number, region in enumerate(regions):
            record = f"{entry['filename']}, region {region_number}"
            shape = region.get("shape_attributes") if isinstance(region, dict) else None
            if not isinstance(shape, dict):
                report.error(name, record, "shape_attributes", "missing")
                continue
            try:
                polygon = shape_to_polygon(shape)
            except ValueError as exc:
                report.error(name, record, "shape_attributes", str(exc))
                continue
            result.regions[image_id].append(Region(image_id, position, region_number, polygons=(polygon,)))
            position += 1
    return result
