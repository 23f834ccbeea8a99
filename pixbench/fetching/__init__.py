"""Getting the raw inputs of the builders: download, verify, resume and lay out what the benchmarks declare.

Each benchmark folder says in its ``fetch.py`` where its raw inputs are published and which folder name its
builder option expects (:mod:`pixbench.benchmarks.raw_inputs`); this package, above the registry, does the rest:

- :mod:`.inputs`: the declarations gathered by name (``mmvp``, ``cvbench``, ``annotations``, ``mevis``), the
  reachability check that fails in seconds when offline, and the same steps written for a person;
- :mod:`.folders`: plan a folder from the repo's file metadata, keep what is already there and right, download
  the rest, verify every file against the repository's digest, record where it came from;
- :mod:`.transfer`: one file over HTTP with resume across processes, and retries with backoff;
- :mod:`.digests`: sizes, sha256 and git blob ids.

``pixbench fetch`` (:mod:`pixbench.cli.fetch`) is the command.
"""

from __future__ import annotations

from pixbench.fetching.digests import Expected, file_digest, matches
from pixbench.fetching.folders import (
    MANIFEST,
    PARTIAL_FOLDER,
    FetchError,
    FolderReport,
    fetch_folders,
    plan_folder,
)
from pixbench.fetching.inputs import (
    Gathered,
    command_line,
    declared_inputs,
    gather,
    hub_unavailable,
    input_summaries,
    steps_by_hand,
)
from pixbench.fetching.transfer import Retry

__all__ = ["MANIFEST", "PARTIAL_FOLDER", "Expected", "FetchError", "FolderReport", "Gathered", "Retry",
           "command_line", "declared_inputs", "fetch_folders", "file_digest", "gather", "hub_unavailable",
           "input_summaries", "matches", "plan_folder", "steps_by_hand"]
