"""pixbench: build, load and score PixMMVP and PixCV-Bench.

Both benchmarks pair a visual question with a referring expression and a ground-truth segmentation
mask, so one run measures question answering and pixel grounding. Masks are COCO RLE throughout.
"""

from __future__ import annotations

from typing import Any

from pixbench.version import __version__

__all__ = ["__version__", "decode_masks", "draw_row", "load"]


def __getattr__(name: str) -> Any:
    # Loading helpers import `datasets`; keep `import pixbench` light for the CLI and the metrics.
    if name in ("load", "decode_masks"):
        from pixbench.loaders import hub

        return getattr(hub, name)
    if name == "draw_row":
        from pixbench.loaders.review import row_overlay

        return row_overlay
    raise AttributeError(f"module 'pixbench' has no attribute {name!r}")
