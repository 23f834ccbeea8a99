"""MeViS ``valid_u`` (v1 and v2) as a hub folder, from a MeViS release folder.

Raw inputs (the package ships none of them; MeViS is CC BY-NC-SA 4.0), the split folder ``ROOT/<split>/``
(``--mevis ROOT``, ``--split``, default ``valid_u``) of a MeViS release, read by
:mod:`pixbench.benchmarks.mevis_release`:

- ``meta_expressions.json`` (MeViS v1, ICCV 2023: 793 expressions in ``valid_u``) and/or
  ``meta_expressions_v2.json`` (MeViS v2, TPAMI 2025: 907, some of them **no-target** expressions, whose
  ``anno_id`` list is empty); an expression's ``type`` (a string) is kept when the file gives one;
- ``mask_dict.json`` (shared by both versions) and ``JPEGImages/`` (not needed with ``--no-frames``).

``--version`` picks what is built: ``v1``, ``v2`` or ``all`` (default: every version whose file the folder
holds, at least one). A video listed by both versions must list the same frames.

Output configs (``data/test-<config>-NNNNN-of-MMMMM.parquet``): one per version built, ``v1`` and ``v2``
(the first built is the default), one row per expression, in the video order of its file, then by exp id as
an int; and ``videos`` (the original JPEG bytes of every video of the versions built, not re-encoded; absent
without frames), stored as MoCentric-Bench's builder stores them. A row's ``masks`` are the ground truth per
frame, the union of its ``anno_id`` masks (empty in every frame for a no-target expression); ``no_target`` is
true when the expression refers to no object; ``type`` is the release's (null when not given). Rows are
streamed video by video (:func:`pixbench.benchmarks.streamed_build.write_streamed`); a failed build leaves the
output folder as it was. ``check-annotations mevis`` reads and cross-checks the json files without frames.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from datasets import Features, List, Value

from pixbench.annotation import rle as rle_ops
from pixbench.annotation.findings import Findings
from pixbench.benchmarks import mevis_release as files
from pixbench.benchmarks.mevis.rules import VERSIONS
from pixbench.benchmarks.mevis_release import Release, Video
from pixbench.benchmarks.streamed_build import StreamedConfig, hub_card, row_shards, video_shards, write_streamed
from pixbench.builds import folders as common
from pixbench.builds.folders import RLE_FEATURE, BuildResult, ConfigSpec
from pixbench.builds.layout import SPLIT

#: The dataset card template this builder fills (package data beside it).
CARD_TEMPLATE = Path(__file__).with_name("card.md")

NAME = "mevis"
#: The expressions file of each version (:data:`~pixbench.benchmarks.mevis.rules.VERSIONS`).
VERSION_FILES = dict(zip(VERSIONS, (files.META_FILE, files.META_V2_FILE), strict=True))
#: ``--version``: every version whose file the split folder holds.
ALL_VERSIONS = "all"

EXPRESSION_FEATURES = Features({**files.EXPRESSION_ID_FEATURES, "no_target": Value("bool"), "type": Value("string"),
                                **files.EXPRESSION_VIDEO_FEATURES, "masks": List(RLE_FEATURE)})
FEATURES = {**{version: EXPRESSION_FEATURES for version in VERSIONS}, "videos": files.VIDEO_FEATURES}


def config_specs(versions: tuple[str, ...]) -> tuple[ConfigSpec, ...]:
    """The configs of a build of ``versions``: one per version (the first is the default), then ``videos``."""
    return (*(ConfigSpec(version, f"{SPLIT}-{version}", default=k == 0) for k, version in enumerate(versions)),
            ConfigSpec("videos", f"{SPLIT}-videos"))


@dataclass
class Inputs:
    """What a build read: one :class:`~pixbench.benchmarks.mevis_release.Release` per version (sharing the
    masks, sizes and frame sizes), and ``frames``, a release whose videos are those of every version (in the
    first version's order, then the others' new ones), whose frames are read once."""

    split_dir: Path
    versions: dict[str, Release] = field(default_factory=dict)
    frames: Release | None = None


def _versions(split_dir: Path, version: str) -> tuple[str, ...]:
    if version == ALL_VERSIONS:
        return tuple(v for v, name in VERSION_FILES.items() if (split_dir / name).is_file())
    if version not in VERSION_FILES:
        raise ValueError(f"--version: expected one of {[*VERSIONS, ALL_VERSIONS]}, but got {version!r}")
    return (version,)


def _union_of_videos(inputs: Inputs, report: Findings) -> dict[str, Video]:
    """The videos of every version (frames checked to agree), without expressions."""
    videos: dict[str, Video] = {}
    first: dict[str, str] = {}
    for version, release in inputs.versions.items():
        for video_id, video in release.videos.items():
            known = videos.get(video_id)
            if known is None:
                videos[video_id], first[video_id] = Video(video_id, video.frames, {}), version
            elif known.frames != video.frames:
                report.error(release.meta_path, f"video {video_id}", "frames",
                             f"{len(video.frames)} frames ({video.frames[0]}..{video.frames[-1]}) differ from the "
                             f"{len(known.frames)} of {VERSION_FILES[first[video_id]]} "
                             f"({known.frames[0]}..{known.frames[-1]})")
    return videos


def read_inputs(*, mevis_root: Path, version: str = ALL_VERSIONS, split: str = files.MEVIS_SPLIT, with_frames: bool,
                report: Findings) -> Inputs:
    """Read and cross-check the versions' files (frame files only ``with_frames``); problems go to ``report``;
    ``ValueError`` for an unknown ``version``."""
    split_dir = mevis_root / split
    inputs = Inputs(split_dir)
    chosen = _versions(split_dir, version)
    if not chosen:
        report.error(str(split_dir), "", "",
                     f"neither {files.META_FILE} (MeViS v1) nor {files.META_V2_FILE} (MeViS v2) found")
        return inputs
    mask_path = split_dir / files.MASK_FILE
    masks = files.read_mask_dict(mask_path, report)
    sizes: dict[str, tuple[int, int]] = {}
    frame_bytes: dict[str, int] = {}
    for name in chosen:
        path = split_dir / VERSION_FILES[name]
        videos = files.read_meta(path, report, no_target=name != "v1")
        inputs.versions[name] = Release(split_dir, str(path), str(mask_path), videos, masks, sizes, frame_bytes)
    inputs.frames = Release(split_dir, str(split_dir), str(mask_path), _union_of_videos(inputs, report), masks, sizes,
                            frame_bytes)
    if with_frames:
        files.check_frames(inputs.frames, report)
    for release in inputs.versions.values():
        files.check_rles(release, files.check_masks(release, report), report, with_frames=with_frames)
    if report.ok:
        for video_id in inputs.frames.videos.keys() - sizes.keys():
            report.error(str(mask_path), f"video {video_id}", "size",
                         "no frame size: its expressions refer to no object and frames are not read")
    return inputs


# ------------------------------------------------------------------------------------------ rows


def expression_rows(inputs: Inputs) -> Iterator[tuple[str, dict[str, Any]]]:
    """``(version, row)`` of every version, video by video (file order), exp ids ascending."""
    for version, release in inputs.versions.items():
        for video in release.videos.values():
            cache: dict[tuple[int, ...], list[rle_ops.Rle]] = {}
            height, width = release.sizes[video.video_id]
            for exp_id in sorted(video.expressions):
                expression = video.expressions[exp_id]
                yield version, {
                    "id": expression.id, "video_id": video.video_id, "exp_id": exp_id, "expression": expression.text,
                    "obj_ids": list(expression.obj_ids), "anno_ids": list(expression.anno_ids),
                    "no_target": not expression.anno_ids, "type": expression.type, "height": height, "width": width,
                    "frame_names": list(video.frames),
                    "masks": files.union_masks(release, video, expression.anno_ids, cache)}


def summarize(inputs: Inputs, report: Findings, *, with_frames: bool | None) -> dict[str, Any]:
    """Counts for the card and the console (``with_frames=None``: a check without frames)."""
    videos = inputs.frames.videos if inputs.frames is not None else {}
    extra: dict[str, Any] = {"split": inputs.split_dir.name, "versions": list(inputs.versions)}
    if with_frames is not None:
        extra["frames_embedded"] = with_frames
    extra.update(videos=len(videos), frames=sum(len(v.frames) for v in videos.values()))
    sizes = Counter(f"{h}x{w}" for h, w in (inputs.frames.sizes.values() if inputs.frames is not None else ()))
    extra["frame_sizes"] = dict(sorted(sizes.items()))
    ids: dict[str, set[str]] = {}
    for version, release in inputs.versions.items():
        expressions = [e for v in release.videos.values() for e in v.expressions.values()]
        ids[version] = {e.id for e in expressions}
        extra[version] = {
            "expressions": len(expressions), "videos": len(release.videos),
            "no_target_expressions": sum(1 for e in expressions if not e.anno_ids),
            "multi_object_expressions": sum(1 for e in expressions if len(set(e.anno_ids)) > 1),
            "types": dict(sorted(Counter(e.type for e in expressions if e.type is not None).items()))}
    if len(ids) == len(VERSIONS):
        extra["ids_only_in_v1"], extra["ids_only_in_v2"] = len(ids["v1"] - ids["v2"]), len(ids["v2"] - ids["v1"])
    extra["warnings"] = dict(sorted(report.counts_by_message().items()))
    return common.summary_header(NAME, sum(len(v) for v in ids.values()), extra)


# ------------------------------------------------------------------------------------------ writing


def render_card(summary: dict[str, Any], versions: tuple[str, ...], *, num_rows: Mapping[str, int],
                num_bytes: Mapping[str, int]) -> str:
    """The dataset card: YAML header (one entry per config written) and the template filled with the summary."""
    built = ", ".join(f"`{v}` ({summary[v]['expressions']} expressions, {summary[v]['no_target_expressions']} "
                      "no-target)" for v in versions)
    videos = ("`videos` holds every frame of the build (the original JPEG bytes)." if "videos" in num_rows else
              "This build has no `videos` config (built with `--no-frames`): take the frames from MeViS.")
    body = common.fill_card(common.card_template(CARD_TEMPLATE), {
        "summary": common.format_summary_markdown(summary), "versions": built, "videos": videos,
        "default": versions[0]})
    return hub_card(configs=config_specs(versions), features=FEATURES, num_rows=num_rows, num_bytes=num_bytes,
                    pretty_name="MeViS", license="cc-by-nc-sa-4.0", rows=summary["rows"],
                    tags=["mevis", "referring-video-object-segmentation", "motion", "pixel-grounding"], body=body)


def write_folder(inputs: Inputs, out_dir: Path, *, summary: dict[str, Any], with_frames: bool,
                 force: bool) -> list[str]:
    """Stream the configs into ``out_dir`` (:func:`~pixbench.benchmarks.streamed_build.write_streamed`)."""
    versions = tuple(inputs.versions)
    specs = {spec.name: spec for spec in config_specs(versions)}
    configs = [StreamedConfig(specs[version], EXPRESSION_FEATURES, row_shards(summary[version]["expressions"]),
                              common.ROWS_PER_ROW_GROUP) for version in versions]
    rows: Iterator[tuple[str, Mapping[str, Any]]] = expression_rows(inputs)
    if with_frames and inputs.frames is not None:
        frames = inputs.frames
        configs.append(StreamedConfig(specs["videos"], files.VIDEO_FEATURES,
                                      video_shards(map(frames.frame_bytes.__getitem__, frames.videos)), 1))
        rows = itertools.chain(rows, files.video_rows(frames))
    return write_streamed(out_dir, NAME, configs=configs, rows=rows, summary=summary, force=force,
                          card=lambda num_rows, num_bytes: render_card(summary, versions, num_rows=num_rows,
                                                                       num_bytes=num_bytes))


# ------------------------------------------------------------------------------------------ entry points


def build(*, mevis_root: Path, out_dir: Path, version: str = ALL_VERSIONS, split: str = files.MEVIS_SPLIT,
          with_frames: bool = True, force: bool = False) -> BuildResult:
    """Build the MeViS hub folder of ``version`` (``v1``, ``v2`` or ``all`` present); raise
    :class:`AnnotationError` (nothing written) on any error in the inputs, ``ValueError`` for an unknown
    version or an ``out_dir`` that is not new, empty or an earlier MeViS build (``force`` writes into any)."""
    plan = common.inspect_out_dir(out_dir, NAME, force=force)
    report = Findings()
    inputs = read_inputs(mevis_root=mevis_root, version=version, split=split, with_frames=with_frames, report=report)
    common.ensure_no_errors(report, "MeViS inputs")
    summary = summarize(inputs, report, with_frames=with_frames)
    written = write_folder(inputs, out_dir, summary=summary, with_frames=with_frames, force=force)
    return BuildResult(out_dir, summary, report, written, list(plan.left_in_place))


def check(*, mevis_root: Path, version: str = ALL_VERSIONS,
          split: str = files.MEVIS_SPLIT) -> tuple[Findings, dict[str, Any]]:
    """``check-annotations``: read and cross-check the json files (frame sizes from the RLE; no frames needed)."""
    report = Findings()
    try:
        inputs = read_inputs(mevis_root=mevis_root, version=version, split=split, with_frames=False, report=report)
    except ValueError as exc:  # an unknown --version: reported like a bad input
        report.error(str(mevis_root / split), "", "version", str(exc))
        inputs = Inputs(mevis_root / split)
    return report, summarize(inputs, report, with_frames=None)
