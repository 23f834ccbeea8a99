"""What a result covers: how many rows were scored of how many, and under which protocol (a report's first line).

One :class:`Coverage` per result, read from the result alone:

- a result whose ``analysis`` holds a ``protocol`` stamp (MeViS, :mod:`pixbench.benchmarks.mevis.protocols`:
  ``name``, ``expressions``, ``scored``, ``dropped``, ``missing``, ``frame_rule``, ``fps``) reports the stamp:
  the rows of the version (``total``), those in the mean (``scored``; rows without a line are ``dropped`` from
  it under a protocol that drops them, or ``missing``: counted, as wrong, under one that does not) and the frame
  rule (native frames, or re-sampled at ``fps``);
- any other result counts every row of its benchmark (``counts``: ``rows`` or ``expressions``) as scored, under
  the report's ``--protocol`` (``official``), rows without a line counted as wrong (``missing``: per probe for
  image lines, where a row may lack a line of one probe and not another), with no frame rule to state.

The rows are named by the benchmark (:attr:`~pixbench.benchmarks.base.Benchmark.row_noun`: questions,
expressions). :func:`first_line` joins the coverages of a report's results into one line, a part per benchmark
and result group (probe, layout), shared by the models that agree and split by model where they differ:

    pixmmvp: 300 of 300 questions scored, official protocol
    mevis v1: 781 of 793 expressions scored, lmms-eval protocol, frames re-sampled at 6 fps (12 without a line
    dropped from the mean)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pixbench.benchmarks import REGISTRY
from pixbench.results import ScoreResult

__all__ = ["Coverage", "coverage", "first_line"]


@dataclass(frozen=True)
class Coverage:
    """What one result covers.

    Attributes:
        model: the result's label (model, and prompt variant when set).
        benchmark: the benchmark's name.
        groups: the values of the result's groups that are set (a probe, a layout; none for a result per model).
        scored: rows in the result's means.
        total: rows of the benchmark (of the version, for a versioned benchmark).
        noun: what a row is called (``questions``, ``expressions``).
        protocol: the scoring protocol (``official``, ``lmms-eval``).
        frames: the frame rule (``native frames``, ``frames re-sampled at 6 fps``; ``None``: none to state).
        fps: the re-sampling rate (``None``: native frames or no frames).
        dropped: rows without a line left out of the means.
        missing: rows without a line counted as wrong, in total (``missing_by_probe`` per probe where known).
    """

    model: str
    benchmark: str
    groups: tuple[str, ...]
    scored: int
    total: int
    noun: str
    protocol: str
    frames: str | None = None
    fps: float | None = None
    dropped: int = 0
    missing: int = 0
    missing_by_probe: Mapping[str, int] | None = None

    @property
    def where(self) -> str:
        """``benchmark`` and the result's groups: ``mevis v1``."""
        return " ".join((self.benchmark, *self.groups))

    def text(self) -> str:
        """``pixmmvp: 300 of 300 questions scored, official protocol`` (and the lines missing or dropped)."""
        text = f"{self.where}: {self.scored} of {self.total} {self.noun} scored, {self.protocol} protocol"
        if self.frames:
            text += f", {self.frames}"
        if self.dropped:
            text += f" ({self.dropped} without a line dropped from the mean)"
        if self.missing_by_probe:
            shown = ", ".join(f"{probe} {count}" for probe, count in self.missing_by_probe.items())
            text += f" (without a line, scored as wrong: {shown})"
        elif self.missing:
            text += f" ({self.missing} without a line, scored as wrong)"
        return text

    def to_json(self) -> dict[str, Any]:
        return {"model": self.model, "benchmark": self.benchmark, "groups": list(self.groups), "scored": self.scored,
                "total": self.total, "unit": self.noun, "protocol": self.protocol, "frames": self.frames,
                "fps": self.fps, "dropped": self.dropped, "missing": self.missing,
                **({"missing_by_probe": dict(self.missing_by_probe)} if self.missing_by_probe else {})}


def _rows_and_missing(result: ScoreResult) -> tuple[int, int, dict[str, int] | None]:
    """Rows counted by the result's counts, rows without a line, and those per probe (image lines)."""
    counted = result.counts.to_json()
    total = int(counted.get("rows", counted.get("expressions", 0)))
    missing = counted.get("missing", 0)
    if isinstance(missing, Mapping):
        by_probe = {str(probe): int(count) for probe, count in missing.items() if count}
        return total, sum(by_probe.values()), by_probe or None
    return total, int(missing or 0), None


def coverage(result: ScoreResult, settings: Mapping[str, Any]) -> Coverage:
    """What ``result`` covers (``settings``: the report's settings, for the protocol of results without a stamp)."""
    benchmark = REGISTRY.get(result.benchmark)
    noun = benchmark.row_noun if benchmark is not None else "rows"
    groups = tuple(value for value in result.named_groups.values() if value)
    stamp = result.analysis.get("protocol")
    if isinstance(stamp, Mapping) and "scored" in stamp and "expressions" in stamp:
        fps = stamp.get("fps")
        frames = (f"frames re-sampled at {fps:g} fps" if isinstance(fps, (int, float))
                  else "native frames" if stamp.get("frame_rule") == "native" else None)
        return Coverage(result.label, result.benchmark, groups, int(stamp["scored"]), int(stamp["expressions"]), noun,
                        str(stamp.get("name", settings.get("protocol", "official"))), frames,
                        float(fps) if isinstance(fps, (int, float)) else None, int(stamp.get("dropped") or 0),
                        int(stamp.get("missing") or 0))
    total, missing, by_probe = _rows_and_missing(result)
    return Coverage(result.label, result.benchmark, groups, total, total, noun,
                    str(settings.get("protocol", "official")), missing=missing, missing_by_probe=by_probe)


def first_line(results: Sequence[ScoreResult], settings: Mapping[str, Any]) -> str:
    """The report's first line: every result's coverage, a part per benchmark and group; models that agree share
    a part, models that differ get one each (their names in brackets)."""
    if not results:
        return "no results scored"
    texts: dict[tuple[str, ...], dict[str, list[str]]] = {}
    for result in results:
        covered = coverage(result, settings)
        texts.setdefault((covered.benchmark, *covered.groups), {}).setdefault(covered.text(), []).append(covered.model)
    parts = []
    for by_text in texts.values():
        for text, models in by_text.items():
            parts.append(text if len(by_text) == 1 else f"{text} [{', '.join(dict.fromkeys(models))}]")
    return "; ".join(parts)
