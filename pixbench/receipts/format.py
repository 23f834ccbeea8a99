"""What a receipt holds, as types, and its JSON: canonical digests, the packed verdicts, the seal. Pure: no files.

The JSON (``pixbench-receipt``, format version 1) is written with sorted keys and an indent of 1, and holds no
timestamp and no absolute path that pixbench made (a path is kept as the user gave it):

- ``format``, ``format_version``, ``pixbench_version``;
- ``data``: per benchmark (:class:`DataFingerprint`) ``sha256`` (the content hash of the files scoring read, the
  report's), ``files`` (each file's sha256, by its path in the build), ``configs`` (named by the files:
  ``test-v1-00000-of-00001.parquet`` is config ``v1``, ``test-00000-of-00001.parquet`` ``default``), ``hub_id``
  and ``revision`` (the hub commit) when read from the hub, and ``source``, the path or hub id as given;
- ``predictions``: per file, in the order given (:class:`PredictionsFingerprint`): ``path`` as given, ``sha256``,
  ``bytes``, and ``masks``: the sha256 of every PNG file a line names (``{"png": ...}``, ``{"png_dir": ...}``,
  keyed as the line writes them; ``null``: not found), since those decide numbers too;
- ``settings``: ``score`` (:class:`~pixbench.results.ScoreSettings`: selection, score threshold, include_none,
  letter parser, allow_judge_errors, protocol, fps), ``read`` (``allow_unknown_fields``, ``allow_outside_paths``),
  ``strict`` and ``intervals`` (``level``, ``resamples``, ``seed``; null without ``--ci``);
- ``judge`` (:class:`JudgeRecord`): ``enabled``; when it was, ``model``, ``base_url`` (secrets removed: no user
  info, no key-like query parameter, no API key), ``temperature``, ``protocol`` (the prompts' version, part of
  every cache key), ``prompt_sha256`` (:func:`judge_prompt_digest`) and ``verdicts``; when it was not, ``reason``;
- ``report``: the report's JSON (:meth:`pixbench.score_report.Report.to_json`) without the parts recorded above
  (``pixbench_version``, ``datasets``, ``judge``): ``protocol``, ``settings``, ``results`` (and ``sensitivity``);
- ``per_sample``: ``records`` and ``sha256`` (:func:`per_sample_digest`);
- ``seal``: :func:`seal` of everything else.

Verdicts
    Every reply the result used, keyed as the judge's cache keys it (:func:`pixbench.judge.cache_key`: sha256 of
    model, messages, temperature and protocol): a list ``[key, reply, served model]`` (``[key, null, null,
    error]`` for a failed request: scored as wrong under ``--allow-judge-errors``), sorted by key, as canonical JSON,
    compressed with zlib (level 9) and base64-encoded in ``verdicts.data``; ``verdicts.count`` and
    ``verdicts.sha256`` (of the uncompressed JSON) say what it holds. The reply is kept whole (a verdict is the
    reply as the judge's parser reads it, and the reply itself is in the per-sample records), and 300 of them
    take 15.9 kB (the receipt of a PixMMVP run with 300 judged answers: 20.4 kB).

Digests
    :func:`canonical_json`: sorted keys, no spaces, UTF-8, floats by ``repr`` (Python's shortest round trip),
    NaN as ``NaN``. :func:`per_sample_digest` hashes the per-sample records with every float rounded to the
    report's 6 decimals, so the last bits of a mean computed on another machine do not change it. The seal
    covers everything but ``seal`` itself, the paths as given (``source``, ``path``: a receipt may be moved
    beside its files) and ``verdicts.data`` (zlib implementations may compress the same bytes differently;
    ``verdicts.sha256`` stands for it): a receipt edited by hand no longer matches its seal.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Any, get_args, get_type_hints
from urllib.parse import urlsplit, urlunsplit

from pixbench.metrics.selection import SelectMode
from pixbench.results import LetterParser, ScoreSettings
from pixbench.score_files import Intervals
from pixbench.score_report import DIGITS

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "DataFingerprint",
    "JudgeRecord",
    "PredictionsFingerprint",
    "Receipt",
    "ReceiptError",
    "ReceiptSettings",
    "Verdict",
    "canonical_json",
    "config_of",
    "judge_prompt_digest",
    "pack_verdicts",
    "per_sample_digest",
    "public_base_url",
    "seal",
    "sha256_text",
    "unpack_verdicts",
]

#: The ``format`` key of every receipt.
FORMAT = "pixbench-receipt"
#: The version of the layout described in the module docstring.
FORMAT_VERSION = 1
_SHARD = re.compile(r"-\d{5}-of-\d{5}$")


class ReceiptError(ValueError):
    """A receipt that cannot be read or used; the message names the file and the field."""


# ------------------------------------------------------------------------------------------ digests


def _plain(value: Any, digits: int | None) -> Any:
    """``value`` as JSON types: tuples as lists, numpy scalars as Python numbers, floats rounded to ``digits``."""
    if isinstance(value, Mapping):
        return {str(key): _plain(item, digits) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item, digits) for item in value]
    if isinstance(value, bool) or value is None or isinstance(value, (str, int)):
        return value
    if hasattr(value, "item"):  # a numpy scalar
        return _plain(value.item(), digits)
    if isinstance(value, float):
        return round(value, digits) if digits is not None and value == value and abs(value) != float("inf") else value
    raise TypeError(f"Expected JSON values in a receipt, but got {type(value).__name__}: {value!r:.80}")


def canonical_json(value: Any) -> str:
    """``value`` as canonical JSON (sorted keys, no spaces, UTF-8 text, floats by ``repr``).

    Examples:
        >>> canonical_json({"b": [1, 2.5], "a": "é"})
        '{"a":"é","b":[1,2.5]}'
    """
    return json.dumps(_plain(value, None), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sha256_text(text: str) -> str:
    """Hex sha256 of ``text`` encoded as UTF-8."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def per_sample_digest(records: Iterable[Mapping[str, Any]]) -> tuple[int, str]:
    """``(records, sha256)`` of the per-sample records as canonical JSON, each float rounded to the report's
    6 decimals."""
    rows = [_plain(record, DIGITS) for record in records]
    text = json.dumps(rows, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return len(rows), sha256_text(text)


def judge_prompt_digest() -> str:
    """sha256 of the judge's prompt templates (A-dagger, presence, selection, concept), each rendered with its
    slots named (``{question}``, ``{response}`` ...): it changes when any prompt's words change."""
    from pixbench.judge import (
        JUDGE_PROTOCOL_VERSION,
        accuracy_messages,
        concept_messages,
        presence_messages,
        selection_messages,
    )

    image = "data:image/png;base64,{image}"
    prompts = {"accuracy": accuracy_messages(question="{question}", options_text="{options_text}",
                                             answer="{answer}", response="{response}"),
               "presence": presence_messages("{expression}", image),
               "selection": selection_messages("{expression}", [image, image]),
               "concept": concept_messages("{phrase}", "{response}"), "version": JUDGE_PROTOCOL_VERSION}
    return sha256_text(canonical_json(prompts))


def public_base_url(url: str) -> str:
    """``url`` without its secrets: the user info, and every query or fragment parameter whose name is key-like
    (what :func:`pixbench.chat.redact.redact_url` redacts) are removed, the rest is kept.

    Examples:
        >>> public_base_url("http://user:pw@host:8000/v1?api_key=K2&api-version=1")
        'http://host:8000/v1?api-version=1'
    """
    from pixbench.chat.redact import REDACTED, redact_url

    redacted = redact_url(url)
    try:
        parts = urlsplit(redacted)
    except ValueError:
        return ""
    netloc = parts.netloc.rpartition("@")[2]

    def keep(section: str) -> str:
        return "&".join(pair for pair in section.split("&") if pair and pair.partition("=")[2] != REDACTED)

    return urlunsplit((parts.scheme, netloc, parts.path, keep(parts.query), keep(parts.fragment)))


def config_of(file_name: str) -> str:
    """The config a built shard belongs to, from its name: ``test-v1-00000-of-00001.parquet`` -> ``v1``,
    ``test-00000-of-00001.parquet`` -> ``default``.

    Examples:
        >>> config_of("data/test-expressions-00000-of-00002.parquet"), config_of("data/test-00000-of-00001.parquet")
        ('expressions', 'default')
    """
    stem = file_name.rpartition("/")[2].removesuffix(".parquet")
    stem = _SHARD.sub("", stem)
    config = stem.partition("-")[2]
    return config or "default"


# ------------------------------------------------------------------------------------------ verdicts


@dataclass(frozen=True)
class Verdict:
    """One judge reply a result used: its ``reply`` and the ``served_model`` the server named, or the ``error``
    of a failed request (``reply`` then None)."""

    reply: str | None
    served_model: str | None = None
    error: str | None = None


def pack_verdicts(verdicts: Mapping[str, Verdict]) -> dict[str, Any]:
    """The ``verdicts`` block (module docstring) of ``{cache key: verdict}``."""
    rows: list[list[str | None]] = []
    for key, verdict in sorted(verdicts.items()):
        row = [key, verdict.reply, verdict.served_model]
        rows.append(row if verdict.error is None else [*row, verdict.error])
    raw = canonical_json(rows).encode("utf-8")
    return {"count": len(rows), "encoding": "zlib+base64", "sha256": hashlib.sha256(raw).hexdigest(),
            "data": base64.b64encode(zlib.compress(raw, 9)).decode("ascii")}


def unpack_verdicts(block: Mapping[str, Any], where: str = "receipt") -> dict[str, Verdict]:
    """``{cache key: verdict}`` of a ``verdicts`` block; :class:`ReceiptError` naming ``where`` when it does not
    decode, does not match its sha256 or count, or holds a malformed entry."""
    if block.get("encoding") != "zlib+base64":
        raise ReceiptError(f"{where}: judge.verdicts.encoding: expected 'zlib+base64', got {block.get('encoding')!r}")
    try:
        raw = zlib.decompress(base64.b64decode(str(block.get("data", "")), validate=True))
        rows = json.loads(raw.decode("utf-8"))
    except (binascii.Error, zlib.error, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ReceiptError(f"{where}: judge.verdicts.data does not decode ({type(exc).__name__}: {exc})") from None
    if hashlib.sha256(raw).hexdigest() != block.get("sha256"):
        raise ReceiptError(f"{where}: judge.verdicts.data does not match judge.verdicts.sha256 (edited or damaged)")
    if not isinstance(rows, list) or len(rows) != block.get("count"):
        got = len(rows) if isinstance(rows, list) else type(rows).__name__
        raise ReceiptError(f"{where}: judge.verdicts: expected {block.get('count')} entries, got {got}")
    verdicts = {}
    for number, row in enumerate(rows):
        if not (isinstance(row, list) and len(row) in (3, 4) and all(v is None or isinstance(v, str) for v in row)
                and isinstance(row[0], str) and (row[1] is not None or len(row) == 4)):
            raise ReceiptError(f"{where}: judge.verdicts entry {number}: expected [key, reply, served model] or "
                               f"[key, null, null, error], got {json.dumps(row)[:120]}")
        verdicts[row[0]] = Verdict(row[1], row[2], row[3] if len(row) == 4 else None)
    return verdicts


# ------------------------------------------------------------------------------------------ the receipt


@dataclass(frozen=True)
class DataFingerprint:
    """What one benchmark's data was (module docstring, ``data``)."""

    sha256: str
    files: Mapping[str, str]
    source: str
    hub_id: str | None = None
    revision: str | None = None

    @property
    def configs(self) -> list[str]:
        return sorted({config_of(name) for name in self.files})

    def to_json(self) -> dict[str, Any]:
        entry: dict[str, Any] = {"sha256": self.sha256, "files": dict(self.files), "configs": self.configs,
                                 "source": self.source}
        if self.hub_id is not None:
            entry.update(hub_id=self.hub_id, revision=self.revision)
        return entry


@dataclass(frozen=True)
class PredictionsFingerprint:
    """One predictions file (module docstring, ``predictions``)."""

    path: str
    sha256: str
    bytes: int
    masks: Mapping[str, str | None] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        entry: dict[str, Any] = {"path": self.path, "sha256": self.sha256, "bytes": self.bytes}
        if self.masks:
            entry["masks"] = dict(self.masks)
        return entry


@dataclass(frozen=True)
class ReceiptSettings:
    """Every setting that decides a number: scoring's, reading's, ``strict`` and the intervals."""

    score: ScoreSettings = field(default_factory=ScoreSettings)
    allow_unknown_fields: bool = False
    allow_outside_paths: bool = False
    strict: bool = False
    intervals: Intervals | None = None

    def to_json(self) -> dict[str, Any]:
        return {"score": asdict(self.score),
                "read": {"allow_unknown_fields": self.allow_unknown_fields,
                         "allow_outside_paths": self.allow_outside_paths},
                "strict": self.strict, "intervals": asdict(self.intervals) if self.intervals else None}


@dataclass(frozen=True)
class JudgeRecord:
    """The judge a result used (module docstring, ``judge``); ``verdicts`` by cache key."""

    enabled: bool
    reason: str = ""
    model: str | None = None
    base_url: str | None = None
    temperature: float | None = None
    protocol: str | None = None
    prompt_sha256: str | None = None
    verdicts: Mapping[str, Verdict] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        if not self.enabled:
            return {"enabled": False, "reason": self.reason}
        return {"enabled": True, "model": self.model, "base_url": self.base_url, "temperature": self.temperature,
                "protocol": self.protocol, "prompt_sha256": self.prompt_sha256,
                "verdicts": pack_verdicts(self.verdicts)}


@dataclass(frozen=True)
class Receipt:
    """Everything needed to re-derive a score run's result offline (module docstring): the version, the data's
    and files' fingerprints, the settings, the judge and its verdicts, the report and the per-sample digest.
    ``seal`` is the seal as read from a file and ``content_seal`` the seal of the content read (both ``None`` for
    a receipt just made)."""

    pixbench_version: str
    data: Mapping[str, DataFingerprint]
    predictions: tuple[PredictionsFingerprint, ...]
    settings: ReceiptSettings
    judge: JudgeRecord
    report: Mapping[str, Any]
    per_sample_records: int
    per_sample_sha256: str
    seal: str | None = None
    content_seal: str | None = None

    @property
    def intact(self) -> bool | None:
        """Whether the seal read matches the content read (None: not read from a file)."""
        return None if self.seal is None else self.seal == self.content_seal

    def to_json(self) -> dict[str, Any]:
        """The receipt's JSON document, sealed (its own :func:`seal`, not the one it was read with)."""
        document = {"format": FORMAT, "format_version": FORMAT_VERSION, "pixbench_version": self.pixbench_version,
                    "data": {name: print_.to_json() for name, print_ in sorted(self.data.items())},
                    "predictions": [entry.to_json() for entry in self.predictions],
                    "settings": self.settings.to_json(), "judge": self.judge.to_json(),
                    "report": _plain(self.report, None),
                    "per_sample": {"records": self.per_sample_records, "sha256": self.per_sample_sha256}}
        document["seal"] = seal(document)
        return document

    def dumps(self) -> str:
        """The receipt as written: :meth:`to_json` with sorted keys and an indent of 1, ending in a newline."""
        return json.dumps(self.to_json(), indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def seal(document: Mapping[str, Any]) -> str:
    """sha256 of a receipt's canonical JSON without ``seal``, the paths as given and the compressed verdicts."""
    view = {key: value for key, value in document.items() if key != "seal"}
    if isinstance(view.get("data"), Mapping):
        view["data"] = {name: {k: v for k, v in entry.items() if k != "source"} if isinstance(entry, Mapping) else entry
                        for name, entry in view["data"].items()}
    if isinstance(view.get("predictions"), list):
        view["predictions"] = [{k: v for k, v in entry.items() if k != "path"} if isinstance(entry, Mapping) else entry
                               for entry in view["predictions"]]
    judge = view.get("judge")
    if isinstance(judge, Mapping) and isinstance(judge.get("verdicts"), Mapping):
        view["judge"] = {**judge, "verdicts": {k: v for k, v in judge["verdicts"].items() if k != "data"}}
    return sha256_text(canonical_json(view))


# ------------------------------------------------------------------------------------------ reading


class _Fields:
    """Typed reads of one JSON object of a receipt, each error naming the file and the field."""

    def __init__(self, value: Any, where: str, path: str) -> None:
        if not isinstance(value, Mapping):
            raise ReceiptError(f"{where}: {path or 'the receipt'}: expected an object, got {_kind(value)}")
        self.value, self.where, self.path = value, where, path

    def _name(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def get(self, key: str, *types: type, optional: bool = False) -> Any:
        if key not in self.value:
            if optional:
                return None
            raise ReceiptError(f"{self.where}: {self._name(key)}: missing")
        value = self.value[key]
        if value is None and optional:
            return None
        if types and (not isinstance(value, types) or (isinstance(value, bool) and bool not in types)):
            expected = " or ".join(t.__name__ for t in types)
            raise ReceiptError(f"{self.where}: {self._name(key)}: expected {expected}, got {_kind(value)}")
        return value

    def object(self, key: str) -> _Fields:
        return _Fields(self.get(key), self.where, self._name(key))


def _kind(value: Any) -> str:
    return "null" if value is None else f"{type(value).__name__} {json.dumps(value)[:60]}"


def _strings(fields_: _Fields, key: str, optional: bool = False) -> dict[str, Any]:
    found = fields_.get(key, dict, optional=optional) or {}
    for name, value in found.items():
        if value is not None and not isinstance(value, str):
            raise ReceiptError(f"{fields_.where}: {fields_._name(key)}.{name}: expected a sha256 string, got "
                               f"{_kind(value)}")
    return dict(found)


def _score_settings(block: _Fields) -> ScoreSettings:
    known = {f.name for f in fields(ScoreSettings)}
    unknown = sorted(set(block.value) - known)
    if unknown:
        raise ReceiptError(f"{block.where}: {block.path}: unknown settings {unknown} (known: {sorted(known)})")
    values = {name: block.value[name] for name in known if name in block.value}
    for name, annotation in get_type_hints(ScoreSettings).items():
        if name not in values:
            continue
        value = values[name]
        allowed = tuple(a for a in (get_args(annotation) or (annotation,)) if isinstance(a, type)) or (str,)
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if not ((value is None and type(None) in allowed) or (number and float in allowed)
                or (isinstance(value, allowed) and not (isinstance(value, bool) and bool not in allowed))):
            expected = " or ".join("null" if a is type(None) else a.__name__ for a in allowed)
            raise ReceiptError(f"{block.where}: {block.path}.{name}: expected {expected}, got {_kind(value)}")
    for name, choices in (("select", get_args(SelectMode)), ("letter_parser", get_args(LetterParser))):
        if name in values and values[name] not in choices:
            raise ReceiptError(f"{block.where}: {block.path}.{name}: expected one of {list(choices)}, got "
                               f"{values[name]!r}")
    return ScoreSettings(**values)


def receipt_from_json(document: Any, where: str) -> Receipt:
    """The :class:`Receipt` of a parsed receipt file (``where`` names it in errors): every field checked, the
    verdicts unpacked; :class:`ReceiptError` naming the file and the field otherwise. The seal is kept as read,
    beside the seal of the content (``content_seal``)."""
    top = _Fields(document, where, "")
    if top.get("format", str) != FORMAT:
        raise ReceiptError(f"{where}: format: expected {FORMAT!r}, got {top.value['format']!r} (not a pixbench "
                           "receipt)")
    if top.get("format_version", int) != FORMAT_VERSION:
        raise ReceiptError(f"{where}: format_version: expected {FORMAT_VERSION}, got {top.value['format_version']} "
                           "(written by another pixbench; verify it with that version)")
    data = {}
    for name in top.get("data", dict):
        entry = top.object("data").object(name)
        data[name] = DataFingerprint(sha256=entry.get("sha256", str), files=_strings(entry, "files"),
                                     source=entry.get("source", str), hub_id=entry.get("hub_id", str, optional=True),
                                     revision=entry.get("revision", str, optional=True))
    predictions = []
    for number, raw in enumerate(top.get("predictions", list)):
        entry = _Fields(raw, where, f"predictions[{number}]")
        predictions.append(PredictionsFingerprint(path=entry.get("path", str), sha256=entry.get("sha256", str),
                                                  bytes=entry.get("bytes", int),
                                                  masks=_strings(entry, "masks", optional=True)))
    settings = top.object("settings")
    read = settings.object("read")
    intervals = None
    if settings.get("intervals", dict, optional=True) is not None:
        asked = settings.object("intervals")
        intervals = Intervals(level=float(asked.get("level", float, int)), resamples=asked.get("resamples", int),
                              seed=asked.get("seed", int))
    receipt_settings = ReceiptSettings(score=_score_settings(settings.object("score")),
                                       allow_unknown_fields=read.get("allow_unknown_fields", bool),
                                       allow_outside_paths=read.get("allow_outside_paths", bool),
                                       strict=settings.get("strict", bool), intervals=intervals)
    judge_fields = top.object("judge")
    if judge_fields.get("enabled", bool):
        judge = JudgeRecord(enabled=True, model=judge_fields.get("model", str),
                            base_url=judge_fields.get("base_url", str, optional=True),
                            temperature=float(judge_fields.get("temperature", float, int)),
                            protocol=judge_fields.get("protocol", str),
                            prompt_sha256=judge_fields.get("prompt_sha256", str),
                            verdicts=unpack_verdicts(judge_fields.get("verdicts", dict), where))
    else:
        judge = JudgeRecord(enabled=False, reason=judge_fields.get("reason", str))
    per_sample = top.object("per_sample")
    report = top.get("report", dict)
    if not isinstance(report.get("results"), list):
        raise ReceiptError(f"{where}: report.results: expected a list, got {_kind(report.get('results'))}")
    return Receipt(pixbench_version=top.get("pixbench_version", str), data=data, predictions=tuple(predictions),
                   settings=receipt_settings, judge=judge, report=report,
                   per_sample_records=per_sample.get("records", int), per_sample_sha256=per_sample.get("sha256", str),
                   seal=top.get("seal", str), content_seal=seal(document))


def results_by_name(results: Sequence[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    """A report's results keyed by what names one: ``model / benchmark`` and, where set, probe, layout and
    ``[variant]``."""
    named = {}
    for entry in results:
        groups = " ".join(str(entry[key]) for key in ("probe", "layout") if entry.get(key))
        name = f"{entry.get('model')} / {entry.get('benchmark')}" + (f" / {groups}" if groups else "")
        if entry.get("variant") is not None:
            name += f" [{entry['variant']}]"
        named[name] = entry
    return named
