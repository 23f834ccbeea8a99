"""The protocol every benchmark implements.

A :class:`Benchmark` says who it is (``name``, ``display_name``), where its published copy lives
(``hub_id``, ``configs``), what kind of predictions lines it takes (``kind``: ``image`` lines with one
mask or candidates per row, ``video`` lines with one mask per presented frame) and which probes, how its
ground truth is read from a built folder, what a predictions line is checked against, how one model's
lines become results (one or several: a video benchmark gives one per probe and layout), which columns
its report rows show, and how its rows are resampled for intervals and paired comparisons. Everything
else in pixbench is benchmark-agnostic and asks the registry (:mod:`pixbench.benchmarks`).
"""

from __future__ import annotations

import dataclasses
import sys
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import numpy as np

from pixbench.outcomes import Plan, RowUnits

if TYPE_CHECKING:
    from pixbench.annotation.rle import RunsCache
    from pixbench.prediction_records import Prediction
    from pixbench.results import ScoreResult, ScoreSettings

Kind = Literal["image", "video"]


@dataclass(frozen=True)
class Presented:
    """What a video line of one probe must hold: one mask of ``canvas`` (height, width) per presented frame,
    named ``frame_names`` (for ``png_dir`` folders)."""

    canvas: tuple[int, int]
    frame_names: tuple[str, ...]


#: How a builder's keyword is made from its command-line option's value (:class:`BuilderSpec`).
Conversion = Literal["path", "paths", "flag", "text"]


@dataclass(frozen=True)
class BuildOption:
    """A command-line option of ``pixbench build`` (and, for a builder without an annotation folder, of
    ``check-annotations``) that a benchmark's builder reads: its ``flags`` (the first names its ``dest``:
    ``--reverse-expressions`` -> ``reverse_expressions``), ``help``, ``metavar``, argparse ``action``
    (``store``, ``append`` for a repeatable option, ``store_true`` for a switch) and ``default``. Two
    benchmarks may declare the same option (the first in the registry describes it)."""

    flags: tuple[str, ...]
    help: str
    metavar: str | None = None
    action: Literal["store", "append", "store_true"] = "store"
    default: str | None = None

    @property
    def dest(self) -> str:
        return self.flags[0].lstrip("-").replace("-", "_")


@dataclass(frozen=True)
class BuilderSpec:
    """How ``pixbench build NAME`` and ``check-annotations NAME`` call the benchmark's builder module.

    Every builder's ``build`` takes ``out_dir``, ``force`` and the keyword ``media`` (``with_images``;
    ``--no-images`` / ``--no-frames`` turns it off); with ``annotations`` (the default) also
    ``annotations_dir`` (``--annotations``), and its ``check`` takes that folder alone. ``inputs`` adds its own
    keywords: keyword -> (the option's ``dest``, how its value converts: ``path`` (or None), ``paths`` (a
    list), ``flag``, ``text``); without ``annotations``, ``check`` takes these keywords too. ``needs`` lists
    options it cannot run without: ``dest`` -> what the usage error asks for. ``options`` declares the
    command-line options behind ``inputs`` (:class:`BuildOption`), shown under ``group`` (an argument group's
    title, e.g. the license of the raw data) when given; the generic options (``--annotations``, ``--out``,
    ``--no-images``, ``--force``) are the command's own.
    """

    module: str
    inputs: Mapping[str, tuple[str, Conversion]] = dataclasses.field(default_factory=dict)
    needs: Mapping[str, str] = dataclasses.field(default_factory=dict)
    annotations: bool = True
    media: str = "with_images"
    options: tuple[BuildOption, ...] = ()
    group: str | None = None


@dataclass(frozen=True)
class SummaryColumn:
    """One column of a benchmark's per-model summary (what a reader should look at first): ``metric`` of the
    result of ``probe`` (in ``layout``; ``None``: the probe's default layout), headed ``header``, with a one-line
    ``reading`` (what a high or low value means)."""

    header: str
    probe: str
    metric: str
    reading: str
    layout: str | None = None


@dataclass(frozen=True)
class PublishedRow:
    """One row of a published table for a benchmark: the ``method`` as printed, the table's ``section``, its
    ``metrics`` (metric key -> percent for each metric the table has, ``None`` where it prints "-"), the row's other
    columns (``notes``: the protocol it was measured under, e.g. ``selection``, ``base_llm``, ``probe``,
    ``protocol``, ``fps``; :mod:`pixbench.published` reads them) and where it comes from (``source``: paper and
    table, or a URL)."""

    method: str
    section: str
    metrics: Mapping[str, float | None]
    notes: Mapping[str, str] = dataclasses.field(default_factory=dict)
    source: str = ""


#: The columns of a ``published.tsv`` that are neither metrics nor notes.
PUBLISHED_FIELDS = ("section", "method", "source")


def read_published(path: Path, metrics: Sequence[str], source: str = "") -> list[PublishedRow]:
    """The rows of a ``published.tsv`` (tab-separated; a header naming ``section``, ``method``, any metric keys of
    ``metrics`` and other columns; ``-`` for a value the source does not give: ``None``; a metric without a column
    is not in the row's ``metrics``). ``source`` is the citation of rows without a ``source`` cell. ``ValueError``
    naming the file, line and column."""
    lines = path.read_text(encoding="utf-8").splitlines()
    if not lines:
        raise ValueError(f"{path}: empty (expected a header line)")
    header = lines[0].split("\t")
    for needed in ("section", "method"):
        if needed not in header:
            raise ValueError(f"{path}:1: no {needed!r} column (header: {header})")
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        raise ValueError(f"{path}:1: column(s) {repeated} named twice")
    rows = []
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        cells = line.split("\t")
        if len(cells) != len(header):
            raise ValueError(f"{path}:{number}: {len(cells)} cells for {len(header)} columns")
        record = dict(zip(header, cells))
        if not record["method"].strip():
            raise ValueError(f"{path}:{number}: column method: expected the method's name, but got an empty cell")
        values: dict[str, float | None] = {}
        for key in (key for key in metrics if key in record):
            text = record[key].strip()
            try:
                values[key] = None if text in ("-", "") else float(text)
            except ValueError:
                raise ValueError(f"{path}:{number}: column {key}: expected a number or '-', but got {text!r}") from None
        notes = {k: v for k, v in record.items() if k not in PUBLISHED_FIELDS and k not in metrics}
        cited = record.get("source", "").strip() or source
        rows.append(PublishedRow(record["method"], record["section"], values, notes, cited))
    return rows


class Benchmark(ABC):
    """One benchmark: identity, hub copy, ground truth, scoring and resampling rules.

    Attributes:
        name: the key of predictions lines and ``--data`` (``pixmmvp``).
        display_name: the name in tables (``PixMMVP``).
        hub_id: the published dataset repo (``IVUlab/PixMMVP``).
        configs: the dataset configs of the hub copy (the default first).
        kind: ``image`` or ``video``: the form of its predictions lines (see :mod:`pixbench.predictions`).
        probes: the probes its lines may name.
        report_columns: ``(metric key, header)`` of the report's table, in order.
        labels: ``(result field, header)`` naming a result in the table besides model and benchmark
            (``select``; ``probe`` and ``layout``).
        published: whether ``hub_id`` holds a public copy (scoring falls back to it without ``--data``).
        builder: how ``pixbench build`` calls its builder (:class:`BuilderSpec`; the module is imported only
            when building).
        headline: the metric a leaderboard ranks models by (the benchmark's one-number summary).
        summary_columns: the per-model summary a results page shows first (:class:`SummaryColumn`; none by
            default).
        published_source: the citation of the rows of ``published.tsv`` (in the benchmark's folder) that name no
            ``source`` of their own (:meth:`published_rows`).
    """

    name: ClassVar[str]
    display_name: ClassVar[str]
    hub_id: ClassVar[str]
    configs: ClassVar[tuple[str, ...]] = ("default",)
    kind: ClassVar[Kind]
    probes: ClassVar[tuple[str, ...]]
    report_columns: ClassVar[tuple[tuple[str, str], ...]]
    labels: ClassVar[tuple[tuple[str, str], ...]]
    published: ClassVar[bool] = True
    builder: ClassVar[BuilderSpec]
    headline: ClassVar[str]
    summary_columns: ClassVar[tuple[SummaryColumn, ...]] = ()
    #: What reports call a build's variant of the answer labels, where the benchmark has variants.
    label_set_title: ClassVar[str] = "labels"
    #: How ``pixbench view`` draws its samples: ``image-rows`` (an image, its ground truth and masks per row) or
    #: ``probe-players`` (each probe's presented frames as a player, drawn from the benchmark's
    #: :meth:`clip_views`: MoCentric's probes, MeViS's versions); ``None``: tables only.
    sample_pages: ClassVar[str | None] = None
    published_source: ClassVar[str | None] = None
    #: The scoring protocols the benchmark defines (``--protocol``); the first is the default.
    protocols: ClassVar[tuple[str, ...]] = ("official",)

    def check_settings(self, settings: ScoreSettings) -> None:
        """``ValueError`` when ``settings`` ask for what this benchmark does not define (a protocol it lacks,
        a frame rate without a protocol that re-samples); benchmarks with protocols of their own extend it."""
        if settings.protocol not in self.protocols:
            raise ValueError(f"--protocol {settings.protocol}: {self.display_name} is scored under "
                             f"{' or '.join(self.protocols)} only (got {settings.protocol!r})")
        for flag, value in (("--fps", settings.fps), ("--release-fps", settings.release_fps)):
            if value is not None and len(self.protocols) == 1:
                raise ValueError(f"{flag} {value:g}: {self.display_name} re-samples no frames (it has no "
                                 "protocol other than official)")

    def __repr__(self) -> str:
        return f"<benchmark {self.name}>"

    def clip_views(self) -> Any | None:
        """What the video baselines show a model of this benchmark (a
        ``pixbench.baselines.video_runner.ClipSource``: ``keyframes``, ``exclusive_probes``, ``layouts(probe)``,
        ``view(row, probe, layout)``); ``None``: the baselines do not run on it (image benchmarks)."""
        return None

    def published_rows(self) -> list[PublishedRow]:
        """The published rows for this benchmark (``published.tsv`` beside its rules; none when it has no such
        file), with the metrics of :attr:`report_columns`; a row without a ``source`` cell cites
        :attr:`published_source`."""
        path = Path(sys.modules[type(self).__module__].__file__ or "").parent / "published.tsv"
        if not path.is_file():
            return []
        return read_published(path, [key for key, _ in self.report_columns], self.published_source or "")

    @property
    def row_noun(self) -> str:
        """What reports call the rows scored (``questions`` for a benchmark of image lines, ``expressions`` for
        video lines): "300 of 300 questions scored"."""
        return "questions" if self.kind == "image" else "expressions"

    def reference_files(self, folder: Path) -> list[Path]:
        """The files of a built folder that scoring reads (their hash names the dataset revision)."""
        return sorted((folder / "data").rglob("*.parquet"))

    @abstractmethod
    def read_reference(self, folder: Path, origin: dict[str, str]) -> Any:
        """The ground truth of a built folder (``origin``: where it came from, kept in the reference);
        ``ValueError`` naming the file when anything is damaged."""

    @abstractmethod
    def line_index(self, reference: Any) -> Mapping[Any, Any]:
        """What a predictions line of this benchmark is checked against: row id -> what the line's masks
        must look like (an image's ``(height, width)``; a video row's frames and canvas)."""

    @abstractmethod
    def score(self, *, model: str, predictions: Sequence[Prediction], reference: Any, settings: ScoreSettings,
              judge: Any | None = None, judge_note: str | None = None, progress: bool = False,
              variant: str | None = None, runs: RunsCache | None = None, workers: int = 1) -> list[ScoreResult]:
        """The results of one model's lines (ids already validated): one per result group of the benchmark."""

    @abstractmethod
    def unanswered(self, predictions: Sequence[Prediction], reference: Any) -> list[str]:
        """``--strict``: one message per result group whose rows lack a line (none when every row has one)."""

    @abstractmethod
    def resampling_plans(self, units: RowUnits, rows: np.ndarray, keep_pairs: np.ndarray | None) -> dict[str, Plan]:
        """The bootstrap plan of every measured metric, on the rows marked in ``rows`` (and the pairs in
        ``keep_pairs`` where the benchmark counts pairs)."""

    def presented(self, entry: Any, probe: Any, layout: Any) -> Presented | None:
        """For a video benchmark: what a line of ``probe`` and ``layout`` for the row ``entry`` (of
        :meth:`line_index`; ``None`` when no ground truth is known) must hold; ``ValueError`` saying what is
        wrong with the probe, layout or row."""
        raise ValueError(f"{self.name} takes image lines (a mask per row), not one mask per frame")

    def comparable_pairs(self, units: RowUnits, covered: np.ndarray) -> np.ndarray | None:
        """Which pairs a comparison keeps, given the rows both files cover (``None``: no pairs)."""
        return None
