"""The site draws each benchmark's samples as its rules say (``Benchmark.sample_pages``): a benchmark with no
sample pages yet gets its tables and a note on the index, never a crash."""

from __future__ import annotations

import importlib
from pathlib import Path

from pixbench.benchmarks import REGISTRY
from pixbench.cli import main
from pixbench.predictions import write_predictions
from pixbench.references import load_reference


def _demo_files(name: str, work: Path) -> tuple[Path, list[Path]]:
    hook = importlib.import_module(REGISTRY[name].builder.module.rpartition(".")[0] + ".demo")
    built = hook.build_demo(work)
    reference = load_reference(name, str(built.folder))
    paths = []
    for model, lines in hook.demo_predictions(reference).items():
        path = work / f"{name}-{model}.jsonl"
        write_predictions(path, lines)
        paths.append(path)
    return Path(built.folder), paths


def test_a_benchmark_without_sample_pages_gets_its_tables_and_a_note(tmp_path: Path):
    without = [name for name, b in REGISTRY.items() if b.sample_pages is None]
    if not without:  # every benchmark has sample pages: nothing to check
        return
    name = without[0]
    folder, paths = _demo_files(name, tmp_path / "work")
    site = tmp_path / "site"
    assert main(["view", *map(str, paths), "--data", f"{name}={folder}", "--no-judge", "--out", str(site)]) == 0
    index = (site / "index.html").read_text(encoding="utf-8")
    display = REGISTRY[name].display_name
    assert f'id="benchmark-{name}"' in index
    assert f"{display}: this site shows its tables; its samples have no pages yet." in index
    assert f"?b={name}" not in index  # no link to pages that do not exist
    assert not (site / "data" / name).exists()


def test_every_sample_page_form_has_its_writer_and_grid_page():
    from pixbench.view.site import GRID_PAGES, sample_writers

    forms = {b.sample_pages for b in REGISTRY.values()} - {None}
    assert forms <= set(sample_writers()) == set(GRID_PAGES)
