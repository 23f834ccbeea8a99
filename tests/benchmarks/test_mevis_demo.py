"""MeViS's demo hook: the synthetic release built into ``work/MeViS`` and two made-up models on v2 whose table
shows what the no-target rule and the decay measure."""

from __future__ import annotations

from pathlib import Path

from pixbench.benchmarks.mevis.demo import build_demo, demo_predictions
from pixbench.demo import write_demo_predictions
from pixbench.references import load_reference
from pixbench.results import ScoreSettings
from pixbench.score_files import JudgeChoice, evaluate


def test_the_demo_builds_both_versions_and_scores_v2(tmp_path: Path):
    done = build_demo(tmp_path)
    assert done.folder == tmp_path / "MeViS"
    assert done.line == f"built mevis: 14 v1 and 18 v2 expressions (3 no-target) in 4 synthetic videos -> {done.folder}"
    assert sorted(p.name for p in (tmp_path / "raw").iterdir()) == ["mevis-release"]
    reference = load_reference("mevis", str(done.folder))
    made_up = demo_predictions(reference)
    assert made_up == demo_predictions(reference)  # the same lines every time
    assert {p.probe for lines in made_up.values() for p in lines} == {"v2"}
    paths = write_demo_predictions([made_up], tmp_path / "predictions", prefix="mevis-")
    run = evaluate(paths, data={"mevis": str(done.folder)}, settings=ScoreSettings(), judge=JudgeChoice(None))
    assert run.errors == [] and run.problems == []
    results = {r.model: r.metrics for r in run.results}
    tracker, always = results["demo-tracker"], results["demo-always-segments"]
    assert always["JF"] == always["T_acc"] == 100.0 and always["N_acc"] == 0.0 and always["JF_all"] < 100.0
    assert tracker["N_acc"] == tracker["T_acc"] == 100.0 and tracker["JF"] < 100.0
    assert tracker["J_decay"] is not None and tracker["J_decay"] > 0 and always["J_decay"] == 0.0
