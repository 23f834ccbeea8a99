"""PixMMVP's demo hook (the contract: :mod:`pixbench.benchmarks.demo`).

:func:`build_demo` writes the tiny benchmark's raw inputs (:func:`.synthetic.write_tiny_mmvp`: 8 questions,
4 pairs) under ``work / "raw"`` and builds them into ``work / "PixMMVP"``; :func:`demo_predictions` is the
made-up models the image benchmarks share (:func:`~pixbench.benchmarks.demo.image_demo_predictions`).
"""

from __future__ import annotations

from pathlib import Path

from pixbench.benchmarks.demo import DemoBuild
from pixbench.benchmarks.demo import image_demo_predictions as demo_predictions
from pixbench.benchmarks.pixmmvp import build as builder
from pixbench.benchmarks.pixmmvp.rules import PIXMMVP
from pixbench.benchmarks.pixmmvp.synthetic import write_tiny_mmvp

__all__ = ["build_demo", "demo_predictions"]


def build_demo(work: Path) -> DemoBuild:
    """The tiny PixMMVP, built from synthetic inputs under ``work / "raw"`` into ``work / "PixMMVP"``."""
    raw = write_tiny_mmvp(work / "raw")
    result = builder.build(annotations_dir=raw.annotations, mmvp_dir=raw.mmvp_dir, out_dir=work / PIXMMVP.display_name)
    summary = result.summary
    return DemoBuild(Path(result.out_dir), f"built {PIXMMVP.name}: {summary['rows']} rows, "
                                           f"{summary['instance_masks']} instance masks -> {result.out_dir}")
