"""Overlays of a built benchmark's rows for review (``pixbench show``)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from PIL import Image

from pixbench.annotation.draw import blank_image, contact_sheet, overlay
from pixbench.loaders.hub import load


def row_overlay(row: dict[str, Any]) -> Image.Image:
    """The row's image (or a grey canvas) with its instance masks and raw polygons drawn over it."""
    image = row.get("image")
    base = image.convert("RGB") if isinstance(image, Image.Image) else blank_image(row["height"], row["width"])
    return overlay(base, masks=row.get("instance_masks") or [], polygons=row.get("polygons") or [])


def row_label(row: dict[str, Any]) -> str:
    return f"{row['id']}: {row.get('expression') or '(no object)'}"


def write_overlays(dataset: Path, out_dir: Path, *, ids: Sequence[int] | None = None,
                   limit: int = 16) -> list[Path]:
    """Write ``<id>.png`` for the chosen rows and ``contact_sheet.png``; return the paths written."""
    ds = load(str(dataset))
    positions = {int(i): k for k, i in enumerate(ds["id"])}
    if ids is None:
        chosen = list(positions)[:limit]
    else:
        unknown = [i for i in ids if i not in positions]
        if unknown:
            raise KeyError(f"ids not in {dataset}: {unknown}")
        chosen = list(ids)
    out_dir.mkdir(parents=True, exist_ok=True)
    written, tiles, labels = [], [], []
    for row_id in chosen:
        row = ds[positions[row_id]]
        picture = row_overlay(row)
        path = out_dir / f"{row_id}.png"
        picture.save(path)
        written.append(path)
        tiles.append(picture)
        labels.append(row_label(row))
    sheet = out_dir / "contact_sheet.png"
    contact_sheet(tiles, labels).save(sheet)
    return [*written, sheet]
