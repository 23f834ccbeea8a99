"""Reading columns of a built benchmark's parquet shards, with errors that name the shard.

Scoring reads the ground truth straight from ``data/<config>/*.parquet`` with pyarrow (never the images,
never through ``datasets``). A truncated or corrupted shard, or one without the needed columns, raises
:class:`ShardError` naming the file and what is wrong.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq


class ShardError(ValueError):
    """A parquet shard that cannot be read; ``missing`` lists absent columns, ``columns`` the shard's."""

    def __init__(self, message: str, *, missing: Sequence[str] = (), columns: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.missing = list(missing)
        self.columns = list(columns)


def one_line(exc: BaseException) -> str:
    """``Type: message`` on one line (pyarrow's messages span several)."""
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def read_columns(shard: Path, columns: Sequence[str], *, what: str) -> dict[str, list[Any]]:
    """The ``columns`` of one shard as lists; :class:`ShardError` naming the shard when it is damaged or
    lacks a column (``what`` names the benchmark or config in that message)."""
    try:
        parquet = pq.ParquetFile(shard)
        schema_names = parquet.schema_arrow.names
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise ShardError(f"{shard}: unreadable parquet file, truncated or corrupted ({one_line(exc)}); "
                         "rebuild the folder with `pixbench build` or download it again") from None
    missing = [c for c in columns if c not in schema_names]
    if missing:
        raise ShardError(f"{shard} lacks column(s) {missing} of {what}", missing=missing, columns=schema_names)
    try:
        return parquet.read(columns=list(columns)).to_pydict()
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise ShardError(f"{shard}: corrupted parquet data ({one_line(exc)}); rebuild the folder with "
                         "`pixbench build` or download it again") from None
