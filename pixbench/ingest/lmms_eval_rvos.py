"""lmms-eval's RVOS outputs as MeViS predictions (``pixbench convert --from lmms-eval-rvos``).

lmms-eval's ``rvos_mevis_valid_u`` task works in two stages. Stage 1 asks the model for point tracks and
writes a **submission file** (a JSON array, one record per query): ``id`` (``mevis_track_<k>``), ``qid``,
``video``, ``expression``, ``prediction`` (the raw reply), ``tracks`` (the parsed reply: a list of
``{"time": s, "frame": f, "points": {object: {"point": [x, y]}}}``, ``x``/``y`` in the pixels of the
record's ``width`` x ``height``, ``time`` in seconds), ``height``, ``width``, ``fps``, ``n_frames``,
``mask_ids`` and its point metrics. Stage 2 (``eval_sam2.py``) propagates the points with SAM 2.1 on
frames extracted at 6 fps and writes a **per-query file** (``<task>_sam2_predictions.json``: ``id``,
``qid``, ``video``, ``expression``, ``J``, ``F``, ``J&F``, ...) holding only the queries that did not fail;
the failed ones are dropped from its mean.

What :func:`plan_rvos` and :func:`convert_rvos` do with them:

- **Matching** a record to a MeViS expression of the build (the version asked, ``v1`` for the task's 793
  queries): by ``qid`` when it names an expression of the record's video (``<video>_<exp_id>`` or the
  ``exp_id``), else by the expression text within the video (case and runs of whitespace ignored). A
  record whose video or text matches nothing, a text two expressions of the video share (and no ``qid``
  to tell them apart), or two records of one expression are problems, each naming the record.
- **Points to masks** (:func:`~pixbench.baselines.point_tracks.prompts_from_lmms_tracks`): a track
  entry's time ``s`` goes to the native frame ``round(s * fps)`` (``fps``: the rate of the release's
  frames, 6, as stage 2 samples them), clamped to the video; ``x``, ``y`` are scaled from the record's size
  to the frame's and clamped to the frame as stage 2 clamps them; an object's points of one frame are one
  prompt; SAM 2 tracks them
  (:meth:`~pixbench.baselines.video_segmenters.Sam2VideoSegmenter.segment_points`: from each prompt frame
  to the next, backward from the first, union over objects) on the **native frames** of the build's
  ``videos`` config. A record without any point gets empty masks (stage 2 does the same).
- **Stage 2** (``stage2``, optional): a record absent from it failed there; it gets no line, so
  ``--protocol lmms-eval`` drops it as lmms-eval does (``official`` scores it 0). The per-query ``J``,
  ``F``, ``J&F`` it reports are kept in the line's details (``lmms_eval_stage2``) for comparison. A stage-2
  record that carries ``masks`` (one COCO RLE or ``null`` per native frame) gives the line its masks as
  they are, and SAM 2 is not run for it.

Every line holds one RLE (``None`` = empty) per native frame of the video, the expression's MeViS id and
the version as its probe, and details: the lmms-eval id, qid, the reply, the prompt frames and points, the
fps used.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pixbench.annotation import rle as rle_ops
from pixbench.annotation.rle import MaskError, Rle
from pixbench.baselines.point_tracks import PointPrompts, prompts_from_lmms_tracks
from pixbench.benchmarks.mevis import MEVIS
from pixbench.benchmarks.mevis.rows import MevisRow
from pixbench.ingest.pixfoundation import ConvertError, ConvertProblem, ConvertProblems
from pixbench.predictions import Prediction
from pixbench.problems import shorten

__all__ = ["RVOS_SOURCE", "RvosItem", "RvosPlan", "RvosQuery", "Stage2Record", "convert_rvos", "plan_rvos",
           "read_stage2", "read_submission"]

#: The ``--from`` name of this source.
RVOS_SOURCE = "lmms-eval-rvos"


@dataclass(frozen=True)
class RvosQuery:
    """One record of the submission file (``index``: its position, from 0)."""

    index: int
    id: str
    qid: str | None
    video: str
    expression: str
    tracks: tuple[Mapping[str, Any], ...]
    reply: str | None
    width: int
    height: int


@dataclass(frozen=True)
class Stage2Record:
    """One record of stage 2's per-query file: its scores and, when it has them, its masks per frame."""

    id: str
    scores: dict[str, float]
    masks: tuple[Rle | None, ...] | None = None


@dataclass(frozen=True)
class RvosItem:
    """A query matched to its MeViS expression (and its stage-2 record, if given), with its point prompts on
    the expression's native frames."""

    query: RvosQuery
    row: MevisRow
    stage2: Stage2Record | None
    prompts: PointPrompts

    @property
    def needs_segmenter(self) -> bool:
        """Whether SAM 2 runs for it: it has points and no masks of stage 2's."""
        return bool(self.prompts) and (self.stage2 is None or self.stage2.masks is None)


@dataclass
class RvosPlan:
    """What a conversion will write: ``items`` in the build's row order; ``failed``: queries stage 2 lacks
    (no line); ``unanswered``: expressions of the version no record answers."""

    version: str
    fps: float
    items: list[RvosItem] = field(default_factory=list)
    failed: list[RvosQuery] = field(default_factory=list)
    unanswered: list[str] = field(default_factory=list)


# ------------------------------------------------------------------------------------------ reading


def _records(path: Path, what: str) -> list[tuple[int, Any]]:
    """The records of a JSON array file or of a JSON-lines file, with their place (1-based line for JSON
    lines, 0 for an array); lmms-eval's log lines wrap the record under a metric key (``rvos_f1``...)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConvertError([ConvertProblem(str(path), 0, f"cannot read the {what}: {exc}")]) from None
    stripped = text.lstrip()
    if stripped.startswith("["):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConvertError([ConvertProblem(str(path), exc.lineno, f"not JSON: {exc.msg}")]) from None
        return [(0, record) for record in data]
    records = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ConvertError([ConvertProblem(str(path), number, f"not a JSON line: {exc.msg}")]) from None
        if isinstance(record, dict) and "video" not in record:
            wrapped = next((value for key, value in record.items()
                            if key.startswith("rvos_") and isinstance(value, dict)), None)
            record = wrapped if wrapped is not None else record
        records.append((number, record))
    return records


def _where(index: int, line: int) -> str:
    return f"record {index}" if not line else f"record {index} (line {line})"


def _positive_int(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return int(value) if value == int(value) and value > 0 else None


def read_submission(path: str | Path) -> list[RvosQuery]:
    """The queries of a stage-1 submission file; :class:`ConvertError` lists every malformed record (a
    field missing or of the wrong type, ``tracks`` not a list of entries with a time and points)."""
    path = Path(path)
    problems = ConvertProblems()
    queries: list[RvosQuery] = []
    for index, (line, record) in enumerate(_records(path, "submission file")):
        where = _where(index, line)
        if not isinstance(record, dict):
            problems.place(path, line, f"{where}: expected an object, got {type(record).__name__}")
            continue
        if "tracks" not in record and ("J&F" in record or "J" in record):
            problems.place(path, line, f"{where}: no parsed `tracks` but J/F scores: this is stage 2's per-query "
                           "file; give the stage-1 submission file, and this one with --stage2")
            continue
        missing = [key for key in ("id", "video", "expression", "width", "height") if record.get(key) is None]
        if missing:
            problems.place(path, line, f"{where}: no {', '.join(missing)}")
            continue
        width, height = _positive_int(record["width"]), _positive_int(record["height"])
        if width is None or height is None:
            problems.place(path, line, f"{where} ({record['id']}): width and height must be positive integers, got "
                           f"{record['width']!r} x {record['height']!r}")
            continue
        tracks = record.get("tracks")
        if tracks is None:
            problems.place(path, line, f"{where} ({record['id']}): no parsed `tracks` (the stage-1 submission file "
                           "holds them; is this the stage-2 file?)")
            continue
        if not isinstance(tracks, list):
            problems.place(path, line, f"{where} ({record['id']}): tracks must be a list, got {type(tracks).__name__}")
            continue
        qid = record.get("qid")
        reply = record.get("prediction")
        queries.append(RvosQuery(index=index, id=str(record["id"]), qid=None if qid is None else str(qid),
                                 video=str(record["video"]), expression=str(record["expression"]),
                                 tracks=tuple(tracks), reply=reply if isinstance(reply, str) else None,
                                 width=width, height=height))
    problems.check()
    if not queries:
        raise ConvertError([ConvertProblem(str(path), 0, "no records")])
    return queries


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def _stage2_masks(value: Any, where: str) -> tuple[Rle | None, ...]:
    if not isinstance(value, list):
        raise ValueError(f"{where}: masks must be a list (one RLE or null per frame)")
    out: list[Rle | None] = []
    for t, mask in enumerate(value):
        if mask is None:
            out.append(None)
            continue
        try:
            out.append(rle_ops.normalize(mask))
        except (MaskError, TypeError, ValueError) as exc:
            raise ValueError(f"{where}: masks[{t}]: {shorten(str(exc), 200)}") from None
    return tuple(out)


def read_stage2(path: str | Path) -> dict[str, Stage2Record]:
    """Stage 2's per-query file by lmms-eval id; :class:`ConvertError` lists malformed or repeated records."""
    path = Path(path)
    problems = ConvertProblems()
    out: dict[str, Stage2Record] = {}
    for index, (line, record) in enumerate(_records(path, "stage-2 file")):
        where = _where(index, line)
        if not isinstance(record, dict) or record.get("id") is None:
            problems.place(path, line, f"{where}: expected an object with an `id`")
            continue
        key = str(record["id"])
        if key in out:
            problems.place(path, line, f"{where}: id {key} repeated")
            continue
        scores = {name: float(record[name]) for name in ("J", "F", "J&F", "HOTA")
                  if _number(record.get(name)) is not None}
        try:
            masks = None if record.get("masks") is None else _stage2_masks(record["masks"], f"{where} ({key})")
        except ValueError as exc:
            problems.place(path, line, str(exc))
            continue
        out[key] = Stage2Record(key, scores, masks)
    problems.check()
    return out


# ------------------------------------------------------------------------------------------ matching


def _text(expression: str) -> str:
    return " ".join(expression.lower().split())


def plan_rvos(queries: Sequence[RvosQuery], rows: Mapping[str, MevisRow], *, version: str, fps: float,
              source: str | Path, stage2: Mapping[str, Stage2Record] | None = None,
              stage2_source: str | Path = "") -> RvosPlan:
    """Match every query to its expression among ``rows`` (one version's, in build order), make its point
    prompts at ``fps`` and split off the queries stage 2 lacks (module docstring); :class:`ConvertError` lists
    every query that cannot be matched or whose tracks cannot be read, and stage-2 records that name no query or
    whose masks do not fit the video. Nothing is read or run after the plan can fail."""
    problems = ConvertProblems()
    by_video: dict[str, list[MevisRow]] = {}
    for row in rows.values():
        by_video.setdefault(row.video_id, []).append(row)
    matched: dict[str, RvosQuery] = {}
    plan = RvosPlan(version, fps)
    for query in queries:
        where = f"record {query.index} ({query.id})"
        candidates = by_video.get(query.video)
        if candidates is None:
            problems.place(source, 0, f"{where}: video {query.video!r} is not in MeViS {version} of the build")
            continue
        found = _by_qid(query, candidates)
        if found is None:
            same = [r for r in candidates if _text(r.expression) == _text(query.expression)]
            if len(same) > 1:
                problems.place(source, 0, f"{where}: {len(same)} expressions of video {query.video} read "
                               f"{query.expression!r} ({', '.join(r.id for r in same)}) and the qid "
                               f"{query.qid!r} names none of them")
                continue
            if not same:
                problems.place(source, 0, f"{where}: no expression of video {query.video} in MeViS {version} reads "
                               f"{shorten(query.expression, 80)!r}")
                continue
            found = same[0]
        row = found
        if row.id in matched:
            problems.place(source, 0, f"{where}: answers expression {row.id}, as record {matched[row.id].index} "
                           f"({matched[row.id].id}) does")
            continue
        matched[row.id] = query
    known = {query.id for query in queries}
    for key in stage2 or {}:
        if key not in known:
            problems.place(stage2_source, 0, f"id {key} is no record of the submission file {source}")
    problems.check()
    for row_id, row in rows.items():
        answer = matched.get(row_id)
        if answer is None:
            plan.unanswered.append(row_id)
            continue
        record = None if stage2 is None else stage2.get(answer.id)
        if stage2 is not None and record is None:
            plan.failed.append(answer)
            continue
        if record is not None and record.masks is not None:
            _check_masks(record, row, problems, stage2_source)
        try:
            prompts = prompts_from_lmms_tracks(answer.tracks, fps=fps, num_frames=len(row.frame_names),
                                               record_size=(answer.height, answer.width),
                                               frame_size=(row.height, row.width))
        except ValueError as exc:
            problems.place(source, 0, f"record {answer.index} ({answer.id}): {exc}")
            continue
        plan.items.append(RvosItem(answer, row, record, prompts))
    problems.check()
    return plan


def _by_qid(query: RvosQuery, candidates: Sequence[MevisRow]) -> MevisRow | None:
    if query.qid is None:
        return None
    for row in candidates:
        if query.qid in (row.id, str(row.exp_id)):
            return row
    return None


def _check_masks(record: Stage2Record, row: MevisRow, problems: ConvertProblems, source: str | Path) -> None:
    masks = record.masks or ()
    if len(masks) != len(row.frame_names):
        problems.place(source, 0, f"id {record.id}: {len(masks)} masks for the {len(row.frame_names)} frames of video "
                       f"{row.video_id}")
        return
    bad = next((m["size"] for m in masks if m is not None and list(m["size"]) != [row.height, row.width]), None)
    if bad is not None:
        problems.place(source, 0, f"id {record.id}: a mask of size {bad} in the {row.height}x{row.width} video "
                       f"{row.video_id}")


# ------------------------------------------------------------------------------------------ converting


def _encode(masks: Sequence[np.ndarray], row: MevisRow) -> tuple[Rle | None, ...]:
    if len(masks) != len(row.frame_names):
        raise ValueError(f"expression {row.id}: the segmenter returned {len(masks)} masks for "
                         f"{len(row.frame_names)} frames")
    return tuple(rle_ops.encode(np.asarray(m, dtype=bool)) if np.asarray(m).any() else None for m in masks)


def convert_rvos(plan: RvosPlan, *, frames_of: Callable[[str], Sequence[np.ndarray]], segmenter: Any,
                 model: str) -> Iterator[Prediction]:
    """One line per planned item, in the plan's order (module docstring). ``frames_of(video_id)`` gives a
    video's native frames (``H x W x 3`` uint8), asked only for items SAM 2 must run on; ``segmenter`` has
    ``segment_points`` (:class:`~pixbench.baselines.video_segmenters.PointPropagator`)."""
    for item in plan.items:
        query, row, prompts = item.query, item.row, item.prompts
        details: dict[str, Any] = {
            "source": RVOS_SOURCE, "lmms_eval_id": query.id, "qid": query.qid, "expression": query.expression,
            "reply": query.reply, "fps": plan.fps,
            "prompt_frames": sorted(prompts),
            "prompt_points": sum(len(points) for objects in prompts.values() for points in objects.values()),
            "points": {str(frame): objects for frame, objects in sorted(prompts.items())}}
        if item.stage2 is not None:
            details["lmms_eval_stage2"] = item.stage2.scores
        if item.stage2 is not None and item.stage2.masks is not None:
            details["masks_from"] = "stage-2 file"
            frames: tuple[Rle | None, ...] = item.stage2.masks
        elif not item.needs_segmenter:
            details["masks_from"] = "no point: empty masks"
            frames = (None,) * len(row.frame_names)
        else:
            details["masks_from"] = "sam2 point propagation"
            frames = _encode(segmenter.segment_points(frames_of(row.video_id), points=prompts), row)
        yield Prediction(benchmark=MEVIS.name, id=row.id, probe=plan.version, model=model, frames=frames,
                         details=details)
