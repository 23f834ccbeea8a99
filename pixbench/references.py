"""Ground truth for scoring, read straight from a built benchmark's parquet shards (images skipped).

The scorer needs ids, sizes, masks and texts, not pixels, so each benchmark reads its columns with
pyarrow rather than through ``datasets`` (which would decode and cache images;
:meth:`pixbench.benchmarks.base.Benchmark.read_reference`): a built folder is read in place; a hub id is
fetched with ``huggingface_hub.snapshot_download`` (the local cache, or the hub). The reference also
records which dataset revision was scored.

Anything wrong with the files (a truncated or corrupted shard, missing columns, null or malformed
values, a repeated id, an unreadable build summary) raises :class:`ReferenceError` naming the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pixbench.benchmarks import REGISTRY, ImageBenchmark, UnknownBenchmarkError, get_benchmark, hub_id_of
from pixbench.builds.layout import BUILD_SUMMARY_FILE, content_hash
from pixbench.builds.shards import ShardError, one_line
from pixbench.ground_truth import Reference, ReferenceRow
from pixbench.loaders.sources import SourceError, check_hub, hub_failure, locate

__all__ = ["Reference", "ReferenceError", "ReferenceRow", "load_reference", "local_folder"]


class ReferenceError(ValueError):
    """The ground truth could not be read (not a built benchmark, wrong benchmark, a damaged file,
    unreachable hub); the message is one line naming the file."""


def _local_folder(benchmark: str, path_or_hub_id: str, revision: str | None) -> tuple[Path, dict[str, str]]:
    what, argument = f"{benchmark} data", f"--data {benchmark}=PATH"
    try:
        source = locate(path_or_hub_id if Path(path_or_hub_id).expanduser().exists() else hub_id_of(path_or_hub_id),
                        what=what, argument=argument)
        if source.kind == "hub":
            check_hub(source.value, what=what, argument=argument)
    except SourceError as exc:
        raise ReferenceError(str(exc)) from None
    if source.kind == "path":
        folder = Path(source.value)
        if not folder.is_dir():
            raise ReferenceError(f"{what}: {folder} is a file, not a built benchmark folder; pass {argument}")
        try:
            digest = content_hash(folder, get_benchmark(benchmark).reference_files(folder))
        except OSError as exc:
            raise ReferenceError(f"cannot read the {benchmark} data folder {folder}: {one_line(exc)}") from None
        return folder, {"path": str(folder.resolve()), "sha256": digest}
    repo_id = source.value
    try:
        from huggingface_hub import HfApi, snapshot_download

        local = snapshot_download(repo_id, repo_type="dataset", revision=revision,
                                  allow_patterns=["README.md", BUILD_SUMMARY_FILE, "data/*.parquet"])
        commit = revision or "unknown"
        try:
            commit = str(HfApi().dataset_info(repo_id, revision=revision).sha)
        except Exception:  # offline with a cached snapshot: name the snapshot folder instead
            commit = Path(local).name
    except Exception as exc:
        raise ReferenceError(f"{hub_failure(exc, repo_id, what=what, argument=argument)} (build it with `pixbench "
                             "build`)") from None
    return Path(local), {"hub_id": repo_id, "commit": commit}


def local_folder(benchmark: str, path_or_hub_id: str, *, revision: str | None = None) -> Path:
    """The local folder of a benchmark's build: the folder itself, or the hub copy's snapshot (its parquet
    shards, images included); :class:`ReferenceError` as :func:`load_reference` says it."""
    return _local_folder(benchmark, path_or_hub_id, revision)[0]


def load_reference(benchmark: str, path_or_hub_id: str, *, revision: str | None = None) -> Any:
    """Read a benchmark's ground truth from a built folder or hub id (the benchmark's
    :meth:`~pixbench.benchmarks.base.Benchmark.read_reference`); :class:`ReferenceError` naming the file."""
    try:
        spec = get_benchmark(benchmark)
    except UnknownBenchmarkError as exc:
        raise ReferenceError(str(exc)) from None
    folder, origin = _local_folder(benchmark, path_or_hub_id, revision)
    try:
        return spec.read_reference(folder, origin)
    except ShardError as exc:
        hint = ""
        if exc.missing:
            other = next((b.name for b in REGISTRY.values()
                          if b is not spec and isinstance(b, ImageBenchmark)
                          and set(b.reference_columns) <= set(exc.columns)), None)
            hint = f" (it looks like {other})" if other else ""
        raise ReferenceError(f"{exc}{hint}") from None
    except ValueError as exc:
        raise ReferenceError(str(exc)) from None
