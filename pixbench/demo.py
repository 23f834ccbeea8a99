"""``pixbench demo``: the tiny synthetic benchmark, predictions of two made-up models, and their scores.

Everything is offline and deterministic: the benchmark comes from :mod:`pixbench.loaders.synthetic`,
the predictions are derived from the ground truth with fixed mistakes, and the "judge" is a keyword
rule (:func:`keyword_judge_reply`), not an LLM, so the demo shows the whole pipeline in seconds.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from pixbench.annotation import rle as rle_ops
from pixbench.metrics.letters import answer_index, option_letter
from pixbench.predictions import Candidate, Prediction, write_predictions
from pixbench.references import Reference

_ANSWER = re.compile(r"the correct answer is (\(\w\))", re.IGNORECASE)
_OPTIONS = re.compile(r"\((\w)\)\s*([^()]+?)(?=\s*\(\w\)|,\s*the correct answer|$)", re.IGNORECASE)
_RESPONSE = re.compile(r"answer:(.*)\? Respond with a Yes/No", re.IGNORECASE | re.DOTALL)


def keyword_judge_reply(messages: list[dict[str, Any]]) -> str:
    """Offline stand-in for the LLM judge: ``Yes`` when the response names the correct option's text
    and no other option's text, else ``No``. Works on the exact accuracy prompt of the protocol."""
    text = str(messages[-1]["content"])
    answer, response = _ANSWER.search(text), _RESPONSE.search(text)
    question_part = text.split(", the correct answer is")[0]
    options = {letter.lower(): body.strip().lower() for letter, body in _OPTIONS.findall(question_part)}
    if not answer or not response or not options:
        return "No"
    said = response.group(1).lower()
    correct = options.get(answer.group(1).strip("()").lower(), "")
    others = [body for letter, body in options.items() if body != correct]
    return "Yes" if correct and correct in said and not any(o in said for o in others) else "No"


def _shifted(mask: rle_ops.Rle, dx: int) -> rle_ops.Rle:
    """The mask moved ``dx`` pixels to the right (a near miss)."""
    array = rle_ops.decode(mask)
    return rle_ops.encode(np.roll(array, dx, axis=1))


def demo_predictions(reference: Reference) -> dict[str, list[Prediction]]:
    """Lines of two made-up models on one benchmark.

    ``demo-pixel-mllm`` answers every letter question right but every fourth one wrong by the judge,
    and segments with its own masks, shifted by 4 pixels. ``demo-attend-segment`` answers the first
    option always and gives three candidates per ``vqa`` answer (the true mask, a shifted one and an
    empty one) with phrase offsets and scores, choosing the shifted one.
    """
    first, second = [], []
    for row_id, row in reference.rows.items():
        truth = answer_index(row.answer)
        letter = option_letter(truth)
        right_text, wrong_text = row.options[truth], row.options[(truth + 1) % len(row.options)]
        target = row.expression or "nothing"
        first += [
            Prediction(reference.benchmark, row_id, "letter", "demo-pixel-mllm", response=letter),
            Prediction(reference.benchmark, row_id, "vqa", "demo-pixel-mllm",
                       response=f"It is {right_text if row_id % 4 else wrong_text}."),
            Prediction(reference.benchmark, row_id, "segment", "demo-pixel-mllm", mask=_shifted(row.mask, 4),
                       has_mask=True),
        ]
        response = f"Looking at {target}, the answer is {row.options[0]}."
        start = response.index(target)
        candidates = (
            Candidate(row.mask, phrase=target, char_start=start, char_end=start + len(target), score=0.9),
            Candidate(_shifted(row.mask, 8), phrase=target, char_start=start, char_end=start + len(target),
                      score=0.9),
            Candidate(rle_ops.empty(row.height, row.width), phrase="the answer", char_start=response.index("the a"),
                      char_end=response.index("the a") + 10, score=0.2),
        )
        second += [
            Prediction(reference.benchmark, row_id, "letter", "demo-attend-segment", response="A"),
            Prediction(reference.benchmark, row_id, "vqa", "demo-attend-segment", response=response,
                       candidates=candidates, selected=1),
        ]
    return {"demo-pixel-mllm": first, "demo-attend-segment": second}


def write_demo_predictions(references: dict[str, Reference], out_dir: Path) -> list[Path]:
    """One predictions file per made-up model, covering every benchmark given."""
    out_dir.mkdir(parents=True, exist_ok=True)
    by_model: dict[str, list[Prediction]] = {}
    for reference in references.values():
        for model, lines in demo_predictions(reference).items():
            by_model.setdefault(model, []).extend(lines)
    paths = []
    for model, lines in by_model.items():
        path = out_dir / f"{model}.jsonl"
        write_predictions(path, lines)
        paths.append(path)
    return paths


def mocentric_demo_predictions(reference: Any) -> dict[str, list[Prediction]]:
    """Two made-up video models on every MoCentric-Bench probe (pair probes in their default layout).

    ``demo-motion-aware`` answers as a model that follows the motion would: the object on the moving
    frames, nothing on the static clip, the real clip's half of a pair. ``demo-appearance-only`` segments
    what the object looks like wherever it is: the still keyframe too, both halves of a pair, and the
    original order of a reversed clip.
    """
    from pixbench.benchmarks.mocentric.views import PROBES, probe_view, resolve_layout

    out: dict[str, list[Prediction]] = {"demo-motion-aware": [], "demo-appearance-only": []}
    for probe in PROBES:
        layout = resolve_layout(probe, None)
        for row_id, row in reference.rows_for(probe).items():
            view = probe_view(probe=probe, layout=layout, frame_names=row.frame_names, keyframe=row.keyframe,
                              height=row.height, width=row.width)
            truth = view.ground_truth(list(row.masks))
            aware: list[rle_ops.Rle | None] = [None] * view.length if probe == "static" else list(truth)
            looks = list(truth)
            if probe in ("reversed", "reversed-pair"):  # ignores the reversal: the original order
                looks = list(reversed(truth))
            if view.other is not None and view.other_frames is not None:  # also segments the distractor half
                row0, col0 = view.other[0].start, view.other[1].start
                looks = [rle_ops.union([mask, rle_ops.place(row.masks[other], *view.canvas, row=row0, column=col0)],
                                       *view.canvas) for mask, other in zip(looks, view.other_frames)]
            for model, frames in (("demo-motion-aware", aware), ("demo-appearance-only", looks)):
                out[model].append(Prediction(benchmark=reference.benchmark, id=row_id, probe=probe, layout=layout,
                                             model=model, frames=tuple(frames)))
    return out
