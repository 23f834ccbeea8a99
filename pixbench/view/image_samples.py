"""The samples of an image benchmark: a grid per model, a page per row, a compare list per pair of models.

For each row of the reference, one pass (one image in memory at a time):

- ``media/<b>/<id>/image.webp`` and ``thumb.webp`` (the image at the page's and the grid's size; grey for a build
  without images) and ``gt.png`` (the ground truth); per model and probe with masks, ``<model key>-<file
  hash>-<probe>-c<k>.png`` for candidate k, and the mask scored: its candidate's file when it is one, else
  ``<model key>-<file hash>-<probe>.png`` (1-bit PNGs at the page's size, :mod:`pixbench.view.media`), each
  written once (a resumed build keeps what exists);
- ``data/<b>/row-<id>.js``: the row (question, options, answer, expression, the benchmark's groups) and, per
  model and probe, the reply, the parsed letter, the judge's verdict and reply, the IoU, the candidates (phrase,
  score, IoU, which selection modes choose each) and the file:line the line came from. IoUs in the data files
  are percent (4 decimals; the report's own values, times 100).

Then ``data/<b>/grid-<model key>.js`` (one record per row: right/wrong letter, verdict, IoU of each mask probe,
the analysis category, groups; the grid pages through them) and ``data/<b>/compare-<a>-<c>.js`` for every pair of
models (the rows where their letter, verdict or IoU differ, the IoU by more than ``iou_gap``; the compare page
pages through them as the grid does).

Outcomes come from the score's per-sample records (the same numbers as the report); candidate IoUs and what
each selection mode would choose are computed here with the scorer's own functions
(:func:`pixbench.metrics.selection.select_mask` and :func:`~pixbench.metrics.selection.oracle_choices`,
:func:`pixbench.metrics.masks.intersections_and_unions`), on each row's masks decoded once.

A row is drawn by :func:`draw_row` from a :class:`RowJob` (the row, its image's bytes, each model's lines and
records on it), which writes the row's files. A benchmark of at least :data:`POOL_MIN_ROWS` rows is drawn by
worker processes (:func:`row_workers`; at most two rows a worker in flight, so images are read as they are
drawn); the files do not depend on how many processes drew them.
"""

from __future__ import annotations

import io
import itertools
import logging
import os
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, get_args

import numpy as np
import pyarrow.parquet as pq
from PIL import Image

from pixbench.annotation import rle as rle_ops
from pixbench.ground_truth import ReferenceRow
from pixbench.metrics.analysis import row_grounded
from pixbench.metrics.masks import intersections_and_unions, ious_from_counts
from pixbench.metrics.selection import (
    DEFAULT_SCORE_THRESHOLD,
    SelectionError,
    SelectMode,
    oracle_choices,
    select_mask,
)
from pixbench.view.layout import SiteFolder
from pixbench.view.media import MaskDrawer, display_size, display_webps, grey_webp

if TYPE_CHECKING:
    from pixbench.ground_truth import Reference
    from pixbench.prediction_records import Prediction
    from pixbench.results import ScoreResult
    from pixbench.view.context import ModelFile, SiteContext

logger = logging.getLogger(__name__)

#: The probes whose lines carry masks, in the order a sample page shows them.
MASK_PROBES = ("segment", "vqa")
#: Rows from which a benchmark's rows are drawn in worker processes (fewer: in this process), and the most
#: worker processes.
POOL_MIN_ROWS, MAX_WORKERS = 64, 4
#: What a compare page shows of each model's outcome on a row (fields of its grid record).
COMPARED = ("letter", "verdict", "judged", "iou", "mask")
#: Category of a row from (answer right, grounding right): the failure-mode analysis' names, per row.
CATEGORIES = {(True, True): "both_succeed", (False, True): "vqa_only_failure", (True, False): "grounding_only_failure",
              (False, False): "both_fail"}


def _images(folder: Path | None, ids: set[int]) -> Iterator[tuple[int, bytes | None]]:
    """``(row id, image bytes)`` for the rows of a built folder's shards, in shard order (``None`` bytes for a
    build without images); nothing when there is no folder."""
    if folder is None:
        return
    for shard in sorted((folder / "data").glob("test-*.parquet")):
        parquet = pq.ParquetFile(shard)
        names = set(parquet.schema_arrow.names)
        columns = ["id", "image"] if "image" in names else ["id"]
        for batch in parquet.iter_batches(batch_size=16, columns=columns):
            table = batch.to_pydict()
            for k, row_id in enumerate(table["id"]):
                if int(row_id) not in ids:
                    continue
                cell = table["image"][k] if "image" in table else None
                yield int(row_id), (cell or {}).get("bytes") if isinstance(cell, dict) else None


def _open(data: bytes | None, warnings: list[str]) -> Image.Image | None:
    """The image of ``data``, opened (its header read; decoded when drawn), or None (with a warning when
    ``data`` is not an image)."""
    if not data:
        return None
    try:
        return Image.open(io.BytesIO(data))
    except (OSError, ValueError) as exc:
        warnings.append(f"unreadable image ({exc}): drawn on grey")
        return None


def _records(results: Sequence[ScoreResult]) -> dict[str, dict[int, dict[str, dict[str, Any]]]]:
    """model -> row id -> probe -> the score's per-sample record."""
    out: dict[str, dict[int, dict[str, dict[str, Any]]]] = {}
    for result in results:
        for record in result.per_sample:
            out.setdefault(result.model, {}).setdefault(int(record["id"]), {})[record["probe"]] = record
    return out


def _lines(context: SiteContext, benchmark: str) -> dict[str, dict[int, dict[str, Prediction]]]:
    """model -> row id -> probe -> its line (the first variant-less line of each)."""
    out: dict[str, dict[int, dict[str, Prediction]]] = {}
    for predictions_file in context.run.files:
        for line in predictions_file.predictions:
            if line.benchmark == benchmark and line.variant is None:
                out.setdefault(line.model, {}).setdefault(int(line.id), {}).setdefault(line.probe, line)
    return out


def _chosen_by(line: Prediction, gt: rle_ops.Rle, oracle: int | None, threshold: float) -> dict[int, list[str]]:
    """candidate index -> the selection modes that choose it: :func:`~pixbench.metrics.selection.select_mask`
    of each mode but the oracle, whose pick ``oracle`` is given (:func:`_candidate_facts`)."""
    chosen: dict[int, list[str]] = {}
    if not line.candidates:
        return chosen
    masks = [c.mask for c in line.candidates]
    scores = [c.score for c in line.candidates]
    for mode in get_args(SelectMode):
        if mode == "oracle":
            index = oracle
        else:
            try:
                index = select_mask(mode=mode, gt=gt, mask=line.mask, candidates=masks, scores=scores,
                                    selected=line.selected, score_threshold=threshold).index
            except SelectionError:
                continue
        if index is not None:
            chosen.setdefault(index, []).append(mode)
    return chosen


def _row_runs(job: RowJob, row: ReferenceRow) -> rle_ops.RunsCache:
    """The row's masks (the truth, every line's mask and candidates) decoded to runs once, for the IoUs, the
    oracle and the drawing."""
    masks = [row.mask]
    for lines in job.lines.values():
        for line in lines.values():
            masks += ([line.mask] if line.mask is not None else []) + [c.mask for c in line.candidates or ()]
    counts = [mask["counts"] for mask in masks if isinstance(mask.get("counts"), str)]
    runs = rle_ops.RunsCache()
    rle_ops.check_counts_many(counts, np.full(len(counts), row.height * row.width, dtype=np.int64), cache=runs)
    return runs


def _candidate_facts(job: RowJob, gt: rle_ops.Rle, gt_empty: bool,
                     runs: rle_ops.RunsCache) -> dict[tuple[str, str], tuple[list[float], int | None]]:
    """(model, probe) -> each candidate's IoU and the oracle's pick (``None``: the empty mask, for an empty
    truth), for every scored line of the row with candidates, each computed in one batch for the row
    (:func:`~pixbench.metrics.masks.intersections_and_unions`, :func:`~pixbench.metrics.selection.oracle_choices`)
    on the row's ``runs``."""
    keys, groups = [], []
    for model, records in job.records.items():
        for probe, record in records.items():
            line = job.lines.get(model, {}).get(probe)
            if "iou" in record and line is not None and line.candidates:
                keys.append((model, probe))
                groups.append([c.mask for c in line.candidates])
    if not keys:
        return {}
    inters, unions = intersections_and_unions(preds=[mask for group in groups for mask in group],
                                              gts=[gt] * sum(len(group) for group in groups), runs=runs)
    ious = ious_from_counts(inters, unions).tolist()
    picks: list[int | None] = [None] * len(keys) if gt_empty else [
        choice.index for choice in oracle_choices(candidates=groups, gts=[gt] * len(groups), runs=runs)]
    out, start = {}, 0
    for key, group, pick in zip(keys, groups, picks, strict=True):
        out[key] = (ious[start:start + len(group)], pick)
        start += len(group)
    return out


def _scored_candidate(line: Prediction, record: Mapping[str, Any]) -> int | None:
    """The index of the candidate the score chose for this line (``None``: none)."""
    index = record.get("candidate")
    return index if isinstance(index, int) and line.candidates and 0 <= index < len(line.candidates) else None


def _scored_mask(line: Prediction, record: Mapping[str, Any], select: str) -> rle_ops.Rle | None:
    """The mask the score used for this line (``None``: empty), by :func:`~pixbench.metrics.selection.select_mask`'s
    rule: the chosen candidate; under ``score`` / ``oracle`` a line with candidates and none chosen is the empty
    mask; else the line's own mask."""
    index = _scored_candidate(line, record)
    if index is not None:
        return (line.candidates or ())[index].mask
    return None if select != "given" and line.candidates is not None else line.mask


def _answer(records: Mapping[str, Mapping[str, Any]]) -> bool | None:
    """Whether the row's answer is right: the letter probe's, else the judged one (``None``: not measured)."""
    for probe in ("letter", "vqa"):
        record = records.get(probe)
        if record is not None and record.get("correct") is not None:
            return bool(record["correct"])
    return None


def _category(records: Mapping[str, Mapping[str, Any]], gt_empty: bool,
              fractions: Mapping[str, float]) -> str | None:
    """The failure category of the row (answer right/wrong x grounded or not), on the mask probe the failure
    analysis reads, with the area fraction of the mask scored there."""
    answer = _answer(records)
    probe = next((p for p in MASK_PROBES if p in records and "iou" in records[p]), None)
    if answer is None or probe is None:
        return None
    grounded = row_grounded(iou=records[probe]["iou"], gt_empty=gt_empty,
                            pred_area_fraction=None if records[probe].get("missing") else fractions.get(probe))
    return CATEGORIES[(answer, grounded)]


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def row_workers(rows: int) -> int:
    """Processes drawing ``rows`` rows: one per processor this process may use (at most :data:`MAX_WORKERS`)
    when there are at least :data:`POOL_MIN_ROWS` rows, else 1 (this process)."""
    return 1 if rows < POOL_MIN_ROWS else max(1, min(_cpus(), MAX_WORKERS))


def write_samples(context: SiteContext, benchmark: str, reference: Reference, *, workers: int | None = None) -> None:
    """Write the benchmark's sample pages' data and media (see the module docstring); ``workers`` processes
    draw the rows (default: :func:`row_workers`)."""
    from tqdm import tqdm

    from pixbench.benchmarks import REGISTRY

    spec = REGISTRY[benchmark]
    folder, options = context.folder, context.options
    results = [r for r in context.run.results if r.benchmark == benchmark and r.variant is None]
    records, lines = _records(results), _lines(context, benchmark)
    models = tuple(context.models[m] for m in dict.fromkeys(r.model for r in results) if m in context.models)
    threshold = float(context.settings.get("score_threshold", DEFAULT_SCORE_THRESHOLD))
    grid: dict[str, list[dict[str, Any]]] = {m.key: [] for m in models}
    rows = reference.rows
    drawn = all(folder.path(f"media/{benchmark}/{i}/{name}").is_file() for i in rows
                for name in ("image.webp", "thumb.webp"))  # a resumed build: no image to read
    images = _images(None if drawn else (options.folders or {}).get(benchmark), set(rows))
    seen: set[int] = set()

    def jobs() -> Iterator[RowJob]:
        for row_id, data in itertools.chain(images, ((i, None) for i in rows)):
            if row_id in seen:
                continue
            seen.add(row_id)
            yield RowJob(benchmark, _row_fields(rows[row_id]), data, models,
                         {m.model: records.get(m.model, {}).get(row_id, {}) for m in models},
                         {m.model: lines.get(m.model, {}).get(row_id, {}) for m in models},
                         folder.root, options.max_side, options.thumb_side, threshold,
                         str(context.settings.get("select", "given")))

    count = row_workers(len(rows)) if workers is None else max(1, workers)
    with tqdm(total=len(rows), desc=f"{spec.display_name} samples", unit="row", disable=not context.progress) as bar:
        for drawing in _drawings(jobs(), count):
            folder.written += drawing.written
            folder.kept += drawing.kept
            folder.bytes += drawing.bytes_written
            for message in drawing.warnings:
                logger.warning("%s", message)
            for model in models:
                grid[model.key].append(drawing.grid[model.key])
            bar.update(1)
    group_names = sorted({name for row in rows.values() for name in row.groups})
    for model in models:
        ordered = sorted(grid[model.key], key=lambda r: r["id"])
        folder.write_data(f"{benchmark}/grid-{model.key}", {
            "benchmark": benchmark, "display_name": spec.display_name, "model": model.model, "key": model.key,
            "groups": group_names, "page_size": options.grid_page, "rows": ordered})
    for first, second in itertools.combinations(models, 2):
        folder.write_data(f"{benchmark}/compare-{first.key}-{second.key}",
                          _differences(benchmark, first, second, grid, options.iou_gap, options.grid_page))
    folder.write_data(f"{benchmark}/models", {
        "benchmark": benchmark, "display_name": spec.display_name, "iou_gap": options.iou_gap,
        "models": [{"model": m.model, "key": m.key} for m in models], "groups": group_names,
        "ids": sorted(rows)})
    context.pages += ["samples.html", "sample.html", "compare.html"]


def _drawings(jobs: Iterator[RowJob], workers: int) -> Iterator[RowDrawing]:
    """Each job drawn (:func:`draw_row`): here, or in ``workers`` processes with at most ``2 * workers`` rows in
    flight (in the order they finish)."""
    if workers <= 1:
        yield from map(draw_row, jobs)
        return
    with ProcessPoolExecutor(max_workers=workers) as pool:
        pending: set[Future[RowDrawing]] = set()
        for job in jobs:
            pending.add(pool.submit(draw_row, job))
            if len(pending) >= 2 * workers:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                yield from (future.result() for future in done)
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            yield from (future.result() for future in done)


def _row_fields(row: ReferenceRow) -> dict[str, Any]:
    """A reference row's fields, as a row job carries them (a plain, picklable mapping)."""
    return {f.name: (dict(row.groups) if f.name == "groups" else getattr(row, f.name)) for f in fields(row)}


@dataclass(frozen=True)
class RowJob:
    """What drawing one row needs: the row (:func:`_row_fields`), its image's bytes (``None``: none), the
    models with, per model, its per-sample records and lines on the row by probe, the site's folder (to keep
    what exists), the display sizes and the selection's score threshold."""

    benchmark: str
    row_fields: Mapping[str, Any]
    image: bytes | None
    models: tuple[ModelFile, ...]
    records: Mapping[str, Mapping[str, Mapping[str, Any]]]
    lines: Mapping[str, Mapping[str, Prediction]]
    root: Path
    max_side: int
    thumb_side: int
    threshold: float
    select: str = "given"


@dataclass(frozen=True)
class RowDrawing:
    """A row drawn: the files written and kept (found already), the bytes written, model key -> the row's grid
    record, and warnings."""

    written: int
    kept: int
    bytes_written: int
    grid: dict[str, dict[str, Any]]
    warnings: list[str]


def draw_row(job: RowJob) -> RowDrawing:
    """The row's media (those not in the site yet) and page data (see the module docstring)."""
    row = ReferenceRow(**job.row_fields)
    benchmark = job.benchmark
    folder = SiteFolder(job.root)
    warnings: list[str] = []

    base = f"media/{benchmark}/{row.id}"
    size = display_size(row.height, row.width, job.max_side)
    thumb = display_size(row.height, row.width, job.thumb_side)
    wanted = [path for path in (f"{base}/image.webp", f"{base}/thumb.webp") if not folder.has(path)]
    if wanted:
        shown, small = _row_images(benchmark, row, job.image, size, thumb, warnings)
        for path in wanted:
            folder.write_bytes(path, shown if path.endswith("image.webp") else small)
    masks: list[tuple[str, rle_ops.Rle | None]] = []  # (path, mask) to draw, all at once at the end
    if not folder.has(f"{base}/gt.png"):
        masks.append((f"{base}/gt.png", row.mask))
    gt_area = int(rle_ops.area([row.mask])[0])
    runs = _row_runs(job, row)
    facts = _candidate_facts(job, row.mask, gt_area == 0, runs)
    page_models: dict[str, Any] = {}
    grid: dict[str, dict[str, Any]] = {}
    for model in job.models:
        model_records = job.records.get(model.model, {})
        model_lines = job.lines.get(model.model, {})
        probes: dict[str, Any] = {}
        ious: dict[str, float | None] = {}
        fractions: dict[str, float] = {}
        for probe, record in model_records.items():
            line = model_lines.get(probe)
            where = f"{Path(line.source).name}:{line.line}" if line is not None and line.source else None
            entry: dict[str, Any] = {"missing": bool(record.get("missing")), "source": where}
            if line is not None:
                entry.update(response=line.response, prompt=line.prompt)
            for key in ("correct", "parsed_letter", "verdict", "judge_reply", "judge_error"):
                if key in record:
                    entry[key] = record[key]
            if "iou" in record:
                entry["iou"] = round(record["iou"] * 100, 4)
                ious[probe] = record["iou"]
                stem = f"{base}/{model.key}-{model.sha256[:8]}-{probe}"
                index = _scored_candidate(line, record) if line is not None else None
                mask = _scored_mask(line, record, job.select) if line is not None else None
                if line is not None and line.candidates:
                    candidates = _candidates(line, row.mask, facts[(model.model, probe)], stem, folder, masks,
                                             job.threshold)
                    entry.update(candidates=candidates, selected=line.selected, scored_candidate=index)
                if index is not None:  # the candidate's own file
                    entry["mask"] = f"{stem}-c{index}.png"
                else:
                    entry["mask"] = f"{stem}.png"
                    if not folder.has(entry["mask"]):
                        masks.append((entry["mask"], mask))
                if line is not None and probe in MASK_PROBES:
                    area = 0 if mask is None else int(rle_ops.area([mask])[0])
                    fractions[probe] = area / max(1, row.height * row.width)
            probes[probe] = entry
        category = _category(model_records, gt_area == 0, fractions)
        page_models[model.key] = {"model": model.model, "probes": probes, "category": category}
        grid[model.key] = {
            "id": row.id, "letter": model_records.get("letter", {}).get("correct"),
            "verdict": model_records.get("vqa", {}).get("verdict"),
            "judged": model_records.get("vqa", {}).get("correct"),
            "iou": {probe: (None if value is None else round(value * 100, 4)) for probe, value in ious.items()},
            "category": category, "groups": dict(row.groups), "expression": row.expression,
            "mask": probes.get("segment", probes.get("vqa", {})).get("mask"),
            "missing": sorted(p for p, e in probes.items() if e["missing"])}
    document = {
        "benchmark": benchmark, "id": row.id, "question": row.question, "options": list(row.options),
        "options_text": row.options_text, "answer": row.answer, "expression": row.expression,
        "groups": dict(row.groups), "size": [row.height, row.width], "display": list(size),
        "gt_area": gt_area, "image": f"{base}/image.webp", "gt": f"{base}/gt.png", "models": page_models}
    drawn = MaskDrawer((row.height, row.width), size).pngs([mask for _, mask in masks], runs=runs)
    for (path, _), data in zip(masks, drawn, strict=True):
        folder.write_bytes(path, data)
    folder.write_data(f"{benchmark}/row-{row.id}", document)
    return RowDrawing(folder.written, folder.kept, folder.bytes, grid, warnings)


def _row_images(benchmark: str, row: ReferenceRow, data: bytes | None, size: tuple[int, int],
                thumb: tuple[int, int], warnings: list[str]) -> tuple[bytes, bytes]:
    """The row's image at the page's and the grid's size (grey when there is none or it cannot be drawn)."""
    image = _open(data, warnings)
    if image is not None and image.size != (row.width, row.height):
        warnings.append(f"{benchmark} id {row.id}: image of {image.width}x{image.height} for a "
                        f"{row.width}x{row.height} row: drawn on grey")
        image = None
    if image is not None:
        try:
            return display_webps(image, size, thumb)
        except (OSError, ValueError) as exc:
            warnings.append(f"{benchmark} id {row.id}: unreadable image ({exc}): drawn on grey")
    return grey_webp(size), grey_webp(thumb)


def _candidates(line: Prediction, gt: rle_ops.Rle, facts: tuple[list[float], int | None], stem: str,
                folder: SiteFolder, masks: list[tuple[str, rle_ops.Rle | None]],
                threshold: float) -> list[dict[str, Any]]:
    """The line's candidates as the page shows them (``facts``: their IoUs and the oracle's pick); their masks
    are queued in ``masks`` when missing."""
    ious, oracle = facts
    chosen = _chosen_by(line, gt, oracle, threshold)
    out = []
    for k, (candidate, value) in enumerate(zip(line.candidates or (), ious, strict=True)):
        path = f"{stem}-c{k}.png"
        if not folder.has(path):
            masks.append((path, candidate.mask))
        out.append({"phrase": candidate.phrase, "score": candidate.score, "char_start": candidate.char_start,
                    "char_end": candidate.char_end, "iou": round(value * 100, 6), "chosen_by": chosen.get(k, []),
                    "mask": path})
    return out


def _differences(benchmark: str, first: ModelFile, second: ModelFile, grid: Mapping[str, Sequence[dict[str, Any]]],
                 gap: float, page_size: int) -> dict[str, Any]:
    """The rows where two models differ: the letter's or the verdict's outcome, or an IoU by more than ``gap``;
    each with the two models' outcomes (:data:`COMPARED` of their grid records)."""
    other = {r["id"]: r for r in grid[second.key]}
    rows = []
    for a in sorted(grid[first.key], key=lambda r: r["id"]):
        b = other.get(a["id"])
        if b is None:
            continue
        why = []
        if a["letter"] != b["letter"] and a["letter"] is not None and b["letter"] is not None:
            why.append("letter")
        if a["judged"] != b["judged"] and a["judged"] is not None and b["judged"] is not None:
            why.append("verdict")
        for probe in MASK_PROBES:
            x, y = a["iou"].get(probe), b["iou"].get(probe)
            if x is not None and y is not None and abs(x - y) > gap * 100:
                why.append(f"{probe} IoU")
        if why:
            rows.append({"id": a["id"], "why": why, "a": {key: a[key] for key in COMPARED},
                         "c": {key: b[key] for key in COMPARED}})
    return {"benchmark": benchmark, "a": {"model": first.model, "key": first.key},
            "c": {"model": second.model, "key": second.key}, "iou_gap": gap, "page_size": page_size, "rows": rows}
