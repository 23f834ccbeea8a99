"""PixCV-Bench's demo hook (the contract: :mod:`pixbench.benchmarks.demo`).

:func:`build_demo` writes the tiny benchmark's raw inputs (:func:`.synthetic.write_tiny_cvbench`: 6 questions
and a 3D row the builder skips) under ``work / "raw"`` and builds them into ``work / "PixCV-Bench"``;
:func:`demo_predictions` is the made-up models the image benchmarks share
(:func:`~pixbench.benchmarks.demo.image_demo_predictions`).
"""

from __future__ import annotations

from pathlib import Path

from pixbench.benchmarks.demo import DemoBuild
from pixbench.benchmarks.demo import image_demo_predictions as demo_predictions
from pixbench.benchmarks.pixcvbench import build as builder
from pixbench.benchmarks.pixcvbench.rules import PIXCVBENCH
from pixbench.benchmarks.pixcvbench.synthetic import write_tiny_cvbench

__all__ = ["build_demo", "demo_predictions"]


def build_demo(work: Path) -> DemoBuild:
    """The tiny PixCV-Bench, built from synthetic inputs under ``work / "raw"`` into ``work / "PixCV-Bench"``."""
    raw = write_tiny_cvbench(work / "raw")
    result = builder.build(cvbench_paths=[raw.parquet], annotations_dir=raw.annotations,
                           out_dir=work / PIXCVBENCH.display_name)
    summary = result.summary
    return DemoBuild(Path(result.out_dir), f"built {PIXCVBENCH.name}: {summary['rows']} rows, "
                                           f"{summary['instance_masks']} instance masks -> {result.out_dir}")
