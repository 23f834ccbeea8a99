"""lmms-eval's ``--log_samples`` files as harness rows (``pixbench convert --from lmms-eval``).

lmms-eval runs the MMVP and CV-Bench multiple-choice questions with an option-letter instruction, so its
answers become ``letter`` probe lines (``response`` = the harness's raw model output). Rows map **by the
benchmark's ids, never by position** (:func:`pixbench.ingest.mapping.map_rows`).

Files: ``samples_*.jsonl``, one JSON object per line (read with :func:`pixbench.jsonl.iter_json_lines`); a
``.json`` array of those objects, or an object with them under ``logs`` as older versions wrote, is read too.
Each line is read in the layout it has (a file may mix them; a line that fits neither is ``malformed``, with
its line number):

- *current* (the writer of lmms-eval 0.4 and later, ``loggers/evaluation_tracker.py``: no ``doc``, no
  ``arguments``): ``doc_id``, ``target``, ``input`` (the prompt text the model got), ``filtered_resps`` (and
  ``resps`` when it differs), ``doc_hash``, ... and the task's metric dicts, which carry the id
  (:data:`LMMS_METRICS`):

  - task ``mmvp``: ``mmvp_accuracy`` (and ``mmvp_pair_accuracy``) = ``{"index": Index - 1, "pair_index",
    "pred", "gt", ...}``; row id = ``index + 1`` (a run on the image-only ``MMVP/MMVP`` logs ``index`` -1 and
    cannot be mapped).
  - tasks ``cv_bench``, ``cv_bench_2d``, ``cv_bench_3d``: ``cv_bench_acc`` = ``{"id": idx, "type", "task",
    "source", "pred", ...}``; row id = ``id``; ``type`` 3D or ``source`` Omni3D rows are skipped (PixCV-Bench
    holds CV-Bench's 2D questions).

  The benchmark comes from those keys. With the dataset, the dataset row's question must appear in ``input``
  (case and spacing ignored), which catches a wrong id; ``input`` goes to ``prompt``.
- *legacy* (with ``doc``, the dataset row minus image columns; before 0.4): ``doc_id`` (position in the task's
  dataset; only named in messages), ``doc``, ``filtered_resps`` (else ``resps``) and ``arguments`` (its first
  string, the prompt, goes to ``prompt``; else ``input``). The id field of ``doc`` names the task
  (:data:`LMMS_DOCS`):

  - task ``mmvp`` (dataset ``lmms-lab-eval/MMVP``): ``doc`` = ``Index`` (1..300), ``Question``, ``Options``,
    ``Correct Answer``; row id = ``Index`` (PixMMVP ids are MMVP's). Runs on the image-only ``MMVP/MMVP`` log an
    empty ``doc`` and cannot be mapped.
  - tasks ``cv_bench``, ``cv_bench_2d``, ``cv_bench_3d`` (``nyu-visionx/CV-Bench``): ``doc`` = ``idx``, ``type``
    (``2D``/``3D``), ``task``, ``question``, ``choices``, ``prompt``, ``source``, ...; row id = ``idx``. 3D rows
    (``type`` 3D or ``source`` Omni3D) are not part of PixCV-Bench: they are *skipped* and listed, not errors.

In both, ``filtered_resps`` holds one entry per request, a string or a one-element list holding it.

The tasks' facts (metric keys, id fields and offsets, doc layouts and the order they are tried in, which rows a
benchmark does not hold) are declared by the benchmarks (``harnesses.lmms_eval``,
:mod:`pixbench.benchmarks.harnesses`) and read when a file is (:func:`lmms_tables`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pixbench.benchmarks.harnesses import LmmsDoc, LmmsMetric, SkippedRows
from pixbench.ingest.common import image_benchmarks
from pixbench.ingest.mapping import BridgeError, SourceRow, SourceTable, as_int, existing_file
from pixbench.jsonl import JsonLinesError, iter_json_lines
from pixbench.problems import shorten

__all__ = ["LMMS_DOCS", "LMMS_METRICS", "LmmsDoc", "LmmsMetric", "LmmsTables", "lmms_tables", "read_lmms_eval"]


@dataclass(frozen=True)
class LmmsTables:
    """lmms-eval's facts of every benchmark that declares them (``harnesses.lmms_eval``), as the reader uses them.

    ``metrics``: metric key -> ``(benchmark, metric)``, in the registry's order, each benchmark's in its own;
    ``docs``: ``(benchmark, layout)`` in the order they are tried (``priority``, lowest first: the first whose id
    field the doc has wins); ``named_metrics`` and ``no_doc_id``: what the messages say was looked for;
    ``skipped``: benchmark -> the rows of its tasks that it does not hold.
    """

    metrics: dict[str, tuple[str, LmmsMetric]]
    docs: tuple[tuple[str, LmmsDoc], ...]
    named_metrics: str
    no_doc_id: str
    skipped: dict[str, SkippedRows]

    def marks(self, benchmark: str, values: dict[str, Any]) -> dict[str, Any]:
        """The fields of ``values`` (a doc or metric dict of a ``benchmark`` row) that its rule reads."""
        rule = self.skipped.get(benchmark)
        return {} if rule is None else {name: values[name] for name in rule.values if name in values}

    @property
    def detection_hint(self) -> str:
        return f"no line has a `doc`, nor an {self.named_metrics} metric dict"


def lmms_tables() -> LmmsTables:
    """The :class:`LmmsTables` of the registry's benchmarks (read when a file is)."""
    tasks = [(b.name, lmms) for b in image_benchmarks() if (lmms := b.harnesses.lmms_eval) is not None]
    metrics = {metric.key: (name, metric) for name, task in tasks for metric in task.metrics}
    docs = tuple(sorted(((name, doc) for name, task in tasks for doc in task.docs), key=lambda e: e[1].priority))
    named = " or ".join(f"`{task.metrics[0].key}`" for _, task in tasks if task.metrics)
    why = "; ".join(task.missing_id for _, task in tasks if task.missing_id)
    no_doc_id = ("`doc` holds neither " + " nor ".join(f"{task.dataset}'s `{task.docs[0].id_field}`"
                                                       for _, task in tasks if task.docs)
                 + (f" ({why})" if why else ""))
    skipped = {name: task.skipped for name, task in tasks if task.skipped is not None}
    return LmmsTables(metrics, docs, named, no_doc_id, skipped)


_TABLES = lmms_tables()
#: The metric dicts of a current (0.4+) sample line that carry the id, by key: ``(benchmark, metric)`` (facts of
#: lmms-eval's tasks, declared by the benchmarks; as the registry held them at import).
LMMS_METRICS: dict[str, tuple[str, LmmsMetric]] = _TABLES.metrics
#: The legacy ``doc`` layouts, ``(benchmark, layout)`` in the order they are tried (the first whose id field the
#: doc has wins; as the registry held them at import).
LMMS_DOCS: tuple[tuple[str, LmmsDoc], ...] = _TABLES.docs


def _lmms_response(obj: dict[str, Any]) -> tuple[str | None, tuple[str, str] | None]:
    """The model's text of a sample: ``filtered_resps`` (else ``resps``) unwrapped to one string."""
    name = "filtered_resps" if "filtered_resps" in obj else "resps"
    value = obj.get(name)
    while isinstance(value, list) and len(value) == 1:
        value = value[0]
    if isinstance(value, str):
        return value, None
    if value is None or value == []:
        return None, ("no-prediction", f"`{name}` holds no response")
    if isinstance(value, list):
        return None, ("malformed", f"`{name}` holds {len(value)} responses for one doc; expected one")
    return None, ("malformed", f"`{name}` must hold a string, but holds {type(value).__name__}")


def _plain(value: Any) -> str:
    """A short value as written (an int, a short string), anything else quoted and bounded."""
    if isinstance(value, int) or (isinstance(value, str) and len(value) <= 60):
        return str(value)
    return shorten(value)


def _lmms_row(number: int, obj: Any, tables: LmmsTables) -> SourceRow:
    """A sample line in whichever layout it has: legacy (with ``doc``) or current (metric dicts, ``input``)."""
    if not isinstance(obj, dict):
        return SourceRow(number, "sample", problem=("malformed", f"expected a JSON object, got {type(obj).__name__}"))
    key = f"doc_id {_plain(obj['doc_id'])}" if "doc_id" in obj else "sample"
    if "doc" in obj:
        return _lmms_legacy_row(number, key, obj, tables)
    metrics = [name for name in tables.metrics if name in obj]
    if metrics:
        return _lmms_current_row(number, key, obj, metrics, tables)
    keys = ", ".join(k if len(k) <= 40 else k[:37] + "..." for k in sorted(map(str, obj))[:12]) or "none"
    return SourceRow(number, key, problem=(
        "malformed", "fits neither lmms-eval sample layout: no `doc` (the legacy writer's dataset row) and no "
                     f"{tables.named_metrics} metric dict (the current writer's); its keys: {keys}"))


def _lmms_prompt(obj: dict[str, Any]) -> str | None:
    """The prompt of a sample: the first string of ``arguments`` (legacy), else ``input``."""
    arguments = obj.get("arguments")
    if isinstance(arguments, list):
        found = next((a for a in arguments if isinstance(a, str)), None)
        if found is not None:
            return found
    value = obj.get("input")
    return value if isinstance(value, str) else None


def _lmms_legacy_row(number: int, key: str, obj: dict[str, Any], tables: LmmsTables) -> SourceRow:
    doc = obj.get("doc")
    if not isinstance(doc, dict):
        return SourceRow(number, key, problem=("malformed", "`doc` must be the dataset row (a JSON object), "
                                                            f"but is {type(doc).__name__}"))
    response, problem = _lmms_response(obj)
    prompt = _lmms_prompt(obj)
    benchmark, layout = next(((b, layout) for b, layout in tables.docs if layout.id_field in doc), (None, None))
    if benchmark is None or layout is None:
        return SourceRow(number, key, response=response, prompt=prompt, problem=("malformed", tables.no_doc_id))
    name = layout.id_field
    question = next((doc[f] for f in layout.question_fields if f in doc), None)
    value = as_int(doc[name])
    key = f"{key} ({name} {shorten(doc[name])})"
    if value is None:
        problem = ("malformed", f"`doc.{name}` must be an int, but got {shorten(doc[name])}")
    return SourceRow(number, key, benchmark, value, response, prompt,
                     question if isinstance(question, str) else None, problem, marks=tables.marks(benchmark, doc))


def _lmms_current_row(number: int, key: str, obj: dict[str, Any], metrics: list[str],
                      tables: LmmsTables) -> SourceRow:
    """A line of lmms-eval 0.4+'s writer: the id is in the task's metric dict, the prompt text in ``input``."""
    response, problem = _lmms_response(obj)
    prompt = _lmms_prompt(obj)
    benchmarks = {tables.metrics[name][0] for name in metrics}
    if len(benchmarks) > 1:
        return SourceRow(number, key, response=response, prompt=prompt, problem=(
            "malformed", f"holds the metric dicts of both tasks ({', '.join(f'`{m}`' for m in metrics)})"))
    metric = metrics[0]
    benchmark, spec = tables.metrics[metric]
    field_name = spec.id_field
    values = obj[metric]
    where = f"`{metric}.{field_name}`"
    if not isinstance(values, dict):
        return SourceRow(number, key, benchmark, response=response, prompt=prompt, problem=(
            "malformed", f"`{metric}` must be the task's per-sample dict (with `{field_name}`), "
                         f"but is {type(values).__name__}"))
    if field_name not in values:
        return SourceRow(number, key, benchmark, response=response, prompt=prompt,
                         problem=("malformed", f"`{metric}` has no `{field_name}` (the row id)"))
    raw = values[field_name]
    value = as_int(raw)
    key = f"{key} ({metric}.{field_name} {shorten(raw)})"
    if value is None:
        problem = ("malformed", f"{where} must be an int, but got {shorten(raw)}")
    else:
        if value < 0 and spec.negative_id is not None:
            problem = ("malformed", f"{where} is {value}: {spec.negative_id}")
        value += spec.id_offset
    context = obj.get("input")
    return SourceRow(number, key, benchmark, value, response, prompt, None, problem,
                     context if isinstance(context, str) else None, marks=tables.marks(benchmark, values))


def _samples(path: Path) -> Iterator[tuple[int, Any, str | None]]:
    """``(line or entry number, object, None)`` of a samples file, or ``(number, None, why)`` for a line that
    cannot be read; :class:`BridgeError` when the file as a whole cannot be."""
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise BridgeError(f"{path}: invalid JSON: {exc.msg} (line {exc.lineno})") from None
        except UnicodeDecodeError as exc:
            raise BridgeError(f"{path}: not UTF-8 text (byte {exc.start + 1})") from None
        if isinstance(data, dict) and isinstance(data.get("logs"), list):
            data = data["logs"]
        if not isinstance(data, list):
            raise BridgeError(f"{path}: expected a list of samples (or an object with `logs`), "
                              f"but got {type(data).__name__}")
        for number, obj in enumerate(data, start=1):
            yield number, obj, None
        return
    try:
        for line in iter_json_lines(path):
            yield line.number, line.value, line.error
    except JsonLinesError as exc:
        raise BridgeError(f"{path}: {exc}") from None


def read_lmms_eval(path: str | Path) -> SourceTable:
    """The samples of an lmms-eval ``--log_samples`` file (``.jsonl``, or ``.json``)."""
    path = existing_file(path)
    tables = lmms_tables()
    rows = [SourceRow(n, "line", problem=("malformed", error)) if error is not None else _lmms_row(n, obj, tables)
            for n, obj, error in _samples(path)]
    benchmark = next((r.benchmark for r in rows if r.benchmark is not None), None)
    return SourceTable("lmms-eval", path, rows, benchmark, detection_hint=tables.detection_hint,
                       skipped=tables.skipped)
