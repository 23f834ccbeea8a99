"""What a site's writers share: the options of a build, the models of the predictions files, and the context
handed to each benchmark's sample writer (:mod:`pixbench.view.site` builds it)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pixbench.version import __version__
from pixbench.view.layout import SiteFolder
from pixbench.view.media import DEFAULT_MAX_SIDE

if TYPE_CHECKING:
    from pixbench.score_files import Evaluation


@dataclass(frozen=True)
class SiteOptions:
    """How a site is built.

    Attributes:
        title: the site's title (every page's header).
        max_side: the longer side of images and masks on sample pages, in pixels.
        thumb_side: the longer side of the grid's thumbnails.
        rank_by: the metric leaderboards rank by (default: each benchmark's headline).
        iou_gap: a compare page lists a sample where the two models' IoUs differ by more than this (0..1).
        grid_page: samples per grid page.
        video_frames: at most this many frames of a clip are shown (evenly spaced; every frame when shorter).
        video_side: the longer side of a video frame on the player, in pixels.
        folders: benchmark -> its built folder (images and frames are read from there).
    """

    title: str = "pixbench results"
    max_side: int = DEFAULT_MAX_SIDE
    thumb_side: int = 256
    rank_by: str | None = None
    iou_gap: float = 0.25
    grid_page: int = 48
    video_frames: int = 48
    video_side: int = 480
    folders: Mapping[str, Path] | None = None


@dataclass(frozen=True)
class SiteSummary:
    """What a build wrote: the site's folder, its pages (``index.html`` first), files written and kept, and the
    bytes written."""

    root: Path
    pages: tuple[str, ...]
    written: int
    kept: int
    bytes_written: int

    @property
    def index(self) -> Path:
        return self.root / "index.html"


@dataclass(frozen=True)
class ModelFile:
    """A model's lines in one predictions file: its name, a file-name-safe key and the file's hash (media drawn
    from its masks are named by it, so a changed file is drawn again)."""

    model: str
    key: str
    path: Path
    sha256: str


@dataclass
class SiteContext:
    """What every sample writer is handed."""

    folder: SiteFolder
    options: SiteOptions
    run: Evaluation
    models: dict[str, ModelFile]
    progress: bool
    pages: list[str]
    settings: Mapping[str, Any]
    #: The header's links (``href``, ``text``): each benchmark's samples grid.
    sample_links: list[dict[str, str]]

    def page_context(self, **extra: Any) -> dict[str, Any]:
        return {"title": self.options.title, "version": __version__, "sample_links": self.sample_links, **extra}
