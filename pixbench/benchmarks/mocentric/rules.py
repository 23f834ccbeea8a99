"""MoCentric-Bench (PixFoundation 2.0): MeViS ``valid_u`` referring expressions in motion-altered clips.

- **Rows** are expressions, keyed ``"<video_id>_<exp_id>"``: the ``expressions`` config (every original
  expression) and the ``reversed`` config (the expressions rewritten for the clip played backwards).
- **Probes** (:mod:`pixbench.benchmarks.mocentric.views`): ``original``, ``static``, ``static-pair``, ``reversed``,
  ``reversed-pair``; pair probes take a layout. A predictions line holds one mask per presented frame.
- **Results**: one per (model, probe, layout): J, F, J&F (and F_native, J&F_native, D_FPR for pairs);
  ``static``: J_bg, H_bg, FPR, FG_FPR (:mod:`pixbench.metrics.video`).
- **Resampling**: expressions (each expression's value of every metric is resampled as a unit).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import numpy as np

from pixbench.annotation.rle import Rle
from pixbench.benchmarks.base import Benchmark, BuilderSpec, BuildOption, Kind, Presented, SummaryColumn
from pixbench.benchmarks.mocentric.rows import ExpressionRow, VideoLine, VideoReference
from pixbench.benchmarks.mocentric.views import (
    DEFAULT_LAYOUT,
    LAYOUTS,
    PAIR_PROBES,
    PROBES,
    REVERSED_PROBES,
    ProbeView,
    ViewError,
    canvas_size,
    check_probe_layout,
    probe_view,
)
from pixbench.builds.shards import read_columns
from pixbench.metrics import stats
from pixbench.outcomes import Plan, RowUnits
from pixbench.problems import shorten

if TYPE_CHECKING:
    from pixbench.annotation.rle import RunsCache
    from pixbench.prediction_records import Prediction
    from pixbench.results import ScoreResult, ScoreSettings

#: The columns scoring reads from the ``expressions`` and ``reversed`` configs.
EXPRESSION_COLUMNS = ("id", "video_id", "exp_id", "expression", "anno_ids", "height", "width", "frame_names",
                      "keyframe", "keyframe_from_csv", "masks")
#: Config name -> the shard-name prefix under ``data/`` (see :mod:`pixbench.benchmarks.mocentric.build`).
SHARD_PREFIX = {"expressions": "test-expressions", "reversed": "test-reversed", "videos": "test-videos"}


def _rows(folder: Path, config: str) -> dict[str, ExpressionRow]:
    shards = sorted((folder / "data").glob(f"{SHARD_PREFIX[config]}-*.parquet"))
    if not shards:
        raise ValueError(f"{folder} holds no data/{SHARD_PREFIX[config]}-*.parquet: not a built MoCentric-Bench "
                         f"(config {config!r})")
    rows: dict[str, ExpressionRow] = {}
    for shard in shards:
        table = read_columns(shard, EXPRESSION_COLUMNS, what=f"mocentric config {config!r}")
        for k in range(len(table["id"])):
            try:
                masks = tuple(Rle(size=[int(v) for v in m["size"]], counts=str(m["counts"]))
                              for m in table["masks"][k])
                row = ExpressionRow(
                    id=str(table["id"][k]), video_id=str(table["video_id"][k]), exp_id=int(table["exp_id"][k]),
                    expression=str(table["expression"][k]), anno_ids=tuple(int(v) for v in table["anno_ids"][k]),
                    height=int(table["height"][k]), width=int(table["width"][k]),
                    frame_names=tuple(str(v) for v in table["frame_names"][k]), keyframe=int(table["keyframe"][k]),
                    keyframe_from_csv=bool(table["keyframe_from_csv"][k]), masks=masks)
            except (TypeError, ValueError, KeyError) as exc:
                raise ValueError(f"{shard}: row {k} is malformed: {type(exc).__name__}: {exc}") from None
            if len(row.masks) != len(row.frame_names) or not 0 <= row.keyframe < len(row.frame_names):
                raise ValueError(f"{shard}: id {row.id}: {len(row.masks)} masks for {len(row.frame_names)} frames "
                                 f"(keyframe {row.keyframe})")
            bad = next((m["size"] for m in row.masks if m["size"] != [row.height, row.width]), None)
            if bad is not None:
                raise ValueError(f"{shard}: id {row.id}: a mask of size {bad} in a {row.height}x{row.width} video")
            if row.id in rows:
                raise ValueError(f"{shard}: id {row.id} repeated")
            rows[row.id] = row
    return rows


@dataclass(frozen=True)
class ProbeClip:
    """A probe view as the video baselines see it (``pixbench.baselines.video_runner.ClipView``): the view, the
    presented position of the row's keyframe, and the axis the halves of a pair canvas swap along; and, for the
    site's players (``pixbench.view.video_plan.PlayerClip``), the view's frame names, the original frames of each
    half at every presented position and where the halves lie (:class:`ProbeView`'s, as they are)."""

    view: ProbeView
    keyframe: int

    @property
    def length(self) -> int:
        return self.view.length

    @property
    def canvas(self) -> tuple[int, int]:
        return self.view.canvas

    @property
    def names(self) -> tuple[str, ...]:
        return self.view.names

    @property
    def target_frames(self) -> tuple[int, ...]:
        return self.view.target_frames

    @property
    def other_frames(self) -> tuple[int, ...] | None:
        return self.view.other_frames

    @property
    def target(self) -> tuple[slice, slice]:
        return self.view.target

    @property
    def other(self) -> tuple[slice, slice] | None:
        return self.view.other

    @property
    def mirror_axis(self) -> Literal["x", "y"] | None:
        """``y`` for the stacked layout, ``x`` for the side-by-side ones, None without halves."""
        if self.view.other is None:
            return None
        return "y" if self.view.layout == "target-bottom" else "x"

    def compose(self, frames: Sequence[np.ndarray]) -> list[np.ndarray]:
        return self.view.compose(frames)


class ProbeClips:
    """MoCentric-Bench's clips for the video baselines (``pixbench.baselines.video_runner.ClipSource``): the
    probe views; pair probes take every layout, their published default first; every expression has a
    keyframe; one model's lines may answer every probe."""

    keyframes = True
    exclusive_probes = False

    def layouts(self, probe: str) -> tuple[str, ...]:
        if probe not in PAIR_PROBES:
            return ()
        default = DEFAULT_LAYOUT[probe]
        return (default, *(layout for layout in LAYOUTS if layout != default))

    def view(self, row: ExpressionRow, probe: str, layout: str | None) -> ProbeClip:
        """The presented keyframe is ``k`` for ``original``, ``static`` (every frame is ``I_k``) and
        ``static-pair``, ``T - 1 - k`` for the reversed probes."""
        view = probe_view(probe=probe, layout=layout, frame_names=row.frame_names, keyframe=row.keyframe,
                          height=row.height, width=row.width)
        keyframe = row.keyframe if probe == "static" else view.target_frames.index(row.keyframe)
        return ProbeClip(view, keyframe)


class MoCentric(Benchmark):
    name: ClassVar[str] = "mocentric"
    display_name: ClassVar[str] = "MoCentric-Bench"
    hub_id: ClassVar[str] = "IVUlab/MoCentric-Bench"
    builder: ClassVar[BuilderSpec] = BuilderSpec(
        "pixbench.benchmarks.mocentric.build", annotations=False, media="with_frames",
        inputs={"mevis_root": ("mevis", "path"), "keyframes": ("keyframes", "path"),
                "reverse_expressions": ("reverse_expressions", "path"), "split": ("split", "text")},
        needs={"mevis": "--mevis ROOT (the MeViS folder holding valid_u/)",
               "keyframes": "--keyframes CSV (mevis_keyframes.csv)",
               "reverse_expressions": "--reverse-expressions JSON (meta_expressions_reverse_filtered.json)"},
        group="mocentric inputs (MeViS is CC BY-NC-SA 4.0; pixbench ships none of it)",
        options=(BuildOption(("--mevis",), "the MeViS root: ROOT/<split>/{JPEGImages/, meta_expressions.json, "
                                           "mask_dict.json}", metavar="ROOT"),
                 BuildOption(("--keyframes",), "mevis_keyframes.csv (,video_name,frame,exp_id)", metavar="CSV"),
                 BuildOption(("--reverse-expressions",), "meta_expressions_reverse_filtered.json", metavar="JSON"),
                 BuildOption(("--split",), "the MeViS split folder under ROOT (default: valid_u)", default="valid_u")))
    configs: ClassVar[tuple[str, ...]] = ("expressions", "reversed", "videos")
    kind: ClassVar[Kind] = "video"
    probes: ClassVar[tuple[str, ...]] = PROBES
    report_columns: ClassVar[tuple[tuple[str, str], ...]] = (
        ("J", "J"), ("F", "F"), ("JF", "J&F"), ("F_native", "F nat"), ("JF_native", "J&F nat"), ("D_FPR", "D_FPR"),
        ("J_bg", "J_bg"), ("H_bg", "H_bg"), ("FPR", "FPR"), ("FG_FPR", "FG_FPR"))
    labels: ClassVar[tuple[tuple[str, str], ...]] = (("probe", "probe"), ("layout", "layout"))
    published: ClassVar[bool] = False
    headline: ClassVar[str] = "JF"
    sample_pages: ClassVar[str | None] = "probe-players"
    #: Motion reliance at a glance: the real clip against the probes that take its motion away or reverse it.
    summary_columns: ClassVar[tuple[SummaryColumn, ...]] = (
        SummaryColumn("original J&F", "original", "JF",
                      "segmenting the described object in the real clip (MeViS valid_u); the baseline to compare with"),
        SummaryColumn("static FPR", "static", "FPR",
                      "pixels segmented in a still clip, where nothing moves as described: lower is better; high "
                      "means the model answers from appearance"),
        SummaryColumn("static FG_FPR", "static", "FG_FPR",
                      "the still object itself segmented: lower is better; high means motion words are ignored"),
        SummaryColumn("static-pair J&F", "static-pair", "JF",
                      "the real clip beside its still keyframe: close to original J&F when the model follows motion"),
        SummaryColumn("static-pair D_FPR", "static-pair", "D_FPR",
                      "the still half segmented too: lower is better"),
        SummaryColumn("reversed J&F", "reversed", "JF",
                      "the clip played backwards with the expression rewritten for it: low means the model "
                      "expects the original order"),
        SummaryColumn("reversed-pair J&F", "reversed-pair", "JF",
                      "original and reversed side by side, the reversed expression: only motion order tells the "
                      "halves apart"),
        SummaryColumn("reversed-pair D_FPR", "reversed-pair", "D_FPR",
                      "the original-order half segmented too: lower is better"))

    def clip_views(self) -> ProbeClips:
        """What the video baselines show a model: the probe views (:class:`ProbeClips`)."""
        return ProbeClips()

    def reference_files(self, folder: Path) -> list[Path]:
        """The shards scoring reads (never the frames): hashed to name the dataset revision."""
        return sorted(p for config in ("expressions", "reversed")
                      for p in (folder / "data").glob(f"{SHARD_PREFIX[config]}-*.parquet"))

    def read_reference(self, folder: Path, origin: dict[str, str]) -> VideoReference:
        expressions = _rows(folder, "expressions")
        reversed_rows = _rows(folder, "reversed")
        unknown = sorted(set(reversed_rows) - set(expressions))
        if unknown:
            raise ValueError(f"{folder}: reversed expressions without an original one: {unknown[:5]}")
        return VideoReference(self.name, expressions, reversed_rows, origin)

    def line_index(self, reference: VideoReference) -> Mapping[str, VideoLine]:
        return {row_id: VideoLine(row.frame_names, row.height, row.width, row_id in reference.reversed)
                for row_id, row in reference.expressions.items()}

    def presented(self, entry: VideoLine | None, probe: Any, layout: Any) -> Presented | None:
        if not isinstance(probe, str) or probe not in PROBES:
            raise ValueError(f"unknown probe {shorten(probe)} (expected one of {list(PROBES)})")
        try:
            check_probe_layout(probe, layout)
        except ViewError as exc:
            raise ValueError(str(exc)) from None
        if entry is None:
            return None
        if probe in REVERSED_PROBES and not entry.reversed:
            raise ValueError(f"this expression has no reversed form: not in the {probe!r} probe's expressions "
                             "(the `reversed` config)")
        return Presented(canvas_size(entry.height, entry.width, probe, layout), entry.frame_names)

    def score(self, *, model: str, predictions: Sequence[Prediction], reference: VideoReference,
              settings: ScoreSettings, judge: Any | None = None, judge_note: str | None = None, progress: bool = False,
              variant: str | None = None, runs: RunsCache | None = None, workers: int = 1) -> list[ScoreResult]:
        from pixbench.benchmarks.mocentric.scoring import score_video_model

        return score_video_model(benchmark=self.name, model=model, predictions=predictions, reference=reference,
                                 settings=settings, variant=variant, progress=progress, workers=workers)

    def unanswered(self, predictions: Sequence[Prediction], reference: VideoReference) -> list[str]:
        present: dict[tuple[str, str | None], set[str]] = {}
        for pred in predictions:
            present.setdefault((pred.probe, pred.layout), set()).add(str(pred.id))
        messages = []
        for (probe, layout), ids in sorted(present.items(), key=lambda item: (item[0][0], item[0][1] or "")):
            missing = sorted(set(reference.rows_for(probe)) - ids)
            if missing:
                messages.append(f"{probe}{' ' + layout if layout else ''}: {len(missing)} expression(s) without a "
                                f"line (--strict): {missing[:10]}{' ...' if len(missing) > 10 else ''}")
        return messages

    def resampling_plans(self, units: RowUnits, rows: np.ndarray, keep_pairs: np.ndarray | None) -> dict[str, Plan]:
        """Every metric is a mean over expressions of a per-expression value (a fraction): resample expressions."""
        return {name: Plan("rows", int(rows.sum()), partial(stats.weighted_mean, values=values[rows]))
                for name, values in units.values.items()}


MOCENTRIC = MoCentric()
