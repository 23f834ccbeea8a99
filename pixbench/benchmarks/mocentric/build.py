"""MoCentric-Bench: MeViS ``valid_u`` expressions with keyframes and reversed-motion texts, as a hub folder.

Raw inputs (the package ships none of them; MeViS is CC BY-NC-SA 4.0):
- the MeViS root ``ROOT/<split>/``: ``JPEGImages/<video_id>/<NNNNN>.jpg``, ``meta_expressions.json``
  (``{"videos": {vid: {"vid_id", "frames": [names], "expressions": {"<exp_id>": {"exp", "obj_id",
  "anno_id"}}}}}``) and ``mask_dict.json`` (``{"<anno_id>": [COCO RLE or null, one per frame]}``);
- the keyframe csv (``,video_name,frame,exp_id``; the number of ``frame``'s base name names the keyframe,
  the path is never opened; an expression without a row gets frame index 0, flagged per row);
- the reversed-expressions json (the schema of ``meta_expressions.json``; ids, ``obj_id`` and ``anno_id``
  as the original's).

Output configs (``data/test-<config>-NNNNN-of-MMMMM.parquet``): ``expressions`` (default, one row per
original expression), ``reversed`` (one row per reversed expression) and ``videos`` (the original JPEG
bytes, not re-encoded; absent without frames). Expression rows are in the video order of
``meta_expressions.json`` (MeViS's own order, also the keyframe csv's), then by exp id as an int. The
ground truth of frame t is the union (pycocotools ``merge``) of the expression's ``anno_id`` masks at t;
absent objects contribute nothing and a frame with none is the empty RLE. Reading and checking the MeViS
files is :mod:`pixbench.benchmarks.mevis_release`'s (shared with the MeViS builder). Rows are written video by
video, so a build never holds more than one video's frames in memory
(:func:`pixbench.benchmarks.streamed_build.write_streamed`). A build that fails while writing (a full disk)
drops its open shards quietly and leaves the output folder as it was; the error reaches the caller once.
"""


from __future__ import annotations

import itertools
import re
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from datasets import Features, List, Value

from pixbench.annotation import rle as rle_ops
from pixbench.annotation.findings import Findings
from pixbench.benchmarks import streamed_build
from pixbench.benchmarks.mevis_release import (
    EXPRESSION_ID_FEATURES,
    EXPRESSION_VIDEO_FEATURES,
    MASK_FILE,
    META_FILE,
    MEVIS_SPLIT,
    VIDEO_FEATURES,
    Expression,
    Release,
    Video,
    check_frames,
    check_masks,
    check_rles,
    read_mask_dict,
    read_meta,
    union_masks,
    video_rows,
)
from pixbench.benchmarks.streamed_build import StreamedConfig, hub_card, row_shards, video_shards, write_streamed
from pixbench.builds import folders as common
from pixbench.builds.folders import RLE_FEATURE, BuildResult, ConfigSpec
from pixbench.builds.layout import SPLIT

CARD_TEMPLATE = Path(__file__).with_name("card.md")

NAME = "mocentric"
HUB_ID = "IVUlab/MoCentric-Bench"
KEYFRAME_COLUMNS = ("video_name", "frame", "exp_id")
#: A videos shard is closed before it would pass this many bytes of frames (one row group per video).
MAX_VIDEO_SHARD_BYTES = streamed_build.MAX_VIDEO_SHARD_BYTES

EXPRESSION_FEATURES = Features({**EXPRESSION_ID_FEATURES, **EXPRESSION_VIDEO_FEATURES, "keyframe": Value("int32"),
                                "keyframe_from_csv": Value("bool"), "masks": List(RLE_FEATURE)})
CONFIGS = (ConfigSpec("expressions", f"{SPLIT}-expressions", default=True),
           ConfigSpec("reversed", f"{SPLIT}-reversed"),
           ConfigSpec("videos", f"{SPLIT}-videos"))
FEATURES = {"expressions": EXPRESSION_FEATURES, "reversed": EXPRESSION_FEATURES, "videos": VIDEO_FEATURES}


def shard_pattern(config: str) -> str:
    """The shards of a config, relative to a built folder: ``data/test-expressions-*.parquet``."""
    spec = next((c for c in CONFIGS if c.name == config), None)
    if spec is None:
        raise ValueError(f"unknown MoCentric-Bench config {config!r} (expected one of {[c.name for c in CONFIGS]})")
    return f"{common.DATA_FOLDER}/{spec.shard_prefix}-*.parquet"


# ------------------------------------------------------------------------------------------ reading


@dataclass(frozen=True)
class Keyframe:
    """One keyframe csv row: the frame number of its ``frame`` base name."""

    video_id: str
    exp_id: int
    number: int
    line: int


@dataclass
class Inputs(Release):
    """Everything read and linked: the MeViS release (:class:`~pixbench.benchmarks.mevis_release.Release`), the
    keyframe rows and the reversed expressions."""

    keyframes_path: str = ""
    reversed_path: str = ""
    reversed: dict[str, Video] = field(default_factory=dict)
    keyframes: dict[tuple[str, int], Keyframe] = field(default_factory=dict)

    def keyframe(self, video: Video, exp_id: int) -> tuple[int, bool]:
        """``(index into the frames, from the csv)``; index 0 when the csv has no row."""
        row = self.keyframes.get((video.video_id, exp_id))
        if row is None:
            return 0, False
        return _frame_numbers(video)[row.number], True


def _frame_numbers(video: Video) -> dict[int, int]:
    """Frame number (of a digits-only name) -> index in the frame list."""
    return {int(name): index for index, name in enumerate(video.frames) if name.isdigit()}


def read_keyframes(path: Path, report: Findings) -> dict[tuple[str, int], Keyframe]:
    """Keyframe csv rows by ``(video_name, exp_id)``; the frame number comes from ``frame``'s base name."""
    name = str(path)
    rows: dict[tuple[str, int], Keyframe] = {}
    for row in common.read_csv_rows(path, KEYFRAME_COLUMNS, report):
        line = int(row["__line__"])
        video_id = row["video_name"].strip()
        exp_id = common.parse_int(row["exp_id"], name, f"line {line} (video {video_id})", "exp_id", report)
        if exp_id is None:
            continue
        record = f"line {line} (video {video_id} expression {exp_id})"
        frame = PurePosixPath(row["frame"].strip().replace("\\", "/"))
        match = re.fullmatch(r"(\d+)\.(jpe?g|png)", frame.name, flags=re.IGNORECASE)
        if match is None:
            report.error(name, record, "frame", f"expected a frame file name NNNNN.jpg, but got {row['frame']!r}")
            continue
        if (video_id, exp_id) in rows:
            report.error(name, record, "exp_id", f"duplicate row (first on line {rows[video_id, exp_id].line})")
            continue
        if frame.parent.name and frame.parent.name != video_id:
            report.warning(name, record, "frame", f"path {row['frame']!r} is in another video's folder")
        rows[video_id, exp_id] = Keyframe(video_id, exp_id, int(match.group(1)), line)
    return rows


# ------------------------------------------------------------------------------------------ checking


def check_keyframes(inputs: Inputs, report: Findings) -> None:
    """Every keyframe row names a known video, expression and frame of that video."""
    for (video_id, exp_id), row in inputs.keyframes.items():
        record = f"line {row.line} (video {video_id} expression {exp_id})"
        video = inputs.videos.get(video_id)
        if video is None:
            report.error(inputs.keyframes_path, record, "video_name", f"unknown video: not in {META_FILE}")
        elif exp_id not in video.expressions:
            report.error(inputs.keyframes_path, record, "exp_id", f"unknown expression: not in {META_FILE}")
        elif row.number not in _frame_numbers(video):
            report.error(inputs.keyframes_path, record, "frame",
                         f"frame {row.number:05d} is not one of the video's {len(video.frames)} frames "
                         f"({video.frames[0]}..{video.frames[-1]})")
    for video in inputs.videos.values():
        for exp_id, expression in video.expressions.items():
            if (video.video_id, exp_id) not in inputs.keyframes:
                report.warning(inputs.keyframes_path, expression.record, "exp_id",
                               "no keyframe row: frame index 0 is used")


def check_reversed(inputs: Inputs, report: Findings) -> None:
    """Reversed expressions name known videos and expressions, with the original's frames and ids."""
    name = inputs.reversed_path
    for video_id, rev in inputs.reversed.items():
        video = inputs.videos.get(video_id)
        if video is None:
            report.error(name, f"video {video_id}", "", f"unknown video: not in {META_FILE}")
            continue
        if rev.frames != video.frames:
            report.error(name, f"video {video_id}", "frames",
                         f"{len(rev.frames)} frames ({rev.frames[0]}..{rev.frames[-1]}) differ from the "
                         f"{len(video.frames)} of {META_FILE} ({video.frames[0]}..{video.frames[-1]})")
        texts: dict[str, int] = {}
        for exp_id, expression in rev.expressions.items():
            original = video.expressions.get(exp_id)
            if original is None:
                report.error(name, expression.record, "exp_id", f"unknown expression: not in {META_FILE}")
                continue
            for field_name, ours, theirs in (("anno_id", expression.anno_ids, original.anno_ids),
                                             ("obj_id", expression.obj_ids, original.obj_ids)):
                if ours != theirs:
                    report.error(name, expression.record, field_name,
                                 f"{list(ours)} differs from the original expression's {list(theirs)}")
            if expression.text in texts:
                report.warning(name, expression.record, "exp",
                               f"duplicate text: same as reversed expression {texts[expression.text]} "
                               f"({expression.text!r})")
            texts.setdefault(expression.text, exp_id)
            if expression.text == original.text:
                report.warning(name, expression.record, "exp", "same text as the original expression")
    for video_id in inputs.videos:
        if video_id not in inputs.reversed:
            report.warning(name, f"video {video_id}", "", "video missing (no reversed expressions)")


def read_inputs(*, mevis_root: Path, keyframes: Path, reverse_expressions: Path, split: str = MEVIS_SPLIT,
                with_frames: bool, report: Findings) -> Inputs:
    """Read and cross-check all inputs (frame files only ``with_frames``); problems go to ``report``."""
    split_dir = mevis_root / split
    inputs = Inputs(split_dir, str(split_dir / META_FILE), str(split_dir / MASK_FILE), keyframes_path=str(keyframes),
                    reversed_path=str(reverse_expressions))
    inputs.videos = read_meta(split_dir / META_FILE, report)
    inputs.masks = read_mask_dict(split_dir / MASK_FILE, report)
    inputs.keyframes = read_keyframes(keyframes, report)
    inputs.reversed = read_meta(reverse_expressions, report)
    owner = check_masks(inputs, report)
    if with_frames:
        check_frames(inputs, report)
    check_rles(inputs, owner, report, with_frames=with_frames)
    check_keyframes(inputs, report)
    check_reversed(inputs, report)
    return inputs


# ------------------------------------------------------------------------------------------ rows


def expression_row(inputs: Inputs, video: Video, expression: Expression,
                   cache: dict[tuple[int, ...], list[rle_ops.Rle]]) -> dict[str, Any]:
    """One row of the ``expressions`` / ``reversed`` configs."""
    height, width = inputs.sizes[video.video_id]
    keyframe, from_csv = inputs.keyframe(video, expression.exp_id)
    return {"id": expression.id, "video_id": video.video_id, "exp_id": expression.exp_id,
            "expression": expression.text, "obj_ids": list(expression.obj_ids), "anno_ids": list(expression.anno_ids),
            "height": height, "width": width, "frame_names": list(video.frames), "keyframe": keyframe,
            "keyframe_from_csv": from_csv, "masks": union_masks(inputs, video, expression.anno_ids, cache)}


def expression_rows(inputs: Inputs) -> Iterator[tuple[str, dict[str, Any]]]:
    """``(config, row)`` for both expression configs, video by video (meta order), exp ids ascending."""
    for video in inputs.videos.values():
        cache: dict[tuple[int, ...], list[rle_ops.Rle]] = {}
        for exp_id in sorted(video.expressions):
            yield "expressions", expression_row(inputs, video, video.expressions[exp_id], cache)
        reversed_expressions = inputs.reversed[video.video_id].expressions if video.video_id in inputs.reversed else {}
        for exp_id in sorted(reversed_expressions):
            yield "reversed", expression_row(inputs, video, reversed_expressions[exp_id], cache)




# ------------------------------------------------------------------------------------------ summary


def summarize(inputs: Inputs, report: Findings, *, with_frames: bool | None) -> dict[str, Any]:
    """Counts for the card and the console (``with_frames=None``: a check without frames)."""
    expressions = [e for v in inputs.videos.values() for e in v.expressions.values()]
    reversed_ = [e for v in inputs.reversed.values() for e in v.expressions.values() if e.video_id in inputs.videos]
    fallbacks = [e.id for e in expressions if (e.video_id, e.exp_id) not in inputs.keyframes]
    numbers = sorted(row.number for row in inputs.keyframes.values())
    sizes = Counter(f"{h}x{w}" for h, w in inputs.sizes.values())
    referenced = {a for e in expressions for a in e.anno_ids}
    extra: dict[str, Any] = {"split": inputs.split_dir.name}
    if with_frames is not None:
        extra["frames_embedded"] = with_frames
    extra.update({
        "videos": len(inputs.videos),
        "frames": sum(len(v.frames) for v in inputs.videos.values()),
        "frame_sizes": dict(sorted(sizes.items())),
        "expressions": len(expressions),
        "multi_object_expressions": sum(1 for e in expressions if len(set(e.anno_ids)) > 1),
        "reversed_expressions": len(reversed_),
        "videos_with_reversed": len({e.video_id for e in reversed_}),
        "keyframe_rows": len(inputs.keyframes),
        "keyframes_from_csv": len(expressions) - len(fallbacks),
        "keyframe_fallbacks": len(fallbacks),
        "keyframe_fallback_ids": fallbacks,
        "reversed_keyframe_fallback_ids": [e.id for e in reversed_ if (e.video_id, e.exp_id) not in inputs.keyframes],
        "keyframe_frames": [f"{numbers[0]:05d}", f"{numbers[-1]:05d}"] if numbers else [],
        "expressions_absent_in_every_frame": [e.id for e in expressions
                                              if all(inputs.masks.get(a) is None or
                                                     all(m is None for m in inputs.masks[a]) for a in e.anno_ids)],
        "unreferenced_anno_ids": len(set(inputs.masks) - referenced),
        "warnings": dict(sorted(report.counts_by_message().items())),
    })
    return common.summary_header(NAME, len(expressions), extra)


# ------------------------------------------------------------------------------------------ writing


def write_folder(inputs: Inputs, out_dir: Path, *, summary: dict[str, Any], with_frames: bool,
                 force: bool) -> list[str]:
    """Stream the configs into a staging folder inside ``out_dir``, then move them into place (the
    card, summary and shards of an earlier build replaced, nothing else touched). Returns the files."""
    specs = {spec.name: spec for spec in CONFIGS}
    configs = [StreamedConfig(specs[name], FEATURES[name], row_shards(count), common.ROWS_PER_ROW_GROUP)
               for name, count in (("expressions", summary["expressions"]),
                                   ("reversed", summary["reversed_expressions"]))]
    rows: Iterator[tuple[str, Mapping[str, Any]]] = expression_rows(inputs)
    if with_frames:
        configs.append(StreamedConfig(specs["videos"], VIDEO_FEATURES,
                                      video_shards(map(inputs.frame_bytes.__getitem__, inputs.videos),
                                                   MAX_VIDEO_SHARD_BYTES), 1))
        rows = itertools.chain(rows, video_rows(inputs))
    return write_streamed(out_dir, NAME, configs=configs, rows=rows, summary=summary, force=force,
                          card=lambda num_rows, num_bytes: render_card(summary, num_rows=num_rows, num_bytes=num_bytes))


def render_card(summary: dict[str, Any], *, num_rows: Mapping[str, int], num_bytes: Mapping[str, int]) -> str:
    """The dataset card: YAML header (one entry per config written, each with its own features) and the
    template filled with the summary."""
    videos = ("`videos` holds every frame of the build (the original JPEG bytes)." if "videos" in num_rows else
              "This build has no `videos` config (built with `--no-frames`): take the frames from MeViS.")
    body = common.fill_card(common.card_template(CARD_TEMPLATE), {"summary": common.format_summary_markdown(summary),
                                                         "videos": videos})
    return hub_card(configs=CONFIGS, features=FEATURES, num_rows=num_rows, num_bytes=num_bytes,
                    pretty_name="MoCentric-Bench", license="cc-by-nc-sa-4.0", rows=summary["expressions"],
                    tags=["mevis", "referring-video-object-segmentation", "motion", "pixel-grounding"], body=body)


# ------------------------------------------------------------------------------------------ entry points


def build(*, mevis_root: Path, keyframes: Path, reverse_expressions: Path, out_dir: Path, with_frames: bool = True,
          split: str = MEVIS_SPLIT, force: bool = False) -> BuildResult:
    """Build the MoCentric-Bench hub folder; raise :class:`AnnotationError` (nothing written) on any error.

    ``mevis_root`` holds ``<split>/meta_expressions.json``, ``<split>/mask_dict.json`` and (unless
    ``with_frames`` is false) ``<split>/JPEGImages/``. ``out_dir`` must be new, empty or an earlier
    MoCentric-Bench build, else :class:`common.OutDirError`; ``force`` writes into any folder.
    """
    plan = common.inspect_out_dir(out_dir, NAME, force=force)
    report = Findings()
    inputs = read_inputs(mevis_root=mevis_root, keyframes=keyframes, reverse_expressions=reverse_expressions,
                         split=split, with_frames=with_frames, report=report)
    common.ensure_no_errors(report, "MoCentric-Bench inputs")
    summary = summarize(inputs, report, with_frames=with_frames)
    files = write_folder(inputs, out_dir, summary=summary, with_frames=with_frames, force=force)
    return BuildResult(out_dir, summary, report, files, list(plan.left_in_place))


def check(*, mevis_root: Path, keyframes: Path, reverse_expressions: Path,
          split: str = MEVIS_SPLIT) -> tuple[Findings, dict[str, Any]]:
    """``check-annotations``: read and cross-check the json and csv files (frame sizes from the RLE;
    no frames needed)."""
    report = Findings()
    inputs = read_inputs(mevis_root=mevis_root, keyframes=keyframes, reverse_expressions=reverse_expressions,
                         split=split, with_frames=False, report=report)
    return report, summarize(inputs, report, with_frames=None)
