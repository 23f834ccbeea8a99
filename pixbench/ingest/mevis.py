"""MeViS-style PNG outputs as MoCentric-Bench predictions (``pixbench convert --from mevis-pngs``).

The published MoCentric / MeViS inference scripts write one binary PNG per presented frame:

    PRED_ROOT/<video_id>/<exp_id>/<frame>.png

where ``<frame>`` is the name of presented frame t, which is ``frames[t]`` of the video's original frame
list (``00000``, ``00001``, ...; for the ``reversed`` probe ``00000.png`` is the answer for the original
*last* frame, see :mod:`pixbench.benchmarks.mocentric.views`). Each PNG is read by
:func:`pixbench.annotation.png.read_png` as the published evaluator reads it (OpenCV's grayscale read:
colour to grey, alpha ignored; a pixel is foreground when its grey level is not zero). Each PNG must have
the presented canvas of the probe and layout: ``(H, 2W)`` for ``target-left`` / ``target-right`` pairs,
``(2H, W)`` for ``target-bottom``, else ``(H, W)``.

:func:`convert_mevis_pngs` turns such a folder, for one probe (and layout) and model, into
:class:`~pixbench.predictions.Prediction` lines with the masks inline as RLE (an empty mask is stored as
``null``). What it does with each thing it finds:

- **an expression of the probe's set without a folder**: left out (scoring counts it *missing*); listed
  in :attr:`MevisConversion.missing`.
- **errors** (raised together as :class:`~pixbench.ingest.pixfoundation.ConvertError`, each naming the
  path): a folder lacking presented frames (named); a frame that is not a readable PNG file (a JPEG
  named ``.png`` included); a folder that cannot be listed or a root that cannot be read (a name too
  long, no permission); a PNG whose size is not the canvas (read from the header, so a wrong-size or
  huge file is never decoded); a video
  folder that is no video of the dataset, an expression folder that is no expression of its video
  (both usually mean another dataset, split or folder level); an expression outside the probe's set
  (a non-reversed expression for ``reversed`` / ``reversed-pair``); no expression folder at all.
- **warnings** (kept in :attr:`MevisConversion.warnings`, the conversion goes on): extra files in an
  expression folder (PNGs that name no presented frame, other files) and files where a video or
  expression folder is expected; they are ignored. Hidden entries (names starting with ``.``) are skipped.

PNGs are read by a bounded pool of threads (PIL's decoder releases the GIL), with a progress bar on
stderr when asked. Library code: the command line is :mod:`pixbench.cli.convert`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from pixbench.annotation import rle as rle_ops
from pixbench.annotation.png import PngSizeError, read_png, read_png_header
from pixbench.annotation.rle import MaskError, Rle
from pixbench.benchmarks.mocentric.rows import ExpressionRow, VideoReference
from pixbench.benchmarks.mocentric.views import PAIR_PROBES, check_probe_layout, probe_view
from pixbench.ingest.pixfoundation import MAX_PROBLEMS, ConvertError, ConvertProblem
from pixbench.mask_values import os_reason, path_text
from pixbench.predictions import Prediction
from pixbench.problems import ProblemLog, shorten

__all__ = ["MEVIS_SOURCE", "MevisConversion", "convert_mevis_pngs"]

#: The ``--from`` name of this layout.
MEVIS_SOURCE = "mevis-pngs"
#: How many names one message lists before "... and K more".
LIST_NAMES = 5

#: ``(model, benchmark, id, probe, variant, layout)``: what identifies a video line (``Prediction.key``).


@dataclass
class MevisConversion:
    """What :func:`convert_mevis_pngs` made of a folder.

    ``predictions`` (in the dataset's order) are the expressions that had a folder; ``expressions`` counts
    the probe's set; ``missing`` lists the ids of the set without a folder (left out: missing when scored);
    ``warnings`` holds what was ignored (the first :data:`MAX_PROBLEMS`, counting all).
    """

    probe: str
    layout: str | None
    model: str
    expressions: int
    predictions: list[Prediction] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    warnings: ProblemLog[ConvertProblem] = field(default_factory=lambda: ProblemLog(MAX_PROBLEMS))
    pngs: int = 0


@dataclass
class _Problems(ProblemLog[ConvertProblem]):
    limit: int | None = MAX_PROBLEMS

    def place(self, path: str | Path, message: str) -> None:
        self.add(ConvertProblem(path_text(path), 0, message))

    def check(self) -> None:
        if self:
            raise ConvertError(self.shown, more=self.hidden)


def _names(names: Sequence[str], limit: int = LIST_NAMES) -> str:
    """``a, b, c`` or ``a, b, c ... and K more`` (each name quoted through :func:`shorten` when odd)."""
    shown = ", ".join(name if name.isprintable() and len(name) <= 60 else shorten(name) for name in names[:limit])
    return shown + (f" ... and {len(names) - limit} more" if len(names) > limit else "")


def _entries(folder: Path, problems: _Problems) -> list[Path]:
    """A folder's entries (hidden ones skipped), sorted by name; none, and a problem, when it cannot be
    listed."""
    try:
        return sorted((p for p in folder.iterdir() if not p.name.startswith(".")), key=lambda p: p.name)
    except OSError as exc:
        problems.place(folder, f"cannot list the folder: {os_reason(exc)}")
        return []


def _is(path: Path, kind: str) -> bool:
    """``path.is_dir()`` or ``path.is_file()``, false when the path cannot be examined."""
    try:
        return path.is_dir() if kind == "dir" else path.is_file()
    except OSError:
        return False


@dataclass(frozen=True)
class _Folder:
    """One expression folder to read: its row, the presented frames' names and the canvas."""

    path: Path
    row: ExpressionRow
    names: tuple[str, ...]
    canvas: tuple[int, int]


@dataclass(frozen=True)
class _Read:
    """What reading one PNG gave: ``mask`` (``None`` = empty), or the size found, or an error."""

    mask: Rle | None = None
    size: tuple[int, int] | None = None
    error: str | None = None


def _read_png(path: Path, canvas: tuple[int, int], decode: bool) -> _Read:
    """The PNG's mask as RLE (``None`` when empty), read by :func:`~pixbench.annotation.png.read_png`; the
    header is checked first, so a file of another size than ``canvas`` is never decoded. ``decode=False``
    checks the header only."""
    try:
        if not decode:
            header = read_png_header(path)
            size = (header.height, header.width)
            return _Read(size=size if size != canvas else None)
        mask = read_png(path, expected=canvas)
    except PngSizeError as exc:
        return _Read(size=exc.size)
    except MaskError as exc:
        return _Read(error=str(exc))
    return _Read(mask=rle_ops.encode(mask) if mask.any() else None)


def _scan(root: Path, reference: VideoReference, rows: dict[str, ExpressionRow], probe: str,
          problems: _Problems, warnings: ProblemLog[ConvertProblem]) -> dict[str, Path]:
    """The expression folder of each row of the probe's set found under ``root`` (unknown folders and
    expressions outside the set are problems, stray files warnings)."""
    by_video: dict[str, dict[str, str]] = {}  # video -> exp folder name -> row id (every expression)
    for row in reference.expressions.values():
        by_video.setdefault(row.video_id, {})[str(row.exp_id)] = row.id
    found: dict[str, Path] = {}
    unknown_videos: list[Path] = []
    for video_dir in _entries(root, problems):
        if not _is(video_dir, "dir"):
            warnings.add(ConvertProblem(str(video_dir), 0, "not a folder: ignored (expected "
                                        "<video_id>/<exp_id>/<frame>.png under the root)"))
            continue
        expressions = by_video.get(video_dir.name)
        if expressions is None:
            unknown_videos.append(video_dir)
            continue
        unknown: list[str] = []
        outside: list[str] = []
        for exp_dir in _entries(video_dir, problems):
            if not _is(exp_dir, "dir"):
                warnings.add(ConvertProblem(str(exp_dir), 0, "not an expression folder: ignored"))
                continue
            row_id = expressions.get(exp_dir.name)
            if row_id is None:
                unknown.append(exp_dir.name)
            elif row_id not in rows:
                outside.append(exp_dir.name)
            else:
                found[row_id] = exp_dir
        if unknown:
            problems.place(video_dir, f"{len(unknown)} folder(s) that are no expression of video {video_dir.name} "
                                      f"in the dataset: {_names(unknown)} (its expressions: "
                                      f"{_names(sorted(expressions, key=_number))})")
        if outside:
            problems.place(video_dir, f"{len(outside)} expression(s) that the {probe!r} probe does not score (no "
                                      f"reversed form: not in the dataset's `reversed` config): {_names(outside)}")
    for video_dir in unknown_videos:
        nested = sorted(set(by_video) & {p.name for p in _entries(video_dir, problems)})
        hint = (f"; it holds video folders ({_names(nested, 2)}): pass {video_dir} as the root"
                if nested else "")
        problems.place(video_dir, f"not a video of the dataset{hint}")
    return found


def _number(name: str) -> tuple[int, str]:
    return (int(name), name) if name.isascii() and name.isdigit() else (sys.maxsize, name)


def _frames(folders: Sequence[_Folder], problems: _Problems,
            warnings: ProblemLog[ConvertProblem]) -> list[tuple[_Folder, Path]]:
    """Every presented frame's file, folder by folder; missing frames are problems, extra files warnings."""
    out: list[tuple[_Folder, Path]] = []
    for folder in folders:
        files = {p.name: p for p in _entries(folder.path, problems)}
        wanted = [f"{name}.png" for name in folder.names]
        missing = [name for name in wanted if name not in files]
        if missing:
            problems.place(folder.path, f"lacks {len(missing)} of the {len(wanted)} presented frame(s): "
                                        f"{_names(missing)}")
        not_files = [name for name in wanted if name in files and not _is(files[name], "file")]
        if not_files:
            problems.place(folder.path, f"{len(not_files)} frame(s) that are not regular files: {_names(not_files)}")
        extra = sorted(set(files) - set(wanted))
        if extra:
            pngs = [name for name in extra if name.lower().endswith(".png")]
            kind = f"{len(pngs)} PNG(s) that name no presented frame" if pngs else ""
            other = len(extra) - len(pngs)
            kind += (", " if kind and other else "") + (f"{other} other file(s)" if other else "")
            warnings.add(ConvertProblem(str(folder.path), 0, f"{kind} ignored: {_names(extra)}"))
        out.extend((folder, files[name]) for name in wanted if name in files and _is(files[name], "file"))
    return out


def _read_all(frames: Sequence[tuple[_Folder, Path]], *, decode: bool, workers: int | None,
              progress: bool) -> list[_Read]:
    """Read every frame in a pool of ``workers`` threads (default up to 8), in order."""
    workers = workers or min(8, os.cpu_count() or 1)
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(frames), desc="reading masks", unit="png", file=sys.stderr)
    out: list[_Read] = []
    try:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            for result in pool.map(lambda item: _read_png(item[1], item[0].canvas, decode), frames):
                out.append(result)
                if bar is not None:
                    bar.update()
    finally:
        if bar is not None:
            bar.close()
    return out


def _size_problems(frames: Sequence[tuple[_Folder, Path]], reads: Sequence[_Read], probe: str,
                   layout: str | None, problems: _Problems) -> None:
    """One problem per (folder, wrong size found) and per unreadable file."""
    wrong: dict[tuple[Path, tuple[int, int]], list[str]] = {}
    folders: dict[Path, _Folder] = {}
    for (folder, path), result in zip(frames, reads, strict=True):
        if result.error is not None:
            problems.place(path, result.error)
        elif result.size is not None:
            wrong.setdefault((folder.path, result.size), []).append(path.name)
            folders[folder.path] = folder
    for (path, size), names in wrong.items():
        folder = folders[path]
        shown = f"{probe} {layout}" if layout else probe
        hint = ""
        if probe in PAIR_PROBES and size == (folder.row.height, folder.row.width):
            hint = "; that is one frame's size, but pair probes are predicted on the whole side-by-side canvas"
        problems.place(path, f"{len(names)} of {len(folder.names)} PNG(s) are {size[0]}x{size[1]} (height x width), "
                             f"but the {shown} canvas is {folder.canvas[0]}x{folder.canvas[1]}{hint}: "
                             f"{_names(names)}")


def convert_mevis_pngs(root: str | Path, *, reference: VideoReference, probe: str, layout: str | None,
                       model: str, workers: int | None = None, progress: bool = False) -> MevisConversion:
    """MoCentric predictions of ``model`` for ``probe`` (and ``layout``, pair probes only) from the folder
    ``root`` in the published layout ``<video_id>/<exp_id>/<frame>.png`` (rules in the module docstring).

    ``reference`` is the built dataset (``load_reference("mocentric", PATH)``); the lines name its benchmark
    (``reference.benchmark``). PNGs are read by ``workers``
    threads (default up to 8), with a tqdm bar on stderr when ``progress``. Raises ``ValueError`` for bad
    arguments (an unknown probe, a layout missing or given where none applies) and
    :class:`~pixbench.ingest.pixfoundation.ConvertError` listing every problem of the folder.
    """
    check_probe_layout(probe, layout)
    if not model:
        raise ValueError("Expected `model` to be a non-empty name")
    if workers is not None and workers < 1:
        raise ValueError(f"Expected `workers` to be a positive int, but got {workers!r}")
    root = Path(root)
    try:
        is_folder = root.is_dir()
    except OSError as exc:  # a name too long, no permission on a parent
        raise ConvertError([ConvertProblem(path_text(root), 0, f"cannot read: {os_reason(exc)}")]) from None
    if not is_folder:
        raise ConvertError([ConvertProblem(path_text(root), 0, "not a folder (expected "
                                                               "<video_id>/<exp_id>/<frame>.png under it)")])
    rows = reference.rows_for(probe)
    result = MevisConversion(probe=probe, layout=layout, model=model, expressions=len(rows))
    problems = _Problems()
    found = _scan(root, reference, rows, probe, problems, result.warnings)
    if not found and not problems:
        problems.place(root, f"no expression folder of the {len(rows)} expression(s) that the {probe!r} probe "
                             "scores (expected <video_id>/<exp_id>/<frame>.png under it)")
    folders = []
    for row_id, row in rows.items():
        if row_id not in found:
            result.missing.append(row_id)
            continue
        view = probe_view(probe=probe, layout=layout, frame_names=row.frame_names, keyframe=row.keyframe,
                          height=row.height, width=row.width)
        folders.append(_Folder(found[row_id], row, view.names, view.canvas))
    frames = _frames(folders, problems, result.warnings)
    # with problems already found, read the headers only (sizes are still checked, nothing is decoded)
    reads = _read_all(frames, decode=not problems, workers=workers, progress=progress)
    _size_problems(frames, reads, probe, layout, problems)
    problems.check()
    result.pngs = len(frames)
    masks: dict[Path, list[Rle | None]] = {}
    for (folder, _path), read in zip(frames, reads, strict=True):
        masks.setdefault(folder.path, []).append(read.mask)
    result.predictions = [
        Prediction(benchmark=reference.benchmark, id=folder.row.id, probe=probe, model=model, layout=layout,
                   frames=tuple(masks[folder.path])) for folder in folders]
    return result


