"""Back ends of the point step: ask an MLLM where the referred object(s) are, as point tracks over the clip.

Questions (:class:`PointQuestion`, pure; system :data:`POINT_SYSTEM`)
    ``xml`` (:func:`track_question`): the frames :func:`track_frames` picks (sampled at ``point_fps`` from a
    clip at ``fps``: every ``fps / point_fps``-th frame, rounded, from frame 0; at most ``max_frames``, evenly
    spaced over the clip when there would be more) are shown as separate images, each after the text
    ``Time {t} s:`` with its time ``frame / fps`` in seconds (:func:`time_label`), and :func:`track_prompt`
    asks for the lmms-eval RVOS XML format (``<tracks coords="t id x y ...; ...">label</tracks>``, 0-1000
    coordinates, times in seconds; what lmms-eval's ``rvos_*`` tasks ask, in pixbench's words). Multi-image
    input with time labels works the same for every Qwen-VL family and any OpenAI-compatible endpoint, and
    needs no video decoder.
    ``molmo`` (:func:`molmo_question`): one frame alone, :func:`molmo_prompt` asks for Molmo-style points
    (``<point x=".." y="..">`` / ``<points x1=".." y1=".." ...>``, percent of the image); the points go on
    that frame.

    Replies are read by :func:`~pixbench.baselines.point_tracks.read_point_tracks` in the format asked,
    strictly (never raises on a reply; see :mod:`pixbench.baselines.point_tracks`), in the presented frame's
    pixels: both formats are normalised to the image, so no input size is needed and downscaling changes
    nothing.

Back ends (:class:`PointModel`)
    :class:`QwenPointModel` asks a Qwen2-VL / Qwen2.5-VL / Qwen3-VL checkpoint through the processor and
    greedy generation of a :class:`~pixbench.baselines.box_models.QwenBoxModel` (its pixel budgets: the
    single frame at ``max_pixels``, several frames at ``when_max_pixels`` each). :class:`OpenAIPointModel`
    asks any OpenAI-compatible vision endpoint through the chat client, reply cache and JPEG frames of an
    :class:`~pixbench.baselines.box_models.OpenAIBoxModel` (frames downscaled by ``downscale``). A call that
    gets no reply gives an answer with ``call_failed`` set.

torch, transformers and openai are imported inside the functions that need them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

from pixbench.baselines.box_models import (
    WHEN_MAX_PIXELS,
    OpenAIBoxModel,
    QwenBoxModel,
    frame_at,
    frame_size_of,
    sample_indices,
)
from pixbench.baselines.point_tracks import (
    POINT_FORMATS,
    PointFormat,
    PointTrackAnswer,
    failed_answer,
    read_point_tracks,
)

if TYPE_CHECKING:
    from pixbench.chat import ChatClientProtocol, ReplyCache

__all__ = [
    "DEFAULT_MAX_FRAMES",
    "DEFAULT_POINT_FPS",
    "POINT_SYSTEM",
    "WHEN_MAX_PIXELS",
    "OpenAIPointModel",
    "PointModel",
    "PointQuestion",
    "QwenPointModel",
    "molmo_prompt",
    "molmo_question",
    "question_settings",
    "time_label",
    "track_frames",
    "track_prompt",
    "track_question",
]

#: System message of the point questions.
POINT_SYSTEM = "You are a helpful assistant."
#: Frames shown per second of the clip in the ``xml`` question (Molmo2 tracks at 2 fps; MeViS frames are at 6).
DEFAULT_POINT_FPS = 2.0
#: Most frames one ``xml`` question shows (more are evenly spaced over the clip instead).
DEFAULT_MAX_FRAMES = 64


# ------------------------------------------------------------------------------------------------ questions


def track_prompt(expression: str) -> str:
    """The ``xml`` question's text (the frames follow, each after its :func:`time_label`)."""
    return (
        "The images are frames of one video in temporal order; the text before each image gives its time in "
        f"seconds. Track every object that this expression refers to: {expression}. Answer in this XML format: "
        '<tracks coords="t0 id0 x0 y0 id1 x1 y1; t1 id0 x2 y2 id1 x3 y3; ...">target objects</tracks> '
        "where each semicolon-separated segment is one time: the time in seconds, then object_id x y for each "
        "object seen at that time. object_id starts from 0 and names one object across time; x and y are "
        "integers in [0, 1000], normalised to the image width and height. If nothing in the video matches, "
        'answer <tracks coords="">none</tracks>.'
    )


def molmo_prompt(expression: str) -> str:
    """The ``molmo`` question's text (one frame follows)."""
    return (
        f"Point to every object that this expression refers to: {expression}. Answer with "
        '<point x="..." y="..." alt="...">...</point> for one object, or <points x1="..." y1="..." x2="..." '
        'y2="..." alt="...">...</points> for several, where x and y are in percent (0 to 100) of the image '
        'width and height. If nothing matches, answer "There are none."'
    )


def time_label(seconds: float) -> str:
    """The text before a frame in the ``xml`` question: ``Time {seconds} s:`` (at most 3 decimals).

    Examples:
        >>> time_label(0.5), time_label(2.0), time_label(1 / 6)
        ('Time 0.5 s:', 'Time 2 s:', 'Time 0.167 s:')
    """
    return f"Time {round(seconds, 3):g} s:"


def track_frames(num_frames: int, *, fps: float, point_fps: float, max_frames: int = DEFAULT_MAX_FRAMES
                 ) -> tuple[int, ...]:
    """The frames the ``xml`` question shows: ``round(j * fps / point_fps)`` for ``j = 0, 1, ...`` within the
    clip (every frame when ``point_fps >= fps``); when that is more than ``max_frames``,
    :func:`~pixbench.baselines.box_models.sample_indices` ``(num_frames, max_frames)`` instead.

    Examples:
        >>> track_frames(20, fps=6, point_fps=2)
        (0, 3, 6, 9, 12, 15, 18)
        >>> track_frames(20, fps=6, point_fps=2, max_frames=4)
        (0, 6, 13, 19)
        >>> track_frames(3, fps=6, point_fps=12)
        (0, 1, 2)
    """
    for name, value in (("fps", fps), ("point_fps", point_fps)):
        if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
            raise ValueError(f"Expected {name} to be a finite number > 0, but got {value!r}")
    if num_frames < 1 or max_frames < 1:
        raise ValueError(f"Expected num_frames >= 1 and max_frames >= 1, but got {num_frames} and {max_frames}")
    step = fps / point_fps
    if step <= 1:
        shown = tuple(range(num_frames))
    else:
        count = int((num_frames - 1) / step) + 2
        shown = tuple(sorted({k for j in range(count) if (k := round(j * step)) < num_frames}))
    return shown if len(shown) <= max_frames else sample_indices(num_frames, max_frames)


@dataclass(frozen=True)
class PointQuestion:
    """One point question: the format asked, the system and prompt text, the presented frames shown (in
    order) and, for ``xml``, their times in seconds (``frame / fps``; None for ``molmo``)."""

    point_format: PointFormat
    system: str
    text: str
    frames: tuple[int, ...]
    times: tuple[float, ...] | None = None

    def parts(self) -> list[tuple[str, Any]]:
        """The user turn in order: ``("text", str)`` and ``("image", frame index)`` parts (text first, then
        each frame after its :func:`time_label` when there are times)."""
        out: list[tuple[str, Any]] = [("text", self.text)]
        for k, frame in enumerate(self.frames):
            if self.times is not None:
                out.append(("text", time_label(self.times[k])))
            out.append(("image", frame))
        return out

    def to_json(self) -> dict[str, Any]:
        """The frames shown and their times (the text is the run file's)."""
        return {"format": self.point_format, "frames": list(self.frames),
                "times": None if self.times is None else [round(t, 6) for t in self.times]}


def track_question(expression: str, *, num_frames: int, fps: float, point_fps: float = DEFAULT_POINT_FPS,
                   max_frames: int = DEFAULT_MAX_FRAMES) -> PointQuestion:
    """The ``xml`` question about a ``num_frames``-frame clip at ``fps`` (module docstring)."""
    shown = track_frames(num_frames, fps=fps, point_fps=point_fps, max_frames=max_frames)
    return PointQuestion("xml", POINT_SYSTEM, track_prompt(expression), shown, tuple(k / fps for k in shown))


def molmo_question(expression: str, frame_index: int) -> PointQuestion:
    """The ``molmo`` question about presented frame ``frame_index`` alone."""
    if frame_index < 0:
        raise ValueError(f"Expected frame_index >= 0, but got {frame_index}")
    return PointQuestion("molmo", POINT_SYSTEM, molmo_prompt(expression), (frame_index,))


def question_settings(point_format: PointFormat, *, fps: float, point_fps: float = DEFAULT_POINT_FPS,
                      max_frames: int = DEFAULT_MAX_FRAMES) -> dict[str, Any]:
    """The question's settings as a run file stamps them (format, frame rates, system and prompt text)."""
    if point_format not in POINT_FORMATS:
        raise ValueError(f"Expected point_format to be one of {list(POINT_FORMATS)}, but got {point_format!r}")
    if point_format == "xml":
        return {"point_format": "xml", "fps": float(fps), "point_fps": float(point_fps), "max_frames": max_frames,
                "system": POINT_SYSTEM, "prompt": track_prompt("{expression}"), "frame_label": time_label(1.5)}
    return {"point_format": "molmo", "fps": float(fps), "system": POINT_SYSTEM, "prompt": molmo_prompt("{expression}")}


@runtime_checkable
class PointModel(Protocol):
    """What the point baseline needs from a back end (see the module docstring)."""

    def ask(self, frames: Sequence[np.ndarray], question: PointQuestion) -> PointTrackAnswer:
        """The answer to ``question`` about the presented ``frames``, in frame pixels."""
        ...

    def settings(self) -> dict[str, Any]:
        """The settings to stamp in the run file (back end, model, pixel budgets, decoding...)."""
        ...


def _shown(frames: Sequence[np.ndarray], question: PointQuestion) -> tuple[list[np.ndarray], tuple[int, int]]:
    """The frames ``question`` shows (checked) and their size (one for the clip)."""
    images = [frame_at(frames, index) for index in question.frames]
    if not images:
        raise ValueError("Expected a question showing at least one frame")
    size = frame_size_of(images[0])
    bad = next((i for i, image in zip(question.frames, images) if frame_size_of(image) != size), None)
    if bad is not None:
        raise ValueError(f"Expected the frames of one clip to share a size, but frame {bad} is "
                         f"{frame_size_of(frames[bad])} and frame {question.frames[0]} is {size}")
    return images, size


# ------------------------------------------------------------------------------------------------ Qwen-VL


class QwenPointModel:
    """Point tracks from a Qwen2-VL, Qwen2.5-VL or Qwen3-VL model, asked through ``qwen`` (a
    :class:`~pixbench.baselines.box_models.QwenBoxModel`: its processor, pixel budgets, greedy decoding and
    seed). The user turn is :meth:`PointQuestion.parts` (text, then each frame after its time label); one
    frame is sent at ``qwen.max_pixels``, several at ``qwen.when_max_pixels`` each."""

    def __init__(self, qwen: QwenBoxModel) -> None:
        self.qwen = qwen
        self.family = qwen.family

    @classmethod
    def from_pretrained(cls, path: str, *, device: str | None = None, dtype: str = "auto",
                        attn_implementation: str | None = "sdpa", max_pixels: int | None = None,
                        min_pixels: int | None = None, frame_max_pixels: int | None = WHEN_MAX_PIXELS,
                        max_new_tokens: int = 1024, seed: int = 0) -> QwenPointModel:
        """Load a checkpoint through :meth:`QwenBoxModel.from_pretrained`; ``frame_max_pixels``: the
        per-frame budget when several frames are shown."""
        qwen = QwenBoxModel.from_pretrained(path, device=device, dtype=dtype, attn_implementation=attn_implementation,
                                            max_pixels=max_pixels, min_pixels=min_pixels,
                                            max_new_tokens=max_new_tokens, when_max_pixels=frame_max_pixels,
                                            seed=seed)
        return cls(qwen)

    def ask(self, frames: Sequence[np.ndarray], question: PointQuestion) -> PointTrackAnswer:
        """Generate the answer to ``question`` (greedy) and read it in the format asked."""
        images, size = _shown(frames, question)
        content = [{"type": "text", "text": value} if kind == "text" else {"type": "image"}
                   for kind, value in question.parts()]
        several = len(images) > 1
        budget = (self.qwen.when_max_pixels if several and self.qwen.when_max_pixels is not None
                  else self.qwen.max_pixels)
        reply = self.qwen.generate(self.qwen.prepare(question.system, content, images, budget))
        return read_point_tracks(reply, frame_size=size, point_format=question.point_format)

    def settings(self) -> dict[str, Any]:
        """Model, family, pixel budgets and decoding (the question's settings are stamped beside them)."""
        box = self.qwen.settings()
        keep = ("backend", "model", "family", "max_pixels", "min_pixels", "max_new_tokens", "decoding", "seed",
                "attn_implementation", "dtype")
        return {**{key: box[key] for key in keep}, "frame_max_pixels": self.qwen.when_max_pixels}

    def __repr__(self) -> str:
        return f"QwenPointModel(name={self.qwen.name!r}, family={self.family!r})"


# ------------------------------------------------------------------------------------------------ OpenAI


class OpenAIPointModel:
    """Point tracks from any OpenAI-compatible vision endpoint, asked through ``images`` (an
    :class:`~pixbench.baselines.box_models.OpenAIBoxModel`: its chat client and reply cache, and its frames
    as sent: ``W // downscale`` x ``H // downscale`` base64 JPEG). Messages: system
    :attr:`PointQuestion.system`, user :meth:`PointQuestion.parts`. A call that gets no reply (after the
    client's attempts) gives an answer with ``call_failed``."""

    def __init__(self, images: OpenAIBoxModel) -> None:
        self.images = images
        self.client: ChatClientProtocol = images.client

    @classmethod
    def from_endpoint(cls, model: str, *, base_url: str | None = None, cache: ReplyCache | None = None,
                      max_attempts: int = 2, temperature: float = 1.0, timeout: float = 120.0, backoff: float = 1.0,
                      max_tokens: int | None = None, refresh: bool | str | None = False, downscale: int = 2,
                      jpeg_quality: int = 95) -> OpenAIPointModel:
        """Build the chat client through :meth:`OpenAIBoxModel.from_endpoint` (key from ``OPENAI_API_KEY``, never
        printed or cached; ``max_attempts`` tries of one request; replies cached the moment they arrive) and
        wrap it."""
        images = OpenAIBoxModel.from_endpoint(model, base_url=base_url, cache=cache, max_attempts=max_attempts,
                                              temperature=temperature, timeout=timeout, backoff=backoff,
                                              max_tokens=max_tokens, refresh=refresh, downscale=downscale,
                                              jpeg_quality=jpeg_quality, role="point model")
        return cls(images)

    def messages(self, frames: Sequence[np.ndarray], question: PointQuestion) -> list[dict[str, Any]]:
        """The chat messages :meth:`ask` sends."""
        images, _ = _shown(frames, question)
        by_frame = dict(zip(question.frames, images))
        parts = [{"type": "text", "text": value} if kind == "text" else self.images.image_part(by_frame[value])
                 for kind, value in question.parts()]
        return [{"role": "system", "content": question.system}, {"role": "user", "content": parts}]

    def ask(self, frames: Sequence[np.ndarray], question: PointQuestion) -> PointTrackAnswer:
        """Ask the endpoint and read the reply in the format asked (frame pixels of the presented frames)."""
        _, size = _shown(frames, question)
        result = self.client.ask_many([self.messages(frames, question)])[0]
        if not result.ok or result.text is None:
            return failed_answer(result.error or "no reply", frame_size=size, cached=result.cached)
        return read_point_tracks(result.text, frame_size=size, point_format=question.point_format,
                                 cached=result.cached)

    def settings(self) -> dict[str, Any]:
        """Endpoint (redacted), model, downscale, JPEG quality, attempts, temperature."""
        retries = getattr(self.client, "max_retries", None)
        return {"backend": "openai", "model": self.client.model, "endpoint": self.client.endpoint,
                "downscale": self.images.downscale, "jpeg_quality": self.images.jpeg_quality,
                "max_attempts": None if retries is None else int(retries) + 1,
                "temperature": getattr(self.client, "temperature", None)}

    @property
    def unreachable(self) -> str | None:
        """Why the endpoint was given up as unreachable (the client's fail-fast verdict), else None."""
        return self.images.unreachable

    def close(self) -> None:
        """Close the client's HTTP connection (the cache belongs to the caller)."""
        self.images.close()

    def __repr__(self) -> str:
        return f"OpenAIPointModel(model={self.client.model!r}, endpoint={self.client.endpoint!r})"
