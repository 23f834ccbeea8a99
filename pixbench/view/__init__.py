"""``pixbench view``: one model's results, or many models', as a static site that opens from ``file://``.

The site is one folder, with no network use at all (no CDN, no external font), publishable as it is (GitHub
Pages, a supplementary zip)::

    SITE/index.html          the results tables as `pixbench score` computes them, a leaderboard with the
                             papers' published rows beside, and each benchmark's summary (motion reliance)
    SITE/samples.html        a benchmark's samples for one model: a filterable, sortable grid (?b=&m=)
    SITE/sample.html         one image row: image, ground truth and the models' masks as overlays (?b=&id=&m=)
    SITE/compare.html        two models: the samples where they differ (?b=&a=&c=)
    SITE/video.html          one expression of a video benchmark: every probe's frames as a player (?b=&id=&m=)
    SITE/static/             the style sheet and the pages' scripts (plain JavaScript)
    SITE/data/*.js           the pages' data, one small file per page and part, loaded on demand
    SITE/media/<benchmark>/  images and masks at display size (WebP images, 1-bit PNG masks), written once
    SITE/site.json           what the site was built from (files, hashes, settings): a later build with the same
                             inputs keeps every file already written (resumable)

Pages are HTML from Jinja2 templates; their data are JavaScript files that hand a JSON document to
``pixbench.put(key, document)`` (a browser does not let a page opened from ``file://`` fetch JSON, but it runs
the scripts it is given), loaded by ``pixbench.need(key)``. The numbers are the report's own: the index embeds
:meth:`pixbench.score_report.Report.to_json` of the same results `pixbench score --format json` prints, and
shows each as `pixbench score`'s table does (one decimal), keeping the exact value in ``data-value``.

Masks are drawn by the browser from 1-bit PNGs (white where the mask is): colour, fill or outline and
opacity are CSS and an SVG filter, so toggling them costs nothing and a mask is written once.

:func:`build_site` is the library entry (``pixbench view`` and ``pixbench score --html`` call it).
"""

from pixbench.view.context import SiteOptions, SiteSummary
from pixbench.view.site import build_site

__all__ = ["SiteOptions", "SiteSummary", "build_site"]
