"""MoCentric-Bench's demo hook (the contract: :mod:`pixbench.benchmarks.demo`).

:func:`build_demo` writes a synthetic MeViS (:func:`.synthetic.write_synthetic_mevis`: four videos of moving
shapes, 14 expressions, 7 of them reversed) under ``work / "raw" / "mevis"`` and builds it into
``work / "MoCentric-Bench"``; :func:`demo_predictions` gives two made-up video models, one that follows the
motion and one that only sees appearance, on every probe.
"""

from __future__ import annotations

from pathlib import Path

from pixbench.annotation import rle as rle_ops
from pixbench.benchmarks.demo import DemoBuild
from pixbench.benchmarks.mocentric import build as builder
from pixbench.benchmarks.mocentric.rows import VideoReference
from pixbench.benchmarks.mocentric.rules import MOCENTRIC
from pixbench.benchmarks.mocentric.synthetic import write_synthetic_mevis
from pixbench.benchmarks.mocentric.views import PROBES, probe_view, resolve_layout
from pixbench.prediction_records import Prediction

__all__ = ["build_demo", "demo_predictions"]


def build_demo(work: Path) -> DemoBuild:
    """MoCentric-Bench on a synthetic MeViS written under ``work / "raw" / "mevis"``, built into
    ``work / "MoCentric-Bench"``."""
    raw = write_synthetic_mevis(work / "raw" / "mevis")
    result = builder.build(mevis_root=raw.root, keyframes=raw.keyframes, reverse_expressions=raw.reverse_expressions,
                           out_dir=work / MOCENTRIC.display_name)
    summary = result.summary
    return DemoBuild(Path(result.out_dir),
                     f"built {MOCENTRIC.name}: {summary['expressions']} expressions ({summary['reversed_expressions']} "
                     f"reversed) in {summary['videos']} synthetic videos -> {result.out_dir}")


def demo_predictions(reference: VideoReference) -> dict[str, list[Prediction]]:
    """Two made-up video models on every MoCentric-Bench probe (pair probes in their default layout).

    ``demo-motion-aware`` answers as a model that follows the motion would: the object on the moving
    frames, nothing on the static clip, the real clip's half of a pair. ``demo-appearance-only`` segments
    what the object looks like wherever it is: the still keyframe too, both halves of a pair, and the
    original order of a reversed clip.
    """
    out: dict[str, list[Prediction]] = {"demo-motion-aware": [], "demo-appearance-only": []}
    for probe in PROBES:
        layout = resolve_layout(probe, None)
        for row_id, row in reference.rows_for(probe).items():
            view = probe_view(probe=probe, layout=layout, frame_names=row.frame_names, keyframe=row.keyframe,
                              height=row.height, width=row.width)
            truth = view.ground_truth(list(row.masks))
            aware: list[rle_ops.Rle | None] = [None] * view.length if probe == "static" else list(truth)
            looks = list(truth)
            if probe in ("reversed", "reversed-pair"):  # ignores the reversal: the original order
                looks = list(reversed(truth))
            if view.other is not None and view.other_frames is not None:  # also segments the distractor half
                row0, col0 = view.other[0].start, view.other[1].start
                looks = [rle_ops.union([mask, rle_ops.place(row.masks[other], *view.canvas, row=row0, column=col0)],
                                       *view.canvas) for mask, other in zip(looks, view.other_frames)]
            for model, frames in (("demo-motion-aware", aware), ("demo-appearance-only", looks)):
                out[model].append(Prediction(benchmark=reference.benchmark, id=row_id, probe=probe, layout=layout,
                                             model=model, frames=tuple(frames)))
    return out
