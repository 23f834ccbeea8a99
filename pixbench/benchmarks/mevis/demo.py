"""MeViS's demo hook (the contract: :mod:`pixbench.benchmarks.demo`).

:func:`build_demo` writes a synthetic ``valid_u`` holding both versions (:func:`.synthetic.write_synthetic_release`:
four videos of moving shapes, 14 v1 and 18 v2 expressions, 3 of them no-target) under
``work / "raw" / "mevis-release"`` and builds it into ``work / "MeViS"``; :func:`demo_predictions` gives two
made-up models on v2, the version with no-target expressions (one model's lines answer one version).
"""

from __future__ import annotations

from pathlib import Path

from pixbench.annotation.rle import Rle
from pixbench.benchmarks.demo import DemoBuild
from pixbench.benchmarks.mevis import build as builder
from pixbench.benchmarks.mevis.rows import MevisReference, MevisRow
from pixbench.benchmarks.mevis.rules import MEVIS
from pixbench.benchmarks.mevis.synthetic import write_synthetic_release
from pixbench.prediction_records import Prediction

__all__ = ["build_demo", "demo_predictions"]


def build_demo(work: Path) -> DemoBuild:
    """MeViS v1 and v2 on a synthetic release written under ``work / "raw" / "mevis-release"``, built into
    ``work / "MeViS"``."""
    raw = write_synthetic_release(work / "raw" / "mevis-release")
    result = builder.build(mevis_root=raw.root, out_dir=work / MEVIS.display_name)
    summary = result.summary
    return DemoBuild(Path(result.out_dir),
                     f"built {MEVIS.name}: {summary['v1']['expressions']} v1 and {summary['v2']['expressions']} v2 "
                     f"expressions ({summary['v2']['no_target_expressions']} no-target) in {summary['videos']} "
                     f"synthetic videos -> {result.out_dir}")


def _fading(row: MevisRow) -> list[Rle | None]:
    """The truth over the first three quarters of the frames, nothing afterwards (the object lost)."""
    kept = -(-3 * len(row.masks) // 4)
    return [*row.masks[:kept], *[None] * (len(row.masks) - kept)]


def demo_predictions(reference: MevisReference) -> dict[str, list[Prediction]]:
    """Two made-up models on the build's v2 expressions (its first version when it has no v2).

    ``demo-tracker`` segments the object right but loses it in the last quarter of the frames (the decay
    shows it), and answers a no-target expression with nothing. ``demo-always-segments`` segments every target
    right, and for a no-target expression segments an object of the video anyway (the one of the video's first
    target expression): J&F over targets is perfect, N-acc is 0.
    """
    version = "v2" if "v2" in reference.versions else next(iter(reference.versions))
    rows = reference.rows_for(version)
    first_target: dict[str, MevisRow] = {}
    for row in rows.values():
        if not row.no_target:
            first_target.setdefault(row.video_id, row)
    out: dict[str, list[Prediction]] = {"demo-tracker": [], "demo-always-segments": []}
    for row_id, row in rows.items():
        some_object = first_target[row.video_id].masks if row.video_id in first_target else row.masks
        answers: dict[str, list[Rle | None]] = {
            "demo-tracker": [None] * len(row.masks) if row.no_target else _fading(row),
            "demo-always-segments": list(some_object if row.no_target else row.masks)}
        for model, frames in answers.items():
            out[model].append(Prediction(benchmark=reference.benchmark, id=row_id, probe=version, model=model,
                                         frames=tuple(frames)))
    return out
