"""Predictions of a served vision-language model (any OpenAI-compatible endpoint) on an image benchmark.

For each row of a built PixMMVP or PixCV-Bench and each probe, :func:`run_served` sends one chat request:
the row's image as a base64 JPEG data URL (``image_url`` content part, then the text) and

- ``letter`` / ``vqa``: the published prompt (:func:`pixbench.prompts.render_prompt`: the benchmark's format,
  with the run's ``template`` where it is a question template, and ``family``); the reply is the line's
  ``response``;
- ``segment``: the grounding prompt of the box family (:func:`pixbench.baselines.boxes.box_prompt`, system
  :data:`~pixbench.baselines.boxes.BOX_SYSTEM`: Qwen-VL's ``bbox_2d`` JSON); the reply (the line's
  ``response``) is parsed strictly (:func:`~pixbench.baselines.boxes.read_boxes`) in the family's box
  convention (:data:`~pixbench.baselines.boxes.BOX_CONVENTIONS`, or ``box_format``), each box becomes a
  mask through SAM (:class:`~pixbench.baselines.sam.BoxSegmenter`, ``multimask_output=False``) and the
  line's ``mask`` is their union. A reply without a parsable box gives the empty mask (recorded, never
  guessed); a row without an expression gets the empty mask without a request. PixMMVP and PixCV-Bench
  expressions start with an article ("the square"), which the prompt's own "Locate the" would double: the
  expression's leading "the", "a" or "an" is dropped ("Locate the square, ..."), and the run file records
  it (``box_prompt_expression``); ``keep_article`` sends the published text unchanged ("Locate the the
  square, ..."). Qwen boxes in ``input-pixels`` are read in the server's resized input (``min_pixels`` /
  ``max_pixels``, recorded), the released checkpoints' budget by default.

Every line carries ``variant`` = the template id (when one is given); a reply longer than
:data:`MAX_STORED_RESPONSE` characters is stored cut to that length (the cache keeps it whole). Requests go
through the model's chat client, a :class:`~pixbench.chat.ChatClient` (bounded concurrency, retries with
backoff honouring ``Retry-After``, fail fast on a dead endpoint, replies stored in a SQLite
:class:`~pixbench.chat.ReplyCache` as they arrive).
A request that failed after its retries writes no line (a rerun asks again) and is counted in
:class:`ServedSummary`.

Flow
    ``concurrency`` requests are in flight at all times (workers read rows and encode images while others
    wait on replies); lines are appended in task order, each as soon as every earlier one is done.

Resuming
    A rerun skips the (id, probe) lines already in ``OUT`` and finds
    interrupted replies in the cache. ``OUT.run.json`` records the run's identity: the served model, its
    endpoint (:func:`~pixbench.endpoints.endpoint_identity`: secrets redacted, ``localhost`` and
    ``127.0.0.1`` one server) and every setting (sampling: temperature, max tokens, seed; prompts; box
    convention). ``OUT`` is checked as a whole (:func:`pixbench.runs.start_run`, the engine every producer
    uses) before anything is asked or written, and refused, naming the file, line and reason, when

    - another process is writing it (:func:`~pixbench.runs.exclusive_output`);
    - it holds a line that is not a predictions line, or a line of another model or benchmark (this run
      never counts another's lines as done);
    - it holds lines but no run file (their settings are unknown), or its run file has other settings;
    - its last line has no newline and is not the start of a line of this run.

    Only two repairs are made, both to this run's own lines: a partial last line that starts as this run's
    lines start (an interrupted write; the run file must exist) is cut off, and a complete last line of
    this run without its newline gets one.
"""

from __future__ import annotations

import logging
import queue
import sys
import threading
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pixbench.annotation import rle
from pixbench.baselines.boxes import (
    BOX_CONVENTIONS,
    BOX_SYSTEM,
    QWEN_RELEASED_MAX_PIXELS,
    QWEN_RELEASED_MIN_PIXELS,
    BoxAnswer,
    box_format_for,
    box_prompt,
    read_boxes,
    served_input_size,
    without_leading_article,
)
from pixbench.benchmarks import get_image_benchmark
from pixbench.chat.base import ChatClientProtocol, ChatResult
from pixbench.chat.messages import image_messages
from pixbench.endpoints import endpoint_identity
from pixbench.predictions import Prediction, prediction_to_json
from pixbench.prompts import FAMILIES, UnknownTemplateError, get_template, render_prompt
from pixbench.runs import LineKey, LineWriter, RunError, exclusive_output, run_file, start_run

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
#: Tasks between asked and written, as a multiple of the concurrency (bounds the images held in memory).
WINDOW_FACTOR = 4
#: Without a terminal, a progress line at least this often (seconds).
PROGRESS_SECONDS = 30.0
#: Longest reply a line stores, in characters (the reply cache keeps the whole reply).
MAX_STORED_RESPONSE = 65_536

BoxSegmenterLoader = Callable[[], Any]


class ServedError(RunError):
    """The run cannot go on (settings differ from the existing output, endpoint unreachable, no image)."""


@dataclass(frozen=True)
class ServedConfig:
    """One run. ``model`` is the served model name (sent, and written as every line's ``model``);
    ``endpoint`` the redacted base URL (for the run file); ``segmenter`` names the SAM used (run file).
    ``min_pixels`` / ``max_pixels``: the server's Qwen processor budget, which ``input-pixels`` boxes of a Qwen
    box family are written in (:func:`~pixbench.baselines.boxes.served_input_size`; default: the released
    checkpoints' values). ``keep_article``: send the expression as is in the segment prompt (module
    docstring)."""

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
    min_pixels: int = QWEN_RELEASED_MIN_PIXELS
    max_pixels: int = QWEN_RELEASED_MAX_PIXELS
    keep_article: bool = False
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
        if not 1 <= self.min_pixels <= self.max_pixels:
            raise ValueError(f"Expected 1 <= min_pixels <= max_pixels, but got {self.min_pixels} and {self.max_pixels}")

    @property
    def resolved_box_format(self) -> str:
        return box_format_for(self.box_family, self.box_format)

    def settings(self) -> dict[str, Any]:
        """What ``OUT.run.json`` records; a rerun must match it (``progress`` and ``limit`` excepted)."""
        out = {k: v for k, v in asdict(self).items() if k not in ("out", "progress", "limit")}
        out["probes"] = list(self.probes)
        out["box_format"] = self.resolved_box_format
        out["box_prompt"] = box_prompt("{expression}")
        out["box_prompt_expression"] = "as given" if self.keep_article else "leading article dropped"
        out["endpoint"] = endpoint_identity(self.endpoint)
        return out

    def prompt(self, row: Mapping[str, Any], probe: str) -> str | None:
        """The text sent for ``probe``; None for ``segment`` on a row without an expression."""
        if probe == "segment":
            expression = row.get("expression")
            if not expression:
                return None
            return box_prompt(str(expression) if self.keep_article else without_leading_article(str(expression)))
        template = self.template
        if template is not None and get_template(template).kind != "question":
            template = None
        return render_prompt(row, probe=probe, benchmark=get_image_benchmark(self.benchmark), template=template,
                             family=self.family)


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


def _segment_mask(answer: BoxAnswer, image: np.ndarray, segmenter: Any) -> np.ndarray:
    """The union of SAM's masks of the answer's boxes (batched; the empty mask when there is no box)."""
    from pixbench.baselines.sam import segment_boxes

    return np.asarray(segment_boxes(segmenter, image, [box.as_list() for box in answer.boxes]), dtype=bool)


@dataclass(frozen=True)
class _Task:
    index: int
    row_id: int
    probe: str
    prompt: str | None


def run_served(config: ServedConfig, *, client: ChatClientProtocol | None = None,
               load_segmenter: BoxSegmenterLoader | None = None, dataset: Any = None,
               image_of: Callable[[Mapping[str, Any]], np.ndarray] | None = None,
               report: Callable[[str], None] | None = None,
               judge: ChatClientProtocol | None = None) -> ServedSummary:
    """Ask ``client`` (the served model's chat client, normally a :class:`~pixbench.chat.ChatClient`) every
    planned (row, probe) and append the lines to ``OUT``.

    ``dataset`` defaults to ``pixbench.load(config.data)``; ``image_of(row)`` (default: the row's image as
    RGB) gives the image sent. ``load_segmenter()`` is called once, when the first box must become a mask.
    ``report(text)`` gets a progress line every tenth of the work (for a log; ``config.progress`` draws a
    bar instead). Raises :class:`ServedError` when the endpoint is unreachable (lines written so far are kept).
    ``judge`` is the earlier name of ``client`` (deprecated: it warns).
    """
    client = _the_client(client, judge)
    out = config.out
    out.parent.mkdir(parents=True, exist_ok=True)
    with exclusive_output(out):
        try:
            done = frozenset(start_run(out, producer="pixbench run", model=config.model, benchmark=config.benchmark,
                                       settings=config.settings(),
                                       hint="use another --out, or delete it to start over"))
        except RunError as exc:
            raise ServedError(str(exc)) from None
        if dataset is None:
            from pixbench.loaders.hub import load

            dataset = load(config.data)
        return _ask_and_write(config, done, client=client, load_segmenter=load_segmenter, dataset=dataset,
                              image_of=image_of, report=report)


def _the_client(client: ChatClientProtocol | None, judge: ChatClientProtocol | None) -> ChatClientProtocol:
    """``client``, or the deprecated ``judge=`` keyword's value (with a DeprecationWarning)."""
    if judge is not None:
        if client is not None:
            raise TypeError("run_served() takes the served model as `client`; give `client` only (`judge` is its "
                            "deprecated name)")
        warnings.warn("run_served(judge=...) is deprecated: pass the served model's chat client as client=...",
                      DeprecationWarning, stacklevel=3)
        return judge
    if client is None:
        raise TypeError("run_served() needs `client`, the served model's chat client (e.g. pixbench.chat.ChatClient)")
    return client


@dataclass(frozen=True)
class _Asked:
    """One task after its worker: the image sent, the prompt, and the reply (``None``: nothing to ask)."""

    task: _Task
    image: np.ndarray
    result: ChatResult | None


def _prepare_and_ask(task: _Task, config: ServedConfig, client: ChatClientProtocol, dataset: Any,
                     image_of: Callable[[Mapping[str, Any]], np.ndarray] | None) -> _Asked:
    """A worker's share of one task: read the row, encode the image, ask (blocking on the reply)."""
    row = dataset[task.index]
    image = image_of(row) if image_of is not None else _image_array(row, task.row_id)
    prompt = config.prompt(row, task.probe)
    if prompt is None:  # segment without an expression: the empty mask, nothing to ask
        return _Asked(task, image, None)
    system = BOX_SYSTEM if task.probe == "segment" else None
    messages = image_messages(image, prompt, system=system, jpeg_quality=config.jpeg_quality)
    return _Asked(_Task(task.index, task.row_id, task.probe, prompt), image, client.ask_many([messages])[0])


class _Progress:
    """Progress of a run: a tqdm bar on a terminal, else a line to ``report`` every tenth of the work (at
    least 10 requests apart), at least every :data:`PROGRESS_SECONDS`, and at the end."""

    def __init__(self, total: int, config: ServedConfig, report: Callable[[str], None] | None) -> None:
        from tqdm import tqdm

        self.total, self.done, self.report = total, 0, report
        self.bar = tqdm(total=total, desc=f"run {config.model}", unit="req", file=sys.stderr,
                        disable=not config.progress)
        self.step = max(10, -(-total // 10))
        self.last = time.monotonic()

    def update(self, summary: ServedSummary) -> None:
        self.done += 1
        self.bar.update(1)
        now = time.monotonic()
        if self.report is not None and (self.done % self.step == 0 or self.done == self.total
                                        or now - self.last >= PROGRESS_SECONDS):
            self.last = now
            self.report(f"{self.done}/{self.total} request(s) done ({self.done / self.total:.0%}): "
                        f"{summary.written} line(s) written, {summary.cached} from the cache, {summary.failed} failed")

    def close(self) -> None:
        self.bar.close()


def _ask_and_write(config: ServedConfig, done: frozenset[LineKey], *, client: ChatClientProtocol,
                   load_segmenter: BoxSegmenterLoader | None, dataset: Any,
                   image_of: Callable[[Mapping[str, Any]], np.ndarray] | None,
                   report: Callable[[str], None] | None = None) -> ServedSummary:
    """Keep ``concurrency`` requests in flight until every task is asked; write the lines in task order.

    ``concurrency`` daemon workers each take the next task, read its row, encode its image and ask; the
    calling thread turns replies into lines (SAM runs here, one image at a time) and appends them in task
    order as soon as every earlier task is done. At most :data:`WINDOW_FACTOR` x ``concurrency`` tasks are
    between asked and written, which bounds the images held in memory.
    """
    ids = [int(i) for i in dataset["id"]]
    if config.limit is not None:
        ids = ids[:config.limit]
    summary = ServedSummary()
    tasks: list[_Task] = []
    for index, row_id in enumerate(ids):
        for probe in config.probes:
            if (config.model, config.benchmark, row_id, probe, config.template, None) in done:
                summary.skipped += 1
            else:
                tasks.append(_Task(index, row_id, probe, None))
    inbox: queue.SimpleQueue[int | None] = queue.SimpleQueue()
    outcomes: queue.SimpleQueue[tuple[int, _Asked | BaseException]] = queue.SimpleQueue()

    def worker() -> None:
        while (position := inbox.get()) is not None:
            try:
                outcome: _Asked | BaseException = _prepare_and_ask(tasks[position], config, client, dataset, image_of)
            except BaseException as exc:  # reported by the calling thread
                outcome = exc
            outcomes.put((position, outcome))

    workers = min(config.concurrency, len(tasks))
    for number in range(workers):  # daemons: Ctrl-C never waits for a request in flight
        threading.Thread(target=worker, name=f"run-{number}", daemon=True).start()
    window = WINDOW_FACTOR * config.concurrency
    maker = _LineMaker(config, load_segmenter, summary)
    progress = _Progress(len(tasks), config, report)
    submitted = written = 0
    finished: dict[int, _Asked] = {}
    try:
        with LineWriter(config.out) as lines:
            while written < len(tasks):
                while submitted < len(tasks) and submitted - written < window:
                    inbox.put(submitted)
                    submitted += 1
                position, outcome = outcomes.get()
                if isinstance(outcome, BaseException):
                    raise outcome
                finished[position] = outcome
                while written in finished:
                    maker.write(finished.pop(written), lines)
                    written += 1
                    progress.update(summary)
    finally:
        for _ in range(workers):
            inbox.put(None)
        progress.close()
    unreachable = getattr(client, "unreachable", None)
    if isinstance(unreachable, str) and unreachable:
        raise ServedError(f"{unreachable}; {summary.written} line(s) written, replies received are cached: "
                          "rerun to resume")
    return summary


class _LineMaker:
    """Turns an asked task into its line (boxes to a SAM mask for ``segment``) and appends it."""

    def __init__(self, config: ServedConfig, load_segmenter: BoxSegmenterLoader | None,
                 summary: ServedSummary) -> None:
        self.config, self.load_segmenter, self.summary = config, load_segmenter, summary
        self.box_format = config.resolved_box_format
        self.segmenter: Any = None

    def line(self, asked: _Asked) -> Prediction | None:
        config, summary, task, result = self.config, self.summary, asked.task, asked.result
        if result is None:  # nothing was asked: a segment probe without an expression
            return Prediction(benchmark=config.benchmark, id=task.row_id, probe=task.probe, model=config.model,
                              mask=rle.empty(*asked.image.shape[:2]), has_mask=True, variant=config.template)
        if not result.ok or result.text is None:
            summary.failed += 1
            summary.errors.append(f"row {task.row_id} {task.probe}: {result.error}")
            return None
        summary.cached += int(result.cached)
        summary.asked += int(not result.cached)
        mask = None
        if task.probe == "segment":
            height, width = asked.image.shape[:2]
            answer = read_boxes(result.text, frame_index=0, box_format=self.box_format,  # type: ignore[arg-type]
                                frame_size=(height, width),
                                input_size=served_input_size(config.box_family, self.box_format, height, width,
                                                             min_pixels=config.min_pixels,
                                                             max_pixels=config.max_pixels))
            if not answer.boxes:
                summary.without_box += 1
            elif self.segmenter is None:
                if self.load_segmenter is None:
                    raise ServedError("the segment probe needs SAM: give a segment-anything checkpoint or a "
                                      "transformers SAM")
                self.segmenter = self.load_segmenter()
            mask = rle.encode(_segment_mask(answer, asked.image, self.segmenter))
        return Prediction(benchmark=config.benchmark, id=task.row_id, probe=task.probe, model=config.model,
                          prompt=task.prompt, response=_stored_response(result.text, task, summary), mask=mask,
                          has_mask=mask is not None, variant=config.template)

    def write(self, asked: _Asked, lines: LineWriter) -> None:
        line = self.line(asked)
        if line is not None:
            lines.write(prediction_to_json(line))
            self.summary.written += 1


def known_box_families() -> Sequence[str]:
    """The box families of :data:`~pixbench.baselines.boxes.BOX_CONVENTIONS`."""
    return tuple(BOX_CONVENTIONS)
