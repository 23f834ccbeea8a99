"""A run's record, ``OUT.run.json``, and the start of every run (:func:`start_run`).

The record is ``{"pixbench_version", "run_format", "producer", "settings"}``: ``settings`` is the run's
identity (model, endpoint, data, every setting that changes a line), compared key by key when a run resumes;
a difference refuses the run, naming each setting with its recorded and its given value. Records written by
earlier versions are read too: a flat settings object with ``format`` 1 (``pixbench run``), ``format``
instead of ``run_format``, or no format at all (a producer's ``upgrade`` hook then turns the old settings
into today's terms). Endpoints are compared as :func:`pixbench.endpoints.endpoints_as_compared` writes them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from typing import Any

from pixbench.endpoints import endpoints_as_compared
from pixbench.runs.output import (
    LineKey,
    OutputError,
    existing_keys,
    read_existing_output,
    repair_output,
    shards_of,
)
from pixbench.version import __version__

__all__ = ["RUN_FORMAT", "RunError", "run_file", "start_run"]

#: The record's layout: 3 = ``{"pixbench_version", "run_format", "producer", "settings"}`` for every
#: producer (2: the same without ``producer``; ``pixbench run`` wrote ``format`` 2 and a flat format 1).
RUN_FORMAT = 3


class RunError(RuntimeError):
    """A run that cannot start or go on (its output or settings do not allow it, its data cannot be used)."""


def run_file(out: Path) -> Path:
    """``OUT.run.json`` beside ``out``."""
    return out.with_name(f"{out.name}.run.json")


def _stored(path: Path) -> tuple[int | None, dict[str, Any]]:
    """``(run format, settings)`` of a record of any version."""
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise RunError(f"{path}: cannot read this run file ({exc}); use another --out") from None
    if not isinstance(record, dict):
        raise RunError(f"{path}: not a run file of pixbench; use another --out")
    if isinstance(record.get("settings"), dict):
        version = record.get("run_format", record.get("format"))
        return (version if isinstance(version, int) else None), dict(record["settings"])
    flat = {k: v for k, v in record.items() if k != "format"}  # `pixbench run`'s format 1
    return (record.get("format") if isinstance(record.get("format"), int) else None), flat


Upgrade = Callable[[dict[str, Any], Mapping[str, Any], Path], dict[str, Any]]
Explain = Callable[[str, Mapping[str, Any], Mapping[str, Any]], str]


def start_run(out: Path, *, producer: str, model: str, benchmark: str, settings: Mapping[str, Any],
              hint: str, upgrade: Upgrade | None = None,
              information_only: Collection[str] = (), explain: Explain | None = None) -> set[LineKey]:
    """Check ``out`` and its record before anything loads or is asked; return the keys already done.

    Call it holding the output's lock (:func:`pixbench.runs.exclusive_output`). In order: ``out`` is read
    whole (:func:`~pixbench.runs.output.read_existing_output`: another model's lines, a user's unterminated
    line or lines without a record refuse it); when it holds lines (or there are shards), the record's
    settings must equal ``settings`` (but the keys in ``information_only``; ``upgrade(stored, wanted, path)``
    turns a record without a format into today's terms; ``explain(key, stored, wanted)`` words a
    difference); then the one repair allowed is made and the record is written (:data:`RUN_FORMAT`,
    ``producer``). ``hint`` ends every refusal (how to start over). Raises :class:`RunError`.
    """
    path = run_file(out)
    try:
        existing = read_existing_output(out, model=model, benchmark=benchmark, run_file=path, producer=producer)
    except OutputError as exc:
        raise RunError(f"{exc} ({hint})") from None
    wanted = endpoints_as_compared(dict(settings))
    if (existing.lines or shards_of(out)) and path.exists():
        version, stored = _stored(path)
        if version is None and upgrade is not None:
            stored = upgrade(stored, wanted, path)
        stored = endpoints_as_compared(stored)
        differing = [k for k in wanted if k not in information_only and stored.get(k) != wanted[k]]
        if differing:
            words = explain or _difference
            detail = "; ".join(words(k, stored, wanted) for k in differing)
            raise RunError(f"{out} was written with other settings ({detail}); {hint}")
    repair_output(out, existing)
    record = {"pixbench_version": __version__, "run_format": RUN_FORMAT, "producer": producer,
              "settings": dict(settings)}
    path.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return existing_keys(out)


def _difference(key: str, stored: Mapping[str, Any], wanted: Mapping[str, Any]) -> str:
    return f"{key}: {stored.get(key)!r} in the run file, {wanted.get(key)!r} now"
