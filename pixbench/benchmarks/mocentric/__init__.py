"""MoCentric-Bench: everything the package knows of this benchmark, in one folder.

- :mod:`.rules`: its identity, hub copy, ground truth, line checks, scoring rules, resampling and report
  columns (the registry entry :data:`MOCENTRIC`);
- :mod:`.build`: its builder (raw inputs to a hub folder), imported only when building (it needs ``datasets``);
- ``card.md``: the dataset card template the builder fills.
"""

from pixbench.benchmarks.mocentric.rules import MOCENTRIC, SHARD_PREFIX

__all__ = ["MOCENTRIC", "SHARD_PREFIX"]
