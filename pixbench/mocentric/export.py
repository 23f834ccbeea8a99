"""Export one MoCentric-Bench probe as a MeViS-style folder, so MeViS inference code runs on it unchanged.

Layout written under ``DIR`` (``<NNNNN>`` = the presented frame's name ``frames[t]``, see
:mod:`pixbench.mocentric.views`):

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
- ``DIR/pixbench_export.json``: what the folder holds (probe, layout, image format, the build's hash);
  an export into a folder holding another probe, layout, format or build is refused.

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

Resumable: a frame file that exists with the canvas' size (a copied original: with the original's byte
count) is skipped; every file is written under a temporary name in its folder and renamed. Videos are
streamed from the ``videos`` config one parquet row group (one video) at a time; at most one video's
decoded frames are held in memory.
"""

from __future__ import annotations

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
from pixbench.loaders.shards import one_line, read_columns
from pixbench.mocentric.rows import ExpressionRow, VideoReference
from pixbench.mocentric.views import (
    DEFAULT_LAYOUT,
    PAIR_PROBES,
    PROBES,
    REVERSED_PROBES,
    ProbeView,
    ViewError,
    check_probe_layout,
    probe_view,
)

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
    """The build cannot be exported as asked (no ``videos`` config, a video without frames, a folder
    holding another export); the message is one line naming the file or video."""


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
    ``expressions`` count the entries of ``meta_expressions.json``; ``frames`` the presented frame files
    of the export, ``written`` those written by this call and ``skipped`` those found done.
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


def resolve_layout(probe: str, layout: str | None) -> str | None:
    """``layout``, or the probe's default (:data:`DEFAULT_LAYOUT`) for a pair probe without one; then
    :func:`check_probe_layout` (:class:`ViewError` for an unknown probe or layout, or a layout given to a
    probe without halves)."""
    if probe in PROBES and probe in PAIR_PROBES and layout is None:
        layout = DEFAULT_LAYOUT[probe]
    check_probe_layout(probe, layout)
    return layout


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


def _check_manifest(out_dir: Path, manifest: dict[str, Any]) -> None:
    path = out_dir / MANIFEST_FILE
    if path.is_file():
        try:
            found = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ExportError(f"{path}: unreadable ({one_line(exc)}); delete it or choose another --out") from None
        if found != manifest:
            changed = sorted(k for k in manifest if not isinstance(found, dict) or found.get(k) != manifest[k])
            raise ExportError(f"{out_dir} holds another export ({', '.join(f'{k} {found.get(k)!r}' for k in changed)}"
                              f" in {MANIFEST_FILE}, now {', '.join(repr(manifest[k]) for k in changed)}); choose "
                              "another --out or delete that folder")
        return
    if out_dir.is_dir() and (out_dir / FRAMES_FOLDER).exists():
        raise ExportError(f"{out_dir} holds a {FRAMES_FOLDER} folder not written by `pixbench mocentric export` "
                          f"(no {MANIFEST_FILE}); choose another --out")
    out_dir.mkdir(parents=True, exist_ok=True)
    write_atomic(path, (json.dumps(manifest, indent=2) + "\n").encode())


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
                 workers: int = 1, progress: bool = False) -> ExportResult:
    """Write ``probe`` (under ``layout``, default :data:`DEFAULT_LAYOUT` for pairs) of the build in ``data``
    (whose rows are ``reference``, from :func:`pixbench.references.load_reference`) to ``out_dir`` (layout and
    formats in the module docstring). ``workers`` threads encode and write; ``progress`` shows a tqdm bar
    on stderr. Raises :class:`ViewError` for a bad probe or layout, :class:`ExportError` for a build without
    frames, a video without frames or an ``out_dir`` holding another export."""
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
    _check_manifest(out_dir, {"benchmark": MOCENTRIC.name, "probe": probe, "layout": layout, "image_format": chosen,
                              "jpeg_quality": jpeg_quality if chosen == "jpg" else None,
                              "data_sha256": reference.origin.get("sha256")})
    total = sum(view.length for units in folders.values() for _, view in units)
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
                    if is_done(path, canvas=view.canvas, byte_count=len(video.frames[key[0]]) if copy else None):
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
                        written=written, skipped=skipped)


__all__ = ["DEFAULT_JPEG_QUALITY", "IMAGE_FORMATS", "META_FILE", "PER_EXPRESSION_PROBES", "ExportError", "ExportResult",
           "FrameCache", "VideoFrames", "ViewError", "decode_frame", "encode_image", "export_probe", "iter_videos",
           "meta_expressions", "one_frame", "resolve_layout", "video_ids", "video_shards"]
