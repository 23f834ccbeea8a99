"""Names and light helpers of a built benchmark folder, importable without ``datasets``.

A built folder holds ``README.md`` (the dataset card), ``build_summary.json`` and
``data/test-*.parquet``; the published copies live in the hub repos the benchmark registry names
(:attr:`pixbench.benchmarks.base.Benchmark.hub_id`).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

BUILD_SUMMARY_FILE = "build_summary.json"
SPLIT = "test"


def content_hash(folder: Path) -> str:
    """sha256 over the data shards' names and bytes: identifies a local build's content."""
    digest = hashlib.sha256()
    for path in sorted((folder / "data").rglob("*.parquet")):
        digest.update(path.relative_to(folder).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()
