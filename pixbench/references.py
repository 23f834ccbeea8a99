"""Ground truth for scoring, read straight from a built benchmark's parquet shards (images skipped).

The scorer needs ids, sizes, masks, questions, options and answers, not pixels, so it reads those
columns with pyarrow rather than through ``datasets`` (which would decode and cache images): a built
folder is read in place; a hub id is fetched with ``huggingface_hub.snapshot_download`` (the local
cache, or the hub). The reference also records which dataset revision was scored and its label set.

Anything wrong with the files (a truncated or corrupted shard, missing columns, null or malformed
values, a repeated id, an unreadable build summary) raises :class:`ReferenceError` naming the file.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from pixbench.annotation import rle as rle_ops
from pixbench.annotation.rle import Rle
from pixbench.loaders.layout import BUILD_SUMMARY_FILE, HUB_IDS, content_hash
from pixbench.metrics.letters import lettered_options

_COLUMNS = {
    "pixmmvp": ("id", "pair_id", "height", "width", "question", "options", "options_text", "answer", "pattern",
                "expression", "has_object", "mask"),
    "pixcvbench": ("id", "source", "task", "height", "width", "question", "options", "answer", "objects",
                   "expression", "mask"),
}


#: Columns that may be null (no expression: PixMMVP's "None" questions) or that the scorer does not read.
_NULLABLE = frozenset({"expression", "options", "pattern", "has_object", "objects"})


@dataclass(frozen=True)
class ReferenceRow:
    """What the scorer knows about one dataset row."""

    id: int
    height: int
    width: int
    mask: Rle
    question: str
    options: tuple[str, ...]
    options_text: str
    answer: str
    expression: str | None
    pair_id: int | None = None
    pattern: str | None = None
    source: str | None = None
    task: str | None = None

    @property
    def has_object(self) -> bool:
        return self.expression is not None


@dataclass
class Reference:
    """One benchmark's ground truth and where it came from."""

    benchmark: str
    rows: dict[int, ReferenceRow]
    origin: dict[str, str] = field(default_factory=dict)
    label_set: str | None = None

    @property
    def sizes(self) -> dict[int, tuple[int, int]]:
        return {row_id: (row.height, row.width) for row_id, row in self.rows.items()}

    @cached_property
    def gt_areas(self) -> dict[int, int]:
        """Foreground pixels of each row's ground truth (computed once, on the runs)."""
        return dict(zip(self.rows, (int(a) for a in rle_ops.area([row.mask for row in self.rows.values()]))))

    @property
    def n_pairs(self) -> int:
        return len(self.rows) // 2


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
    repo_id = HUB_IDS.get(path_or_hub_id.lower(), path_or_hub_id)
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


def _label_set(folder: Path) -> str | None:
    summary = folder / BUILD_SUMMARY_FILE
    if summary.is_file():
        try:
            data = json.loads(summary.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ReferenceError(f"{summary}: unreadable build summary ({_one_line(exc)}); rebuild the folder "
                                 "with `pixbench build`") from None
        if not isinstance(data, dict):
            raise ReferenceError(f"{summary}: expected a JSON object (a pixbench build summary), "
                                 f"but got {type(data).__name__}")
        value = data.get("label_set")
        return str(value) if value is not None else None
    card = folder / "README.md"
    if card.is_file():
        try:
            text = card.read_text(encoding="utf-8")
        except (OSError, ValueError) as exc:
            raise ReferenceError(f"{card}: unreadable dataset card ({_one_line(exc)})") from None
        match = re.search(r"Label set of this build: \*\*(.+?)\*\*", text)
        if match:
            return match.group(1)
    return None


def _read_shard(shard: Path, benchmark: str, columns: tuple[str, ...]) -> dict[str, list[Any]]:
    """The needed columns of one shard as lists; ReferenceError naming the shard when it is damaged."""
    try:
        parquet = pq.ParquetFile(shard)
        schema_names = parquet.schema_arrow.names
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise ReferenceError(f"{shard}: unreadable parquet file, truncated or corrupted ({_one_line(exc)}); "
                             "rebuild the folder with `pixbench build` or download it again") from None
    missing = [c for c in columns if c not in schema_names]
    if missing:
        other = next((b for b, cols in _COLUMNS.items() if b != benchmark and set(cols) <= set(schema_names)), None)
        hint = f" (it looks like {other})" if other else ""
        raise ReferenceError(f"{shard} lacks column(s) {missing} of {benchmark}{hint}")
    try:
        return parquet.read(columns=list(columns)).to_pydict()
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise ReferenceError(f"{shard}: corrupted parquet data ({_one_line(exc)}); rebuild the folder with "
                             "`pixbench build` or download it again") from None


def load_reference(benchmark: str, path_or_hub_id: str, *, revision: str | None = None) -> Reference:
    """Read a benchmark's ground truth from a built folder or hub id (default config, split ``test``)."""
    if benchmark not in _COLUMNS:
        raise ReferenceError(f"unknown benchmark {benchmark!r} (expected one of {list(_COLUMNS)})")
    folder, origin = _local_folder(benchmark, path_or_hub_id, revision)
    shards = sorted((folder / "data").glob("test-*.parquet"))
    if not shards:
        raise ReferenceError(f"{folder} holds no data/test-*.parquet: not a built benchmark")
    columns = _COLUMNS[benchmark]
    rows: dict[int, ReferenceRow] = {}
    shard_of: dict[int, Path] = {}
    for shard in shards:
        table = _read_shard(shard, benchmark, columns)
        for k in range(len(table["id"])):
            values = {name: table[name][k] for name in columns}
            try:
                row = _row(benchmark, values)
            except (TypeError, ValueError, KeyError, AttributeError) as exc:
                raise ReferenceError(f"{shard}: row {k} (id {values['id']!r}) is malformed: {_one_line(exc)}") \
                    from None
            if row.id in rows:
                raise ReferenceError(f"{shard}: row {k} repeats id {row.id} (first in {shard_of[row.id].name})")
            rows[row.id], shard_of[row.id] = row, shard
    _check_masks(rows, shard_of)
    return Reference(benchmark, dict(sorted(rows.items())), origin,
                     _label_set(folder) if benchmark == "pixmmvp" else None)


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


def _row(benchmark: str, values: Mapping[str, Any]) -> ReferenceRow:
    for name, value in values.items():
        if value is None and name not in _NULLABLE:
            raise ValueError(f"{name} is null")
    options = list(values["options"] or [])
    counts = values["mask"]["counts"]
    if not isinstance(counts, str):
        raise ValueError(f"mask counts is {type(counts).__name__}, expected a compressed RLE string")
    mask: Rle = {"size": [int(v) for v in values["mask"]["size"]], "counts": counts}
    if len(mask["size"]) != 2:
        raise ValueError(f"mask size {mask['size']} is not [height, width]")
    common = {"id": int(values["id"]), "height": int(values["height"]), "width": int(values["width"]),
              "mask": mask, "question": values["question"], "options": tuple(options), "answer": values["answer"],
              "expression": values["expression"]}
    if benchmark == "pixmmvp":
        return ReferenceRow(**common, options_text=values["options_text"], pair_id=int(values["pair_id"]),
                            pattern=values["pattern"])
    return ReferenceRow(**common, options_text=lettered_options(options), source=values["source"],
                        task=values["task"])
