"""Build the site: the index from the report, then each benchmark's samples, then the manifest.

:func:`build_site` takes what a score run produced (:class:`~pixbench.score_files.Evaluation`: the results, the
references and the predictions files read) and the report made of it, so the site shows exactly the numbers
`pixbench score` printed. Each benchmark's samples are written by the writer its rules name
(:attr:`~pixbench.benchmarks.base.Benchmark.sample_pages`: ``image-rows`` or ``probe-players``; a benchmark that
names none gets its tables only, and the index says so)
(:data:`SAMPLE_WRITERS`: ``image`` rows, ``video`` expressions), one row at a time (one image in memory).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pixbench.benchmarks import REGISTRY
from pixbench.view.context import ModelFile, SiteContext, SiteOptions, SiteSummary
from pixbench.view.layout import Manifest, SiteFolder, file_hash, slug
from pixbench.view.pages import render, write_static
from pixbench.view.tables import index_tables, rank_choices

if TYPE_CHECKING:
    from pixbench.score_files import Evaluation
    from pixbench.score_report import Report

logger = logging.getLogger(__name__)


#: A sample writer: ``(context, benchmark name, reference)``.
SampleWriter = Callable[[SiteContext, str, Any], None]


def sample_writers() -> dict[str, SampleWriter]:
    """The writers by the name a benchmark's rules give its sample pages."""
    from pixbench.view.image_samples import write_samples as write_image_samples
    from pixbench.view.video_samples import write_samples as write_video_samples

    return {"image-rows": write_image_samples, "probe-players": write_video_samples}


#: The grid page of each form of sample pages (the header links to it with ``?b=<benchmark>``).
GRID_PAGES = {"image-rows": "samples.html", "probe-players": "videos.html"}


def sample_links(run: Evaluation) -> list[dict[str, str]]:
    """The header's links: each benchmark's samples grid."""
    links = []
    for name in REGISTRY:
        benchmark = REGISTRY[name]
        if name in run.references and benchmark.sample_pages in GRID_PAGES \
                and any(r.benchmark == name for r in run.results):
            page = GRID_PAGES[benchmark.sample_pages]
            links.append({"href": f"{page}?b={name}", "text": f"{benchmark.display_name} samples"})
    return links


def model_files(run: Evaluation) -> dict[str, ModelFile]:
    """Every model of the predictions files, with the hash of its file (the first file naming it)."""
    models: dict[str, ModelFile] = {}
    hashes: dict[Path, str] = {}
    for predictions_file in run.files:
        path = Path(predictions_file.path)
        for model in predictions_file.models:
            if model not in models:
                digest = hashes.setdefault(path, file_hash(path))
                models[model] = ModelFile(model, slug(model), path, digest)
    return models


def build_site(out: Path, *, run: Evaluation, report: Report, options: SiteOptions | None = None,
               progress: bool = False) -> SiteSummary:
    """Write the site of ``run`` (scored into ``report``) to ``out`` (see :mod:`pixbench.view`).

    ``out`` must be new, empty or a site written before (its files are kept where still right); otherwise
    :class:`~pixbench.view.layout.SiteError`.
    """
    options = options or SiteOptions()
    folder = SiteFolder(out)
    folder.prepare()
    folder.mark_building()
    models = model_files(run)
    document = report.to_json()
    context = SiteContext(folder, options, run, models, progress, pages=["index.html"],
                          settings=document.get("settings", {}), sample_links=sample_links(run))
    write_static(folder)
    benchmarks = index_tables(report, rank_by=options.rank_by)
    folder.write_data("report", document)
    folder.write_text("index.html", render("index.html", **context.page_context(
        benchmarks=benchmarks, report=document, rank_choices=rank_choices(report),
        provenance=_provenance(report))))
    writers = sample_writers()
    for name in REGISTRY:
        reference = run.references.get(name)
        if reference is None or not any(r.benchmark == name for r in run.results):
            continue
        writer = writers.get(REGISTRY[name].sample_pages or "")
        if writer is None:
            logger.warning("%s: no sample pages for this benchmark yet (its tables are on the index)", name)
            continue
        writer(context, name, reference)
    for page in dict.fromkeys(context.pages[1:]):
        folder.write_text(page, render(page, **context.page_context()))
    inputs = {"predictions": {m.model: {"file": str(m.path), "sha256": m.sha256} for m in models.values()},
              "datasets": document.get("datasets", {}), "settings": document.get("settings", {}),
              "options": {"max_side": options.max_side, "thumb_side": options.thumb_side,
                          "video_frames": options.video_frames, "video_side": options.video_side}}
    folder.write_manifest(Manifest(inputs))
    return SiteSummary(out, tuple(dict.fromkeys(context.pages)), folder.written, folder.kept, folder.bytes)


def _provenance(report: Report) -> list[str]:
    from pixbench.score_report import provenance_lines

    return provenance_lines(report)
