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


def test_a_benchmark_without_sample_pages_gets_its_tables_and_a_note(tmp_path: Path, monkeypatch):
    """Every benchmark has sample pages today; one made without them (as a new benchmark may be) gets its
    tables and a note."""
    name = "mevis"
    monkeypatch.setattr(type(REGISTRY[name]), "sample_pages", None)
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


def test_a_first_build_stopped_half_way_is_resumed_not_refused(tmp_path: Path, monkeypatch):
    """The site's manifest is written first (provisional), so a folder left by an interrupted first build is
    still a site: the next build resumes it and keeps its media."""
    import pytest

    from pixbench.view import site as site_module
    from pixbench.view.layout import SiteError, SiteFolder

    name = next(n for n, b in REGISTRY.items() if b.sample_pages == "image-rows")
    folder, paths = _demo_files(name, tmp_path / "work")
    out = tmp_path / "site"
    argv = ["view", *map(str, paths), "--data", f"{name}={folder}", "--no-judge", "--out", str(out)]

    def stop(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(site_module, "index_tables", stop)  # stopped after the manifest, before the pages
    assert main(argv) == 130
    assert (out / "site.json").is_file() and not (out / "index.html").exists()
    (out / "media").mkdir()
    (out / "media" / "kept.webp").write_bytes(b"drawn before the stop")
    monkeypatch.undo()
    assert main(argv) == 0
    assert (out / "index.html").is_file() and (out / "media" / "kept.webp").read_bytes() == b"drawn before the stop"
    stranger = tmp_path / "stranger"
    stranger.mkdir()
    (stranger / "notes.txt").write_text("mine")
    with pytest.raises(SiteError, match="not a site"):
        SiteFolder(stranger).prepare()


def test_without_jinja_view_and_score_html_stop_before_scoring(tmp_path: Path, monkeypatch, capsys):
    import sys

    monkeypatch.setitem(sys.modules, "jinja2", None)  # as if the view extra were not installed
    missing = str(tmp_path / "not-read.jsonl")  # scoring would complain about this file first
    for argv in (["view", missing, "--out", str(tmp_path / "site")],
                 ["score", missing, "--no-judge", "--html", str(tmp_path / "site")]):
        assert main(argv) == 1
        err = capsys.readouterr().err
        assert 'pip install "pixbench[view]"' in err and "not-read.jsonl" not in err
    assert not (tmp_path / "site").exists()
