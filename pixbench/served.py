"""Predictions of a served vision-language model (any OpenAI-compatible endpoint) on an image benchmark.

For each row of a built PixMMVP or PixCV-Bench and each probe, :func:`run_served` sends one chat request:
the row's image as a base64 JPEG data URL (``image_url`` content part, then the text) and

- ``letter`` / ``vqa``: the published prompt (:func:`pixbench.prompts.render_prompt`, with the run's
  ``template`` where it is a question template, and ``family``); the reply is the line's ``response``;
- ``segment``: the grounding prompt of the box family (:func:`pixbench.baselines.boxes.box_prompt`, system
  :data:`~pixbench.baselines.boxes.BOX_SYSTEM`: Qwen-VL's ``bbox_2d`` JSON); the reply (the line's
  ``response``) is parsed strictly (:func:`~pixbench.baselines.boxes.read_boxes`) in the family's box
  convention (:data:`~pixbench.baselines.boxes.BOX_CONVENTIONS`, or ``box_format``), each box becomes a
  mask through SAM (:class:`~pixbench.baselines.sam.BoxSegmenter`, ``multimask_output=False``) and the
  line's ``mask`` is their union. A reply without a parsable box gives the empty mask (recorded, never
  guessed); a row without an expression gets the empty mask without a request.

Every line carries ``variant`` = the template id (when one is given); a reply longer than
:data:`MAX_STORED_RESPONSE` characters is stored cut to that length (the cache keeps it whole). Requests go
through an :class:`~pixbench.judge.OpenAICompatibleJudge` (bounded concurrency, retries with backoff
honouring ``Retry-After``, fail fast on a dead endpoint, replies stored in a SQLite cache as they arrive).
A request that failed after its retries writes no line (a rerun asks again) and is counted in
:class:`ServedSummary`.

Resuming
    Lines are appended chunk by chunk; a rerun skips the (id, probe) lines already in ``OUT`` and finds
    interrupted replies in the cache. ``OUT.run.json`` records the run's identity: the served model, its
    endpoint (:func:`~pixbench.endpoints.endpoint_identity`: secrets redacted, ``localhost`` and
    ``127.0.0.1`` one server) and every setting (sampling: temperature, max tokens, seed; prompts; box
    convention). ``OUT`` is checked as a whole before anything is asked or written, and refused, naming
    the file, line and reason, when

    - another process is writing it (:func:`~pixbench.output_lock.exclusive_output`);
    - it holds a line that is not a predictions line, or a line of another model or benchmark (this run
      never counts another's lines as done);
    - it holds lines but no run file (their settings are unknown), or its run file has other settings;
    - its last line has no newline and is not the start of a line of this run.

    Only two repairs are made, both to this run's own lines: a partial last line that starts as this run's
    lines start (an interrupted write; the run file must exist) is cut off, and a complete last line of
    this run without its newline gets one.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pixbench import __version__
from pixbench.annotation import rle
from pixbench.baselines.boxes import (
    BOX_CONVENTIONS,
    BOX_SYSTEM,
    BoxAnswer,
    box_format_for,
    box_prompt,
    qwen_input_size,
    read_boxes,
)
from pixbench.endpoints import endpoint_identity, endpoints_as_compared
from pixbench.judge.client import Judge
from pixbench.output_lock import exclusive_output
from pixbench.predictions import Prediction, prediction_to_json
from pixbench.prompts import FAMILIES, UnknownTemplateError, get_template, render_prompt
from pixbench.run_output import OutputError, read_existing_output, repair_output

__all__ = [
    "SERVED_PROBES",
    "ServedConfig",
    "ServedError",
    "ServedSummary",
    "image_messages",
    "known_box_families",
    "run_file",
    "run_served",
]

logger = logging.getLogger(__name__)

#: The probes a served model answers, in the order lines are written per row.
SERVED_PROBES = ("letter", "vqa", "segment")
#: Requests asked per chunk, as a multiple of the concurrency (lines are written after each chunk).
CHUNK_FACTOR = 8
#: ``OUT.run.json``: 2 = ``{"format", "pixbench_version", "settings"}`` (1 kept the settings at the top level).
RUN_FORMAT = 2
#: Longest reply a line stores, in characters (the reply cache keeps the whole reply).
MAX_STORED_RESPONSE = 65_536

BoxSegmenterLoader = Callable[[], Any]


class ServedError(RuntimeError):
    """The run cannot go on (settings differ from the existing output, endpoint unreachable, no image)."""


@dataclass(frozen=True)
class ServedConfig:
    """One run. ``model`` is the served model name (sent, and written as every line's ``model``);
    ``endpoint`` the redacted base URL (for the run file); ``segmenter`` names the SAM used (run file)."""

    benchmark: str
    data: str
    out: Path
    model: str
    endpoint: str = ""
    probes: tuple[str, ...] = SERVED_PROBES
    template: str | None = None
    family: str = "vanilla"
    box_family: str = "qwen2_5_vl"
    box_format: str | None = None
    temperature: float = 0.0
    max_tokens: int | None = 1024
    seed: int | None = 0
    concurrency: int = 8
    jpeg_quality: int = 95
    segmenter: str = ""
    limit: int | None = None
    progress: bool = False

    def __post_init__(self) -> None:
        unknown = [p for p in self.probes if p not in SERVED_PROBES]
        if unknown or not self.probes:
            raise ValueError(f"Expected probes among {list(SERVED_PROBES)}, but got {list(self.probes)}")
        if self.template is not None:
            get_template(self.template)
        if self.family not in FAMILIES:
            raise UnknownTemplateError(f"unknown model family {self.family!r}; valid families: {', '.join(FAMILIES)}")
        box_format_for(self.box_family, self.box_format)  # ValueError for an unknown family or format
        if self.concurrency < 1:
            raise ValueError(f"Expected concurrency >= 1, but got {self.concurrency}")

    @property
    def resolved_box_format(self) -> str:
        return box_format_for(self.box_family, self.box_format)

    def settings(self) -> dict[str, Any]:
        """What ``OUT.run.json`` records; a rerun must match it (``progress`` and ``limit`` excepted)."""
        out = {k: v for k, v in asdict(self).items() if k not in ("out", "progress", "limit")}
        out["probes"] = list(self.probes)
        out["box_format"] = self.resolved_box_format
        out["box_prompt"] = box_prompt("{expression}")
        out["endpoint"] = endpoint_identity(self.endpoint)
        return out

    def prompt(self, row: Mapping[str, Any], probe: str) -> str | None:
        """The text sent for ``probe``; None for ``segment`` on a row without an expression."""
        if probe == "segment":
            expression = row.get("expression")
            return box_prompt(str(expression)) if expression else None
        template = self.template
        if template is not None and get_template(template).kind != "question":
            template = None
        return render_prompt(row, probe=probe, template=template, family=self.family)


@dataclass
class ServedSummary:
    """Counts of one run: lines ``written`` now, ``skipped`` (already in OUT), requests ``cached``
    (answered from the cache) and ``asked``, requests ``failed`` (no line), segment replies ``without_box``,
    replies ``truncated`` to :data:`MAX_STORED_RESPONSE` characters in their line."""

    written: int = 0
    skipped: int = 0
    asked: int = 0
    cached: int = 0
    failed: int = 0
    without_box: int = 0
    truncated: int = 0
    errors: list[str] = field(default_factory=list)


def run_file(out: Path) -> Path:
    """``OUT.run.json`` beside the predictions file."""
    return out.with_name(out.name + ".run.json")


def image_messages(image: np.ndarray, text: str, *, system: str | None = None,
                   jpeg_quality: int = 95) -> list[dict[str, Any]]:
    """One user turn: the image as a base64 JPEG data URL, then ``text`` (after an optional system turn)."""
    from pixbench.baselines.autoselect import image_data_url

    url = image_data_url(image, quality=jpeg_quality)
    user = {"role": "user", "content": [{"type": "image_url", "image_url": {"url": url}},
                                        {"type": "text", "text": text}]}
    return [{"role": "system", "content": system}, user] if system is not None else [user]


def _stored_settings(path: Path) -> dict[str, Any]:
    """The settings of a run file (format 1 kept them at the top level), the endpoint as compared."""
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ServedError(f"{path}: cannot read this run file ({exc}); use another --out") from None
    if not isinstance(record, dict):
        raise ServedError(f"{path}: not a run file of pixbench run; use another --out")
    settings = record.get("settings", record)
    return endpoints_as_compared({k: v for k, v in settings.items() if k != "format"})


def _check_settings(config: ServedConfig, has_lines: bool) -> None:
    path = run_file(config.out)
    wanted = config.settings()
    if has_lines and path.exists():
        stored = _stored_settings(path)
        differing = sorted(k for k in set(stored) | set(wanted) if stored.get(k) != wanted.get(k))
        if differing:
            detail = "; ".join(f"{k}: {stored.get(k)!r} in {path.name}, {wanted.get(k)!r} now" for k in differing[:4])
            raise ServedError(f"{config.out} was written with other settings ({detail}); use a new --out "
                              "(or delete it) to start over")
    record = {"format": RUN_FORMAT, "pixbench_version": __version__, "settings": wanted}
    path.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def _stored_response(text: str, task: _Task, summary: ServedSummary) -> str:
    """The reply as its line stores it: at most :data:`MAX_STORED_RESPONSE` characters (the cache keeps all)."""
    if len(text) <= MAX_STORED_RESPONSE:
        return text
    summary.truncated += 1
    logger.warning("row %d %s: a reply of %d characters; its line keeps the first %d (the cache keeps all)",
                   task.row_id, task.probe, len(text), MAX_STORED_RESPONSE)
    return text[:MAX_STORED_RESPONSE]


def _image_array(row: Mapping[str, Any], row_id: int) -> np.ndarray:
    image = row.get("image")
    if image is None:
        raise ServedError(f"row {row_id} has no image: the data is an annotations-only build; use a build with "
                          "images")
    return np.asarray(image.convert("RGB"), dtype=np.uint8)


def _input_size(box_family: str, box_format: str, height: int, width: int) -> tuple[int, int] | None:
    if box_format != "input-pixels":
        return None
    if box_family.startswith("qwen"):
        return qwen_input_size(height, width)
    return height, width  # the image as sent (not resized)


def _segment_mask(answer: BoxAnswer, image: np.ndarray, segmenter: Any) -> np.ndarray:
    height, width = image.shape[:2]
    mask = np.zeros((height, width), dtype=bool)
    if not answer.boxes:
        return mask
    segmenter.set_image(image)
    for box in answer.boxes:
        mask |= np.asarray(segmenter.predict_box(np.array(box.as_list(), dtype=np.float64)), dtype=bool)
    return mask


@dataclass(frozen=True)
class _Task:
    index: int
    row_id: int
    probe: str
    prompt: str | None


def run_served(config: ServedConfig, *, judge: Judge, load_segmenter: BoxSegmenterLoader | None = None,
               dataset: Any = None, image_of: Callable[[Mapping[str, Any]], np.ndarray] | None = None
               ) -> ServedSummary:
    """Ask ``judge`` (the served model's client) every planned (row, probe) and append the lines to ``OUT``.

    ``dataset`` defaults to ``pixbench.load(config.data)``; ``image_of(row)`` (default: the row's image as
    RGB) gives the image sent. ``load_segmenter()`` is called once, when the first box must become a mask.
    Raises :class:`ServedError` when the endpoint is unreachable (lines written so far are kept).
    """
    out = config.out
    out.parent.mkdir(parents=True, exist_ok=True)
    with exclusive_output(out):
        try:
            existing = read_existing_output(out, model=config.model, benchmark=config.benchmark,
                                            run_file=run_file(out), producer="pixbench run")
        except OutputError as exc:
            raise ServedError(str(exc)) from None
        done = frozenset((int(obj["id"]), str(obj["probe"])) for obj in existing.lines)
        _check_settings(config, bool(done))
        repair_output(out, existing)
        if dataset is None:
            from pixbench.loaders.hub import load

            dataset = load(config.data)
        return _ask_and_write(config, done, judge=judge, load_segmenter=load_segmenter, dataset=dataset,
                              image_of=image_of)


def _ask_and_write(config: ServedConfig, done: frozenset[tuple[int, str]], *, judge: Judge,
                   load_segmenter: BoxSegmenterLoader | None, dataset: Any,
                   image_of: Callable[[Mapping[str, Any]], np.ndarray] | None) -> ServedSummary:
    out = config.out
    ids = [int(i) for i in dataset["id"]]
    if config.limit is not None:
        ids = ids[:config.limit]
    summary = ServedSummary()
    tasks: list[_Task] = []
    for index, row_id in enumerate(ids):
        for probe in config.probes:
            if (row_id, probe) in done:
                summary.skipped += 1
            else:
                tasks.append(_Task(index, row_id, probe, None))
    box_format = config.resolved_box_format
    segmenter: Any = None
    chunk = config.concurrency * CHUNK_FACTOR
    from tqdm import tqdm

    with out.open("a", encoding="utf-8") as handle, \
            tqdm(total=len(tasks), desc=f"run {config.model}", unit="req", file=sys.stderr,
                 disable=not config.progress) as bar:
        for start in range(0, len(tasks), chunk):
            batch = tasks[start:start + chunk]
            rows: dict[int, Mapping[str, Any]] = {}
            images: dict[int, np.ndarray] = {}
            asked: list[tuple[_Task, list[dict[str, Any]]]] = []
            lines: list[Prediction | None] = [None] * len(batch)
            for k, task in enumerate(batch):
                if task.index not in rows:
                    rows[task.index] = dataset[task.index]
                    row = rows[task.index]
                    images[task.index] = image_of(row) if image_of is not None else _image_array(row, task.row_id)
                row, image = rows[task.index], images[task.index]
                prompt = config.prompt(row, task.probe)
                if prompt is None:  # segment without an expression: the empty mask, nothing to ask
                    lines[k] = Prediction(benchmark=config.benchmark, id=task.row_id, probe=task.probe,
                                          model=config.model, mask=rle.empty(*image.shape[:2]), has_mask=True,
                                          variant=config.template)
                    continue
                system = BOX_SYSTEM if task.probe == "segment" else None
                asked.append((_Task(k, task.row_id, task.probe, prompt),
                              image_messages(image, prompt, system=system, jpeg_quality=config.jpeg_quality)))
            results = judge.ask_many([messages for _, messages in asked]) if asked else []
            for (task, _), result in zip(asked, results):
                image = images[batch[task.index].index]
                if not result.ok or result.text is None:
                    summary.failed += 1
                    summary.errors.append(f"row {task.row_id} {task.probe}: {result.error}")
                    continue
                summary.cached += int(result.cached)
                summary.asked += int(not result.cached)
                mask = None
                if task.probe == "segment":
                    height, width = image.shape[:2]
                    answer = read_boxes(result.text, frame_index=0, box_format=box_format,  # type: ignore[arg-type]
                                        frame_size=(height, width),
                                        input_size=_input_size(config.box_family, box_format, height, width))
                    if not answer.boxes:
                        summary.without_box += 1
                    elif segmenter is None:
                        if load_segmenter is None:
                            raise ServedError("the segment probe needs SAM: give a segment-anything checkpoint "
                                              "or a transformers SAM")
                        segmenter = load_segmenter()
                    mask = rle.encode(_segment_mask(answer, image, segmenter))
                lines[task.index] = Prediction(benchmark=config.benchmark, id=task.row_id, probe=task.probe,
                                               model=config.model, prompt=task.prompt,
                                               response=_stored_response(result.text, task, summary),
                                               mask=mask, has_mask=mask is not None, variant=config.template)
            for line in lines:
                if line is not None:
                    handle.write(json.dumps(prediction_to_json(line), ensure_ascii=False) + "\n")
                    summary.written += 1
            handle.flush()
            bar.update(len(batch))
            unreachable = getattr(judge, "unreachable", None)
            if isinstance(unreachable, str) and unreachable:
                raise ServedError(f"{unreachable}; {summary.written} line(s) written, replies received are cached: "
                                  "rerun to resume")
    return summary


def known_box_families() -> Sequence[str]:
    """The box families of :data:`~pixbench.baselines.boxes.BOX_CONVENTIONS`."""
    return tuple(BOX_CONVENTIONS)
