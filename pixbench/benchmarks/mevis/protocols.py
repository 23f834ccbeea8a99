"""MeViS's scoring protocols: ``official`` (the default) and ``lmms-eval`` (``--protocol``), named in every result.

**official** (MeViS's ``tools/eval_mevis.py``): every expression of the version counts; one without a line
scores 0; J and F are averaged over the video's native frames.

**lmms-eval** (what lmms-eval's ``rvos_mevis_valid_u`` task reports, read from its stage-2 script
``lmms_eval/tasks/rvos/eval_sam2.py``):

- **Failed queries are dropped**: lmms-eval averages J, F and J&F over the queries its second stage returned a
  record for; a query whose video it could not find or whose processing raised is left out of the mean (it
  reports their count only as ``n``, e.g. 781 of 793). A query answered with no point at all is *not* failed
  there: it is scored with empty masks. pixbench's counterpart: an expression **without a line** is failed
  (dropped, counted); a line, even one empty in every frame, is scored.
- **Frames re-sampled at ``fps``** (``--fps``, default :data:`DEFAULT_FPS` = 6, lmms-eval's ``--video-fps``):
  lmms-eval extracts frames from the video with ffmpeg's ``fps`` filter and scores each extracted frame
  against the ground-truth mask of the *same index*. That lines up only when the video's rate is the
  extraction rate, so pixbench takes the release's frames as consecutive at :data:`RELEASE_FPS` = 6 (frame
  ``i`` at ``i / 6`` s; at the default ``--fps`` every native frame is kept, as lmms-eval's figure needs), or at
  ``--release-fps`` when the user knows the release's frames were taken at another rate (then ``RELEASE_FPS``
  below reads that rate).
  At another ``fps``, pixbench keeps the timestamps straight (:func:`resampled_frames`): output frame ``n``
  (time ``n / fps``) is the native frame nearest in time, ``floor(n * RELEASE_FPS / fps + 1/2)`` (at most the
  last), for ``n`` in ``0 .. round(frames * fps / RELEASE_FPS) - 1`` (at least one frame; halves round up),
  ffmpeg's nearest-timestamp rule; above the release's rate frames repeat, as ffmpeg duplicates them. J_t and
  F_t are computed on those frames (1 where both masks are empty, as both evaluators do), J and F are their
  means per expression, then means over the scored expressions. Recall and decay use the same frames.
- No-target expressions (v2): lmms-eval has no rule for them; N-acc and T-acc are computed as under the
  official rules, over the scored expressions.

**Stamped in every result**: the first note names the protocol, the expressions scored of the version's and the
frame rule; the result's ``analysis`` (report JSON) holds ``protocol``: ``name`` (``official`` /
``lmms-eval``), ``expressions`` (the version's), ``scored``, ``dropped`` (expressions without a line left out of
the mean: 0 under official, where they score 0), ``missing`` (expressions without a line scored 0: 0 under
lmms-eval), ``frame_rule`` (``native`` / ``resampled``), ``fps`` and ``release_fps`` (``null`` under official)
and ``frames`` (expression-frames scored). Its ``counts`` are the scored expressions and their missing lines;
its intervals and ``compare`` resample the scored expressions. ``--per-sample`` records carry ``protocol`` and,
when frames are re-sampled, ``frames`` (the native indices their ``J_t`` and ``F_t`` are on); under
``lmms-eval`` a dropped expression's record says ``dropped`` and holds no metric
(:mod:`pixbench.benchmarks.mevis.scoring`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

__all__ = ["DEFAULT_FPS", "PROTOCOLS", "RELEASE_FPS", "Protocol", "protocol_for", "resampled_frames"]

#: The protocols MeViS defines; the first is the default.
PROTOCOLS: tuple[str, ...] = ("official", "lmms-eval")
#: lmms-eval's default extraction rate (``eval_sam2.py --video-fps``).
DEFAULT_FPS = 6.0
#: The rate pixbench takes the release's frames at under ``lmms-eval`` (see the module docstring).
RELEASE_FPS = 6.0


def _exact(value: float) -> Fraction:
    return Fraction(value).limit_denominator(1_000_000)


def resampled_frames(frames: int, fps: float, release_fps: float = RELEASE_FPS) -> tuple[int, ...]:
    """The native frame indices a video of ``frames`` frames at ``release_fps`` gives when re-sampled at ``fps``
    (nearest timestamp; see the module docstring).

        >>> resampled_frames(10, 3.0)
        (0, 2, 4, 6, 8)
        >>> resampled_frames(5, 4.0)
        (0, 2, 3)
    """
    if frames < 1:
        raise ValueError(f"a video of {frames} frames cannot be re-sampled")
    if not (fps > 0 and release_fps > 0 and math.isfinite(fps) and math.isfinite(release_fps)):
        raise ValueError(f"frame rates must be finite and above 0, got fps={fps}, release_fps={release_fps}")
    ratio = _exact(release_fps) / _exact(fps)  # native frames per output frame
    count = max(1, math.floor(frames / ratio + Fraction(1, 2)))
    return tuple(min(frames - 1, math.floor(n * ratio + Fraction(1, 2))) for n in range(count))


@dataclass(frozen=True)
class Protocol:
    """A protocol as scoring applies it: its ``name``, whether expressions without a line are dropped (``drop_missing``)
    and the re-sampling rate (``fps``; ``None``: native frames)."""

    name: str
    fps: float | None = None
    release_fps: float | None = None

    @property
    def drop_missing(self) -> bool:
        return self.name == "lmms-eval"

    def frames(self, count: int) -> tuple[int, ...] | None:
        """The native frame indices scored of a video of ``count`` frames (``None``: all of them)."""
        if self.fps is None:
            return None
        return resampled_frames(count, self.fps, self.release_fps or RELEASE_FPS)

    @property
    def frame_rule(self) -> str:
        if self.fps is None:
            return "native frames"
        return (f"frames re-sampled at {self.fps:g} fps (release frames taken at {self.release_fps or RELEASE_FPS:g} "
                "fps; nearest timestamp)")

    def stamp(self, *, expressions: int, scored: int, missing: int, frames: int) -> dict[str, Any]:
        """The result's ``analysis["protocol"]`` (keys in the module docstring)."""
        return {"name": self.name, "expressions": expressions, "scored": scored, "dropped": expressions - scored,
                "missing": missing, "frame_rule": "native" if self.fps is None else "resampled", "fps": self.fps,
                "release_fps": None if self.fps is None else (self.release_fps or RELEASE_FPS), "frames": frames}

    def note(self, version: str, *, expressions: int, scored: int) -> str:
        """The result's first note: protocol, expressions scored of how many, frame rule."""
        if self.drop_missing:
            return (f"MeViS {version}, lmms-eval protocol: {scored} of {expressions} expressions scored "
                    f"({expressions - scored} without a line dropped from the mean); J and F per frame (1 where "
                    f"both masks are empty) on {self.frame_rule}, averaged over frames, then over expressions")
        return (f"MeViS {version}, official rules: {scored} of {expressions} expressions scored; J and F per "
                "native frame (1 where both masks are empty), averaged over frames, then over expressions; an "
                "expression without a line scores 0")


def protocol_for(name: str, fps: float | None, release_fps: float | None = None) -> Protocol:
    """The protocol a score's settings name (``ValueError`` for one MeViS lacks, or a frame rate under
    official)."""
    if name not in PROTOCOLS:
        raise ValueError(f"--protocol {name}: MeViS is scored under {' or '.join(PROTOCOLS)} only")
    if name == "official":
        for flag, value in (("--fps", fps), ("--release-fps", release_fps)):
            if value is not None:
                raise ValueError(f"{flag} {value:g}: the official protocol scores native frames; re-sampling is "
                                 "--protocol lmms-eval's")
        return Protocol(name)
    return Protocol(name, DEFAULT_FPS if fps is None else float(fps),
                    RELEASE_FPS if release_fps is None else float(release_fps))


def pick(values: Sequence[Any], indices: tuple[int, ...] | None) -> list[Any]:
    """``values`` at ``indices`` (all of them when ``None``)."""
    return list(values) if indices is None else [values[i] for i in indices]
