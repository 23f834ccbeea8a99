"""Score reports: one JSON document, and tables (text, Markdown, CSV, LaTeX) with one row per model.

Metrics are percents; JSON keeps 6 decimals, tables show 1. A metric that was not measured is
``null`` in JSON and ``-`` in tables. Every report states the pixbench version, the scoring protocol,
the dataset revisions, the letter parser, the selection mode, the judge (model, temperature, endpoint)
and the MMVP label set.

**First line.** Every report starts with what was scored of how many and under which protocol
(:func:`pixbench.coverage.first_line`): the first line of the text and Markdown reports, the first comment of the
LaTeX one, the ``summary`` field (with ``coverage``, one entry per result) at the top of the JSON one; a CSV, whose
first line is its header, gives it per row (``scored``, ``of``, ``protocol``, ``frames``).

**Published rows** (``pixbench score --published`` / ``--as``, :mod:`pixbench.published`): each benchmark's
published rows under its results' headers, each named ``METHOD (published)`` with the protocol it was measured
under and a numbered source, the fields all rows share and the probe behind each metric below; then each result
named as a published row beside it (yours, published, yours - published, in points) with a warning for each way
its protocol differs; then guesses by model name. JSON: a ``published`` section; CSV: rows of variant
``(published)`` and ``(yours - published: METHOD)``; LaTeX: as comments.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pixbench.benchmarks import REGISTRY
from pixbench.coverage import coverage, first_line
from pixbench.published import METRIC_PROBES, BenchmarkRows, Comparison, PublishedSection
from pixbench.results import COUNT_KINDS, PROTOCOL, Counts, ScoreResult, rounded
from pixbench.version import __version__

Format = Literal["table", "markdown", "json", "csv", "latex"]
FORMATS: tuple[str, ...] = ("table", "markdown", "json", "csv", "latex")
#: (metric key, table header) in the order of the paper's Table 1, then the extras.
COLUMNS = (("A_dagger", "A†"), ("A", "A"), ("M_dagger", "M†"), ("M", "M"), ("S", "S"),
           ("A_per_question", "A/q"), ("cIoU", "cIoU"))
ASCII_HEADERS = {"A†": "A+", "M†": "M+"}
#: Digits every reported number keeps (tables show fewer).
DIGITS = 6
#: The CSV's columns saying what each result scored of how many, under which protocol (the first line, per row).
COVERAGE_COLUMNS = ("scored", "of", "protocol", "frames")


@dataclass(frozen=True)
class Report:
    """A score report: the results and what they depend on.

    ``settings`` (the :class:`~pixbench.results.ScoreSettings` as a dict), ``datasets`` (per benchmark:
    origin and label set) and ``judge`` (enabled, model, temperature, endpoint, or the reason it was not
    used) are provenance blocks written as they are; ``sensitivity`` holds the prompt-variant tables
    (:func:`pixbench.score_files.sensitivity`); ``published`` the published rows and comparisons asked for
    (:class:`~pixbench.published.PublishedSection`; ``None``: not asked).
    """

    results: tuple[ScoreResult, ...]
    settings: Mapping[str, Any]
    datasets: Mapping[str, Any]
    judge: Mapping[str, Any]
    sensitivity: tuple[Mapping[str, Any], ...] = ()
    published: PublishedSection | None = None

    @property
    def first_line(self) -> str:
        """What was scored of how many, under which protocol (:func:`pixbench.coverage.first_line`)."""
        return first_line(self.results, self.settings)

    def to_json(self) -> dict[str, Any]:
        """The JSON report: ``summary`` (the first line) and ``coverage`` first, then the contract's shape plus the
        provenance of every number (and ``published`` when asked for)."""
        document = {"summary": self.first_line,
                    "coverage": [coverage(result, self.settings).to_json() for result in self.results],
                    "pixbench_version": __version__, "protocol": PROTOCOL, "settings": dict(self.settings),
                    "datasets": dict(self.datasets), "judge": dict(self.judge),
                    "results": [result.to_json() for result in self.results]}
        if self.published is not None:
            document["published"] = self.published.to_json()
        if self.sensitivity:
            document["sensitivity"] = [{**table, "metrics": {name: rounded(stats)
                                                             for name, stats in table["metrics"].items()}}
                                       for table in self.sensitivity]
        return document


def report_document(results: Sequence[ScoreResult], *, settings: Mapping[str, Any], datasets: Mapping[str, Any],
                    judge: Mapping[str, Any], sensitivity: Sequence[Mapping[str, Any]] = ()) -> Report:
    """The report of ``results`` with its provenance (``sensitivity``: prompt-variant tables, if any)."""
    return Report(tuple(results), settings, datasets, judge, tuple(sensitivity))


STATISTICS = ("mean", "std", "min", "max", "spread")


def _metrics(result: ScoreResult) -> dict[str, Any]:
    """A result's metrics as reported (rounded to :data:`DIGITS`)."""
    return rounded(result.metrics, DIGITS)


def _intervals(result: ScoreResult) -> dict[str, list[float]]:
    return result.ci.to_json(digits=DIGITS)["metrics"] if result.ci is not None else {}


def _sensitivity_rows(report: Report) -> list[list[str]]:
    rows = []
    for table in report.sensitivity:
        metrics = {name: rounded(stats) for name, stats in table["metrics"].items()}
        for statistic in STATISTICS:
            cells = [table["model"], table["benchmark"], statistic]
            cells += [_cell(metrics.get(key, {}).get(statistic)) for key, _ in COLUMNS]
            rows.append([*cells, str(len(table["variants"]))])
    return rows


def _cell(value: Any) -> str:
    return "-" if value is None else f"{value:.1f}"


def cell_text(value: Any, interval: Sequence[float] | None = None) -> str:
    """A number as the tables print it: one decimal, ``[low, high]`` after it when given, ``-`` when not measured.

    Examples:
        >>> cell_text(41.25, [38.0, 44.5]), cell_text(None)
        ('41.2 [38.0, 44.5]', '-')
    """
    if value is None or interval is None:
        return _cell(value)
    return f"{value:.1f} [{interval[0]:.1f}, {interval[1]:.1f}]"


@dataclass(frozen=True)
class TableShape:
    """The columns of a table of results: the fields naming a result (besides model and benchmark) and the
    metrics, as each benchmark declares them (:attr:`~pixbench.benchmarks.base.Benchmark.report_columns`)."""

    labels: tuple[tuple[str, str], ...]
    columns: tuple[tuple[str, str], ...]


IMAGE_SHAPE = TableShape((("select", "select"),), COLUMNS)


def shape_of(result: ScoreResult) -> TableShape:
    benchmark = REGISTRY.get(result.benchmark)
    return IMAGE_SHAPE if benchmark is None else TableShape(benchmark.labels, benchmark.report_columns)


def _tables(report: Report) -> list[tuple[TableShape, list[ScoreResult]]]:
    """The results grouped by table shape, in the order they first appear."""
    groups: dict[TableShape, list[ScoreResult]] = {}
    for result in report.results:
        groups.setdefault(shape_of(result), []).append(result)
    return list(groups.items()) or [(IMAGE_SHAPE, [])]


def _row(result: ScoreResult, shape: TableShape) -> list[str]:
    metrics, intervals = _metrics(result), _intervals(result)
    return [result.label, result.benchmark, *(str(getattr(result, name) or "-") for name, _ in shape.labels),
            *(cell_text(metrics.get(key), intervals.get(key)) for key, _ in shape.columns),
            str(result.counts.total_missing)]


def _headers(shape: TableShape = IMAGE_SHAPE, ascii_only: bool = False) -> list[str]:
    names = [ASCII_HEADERS.get(h, h) if ascii_only else h for _, h in shape.columns]
    return ["model", "benchmark", *(h for _, h in shape.labels), *names, "missing"]


def provenance_lines(report: Report) -> list[str]:
    """Human-readable lines saying what the numbers depend on."""
    settings, judge = report.settings, report.judge
    images = not report.results or any(result.select is not None for result in report.results)  # selection used
    lines = [f"pixbench {__version__}, protocol {PROTOCOL}"
             + (f"; letter parser: {settings['letter_parser']}; select: {settings['select']}"
                + (f" (threshold {settings['score_threshold']})" if settings["select"] == "score" else "")
                + ("; --include-none" if settings.get("include_none") else "") if images else "")]
    if judge.get("enabled"):
        served = ", ".join(judge.get("served_models") or []) or "none answered"
        temperature = judge.get("temperature")
        at = f", temperature {temperature:g}" if isinstance(temperature, (int, float)) else ""
        lines.append(f"judge: {judge['model']}{at} at {judge['endpoint']} (served: {served})")
    else:
        lines.append(f"judge: not used ({judge.get('reason', 'disabled')})")
    for name, info in report.datasets.items():
        origin = info.get("origin", {})
        where = origin.get("path") or origin.get("hub_id")
        version = origin.get("sha256", "")[:12] or origin.get("commit", "")
        title = REGISTRY[name].label_set_title if name in REGISTRY else "labels"
        label = f"; {title}: {info['label_set']}" if info.get("label_set") else ""
        lines.append(f"data {name}: {where} ({version}){label}")
    for result in report.results:
        lines += [f"note [{result.where}]: {note}" for note in result.notes]
        if (counted := result.counts.note()) is not None:
            lines.append(f"counts [{result.where}]: {counted}")
    return lines


@dataclass(frozen=True)
class _Block:
    """A part of the published section as text: a title, a table (``headers`` empty: none) and lines under it."""

    title: str
    headers: list[str]
    rows: list[list[str]]
    left: int
    notes: list[str]
    tail_left: int = 0


def _signed(value: float | None) -> str:
    return "-" if value is None else f"{value:+.1f}"


def _rows_block(shown: BenchmarkRows) -> _Block:
    """A benchmark's published rows under its results' headers, with the protocol and source of each."""
    if not shown.entries:
        return _Block(f"{shown.benchmark}: no published rows in pixbench", [], [], 0, [])
    benchmark = REGISTRY.get(shown.benchmark)
    shape = TableShape(benchmark.labels, benchmark.report_columns) if benchmark is not None else IMAGE_SHAPE
    in_labels = {"selection" if name == "select" else name for name, _ in shape.labels}
    common, varying = shown.fields()
    columns = [(key, header) for key, header in shape.columns if any(key in entry.metrics for entry in shown.entries)]
    number = {source: k for k, source in enumerate(shown.sources, start=1)}
    rows = []
    for entry in shown.entries:
        row = entry.protocol
        labels = [str((row.selection if name == "select" else getattr(row, name, None)) or "-")
                  for name, _ in shape.labels]
        rows.append([f"{entry.method} (published)", entry.benchmark, *labels,
                     *(_cell(entry.metrics.get(key)) for key, _ in columns),
                     row.described([name for name in varying if name not in in_labels]) or "-",
                     f"[{number[entry.source]}]" if entry.source else "-"])
    notes = []
    alike = shown.entries[0].protocol.described([name for name in common if name not in in_labels])
    if alike:
        notes.append(f"all rows: {alike}")
    probes = [f"{dict(shape.columns).get(key, key)}: {text}" for key, text in METRIC_PROBES.items()
              if any(key in entry.metrics for entry in shown.entries)]
    if probes:
        notes.append("metrics: " + "; ".join(probes))
    notes += [f"[{k}] {source}" for source, k in number.items()]
    headers = ["model", "benchmark", *(header for _, header in shape.labels), *(header for _, header in columns),
               "protocol", "source"]
    return _Block(f"{shown.display_name}: published rows (not measured here)", headers, rows, 2 + len(shape.labels),
                  notes, tail_left=2)


def _comparison_block(comparison: Comparison) -> _Block:
    """A result beside the published row it was named as: the metrics, the differences and the warnings."""
    entry = comparison.entry
    title = (f"{comparison.label} ({comparison.where}; {comparison.coverage.scored} of {comparison.coverage.total} "
             f"{comparison.coverage.noun} scored) as {entry.method!r} (published, section "
             f"{entry.protocol.section}): yours - published, in points")
    rows = [[d.header, _cell(d.yours), _cell(d.published), _signed(d.difference)] for d in comparison.differences]
    notes = [f"warning: {warning}" for warning in comparison.warnings] or [
        "protocol: the row's stated protocol matches your settings"]
    if entry.source:
        notes.append(f"source: {entry.source}")
    return _Block(title, ["metric", "yours", "published", "yours - published"], rows, 1, notes)


def _published_blocks(section: PublishedSection) -> list[_Block]:
    blocks = [_rows_block(shown) for shown in section.shown]
    blocks += [_comparison_block(comparison) for comparison in section.comparisons]
    if section.guesses:
        blocks.append(_Block("", [], [], 0, [guess.text() for guess in section.guesses]))
    return blocks


def _published_text(report: Report) -> list[str]:
    lines: list[str] = []
    for block in _published_blocks(report.published) if report.published is not None else []:
        lines += ["", *([block.title] if block.title else [])]
        if block.headers:
            lines += _text_table([block.headers, *block.rows], block.left, block.tail_left)
        lines += block.notes
    return lines


def _published_markdown(report: Report) -> list[str]:
    lines: list[str] = []
    for block in _published_blocks(report.published) if report.published is not None else []:
        lines += ["", *([f"**{block.title}**", ""] if block.title and block.headers else
                        [block.title] if block.title else [])]
        if block.headers:
            lines += _markdown_table(block.headers, block.rows, block.left, block.tail_left)
        if block.notes:
            lines += ["", *(f"- {note}" for note in block.notes)]
    return lines


def _markdown_table(headers: list[str], rows: list[list[str]], left: int, tail_left: int = 0) -> list[str]:
    aligned = ["---" if k < left or k >= len(headers) - tail_left else "---:" for k in range(len(headers))]
    return ["| " + " | ".join(headers) + " |", "|" + "|".join(aligned) + "|",
            *("| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows)]


def _text_table(rows: list[list[str]], left: int, tail_left: int = 0) -> list[str]:
    """Fixed-width columns: the first ``left`` and the last ``tail_left`` aligned left, the others right."""
    widths = [max(len(row[k]) for row in rows) for k in range(len(rows[0]))]
    first_tail = len(widths) - tail_left
    lines = ["  ".join(cell.ljust(w) if k < left or k >= first_tail else cell.rjust(w)
                       for k, (cell, w) in enumerate(zip(row, widths))).rstrip()
             for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return lines


def render_table(report: Report) -> str:
    """Fixed-width text tables (one per shape of result), then provenance lines."""
    lines: list[str] = []
    for shape, results in _tables(report):
        if lines:
            lines.append("")
        lines += _text_table([_headers(shape), *(_row(r, shape) for r in results)], 2 + len(shape.labels))
    extra = _sensitivity_rows(report)
    if extra:
        rows = [["model", "benchmark", "statistic", *[h for _, h in COLUMNS], "variants"], *extra]
        widths = [max(len(row[k]) for row in rows) for k in range(len(rows[0]))]
        lines += ["", "prompt sensitivity (across variants):"]
        lines += ["  ".join(c.ljust(w) if k < 3 else c.rjust(w) for k, (c, w) in enumerate(zip(row, widths)))
                  for row in rows]
    return "\n".join([report.first_line, "", *lines, *_published_text(report), "", *provenance_lines(report)]) + "\n"


def render_markdown(report: Report) -> str:
    lines: list[str] = []
    for shape, results in _tables(report):
        if lines:
            lines.append("")
        headers = _headers(shape)
        left = 2 + len(shape.labels)
        lines += ["| " + " | ".join(headers) + " |", "|" + "|".join("---" if k < left else "---:"
                                                                   for k in range(len(headers))) + "|"]
        lines += ["| " + " | ".join(_row(r, shape)) + " |" for r in results]
    extra = _sensitivity_rows(report)
    if extra:
        header = ["model", "benchmark", "statistic", *[h for _, h in COLUMNS], "variants"]
        lines += ["", "Prompt sensitivity (across variants):", "", "| " + " | ".join(header) + " |",
                  "|" + "|".join("---" if k < 3 else "---:" for k in range(len(header))) + "|"]
        lines += ["| " + " | ".join(row) + " |" for row in extra]
    return "\n".join([report.first_line, "", *lines, *_published_markdown(report), "",
                      *(f"- {line}" for line in provenance_lines(report))]) + "\n"


def render_csv(report: Report) -> str:
    """One row per result with every top-level metric (6 decimals), the counts and what was scored of how many
    under which protocol (``scored``, ``of``, ``protocol``, ``frames``); a report holding video results adds their
    ``probe``, ``layout``, ``expressions`` and ``missing`` columns; with published rows, a row per published row
    (variant ``(published)``) and per comparison (variant ``(yours - published: METHOD)``, the differences in
    points), with ``source``, ``published_protocol`` and ``warnings`` columns."""
    keys: list[str] = []
    for result in report.results:
        keys += [k for k in result.metrics if k not in keys]
    kinds = {type(result.counts) for result in report.results} or {Counts}
    count_columns = [column for kind in COUNT_KINDS if kind in kinds for column in kind.CSV_COLUMNS]
    labels = list(dict.fromkeys(name for result in report.results for name, _ in shape_of(result).labels
                                if name != "select"))  # e.g. probe, layout (select has its own column)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    with_ci = any(result.ci is not None for result in report.results)
    ci_keys = [f"{k}_ci_{end}" for k in keys for end in ("low", "high")] if with_ci else []
    published = report.published
    extra = ["source", "published_protocol", "warnings"] if published is not None else []
    writer.writerow(["model", "variant", "benchmark", "select", *labels, *keys, *ci_keys, *count_columns,
                     *COVERAGE_COLUMNS, *extra])
    for result in report.results:
        metrics, intervals = _metrics(result), _intervals(result)
        ci_cells = [intervals[k][end] if k in intervals else "" for k in keys for end in (0, 1)] if with_ci else []
        counts = result.counts.cells()
        covered = coverage(result, report.settings)
        writer.writerow([result.model, result.variant or "", result.benchmark, result.select or "",
                         *(getattr(result, name) or "" for name in labels),
                         *("" if metrics.get(k) is None else metrics[k] for k in keys),
                         *ci_cells, *(counts.get(column, "") for column in count_columns),
                         covered.scored, covered.total, covered.protocol, covered.frames or "", *([""] * len(extra))])
    for table in report.sensitivity:
        metrics = {name: rounded(stats) for name, stats in table["metrics"].items()}
        for statistic in STATISTICS:
            writer.writerow([table["model"], f"({statistic})", table["benchmark"], "", *([""] * len(labels)),
                             *("" if k not in metrics else metrics[k][statistic] for k in keys)])
    blank = [""] * (len(ci_keys) + len(count_columns))
    for shown in published.shown if published is not None else ():
        for entry in shown.entries:
            row = entry.protocol
            writer.writerow([entry.method, "(published)", entry.benchmark, row.selection or "",
                             *(getattr(row, name, None) or "" for name in labels),
                             *("" if entry.metrics.get(k) is None else entry.metrics[k] for k in keys), *blank,
                             *(row.scored or ("", "")), row.protocol or "", row.frames or "", entry.source,
                             row.described(["section", *(name for name, _ in row.items())]), ""])
    for comparison in published.comparisons if published is not None else ():
        differences = {d.metric: d.difference for d in comparison.differences}
        covered = comparison.coverage
        writer.writerow([comparison.model, f"(yours - published: {comparison.entry.method})", comparison.benchmark,
                         "", *(comparison.groups.get(name) or "" for name in labels),
                         *("" if differences.get(k) is None else round(float(differences[k] or 0.0), DIGITS)
                           for k in keys), *blank,
                         covered.scored, covered.total, covered.protocol, covered.frames or "",
                         comparison.entry.source, comparison.entry.protocol.described(
                             ["section", *(name for name, _ in comparison.entry.protocol.items())]),
                         " | ".join(comparison.warnings)])
    return buffer.getvalue()


def _latex_escape(text: str) -> str:
    for char, replacement in (("\\", r"\textbackslash{}"), ("&", r"\&"), ("%", r"\%"), ("_", r"\_"),
                              ("#", r"\#"), ("$", r"\$"), ("{", r"\{"), ("}", r"\}")):
        text = text.replace(char, replacement)
    return text


def _latex_cell(value: Any, interval: Sequence[float] | None) -> str:
    if value is None or interval is None:
        return _cell(value)
    return rf"{value:.1f} {{\scriptsize[{interval[0]:.1f}, {interval[1]:.1f}]}}"


def render_latex(report: Report) -> str:
    """Booktabs tables: for image benchmarks one like the paper's Table 1 (a model per row, A†, A, M†, M,
    S per benchmark); for results of another shape (per probe), a row per result with the benchmark's labels
    (probe, layout) and columns."""
    images = [r for r in report.results if shape_of(r).labels == IMAGE_SHAPE.labels]  # Table 1's shape
    per_probe = [r for r in report.results if shape_of(r).labels != IMAGE_SHAPE.labels]
    lines: list[str] = []
    if images or not per_probe:
        lines += _latex_table_one(images)
    for shape, results in _tables(Report(tuple(per_probe), report.settings, report.datasets, report.judge)):
        if not results:
            continue
        headers = [_latex_escape(h) for _, h in shape.columns]
        labels = [_latex_escape(h.capitalize()) for _, h in shape.labels]
        lines += [r"\begin{tabular}{l" + "l" * len(labels) + "r" * len(headers) + "}", r"\toprule",
                  " & ".join(["Model", *labels, *headers]) + r" \\", r"\midrule"]
        for result in results:
            metrics, intervals = _metrics(result), _intervals(result)
            cells = [_latex_escape(result.label),
                     *(_latex_escape(str(getattr(result, name) or "-")) for name, _ in shape.labels),
                     *(_latex_cell(metrics.get(k), intervals.get(k)) for k, _ in shape.columns)]
            lines.append(" & ".join(cells) + r" \\")
        lines += [r"\bottomrule", r"\end{tabular}"]
    comments = [f"% {line}" for line in [report.first_line, *provenance_lines(report),
                                         *(line for line in _published_text(report) if line)]]
    return "\n".join([*comments, *lines]) + "\n"


def _latex_table_one(results: Sequence[ScoreResult]) -> list[str]:
    benchmarks = list(dict.fromkeys(r.benchmark for r in results))
    models = list(dict.fromkeys(r.label for r in results))
    by_key = {(r.label, r.benchmark): r for r in results}
    keys = ("A_dagger", "A", "M_dagger", "M", "S")
    names = [REGISTRY[b].display_name if b in REGISTRY else b for b in benchmarks]
    lines = [r"\begin{tabular}{l" + "rrrrr" * len(benchmarks) + "}", r"\toprule",
             " & ".join(["", *(rf"\multicolumn{{5}}{{c}}{{{name}}}" for name in names)]) + r" \\",
             " & ".join(["Model", *([r"A$^\dagger$", "A", r"M$^\dagger$", "M", "S"] * len(benchmarks))]) + r" \\",
             r"\midrule"]
    for model in models:
        cells = [_latex_escape(model)]
        for benchmark in benchmarks:
            result = by_key.get((model, benchmark))
            if result is None:
                cells += ["-"] * len(keys)
                continue
            metrics, intervals = _metrics(result), _intervals(result)
            cells += [_latex_cell(metrics.get(k), intervals.get(k)) for k in keys]
        lines.append(" & ".join(cells) + r" \\")
    return [*lines, r"\bottomrule", r"\end{tabular}"]


def render(report: Report, fmt: str) -> str:
    """The report in one of :data:`FORMATS`."""
    if fmt == "json":
        return json.dumps(report.to_json(), indent=2, ensure_ascii=False) + "\n"
    renderers = {"table": render_table, "markdown": render_markdown, "csv": render_csv, "latex": render_latex}
    if fmt not in renderers:
        raise ValueError(f"Expected format to be one of {list(FORMATS)}, but got {fmt!r}")
    return renderers[fmt](report)


# ------------------------------------------------------------------------------------------ compare


def comparison_document(comparisons: Sequence[Mapping[str, Any]], *, settings: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON of ``pixbench compare``: one entry per benchmark both files cover."""
    rounded = []
    for comparison in comparisons:
        metrics = {}
        for name, entry in comparison["metrics"].items():
            metrics[name] = {k: (round(v, 6) if isinstance(v, float) and k != "p_value" else v)
                             for k, v in entry.items()}
        unpaired = {side: {name: round(value, 6) for name, value in values.items()}
                    for side, values in comparison.get("not_compared", {}).items()}
        rounded.append({**comparison, "metrics": metrics, "not_compared": unpaired})
    return {"pixbench_version": __version__, "protocol": PROTOCOL, "settings": dict(settings),
            "comparisons": rounded}


def _p(value: float | None) -> str:
    return "-" if value is None else (f"{value:.4f}" if value >= 1e-4 else f"{value:.1e}")


def _comparison_rows(document: Mapping[str, Any]) -> list[list[str]]:
    rows = []
    for comparison in document["comparisons"]:
        for name, entry in comparison["metrics"].items():
            mcnemar = entry.get("mcnemar")
            rows.append([_where(comparison), _metric_label(name), f"{entry['a']:.1f}", f"{entry['b']:.1f}",
                         f"{entry['difference']:+.1f}", f"[{entry['low']:+.1f}, {entry['high']:+.1f}]",
                         _p(entry["p_value"]),
                         f"{mcnemar['a_only']}/{mcnemar['b_only']}" if mcnemar else "-",
                         _p(mcnemar["p_value"]) if mcnemar else "-", str(entry.get("units") or "")])
    return rows


COMPARISON_HEADERS = ["benchmark", "metric", "A", "B", "A-B", "interval", "p (bootstrap)", "McNemar A/B only",
                      "p (McNemar)", "units"]


def _where(comparison: Mapping[str, Any]) -> str:
    """``benchmark [probe [layout]]`` of one comparison."""
    return " ".join(part for part in (comparison["benchmark"], comparison.get("probe"), comparison.get("layout"))
                    if part)


def _comparison_note(comparison: Mapping[str, Any]) -> str:
    """The line under the table for one comparison: models, rows, bootstrap, and what was not compared."""
    c = comparison
    note = (f"A = {c['model_a']}, B = {c['model_b']} on {_where(c)}: {c['rows']} common rows, "
            f"{c['level']:.0%} paired bootstrap ({c['resamples']} resamples, seed {c['seed']})")
    unpaired = c.get("not_compared") or {}
    parts = [f"{_metric_label(name)} {value:.1f} (only {side.upper()})"
             for side in ("a", "b") for name, value in unpaired.get(side, {}).items()]
    if parts:
        note += "; not compared (one model lacks them): " + ", ".join(parts)
    return note


def _metric_label(name: str) -> str:
    """The metric's name as score tables print it (A†, M†; others as they are)."""
    return dict(COLUMNS).get(name, name)


def render_comparison(document: Mapping[str, Any], fmt: str) -> str:
    """``pixbench compare`` output as a text table, Markdown, CSV or JSON."""
    if fmt == "json":
        return json.dumps(document, indent=2) + "\n"
    rows = _comparison_rows(document)
    head = [_comparison_note(c) for c in document["comparisons"]]
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(COMPARISON_HEADERS)
        writer.writerows(rows)
        return buffer.getvalue()
    if fmt == "markdown":
        lines = ["| " + " | ".join(COMPARISON_HEADERS) + " |",
                 "|" + "|".join("---" if k < 2 else "---:" for k in range(len(COMPARISON_HEADERS))) + "|"]
        lines += ["| " + " | ".join(row) + " |" for row in rows]
        return "\n".join([*lines, "", *(f"- {h}" for h in head)]) + "\n"
    table = [COMPARISON_HEADERS, *rows]
    widths = [max(len(row[k]) for row in table) for k in range(len(COMPARISON_HEADERS))]
    lines = ["  ".join(c.ljust(w) if k < 2 else c.rjust(w) for k, (c, w) in enumerate(zip(row, widths)))
             for row in table]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join([*lines, "", *head]) + "\n"
