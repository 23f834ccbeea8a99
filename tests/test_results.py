"""A result says how it is named and printed (:class:`pixbench.results.ResultShape`): reports, comparisons and
messages follow its shape, not the kind of benchmark it came from."""

from __future__ import annotations

from pixbench.results import PROBE_SHAPE, QUESTION_SHAPE, Counts, ExpressionCounts, ResultShape, ScoreResult


def _question_result(**changes: object) -> ScoreResult:
    fields: dict[str, object] = dict(model="m", benchmark="b", select="given", metrics={"A": 50.0},
                                     counts=Counts(rows=2, mask_rows=2, missing={"letter": 0}))
    fields.update(changes)
    return ScoreResult(**fields)  # type: ignore[arg-type]


def test_a_question_result_gives_every_section_even_empty():
    entry = _question_result(metrics={"A": 1 / 3}).to_json()
    assert list(entry) == ["model", "benchmark", "select", "metrics", "counts", "breakdown", "judge_served_models",
                           "notes", "analysis"]
    assert entry["metrics"] == {"A": 0.333333} and entry["notes"] == [] and entry["breakdown"] == {}


def test_a_probe_result_is_named_by_probe_and_layout_and_gives_notes_only_when_set():
    counts = ExpressionCounts(expressions=3, missing=1)
    result = ScoreResult(model="m", benchmark="v", select=None, metrics={"J": 10.0}, counts=counts,
                         probe="static-pair", layout="target-left", shape=PROBE_SHAPE)
    assert list(result.to_json()) == ["model", "benchmark", "probe", "layout", "metrics", "counts"]
    noted = ScoreResult(model="m", benchmark="v", select=None, metrics={}, counts=counts, probe="original",
                        notes=("why",), shape=PROBE_SHAPE, variant="qa-1")
    assert list(noted.to_json()) == ["model", "benchmark", "probe", "layout", "metrics", "counts", "notes", "variant"]
    assert result.where == "m / v / static-pair target-left" and noted.where == "m / v / original"
    assert result.named_groups == {"probe": "static-pair", "layout": "target-left"}


def test_the_shape_not_the_probe_field_decides():
    """A question result that happens to carry a probe is still printed as one (before: any probe made the
    entry a per-probe one, dropping ``select`` and the sections)."""
    result = _question_result(probe="vqa")
    assert result.shape is QUESTION_SHAPE and result.named_groups == {}
    assert "select" in result.to_json() and "probe" not in result.to_json()
    assert result.where == "m / b"


def test_a_new_shape_needs_no_change_in_the_result():
    shape = ResultShape(groups=("probe",), labels=("probe",), sections=("analysis",), keep_empty=False)
    result = _question_result(probe="tracking", analysis={"x": 1}, shape=shape)
    assert list(result.to_json()) == ["model", "benchmark", "probe", "metrics", "counts", "analysis"]
    assert result.where == "m / b / tracking"


def test_latex_of_per_probe_results_names_the_benchmarks_labels():
    from pixbench.benchmarks import REGISTRY
    from pixbench.score_report import render_latex, report_document

    video = next(b for b in REGISTRY.values() if b.kind == "video")
    result = ScoreResult(model="m_1", benchmark=video.name, select=None, metrics={"J": 12.345}, shape=PROBE_SHAPE,
                         counts=ExpressionCounts(expressions=3, missing=0), probe="static-pair", layout="target-left")
    text = render_latex(report_document([result], settings={"select": "given", "letter_parser": "default"},
                                        datasets={}, judge={"enabled": False, "reason": "none"}))
    tabular = next(line for line in text.splitlines() if line.startswith(r"\begin{tabular}"))
    assert tabular == r"\begin{tabular}{lll" + "r" * len(video.report_columns) + "}"
    assert r"Model & Probe & Layout & J & F" in text
    assert r"m\_1 & static-pair & target-left & 12.3 & -" in text
