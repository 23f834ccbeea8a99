"""The bridges from other evaluation harnesses, by source name: read a file (:mod:`.lmms_eval`,
:mod:`.vlmevalkit`) and map its rows to ``letter`` predictions (:func:`.mapping.map_rows`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pixbench.ingest.lmms_eval import read_lmms_eval
from pixbench.ingest.mapping import BridgeResult, SourceTable, map_rows
from pixbench.ingest.vlmevalkit import read_vlmevalkit

if TYPE_CHECKING:
    from pixbench.references import Reference

__all__ = ["READERS", "SOURCES", "Source", "convert_bridge", "read_source"]

Source = Literal["lmms-eval", "vlmevalkit"]
#: Each source's reader, by the name ``--from`` takes.
READERS: dict[str, Callable[[str | Path], SourceTable]] = {"lmms-eval": read_lmms_eval,
                                                           "vlmevalkit": read_vlmevalkit}
SOURCES: tuple[str, ...] = tuple(READERS)


def read_source(source: str, path: str | Path) -> SourceTable:
    """Read an input of ``source`` (``lmms-eval`` or ``vlmevalkit``)."""
    reader = READERS.get(source)
    if reader is None:
        raise ValueError(f"Expected `source` to be one of {', '.join(SOURCES)}, but got {source!r}")
    return reader(path)


def convert_bridge(source: str, path: str | Path, *, model: str, benchmark: str | None = None,
                   reference: Reference | None = None, id_base: int | None = None) -> BridgeResult:
    """Read an lmms-eval or VLMEvalKit file and map it to ``letter`` predictions (:func:`map_rows`)."""
    return map_rows(read_source(source, path), model=model, benchmark=benchmark, reference=reference,
                    id_base=id_base)
