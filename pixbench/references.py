"""Ground truth for scoring, read straight from a built benchmark's parquet shards (images skipped).

The scorer needs ids, sizes, masks, questions, options and answers, not pixels, so it reads those
columns with pyarrow rather than through ``datasets`` (which would decode and cache images): a built
folder is read in place; a hub id is fetched with ``huggingface_hub.snapshot_download`` (the local
cache, or the hub). The reference also records which dataset revision was scored and its label set.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

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
    """The ground truth could not be read (not a built benchmark, wrong benchmark, unreachable hub)."""


def _local_folder(benchmark: str, path_or_hub_id: str, revision: str | None) -> tuple[Path, dict[str, str]]:
    folder = Path(path_or_hub_id).expanduser()
    if folder.is_dir():
        return folder, {"path": str(folder.resolve()), "sha256": content_hash(folder)}
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
        value = json.loads(summary.read_text(encoding="utf-8")).get("label_set")
        return str(value) if value is not None else None
    card = folder / "README.md"
    if card.is_file():
        match = re.search(r"Label set of this build: \*\*(.+?)\*\*", card.read_text(encoding="utf-8"))
        if match:
            return match.group(1)
    return None


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
    for shard in shards:
        parquet = pq.ParquetFile(shard)
        schema_names = parquet.schema_arrow.names
        missing = [c for c in columns if c not in schema_names]
        if missing:
            other = next((b for b, cols in _COLUMNS.items() if b != benchmark and set(cols) <= set(schema_names)),
                         None)
            hint = f" (it looks like {other})" if other else ""
            raise ReferenceError(f"{shard} lacks column(s) {missing} of {benchmark}{hint}")
        table = parquet.read(columns=list(columns)).to_pydict()
        for k in range(len(table["id"])):
            rows[int(table["id"][k])] = _row(benchmark, {name: table[name][k] for name in columns})
    return Reference(benchmark, dict(sorted(rows.items())), origin,
                     _label_set(folder) if benchmark == "pixmmvp" else None)


def _row(benchmark: str, values: Mapping[str, Any]) -> ReferenceRow:
    options = list(values["options"] or [])
    mask: Rle = {"size": [int(v) for v in values["mask"]["size"]], "counts": values["mask"]["counts"]}
    common = {"id": int(values["id"]), "height": int(values["height"]), "width": int(values["width"]),
              "mask": mask, "question": values["question"], "options": tuple(options), "answer": values["answer"],
              "expression": values["expression"]}
    if benchmark == "pixmmvp":
        return ReferenceRow(**common, options_text=values["options_text"], pair_id=int(values["pair_id"]),
                            pattern=values["pattern"])
    return ReferenceRow(**common, options_text=lettered_options(options), source=values["source"],
                        task=values["task"])
