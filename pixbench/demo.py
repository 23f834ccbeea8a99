"""``pixbench demo``'s pieces above the registry: the keyword judge and the made-up models' files.

Everything is offline and deterministic: each benchmark's synthetic inputs and made-up models live in its
folder (its demo hook, :mod:`pixbench.benchmarks.demo`); this module writes the models' lines as predictions
files (:func:`write_demo_predictions`), and the "judge" is a keyword rule (:func:`keyword_judge_reply`), not an
LLM, so the demo shows the whole pipeline in seconds.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from pixbench.prediction_records import Prediction
from pixbench.predictions import write_predictions

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


def write_demo_predictions(made_up: Iterable[Mapping[str, Sequence[Prediction]]], out_dir: Path, *,
                           prefix: str = "") -> list[Path]:
    """One predictions file per made-up model, ``out_dir / f"{prefix}{model}.jsonl"``, holding the model's lines
    of every mapping (model -> lines, a benchmark hook's ``demo_predictions``) of ``made_up`` in turn; the
    paths, in the order the models first appear."""
    out_dir.mkdir(parents=True, exist_ok=True)
    by_model: dict[str, list[Prediction]] = {}
    for models in made_up:
        for model, lines in models.items():
            by_model.setdefault(model, []).extend(lines)
    paths = []
    for model, lines in by_model.items():
        path = out_dir / f"{prefix}{model}.jsonl"
        write_predictions(path, lines)
        paths.append(path)
    return paths
