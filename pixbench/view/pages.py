"""The site's HTML pages, rendered from the package's Jinja2 templates (``pixbench/view/templates``), and its
static files (``pixbench/view/static``), copied as they are.

Every page extends ``base.html``: the header with the links to each benchmark's samples, the SVG filters that
colour a 1-bit mask (``fill-<colour>``: the mask filled; ``line-<colour>``: its outline, the mask less its
erosion), ``static/site.css`` and ``static/site.js``. Templates are autoescaped: text from predictions files
(model names, replies) never becomes markup.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import Any

from pixbench.view.layout import SiteFolder

#: Mask colours (name -> RGB in 0..1, as the SVG filters take them): ground truth, the model's mask, a second
#: model's mask (compare), a candidate.
MASK_COLOURS: dict[str, tuple[float, float, float]] = {
    "gt": (0.235, 0.706, 0.294), "pred": (0.902, 0.098, 0.294), "alt": (0.263, 0.388, 0.847),
    "cand": (1.0, 0.882, 0.098)}


def require_jinja() -> Any:
    """The ``jinja2`` module; ``ImportError`` with the install hint when it is missing (checked before scoring,
    so a missing extra costs no scoring run)."""
    try:
        import jinja2
    except ImportError:
        raise ImportError('pixbench view needs Jinja2: pip install "pixbench[view]"') from None
    return jinja2


@lru_cache(maxsize=1)
def _environment() -> Any:
    jinja2 = require_jinja()
    templates = resources.files("pixbench.view") / "templates"
    loader = jinja2.DictLoader({entry.name: entry.read_text(encoding="utf-8") for entry in templates.iterdir()
                                if entry.name.endswith(".html")})
    return jinja2.Environment(loader=loader, autoescape=True, undefined=jinja2.StrictUndefined,
                              trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)


def render(template: str, **context: Any) -> str:
    """The page ``template`` (a file of ``templates/``) filled with ``context`` (plus :data:`MASK_COLOURS`)."""
    return str(_environment().get_template(template).render(mask_colours=MASK_COLOURS, **context))


def write_static(folder: SiteFolder) -> None:
    """Copy ``static/`` (style sheet, scripts) into the site."""
    for entry in (resources.files("pixbench.view") / "static").iterdir():
        if entry.is_file():
            folder.write_bytes(f"static/{entry.name}", entry.read_bytes())
