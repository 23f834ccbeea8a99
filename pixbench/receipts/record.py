"""Making a receipt of a score run, and verifying one by scoring again.

:func:`make_receipt` writes down a scored :class:`~pixbench.score_files.ScoreRequest`: the fingerprints of its files,
its settings, the judge and the verdicts a :class:`~pixbench.receipts.judges.VerdictRecorder` kept, the report and
the per-sample digest. :func:`verify` re-scores what a receipt names (or the files given instead) with the
receipt's settings and its verdicts as the judge (:class:`~pixbench.receipts.judges.ReceiptJudge`: no network, no
cache), makes the receipt of that run and compares the two (:func:`~pixbench.receipts.compare.compare_receipts`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pixbench.benchmarks import REGISTRY
from pixbench.predictions import ReadOptions
from pixbench.receipts.compare import Difference, compare_receipts
from pixbench.receipts.files import data_fingerprint, find_file, predictions_fingerprint
from pixbench.receipts.format import (
    JudgeRecord,
    Receipt,
    ReceiptError,
    ReceiptSettings,
    judge_prompt_digest,
    per_sample_digest,
    public_base_url,
)
from pixbench.receipts.judges import MISSING, ReceiptJudge, VerdictRecorder
from pixbench.score_files import Evaluation, JudgeChoice, ScoreRequest, report_of, score_request
from pixbench.score_report import Report
from pixbench.version import __version__

__all__ = ["Verification", "make_receipt", "recording", "verify"]

logger = logging.getLogger(__name__)

#: The parts of a report a receipt records elsewhere (the version, the data's fingerprints, the judge).
_RECORDED_ELSEWHERE = ("pixbench_version", "datasets", "judge")


def recording(judge: JudgeChoice) -> JudgeChoice:
    """``judge`` with its judge wrapped in a :class:`~pixbench.receipts.judges.VerdictRecorder` (none: as it is)."""
    if judge.judge is None or isinstance(judge.judge, VerdictRecorder):
        return judge
    return JudgeChoice(VerdictRecorder(judge.judge), judge.reason, judge.cache_path)


def make_receipt(request: ScoreRequest, run: Evaluation, report: Report, judge: JudgeChoice, *,
                 base_url: str | None = None) -> Receipt:
    """The receipt of a scored request: ``run`` and its ``report``, scored with ``judge`` (its judge a
    :class:`~pixbench.receipts.judges.VerdictRecorder`, see :func:`recording`, unless there was none) whose
    base URL was ``base_url`` (as given; its secrets are removed; default: the judge's endpoint)."""
    data = {name: data_fingerprint(name, reference, request.data.get(name) or REGISTRY[name].hub_id)
            for name, reference in sorted(run.references.items())}
    settings = ReceiptSettings(score=request.settings, allow_unknown_fields=request.options.allow_unknown_fields,
                               allow_outside_paths=request.options.allow_outside_paths, strict=request.strict,
                               intervals=request.intervals)
    chosen = judge.judge
    if chosen is None:
        record = JudgeRecord(enabled=False, reason=judge.reason)
    else:
        if not isinstance(chosen, VerdictRecorder):
            raise ValueError("Expected the judge of a receipt's run to be a VerdictRecorder (see recording()), but "
                             f"got {type(chosen).__name__}")
        record = JudgeRecord(enabled=True, model=chosen.model, base_url=public_base_url(base_url or chosen.endpoint),
                             temperature=float(chosen.temperature), protocol=chosen.protocol,
                             prompt_sha256=judge_prompt_digest(), verdicts=dict(chosen.verdicts))
    records, digest = per_sample_digest(run.per_sample)
    document = {key: value for key, value in report.to_json().items() if key not in _RECORDED_ELSEWHERE}
    return Receipt(pixbench_version=__version__, data=data,
                   predictions=tuple(predictions_fingerprint(path) for path in request.predictions),
                   settings=settings, judge=record, report=document, per_sample_records=records,
                   per_sample_sha256=digest)


@dataclass
class Verification:
    """What verifying a receipt found: the re-scoring ``run`` (its problems and errors, if any, mean nothing could
    be compared), the items whose verdict the receipt lacks (``missing``), and every difference."""

    run: Evaluation
    missing: list[str] = field(default_factory=list)
    differences: list[Difference] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        """True when the receipt could not be checked (the files could not be scored, or verdicts are missing)."""
        return bool(self.run.problems or self.run.errors or self.missing)

    @property
    def identical(self) -> bool:
        return not self.failed and not self.differences


def _request(receipt: Receipt, where: Path, predictions: Sequence[str] | None,
             data: Mapping[str, str] | None) -> ScoreRequest:
    """The request a receipt names: its files (or ``predictions``, ``data`` instead), its settings."""
    paths = list(predictions) if predictions else [find_file(entry.path, where) for entry in receipt.predictions]
    for path in paths:
        if not Path(path).is_file():
            named = "" if predictions else f" (named by {where}; give the files after the receipt instead)"
            raise ReceiptError(f"{path}: predictions file not found{named}")
    sources: dict[str, str] = {}
    revisions: dict[str, str] = {}
    for name, fingerprint in receipt.data.items():
        if data and name in data:
            sources[name] = data[name]
        elif fingerprint.hub_id is not None:
            sources[name] = fingerprint.hub_id
            if fingerprint.revision not in (None, "unknown"):
                revisions[name] = str(fingerprint.revision)
        else:
            sources[name] = find_file(fingerprint.source, where)
    sources.update({name: value for name, value in (data or {}).items() if name not in sources})
    settings = receipt.settings
    return ScoreRequest(predictions=tuple(paths), data=sources, settings=settings.score,
                        options=ReadOptions(allow_unknown_fields=settings.allow_unknown_fields,
                                            allow_outside_paths=settings.allow_outside_paths),
                        strict=settings.strict, intervals=settings.intervals, revisions=revisions)


def _missing_items(run: Evaluation, judge: ReceiptJudge) -> list[str]:
    """The items whose verdict the receipt lacks: per-sample records by model, benchmark, id and probe, other
    requests (an analysis's) by their key and the start of their prompt."""
    items, named = [], set()
    for record in run.per_sample:
        error = record.get("judge_error") or ""
        if error.startswith(MISSING):
            key = error.rpartition("key ")[2].rstrip(")")
            named.add(key)
            items.append(f"{record['model']} / {record['benchmark']} / id {record['id']} / {record['probe']}"
                         f"{' [' + record['variant'] + ']' if record.get('variant') else ''} (key {key[:16]})")
    for key, messages in judge.missing.items():
        if key not in named:
            content = messages[-1].get("content")
            text = content if isinstance(content, str) else str((content or [{}])[0].get("text", ""))
            items.append(f"a request of an analysis (key {key[:16]}): {' '.join(text.split())[:100]!r}")
    return items


def verify(receipt: Receipt, where: Path, *, predictions: Sequence[str] | None = None,
           data: Mapping[str, str] | None = None, progress: bool = False, workers: int = 1) -> Verification:
    """Score what the receipt read from ``where`` names again (``predictions`` and ``data`` instead of its files
    when given) under its settings, its verdicts as the judge, and compare. :class:`ReceiptError` naming the file
    when a predictions file is missing."""
    request = _request(receipt, where, predictions, data)
    replay = None
    if receipt.judge.enabled:
        replay = ReceiptJudge(model=str(receipt.judge.model), endpoint=receipt.judge.base_url or "receipt://",
                              temperature=float(receipt.judge.temperature or 0.0),
                              protocol=str(receipt.judge.protocol), verdicts=receipt.judge.verdicts)
        judge = JudgeChoice(VerdictRecorder(replay))
    else:
        judge = JudgeChoice(None, receipt.judge.reason)
    run = score_request(request, judge, progress=progress, workers=workers)
    verification = Verification(run)
    if run.problems or run.errors:
        return verification
    if replay is not None:
        verification.missing = _missing_items(run, replay)
    remade = make_receipt(request, run, report_of(run, request.settings, judge), judge,
                          base_url=receipt.judge.base_url)
    verification.differences = compare_receipts(receipt, remade)
    logger.info("verified %s: %d difference(s), %d verdict(s) missing", where, len(verification.differences),
                len(verification.missing))
    return verification
