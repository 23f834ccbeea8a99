"""Export one MoCentric-Bench probe as a MeViS-style folder, so MeViS inference code runs on it unchanged.

Layout written under ``DIR`` (``<NNNNN>`` = the presented frame's name ``frames[t]``, see
:mod:`pixbench.benchmarks.mocentric.views`):

- per-expression probes ``static`` and ``static-pair`` (their frames depend on the expression's keyframe):
  ``DIR/JPEGImages/<video_id>/<exp_id>/<NNNNN>.<ext>``;
- ``original``, ``reversed`` and ``reversed-pair`` (the same frames for every expression of a video):
  ``DIR/JPEGImages/<video_id>/<NNNNN>.<ext>``;
- ``DIR/meta_expressions.json`` in the MeViS schema, ``{"videos": {vid: {"vid_id": int, "frames":
  ["00000", ...], "expressions": {"<exp_id>": {"exp": str, "obj_id": [int], "anno_id": [int]}}}}}``, with
  the texts of the probe's expression set: the original texts for ``original``, ``static`` and
  ``static-pair``, the reversed texts (``reversed`` config) for ``reversed`` and ``reversed-pair``. Only
  videos with at least one expression in the set are listed (and get frames); ``frames`` is the original
  frame list (the presented frames' names); ``vid_id`` is the video's position in the build (0, 1, ...;
  the build does not keep MeViS' own ``vid_id``). It is written last: its presence means the export is
  complete.
- ``DIR/pixbench_export.json`` (the manifest): what the folder holds (benchmark, probe, layout, image
  format, JPEG quality, the build's ``data_sha256``). It is written first, before any frame, so an export
  killed at any point is recognised as one.

Where an export may write (:func:`inspect_export_dir`, checked before anything is written): a folder that
does not exist, an empty one (or one holding only this module's temporary files: an export killed before
its manifest was in place), or an earlier export with the same manifest, which is resumed. Anything else
is refused with what was found: an export of another probe, layout, format, quality or build, or a folder
that is no export (no manifest) holding other files, such as someone's own ``meta_expressions.json``.
``force`` writes there anyway and replaces only what an export writes: the manifest,
``meta_expressions.json`` (removed at once, since its presence means a complete export) and the frame
files: files at this export's frame paths and, for an earlier export of the same build, the frame files
it wrote (its probe, layout and format give their names exactly) are removed before the manifest is
written (folders emptied by that removal too), so neither this run nor a resumed one trusts a frame it
did not write; every other file is left in place (listed in :attr:`ExportResult.left_in_place`).
``DIR/JPEGImages`` must be a real folder (never a symbolic link, which would send frames elsewhere), even
with ``force``.

This is the layout of the published MoCentric generator (``data/create_benchmark_mevis.py`` and the
``mevis_val_mocentric_*`` splits of ``datasets_/mevis_variants``): its ``single`` and ``tile_single``
folders hold ``JPEGImages/<vid>/<exp_id>/<frame>.jpg`` and are read with the plain MeViS
``meta_expressions.json`` (``special_path`` in its Sa2VA script adds ``<exp_id>`` to the frame folder);
``tile_reverse`` folders hold ``JPEGImages/<vid>/<frame>.jpg`` with ``meta_expressions_reverse_filtered.json``.
Differences: the published ``reversed`` probe is not exported (its loaders reverse the original frame
list at run time); here its frames are written already reversed, so read it like ``original`` and do not
reverse again. The meta file sits in ``DIR`` instead of ``valid_u/``.

Images: by default lossless PNG for the altered probes and, for ``original``, the untouched original JPEG
bytes (``.jpg``, copied as stored in the ``videos`` config). ``image_format="jpg"`` re-encodes every
presented frame with Pillow at ``jpeg_quality`` (75, Pillow's default, is what the published generator's
``Image.save(... .jpg)`` wrote); ``"png"`` writes PNG for every probe, ``original`` included.

Resumable: in an earlier export with the same manifest, a frame file that exists with the canvas' size (a
copied original: with the original's byte count) is skipped; every file is written under a temporary name
in its folder and renamed. Videos are streamed from the ``videos`` config one parquet row group (one
video) at a time; at most one video's decoded frames are held in memory.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import io
import json
import logging
import os
from collections import deque
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pyarrow.parquet as pq
from PIL import Image

from pixbench.benchmarks.mocentric import MOCENTRIC, SHARD_PREFIX
from pixbench.benchmarks.mocentric.rows import ExpressionRow, VideoReference
from pixbench.benchmarks.mocentric.views import (
    REVERSED_PROBES,
    ProbeView,
    ViewError,
    probe_view,
    resolve_layout,
)
from pixbench.builds.shards import one_line, read_columns

logger = logging.getLogger(__name__)

ImageFormat = Literal["png", "jpg"]
IMAGE_FORMATS: tuple[str, ...] = ("png", "jpg")
#: Probes whose presented frames depend on the expression (its keyframe): one frame folder per expression.
PER_EXPRESSION_PROBES = frozenset({"static", "static-pair"})
FRAMES_FOLDER = "JPEGImages"
META_FILE = "meta_expressions.json"
MANIFEST_FILE = "pixbench_export.json"
#: Temporary files are ``.pixbench-<name>.<pid>.tmp`` in the target folder (hidden, never ``.jpg``/``.png``).
TEMP_PREFIX = ".pixbench-"
DEFAULT_JPEG_QUALITY = 75


class ExportError(ValueError):
    """The build cannot be exported as asked (no ``videos`` config, a video without frames, an output
    folder that is not new, empty or an earlier export with the same settings); the message is one line
    naming the file or video."""


@dataclass(frozen=True)
class VideoFrames:
    """One row of the ``videos`` config: the original encoded frames (bytes as stored) in original order."""

    video_id: str
    height: int
    width: int
    frame_names: tuple[str, ...]
    frames: tuple[bytes, ...]


@dataclass(frozen=True)
class ExportResult:
    """What :func:`export_probe` did.

    ``image_format`` is ``"png"``, ``"jpg"`` or ``"original"`` (the original bytes copied); ``videos`` and
    ``expressions`` count the entries of ``meta_expressions.json``; ``frames`` the presented frame files of
    the export, ``written`` those written by this call and ``skipped`` those found done; ``removed`` the files
    that ``force`` removed first (an earlier export's frames, files at this export's frame paths);
    ``left_in_place`` the entries of the folder that no export writes, left untouched (reported with ``force``
    only).
    """

    out_dir: Path
    probe: str
    layout: str | None
    image_format: str
    videos: int
    expressions: int
    frames: int
    written: int
    skipped: int
    removed: int = 0
    left_in_place: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "out_dir": str(self.out_dir)}


# ------------------------------------------------------------------------------------------ reading


def video_shards(folder: Path) -> list[Path]:
    """The ``videos`` shards of a build; :class:`ExportError` when it has none (built with ``--no-frames``)."""
    shards = sorted((folder / "data").glob(f"{SHARD_PREFIX['videos']}-*.parquet"))
    if not shards:
        raise ExportError(f"{folder} has no `videos` config (no data/{SHARD_PREFIX['videos']}-*.parquet): it was "
                          "built with --no-frames; rebuild it with the MeViS frames to export or draw them")
    return shards


def _row_group_ids(parquet: pq.ParquetFile, group: int) -> list[str]:
    return [str(v) for v in parquet.read_row_group(group, columns=["video_id"]).column(0).to_pylist()]


def video_ids(folder: Path) -> list[str]:
    """The video ids of the ``videos`` config, in stored order (reads that column only)."""
    ids: list[str] = []
    for shard in video_shards(folder):
        ids.extend(str(v) for v in read_columns(shard, ("video_id",), what="mocentric config 'videos'")["video_id"])
    return ids


def iter_videos(folder: Path, *, wanted: Collection[str] | None = None) -> Iterator[VideoFrames]:
    """The ``videos`` rows (all, or those in ``wanted``), one parquet row group at a time."""
    for shard in video_shards(folder):
        try:
            parquet = pq.ParquetFile(shard)
            for group in range(parquet.num_row_groups):
                if wanted is not None and not set(_row_group_ids(parquet, group)) & set(wanted):
                    continue
                table = parquet.read_row_group(group, columns=["video_id", "height", "width", "frame_names",
                                                               "frames"])
                for row in table.to_pylist():
                    if wanted is not None and row["video_id"] not in wanted:
                        continue
                    yield VideoFrames(str(row["video_id"]), int(row["height"]), int(row["width"]),
                                      tuple(str(n) for n in row["frame_names"]),
                                      tuple(bytes(f["bytes"]) for f in row["frames"]))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ExportError(f"{shard}: cannot read the videos config ({one_line(exc)})") from None


def decode_frame(data: bytes) -> np.ndarray:
    """An encoded frame as an ``H x W x 3`` ``uint8`` RGB array."""
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image.convert("RGB"))


class FrameCache(Sequence[np.ndarray]):
    """A video's frames, decoded on first use (what :meth:`ProbeView.compose` indexes)."""

    def __init__(self, video: VideoFrames) -> None:
        self.video = video
        self._decoded: dict[int, np.ndarray] = {}

    def __len__(self) -> int:
        return len(self.video.frames)

    def __getitem__(self, index: Any) -> Any:
        if not isinstance(index, int):
            raise TypeError("FrameCache takes an int index")
        if index not in self._decoded:
            array = decode_frame(self.video.frames[index])
            if array.shape[:2] != (self.video.height, self.video.width):
                raise ExportError(f"video {self.video.video_id}: frame {self.video.frame_names[index]} is "
                                  f"{array.shape[0]}x{array.shape[1]}, the video is "
                                  f"{self.video.height}x{self.video.width}")
            self._decoded[index] = array
        return self._decoded[index]


def obj_ids(folder: Path, config: str) -> dict[str, list[int]]:
    """Row id -> ``obj_ids`` of the ``expressions`` or ``reversed`` config."""
    out: dict[str, list[int]] = {}
    for shard in sorted((folder / "data").glob(f"{SHARD_PREFIX[config]}-*.parquet")):
        table = read_columns(shard, ("id", "obj_ids"), what=f"mocentric config {config!r}")
        out.update((str(i), [int(v) for v in objs]) for i, objs in zip(table["id"], table["obj_ids"]))
    return out


# ------------------------------------------------------------------------------------------ planning


def view_of(row: ExpressionRow, probe: str, layout: str | None) -> ProbeView:
    return probe_view(probe=probe, layout=layout, frame_names=row.frame_names, keyframe=row.keyframe,
                      height=row.height, width=row.width)


def meta_expressions(reference: VideoReference, probe: str, objects: Mapping[str, Sequence[int]]) -> dict[str, Any]:
    """The probe's ``meta_expressions.json`` (MeViS schema; rules in the module docstring)."""
    numbers: dict[str, int] = {}
    for row in reference.expressions.values():
        numbers.setdefault(row.video_id, len(numbers))
    videos: dict[str, Any] = {}
    for row in reference.rows_for(probe).values():
        entry = videos.setdefault(row.video_id, {"vid_id": numbers.get(row.video_id, len(numbers)),
                                                 "frames": list(row.frame_names), "expressions": {}})
        entry["expressions"][str(row.exp_id)] = {"exp": row.expression, "obj_id": list(objects.get(row.id, [])),
                                                 "anno_id": list(row.anno_ids)}
    return {"videos": videos}


def frame_folders(reference: VideoReference, probe: str, layout: str | None,
                  out_dir: Path) -> dict[str, list[tuple[Path, ProbeView]]]:
    """Video id -> the frame folders of that video and the view each holds (one per expression for the
    per-expression probes, else one per video)."""
    folders: dict[str, list[tuple[Path, ProbeView]]] = {}
    for row in reference.rows_for(probe).values():
        video_dir = out_dir / FRAMES_FOLDER / row.video_id
        if probe in PER_EXPRESSION_PROBES:
            folders.setdefault(row.video_id, []).append((video_dir / str(row.exp_id), view_of(row, probe, layout)))
        elif row.video_id not in folders:
            folders[row.video_id] = [(video_dir, view_of(row, probe, layout))]
    return folders


# ------------------------------------------------------------------------------------------ the output folder

#: Entries an export writes at the top of its folder.
EXPORT_ENTRIES = frozenset({FRAMES_FOLDER, META_FILE, MANIFEST_FILE})
_LISTED = 5


@dataclass(frozen=True)
class ExportPlan:
    """What :func:`inspect_export_dir` found in the output folder, and how the export goes there.

    ``resume``: frame files found done are kept (a new or empty folder, or an earlier export with the same
    manifest); false with ``force`` elsewhere: every frame is written. ``previous``: the readable manifest
    of an earlier export that ``force`` replaces. ``left_in_place``: the entries no export writes (with
    ``force``; an earlier export with the same manifest may hold them too and keeps them untouched).
    """

    out_dir: Path
    resume: bool = True
    previous: Mapping[str, Any] | None = None
    left_in_place: tuple[str, ...] = ()


def _is_temporary(entry: Path) -> bool:
    return entry.name.startswith(TEMP_PREFIX) and entry.name.endswith(".tmp") and entry.is_file() \
        and not entry.is_symlink()


def _shown(entry: Path) -> str:
    if entry.is_symlink():
        return f"{entry.name} (symbolic link)"
    return f"{entry.name}/" if entry.is_dir() else entry.name


def _listing(names: Sequence[str]) -> str:
    shown = ", ".join(names[:_LISTED])
    return shown + (f" and {len(names) - _LISTED} more" if len(names) > _LISTED else "")


def _read_manifest(path: Path) -> tuple[dict[str, Any] | None, str]:
    """The manifest at ``path`` and ``""``, or ``None`` and why it cannot be one."""
    if path.is_symlink() or not path.is_file():
        return None, "a symbolic link" if path.is_symlink() else "not a file"
    try:
        found = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return None, one_line(exc)
    if not isinstance(found, dict):
        return None, f"expected a JSON object, but got {type(found).__name__}"
    return found, ""


def _check_entry_kinds(out_dir: Path) -> None:
    """Refuse (even with ``force``) what an export cannot write into: ``JPEGImages`` that is a symbolic link
    (frames would land where it points) or a file; a folder named like the meta file or the manifest."""
    frames = out_dir / FRAMES_FOLDER
    if frames.is_symlink():
        raise ExportError(f"{frames} is a symbolic link; an export writes its frames into a folder of its own "
                          "there, never through a link. Nothing was written; choose another --out")
    if frames.exists() and not frames.is_dir():
        raise ExportError(f"{frames} is a file, not a folder. Nothing was written; choose another --out")
    for name in (META_FILE, MANIFEST_FILE):
        if (out_dir / name).is_dir() and not (out_dir / name).is_symlink():
            raise ExportError(f"{out_dir / name} is a folder, not a file. Nothing was written; choose another --out")


def inspect_export_dir(out_dir: Path, manifest: Mapping[str, Any], *, force: bool = False) -> ExportPlan:
    """Check that an export with ``manifest`` may write into ``out_dir``; :class:`ExportError` (nothing
    touched) if not. Rules in the module docstring: new, empty (temporary files aside) or an earlier export
    with the same manifest; ``force`` accepts any folder (not a file, not a ``JPEGImages`` link)."""
    if out_dir.is_symlink() and not out_dir.exists():
        raise ExportError(f"{out_dir} is a broken symbolic link; choose another --out")
    if out_dir.exists() and not out_dir.is_dir():
        raise ExportError(f"{out_dir} is a file, not a folder; choose another --out")
    if not out_dir.exists():
        for parent in out_dir.absolute().parents:
            if parent.exists():
                if not parent.is_dir():
                    raise ExportError(f"cannot create {out_dir}: {parent} is a file, not a folder")
                break
        return ExportPlan(out_dir)
    try:
        entries = [entry for entry in sorted(out_dir.iterdir()) if not _is_temporary(entry)]
    except OSError as exc:
        raise ExportError(f"cannot read the output folder {out_dir}: {one_line(exc)}") from None
    _check_entry_kinds(out_dir)
    if not entries:  # empty, or an export killed before its manifest was in place
        return ExportPlan(out_dir)
    foreign = tuple(_shown(entry) for entry in entries if entry.name not in EXPORT_ENTRIES)
    path = out_dir / MANIFEST_FILE
    found, why = _read_manifest(path) if path.exists() or path.is_symlink() else (None, "")
    if found == dict(manifest):
        return ExportPlan(out_dir, left_in_place=foreign)
    if force:
        return ExportPlan(out_dir, resume=False, previous=found, left_in_place=foreign)
    replaced = f"{FRAMES_FOLDER}/ frames, {META_FILE} and {MANIFEST_FILE}"
    if found is not None:
        keys = [k for k in (*manifest, *(k for k in found if k not in manifest)) if found.get(k) != manifest.get(k)]
        raise ExportError(f"{out_dir} holds another export ({', '.join(f'{k} {found.get(k)!r}' for k in keys)} in "
                          f"{MANIFEST_FILE}; this one has {', '.join(repr(manifest.get(k)) for k in keys)}). Nothing "
                          f"was written. Choose another --out, or pass --force to replace that export (its {replaced}; "
                          "other files are left in place)")
    advice = (f"Nothing was written. Choose a new or empty folder, or pass --force to write the export there "
              f"(replacing {replaced}; other files are left in place)")
    if why:
        raise ExportError(f"{path} is not a manifest written by `pixbench mocentric export` ({why}). {advice}")
    raise ExportError(f"{out_dir} is not an earlier `pixbench mocentric export` (no {MANIFEST_FILE}) and holds "
                      f"{_listing([_shown(entry) for entry in entries])}. {advice}")


def _remove_frames(folders: Mapping[str, Sequence[tuple[Path, ProbeView]]], extension: str,
                   per_expression: bool) -> int:
    """Remove the frame files ``<folder>/<name>.<extension>`` of ``folders`` (see :func:`frame_folders`) and
    this module's temporary files beside them, then the folders left empty; returns how many frame files
    went. Anything else in those folders stays (and keeps its folder)."""
    removed = 0
    for units in folders.values():
        for folder, view in units:
            if folder.is_symlink() or not folder.is_dir():
                continue
            for name in view.names:
                path = folder / f"{name}.{extension}"
                if path.is_symlink() or path.is_file():
                    path.unlink()
                    removed += 1
            _clean_temporaries(folder)
            for emptied in (folder, folder.parent) if per_expression else (folder,):
                with contextlib.suppress(OSError):  # not empty: someone's other files stay
                    emptied.rmdir()
    return removed


def _remove_earlier_export(previous: Mapping[str, Any] | None, manifest: Mapping[str, Any],
                           reference: VideoReference, out_dir: Path) -> int:
    """Remove the frame files that the export described by ``previous`` wrote, when it is an export of the
    same build (so its probe, layout and format name them exactly); returns how many went."""
    if not previous or previous.get("benchmark") != manifest["benchmark"] \
            or previous.get("data_sha256") != manifest["data_sha256"] or manifest["data_sha256"] is None:
        return 0
    extension = {"original": "jpg", "jpg": "jpg", "png": "png"}.get(str(previous.get("image_format")))
    try:
        probe = str(previous.get("probe"))
        folders = frame_folders(reference, probe, resolve_layout(probe, previous.get("layout")), out_dir)
    except (ViewError, TypeError, KeyError):
        return 0
    return 0 if extension is None else _remove_frames(folders, extension, probe in PER_EXPRESSION_PROBES)


# ------------------------------------------------------------------------------------------ writing


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` under a temporary name in the same folder, then rename it into place."""
    temporary = path.with_name(f"{TEMP_PREFIX}{path.name}.{os.getpid()}.tmp")
    try:
        temporary.write_bytes(data)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def encode_image(array: np.ndarray, image_format: str, jpeg_quality: int) -> bytes:
    """An ``H x W x C`` array encoded as lossless PNG or as JPEG at ``jpeg_quality`` (Pillow's defaults)."""
    buffer = io.BytesIO()
    if image_format == "png":
        Image.fromarray(array).save(buffer, format="PNG")
    else:
        Image.fromarray(array).save(buffer, format="JPEG", quality=jpeg_quality)
    return buffer.getvalue()


def is_done(path: Path, *, canvas: tuple[int, int], byte_count: int | None) -> bool:
    """Whether ``path`` is already written: the original's byte count for a copy, else an image of the
    canvas' ``(height, width)``."""
    try:
        if byte_count is not None:
            return path.stat().st_size == byte_count
        with Image.open(path) as image:
            return image.size == (canvas[1], canvas[0])
    except (OSError, ValueError, Image.DecompressionBombError):
        return False


def one_frame(view: ProbeView, t: int) -> ProbeView:
    """The view of presented position ``t`` alone (to compose one canvas at a time)."""
    return dataclasses.replace(view, names=(view.names[t],), target_frames=(view.target_frames[t],),
                               other_frames=None if view.other_frames is None else (view.other_frames[t],))


def _write_all(paths: Sequence[Path], data: bytes) -> None:
    for path in paths:
        write_atomic(path, data)


def _encode_and_write(paths: Sequence[Path], canvas: np.ndarray, image_format: str, jpeg_quality: int) -> None:
    _write_all(paths, encode_image(canvas, image_format, jpeg_quality))


def _clean_temporaries(folder: Path) -> None:
    for stale in folder.glob(f"{TEMP_PREFIX}*.tmp"):
        stale.unlink(missing_ok=True)


def export_probe(*, data: Path, reference: VideoReference, probe: str, layout: str | None, out_dir: Path,
                 image_format: ImageFormat | None = None, jpeg_quality: int = DEFAULT_JPEG_QUALITY,
                 workers: int = 1, progress: bool = False, force: bool = False,
                 announce: Callable[[str], None] | None = None) -> ExportResult:
    """Write ``probe`` (under ``layout``, default :data:`DEFAULT_LAYOUT` for pairs) of the build in ``data``
    (whose rows are ``reference``, from :func:`pixbench.references.load_reference`) to ``out_dir`` (layout,
    formats and which folders are accepted, ``force`` included, in the module docstring). ``workers`` threads
    encode and write; ``progress`` shows a tqdm bar on stderr; ``announce`` (if given) receives one sentence
    saying what is written once the folder is accepted (for a log when there is no bar). Raises
    :class:`ViewError` for a bad probe or layout, :class:`ExportError` for a build without frames, a video
    without frames or an ``out_dir`` that is not new, empty or an earlier export with the same settings
    (then before anything is written)."""
    from tqdm import tqdm

    layout = resolve_layout(probe, layout)
    if image_format is not None and image_format not in IMAGE_FORMATS:
        raise ExportError(f"unknown image format {image_format!r} (expected one of {list(IMAGE_FORMATS)})")
    if not 1 <= jpeg_quality <= 100:
        raise ExportError(f"Expected a JPEG quality between 1 and 100, but got {jpeg_quality}")
    copy = image_format is None and probe == "original"
    chosen = "original" if copy else (image_format or "png")
    extension = "jpg" if chosen in ("original", "jpg") else "png"
    folders = frame_folders(reference, probe, layout, out_dir)
    stored = set(video_ids(data))  # also: ExportError without a videos config
    missing = sorted(set(folders) - stored)
    if missing:
        raise ExportError(f"{data}: video(s) {missing[:5]} have expressions but no frames in the videos config")
    config = "reversed" if probe in REVERSED_PROBES else "expressions"
    meta = meta_expressions(reference, probe, obj_ids(data, config))
    manifest = {"benchmark": MOCENTRIC.name, "probe": probe, "layout": layout, "image_format": chosen,
                "jpeg_quality": jpeg_quality if chosen == "jpg" else None,
                "data_sha256": reference.origin.get("sha256")}
    plan = inspect_export_dir(out_dir, manifest, force=force)
    removed = 0
    if not plan.resume:  # force: the meta file goes first (its presence means a complete export), then every
        # file at a frame path of the earlier export or of this one, so that a later resume trusts only frames
        # this export wrote
        (out_dir / META_FILE).unlink(missing_ok=True)
        removed = _remove_earlier_export(plan.previous, manifest, reference, out_dir)
        removed += _remove_frames(folders, extension, probe in PER_EXPRESSION_PROBES)
    out_dir.mkdir(parents=True, exist_ok=True)
    _clean_temporaries(out_dir)
    write_atomic(out_dir / MANIFEST_FILE, (json.dumps(manifest, indent=2) + "\n").encode())
    total = sum(view.length for units in folders.values() for _, view in units)
    if announce is not None:
        announce(f"exporting {probe}{' ' + layout if layout else ''}: {total} frame(s) of {len(folders)} video(s) "
                 f"as {chosen} to {out_dir}" + ("" if plan.resume else " (--force: every frame written)"))
    written = skipped = 0
    pending: deque[tuple[Future[None], int]] = deque()
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool, \
            tqdm(total=total, desc=f"export {probe}{' ' + layout if layout else ''}", unit="frame",
                 disable=not progress) as bar:

        def submit(task: Callable[[], None], count: int) -> None:
            pending.append((pool.submit(task), count))
            while len(pending) > 2 * max(1, workers):
                drain()

        def drain() -> None:
            nonlocal written
            future, count = pending.popleft()
            future.result()
            written += count
            bar.update(count)

        for video in iter_videos(data, wanted=set(folders)):
            frames = FrameCache(video)
            logger.info("exporting video %s", video.video_id)
            for folder, view in folders[video.video_id]:
                if len(video.frames) != view.length or (video.height, video.width) != (view.height, view.width):
                    raise ExportError(f"video {video.video_id}: {len(video.frames)} frames of {video.height}x"
                                      f"{video.width} in the videos config, the expressions say {view.length} of "
                                      f"{view.height}x{view.width}")
                folder.mkdir(parents=True, exist_ok=True)
                _clean_temporaries(folder)
                todo: dict[tuple[int, int | None], list[Path]] = {}
                first: dict[tuple[int, int | None], int] = {}
                for t, name in enumerate(view.names):
                    key = (view.target_frames[t], None if view.other_frames is None else view.other_frames[t])
                    path = folder / f"{name}.{extension}"
                    if plan.resume and is_done(path, canvas=view.canvas,
                                               byte_count=len(video.frames[key[0]]) if copy else None):
                        skipped += 1
                        bar.update(1)
                        continue
                    todo.setdefault(key, []).append(path)
                    first.setdefault(key, t)
                for key, paths in todo.items():
                    if copy:
                        submit(functools.partial(_write_all, paths, video.frames[key[0]]), len(paths))
                    else:
                        canvas = one_frame(view, first[key]).compose(frames)[0]
                        submit(functools.partial(_encode_and_write, paths, canvas, chosen, jpeg_quality), len(paths))
        while pending:
            drain()
    write_atomic(out_dir / META_FILE, (json.dumps(meta, indent=4) + "\n").encode())
    return ExportResult(out_dir=out_dir, probe=probe, layout=layout, image_format=chosen, videos=len(meta["videos"]),
                        expressions=sum(len(v["expressions"]) for v in meta["videos"].values()), frames=total,
                        written=written, skipped=skipped, removed=removed, left_in_place=plan.left_in_place)


__all__ = ["DEFAULT_JPEG_QUALITY", "IMAGE_FORMATS", "MANIFEST_FILE", "META_FILE", "PER_EXPRESSION_PROBES",
           "ExportError", "ExportPlan", "ExportResult", "FrameCache", "VideoFrames", "ViewError", "decode_frame",
           "encode_image", "export_probe", "inspect_export_dir", "iter_videos", "meta_expressions", "one_frame",
           "video_ids", "video_shards"]
