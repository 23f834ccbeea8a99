"""What a new user meets first: ``pixbench demo`` (its folder, the command it prints), the help texts, and
``pixbench mocentric ids`` (end to end via ``main([...])``)."""

from __future__ import annotations

import shlex
import tempfile
from pathlib import Path
from typing import Any

import pytest

from pixbench.benchmarks import REGISTRY
from pixbench.benchmarks.mocentric import build as mocentric_builder
from pixbench.benchmarks.mocentric import synthetic as synthetic_video
from pixbench.cli import main
from pixbench.references import load_reference

DEMO_MODELS = ("demo-pixel-mllm", "demo-attend-segment", "demo-motion-aware", "demo-appearance-only", "demo-tracker",
               "demo-always-segments")


def _help(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    with pytest.raises(SystemExit) as stop:
        main([*argv, "--help"])
    assert stop.value.code == 0
    return " ".join(capsys.readouterr().out.split())  # wrapped lines joined


# ------------------------------------------------------------------ demo


def test_demo_prints_a_score_command_that_runs_as_printed(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["demo", "--out", "my demo"]) == 0  # a relative folder with a space, kept
    out = capsys.readouterr().out
    printed = [line for line in out.splitlines() if line.startswith("score them yourself: ")]
    assert len(printed) == 1
    words = shlex.split(printed[0].removeprefix("score them yourself: "))
    assert words[:2] == ["pixbench", "score"]
    assert [w for w in words if w.startswith(("pixmmvp=", "pixcvbench=", "mocentric=", "mevis="))] == [
        "pixmmvp=my demo/PixMMVP", "pixcvbench=my demo/PixCV-Bench", "mocentric=my demo/MoCentric-Bench",
        "mevis=my demo/MeViS"]
    assert main(words[1:]) == 0
    scored = capsys.readouterr().out
    rows = {tuple(line.split()[:2]) for line in scored.splitlines() if line.startswith("demo-")}
    assert {(model, benchmark) for model, benchmark in rows} == {
        (m, b) for m in DEMO_MODELS[:2] for b in ("pixmmvp", "pixcvbench")} | {
        (m, "mocentric") for m in DEMO_MODELS[2:4]} | {(m, "mevis") for m in DEMO_MODELS[4:]}
    # the same numbers as the demo's own tables: the motion-aware model is perfect on `reversed`
    reversed_row = next(line.split() for line in scored.splitlines()
                        if line.startswith("demo-motion-aware") and " reversed " in line)
    assert reversed_row[4:7] == ["100.0", "100.0", "100.0"]
    assert out.splitlines()[0] == "writing to my demo (kept)"


def test_demo_without_out_removes_its_temporary_folder(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    first = out.splitlines()[0]
    assert first.startswith("writing to a temporary folder, removed at the end") and str(tmp_path) in first
    assert "built mocentric: 14 expressions" in out and "demo-appearance-only" in out
    assert "score them yourself" not in out  # the files it would name are gone
    assert "`pixbench demo --out DIR` keeps the files" in out.splitlines()[-1]
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("stop", "code"), [(KeyboardInterrupt, 130), (RuntimeError("disk on fire"), 1)])
def test_demo_removes_its_temporary_folder_when_stopped(tmp_path, capsys, monkeypatch, stop, code):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    seen: list[list[str]] = []

    def stopped(*, out_dir: Path, **_: Any) -> None:  # Ctrl-C (or a failure) while MoCentric-Bench builds
        seen.append(sorted(p.name for p in out_dir.parent.iterdir()))
        raise stop

    monkeypatch.setattr(mocentric_builder, "build", stopped)
    assert main(["demo"]) == code
    assert seen == [["PixCV-Bench", "PixMMVP", "predictions", "raw"]]  # the folder was full then
    assert list(tmp_path.iterdir()) == []
    capsys.readouterr()


# ------------------------------------------------------------------ help texts


@pytest.mark.parametrize("argv", [(), ("score",)])
def test_help_names_every_benchmark_of_the_registry(capsys, argv):
    with pytest.raises(SystemExit):
        main([*argv, "--help"])
    raw = capsys.readouterr().out  # usage, a blank line, the description, a blank line, the arguments
    description = " ".join(raw.split("\n\n", 1)[1].split("\npositional arguments:")[0].split())
    assert description.startswith(("Build, check", "Score one or more"))
    for benchmark in REGISTRY.values():
        assert benchmark.display_name in description
    if argv:
        assert "J&F" in description and "A-dagger" in description  # both kinds' metrics


def test_demo_help_says_what_it_does_and_where_it_writes(capsys):
    text = _help(capsys, "demo")
    assert "offline" in text and "MoCentric-Bench" in text
    assert "temporary folder that is removed at the end" in text and "--out DIR" in text


def test_mocentric_help_documents_the_ids_command(capsys):
    text = _help(capsys, "mocentric")
    assert "pixbench mocentric ids --data DIR [--probe PROBE]" in text
    assert "tab" in _help(capsys, "mocentric", "ids")


# ------------------------------------------------------------------ mocentric ids


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    raw = synthetic_video.write_synthetic_mevis(tmp_path_factory.mktemp("mevis") / "raw")
    out = tmp_path_factory.mktemp("built") / "MoCentric-Bench"
    mocentric_builder.build(mevis_root=raw.root, keyframes=raw.keyframes,
                            reverse_expressions=raw.reverse_expressions, out_dir=out)
    return out


def _ids(capsys: pytest.CaptureFixture[str], built: Path, *extra: str) -> list[list[str]]:
    assert main(["mocentric", "ids", "--data", str(built), *extra]) == 0
    return [line.split("\t") for line in capsys.readouterr().out.splitlines()]


def test_mocentric_ids_lists_every_expression_with_video_frames_and_text(capsys, built):
    reference = load_reference("mocentric", str(built))
    lines = _ids(capsys, built)
    assert lines == [[row.id, row.video_id, str(len(row.frame_names)), str(row.keyframe), row.expression]
                     for row in reference.expressions.values()]
    assert len(lines) == 14 and lines[0][0] == f"{lines[0][1]}_0"


def test_mocentric_ids_of_a_reversed_probe_give_the_reversed_texts(capsys, built):
    reference = load_reference("mocentric", str(built))
    lines = _ids(capsys, built, "--probe", "reversed-pair")
    assert [line[0] for line in lines] == list(reference.reversed) and len(lines) == 7
    assert {line[0]: line[-1] for line in lines} == {i: row.expression for i, row in reference.reversed.items()}
    assert any(line[-1] != reference.expressions[line[0]].expression for line in lines)
    assert [line[0] for line in _ids(capsys, built, "--probe", "static")] == list(reference.expressions)


def test_mocentric_ids_refuses_a_missing_folder(tmp_path, capsys):
    assert main(["mocentric", "ids", "--data", str(tmp_path / "nope")]) == 1
    assert "not a folder" in capsys.readouterr().err


def test_mevis_ids_list_each_versions_expressions_with_target_kind_and_type(capsys, tmp_path_factory):
    from pixbench.benchmarks.mevis import build as mevis_builder
    from pixbench.benchmarks.mevis.synthetic import write_synthetic_release

    raw = write_synthetic_release(tmp_path_factory.mktemp("mevis-raw") / "mevis")
    out = tmp_path_factory.mktemp("mevis-built") / "MeViS"
    mevis_builder.build(mevis_root=raw.root, out_dir=out, with_frames=False)
    reference = load_reference("mevis", str(out))
    assert main(["mevis", "ids", "--data", str(out), "--probe", "v2"]) == 0
    lines = [line.split("\t") for line in capsys.readouterr().out.splitlines()]
    v2 = reference.rows_for("v2")
    assert [line[0] for line in lines] == list(v2)
    kinds = {line[0]: line[3] for line in lines}
    assert {i for i, kind in kinds.items() if kind == "no-target"} == set(raw.no_target)
    assert any(kind == "multi-object" for kind in kinds.values()) and all(line[4] != "-" for line in lines)
    assert [line[-1] for line in lines] == [" ".join(row.expression.split()) for row in v2.values()]
    assert main(["mevis", "ids", "--data", str(out)]) == 0
    every = capsys.readouterr().out.splitlines()
    assert len(every) == len(set(reference.rows_for("v1")) | set(v2))
    with pytest.raises(SystemExit):
        main(["mevis", "ids", "--data", str(out), "--probe", "original"])  # a MoCentric probe is no MeViS version
