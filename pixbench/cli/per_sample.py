"""``--per-sample FILE``: the per-sample records of a scoring run, as CSV when FILE ends in ``.csv``, else JSON lines.

The records are the results' ``per_sample`` (one per scored (row, probe); their fields are each benchmark's,
documented in its scoring module, e.g. :mod:`pixbench.benchmarks.mevis.scoring` for MeViS's one record per
expression), written in the order given.

- **JSON lines** (any name not ending in ``.csv``): one ``json.dumps(record, ensure_ascii=False)`` per line.
- **CSV** (a name ending in ``.csv``, any case): a header row, then one row per record. The columns are every
  key of every record in first-seen order (the first record's keys, then the keys later records add, each
  where it first appears), so records of several benchmarks share one table. A cell holds a string as it is, an
  int or float as Python writes it (``repr``: floats round-trip), ``true`` / ``false`` for a bool, nothing for
  ``null`` or for a key the record lacks, and a list or object (per-frame ``J_t``, ``F_t``, frame indices,
  candidates) as its compact JSON text in that one cell, never spread over columns (per-frame lists differ in
  length from row to row). Quoting follows RFC 4180 (only cells holding a comma, a quote or a line break are
  quoted); lines end with ``\\n``; UTF-8. Reading it back: ``csv.DictReader`` gives strings; ``json.loads`` of
  a list cell gives the list.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = ["csv_cell", "csv_columns", "is_csv", "write_per_sample"]


def is_csv(path: str | Path) -> bool:
    """Whether ``path`` names a CSV file (its name ends in ``.csv``, any case).

    Examples:
        >>> is_csv("out/samples.CSV"), is_csv("samples.jsonl")
        (True, False)
    """
    return Path(path).name.lower().endswith(".csv")


def csv_columns(records: Iterable[Mapping[str, Any]]) -> list[str]:
    """Every key of ``records``, in first-seen order.

    Examples:
        >>> csv_columns([{"id": 1, "J": 0.5}, {"id": 2, "dropped": True, "J": 0.1}])
        ['id', 'J', 'dropped']
    """
    return list(dict.fromkeys(key for record in records for key in record))


def csv_cell(value: Any) -> str:
    """One value as its CSV cell (see the module docstring).

    Examples:
        >>> [csv_cell(v) for v in ("a,b", 3, 0.125, True, None, [1.0, 0.5], {"k": None})]
        ['a,b', '3', '0.125', 'true', '', '[1.0,0.5]', '{"k":null}']
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        return repr(value)
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def write_per_sample(path: str | Path, records: Sequence[Mapping[str, Any]]) -> None:
    """Write ``records`` to ``path``: CSV when it ends in ``.csv``, JSON lines otherwise (the module docstring)."""
    if not is_csv(path):
        with open(path, "w", encoding="utf-8") as handle:
            for record in records:
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")
        return
    columns = csv_columns(records)
    with open(path, "w", encoding="utf-8", newline="") as handle:  # the csv module writes the line ends
        if not columns:
            return
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([csv_cell(record.get(column)) for column in columns] for record in records)
