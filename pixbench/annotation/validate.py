"""Geometric checks of annotated regions, with shapely for polygons and run decoding for RLE.

Errors (the region cannot be trusted; builds stop): an odd number of coordinates, fewer than 3
points, NaN or infinite coordinates, zero area, points far outside the image, an RLE whose runs do not
decode to its canvas. Warnings (kept, reported): self-intersections (rasterised as COCO would, which
fills by scan line), points slightly outside the image (COCO clips them), and empty masks.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from shapely.geometry import Polygon
from shapely.validation import explain_validity

from pixbench.annotation.coco import AnnotationSet, Region
from pixbench.annotation.findings import Findings, Problem, Severity

#: Points more than this many pixels outside the image (or this fraction of its side) are errors.
OUTSIDE_TOLERANCE_PX = 2.0
FAR_OUTSIDE_FRACTION = 0.05


def polygon_findings(polygon: Sequence[float], height: int | None = None,
                     width: int | None = None) -> list[tuple[Severity, str]]:
    """Problems of one flat polygon ``[x1, y1, ...]``; sizes enable the outside-the-image checks."""
    findings: list[tuple[Severity, str]] = []
    if len(polygon) % 2:
        return [("error", f"odd number of coordinates ({len(polygon)})")]
    if len(polygon) < 6:
        return [("error", f"fewer than 3 points ({len(polygon) // 2})")]
    if any(not math.isfinite(v) for v in polygon):
        return [("error", "NaN or infinite coordinate")]
    shape = Polygon(list(zip(polygon[0::2], polygon[1::2])))
    if shape.convex_hull.area == 0:
        findings.append(("error", "zero area (collinear or repeated points)"))
    elif not shape.is_valid:
        findings.append(("warning", f"self-intersection: {explain_validity(shape)} "
                                    "(rasterised as COCO does, by scan line)"))
    if height is not None and width is not None:
        xs, ys = polygon[0::2], polygon[1::2]
        overshoot = max(-min(xs), -min(ys), max(xs) - width, max(ys) - height, 0.0)
        far = max(OUTSIDE_TOLERANCE_PX, FAR_OUTSIDE_FRACTION * max(height, width))
        if overshoot > far:
            findings.append(("error", f"points up to {overshoot:.1f} px outside the {width}x{height} image"))
        elif overshoot > OUTSIDE_TOLERANCE_PX:
            findings.append(("warning", f"points up to {overshoot:.1f} px outside the image (clipped)"))
    return findings


def check_region(region: Region, file: str, report: Findings, height: int | None = None,
                 width: int | None = None) -> bool:
    """Add the findings of one region to ``report``; True when it has no error."""
    ok = True
    for part, polygon in enumerate(region.polygons):
        field = "segmentation" if len(region.polygons) == 1 else f"segmentation[{part}]"
        for severity, message in polygon_findings(polygon, height, width):
            ok = ok and severity != "error"
            report.problems.append(Problem(severity, file, region.label, field, message))
    return ok


def check_annotation_set(annotations: AnnotationSet, report: Findings,
                         sizes: dict[int, tuple[int, int]] | None = None) -> None:
    """Check every region; ``sizes`` maps image id to ``(height, width)`` where the file lacks them."""
    for image_id, regions in annotations.regions.items():
        image = annotations.images[image_id]
        height, width = (sizes or {}).get(image_id, (image.height, image.width))
        for region in regions:
            check_region(region, annotations.path, report, height, width)

