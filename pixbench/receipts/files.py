"""The files behind a receipt: fingerprints of the data and the predictions files, reading and writing receipts.

- :func:`data_fingerprint`: the files a benchmark's scoring read (its
  :meth:`~pixbench.benchmarks.base.Benchmark.reference_files`, in the built folder or the hub snapshot), each
  hashed, and their content hash (:func:`pixbench.builds.layout.content_hash`, the report's), with the hub
  commit when the data came from the hub;
- :func:`predictions_fingerprint`: a predictions file's sha256 and size, and the sha256 of every PNG file its
  lines name (relative to the file's folder, as the reader resolves them);
- :func:`read_receipt` / :func:`write_receipt`; :func:`find_file`: a path of a receipt (relative to the current
  folder, else to the receipt's folder).

Every file is read 1 MiB at a time. Failures raise :class:`~pixbench.receipts.format.ReceiptError` naming the file.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from pixbench.benchmarks import get_benchmark
from pixbench.receipts.format import DataFingerprint, PredictionsFingerprint, Receipt, ReceiptError, receipt_from_json

__all__ = ["data_fingerprint", "file_sha256", "find_file", "predictions_fingerprint", "read_receipt",
           "write_receipt"]

_BLOCK = 1 << 20


def _blocks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as handle:
        yield from iter(lambda: handle.read(_BLOCK), b"")


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    for block in _blocks(path):
        digest.update(block)
    return digest.hexdigest()


def data_fingerprint(benchmark: str, reference: Any, source: str) -> DataFingerprint:
    """The fingerprint of the data a benchmark was scored on: ``reference`` (as loaded, its ``origin`` says from
    where) and ``source`` (the path or hub id as given). A hub copy's files are read from the local snapshot of
    the commit it was loaded at."""
    origin: Mapping[str, str] = getattr(reference, "origin", None) or {}
    hub_id, revision = origin.get("hub_id"), origin.get("commit")
    try:
        if "path" in origin:
            folder = Path(origin["path"])
        else:
            from pixbench.references import local_folder

            folder = local_folder(benchmark, str(hub_id), revision=None if revision in (None, "unknown") else revision)
        files = get_benchmark(benchmark).reference_files(folder)
        whole, each = hashlib.sha256(), {}
        for path in sorted(files):  # as content_hash does, with each file's own digest beside it
            name = path.relative_to(folder).as_posix()
            whole.update(name.encode())
            digest = hashlib.sha256()
            for block in _blocks(path):
                whole.update(block)
                digest.update(block)
            each[name] = digest.hexdigest()
    except (OSError, ValueError) as exc:
        raise ReceiptError(f"{benchmark} data ({source}): cannot fingerprint it: {exc}") from None
    return DataFingerprint(sha256=whole.hexdigest(), files=each, source=source, hub_id=hub_id,
                           revision=revision if hub_id is not None else None)


def _png_paths(value: Any) -> Iterator[tuple[str, bool]]:
    """``(path, is a folder)`` of every ``png`` and ``png_dir`` value in a parsed line."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key in ("png", "png_dir") and isinstance(item, str):
                yield item, key == "png_dir"
            else:
                yield from _png_paths(item)
    elif isinstance(value, list):
        for item in value:
            yield from _png_paths(item)


def _mask_files(path: Path) -> dict[str, str | None]:
    """sha256 of the PNG files the lines of ``path`` name, by the name a line gives (a folder's files as
    ``FOLDER/NAME.png``); None for one that is not there."""
    found: dict[str, str | None] = {}
    base = path.parent
    with path.open("rb") as handle:
        for raw in handle:
            if b'"png' not in raw:
                continue
            try:
                line = json.loads(raw)
            except (ValueError, UnicodeDecodeError):
                continue  # the reader reports it
            for name, folder in _png_paths(line):
                where = Path(name) if Path(name).is_absolute() else base / name
                if not folder:
                    found[name] = file_sha256(where) if where.is_file() else None
                elif where.is_dir():
                    for png in sorted(where.glob("*.png")):
                        found[f"{name.rstrip('/')}/{png.name}"] = file_sha256(png)
                else:
                    found[name.rstrip("/") + "/"] = None
    return dict(sorted(found.items()))


def predictions_fingerprint(path: str) -> PredictionsFingerprint:
    """The fingerprint of the predictions file at ``path`` (kept as given)."""
    file = Path(path)
    try:
        return PredictionsFingerprint(path=path, sha256=file_sha256(file), bytes=file.stat().st_size,
                                      masks=_mask_files(file))
    except OSError as exc:
        raise ReceiptError(f"{path}: cannot read the predictions file: {exc.strerror or exc}") from None


def find_file(path: str, receipt: Path) -> str:
    """A path named by a receipt: as it is when it exists (relative to the current folder), else relative to the
    receipt's folder when it exists there; else as it is (the caller reports it missing)."""
    if Path(path).exists() or Path(path).is_absolute():
        return path
    beside = receipt.parent / path
    return str(beside) if beside.exists() else path


def read_receipt(path: Path) -> Receipt:
    """The receipt in ``path``; :class:`~pixbench.receipts.format.ReceiptError` naming the file when it cannot be
    read, is not JSON or not a receipt."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ReceiptError(f"{path}: cannot read the receipt: {reason}") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ReceiptError(f"{path}: not JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    return receipt_from_json(document, str(path))


def write_receipt(path: Path, receipt: Receipt) -> int:
    """Write ``receipt`` to ``path`` (through a temporary file beside it, replaced at once); return its bytes."""
    text = receipt.dumps().encode("utf-8")
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        temporary.write_bytes(text)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return len(text)

