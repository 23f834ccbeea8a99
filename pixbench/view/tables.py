"""The index page's tables, from the report's own results (the numbers `pixbench score` prints).

- **Results**: per benchmark and table shape, one row per result: the fields that name it (model, variant,
  selection mode or probe and layout), each of the benchmark's report columns (one decimal, with the interval
  when asked for) and the missing lines. Every number keeps its exact reported value (the report's JSON,
  rounded to 6 decimals) for sorting and for checks.
- **Leaderboard**: per benchmark, the models ranked by its headline metric (``--rank-by`` another), with the
  rows of the paper's table (:meth:`~pixbench.benchmarks.base.Benchmark.published_rows`) beside them, marked
  as published; ranks count measured models only.
- **Summary**: per benchmark that declares one (:attr:`~pixbench.benchmarks.base.Benchmark.summary_columns`,
  MoCentric-Bench's motion reliance), one row per model with a one-line reading of each column.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pixbench.benchmarks import REGISTRY, Benchmark
from pixbench.results import ScoreResult
from pixbench.score_report import DIGITS, Report, TableShape, cell_text, shape_of


@dataclass(frozen=True)
class Cell:
    """One table cell: its text and, for a number, the exact reported value (``None``: not measured)."""

    text: str
    value: float | None = None
    numeric: bool = False


@dataclass(frozen=True)
class Table:
    """A table of the index: a caption, header cells, the header's alignment (``label`` columns left) and rows
    (``published`` rows marked)."""

    caption: str
    headers: tuple[str, ...]
    label_columns: int
    rows: tuple[tuple[Cell, ...], ...]
    published: tuple[bool, ...] = ()
    readings: tuple[str, ...] = ()
    key: str = ""
    ranked_by: str = ""


@dataclass(frozen=True)
class BenchmarkTables:
    """Everything the index shows for one benchmark."""

    name: str
    display_name: str
    results: tuple[Table, ...]
    leaderboard: Table | None = None
    summary: Table | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)


def _number(value: Any) -> float | None:
    return None if value is None else round(float(value), DIGITS)


def _metric_cell(result: ScoreResult, key: str) -> Cell:
    value = result.metrics.get(key)
    interval = result.ci.to_json(digits=DIGITS)["metrics"].get(key) if result.ci is not None else None
    return Cell(cell_text(value, interval), _number(value), numeric=True)


def results_table(benchmark: Benchmark | None, shape: TableShape, results: Sequence[ScoreResult],
                  caption: str) -> Table:
    """One result per row, as `pixbench score`'s table prints it."""
    headers = ("model", "variant", *(header for _, header in shape.labels), *(h for _, h in shape.columns),
               "missing")
    rows = []
    for result in results:
        labels = [Cell(result.model), Cell(result.variant or "-")]
        labels += [Cell(str(getattr(result, name) or "-")) for name, _ in shape.labels]
        metrics = [_metric_cell(result, key) for key, _ in shape.columns]
        missing = result.counts.total_missing
        rows.append((*labels, *metrics, Cell(str(missing), float(missing), numeric=True)))
    key = benchmark.name if benchmark is not None else caption
    return Table(caption, headers, 2 + len(shape.labels), tuple(rows), key=f"results-{key}")


def leaderboard(benchmark: Benchmark, results: Sequence[ScoreResult], rank_by: str | None) -> Table | None:
    """The models ranked by ``rank_by`` (default: the benchmark's headline), the published rows beside them."""
    metric = rank_by if rank_by in {key for key, _ in benchmark.report_columns} else benchmark.headline
    ranked = list(results)
    if benchmark.summary_columns:  # results per probe: rank on the probe of the summary's first column
        ranked = [r for r in results if r.probe == benchmark.summary_columns[0].probe]
    published = benchmark.published_rows()
    if len(ranked) < 2 and not published:
        return None
    columns = [(key, header) for key, header in benchmark.report_columns
               if any(r.metrics.get(key) is not None for r in ranked) or any(p.metrics.get(key) is not None
                                                                          for p in published)]
    ordered = sorted(ranked, key=lambda r: (r.metrics.get(metric) is None, -(r.metrics.get(metric) or 0.0)))
    rows: list[tuple[Cell, ...]] = []
    marks: list[bool] = []
    for rank, result in enumerate(ordered, start=1):
        name = result.label + (f" ({result.select})" if result.select else "")
        rows.append((Cell(str(rank), float(rank), numeric=True), Cell(name),
                     *(_metric_cell(result, key) for key, _ in columns)))
        marks.append(False)
    for row in published:
        rows.append((Cell("-", None, numeric=True), Cell(f"{row.method} [{row.section}]"),
                     *(Cell(cell_text(row.metrics.get(key)), row.metrics.get(key), numeric=True)
                       for key, _ in columns)))
        marks.append(True)
    header = dict(benchmark.report_columns).get(metric, metric)
    caption = f"{benchmark.display_name}: models ranked by {header}"
    if published:
        caption += f"; published rows from {'; '.join(dict.fromkeys(row.source for row in published if row.source))}"
    return Table(caption, ("rank", "model", *(h for _, h in columns)), 2, tuple(rows), tuple(marks),
                 key=f"leaderboard-{benchmark.name}", ranked_by=header)


def summary(benchmark: Benchmark, results: Sequence[ScoreResult]) -> Table | None:
    """The benchmark's per-model summary (:attr:`~pixbench.benchmarks.base.Benchmark.summary_columns`)."""
    if not benchmark.summary_columns:
        return None
    by_model: dict[str, dict[tuple[str, str | None], ScoreResult]] = {}
    for each in results:
        by_model.setdefault(each.label, {})[(each.probe or "", each.layout)] = each
    rows = []
    for model, found in by_model.items():
        cells = [Cell(model)]
        for column in benchmark.summary_columns:
            result: ScoreResult | None = found.get((column.probe, column.layout)) if column.layout else next(
                (r for (probe, _), r in found.items() if probe == column.probe), None)
            value = result.metrics.get(column.metric) if result is not None else None
            cells.append(Cell(cell_text(value), _number(value), numeric=True))
        rows.append(tuple(cells))
    if not rows:
        return None
    return Table(f"{benchmark.display_name}: summary per model", ("model", *(c.header for c in
                                                                            benchmark.summary_columns)),
                 1, tuple(rows), readings=tuple(c.reading for c in benchmark.summary_columns),
                 key=f"summary-{benchmark.name}")


def index_tables(report: Report, *, rank_by: str | None = None) -> list[BenchmarkTables]:
    """The tables of every benchmark the report has results for, in the registry's order."""
    by_benchmark: dict[str, list[ScoreResult]] = {}
    for result in report.results:
        by_benchmark.setdefault(result.benchmark, []).append(result)
    ordered = [name for name in REGISTRY if name in by_benchmark] + [n for n in by_benchmark if n not in REGISTRY]
    out = []
    for name in ordered:
        results = by_benchmark[name]
        benchmark = REGISTRY.get(name)
        shapes: dict[TableShape, list[ScoreResult]] = {}
        for result in results:
            shapes.setdefault(shape_of(result), []).append(result)
        tables = tuple(results_table(benchmark, shape, members, benchmark.display_name if benchmark else name)
                       for shape, members in shapes.items())
        if benchmark is None:
            out.append(BenchmarkTables(name, name, tables))
            continue
        notes = tuple(dict.fromkeys(note for r in results for note in r.notes))
        out.append(BenchmarkTables(name, benchmark.display_name, tables, leaderboard(benchmark, results, rank_by),
                                   summary(benchmark, results), notes))
    return out


def rank_choices(report: Report) -> Mapping[str, tuple[tuple[str, str], ...]]:
    """Per benchmark, the metrics a leaderboard may be ranked by (key, header)."""
    return {name: REGISTRY[name].report_columns for name in dict.fromkeys(r.benchmark for r in report.results)
            if name in REGISTRY}
