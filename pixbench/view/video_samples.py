"""The samples of a video benchmark (MoCentric-Bench, MeViS): each expression's probes as players side by side,
and a grid of the expressions per model.

What a player shows and how the page composes a probe from the sheets below (the expressions and their rows,
the shown positions, the view spec read off the benchmark's clips, ``clip_views()``) is decided in
:mod:`pixbench.view.video_plan`; the sheets' layout and pixels are :mod:`pixbench.view.video_media`'s.

**Files** (``<b>`` the benchmark, ``<v>`` :func:`~pixbench.view.layout.slug` of a video id, ``<e>`` that of an
expression id, ``<h>`` a hash of what the file shows; sheets: :mod:`pixbench.view.video_media`):

- ``media/<b>/<v>/frames-<h>.webp``: the video's original frames that some shown position of some probe of
  its expressions presents, once per video, at the player's frame size (``video_side``), in frame order
  (``video.frames`` lists them); grey for a build without frames (``--no-frames``) or a video whose frames do
  not match its rows;
- ``media/<b>/<v>/gt-<h>.png``: a row's ground truth on those of its expression's frames that a target half
  shows (``gt.frames``), a 1-bit sheet at the frame size (one file for equal masks: an expression and its
  reversed row share it);
- ``media/<b>/<v>/<e>/<model key>-<file hash>-<probe>[-<layout>]-<h>.png``: a model's masks of one probe at
  the shown positions, on the probe's canvas (a 1-bit sheet; a pair's canvas is two frames wide or high);
- ``media/<b>/<v>/thumb-<frame>-<h>.webp`` and ``gt-thumb-<h>.png``: the grid's thumbnail of an expression
  (its thumbnail frame, :mod:`pixbench.view.video_plan`, and the truth there, at ``thumb_side``);
- ``data/<b>/models.js``: the models, the probe columns, the expression ids in order with their data keys;
- ``data/<b>/exp-<e>.js``: one expression (:func:`expression_document`);
- ``data/<b>/grid-<model key>.js``: a row per expression with the model's headline value per probe
  (:func:`headline`: J&F; MoCentric's ``static``: FPR); where one model's lines answer one probe (the clips'
  ``exclusive_probes``: MeViS's versions), only the expressions and columns of the probes it was scored on.

Values are the score's per-sample records as they are (fractions, 6 decimals: ``J``, ``F``, ``JF`` (the
record's, else their mean), ``F_native``, ``D_FPR``; ``static``: ``J_bg``, ``H_bg``, ``FPR``, ``FG_FPR``) with the
per-frame lists (``J_t``, ``F_t``; ``static``: ``FPR_t``, ``FG_FPR_t``) over all ``T`` presented frames, or
over the record's ``frames`` where it names them (MeViS under ``--protocol lmms-eval``: frames re-sampled); the
page shows percent. A record's description of its expression (:data:`TAG_KEYS`: MeViS's target kind and
expression type) is shown with it, and an expression a protocol dropped (the record's ``dropped``: no line,
left out of every mean) is marked so.

Media are named by what they show, so a resumed build skips every file that exists (:meth:`SiteFolder.has`)
and reads no video whose sheet exists. Videos are read one parquet row group at a time and one video's frames
are decoded at a time (:func:`pixbench.video.export.iter_videos`); masks are resized on their runs.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from pixbench.view.media import bits_png
from pixbench.view.video_media import SheetError, frame_tile, frames_webp, mask_sheet, sheet_columns
from pixbench.view.video_plan import (
    Clips,
    ExpressionPlan,
    Group,
    PlayerClip,
    VideoPlan,
    VideoReference,
    VideoRow,
    digest,
    display_canvas,
    group_key,
    group_label,
    group_order,
    has_frames,
    plan_players,
    view_spec,
)

if TYPE_CHECKING:
    from pixbench.benchmarks.base import Benchmark
    from pixbench.prediction_records import Prediction
    from pixbench.view.context import ModelFile, SiteContext
    from pixbench.view.layout import SiteFolder

logger = logging.getLogger(__name__)

#: The per-sample record's values kept for the page and the grid, and its per-frame lists.
VALUE_KEYS = ("J", "F", "JF", "F_native", "D_FPR", "J_bg", "H_bg", "FPR", "FG_FPR")
FRAME_KEYS = ("J_t", "F_t", "FPR_t", "FG_FPR_t")
#: The per-sample record's fields that describe its expression rather than the answer (shown and filtered by).
TAG_KEYS = ("target", "type")


# ------------------------------------------------------------------------------------------ frames


def _write_frames(context: SiteContext, benchmark: str, built: Path | None, videos: Mapping[str, VideoPlan],
                  bar: Any) -> None:
    """Each video's frames sheet and thumbnails that do not exist yet (a video is read only when one is missing)."""
    folder = context.folder
    missing = {video_id: {path for path in (video.sheet, *video.thumbs.values()) if not folder.has(path)}
               for video_id, video in videos.items()}
    missing = {video_id: paths for video_id, paths in missing.items() if paths}
    bar.update(len(videos) - len(missing))
    if not missing:
        return
    done: set[str] = set()
    for video_id, frames in _read_videos(built, set(missing)):
        video = videos[video_id]
        tiles: list[Any] | None = None
        thumbs: dict[int, Any] | None = None
        if len(frames) != video.length:
            logger.warning("%s video %s: %d frames in the videos config, %d in its rows: drawn on grey", benchmark,
                           video_id, len(frames), video.length)
        else:
            try:
                tiles = [frame_tile(frames[t], video.display, video.size) for t in video.frames] \
                    if video.sheet in missing[video_id] else None
                thumbs = {t: frame_tile(frames[t], video.thumb, video.size) for t, path in video.thumbs.items()
                          if path in missing[video_id]}
            except (OSError, SheetError) as exc:
                logger.warning("%s video %s: a frame cannot be drawn (%s): drawn on grey", benchmark, video_id, exc)
                tiles = thumbs = None
        _write_video(folder, video, missing[video_id], tiles, thumbs)
        done.add(video_id)
        bar.update(1)
    grey = sorted(set(missing) - done)
    if grey and built is not None:
        logger.warning("%s: no frames for %d video(s) (%s%s): drawn on grey", benchmark, len(grey),
                       ", ".join(grey[:3]), " ..." if len(grey) > 3 else "")
    for video_id in grey:
        _write_video(folder, videos[video_id], missing[video_id], None, None)
        bar.update(1)


def _write_video(folder: SiteFolder, video: VideoPlan, paths: set[str], tiles: Sequence[Any] | None,
                 thumbs: Mapping[int, Any] | None) -> None:
    """The video's files among ``paths`` (no tiles or thumbnails: grey)."""
    from pixbench.view.media import grey_webp, image_webp

    if video.sheet in paths:
        folder.write_bytes(video.sheet, frames_webp(tiles or [None] * len(video.frames), video.display,
                                                    video.columns))
    for frame, path in video.thumbs.items():
        if path in paths:
            image = (thumbs or {}).get(frame)
            folder.write_bytes(path, image_webp(image, video.thumb) if image is not None else grey_webp(video.thumb))


def _read_videos(built: Path | None, wanted: set[str]) -> Iterator[tuple[str, Sequence[bytes]]]:
    """``(video id, its encoded frames)`` for the wanted videos the build holds, one at a time."""
    if built is None:
        return
    from pixbench.video.export import ExportError, iter_videos

    try:
        for video in iter_videos(built, wanted=wanted):
            yield video.video_id, video.frames
    except ExportError as exc:
        logger.warning("%s", exc)


# ------------------------------------------------------------------------------------------ mask sheets


class SheetWriter:
    """Writes the mask sheets that do not exist yet, each path once (a sheet named twice, such as one truth for
    an expression and its reversed row, is drawn once)."""

    def __init__(self, folder: SiteFolder) -> None:
        self.folder = folder
        self.seen: set[str] = set()

    def add(self, path: str, masks: Sequence[Mapping[str, Any] | None], source: tuple[int, int],
            tile: tuple[int, int], columns: int) -> None:
        """The sheet of ``masks`` (RLE of ``source``) at ``tile`` as ``path``, unless written or found already."""
        if path in self.seen:
            return
        self.seen.add(path)
        if not self.folder.has(path):
            self.folder.write_bytes(path, bits_png(mask_sheet(masks, source=source, tile=tile, columns=columns)))


# ------------------------------------------------------------------------------------------ expressions


def _records(results: Sequence[Any]) -> dict[str, dict[tuple[str, str, str | None], dict[str, Any]]]:
    """model -> (id, probe, layout) -> the score's per-sample record."""
    out: dict[str, dict[tuple[str, str, str | None], dict[str, Any]]] = {}
    for result in results:
        for record in result.per_sample:
            out.setdefault(result.model, {})[(str(record["id"]), record["probe"], record.get("layout"))] = record
    return out


def _lines(context: SiteContext, benchmark: str) -> dict[str, dict[tuple[str, str, str | None], Prediction]]:
    """model -> (id, probe, layout) -> its line (the first variant-less one)."""
    out: dict[str, dict[tuple[str, str, str | None], Prediction]] = {}
    for predictions_file in context.run.files:
        for line in predictions_file.predictions:
            if line.benchmark == benchmark and line.variant is None:
                out.setdefault(line.model, {}).setdefault((str(line.id), line.probe, line.layout), line)
    return out


def record_values(record: Mapping[str, Any]) -> dict[str, Any]:
    """The values of a per-sample record the pages show, as the record has them, with ``JF`` (and ``JF_native``)
    where the record has none: the mean of ``J`` and ``F`` (``F_native``), 6 decimals."""
    values: dict[str, Any] = {key: record[key] for key in VALUE_KEYS if key in record}
    if "J" in values and "F" in values and "JF" not in values:
        values["JF"] = round((values["J"] + values["F"]) / 2, 6)
    if "J" in values and "F_native" in values:
        values["JF_native"] = round((values["J"] + values["F_native"]) / 2, 6)
    return values


def _truth_sheet(benchmark: str, plan: ExpressionPlan, row: VideoRow, video: VideoPlan,
                 sheets: SheetWriter) -> dict[str, Any]:
    """The truth of ``row`` on the plan's truth frames (one file per content)."""
    columns = sheet_columns(len(plan.gt_frames), video.display)
    masks = [row.masks[t] for t in plan.gt_frames]
    path = (f"media/{benchmark}/{video.folder}/gt-"
            f"{digest([m['counts'] for m in masks], row.height, row.width, video.display, columns)}.png")
    sheets.add(path, masks, (row.height, row.width), video.display, columns)
    return {"src": path, "frames": plan.gt_frames, "columns": columns}


def _truth_thumb(benchmark: str, plan: ExpressionPlan, video: VideoPlan, sheets: SheetWriter) -> str:
    """The truth on the expression's thumbnail frame at the thumbnail's size."""
    row = plan.row
    mask = row.masks[plan.thumb_frame]
    path = f"media/{benchmark}/{video.folder}/gt-thumb-{digest(mask['counts'], row.height, row.width, video.thumb)}.png"
    sheets.add(path, [mask], (row.height, row.width), video.thumb, 1)
    return path


def _model_sheet(benchmark: str, plan: ExpressionPlan, video: VideoPlan, group: Group, model: ModelFile,
                 line: Prediction | None, view: PlayerClip, sheets: SheetWriter) -> dict[str, Any] | None:
    """A model's masks of one probe at the shown positions, on the probe's canvas (``None``: no line)."""
    if line is None or line.frames is None:
        return None
    tile = display_canvas(view, video.size, video.display)
    columns = sheet_columns(len(plan.positions), tile)
    probe, layout = group
    name = f"{model.key}-{model.sha256[:8]}-{probe}{'-' + layout if layout else ''}"
    path = (f"media/{benchmark}/{video.folder}/{plan.key}/{name}-"
            f"{digest(plan.positions, view.canvas, tile, columns)}.png")
    sheets.add(path, [line.frames[p] for p in plan.positions], view.canvas, tile, columns)
    return {"src": path, "columns": columns}


def record_tags(records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """What the records (of one expression and probe) say of the expression (:data:`TAG_KEYS`, as the first
    record holding each has it; none for a benchmark whose records say nothing of the kind)."""
    tags: dict[str, Any] = {}
    for key in TAG_KEYS:
        value = next((record[key] for record in records if record.get(key) is not None), None)
        if value is not None:
            tags[key] = value
    return tags


def model_entry(record: Mapping[str, Any]) -> dict[str, Any]:
    """A model's entry of one probe of an expression, from its per-sample record: ``missing``, ``values``
    (:func:`record_values`), the per-frame lists; ``dropped`` (only when the record's protocol left the
    expression out of every mean), ``frames`` (only when the per-frame lists are on some original frames:
    their indices) and ``answered_empty`` (only where the record says)."""
    entry: dict[str, Any] = {"missing": bool(record.get("missing")), "values": record_values(record)}
    entry.update((key, record[key]) for key in FRAME_KEYS if key in record)
    if record.get("dropped"):
        entry["dropped"] = True
    if record.get("frames") is not None:
        entry["frames"] = record["frames"]
    if record.get("answered_empty") is not None:
        entry["answered_empty"] = record["answered_empty"]
    return entry


def expression_document(benchmark: str, plan: ExpressionPlan, video: VideoPlan, grey: bool,
                        models: Sequence[ModelFile],
                        records: Mapping[str, Mapping[tuple[str, str, str | None], Mapping[str, Any]]],
                        lines: Mapping[str, Mapping[tuple[str, str, str | None], Prediction]],
                        sheets: SheetWriter, *, alternates: bool = True) -> dict[str, Any]:
    """Have an expression's truth and model sheets written; its page's document:

    ``id``, ``video_id``, ``exp_id``, ``expression``, ``reversed_expression`` (the alternate row's text,
    ``None`` without one; absent when the benchmark's expressions have none: ``alternates`` false), ``size`` and
    ``display`` (a frame's, height and width), ``length`` (``T``), ``keyframe`` (``None`` without one),
    ``positions`` (shown presented positions), ``video`` (``src``, ``frames``: original frame of each tile,
    ``columns``, ``grey``: true when the build has no frames), ``probes`` (one per group in probe order:
    ``key``, ``label``, the :func:`~pixbench.view.video_plan.view_spec` fields, ``display`` (the canvas at the
    player's size), ``expression`` (the text this probe asks), ``gt`` (its truth sheet: ``src``, ``frames``,
    ``columns``) and ``tags`` (:func:`record_tags`; only when there are some)), ``models`` (model key ->
    ``model``, ``probes``: group key -> :func:`model_entry`, with ``mask`` (``src``, ``columns``; absent without
    a line) and ``source`` (the line's file:line)).
    """
    truths: dict[int, dict[str, Any]] = {}  # id of a row -> its truth sheet
    probes = []
    for group, view in plan.views.items():
        row = plan.rows[group]
        if id(row) not in truths:
            truths[id(row)] = _truth_sheet(benchmark, plan, row, video, sheets)
        spec = {"key": group_key(*group), "label": group_label(*group),
                **view_spec(group, view, video.size, plan.positions),
                "display": list(display_canvas(view, video.size, video.display)),
                "expression": row.expression, "gt": truths[id(row)]}
        tags = record_tags([found for model in models
                            if (found := records.get(model.model, {}).get((plan.id, *group))) is not None])
        if tags:
            spec["tags"] = tags
        probes.append(spec)
    page_models: dict[str, Any] = {}
    for model in models:
        entries: dict[str, Any] = {}
        for group, view in plan.views.items():
            record = records.get(model.model, {}).get((plan.id, *group))
            if record is None:
                continue
            line = lines.get(model.model, {}).get((plan.id, *group))
            entry = model_entry(record)
            mask = _model_sheet(benchmark, plan, video, group, model, line, view, sheets)
            if mask is not None:
                entry["mask"] = mask
            if line is not None and line.source:
                entry["source"] = f"{Path(line.source).name}:{line.line}"
            entries[group_key(*group)] = entry
        page_models[model.key] = {"model": model.model, "probes": entries}
    row = plan.row
    document: dict[str, Any] = {"benchmark": benchmark, "id": plan.id, "video_id": row.video_id,
                                "exp_id": row.exp_id, "expression": row.expression}
    if alternates:
        document["reversed_expression"] = None if plan.alternate_row is None else plan.alternate_row.expression
    document.update({"size": [row.height, row.width], "display": list(video.display), "length": len(row.frame_names),
                     "keyframe": plan.keyframe, "positions": plan.positions,
                     "video": {"src": video.sheet, "frames": video.frames, "columns": video.columns, "grey": grey},
                     "probes": probes, "models": page_models})
    return document


def headline(benchmark: Benchmark, probe: str) -> str:
    """The value a probe's grid column shows: the metric of the benchmark's first summary column on that probe
    (MoCentric's ``static``: FPR, lower is better), else the benchmark's headline (J&F)."""
    return next((column.metric for column in benchmark.summary_columns if column.probe == probe),
                benchmark.headline)


def _grid_row(plan: ExpressionPlan, video: VideoPlan, gt_thumb: str, document: Mapping[str, Any],
              model: ModelFile, columns: Sequence[Mapping[str, Any]], alternates: bool) -> dict[str, Any]:
    """An expression in a model's grid: its texts, thumbnails, each column's value (:func:`headline`), the
    columns without a line (``missing``) and, only when there are some, those a protocol dropped
    (``dropped``) and the expression's tags."""
    entries = document["models"].get(model.key, {}).get("probes", {})
    metrics = {column["key"]: column["metric"] for column in columns}
    row: dict[str, Any] = {"id": plan.id, "expression": plan.row.expression}
    if alternates:
        row["reversed"] = None if plan.alternate_row is None else plan.alternate_row.expression
    row.update({"thumb": video.thumbs[plan.thumb_frame], "gt_thumb": gt_thumb,
                "values": {key: entry["values"].get(metrics[key]) for key, entry in entries.items()
                           if key in metrics},
                "missing": sorted(key for key, entry in entries.items() if entry["missing"] and key in metrics)})
    dropped = sorted(key for key, entry in entries.items() if entry.get("dropped") and key in metrics)
    if dropped:
        row["dropped"] = dropped
    tags = next((spec["tags"] for spec in document["probes"] if spec["key"] in entries and "tags" in spec), None)
    if tags:
        row["tags"] = tags
    return row


def _columns(benchmark: Benchmark, clips: Clips, groups: Sequence[Group]) -> list[dict[str, Any]]:
    """The grid's columns: each probe's :func:`headline` value (``pair``: a probe that takes layouts)."""
    names = dict(benchmark.report_columns)
    columns = []
    for probe, layout in groups:
        metric = headline(benchmark, probe)
        columns.append({"key": group_key(probe, layout), "label": group_label(probe, layout), "metric": metric,
                        "header": f"{group_label(probe, layout)} {names.get(metric, metric)}",
                        "pair": bool(clips.layouts(probe))})
    return columns


def write_samples(context: SiteContext, benchmark: str, reference: VideoReference) -> None:
    """Write the benchmark's expression pages' data and media and its grids (see the module docstring)."""
    from tqdm import tqdm

    from pixbench.benchmarks import REGISTRY

    spec = REGISTRY[benchmark]
    clips = cast("Clips | None", spec.clip_views())
    if clips is None:
        logger.warning("%s: no clips to draw players of (its registry entry gives none): its tables only", benchmark)
        return
    options = context.options
    results = [r for r in context.run.results if r.benchmark == benchmark and r.variant is None]
    models = [context.models[m] for m in dict.fromkeys(r.model for r in results) if m in context.models]
    groups = sorted({(r.probe, r.layout) for r in results if r.probe is not None},
                    key=group_order(spec.probes, clips))
    records, lines = _records(results), _lines(context, benchmark)
    built = (options.folders or {}).get(benchmark)
    frames_read = has_frames(built)
    if not frames_read:
        logger.warning("%s: %s: the players draw on grey", benchmark, "no built folder to read frames from"
                       if built is None else f"{built} holds no frames (built with --no-frames)")
    plans, videos = plan_players(benchmark, reference, groups, clips=clips, probes=spec.probes,
                                 video_frames=options.video_frames, video_side=options.video_side,
                                 thumb_side=options.thumb_side, frames_read=frames_read)
    with tqdm(total=len(videos), desc=f"{spec.display_name} frames", unit="video", disable=not context.progress) as bar:
        _write_frames(context, benchmark, built if frames_read else None, videos, bar)
    alternates = not clips.exclusive_probes
    # one model's lines answering one probe: its grid shows the probes it was scored on only
    scored = {m.key: {(r.probe, r.layout) for r in results if r.model == m.model} for m in models}
    own = {m.key: _columns(spec, clips, [g for g in groups if alternates or g in scored[m.key]]) for m in models}
    grid: dict[str, list[dict[str, Any]]] = {m.key: [] for m in models}
    with tqdm(total=len(plans), desc=f"{spec.display_name} expressions", unit="expression",
              disable=not context.progress) as bar:
        sheets = SheetWriter(context.folder)
        for plan in plans:
            video = videos[plan.row.video_id]
            document = expression_document(benchmark, plan, video, not frames_read, models, records, lines, sheets,
                                           alternates=alternates)
            context.folder.write_data(f"{benchmark}/exp-{plan.key}", document)
            gt_thumb = _truth_thumb(benchmark, plan, video, sheets)
            for model in models:
                row = _grid_row(plan, video, gt_thumb, document, model, own[model.key], alternates)
                if row["values"] or alternates:  # (entries of the model's columns, or every expression)
                    grid[model.key].append(row)
            bar.update(1)
    for model in models:
        context.folder.write_data(f"{benchmark}/grid-{model.key}", {
            "benchmark": benchmark, "display_name": spec.display_name, "model": model.model, "key": model.key,
            "columns": own[model.key], "page_size": options.grid_page,
            "rows": grid[model.key]})
    context.folder.write_data(f"{benchmark}/models", {
        "benchmark": benchmark, "display_name": spec.display_name, "kind": "video",
        "models": [{"model": m.model, "key": m.key} for m in models], "columns": _columns(spec, clips, groups),
        "expressions": [[plan.id, plan.key] for plan in plans]})
    context.pages += ["videos.html", "video.html"]


__all__ = ["SheetWriter", "expression_document", "headline", "record_values", "write_samples"]
