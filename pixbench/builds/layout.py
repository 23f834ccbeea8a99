"""Names and light helpers of a built benchmark folder, importable without ``datasets``.

A built folder holds ``README.md`` (the dataset card), ``build_summary.json`` and
``data/test-*.parquet``; the published copies live in the hub repos the benchmark registry names
(:attr:`pixbench.benchmarks.base.Benchmark.hub_id`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

BUILD_SUMMARY_FILE = "build_summary.json"
SPLIT = "test"


def content_hash(folder: Path, files: Sequence[Path] | None = None) -> str:
    """sha256 over the data shards' names and bytes (``files``: only those, e.g. the shards scoring reads):
    identifies a local build's content. Files are read 1 MiB at a time."""
    digest = hashlib.sha256()
    for path in sorted((folder / "data").rglob("*.parquet") if files is None else files):
        digest.update(path.relative_to(folder).as_posix().encode())
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def summary_benchmark(folder: str | Path) -> str:
    """The benchmark a built folder holds, as its ``build_summary.json`` names it; ``ValueError`` naming the
    file when there is none, it cannot be read, or its ``benchmark`` field is not a name (callers check the name
    against the registry and add how to name the benchmark instead)."""
    summary = Path(folder).expanduser() / BUILD_SUMMARY_FILE
    if not summary.is_file():
        raise ValueError(f"no {BUILD_SUMMARY_FILE} in that folder")
    try:
        record = json.loads(summary.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"{summary}: unreadable build summary ({type(exc).__name__}: {exc})") from None
    benchmark = record.get("benchmark") if isinstance(record, dict) else None
    if not isinstance(benchmark, str) or not benchmark:
        raise ValueError(f"{summary}: field 'benchmark': expected a benchmark name, but got {benchmark!r}")
    return benchmark
