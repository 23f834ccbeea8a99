"""VLMEvalKit prediction files as harness rows (``pixbench convert --from vlmevalkit``).

VLMEvalKit writes ``{model}_{dataset}.xlsx`` (or ``.tsv``): the dataset's TSV columns minus ``image`` plus
``prediction``. Fields used: ``index``, ``prediction``, and ``question``, ``prompt`` and the columns the
benchmarks' rules for rows they do not hold read (``split``, ``source``).
Its answers become ``letter`` probe lines (``response`` = the raw model output); rows map **by the
benchmark's ids, never by position** (:func:`pixbench.ingest.mapping.map_rows`).

- ``MMVP``: ``index`` counts from 0 (the pair 99/100 of MMVP's labels is VLMEvalKit's 98/99, lmms-eval issue
  #1018), so row id = ``index + 1``; ``--id-base 1`` for a file that counts from 1.
- ``CV-Bench-2D``: ``index`` = CV-Bench ``idx`` (id base 0); ``split`` 3D or ``source`` Omni3D rows (a
  ``CV-Bench-3D`` file) are skipped in a PixCV-Bench conversion.

The benchmark comes from the columns (``split``/``source``/``prompt``: CV-Bench) or a file name with
``CV-Bench``/``MMVP`` unless given; a given benchmark must agree with it. These facts (each dataset's id base,
columns, file-name words and whether its ``prompt`` is kept, the order datasets are tried in, and which rows a
benchmark does not hold) are declared by the benchmarks (``harnesses.vlmevalkit``,
:mod:`pixbench.benchmarks.harnesses`) and read when a file is.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any

from pixbench.benchmarks.harnesses import VlmEvalKit
from pixbench.ingest.common import image_benchmarks
from pixbench.ingest.mapping import BridgeError, SourceRow, SourceTable, as_int, existing_file
from pixbench.problems import shorten

__all__ = ["VLMEVALKIT_ID_BASE", "read_vlmevalkit", "vlmevalkit_datasets"]


def vlmevalkit_datasets() -> list[tuple[str, VlmEvalKit]]:
    """``(benchmark name, its VLMEvalKit dataset)`` of every benchmark VLMEvalKit covers, in the order a file's
    benchmark is looked for (``priority``, then the registry's order)."""
    found = [(b.name, dataset) for b in image_benchmarks() if (dataset := b.harnesses.vlmevalkit) is not None]
    return sorted(found, key=lambda entry: entry[1].priority)


#: What VLMEvalKit's ``index`` gives each benchmark's first row (a fact of VLMEvalKit's datasets, declared by the
#: benchmarks; as the registry held them at import).
VLMEVALKIT_ID_BASE: dict[str, int] = {name: dataset.id_base for name, dataset in vlmevalkit_datasets()}
#: The VLMEvalKit columns read besides those of the benchmarks' rules for rows they do not hold (others, such as a
#: base64 ``image``, are dropped while reading).
_VLMEVALKIT_COLUMNS = ("index", "prediction", "question", "prompt")
Records = list[tuple[int, dict[str, Any]]]


def _marking_columns(datasets: list[tuple[str, VlmEvalKit]]) -> tuple[str, ...]:
    """The columns the datasets' :attr:`~pixbench.benchmarks.harnesses.VlmEvalKit.skipped` rules read."""
    return tuple(dict.fromkeys(column for _, dataset in datasets if dataset.skipped is not None
                               for column in dataset.skipped.values))


def _cell_text(value: Any) -> str | None:
    """A spreadsheet cell as text; ``None`` for an empty cell (None, NaN, blank)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    text = value if isinstance(value, str) else str(value)
    return text if text.strip() else None


def _tsv_records(path: Path, columns: tuple[str, ...]) -> tuple[list[str], Records]:
    """Header and ``(row number, {column: cell})`` of a TSV (row 1 = header, as in a spreadsheet), for the
    ``columns`` it has."""
    csv.field_size_limit(2**31 - 1)  # a base64 image column can hold megabytes
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle, delimiter="\t")
        header = [h.strip() for h in next(reader, [])]
        keep = {name: k for k, name in enumerate(header) if name in columns}
        records = [(number, {name: row[k] if k < len(row) else None for name, k in keep.items()})
                   for number, row in enumerate(reader, start=2) if any(cell.strip() for cell in row)]
    return header, records


def _xlsx_records(path: Path, columns: tuple[str, ...]) -> tuple[list[str], Records]:
    """The same for the first sheet of an ``.xlsx`` workbook (needs openpyxl)."""
    try:
        from openpyxl import load_workbook
    except ImportError:
        raise BridgeError(f"{path}: reading .xlsx files needs openpyxl: pip install openpyxl "
                          "(or save the sheet as .tsv)") from None
    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl/zipfile raise many types for a file that is not a workbook
        raise BridgeError(f"{path}: not a readable .xlsx workbook: {exc}") from None
    try:
        values = book.worksheets[0].iter_rows(values_only=True)
        header = ["" if h is None else str(h).strip() for h in next(values, ())]
        keep = {name: k for k, name in enumerate(header) if name in columns}
        records = [(number, {name: row[k] if k < len(row) else None for name, k in keep.items()})
                   for number, row in enumerate(values, start=2)
                   if any(_cell_text(cell) is not None for cell in row)]
    finally:
        book.close()
    return header, records


def read_vlmevalkit(path: str | Path) -> SourceTable:
    """The rows of a VLMEvalKit prediction file (``.xlsx`` needs openpyxl; ``.tsv``)."""
    path = existing_file(path)
    datasets = vlmevalkit_datasets()
    marking = _marking_columns(datasets)
    read = (*_VLMEVALKIT_COLUMNS, *(column for column in marking if column not in _VLMEVALKIT_COLUMNS))
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        header, records = _xlsx_records(path, read)
    elif suffix in (".tsv", ".txt"):
        header, records = _tsv_records(path, read)
    else:
        raise BridgeError(f"{path}: expected a VLMEvalKit .xlsx or .tsv file, but got {suffix or 'no suffix'!r}")
    missing = [c for c in ("index", "prediction") if c not in header]
    if missing:
        raise BridgeError(f"{path}: not a VLMEvalKit prediction file: no column(s) {missing} "
                          f"(the header has {[h if len(h) <= 40 else h[:37] + '...' for h in header[:12]]})")
    columns, name = set(header), path.stem.lower()
    benchmark, dataset = next(((b, d) for b, d in datasets
                               if d.columns & columns or any(word in name for word in d.name_words)), (None, None))
    keeps_prompt = dataset is not None and dataset.keeps_prompt
    out: list[SourceRow] = []
    for number, cells in records:
        raw = cells["index"]
        value, response = as_int(raw), _cell_text(cells["prediction"])
        problem = None
        if value is None:
            problem = ("malformed", f"`index` must be an int, but got {shorten(raw)}")
        elif response is None:
            problem = ("no-prediction", "empty `prediction`")
        text = _cell_text(raw)
        out.append(SourceRow(number, f"index {text if text is None or len(text) <= 60 else shorten(text)}", None,
                             value, response, _cell_text(cells.get("prompt")) if keeps_prompt else None,
                             _cell_text(cells.get("question")), problem,
                             marks={column: cells[column] for column in marking if column in cells}))
    return SourceTable("vlmevalkit", path, out, benchmark, id_bases={b: d.id_base for b, d in datasets},
                       skipped={b: d.skipped for b, d in datasets if d.skipped is not None})
