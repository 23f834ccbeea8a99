"""MoCentric-Bench: everything the package knows of this benchmark, in one folder.

- :mod:`.rules`: its identity, hub copy, ground truth, line checks, resampling and report columns (the
  registry entry :data:`MOCENTRIC`);
- :mod:`.views`: the probes (what each shows, in which layout, and what its right answer is:
  :func:`~.views.probe_view`, the one rule that export, scoring, drawing and the baselines follow);
- :mod:`.rows`: its rows (expressions with their per-frame masks) and the ground truth read from a build;
- :mod:`.scoring`: one model's lines to results, one per probe and layout (:mod:`pixbench.metrics.video`'s
  formulas);
- :mod:`.build`: its builder (raw inputs to a hub folder), imported only when building (it needs ``datasets``);
- ``card.md``: the dataset card template the builder fills.

Tools that read a build of it (export a probe in MeViS layout, draw an expression) are in
:mod:`pixbench.video`, above the registry.
"""

from pixbench.benchmarks.mocentric.rules import MOCENTRIC, SHARD_PREFIX

__all__ = ["MOCENTRIC", "SHARD_PREFIX"]
