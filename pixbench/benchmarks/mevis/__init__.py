"""MeViS (``valid_u`` of v1 and v2): everything the package knows of this benchmark, in one folder.

- :mod:`.rules`: its identity, ground truth, line checks, resampling and report columns (the registry entry
  :data:`MEVIS`);
- :mod:`.rows`: its rows (expressions with their per-frame masks, the no-target flag and the release's type)
  and the ground truth read from a build;
- :mod:`.scoring`: one model's lines to a result under the official rules (J, F, J&F on native frames with
  :mod:`pixbench.metrics.video`, missing = 0; v2's no-target rule);
- :mod:`.protocols`: the scoring protocols (``official``, ``lmms-eval``: dropped lines, frames re-sampled at
  ``--fps``) and the stamp every result carries;
- :mod:`.build`: its builder (a MeViS release folder to a hub folder), imported only when building; it shares
  the MeViS reading and the frame storage with MoCentric-Bench's (:mod:`pixbench.benchmarks.mevis_release`,
  :mod:`pixbench.benchmarks.streamed_build`);
- :mod:`.synthetic`: a made-up ``valid_u`` with both versions; :mod:`.demo`: the ``pixbench demo`` hook;
- ``card.md``: the dataset card template the builder fills (CC BY-NC-SA 4.0; pixbench never ships the data).
"""

from pixbench.benchmarks.mevis.rules import MEVIS, VERSIONS

__all__ = ["MEVIS", "VERSIONS"]
