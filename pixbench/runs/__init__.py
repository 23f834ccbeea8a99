"""One run engine for every producer of predictions: ``pixbench run`` (a served model), ``baseline
attend-segment`` and the video baselines ``video-ground`` / ``text-track``.

A producer writes ``OUT`` (JSON lines) and keeps beside it

- ``OUT.run.json``: its identity and settings (:mod:`.record`); a resumed run must have the same;
- ``OUT.lock``: held while it runs, so that a second process on the same ``OUT`` stops at once
  (:mod:`.lock`);
- ``OUT.shard-R-of-N.jsonl``: the lines of process R of N of a data-parallel run, merged into ``OUT`` at
  the end (:mod:`.output`).

Every producer goes through the same steps, in this order: take the lock (the main process of a
data-parallel run); :func:`start_run`: read ``OUT`` whole and refuse what it may not resume (another
model's lines, a user's line without its newline, lines without a run file), check the run file's
settings, make the only repairs allowed (its own partial or unterminated last line), write the run file and
return the keys already done (``OUT`` and the shards); then append lines with :class:`LineWriter` (to
``OUT`` or to its shard, each flushed) and, for sharded producers, :func:`merge_shards`. A line is done when
its :func:`line_key` (model, benchmark, id, probe, variant, layout: a prediction's own key) is there.
"""

from pixbench.runs.lock import OutputLocked, exclusive_output, lock_path
from pixbench.runs.output import (
    ExistingOutput,
    LineKey,
    LineWriter,
    OutputError,
    existing_keys,
    line_key,
    merge_shards,
    output_lines,
    read_existing_output,
    repair_output,
    rewrite_output,
    shard_path,
    shards_of,
)
from pixbench.runs.record import RUN_FORMAT, RunError, run_file, start_run

__all__ = [
    "RUN_FORMAT",
    "ExistingOutput",
    "LineKey",
    "LineWriter",
    "OutputError",
    "OutputLocked",
    "RunError",
    "exclusive_output",
    "existing_keys",
    "line_key",
    "lock_path",
    "merge_shards",
    "output_lines",
    "read_existing_output",
    "repair_output",
    "rewrite_output",
    "run_file",
    "shard_path",
    "shards_of",
    "start_run",
]
