"""What differs between two receipts: the one a result was written with, and the one its re-scoring makes. Pure.

:func:`compare_receipts` lists every :class:`Difference`, in this order of kinds:

- ``receipt``: the receipt was edited after it was written (its seal no longer matches its content);
- ``version``: the pixbench version;
- ``data``: a benchmark's data (fingerprint before -> after, with the files changed, added or removed and the hub
  revision), or a benchmark scored on one side only;
- ``predictions``: a predictions file (by position; sha256 and size before -> after, and the PNG masks its lines
  name that changed), or the number of files;
- ``settings``: the settings recorded (read, strict, intervals, scoring) and those the report was made under
  (``report.settings``, ``report.protocol``), each ``name: before -> after``;
- ``judge``: the judge's model, base URL, temperature, prompts' protocol and template digest, and the verdicts
  used (how many, and how many differ);
- ``results``: every number (and note) of a result that moved, named ``model / benchmark[ / probe layout]
  [variant]: path`` (``metrics.M``, ``breakdown.pattern.Color.A``), results found on one side only (a result
  under another model name, as when a predictions file was renamed, is paired with the receipt's by what it
  measures), and the other parts of the report (prompt-variant tables, coverage) by their path;
- ``per-sample``: the digest of the per-sample outcomes.

Paths as given (where files were read from) are not compared: a receipt may be checked from anywhere.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pixbench.receipts.format import DataFingerprint, Receipt, results_by_name

__all__ = ["KINDS", "Difference", "compare_receipts"]

Kind = Literal["receipt", "version", "data", "predictions", "settings", "judge", "results", "per-sample"]
#: Every kind of difference, in the order they are listed.
KINDS: tuple[Kind, ...] = ("receipt", "version", "data", "predictions", "settings", "judge", "results", "per-sample")
#: Names that identify a result, not numbers of it.
_IDENTITY = frozenset({"model", "benchmark", "probe", "layout", "variant"})
ABSENT = "(absent)"


@dataclass(frozen=True)
class Difference:
    """One thing that differs: its ``kind`` (:data:`KINDS`), ``what`` (a benchmark, a file, a setting, a number of
    a result), its value ``before`` (in the receipt) and ``after`` (now), and a ``note``."""

    kind: Kind
    what: str
    before: str
    after: str
    note: str = ""

    def __str__(self) -> str:
        return f"{self.kind}: {self.what}: {self.before} -> {self.after}" + (f" ({self.note})" if self.note else "")


def _shown(value: Any) -> str:
    if value is ABSENT or isinstance(value, str):
        return str(value)
    return json.dumps(value, ensure_ascii=False)


def _leaves(value: Any, prefix: str = "") -> dict[str, Any]:
    """Every scalar in ``value`` by its path (``a.b[2].c``)."""
    if isinstance(value, Mapping):
        found: dict[str, Any] = {}
        for key, item in value.items():
            found.update(_leaves(item, f"{prefix}.{key}" if prefix else str(key)))
        return found if found or not prefix else {prefix: {}}
    if isinstance(value, (list, tuple)):
        found = {}
        for index, item in enumerate(value):
            found.update(_leaves(item, f"{prefix}[{index}]"))
        return found if found or not prefix else {prefix: []}
    return {prefix: value}


def _moved(before: Any, after: Any) -> list[tuple[str, str, str]]:
    """``(path, before, after)`` of every leaf that differs (:data:`ABSENT` on the side that lacks it)."""
    old, new = _leaves(before), _leaves(after)
    moved = []
    for path in dict.fromkeys([*old, *new]):
        was, now = old.get(path, ABSENT), new.get(path, ABSENT)
        if (was is ABSENT and now in ({}, [])) or (now is ABSENT and was in ({}, [])):
            continue  # an empty list or object on one side: its items on the other are listed
        if was is ABSENT or now is ABSENT or was != now or type(was) is not type(now):
            moved.append((path, _shown(was), _shown(now)))
    return moved


def _short(digest: str | None) -> str:
    return "none" if digest is None else digest[:16]


def _file_changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> str:
    parts = []
    for label, names in (("changed", [n for n in before if n in after and before[n] != after[n]]),
                         ("added", [n for n in after if n not in before]),
                         ("removed", [n for n in before if n not in after])):
        if names:
            parts.append(f"{label}: {', '.join(sorted(names))}")
    return "; ".join(parts)


def _data(before: Receipt, after: Receipt) -> list[Difference]:
    found = []
    for name in sorted({*before.data, *after.data}):
        old, new = before.data.get(name), after.data.get(name)
        if old is None or new is None:
            found.append(Difference("data", name, "scored" if old else "not scored", "scored" if new else "not scored"))
            continue
        if old.sha256 != new.sha256:
            found.append(Difference("data", name, _short(old.sha256), _short(new.sha256),
                                    _file_changes(old.files, new.files)))
        if (old.hub_id, old.revision) != (new.hub_id, new.revision):
            found.append(Difference("data", f"{name} hub revision", _origin(old), _origin(new)))
    return found


def _origin(fingerprint: DataFingerprint) -> str:
    return f"{fingerprint.hub_id}@{fingerprint.revision}" if fingerprint.hub_id else "a local folder"


def _predictions(before: Receipt, after: Receipt) -> list[Difference]:
    found = []
    if len(before.predictions) != len(after.predictions):
        found.append(Difference("predictions", "files", f"{len(before.predictions)} file(s)",
                                f"{len(after.predictions)} file(s)"))
    for old, new in zip(before.predictions, after.predictions):
        label = new.path if new.path == old.path else f"{new.path} (receipt: {old.path})"
        if old.sha256 != new.sha256:
            found.append(Difference("predictions", label, f"sha256 {_short(old.sha256)}, {old.bytes} bytes",
                                    f"sha256 {_short(new.sha256)}, {new.bytes} bytes"))
        if old.masks != new.masks:
            found.append(Difference("predictions", f"{label} PNG masks", f"{len(old.masks)} file(s)",
                                    f"{len(new.masks)} file(s)", _file_changes(old.masks, new.masks)))
    return found


def _settings(before: Receipt, after: Receipt) -> list[Difference]:
    recorded = [Difference("settings", path, old, new)
                for path, old, new in _moved(before.settings.to_json(), after.settings.to_json())]
    reported = [Difference("settings", path.removeprefix("settings."), old, new,
                           "as the receipt's report states it -> as scored now")
                for path, old, new in _moved({k: before.report.get(k) for k in ("protocol", "settings")},
                                             {k: after.report.get(k) for k in ("protocol", "settings")})]
    return recorded + reported


def _judge(before: Receipt, after: Receipt) -> list[Difference]:
    old, new = before.judge, after.judge
    found = []
    for name in ("enabled", "reason", "model", "base_url", "temperature", "protocol", "prompt_sha256"):
        if getattr(old, name) != getattr(new, name):
            found.append(Difference("judge", name, _shown(getattr(old, name)), _shown(getattr(new, name))))
    if old.verdicts != new.verdicts:
        differ = sum(1 for key in old.verdicts.keys() & new.verdicts.keys() if old.verdicts[key] != new.verdicts[key])
        unused = len(old.verdicts.keys() - new.verdicts.keys())
        found.append(Difference("judge", "verdicts used", f"{len(old.verdicts)}", f"{len(new.verdicts)}",
                                f"{differ} differ, {unused} of the receipt's not used now"))
    return found


Entry = Mapping[str, Any]


def _pairs(old: Mapping[str, Entry], new: Mapping[str, Entry]) -> list[tuple[str, Entry | None, Entry | None]]:
    """Results of both sides paired by name; the rest paired in order when they measure the same (benchmark, probe,
    layout, variant) under another model name (a predictions file renamed), named ``now (receipt: before)``."""
    pairs: list[tuple[str, Entry | None, Entry | None]] = []
    alone_old = [name for name in old if name not in new]
    alone_new = [name for name in new if name not in old]

    def measures(entry: Mapping[str, Any]) -> tuple[Any, ...]:
        return tuple(entry.get(key) for key in ("benchmark", "probe", "layout", "variant"))

    for name in new:
        if name in old:
            pairs.append((name, old[name], new[name]))
            continue
        match = next((other for other in alone_old if measures(old[other]) == measures(new[name])), None)
        if match is None:
            pairs.append((name, None, new[name]))
        else:
            alone_old.remove(match)
            alone_new.remove(name)
            pairs.append((f"{name} (receipt: {match})", old[match], new[name]))
    pairs += [(name, old[name], None) for name in alone_old]
    return pairs


def _results(before: Receipt, after: Receipt) -> list[Difference]:
    found = []
    for name, old, new in _pairs(results_by_name(before.report["results"]), results_by_name(after.report["results"])):
        if old is None or new is None:
            found.append(Difference("results", name, "present" if old else ABSENT, "present" if new else ABSENT))
            continue
        found += [Difference("results", f"{name}: {path}", was, now)
                  for path, was, now in _moved({k: v for k, v in old.items() if k not in _IDENTITY},
                                               {k: v for k, v in new.items() if k not in _IDENTITY})]
    others = [key for key in dict.fromkeys([*before.report, *after.report])
              if key not in ("results", "settings", "protocol")]  # sensitivity tables, coverage ...
    found += [Difference("results", path, was, now)
              for path, was, now in _moved({key: before.report.get(key) for key in others},
                                           {key: after.report.get(key) for key in others})]
    return found


def compare_receipts(before: Receipt, after: Receipt) -> list[Difference]:
    """Every difference between the receipt a result was written with (``before``) and the one made now
    (``after``), in the order of :data:`KINDS` (module docstring)."""
    found = []
    if before.intact is False:
        found.append(Difference("receipt", "seal", _short(before.seal), _short(before.content_seal),
                                "edited after it was written: the seal no longer matches the content"))
    if before.pixbench_version != after.pixbench_version:
        found.append(Difference("version", "pixbench", before.pixbench_version, after.pixbench_version))
    found += _data(before, after) + _predictions(before, after) + _settings(before, after) + _judge(before, after)
    found += _results(before, after)
    if (before.per_sample_records, before.per_sample_sha256) != (after.per_sample_records, after.per_sample_sha256):
        found.append(Difference("per-sample", "outcomes",
                                f"{before.per_sample_records} records, sha256 {_short(before.per_sample_sha256)}",
                                f"{after.per_sample_records} records, sha256 {_short(after.per_sample_sha256)}"))
    return found
