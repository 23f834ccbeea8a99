"""When does grounding emerge? An interpretability report for one image and one referring expression.

:func:`explain` runs attend-and-segment (:mod:`~pixbench.baselines.pipeline`) on one image with the
``segment`` prompt (or a given one) and chooses the candidate that grounds the expression best:

- ``oracle`` (a ground-truth mask is given): the candidate with the highest IoU, ties to the later one
  (an empty ground truth chooses nothing: the expression is absent);
- ``judge``: PixFoundation's automatic selection (:mod:`~pixbench.baselines.autoselect`);
- ``score``: the candidate whose phrase is most similar to the expression (attend-and-segment's rule,
  without the threshold).

:func:`write_explanation` writes into a folder:

- ``phrase-GG.png`` for every noun phrase ``GG`` of the answer: the three SAM masks (red, 50% blend)
  over the image, with the point (white cross) that prompted them;
- ``summary.png``: the chosen mask and point, the answer with the chosen phrase marked ``[[...]]``, and
  a bar along the answer (0..100%) with a tick per phrase, the chosen phrase's in red;
- ``summary.json``: prompt, response, every phrase (span, first token, location in percent, point, and
  per mask its RLE, area, SAM score, similarity, IoU when a ground truth is given), and the selection
  (method, candidate, phrase, mask, location, judge replies).

The location of a phrase in the answer is ``char_start / len(response) * 100`` (analysis 6 of
``metrics.md``).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from PIL import Image, ImageDraw

from pixbench.annotation import rle as rle_ops
from pixbench.annotation.draw import contact_sheet
from pixbench.annotation.rle import Rle
from pixbench.baselines.attention import GenerationSettings, VisionLanguageAdapter
from pixbench.baselines.autoselect import SelectionRequest, auto_select, tint_red
from pixbench.baselines.phrases import PhraseTools
from pixbench.baselines.pipeline import AttendSegmentResult, attend_and_segment
from pixbench.baselines.sam import PointSegmenter
from pixbench.judge import Judge
from pixbench.metrics.masks import matched_ious
from pixbench.metrics.selection import select_mask
from pixbench.prompts import render_prompt

__all__ = ["ExplainResult", "ExplainSelection", "SelectMethod", "explain", "location_percent", "write_explanation"]

logger = logging.getLogger(__name__)

SelectMethod = Literal["oracle", "judge", "score"]


@dataclass(frozen=True)
class ExplainSelection:
    """The chosen candidate (index into ``result.candidates()``) or None, and how it was chosen."""

    method: SelectMethod
    candidate: int | None
    status: str
    detail: str | None = None
    replies: tuple[str, ...] = ()


@dataclass
class ExplainResult:
    """The pipeline's result for the image, its candidates (RLE), IoUs against a ground truth, and the choice."""

    expression: str
    result: AttendSegmentResult
    candidates: list[Rle]
    selection: ExplainSelection
    ious: list[float] | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def location_percent(char_start: int, response: str) -> float:
    """``char_start / len(response) * 100`` (0.0 for an empty response)."""
    return 100.0 * char_start / len(response) if response else 0.0


def explain(*, adapter: VisionLanguageAdapter, segmenter: PointSegmenter, phrases: PhraseTools, image: Image.Image,
            expression: str, settings: GenerationSettings, method: SelectMethod, prompt: str | None = None,
            gt_mask: np.ndarray | None = None, judge: Judge | None = None, **generate_kwargs: Any) -> ExplainResult:
    """Run the pipeline on ``image`` and choose a candidate by ``method`` (module docstring).

    ``gt_mask``: bool ``[H, W]`` at the image's size (needed by ``oracle``); ``judge``: needed by ``judge``;
    other keyword arguments go to ``model.generate``.
    """
    image = image.convert("RGB")
    if gt_mask is not None and gt_mask.shape != (image.height, image.width):
        raise ValueError(f"Expected a ground-truth mask of size {image.height}x{image.width}, "
                         f"but got {gt_mask.shape[0]}x{gt_mask.shape[1]}")
    prompt = prompt or render_prompt({"expression": expression}, probe="segment")
    result = attend_and_segment(adapter=adapter, segmenter=segmenter, phrases=phrases, image=image,
                                prompt=prompt, expression=expression, settings=settings, **generate_kwargs)
    candidates = [c.mask for c in result.candidates()]
    scores = [c.score for c in result.candidates()]
    gt = rle_ops.encode(gt_mask) if gt_mask is not None else None
    ious = [float(v) for v in matched_ious(preds=candidates, gts=[gt] * len(candidates))] \
        if gt is not None and candidates else ([] if gt is not None else None)
    if method == "oracle":
        if gt is None:
            raise ValueError("Expected a ground-truth mask for the oracle selection, but got none")
        chosen = select_mask(mode="oracle", gt=gt, candidates=candidates)
        status = "selected" if chosen.index is not None else ("absent" if not rle_ops.area([gt])[0]
                                                              else "no_candidates")
        selection = ExplainSelection("oracle", chosen.index, status)
    elif method == "judge":
        if judge is None:
            raise ValueError("Expected a judge for the judge selection, but got none")
        outcome = auto_select(judge, [SelectionRequest(expression, np.asarray(image, dtype=np.uint8), candidates)])[0]
        index = outcome.selected if isinstance(outcome.selected, int) else None
        selection = ExplainSelection("judge", index, outcome.status, outcome.detail, outcome.replies)
    elif method == "score":
        best = max(range(len(scores)), key=lambda k: (scores[k] or 0.0, k)) if scores else None
        selection = ExplainSelection("score", best, "selected" if best is not None else "no_candidates")
    else:
        raise ValueError(f"Expected method to be oracle, judge or score, but got {method!r}")
    return ExplainResult(expression, result, candidates, selection, ious)


# ------------------------------------------------------------------------------------ rendering


def _marked(image: np.ndarray, mask: np.ndarray | None, point: tuple[int, int] | None) -> Image.Image:
    canvas = Image.fromarray(tint_red(image, mask) if mask is not None else image.copy())
    if point is not None:
        draw = ImageDraw.Draw(canvas)
        size = max(3, round(min(canvas.size) / 30))
        x, y = point
        draw.line([x - size, y, x + size, y], fill=(255, 255, 255), width=max(1, size // 3))
        draw.line([x, y - size, x, y + size], fill=(255, 255, 255), width=max(1, size // 3))
        draw.point((x, y), fill=(0, 0, 0))
    return canvas


def _wrap(text: str, width: int) -> list[str]:
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        line = ""
        for word in paragraph.split(" "):
            if line and len(line) + 1 + len(word) > width:
                lines.append(line)
                line = word
            else:
                line = f"{line} {word}" if line else word
        lines.append(line)
    return lines


def _summary_image(image: np.ndarray, explained: ExplainResult) -> Image.Image:
    result = explained.result
    chosen = explained.selection.candidate
    grounding = result.groundings[chosen // 3] if chosen is not None else None
    mask = grounding.masks[chosen % 3] if grounding is not None and chosen is not None else None
    left = _marked(image, mask, grounding.point if grounding is not None else None)
    scale = 320 / max(left.size)
    left = left.resize((max(1, round(left.width * scale)), max(1, round(left.height * scale))),
                       Image.Resampling.NEAREST if scale > 1 else Image.Resampling.LANCZOS)
    response = result.response
    marked = response
    if grounding is not None:
        span = grounding.group
        marked = f"{response[:span.char_start]}[[{response[span.char_start:span.char_end]}]]{response[span.char_end:]}"
    header = [f"expression: {explained.expression}", f"selection: {explained.selection.method} -> "
              + (f"phrase {chosen // 3} '{grounding.group.text}', mask {chosen % 3}, at "
                 f"{location_percent(grounding.group.char_start, response):.1f}% of the answer"
                 if grounding is not None and chosen is not None else explained.selection.status), "answer:"]
    lines = header + _wrap(marked, 70)[:30]
    text_width, line_height = 440, 14
    bar_top = max(left.height, line_height * len(lines) + 8) + 10
    canvas = Image.new("RGB", (left.width + text_width + 20, bar_top + 40), (255, 255, 255))
    canvas.paste(left, (0, 0))
    draw = ImageDraw.Draw(canvas)
    for k, line in enumerate(lines):
        draw.text((left.width + 10, 4 + k * line_height), line, fill=(0, 0, 0))
    x0, x1 = 10, canvas.width - 10
    draw.rectangle([x0, bar_top, x1, bar_top + 10], outline=(0, 0, 0))
    draw.text((x0, bar_top + 14), "0%", fill=(0, 0, 0))
    draw.text((x1 - 30, bar_top + 14), "100%", fill=(0, 0, 0))
    for g, item in enumerate(result.groundings):
        x = x0 + (x1 - x0) * location_percent(item.group.char_start, response) / 100
        is_chosen = chosen is not None and g == chosen // 3
        draw.line([x, bar_top - (4 if is_chosen else 0), x, bar_top + 10], fill=(220, 0, 0) if is_chosen else
                  (90, 90, 90), width=3 if is_chosen else 1)
    return canvas


def write_explanation(explained: ExplainResult, image: Image.Image, out_dir: Path) -> list[Path]:
    """Write ``phrase-GG.png``, ``summary.png`` and ``summary.json`` into ``out_dir``; return the paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    array = np.asarray(image.convert("RGB"), dtype=np.uint8)
    result = explained.result
    written: list[Path] = []
    for g, grounding in enumerate(result.groundings):
        panels = [_marked(array, grounding.masks[k], grounding.point) for k in range(grounding.masks.shape[0])]
        labels = [f"mask {k}, SAM {grounding.sam_scores[k]:.2f}: {grounding.group.text}" for k in range(len(panels))]
        path = out_dir / f"phrase-{g:02d}.png"
        contact_sheet(panels, labels, tile=256, columns=3).save(path)
        written.append(path)
    summary_png = out_dir / "summary.png"
    _summary_image(array, explained).save(summary_png)
    written.append(summary_png)
    summary_json = out_dir / "summary.json"
    summary_json.write_text(json.dumps(_summary(explained), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    written.append(summary_json)
    return written


def _summary(explained: ExplainResult) -> dict[str, Any]:
    result = explained.result
    response = result.response
    phrases = []
    for g, grounding in enumerate(result.groundings):
        group = grounding.group
        masks = []
        for k in range(grounding.masks.shape[0]):
            index = 3 * g + k
            entry: dict[str, Any] = {"candidate": index, "sam_index": k, "mask": dict(explained.candidates[index]),
                                     "area": int(grounding.masks[k].sum()),
                                     "sam_score": round(float(grounding.sam_scores[k]), 6),
                                     "file": f"phrase-{g:02d}.png"}
            if explained.ious is not None:
                entry["iou"] = round(explained.ious[index], 6)
            masks.append(entry)
        phrases.append({"index": g, "phrase": group.text, "root": group.root, "char_start": group.char_start,
                        "char_end": group.char_end, "token_start": group.token_start, "tokens": list(group.tokens),
                        "location_percent": round(location_percent(group.char_start, response), 4),
                        "point": [grounding.point[0], grounding.point[1]], "score": round(grounding.score, 6),
                        "masks": masks})
    selection = explained.selection
    chosen: dict[str, Any] = {"method": selection.method, "status": selection.status, "candidate": selection.candidate,
                              "detail": selection.detail, "judge_replies": list(selection.replies)}
    if selection.candidate is not None:
        grounding = result.groundings[selection.candidate // 3]
        chosen.update(phrase_index=selection.candidate // 3, sam_index=selection.candidate % 3,
                      phrase=grounding.group.text, char_start=grounding.group.char_start,
                      char_end=grounding.group.char_end, token_start=grounding.group.token_start,
                      location_percent=round(location_percent(grounding.group.char_start, response), 4),
                      point=[grounding.point[0], grounding.point[1]])
        if explained.ious is not None:
            chosen["iou"] = round(explained.ious[selection.candidate], 6)
    return {"expression": explained.expression, "prompt": result.prompt, "response": response,
            "grid": list(result.layout.grid), "fit": result.layout.fit, "tokens": int(result.token_ids.size),
            "phrases": phrases, "selection": chosen, **explained.extra}
