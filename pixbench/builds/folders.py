"""What both builders share: the RLE feature, reading small CSV inputs, and writing a hub folder.

A hub folder is what ``huggingface_hub.upload_folder`` pushes and ``datasets.load_dataset(folder)``
reads: ``README.md`` (dataset card with a YAML header holding ``configs:`` and ``dataset_info``) and
``data/test-*.parquet``. Writing is deterministic: rows in the order given (by id), a fixed number of
rows per shard and per row group, no timestamps, so the same inputs give byte-identical files.

A build only writes into a folder that is new, empty, or an earlier build of the same benchmark
(:func:`inspect_out_dir`); ``force`` replaces what a build writes in any other folder and leaves the
rest in place. Nothing outside the folder is touched and no symbolic link is followed when removing.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from datasets import Features, List, Value

from pixbench.annotation.findings import Findings
from pixbench.builds.layout import BUILD_SUMMARY_FILE, SPLIT
from pixbench.version import __version__

#: A COCO RLE as a ``datasets`` struct: ``{"size": [h, w], "counts": str}``.
RLE_FEATURE = {"size": List(Value("int32")), "counts": Value("string")}

ROWS_PER_SHARD = 1000
ROWS_PER_ROW_GROUP = 100


@dataclass(frozen=True)
class ConfigSpec:
    """One dataset config: its name and the shard-name prefix (under ``data/``) of its rows."""

    name: str
    shard_prefix: str
    default: bool = False


@dataclass
class BuildResult:
    """Where the build went, its summary (also in the card) and the non-fatal findings."""

    out_dir: Path
    summary: dict[str, Any]
    report: Findings = field(default_factory=Findings)
    files: list[str] = field(default_factory=list)
    #: Entries of the folder that the build did not write and left in place (only with ``force``).
    left_in_place: list[str] = field(default_factory=list)


def read_csv_rows(path: Path, required: Sequence[str], report: Findings,
                  aliases: Mapping[str, str] | None = None) -> list[dict[str, str]]:
    """Rows of a CSV file as dicts keyed by stripped header names; report missing columns.

    ``aliases`` renames headers (``{"lndex": "Index"}`` for MMVP's misspelt header). Each row carries
    its 1-based line number under ``"__line__"`` for messages.
    """
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        report.error(name, "", "", "file not found")
        return []
    except UnicodeDecodeError as exc:
        report.error(name, "", "", f"not UTF-8 text: {exc}")
        return []
    reader = csv.reader(io.StringIO(text))
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        report.error(name, "", "", "empty file")
        return []
    header = [(aliases or {}).get(h, h) for h in header]
    missing = [column for column in required if column not in header]
    if missing:
        report.error(name, "line 1", "header", f"missing column(s) {missing}; found {header}")
        return []
    rows = []
    for line_number, values in enumerate(reader, start=2):
        if not any(v.strip() for v in values):
            continue
        if len(values) != len(header):
            report.error(name, f"line {line_number}", "",
                         f"expected {len(header)} fields, but got {len(values)}")
            continue
        row = dict(zip(header, values))
        row["__line__"] = str(line_number)
        rows.append(row)
    return rows


def parse_int(value: str, file: str, record: str, field_name: str, report: Findings) -> int | None:
    """An int from a CSV cell, or ``None`` with an error in ``report``."""
    try:
        return int(value.strip())
    except ValueError:
        report.error(file, record, field_name, f"expected an integer, but got {value!r}")
        return None


def card_template(path: Path) -> str:
    """The text of a dataset card template (a benchmark's ``card.md``, package data beside its builder)."""
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise FileNotFoundError(f"dataset card template {path} cannot be read: {exc.strerror or exc}") from None


def card_header(*, features: Features, configs: Sequence[ConfigSpec], num_rows: int, num_bytes: int,
                pretty_name: str, license: str, extra: Mapping[str, Any]) -> str:
    """The YAML front matter of the card: configs (one per shard prefix), features, split size."""
    from huggingface_hub import DatasetCardData

    config_entries = []
    for config in configs:
        entry: dict[str, Any] = {"config_name": config.name,
                                 "data_files": [{"split": SPLIT, "path": f"data/{config.shard_prefix}-*.parquet"}]}
        if config.default:
            entry["default"] = True
        config_entries.append(entry)
    data = DatasetCardData(
        pretty_name=pretty_name, license=license, language="en",
        task_categories=["visual-question-answering", "image-segmentation"],
        size_categories="n<1K" if num_rows < 1000 else "1K<n<10K",
        configs=config_entries,
        dataset_info={"features": features._to_yaml_list(),
                      "splits": [{"name": SPLIT, "num_bytes": num_bytes, "num_examples": num_rows}],
                      "dataset_size": num_bytes},
        **extra,
    )
    return "---\n" + data.to_yaml() + "\n---\n"


def fill_card(template: str, values: Mapping[str, str]) -> str:
    """Replace ``{{key}}`` placeholders; unknown placeholders are an error (a stale template)."""
    text = template
    for key, value in values.items():
        text = text.replace("{{" + key + "}}", value)
    if "{{" in text:
        start = text.index("{{")
        raise KeyError(f"dataset card template has an unfilled placeholder {text[start:text.index('}}', start) + 2]}")
    return text


def rows_to_table(rows: Sequence[Mapping[str, Any]], features: Features) -> pa.Table:
    """Encode rows with the ``datasets`` features into an Arrow table carrying the features metadata."""
    encoded = [features.encode_example(dict(row)) for row in rows]
    columns = {name: [row[name] for row in encoded] for name in features}
    return pa.Table.from_pydict(columns, schema=features.arrow_schema)


#: The entries a build writes in its folder (besides its shards under ``data/``).
CARD_FILE = "README.md"
DATA_FOLDER = "data"
#: Staging folders of a build (``tempfile`` names); one left behind by a killed build is pixbench's.
_STAGING_PREFIX = ".build-"
_STAGING_NAME = re.compile(r"\.build-[a-z0-9_]{8}")
_LISTED = 5


class OutDirError(ValueError):
    """The output folder cannot take the build; nothing was written."""


@dataclass(frozen=True)
class OutDirPlan:
    """What writing a build into ``out_dir`` replaces, and what it leaves alone.

    ``remove``: entries a build owns (its card, summary, ``data/*.parquet`` shards, staging leftovers),
    removed just before the new files move in; ``left_in_place``: everything else (only with ``force``).
    """

    out_dir: Path
    remove: tuple[Path, ...] = ()
    left_in_place: tuple[str, ...] = ()


def _shown(path: Path, root: Path) -> str:
    name = path.relative_to(root).as_posix()
    if path.is_symlink():
        return f"{name} (symbolic link)"
    return f"{name}/" if path.is_dir() else name


def _listing(names: Sequence[str]) -> str:
    shown = ", ".join(names[:_LISTED])
    return shown + (f" and {len(names) - _LISTED} more" if len(names) > _LISTED else "")


def _real_dir(path: Path) -> bool:
    return path.is_dir() and not path.is_symlink()


def _real_file(path: Path) -> bool:
    return path.is_file() and not path.is_symlink()


def _summary_benchmark(path: Path) -> str | None:
    """The benchmark named by a build summary that pixbench wrote, else ``None``."""
    if not _real_file(path):
        return None
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(summary, dict) or not isinstance(summary.get("pixbench_version"), str):
        return None
    benchmark = summary.get("benchmark")
    return benchmark if isinstance(benchmark, str) and benchmark else None


def inspect_out_dir(out_dir: Path, benchmark: str | None, *, force: bool = False) -> OutDirPlan:
    """Check that a build may write into ``out_dir``; raise :class:`OutDirError` (nothing touched) if not.

    A build may write into a folder that does not exist yet, an empty folder, or an earlier build of
    the same benchmark: a folder holding ``build_summary.json`` written by pixbench and otherwise only
    what a build writes (``README.md``, a ``data/`` folder of ``*.parquet`` files, and the ``.build-*``
    staging folder of an interrupted build), all regular files and folders, no symbolic links. With
    ``force`` any folder is accepted: those entries are replaced (a symbolic link is removed, never
    followed) and every other entry is left in place. A path that is a file is refused even with ``force``.
    """
    if out_dir.is_symlink() and not out_dir.exists():
        raise OutDirError(f"{out_dir} is a broken symbolic link; choose another output folder")
    if out_dir.exists() and not out_dir.is_dir():
        raise OutDirError(f"{out_dir} is a file, not a folder; choose another output folder")
    if not out_dir.exists():
        for parent in out_dir.absolute().parents:
            if parent.exists():
                if not parent.is_dir():
                    raise OutDirError(f"cannot create {out_dir}: {parent} is a file, not a folder")
                break
        return OutDirPlan(out_dir)
    try:
        entries = sorted(out_dir.iterdir())
    except OSError as exc:
        raise OutDirError(f"cannot read the output folder {out_dir}: {exc}") from None
    remove: list[Path] = []
    foreign: list[Path] = []
    found = None
    for entry in entries:
        name = entry.name
        if name == BUILD_SUMMARY_FILE:
            found = _summary_benchmark(entry)
            (remove if found is not None or force else foreign).append(entry)
        elif name == CARD_FILE:
            (remove if _real_file(entry) or force else foreign).append(entry)
        elif name == DATA_FOLDER and _real_dir(entry):
            for item in sorted(entry.iterdir()):
                is_shard = item.name.endswith(".parquet") and (_real_file(item) or force)
                (remove if is_shard else foreign).append(item)
        elif name == DATA_FOLDER and force:
            remove.append(entry)  # a file or a symbolic link named data: removed, never followed
        elif _STAGING_NAME.fullmatch(name) and _real_dir(entry):
            remove.append(entry)
        else:
            foreign.append(entry)
    left = [_shown(path, out_dir) for path in foreign]
    if force or not entries:
        return OutDirPlan(out_dir, tuple(remove), tuple(left))
    advice = ("Nothing was written. Choose a new or empty folder, or pass --force to replace README.md, "
              "build_summary.json and data/*.parquet there (other files are left in place).")
    if found is None:
        at_stake = sorted([_shown(path, out_dir) for path in remove if not _STAGING_NAME.fullmatch(path.name)]
                          + left)
        if not at_stake:  # nothing but an empty data/ folder or the staging folder of a killed build
            return OutDirPlan(out_dir, tuple(remove))
        raise OutDirError(f"{out_dir} is not an earlier pixbench build (it has no build_summary.json written by "
                          f"pixbench) and holds {_listing(at_stake)}. {advice}")
    if left:
        raise OutDirError(f"{out_dir} holds files that a pixbench build did not write: {_listing(left)}. {advice}")
    if benchmark is not None and found != benchmark:
        raise OutDirError(f"{out_dir} holds a {found} build; building {benchmark} there would replace it. "
                          "Nothing was written. Choose another folder, or pass --force to replace it.")
    return OutDirPlan(out_dir, tuple(remove))


def _remove(path: Path) -> None:
    """Delete one entry of the output folder; a symbolic link is unlinked, never followed."""
    if path.is_symlink() or not path.is_dir():
        path.unlink(missing_ok=True)
    else:
        shutil.rmtree(path)


@dataclass
class Staging:
    """A build being written: files go to ``path`` (inside the output folder) and are listed in
    ``written`` (relative paths); :func:`staged_build` moves them into place when the build completes."""

    path: Path
    written: list[str] = field(default_factory=list)

    def finish(self, card: str, summary: Mapping[str, Any]) -> None:
        """Write the dataset card and the build summary (the last files of a build)."""
        (self.path / CARD_FILE).write_text(card, encoding="utf-8")
        (self.path / BUILD_SUMMARY_FILE).write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n",
                                                    encoding="utf-8")
        self.written += [CARD_FILE, BUILD_SUMMARY_FILE]


@contextmanager
def staged_build(out_dir: Path, benchmark: str | None, *, force: bool = False) -> Iterator[Staging]:
    """A staging folder inside ``out_dir`` for a build, moved into place only when the ``with`` block ends
    without error: ``out_dir`` must be new, empty or an earlier build of ``benchmark`` (see
    :func:`inspect_out_dir`; ``force`` accepts any folder); the card, summary and shards of an earlier
    build are replaced (stale shards removed), nothing else is touched, and a failed build (a full disk
    included) leaves the folder as it was: a folder it created is removed again when it is still empty."""
    plan = inspect_out_dir(out_dir, benchmark, force=force)
    created = [folder for folder in (out_dir, *out_dir.parents) if not folder.exists()]
    out_dir.mkdir(parents=True, exist_ok=True)
    try:
        with tempfile.TemporaryDirectory(dir=out_dir, prefix=_STAGING_PREFIX) as tmp:
            staging = Staging(Path(tmp))
            (staging.path / DATA_FOLDER).mkdir()
            yield staging
            data = out_dir / DATA_FOLDER
            if data not in plan.remove:  # made before anything is removed: a full disk fails here, harmlessly
                data.mkdir(exist_ok=True)
            for path in plan.remove:
                _remove(path)
            data.mkdir(exist_ok=True)
            for relative in staging.written:
                os.replace(staging.path / relative, out_dir / relative)
    except BaseException:
        for folder in created:  # the folders this build created, innermost first, if still empty
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise


def write_hub_folder(out_dir: Path, *, shards: Mapping[str, Sequence[Mapping[str, Any]]], features: Features,
                     card_for: Callable[[int], str], summary: Mapping[str, Any], force: bool = False) -> list[str]:
    """Write ``data/<prefix>-NNNNN-of-MMMMM.parquet`` shards, ``README.md`` and the build summary through
    :func:`staged_build`. ``card_for`` receives the Arrow size of the data in bytes (the card's
    ``num_bytes``) and returns the card text. Returns the relative paths written.
    """
    num_bytes = 0
    with staged_build(out_dir, summary.get("benchmark"), force=force) as staging:
        for prefix, rows in shards.items():
            count = max(1, -(-len(rows) // ROWS_PER_SHARD))
            for index in range(count):
                part = rows[index * ROWS_PER_SHARD:(index + 1) * ROWS_PER_SHARD]
                relative = f"{DATA_FOLDER}/{prefix}-{index:05d}-of-{count:05d}.parquet"
                table = rows_to_table(part, features)
                num_bytes += table.nbytes
                pq.write_table(table, staging.path / relative,
                               row_group_size=ROWS_PER_ROW_GROUP, compression="zstd", write_statistics=True)
                staging.written.append(relative)
        staging.finish(card_for(num_bytes), summary)
    return staging.written


def summary_header(benchmark: str, rows: int, extra: Mapping[str, Any]) -> dict[str, Any]:
    """The fields every build summary starts with."""
    return {"benchmark": benchmark, "pixbench_version": __version__, "rows": rows, **extra}


def format_summary_markdown(summary: Mapping[str, Any]) -> str:
    """The summary as a Markdown bullet list for the card."""
    lines = []
    for key, value in summary.items():
        shown = json.dumps(value, sort_keys=True) if isinstance(value, (dict, list)) else str(value)
        lines.append(f"- **{key}**: {shown}")
    return "\n".join(lines)


def ensure_no_errors(report: Findings, what: str) -> None:
    """Raise :class:`AnnotationError` with the whole report when it holds errors."""
    from pixbench.annotation.findings import AnnotationError

    if not report.ok:
        raise AnnotationError(report, what)
