"""Inputs of the receipt tests: the tiny PixMMVP's predictions (relative paths, as a user types them) and the
judge's replies."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pixbench.annotation import rle

SQUARE = [32, 24, 80, 24, 80, 72, 32, 72]  # row 1's ground truth: 48 x 48 pixels of the 96 x 128 image
LEFT_HALF = [32, 24, 56, 24, 56, 72, 32, 72]  # its left half
PREDICTIONS = "preds/m.jsonl"
DATA = "data/PixMMVP"



def poly(points: list[int]) -> dict[str, Any]:
    return {"size": [96, 128], "polygons": [points]}


def prediction_lines() -> list[dict[str, Any]]:
    """Letters, judged answers (row 1 with candidates: `given` picks the half, `oracle` the square, and its
    phrase asks the judge a concept label) and masks for the 8 rows of the tiny PixMMVP."""
    half, square = rle.from_polygons([LEFT_HALF], 96, 128), rle.from_polygons([SQUARE], 96, 128)
    lines: list[dict[str, Any]] = []
    for i in range(1, 9):
        lines.append({"benchmark": "pixmmvp", "id": i, "probe": "letter", "response": "A" if i % 3 else "B"})
        lines.append({"benchmark": "pixmmvp", "id": i, "probe": "vqa", "response": f"I think answer {i}"})
        if i < 8:
            lines.append({"benchmark": "pixmmvp", "id": i, "probe": "segment", "mask": poly(SQUARE if i % 2 else
                                                                                            LEFT_HALF)})
    lines[1].update(response="The square is red, answer 1", selected=0,
                    candidates=[{"mask": half, "phrase": "the square", "char_start": 4, "char_end": 14},
                                {"mask": square, "phrase": "the square", "char_start": 4, "char_end": 14}])
    return lines


def write_lines(path: Path, lines: list[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return path


def judge_text(messages: list[dict[str, Any]]) -> str:
    """The judge's reply: yes to answers naming an odd row, no to the others; a concept label gets ``(a)``."""
    text = messages[-1]["content"]
    if "Classify the phrase" in text:
        return "(a)"
    answer = text.split("answer:")[-1].split("? Respond")[0]
    return "Yes" if int(answer.split()[-1]) % 2 else "No"


def server_reply(body: dict[str, Any]) -> str:
    return judge_text(body["messages"])
