"""``pixbench demo`` follows the registry: it builds and scores the benchmarks the registry holds, each through
the demo hook in its own folder (``<benchmark>/demo.py``), and nothing else."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pixbench.benchmarks import REGISTRY, Benchmark
from pixbench.benchmarks.mocentric import MOCENTRIC
from pixbench.benchmarks.pixcvbench import PIXCVBENCH
from pixbench.cli import main
from pixbench.cli.demo import demo_hook


@pytest.fixture
def registry_of() -> Iterator[Callable[..., None]]:
    """Make the registry hold only the benchmarks given, for one test (changed in place, so that every module
    sees it, then restored in its order)."""
    saved = dict(REGISTRY)

    def hold(*benchmarks: Benchmark) -> None:
        REGISTRY.clear()
        REGISTRY.update({benchmark.name: benchmark for benchmark in benchmarks})

    yield hold
    REGISTRY.clear()
    REGISTRY.update(saved)


def _files(folder: Path) -> list[str]:
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*") if path.is_file())


def _benchmarks_of(path: Path) -> set[str]:
    return {json.loads(line)["benchmark"] for line in path.read_text(encoding="utf-8").splitlines()}


def test_every_benchmark_has_a_demo_hook_in_its_own_folder():
    for benchmark in REGISTRY.values():
        hook = demo_hook(benchmark)
        folder = Path(benchmark.builder.module.replace(".", "/")).parent
        assert Path(hook.__name__.replace(".", "/")).parent == folder, benchmark.name
        assert callable(hook.build_demo) and callable(hook.demo_predictions)


def test_demo_builds_and_scores_only_the_image_benchmark_the_registry_holds(tmp_path, capsys, registry_of):
    registry_of(PIXCVBENCH)
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1] == f"built pixcvbench: 6 rows, 7 instance masks -> {out / 'PixCV-Bench'}"
    assert [line for line in lines if line.startswith("built ")] == [lines[1]]
    assert lines[2] == (f"wrote predictions of two made-up models: {out / 'predictions' / 'demo-pixel-mllm.jsonl'}, "
                        f"{out / 'predictions' / 'demo-attend-segment.jsonl'}")
    assert sorted(p.name for p in out.iterdir()) == ["PixCV-Bench", "predictions", "raw"]
    assert sorted(p.name for p in (out / "raw").iterdir()) == ["CV-Bench", "PixCV-Bench-annotations"]
    predictions = sorted((out / "predictions").iterdir())
    assert [p.name for p in predictions] == ["demo-attend-segment.jsonl", "demo-pixel-mllm.jsonl"]
    assert [_benchmarks_of(p) for p in predictions] == [{"pixcvbench"}, {"pixcvbench"}]
    rows = [line.split()[:3] for line in lines if line.startswith("demo-")]
    assert rows == [[model, "pixcvbench", select] for select in ("given", "oracle")
                    for model in ("demo-pixel-mllm", "demo-attend-segment")]
    assert lines[-1].endswith(f"--data pixcvbench={out / 'PixCV-Bench'} --no-judge")


def test_demo_scores_a_video_benchmark_alone_in_files_named_after_it(tmp_path, capsys, registry_of):
    registry_of(MOCENTRIC)
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out)]) == 0
    lines = capsys.readouterr().out.splitlines()
    built = out / "MoCentric-Bench"
    assert lines[1] == f"built mocentric: 14 expressions (7 reversed) in 4 synthetic videos -> {built}"
    assert not any(line.startswith(("wrote predictions", "judge: demo-keyword-judge")) for line in lines)
    assert "judge: not used (not needed for video probes)" in lines
    assert sorted(p.name for p in out.iterdir()) == ["MoCentric-Bench", "predictions", "raw"]
    assert _files(out / "predictions") == ["mocentric-demo-appearance-only.jsonl", "mocentric-demo-motion-aware.jsonl"]
    header = next(line for line in lines if line.startswith("== pixbench score"))
    assert header == ("== pixbench score mocentric-demo-motion-aware.jsonl mocentric-demo-appearance-only.jsonl "
                      f"--data mocentric={built}")
    assert {line.split()[1] for line in lines if line.startswith("demo-")} == {"mocentric"}


def test_demo_help_names_the_folders_of_the_registrys_benchmarks(capsys):
    with pytest.raises(SystemExit):
        main(["demo", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for benchmark in REGISTRY.values():
        assert f"DIR/{benchmark.display_name}" in text
