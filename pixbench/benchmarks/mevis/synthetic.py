"""MeViS's raw inputs made by pixbench itself: a ``valid_u`` folder holding both versions' expressions files.

:func:`write_synthetic_release` writes MoCentric-Bench's synthetic MeViS
(:func:`pixbench.benchmarks.mocentric.synthetic.write_synthetic_mevis`: four videos of moving shapes, real JPEG
frames, ``meta_expressions.json`` and ``mask_dict.json`` as MeViS v1 releases them, 14 expressions) and adds
``meta_expressions_v2.json`` beside it, made from v1 as MeViS v2 grew from v1 (the ``ROOT`` is ``--mevis``):

- every v1 expression but one (:data:`DROPPED`, an id only v1 has), with the same id, text and objects,
  typed ``"motion"``;
- :data:`ADDED` expressions at new exp ids: target expressions typed ``"reasoning"`` (one refers to two
  objects) and **no-target** expressions (``"obj_id": []``, ``"anno_id": []``: nothing in the video is
  what they describe), typed ``"motion"``.

The ``type`` field is this generator's: the builder keeps whatever string an expression's ``type`` holds. The
same arguments (``seed`` included) give byte-identical files; ``mask_dict.json`` and the frames are shared by
both versions, as the released ``valid_u`` folders are.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pixbench.benchmarks.mevis_release import META_V2_FILE, MEVIS_SPLIT
from pixbench.benchmarks.mocentric.synthetic import SyntheticMevis, write_meta_json, write_synthetic_mevis

#: ``(video index, exp id)`` of the v1 expression that v2 leaves out.
DROPPED = (3, 3)
#: Per video index, the expressions v2 adds: ``(text, obj ids, type)``; no obj ids = a no-target expression.
ADDED: dict[int, list[tuple[str, list[int], str]]] = {
    0: [("the yellow bird flying away", [], "motion"), ("the shapes that cross the middle", [0, 1], "reasoning")],
    1: [("the shape still there at the end", [0], "reasoning"), ("the box moving down", [], "motion")],
    2: [("the car turning left", [], "motion")],
    3: [],
}


@dataclass(frozen=True)
class SyntheticRelease(SyntheticMevis):
    """MoCentric-Bench's synthetic MeViS (:class:`~pixbench.benchmarks.mocentric.synthetic.SyntheticMevis`:
    ``root`` is ``--mevis``, ``meta_expressions`` is v1's file) with v2's file ``meta_v2``; ``no_target`` the v2
    ids of the no-target expressions, ``only_v1`` / ``only_v2`` the ids one version lacks."""

    meta_v2: Path
    no_target: tuple[str, ...]
    only_v1: tuple[str, ...]
    only_v2: tuple[str, ...]


def _v2_videos(v1: dict[str, Any]) -> tuple[dict[str, Any], list[str], list[str], list[str]]:
    """v2's ``videos`` from v1's; the no-target ids, the ids only v1 has, the ids only v2 has."""
    videos: dict[str, Any] = {}
    no_target, only_v1, only_v2 = [], [], []
    for index, (video_id, video) in enumerate(v1.items()):
        expressions: dict[str, Any] = {}
        anno_of = {obj: anno for e in video["expressions"].values() for obj, anno in zip(e["obj_id"], e["anno_id"])}
        for key, expression in video["expressions"].items():
            if (index, int(key)) == DROPPED:
                only_v1.append(f"{video_id}_{key}")
                continue
            expressions[key] = {**expression, "type": "motion"}
        next_id = 1 + max(map(int, video["expressions"]))
        for offset, (text, obj_ids, kind) in enumerate(ADDED[index]):
            exp_id = str(next_id + offset)
            expressions[exp_id] = {"exp": text, "obj_id": obj_ids, "anno_id": [anno_of[o] for o in obj_ids],
                                   "type": kind}
            only_v2.append(f"{video_id}_{exp_id}")
            if not obj_ids:
                no_target.append(f"{video_id}_{exp_id}")
        videos[video_id] = {**video, "expressions": expressions}
    return videos, no_target, only_v1, only_v2


def write_synthetic_release(root: Path, *, seed: int = 0, size: tuple[int, int] = (64, 96),
                            split: str = MEVIS_SPLIT, quality: int = 90) -> SyntheticRelease:
    """Write a MeViS ``valid_u`` with v1 and v2 expressions under ``root`` (see the module docstring); the
    arguments are :func:`~pixbench.benchmarks.mocentric.synthetic.write_synthetic_mevis`'s."""
    raw = write_synthetic_mevis(root, seed=seed, size=size, split=split, quality=quality)
    v1 = json.loads(raw.meta_expressions.read_text(encoding="utf-8"))["videos"]
    videos, no_target, only_v1, only_v2 = _v2_videos(v1)
    write_meta_json(raw.split_dir / META_V2_FILE, videos)
    return SyntheticRelease(**vars(raw), meta_v2=raw.split_dir / META_V2_FILE, no_target=tuple(no_target),
                            only_v1=tuple(only_v1), only_v2=tuple(only_v2))
