"""MeViS (``valid_u`` of v1 and v2): referring video object segmentation of motion expressions.

- **Rows** are expressions, keyed ``"<video_id>_<exp_id>"``, in one config per version a build holds (``v1``,
  ``v2``); ids are per version (v2 left some of v1's out and added its own).
- **Probes** are the versions: a line's ``probe`` is ``v1`` or ``v2``, the expressions it answers, and it
  holds one mask per native frame of the video at the frame size (MoCentric-Bench's ``original`` probe
  shape; no layout). One model's lines are all of one version: mixing them is an error.
- **Results**: one per (model, version), under the official rules (:mod:`pixbench.benchmarks.mevis.scoring`):
  J&F, J, F over the target expressions; for v2 also N-acc, T-acc and J&F over all expressions; the DAVIS
  recall and decay of J and F; breakdowns by target kind and expression type; the version in the probe column
  and the rule in the notes.
- **Protocols** (``--protocol``, :mod:`pixbench.benchmarks.mevis.protocols`): ``official`` (default) and
  ``lmms-eval`` (expressions without a line dropped from the mean and counted; frames re-sampled at ``--fps``);
  every result names its protocol, the expressions scored of how many and the frame rule.
- **Resampling**: expressions, stratified by target / no-target where a version has both.

The release is CC BY-NC-SA 4.0: pixbench publishes no copy (``published`` is false; ``hub_id`` names where
the raw v2 release lives, not a pixbench build); build one with ``pixbench build mevis``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from pixbench.benchmarks.base import Benchmark, BuilderSpec, BuildOption, Kind, Presented, SummaryColumn
from pixbench.benchmarks.mevis.clips import CLIPS, NativeClips
from pixbench.benchmarks.mevis.protocols import PROTOCOLS, protocol_for
from pixbench.benchmarks.mevis.rows import MevisLine, MevisReference, read_rows
from pixbench.benchmarks.mevis.scoring import NO_TARGET, TARGET, score_version
from pixbench.metrics import stats
from pixbench.outcomes import Plan, RowUnits
from pixbench.problems import shorten

if TYPE_CHECKING:
    from pixbench.annotation.rle import RunsCache
    from pixbench.prediction_records import Prediction
    from pixbench.results import ScoreResult, ScoreSettings

#: The versions (the probes), in order; each is a config of a build (``data/test-<version>-*.parquet``).
VERSIONS: tuple[str, ...] = ("v1", "v2")


def _shards(folder: Path, version: str) -> list[Path]:
    return sorted((folder / "data").glob(f"test-{version}-*.parquet"))


def subset_mean(weights: np.ndarray, *, values: np.ndarray, members: np.ndarray) -> np.ndarray:
    """Per resample, the weighted mean (percent) of ``values`` (fractions) over the ``members`` units."""
    if members.all():
        return stats.weighted_mean(weights, values)
    return stats.weighted_ratio(weights, values * members, members.astype(np.float64))


def signed_subset_mean(weights: np.ndarray, *, values: np.ndarray, members: np.ndarray) -> np.ndarray:
    """:func:`subset_mean` of values in [-1, 1] (a decay), in percent of [-100, 100]."""
    return 2.0 * subset_mean(weights, values=(values + 1.0) / 2.0, members=members) - 100.0


class Mevis(Benchmark):
    name: ClassVar[str] = "mevis"
    display_name: ClassVar[str] = "MeViS"
    kind: ClassVar[Kind] = "video"
    probes: ClassVar[tuple[str, ...]] = VERSIONS
    configs: ClassVar[tuple[str, ...]] = (*VERSIONS, "videos")
    hub_id: ClassVar[str] = "FudanCVL/MeViSv2"
    published: ClassVar[bool] = False
    builder: ClassVar[BuilderSpec] = BuilderSpec(
        "pixbench.benchmarks.mevis.build", annotations=False, media="with_frames",
        inputs={"mevis_root": ("mevis", "path"), "version": ("version", "text"), "split": ("split", "text")},
        needs={"mevis": "--mevis ROOT (the MeViS folder holding valid_u/)"},
        group="mevis inputs (MeViS is CC BY-NC-SA 4.0; pixbench ships none of it)",
        options=(BuildOption(("--mevis",), "the MeViS root: ROOT/<split>/{JPEGImages/, meta_expressions.json and/or "
                                           "meta_expressions_v2.json, mask_dict.json}", metavar="ROOT"),
                 BuildOption(("--version",), "mevis: the MeViS version(s) to build, v1 (meta_expressions.json), v2 "
                                             "(meta_expressions_v2.json) or all (default: every one the split "
                                             "folder holds)", metavar="VERSION", default="all"),
                 BuildOption(("--split",), "the MeViS split folder under ROOT (default: valid_u)", default="valid_u")))
    protocols: ClassVar[tuple[str, ...]] = PROTOCOLS
    report_columns: ClassVar[tuple[tuple[str, str], ...]] = (
        ("JF", "J&F"), ("J", "J"), ("F", "F"), ("N_acc", "N-acc"), ("T_acc", "T-acc"), ("JF_all", "J&F all"),
        ("J_recall", "J-R"), ("J_decay", "J-D"), ("F_recall", "F-R"), ("F_decay", "F-D"))
    labels: ClassVar[tuple[tuple[str, str], ...]] = (("probe", "version"),)
    headline: ClassVar[str] = "JF"
    #: ``pixbench view``: per expression, its version's native frames as a player (the players of MoCentric-Bench,
    #: through :meth:`clip_views`), and a grid of the expressions per model.
    sample_pages: ClassVar[str | None] = "probe-players"
    summary_columns: ClassVar[tuple[SummaryColumn, ...]] = (
        SummaryColumn("v1 J&F", "v1", "JF", "MeViS v1 valid_u under the official rules (missing = 0)"),
        SummaryColumn("v2 J&F", "v2", "JF", "MeViS v2 valid_u, over the expressions that refer to an object"),
        SummaryColumn("v2 N-acc", "v2", "N_acc",
                      "v2's no-target expressions answered with an empty mask: higher is better; low means the "
                      "model segments something whatever the expression says"))

    def check_settings(self, settings: ScoreSettings) -> None:
        """A protocol MeViS defines; ``--fps`` only with one that re-samples (``lmms-eval``)."""
        protocol_for(settings.protocol, settings.fps, settings.release_fps)

    def clip_views(self) -> NativeClips:
        """What the video baselines show a model and the site's players draw: the native frames (:mod:`.clips`)."""
        return CLIPS

    def reference_files(self, folder: Path) -> list[Path]:
        """The versions' shards (never the frames): hashed to name the dataset revision."""
        return [path for version in VERSIONS for path in _shards(folder, version)]

    def read_reference(self, folder: Path, origin: dict[str, str]) -> MevisReference:
        versions = {version: read_rows(shards, version) for version in VERSIONS if (shards := _shards(folder, version))}
        if not versions:
            raise ValueError(f"{folder} holds no data/test-v1-*.parquet or data/test-v2-*.parquet: not a built MeViS")
        return MevisReference(self.name, versions, origin)

    def line_index(self, reference: MevisReference) -> Mapping[str, MevisLine]:
        built = tuple(reference.versions)
        index: dict[str, MevisLine] = {}
        for version, rows in reference.versions.items():
            for row_id, row in rows.items():
                known = index.get(row_id)
                versions = frozenset({version} | (known.versions if known is not None else set()))
                index[row_id] = MevisLine(row.frame_names, row.height, row.width, versions, built)
        return index

    def presented(self, entry: MevisLine | None, probe: Any, layout: Any) -> Presented | None:
        if not isinstance(probe, str) or probe not in VERSIONS:
            raise ValueError(f"unknown probe {shorten(probe)}: a MeViS line's probe is its version, one of "
                             f"{list(VERSIONS)}")
        if layout is not None:
            raise ValueError(f"a MeViS line takes no layout, but got {shorten(layout)}")
        if entry is None:
            return None
        if probe not in entry.built:
            raise ValueError(f"this build holds no MeViS {probe} expressions (it holds {', '.join(entry.built)}; "
                             f"build with --version {probe})")
        if probe not in entry.versions:
            raise ValueError(f"not a MeViS {probe} expression (the id is a {', '.join(sorted(entry.versions))} one)")
        return Presented((entry.height, entry.width), entry.frame_names)

    def score(self, *, model: str, predictions: Sequence[Prediction], reference: MevisReference,
              settings: ScoreSettings, judge: Any | None = None, judge_note: str | None = None, progress: bool = False,
              variant: str | None = None, runs: RunsCache | None = None, workers: int = 1) -> list[ScoreResult]:
        first: dict[str, Prediction] = {}
        for prediction in predictions:
            known = first.get(prediction.probe)
            if known is None or (prediction.source, prediction.line) < (known.source, known.line):
                first[prediction.probe] = prediction
        if len(first) > 1:
            shown = "; ".join(f"{first[v].where} is a {v} line" for v in VERSIONS if v in first)
            raise ValueError(f"lines of MeViS v1 and v2 mixed ({shown}): ids name different expressions in the two "
                             "versions, so one model's lines answer one version; score each version's lines in "
                             "their own run or under their own model name")
        if not first:
            return []
        version = next(iter(first))
        return [score_version(benchmark=self.name, model=model, version=version, rows=reference.rows_for(version),
                              lines={str(p.id): p for p in predictions}, variant=variant, progress=progress,
                              workers=workers, protocol=protocol_for(settings.protocol, settings.fps,
                                                                      settings.release_fps))]

    def unanswered(self, predictions: Sequence[Prediction], reference: MevisReference) -> list[str]:
        messages = []
        for version in VERSIONS:
            ids = {str(p.id) for p in predictions if p.probe == version}
            missing = [row_id for row_id in reference.rows_for(version) if row_id not in ids]
            if ids and missing:
                messages.append(f"{version}: {len(missing)} expression(s) without a line (--strict): {missing[:10]}"
                                f"{' ...' if len(missing) > 10 else ''}")
        return messages

    def resampling_plans(self, units: RowUnits, rows: np.ndarray, keep_pairs: np.ndarray | None) -> dict[str, Plan]:
        """Expressions, stratified by target / no-target when the kept rows hold both (every metric is a mean of
        per-expression values over one kind or both; the strata keep each kind's count in every resample)."""
        stratum = units.stratum[rows] if units.stratum is not None else np.full(int(rows.sum()), TARGET)
        target = stratum == TARGET
        values = {name: array[rows] for name, array in units.values.items()}
        scheme, count = ("strata" if target.any() and not target.all() else "rows"), int(rows.sum())
        plans: dict[str, Plan] = {}
        if target.any():
            for name in ("J", "F", "JF", "J_recall", "F_recall"):
                plans[name] = Plan(scheme, count, partial(subset_mean, values=values[name], members=target))
            for name in ("J_decay", "F_decay"):
                plans[name] = Plan(scheme, count, partial(signed_subset_mean, values=values[name], members=target))
        if (stratum == NO_TARGET).any():
            empty, nonempty = values["empty"], values["nonempty"]
            plans["N_acc"] = Plan(scheme, count, partial(subset_mean, values=empty, members=~target),
                                  (~target) & (empty > 0))
            plans["JF_all"] = Plan(scheme, count, partial(stats.weighted_mean, values=values["JF"]))
            if target.any():
                plans["T_acc"] = Plan(scheme, count, partial(subset_mean, values=nonempty, members=target),
                                      target & (nonempty > 0))
        return plans


MEVIS = Mevis()
