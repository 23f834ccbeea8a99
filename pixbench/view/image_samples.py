"""The samples of an image benchmark: a grid per model, a page per row, a compare list per pair of models.

For each row of the reference, one pass (one image in memory at a time):

- ``media/<b>/<id>/image.webp`` and ``thumb.webp`` (the image at the page's and the grid's size; grey for a build
  without images) and ``gt.png`` (the ground truth); per model, ``<model key>-<file hash>-<probe>.png`` for the
  mask scored for each probe with masks and ``...-<probe>-c<k>.png`` for candidate k (1-bit PNGs at the page's
  size, :mod:`pixbench.view.media`), each written once (a resumed build keeps what exists);
- ``data/<b>/row-<id>.js``: the row (question, options, answer, expression, the benchmark's groups) and, per
  model and probe, the reply, the parsed letter, the judge's verdict and reply, the IoU, the candidates (phrase,
  score, IoU, which selection modes choose each) and the file:line the line came from. IoUs in the data files
are percent (4 decimals; the report's own values, times 100).

Then ``data/<b>/grid-<model key>.js`` (one record per row: right/wrong letter, verdict, IoU of each mask probe,
the analysis category, groups; the grid pages through them) and ``data/<b>/compare-<a>-<c>.js`` for every pair of
models (the rows where their letter, verdict or IoU differ, the IoU by more than ``iou_gap``).

Outcomes come from the score's per-sample records (the same numbers as the report); candidate IoUs and what
each selection mode would choose are computed here with the scorer's own functions
(:func:`pixbench.metrics.selection.select_mask`, :func:`pixbench.metrics.masks.iou`).
"""

from __future__ import annotations

import io
import itertools
import logging
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, get_args

import pyarrow.parquet as pq
from PIL import Image

from pixbench.annotation import rle as rle_ops
from pixbench.metrics.analysis import row_grounded
from pixbench.metrics.masks import iou
from pixbench.metrics.selection import DEFAULT_SCORE_THRESHOLD, SelectionError, SelectMode, select_mask
from pixbench.view.media import display_size, grey_webp, image_webp, mask_png

if TYPE_CHECKING:
    from pixbench.ground_truth import Reference, ReferenceRow
    from pixbench.prediction_records import Prediction
    from pixbench.results import ScoreResult
    from pixbench.view.context import ModelFile, SiteContext

logger = logging.getLogger(__name__)

#: The probes whose lines carry masks, in the order a sample page shows them.
MASK_PROBES = ("segment", "vqa")
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


def _open(data: bytes | None) -> Image.Image | None:
    if not data:
        return None
    try:
        image = Image.open(io.BytesIO(data))
        image.load()
        return image
    except (OSError, ValueError) as exc:
        logger.warning("unreadable image (%s): drawn on grey", exc)
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


def _chosen_by(line: Prediction, gt: rle_ops.Rle, threshold: float) -> dict[int, list[str]]:
    """candidate index -> the selection modes that choose it."""
    chosen: dict[int, list[str]] = {}
    if not line.candidates:
        return chosen
    masks = [c.mask for c in line.candidates]
    scores = [c.score for c in line.candidates]
    for mode in get_args(SelectMode):
        try:
            selection = select_mask(mode=mode, gt=gt, mask=line.mask, candidates=masks, scores=scores,
                                    selected=line.selected, score_threshold=threshold)
        except SelectionError:
            continue
        if selection.index is not None:
            chosen.setdefault(selection.index, []).append(mode)
    return chosen


def _scored_mask(line: Prediction, record: Mapping[str, Any] | None, gt: rle_ops.Rle) -> rle_ops.Rle | None:
    """The mask the score used for this line: the chosen candidate, else the line's own mask (``None``: empty)."""
    index = record.get("candidate") if record else None
    if isinstance(index, int) and line.candidates and 0 <= index < len(line.candidates):
        return line.candidates[index].mask
    return line.mask


def _answer(records: Mapping[str, Mapping[str, Any]]) -> bool | None:
    """Whether the row's answer is right: the letter probe's, else the judged one (``None``: not measured)."""
    for probe in ("letter", "vqa"):
        record = records.get(probe)
        if record is not None and record.get("correct") is not None:
            return bool(record["correct"])
    return None


def _category(records: Mapping[str, Mapping[str, Any]], gt_empty: bool, fraction: float | None) -> str | None:
    answer = _answer(records)
    probe = next((p for p in MASK_PROBES if p in records and "iou" in records[p]), None)
    if answer is None or probe is None:
        return None
    grounded = row_grounded(iou=records[probe]["iou"], gt_empty=gt_empty,
                            pred_area_fraction=None if records[probe].get("missing") else fraction)
    return CATEGORIES[(answer, grounded)]


def write_samples(context: SiteContext, benchmark: str, reference: Reference) -> None:
    """Write the benchmark's sample pages' data and media (see the module docstring)."""
    from tqdm import tqdm

    from pixbench.benchmarks import REGISTRY

    spec = REGISTRY[benchmark]
    folder, options = context.folder, context.options
    results = [r for r in context.run.results if r.benchmark == benchmark and r.variant is None]
    records, lines = _records(results), _lines(context, benchmark)
    models = [context.models[m] for m in dict.fromkeys(r.model for r in results) if m in context.models]
    threshold = float(context.settings.get("score_threshold", DEFAULT_SCORE_THRESHOLD))
    grid: dict[str, list[dict[str, Any]]] = {m.key: [] for m in models}
    rows = reference.rows
    images = _images((options.folders or {}).get(benchmark), set(rows))
    seen: set[int] = set()
    bar = tqdm(total=len(rows), desc=f"{spec.display_name} samples", unit="row", disable=not context.progress)
    for row_id, data in itertools.chain(images, ((i, None) for i in rows)):
        if row_id in seen:
            continue
        seen.add(row_id)
        row = rows[row_id]
        entry = _write_row(context, benchmark, row, data, models, records, lines, threshold)
        for model in models:
            grid[model.key].append(entry[model.key])
        bar.update(1)
    bar.close()
    group_names = sorted({name for row in rows.values() for name in row.groups})
    for model in models:
        ordered = sorted(grid[model.key], key=lambda r: r["id"])
        folder.write_data(f"{benchmark}/grid-{model.key}", {
            "benchmark": benchmark, "display_name": spec.display_name, "model": model.model, "key": model.key,
            "groups": group_names, "page_size": options.grid_page, "rows": ordered})
    for first, second in itertools.combinations(models, 2):
        folder.write_data(f"{benchmark}/compare-{first.key}-{second.key}",
                          _differences(benchmark, first, second, grid, options.iou_gap))
    folder.write_data(f"{benchmark}/models", {
        "benchmark": benchmark, "display_name": spec.display_name, "iou_gap": options.iou_gap,
        "models": [{"model": m.model, "key": m.key} for m in models], "groups": group_names,
        "ids": sorted(rows)})
    context.pages += ["samples.html", "sample.html", "compare.html"]


def _write_row(context: SiteContext, benchmark: str, row: ReferenceRow, data: bytes | None,
               models: Sequence[ModelFile], records: Mapping[str, Mapping[int, Mapping[str, dict[str, Any]]]],
               lines: Mapping[str, Mapping[int, Mapping[str, Prediction]]], threshold: float) -> dict[str, Any]:
    """The row's media and page data; returns model key -> the row's grid record."""
    folder, options = context.folder, context.options
    base = f"media/{benchmark}/{row.id}"
    size = display_size(row.height, row.width, options.max_side)
    thumb = display_size(row.height, row.width, options.thumb_side)
    if not (folder.has(f"{base}/image.webp") and folder.has(f"{base}/thumb.webp")):
        image = _open(data)
        if image is not None and image.size != (row.width, row.height):
            logger.warning("%s id %s: image of %sx%s for a %sx%s row: drawn on grey", benchmark, row.id,
                           image.width, image.height, row.width, row.height)
            image = None
        folder.write_bytes(f"{base}/image.webp", image_webp(image, size) if image else grey_webp(size))
        folder.write_bytes(f"{base}/thumb.webp", image_webp(image, thumb) if image else grey_webp(thumb))
    if not folder.has(f"{base}/gt.png"):
        folder.write_bytes(f"{base}/gt.png", mask_png(row.mask, size))
    gt_area = int(rle_ops.area([row.mask])[0])
    page_models: dict[str, Any] = {}
    grid: dict[str, dict[str, Any]] = {}
    for model in models:
        model_records = records.get(model.model, {}).get(row.id, {})
        model_lines = lines.get(model.model, {}).get(row.id, {})
        probes: dict[str, Any] = {}
        ious: dict[str, float | None] = {}
        fraction = None
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
                mask = _scored_mask(line, record, row.mask) if line is not None else None
                if not folder.has(f"{stem}.png"):
                    folder.write_bytes(f"{stem}.png", mask_png(mask, size))
                entry["mask"] = f"{stem}.png"
                if mask is not None and probe in MASK_PROBES and fraction is None:
                    fraction = int(rle_ops.area([mask])[0]) / max(1, row.height * row.width)
                if line is not None and line.candidates:
                    chosen = _chosen_by(line, row.mask, threshold)
                    candidates = []
                    for k, candidate in enumerate(line.candidates):
                        path = f"{stem}-c{k}.png"
                        if not folder.has(path):
                            folder.write_bytes(path, mask_png(candidate.mask, size))
                        candidates.append({"phrase": candidate.phrase, "score": candidate.score,
                                           "char_start": candidate.char_start, "char_end": candidate.char_end,
                                           "iou": round(iou(pred=candidate.mask, gt=row.mask) * 100, 6),
                                           "chosen_by": chosen.get(k, []), "mask": path})
                    entry["candidates"] = candidates
                    entry["selected"] = line.selected
                    entry["scored_candidate"] = record.get("candidate")
            probes[probe] = entry
        category = _category(model_records, gt_area == 0, fraction)
        page_models[model.key] = {"model": model.model, "probes": probes, "category": category}
        grid[model.key] = {
            "id": row.id, "letter": model_records.get("letter", {}).get("correct"),
            "verdict": model_records.get("vqa", {}).get("verdict"),
            "judged": model_records.get("vqa", {}).get("correct"),
            "iou": {probe: (None if value is None else round(value * 100, 4)) for probe, value in ious.items()},
            "category": category, "groups": dict(row.groups), "expression": row.expression,
            "mask": probes.get("segment", probes.get("vqa", {})).get("mask"),
            "missing": sorted(p for p, e in probes.items() if e["missing"])}
    context.folder.write_data(f"{benchmark}/row-{row.id}", {
        "benchmark": benchmark, "id": row.id, "question": row.question, "options": list(row.options),
        "options_text": row.options_text, "answer": row.answer, "expression": row.expression,
        "groups": dict(row.groups), "size": [row.height, row.width], "display": list(size),
        "gt_area": gt_area, "image": f"{base}/image.webp", "gt": f"{base}/gt.png", "models": page_models})
    return grid


def _differences(benchmark: str, first: ModelFile, second: ModelFile, grid: Mapping[str, Sequence[dict[str, Any]]],
                 gap: float) -> dict[str, Any]:
    """The rows where two models differ: the letter's or the verdict's outcome, or an IoU by more than ``gap``."""
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
            rows.append({"id": a["id"], "why": why, "a": a, "c": b})
    return {"benchmark": benchmark, "a": {"model": first.model, "key": first.key},
            "c": {"model": second.model, "key": second.key}, "iou_gap": gap, "rows": rows}
