"""Ground truth for scoring, read straight from a built benchmark's parquet shards (images skipped).

The scorer needs ids, sizes, masks, questions, options and answers, not pixels, so it reads those
columns with pyarrow rather than through ``datasets`` (which would decode and cache images): a built
folder is read in place; a hub id is fetched with ``huggingface_hub.snapshot_download`` (the local
cache, or the hub). The reference also records which dataset revision was scored and its label set.

Anything wrong with the files (a truncated or corrupted shard, missing columns, null or malformed
values, a repeated id, an unreadable build summary) raises :class:`ReferenceError` naming the file.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from pixbench.annotation import rle as rle_ops
from pixbench.benchmarks import REGISTRY, Benchmark, UnknownBenchmarkError, get_benchmark, hub_id_of
from pixbench.benchmarks.base import Reference, ReferenceRow
from pixbench.loaders.layout import BUILD_SUMMARY_FILE, content_hash

__all__ = ["Reference", "ReferenceError", "ReferenceRow", "load_reference"]

class ReferenceError(ValueError):
    """The ground truth could not be read (not a built benchmark, wrong benchmark, a damaged file,
    unreachable hub); the message is one line naming the file."""


def _one_line(exc: BaseException) -> str:
    """``Type: message`` on one line (pyarrow's messages span several)."""
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _local_folder(benchmark: str, path_or_hub_id: str, revision: str | None) -> tuple[Path, dict[str, str]]:
    folder = Path(path_or_hub_id).expanduser()
    if folder.is_dir():
        try:
            digest = content_hash(folder)
        except OSError as exc:
            raise ReferenceError(f"cannot read the {benchmark} data folder {folder}: {_one_line(exc)}") from None
        return folder, {"path": str(folder.resolve()), "sha256": digest}
    if Path(path_or_hub_id).suffix or path_or_hub_id.startswith((".", "/", "~")):
        raise ReferenceError(f"{benchmark} data folder not found: {path_or_hub_id}")
    repo_id = hub_id_of(path_or_hub_id)
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
        raise ReferenceError(f"cannot fetch the {benchmark} dataset {repo_id!r} from the Hugging Face hub: "
                             f"{type(exc).__name__}: {exc}. Build it locally with `pixbench build` and pass "
                             f"--data {benchmark}=PATH") from None
    return Path(local), {"hub_id": repo_id, "commit": commit}


def _read_shard(shard: Path, benchmark: Benchmark) -> dict[str, list[Any]]:
    """The needed columns of one shard as lists; ReferenceError naming the shard when it is damaged."""
    try:
        parquet = pq.ParquetFile(shard)
        schema_names = parquet.schema_arrow.names
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise ReferenceError(f"{shard}: unreadable parquet file, truncated or corrupted ({_one_line(exc)}); "
                             "rebuild the folder with `pixbench build` or download it again") from None
    columns = benchmark.reference_columns
    missing = [c for c in columns if c not in schema_names]
    if missing:
        other = next((b.name for b in REGISTRY.values()
                      if b is not benchmark and set(b.reference_columns) <= set(schema_names)), None)
        hint = f" (it looks like {other})" if other else ""
        raise ReferenceError(f"{shard} lacks column(s) {missing} of {benchmark.name}{hint}")
    try:
        return parquet.read(columns=list(columns)).to_pydict()
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise ReferenceError(f"{shard}: corrupted parquet data ({_one_line(exc)}); rebuild the folder with "
                             "`pixbench build` or download it again") from None


def load_reference(benchmark: str, path_or_hub_id: str, *, revision: str | None = None) -> Reference:
    """Read a benchmark's ground truth from a built folder or hub id (default config, split ``test``)."""
    try:
        spec = get_benchmark(benchmark)
    except UnknownBenchmarkError as exc:
        raise ReferenceError(str(exc)) from None
    folder, origin = _local_folder(benchmark, path_or_hub_id, revision)
    shards = sorted((folder / "data").glob("test-*.parquet"))
    if not shards:
        raise ReferenceError(f"{folder} holds no data/test-*.parquet: not a built benchmark")
    columns = spec.reference_columns
    rows: dict[int, ReferenceRow] = {}
    shard_of: dict[int, Path] = {}
    for shard in shards:
        table = _read_shard(shard, spec)
        for k in range(len(table["id"])):
            values = {name: table[name][k] for name in columns}
            try:
                row = spec.reference_row(values)
            except (TypeError, ValueError, KeyError, AttributeError) as exc:
                raise ReferenceError(f"{shard}: row {k} (id {values['id']!r}) is malformed: {_one_line(exc)}") \
                    from None
            if row.id in rows:
                raise ReferenceError(f"{shard}: row {k} repeats id {row.id} (first in {shard_of[row.id].name})")
            rows[row.id], shard_of[row.id] = row, shard
    _check_masks(rows, shard_of)
    try:
        label_set = spec.label_set(folder)
    except ValueError as exc:
        raise ReferenceError(str(exc)) from None
    return Reference(benchmark, dict(sorted(rows.items())), origin, label_set)


def _check_masks(rows: Mapping[int, ReferenceRow], shard_of: Mapping[int, Path]) -> None:
    """Every ground-truth mask must be a valid RLE of its row's size (decoded on the runs, vectorised)."""
    for row in rows.values():
        if row.mask["size"] != [row.height, row.width]:
            raise ReferenceError(f"{shard_of[row.id]}: id {row.id}: mask size {row.mask['size']} differs from the "
                                 f"row's height x width [{row.height}, {row.width}]")
    problems = rle_ops.check_counts_many([row.mask["counts"] for row in rows.values()],
                                         [row.height * row.width for row in rows.values()])
    for row, problem in zip(rows.values(), problems):
        if problem is not None:
            raise ReferenceError(f"{shard_of[row.id]}: id {row.id}: corrupt ground-truth mask: {problem}")
