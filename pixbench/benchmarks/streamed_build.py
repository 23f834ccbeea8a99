"""Builds written row by row: streamed parquet shards, the staged output folder and the hub card of several configs.

Shared by the video builders (MoCentric-Bench, MeViS), whose rows are written video by video so that a build
never holds more than one video's frames in memory. :func:`write_streamed` writes the rows of every config
(:class:`StreamedConfig`) into ``data/<prefix>-NNNNN-of-MMMMM.parquet`` through :class:`ShardWriter`s in a
staging folder (:func:`pixbench.builds.folders.staged_build`), then the card and the summary, and moves them
into place; a build that fails while writing (a full disk) drops its open shards quietly and leaves the output
folder as it was, the error reaching the caller once. :func:`row_shards` and :func:`video_shards` plan how many
rows each shard gets; :func:`hub_card` is the card's YAML header (one entry per config written, each with its
own features) above the filled template.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from datasets import Features

from pixbench.builds import folders as common
from pixbench.builds.folders import ConfigSpec
from pixbench.builds.layout import SPLIT

logger = logging.getLogger(__name__)

#: A videos shard is closed before it would pass this many bytes of frames (one row group per video).
MAX_VIDEO_SHARD_BYTES = 400 * 2**20

__all__ = ["MAX_VIDEO_SHARD_BYTES", "ShardWriter", "StreamedConfig", "hub_card", "row_shards", "video_shards",
           "write_streamed"]


class ShardWriter:
    """Rows of one config into ``data/<prefix>-NNNNN-of-MMMMM.parquet``, streamed: ``shard_rows[k]`` rows
    in shard k, row groups of ``group_rows`` rows (never across shards), zstd, statistics, the
    ``datasets`` features in the schema metadata, as :func:`common.write_hub_folder` writes them."""

    def __init__(self, staging: Path, prefix: str, features: Features, shard_rows: list[int], group_rows: int) -> None:
        self.staging, self.prefix, self.features = staging, prefix, features
        self.shard_rows, self.group_rows = shard_rows or [0], group_rows
        self.files: list[str] = []
        self.num_bytes = 0
        self.rows = 0
        self._buffer: list[dict[str, Any]] = []
        self._writer: pq.ParquetWriter | None = None
        self._left = 0

    def _open(self) -> None:
        index, count = len(self.files), len(self.shard_rows)
        relative = f"{common.DATA_FOLDER}/{self.prefix}-{index:05d}-of-{count:05d}.parquet"
        self._writer = pq.ParquetWriter(self.staging / relative, self.features.arrow_schema, compression="zstd",
                                        write_statistics=True)
        self.files.append(relative)
        self._left = self.shard_rows[index]

    def _flush(self) -> None:
        if self._buffer:
            assert self._writer is not None
            table = common.rows_to_table(self._buffer, self.features)
            self.num_bytes += table.nbytes
            self._writer.write_table(table, row_group_size=len(self._buffer))
            self._buffer = []

    def add(self, row: Mapping[str, Any]) -> None:
        if self._writer is None or self._left == 0:
            self.close_shard()
            if len(self.files) == len(self.shard_rows):
                raise ValueError(f"more rows than planned for {self.prefix} ({sum(self.shard_rows)})")
            self._open()
        self._buffer.append(dict(row))
        self._left -= 1
        self.rows += 1
        if len(self._buffer) == self.group_rows or self._left == 0:
            self._flush()

    def close_shard(self) -> None:
        self._flush()
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def abort(self) -> None:
        """Drop the open shard after a failure (a full disk): its file is left to the staging folder's removal.
        The footer is not written and nothing is raised, so the writer's ``__del__`` has nothing left to
        report (pyarrow's would try to close it again and print ``Exception ignored in ...``)."""
        writer, self._writer, self._buffer = self._writer, None, []
        if writer is None:
            return
        try:
            writer.close()
        except OSError as exc:
            logger.debug("closing %s after a failure: %s", self.prefix, exc)
        finally:
            writer.is_open = False  # a failed close leaves it open: never retried by __del__
            handle = getattr(writer, "file_handle", None)
            if handle is not None:
                with contextlib.suppress(OSError):
                    handle.close()

    def close(self) -> list[str]:
        self.close_shard()
        while len(self.files) < len(self.shard_rows):  # an empty config still gets its (empty) shard
            self._open()
            self.close_shard()
        if self.rows != sum(self.shard_rows):
            raise ValueError(f"{self.rows} rows written for {self.prefix}, {sum(self.shard_rows)} planned")
        return self.files


def row_shards(count: int) -> list[int]:
    """Rows per shard for ``count`` rows: :data:`common.ROWS_PER_SHARD` each, the rest in the last (one empty
    shard for none)."""
    return [min(common.ROWS_PER_SHARD, count - start) for start in range(0, count, common.ROWS_PER_SHARD)] or [0]


def video_shards(frame_bytes: Iterable[int], limit: int | None = None) -> list[int]:
    """Videos per shard, given each video's bytes of frames in writing order: a shard is closed before its
    frames would pass ``limit`` bytes (default :data:`MAX_VIDEO_SHARD_BYTES`; a larger video gets a shard of its
    own)."""
    limit = MAX_VIDEO_SHARD_BYTES if limit is None else limit
    shards: list[int] = []
    size = 0
    for video_bytes in frame_bytes:
        if not shards or (size + video_bytes > limit and shards[-1] > 0):
            shards.append(0)
            size = 0
        shards[-1] += 1
        size += video_bytes
    return shards or [0]


@dataclass(frozen=True)
class StreamedConfig:
    """One config of a streamed build: its ``spec`` (name, shard prefix, default), ``features``, the rows of
    each shard and the rows of a row group."""

    spec: ConfigSpec
    features: Features
    shard_rows: list[int]
    group_rows: int


#: The card of a build, from the rows and bytes written per config.
CardWriter = Callable[[Mapping[str, int], Mapping[str, int]], str]


def write_streamed(out_dir: Path, benchmark: str, *, configs: Sequence[StreamedConfig],
                   rows: Iterable[tuple[str, Mapping[str, Any]]], summary: dict[str, Any], card: CardWriter,
                   force: bool) -> list[str]:
    """Stream ``rows`` (``(config name, row)``, in writing order) into a staging folder inside ``out_dir``,
    then the card (``card(rows per config, bytes per config)``) and ``summary``, and move them into place
    (the card, summary and shards of an earlier build replaced, nothing else touched). Returns the files."""
    with common.staged_build(out_dir, benchmark, force=force) as staging:
        writers = {config.spec.name: ShardWriter(staging.path, config.spec.shard_prefix, config.features,
                                                 config.shard_rows, config.group_rows) for config in configs}
        try:
            for name, row in rows:
                writers[name].add(row)
            staging.written += [path for writer in writers.values() for path in writer.close()]
        except BaseException:  # a full disk, an interrupt: every open shard dropped before the staging goes
            for writer in writers.values():
                writer.abort()
            raise
        staging.finish(card({name: w.rows for name, w in writers.items()},
                            {name: w.num_bytes for name, w in writers.items()}), summary)
    return staging.written


def hub_card(*, configs: Sequence[ConfigSpec], features: Mapping[str, Features], num_rows: Mapping[str, int],
             num_bytes: Mapping[str, int], pretty_name: str, license: str, rows: int, tags: Sequence[str],
             body: str) -> str:
    """The dataset card: the YAML header (one entry per config in ``num_rows``, each with its own features and
    size; the size category from ``rows``) and ``body``."""
    from huggingface_hub import DatasetCardData

    entries, infos = [], []
    for spec in configs:
        if spec.name not in num_rows:
            continue
        entry: dict[str, Any] = {"config_name": spec.name,
                                 "data_files": [{"split": SPLIT, "path": f"data/{spec.shard_prefix}-*.parquet"}]}
        if spec.default:
            entry["default"] = True
        entries.append(entry)
        infos.append({"config_name": spec.name, "features": features[spec.name]._to_yaml_list(),
                      "splits": [{"name": SPLIT, "num_bytes": num_bytes[spec.name],
                                  "num_examples": num_rows[spec.name]}],
                      "dataset_size": num_bytes[spec.name]})
    data = DatasetCardData(
        pretty_name=pretty_name, license=license, language="en", task_categories=["image-segmentation"],
        size_categories="n<1K" if rows < 1000 else "1K<n<10K", configs=entries, dataset_info=infos, tags=list(tags))
    return "---\n" + data.to_yaml() + "\n---\n" + body
