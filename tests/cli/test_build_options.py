"""``pixbench build`` and ``check-annotations`` take their benchmark options from the registry: a benchmark's
builder declares them (:class:`~pixbench.benchmarks.base.BuildOption`), the command keeps no table of its own."""

from __future__ import annotations

import dataclasses

import pytest

from pixbench import benchmarks
from pixbench.benchmarks.base import BuilderSpec, BuildOption
from pixbench.cli import main


@pytest.fixture
def fourth_benchmark(monkeypatch: pytest.MonkeyPatch) -> str:
    """A fourth benchmark in the registry (a copy of the video one with a builder of its own options)."""
    video = next(b for b in benchmarks.REGISTRY.values() if not b.builder.annotations)
    spec = BuilderSpec("no.such.module", annotations=False, inputs={"clips": ("clips_root", "path")},
                       needs={"clips_root": "--clips-root DIR"}, group="fourth inputs (license X)",
                       options=(BuildOption(("--clips-root",), "the clips folder", metavar="DIR"),
                                BuildOption(("--mevis",), "declared twice: its use named")))
    fourth = type("Fourth", (type(video),), {"name": "fourth", "builder": spec})()
    registry = {**benchmarks.REGISTRY, "fourth": fourth}
    monkeypatch.setattr(benchmarks, "REGISTRY", registry)
    monkeypatch.setattr(benchmarks, "BENCHMARK_NAMES", tuple(registry))
    return "fourth"


def test_a_fourth_benchmarks_options_appear_in_both_commands(fourth_benchmark: str, capsys: pytest.CaptureFixture[str]):
    for command in ("build", "check-annotations"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        text = " ".join(capsys.readouterr().out.split())
        assert "fourth inputs (license X): --clips-root DIR the clips folder" in text
        assert text.count("--mevis ROOT") == 2  # the usage line and one option, whose help names each use:
        assert "mocentric: the MeViS root" in text and "mevis: the MeViS root" in text
        assert "fourth: declared twice: its use named" in text
        assert "{" + ",".join(benchmarks.REGISTRY) + "}" in text and ",fourth}" in text


def test_a_missing_declared_option_is_a_usage_error(fourth_benchmark: str, tmp_path, capsys):
    assert main(["build", fourth_benchmark, "--out", str(tmp_path / "out")]) == 2
    assert "error: fourth needs --clips-root DIR" in capsys.readouterr().err


def test_the_image_builders_options_are_theirs():
    declared = {option.flags[0]: name for name, b in benchmarks.REGISTRY.items() for option in b.builder.options}
    assert declared["--mmvp"] == declared["--mmvp-corrections"] == "pixmmvp"
    assert declared["--cvbench"] == "pixcvbench"
    options = {o.dest: o for b in benchmarks.REGISTRY.values() for o in b.builder.options}
    for b in benchmarks.REGISTRY.values():  # every input a builder reads is an option one declares
        assert {dest for dest, _ in b.builder.inputs.values()} <= set(options)
    assert dataclasses.replace(options["cvbench"], flags=("--x-y",)).dest == "x_y"
