"""Back ends of the box step: ask an MLLM for the referred object's boxes in one frame of a presented clip.

A back end (:class:`BoxModel`) takes the presented frames (uint8 ``[H, W, 3]`` RGB numpy arrays, in
presented order) and an expression, and answers two questions:

- :meth:`BoxModel.locate` ``(frames, expression, frame_index)``: the boxes of the referred object in frame
  ``frame_index``, as a :class:`~pixbench.baselines.boxes.BoxAnswer` (frame pixels, the raw reply, the
  parse error if any, the box convention used);
- :meth:`BoxModel.when` ``(frames, expression)``: when the described content happens, as a
  :class:`~pixbench.baselines.boxes.WindowAnswer` whose ``middle`` is the window's middle frame (or None).
  The question (:func:`~pixbench.baselines.boxes.when_prompt`) shows :func:`sample_indices` frames (evenly
  spaced over the clip, first and last included) as separate images, each after the text ``Frame {i}:``
  with its presented frame number, and asks for ``{"start_frame": s, "end_frame": e}``; the reply is parsed
  strictly by :func:`~pixbench.baselines.boxes.parse_window`. Multi-image input works the same for every
  Qwen-VL family and for OpenAI-compatible endpoints, and frame numbers need no frame rate (the published
  run asked a video input for seconds).

Two back ends:

- :class:`QwenBoxModel`: a Qwen2-VL / Qwen2.5-VL / Qwen3-VL checkpoint through ``transformers``; the family
  comes from ``config.model_type`` and selects the box convention
  (:data:`~pixbench.baselines.boxes.BOX_CONVENTIONS`); greedy decoding; the published single-image prompt
  with the frame as one image.
- :class:`OpenAIBoxModel`: any OpenAI-compatible vision endpoint through the project's chat client
  (:class:`~pixbench.chat.ChatClient`: retries, fail-fast, key from ``OPENAI_API_KEY``, secrets redacted)
  and its SQLite reply cache (:class:`~pixbench.chat.ReplyCache`), so a rerun makes no call. Frames go
  as base64 JPEG data URLs, downscaled; boxes come back in the sent image's pixels and are scaled back.

:func:`initial_frame` picks the frame whose boxes seed the video segmenter (``first``, ``keyframe``,
``window``), optionally merging the boxes found on the mirrored layout of a pair probe.

Replies are data: every reply goes through :func:`~pixbench.baselines.boxes.read_boxes` or
:func:`~pixbench.baselines.boxes.parse_window`, which never raise on a reply (nesting, size and lone
surrogates are bounded or replaced; see :mod:`pixbench.baselines.boxes`), and at most
:data:`~pixbench.baselines.boxes.MAX_BOXES_PER_REPLY` boxes of a frame (after the flip merge too) seed the
segmenter, so one clip tracks at most that many objects. Every ``to_json`` here writes text as UTF-8 can
encode it.

torch, transformers and openai are imported inside the functions that need them.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

import numpy as np

from pixbench.baselines.boxes import (
    BOX_SYSTEM,
    GPT_BOX_SYSTEM,
    MAX_BOXES_PER_REPLY,
    NO_BOX_ANYWHERE,
    QWEN_RELEASED_MAX_PIXELS,
    QWEN_RELEASED_MIN_PIXELS,
    WHEN_SYSTEM,
    Box,
    BoxAnswer,
    BoxFormat,
    WindowAnswer,
    box_format_for,
    box_prompt,
    encodable_text,
    frame_label,
    gpt_box_prompt,
    merge_boxes,
    mirror_boxes,
    parse_window,
    read_boxes,
    served_input_size,
    when_prompt,
)

if TYPE_CHECKING:
    from pixbench.chat import ChatClientProtocol, ReplyCache

__all__ = [
    "INIT_STRATEGIES",
    "QWEN_FAMILIES",
    "BoxModel",
    "FrameAttempt",
    "InitStrategy",
    "InitialFrame",
    "OpenAIBoxModel",
    "PromptStyle",
    "QwenBoxModel",
    "frame_at",
    "frame_order",
    "frame_size_of",
    "initial_frame",
    "sample_indices",
]

logger = logging.getLogger(__name__)

#: ``config.model_type`` values :class:`QwenBoxModel` accepts.
QWEN_FAMILIES = ("qwen2_vl", "qwen2_5_vl", "qwen3_vl", "qwen3_vl_moe")
InitStrategy = Literal["first", "keyframe", "window"]
INIT_STRATEGIES: tuple[InitStrategy, ...] = ("first", "keyframe", "window")
PromptStyle = Literal["video", "image"]
#: Default per-image pixel budget of the temporal-window question (256 merged 28 px cells per frame).
WHEN_MAX_PIXELS = 28 * 28 * 256


@runtime_checkable
class BoxModel(Protocol):
    """What the video grounding runner needs from a box back end (see the module docstring)."""

    family: str
    box_format: BoxFormat

    def locate(self, frames: Sequence[np.ndarray], expression: str, frame_index: int) -> BoxAnswer:
        """Boxes of ``expression`` in ``frames[frame_index]``, in frame pixels."""
        ...

    def when(self, frames: Sequence[np.ndarray], expression: str) -> WindowAnswer:
        """When ``expression`` happens in the clip (a window of presented frame numbers)."""
        ...

    def settings(self) -> dict[str, Any]:
        """The settings to stamp in the run file (model, family, box convention, prompts, decoding...)."""
        ...


# ------------------------------------------------------------------------------------------------ helpers


def frame_at(frames: Sequence[np.ndarray], index: int) -> np.ndarray:
    """``frames[index]`` checked: ``IndexError`` outside the clip, ``ValueError`` unless RGB uint8 ``[H, W, 3]``."""
    if not 0 <= index < len(frames):
        raise IndexError(f"Expected a frame index in 0..{len(frames) - 1}, but got {index}")
    frame = np.asarray(frames[index])
    if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
        raise ValueError(f"Expected frame {index} to be RGB uint8 [H, W, 3], but got {frame.dtype} {frame.shape}")
    return frame


def frame_size_of(frame: np.ndarray) -> tuple[int, int]:
    """``(height, width)`` of an ``[H, W, ...]`` frame."""
    return int(frame.shape[0]), int(frame.shape[1])


def sample_indices(num_frames: int, count: int) -> tuple[int, ...]:
    """``count`` frame indices evenly spaced over ``0..num_frames - 1`` (rounded, first and last included).

    Examples:
        >>> sample_indices(10, 4)
        (0, 3, 6, 9)
        >>> sample_indices(3, 16)
        (0, 1, 2)
    """
    if num_frames < 1 or count < 1:
        raise ValueError(f"Expected num_frames >= 1 and count >= 1, but got {num_frames} and {count}")
    if count >= num_frames:
        return tuple(range(num_frames))
    return tuple(int(i) for i in np.unique(np.linspace(0, num_frames - 1, count).round().astype(np.int64)))


def _size_value(size: Any, key: str) -> int | None:
    value = size.get(key) if isinstance(size, dict) else getattr(size, key, None)
    return None if value is None else int(value)


# ------------------------------------------------------------------------------------------------ Qwen-VL


class QwenBoxModel:
    """Boxes from a Qwen2-VL, Qwen2.5-VL or Qwen3-VL model and its processor (``transformers``).

    ``model``: a ``*ForConditionalGeneration`` whose ``config.model_type`` is one of :data:`QWEN_FAMILIES`;
    it selects the box convention unless ``box_format`` overrides it. ``max_pixels`` / ``min_pixels``: the
    processor's per-image pixel budget for :meth:`locate` (None: the processor's own, e.g. the checkpoint's
    ``preprocessor_config.json``); the input size the boxes refer to is read from the processor's
    ``image_grid_thw`` (x ``patch_size``: 14 for Qwen2/2.5-VL, 16 for Qwen3-VL), never assumed.
    ``when_frames`` frames at most ``when_max_pixels`` each are shown by :meth:`when`. Decoding is greedy
    with at most ``max_new_tokens`` new tokens, after ``torch.manual_seed(seed)``: the same inputs give
    the same reply. :meth:`locate` sends system :data:`~pixbench.baselines.boxes.BOX_SYSTEM` and the user
    turn ``[prompt text, image]`` (the published order).
    """

    def __init__(
        self,
        model: Any,
        processor: Any,
        *,
        name: str | None = None,
        max_pixels: int | None = None,
        min_pixels: int | None = None,
        max_new_tokens: int = 1024,
        box_format: str | None = None,
        when_frames: int = 16,
        when_max_pixels: int | None = WHEN_MAX_PIXELS,
        seed: int = 0,
    ) -> None:
        from pixbench.baselines.attention import GenerationSettings

        family = str(getattr(getattr(model, "config", None), "model_type", ""))
        if family not in QWEN_FAMILIES:
            raise ValueError(f"Expected a Qwen-VL model (config.model_type one of {list(QWEN_FAMILIES)}), "
                             f"but got {family or type(model).__name__!r}")
        for label, value in (("max_pixels", max_pixels), ("min_pixels", min_pixels),
                             ("when_max_pixels", when_max_pixels)):
            if value is not None and value < 1:
                raise ValueError(f"Expected {label} >= 1, but got {value}")
        if when_frames < 1:
            raise ValueError(f"Expected when_frames >= 1, but got {when_frames}")
        self.model = model
        self.processor = processor
        self.family = family
        self.name = name or str(getattr(model, "name_or_path", "") or type(model).__name__)
        self.box_format: BoxFormat = box_format_for(family, box_format)
        self.box_format_overridden = box_format is not None
        self.max_pixels = max_pixels
        self.min_pixels = min_pixels
        self.when_frames = when_frames
        self.when_max_pixels = when_max_pixels
        self.seed = seed
        self.generation = GenerationSettings(max_new_tokens=max_new_tokens)

    @classmethod
    def from_pretrained(
        cls,
        path: str,
        *,
        device: str | None = None,
        dtype: str = "auto",
        attn_implementation: str | None = "sdpa",
        max_pixels: int | None = None,
        min_pixels: int | None = None,
        max_new_tokens: int = 1024,
        box_format: str | None = None,
        when_frames: int = 16,
        when_max_pixels: int | None = WHEN_MAX_PIXELS,
        seed: int = 0,
    ) -> QwenBoxModel:
        """Load a checkpoint (local folder or hub name) and its processor; ``attn_implementation`` ``sdpa``
        by default (``eager`` and ``flash_attention_2`` also work), ``device`` CUDA when available."""
        from pixbench.baselines.attention import require_baseline_deps

        require_baseline_deps("torch", "transformers")
        import torch
        from transformers import AutoConfig, AutoModelForImageTextToText, AutoProcessor

        family = str(getattr(AutoConfig.from_pretrained(path), "model_type", ""))
        if family not in QWEN_FAMILIES:
            raise ValueError(f"Expected a Qwen-VL checkpoint (model_type one of {list(QWEN_FAMILIES)}) at {path}, "
                             f"but its config says {family!r}")
        processor = AutoProcessor.from_pretrained(path)
        kwargs: dict[str, Any] = {"dtype": dtype}
        if attn_implementation is not None:
            kwargs["attn_implementation"] = attn_implementation
        model: Any = AutoModelForImageTextToText.from_pretrained(path, **kwargs)
        target = device or ("cuda" if torch.cuda.is_available() else "cpu")
        model = model.to(target).eval()
        return cls(model, processor, name=str(path), max_pixels=max_pixels, min_pixels=min_pixels,
                   max_new_tokens=max_new_tokens, box_format=box_format, when_frames=when_frames,
                   when_max_pixels=when_max_pixels, seed=seed)

    # -- model calls
    def _pixels(self, max_pixels: int | None) -> dict[str, Any]:
        """``size`` for the processor call when a pixel budget is set (else the processor's own)."""
        if max_pixels is None and self.min_pixels is None:
            return {}
        current = getattr(self.processor.image_processor, "size", None)
        shortest = self.min_pixels if self.min_pixels is not None else _size_value(current, "shortest_edge")
        longest = max_pixels if max_pixels is not None else _size_value(current, "longest_edge")
        return {"size": {"shortest_edge": shortest, "longest_edge": longest}}

    def prepare(self, system: str, content: list[dict[str, Any]], images: list[np.ndarray],
                max_pixels: int | None) -> Any:
        """Processor outputs (a ``BatchFeature``) for one chat turn: ``content`` parts and their images."""
        from PIL import Image

        messages = [{"role": "system", "content": [{"type": "text", "text": system}]},
                    {"role": "user", "content": content}]
        text = self.processor.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        return self.processor(text=[text], images=[Image.fromarray(image) for image in images],
                              return_tensors="pt", **self._pixels(max_pixels))

    def generate(self, inputs: Any) -> str:
        """Greedy decoding on prepared inputs; the reply decoded without special tokens (the one model call)."""
        import torch

        device = getattr(self.model, "device", None)
        if device is not None:
            inputs = inputs.to(device)
        torch.manual_seed(self.seed)
        with torch.inference_mode():
            output = self.model.generate(**inputs, **self.generation.generate_kwargs())
        new_tokens = output[:, inputs["input_ids"].shape[1]:]
        decoded = self.processor.batch_decode(new_tokens, skip_special_tokens=True,
                                              clean_up_tokenization_spaces=True)
        return str(decoded[0])

    def input_size(self, inputs: Any, image: int = 0) -> tuple[int, int]:
        """``(height, width)`` of image ``image`` as the model saw it: ``image_grid_thw[1:] * patch_size``."""
        grid = inputs["image_grid_thw"][image]
        patch = int(getattr(self.processor.image_processor, "patch_size", 14))
        return int(grid[1]) * patch, int(grid[2]) * patch

    # -- questions
    def locate(self, frames: Sequence[np.ndarray], expression: str, frame_index: int) -> BoxAnswer:
        """Ask the published box prompt about ``frames[frame_index]`` alone; boxes in frame pixels."""
        frame = frame_at(frames, frame_index)
        content = [{"type": "text", "text": box_prompt(expression)}, {"type": "image"}]
        inputs = self.prepare(BOX_SYSTEM, content, [frame], self.max_pixels)
        input_size = self.input_size(inputs)
        reply = self.generate(inputs)
        answer = read_boxes(reply, frame_index=frame_index, box_format=self.box_format,
                            frame_size=frame_size_of(frame), input_size=input_size)
        logger.debug("frame %d: %d box(es), error %s", frame_index, len(answer.boxes), answer.error)
        return answer

    def when(self, frames: Sequence[np.ndarray], expression: str) -> WindowAnswer:
        """Ask when ``expression`` happens, showing :func:`sample_indices` frames labelled with their numbers."""
        shown = sample_indices(len(frames), self.when_frames)
        images = [frame_at(frames, i) for i in shown]
        content: list[dict[str, Any]] = [{"type": "text", "text": when_prompt(expression)}]
        for index in shown:
            content += [{"type": "text", "text": frame_label(index)}, {"type": "image"}]
        budget = self.when_max_pixels if self.when_max_pixels is not None else self.max_pixels
        reply = self.generate(self.prepare(WHEN_SYSTEM, content, images, budget))
        return parse_window(reply, num_frames=len(frames), frames_shown=shown)

    def settings(self) -> dict[str, Any]:
        """Model, family, box convention (and whether overridden), prompts, pixel budgets and decoding."""
        current = getattr(self.processor.image_processor, "size", None)
        config = getattr(self.model, "config", None)
        return {
            "backend": "transformers",
            "model": self.name,
            "family": self.family,
            "box_format": self.box_format,
            "box_format_source": "override" if self.box_format_overridden else "family table",
            "system": BOX_SYSTEM,
            "prompt": box_prompt("{expression}"),
            "max_pixels": self.max_pixels if self.max_pixels is not None else _size_value(current, "longest_edge"),
            "min_pixels": self.min_pixels if self.min_pixels is not None else _size_value(current, "shortest_edge"),
            "max_new_tokens": self.generation.max_new_tokens,
            "decoding": "greedy",
            "seed": self.seed,
            "when_frames": self.when_frames,
            "when_max_pixels": self.when_max_pixels,
            "attn_implementation": getattr(config, "_attn_implementation", None),
            "dtype": str(getattr(self.model, "dtype", "")),
        }

    def __repr__(self) -> str:
        return f"QwenBoxModel(name={self.name!r}, family={self.family!r}, box_format={self.box_format!r})"


# ------------------------------------------------------------------------------------------------ OpenAI


class OpenAIBoxModel:
    """Boxes from any OpenAI-compatible vision endpoint, asked through a chat client and its cache.

    ``client``: anything with :meth:`~pixbench.chat.ChatClientProtocol.ask_many` (normally the
    :class:`~pixbench.chat.ChatClient` :meth:`from_endpoint` builds; a :class:`~pixbench.chat.FakeChatClient`
    offline). Every frame sent is downscaled by
    ``downscale`` (``W // downscale`` x ``H // downscale``, bilinear, as published) and sent as a base64 JPEG
    data URL (quality ``jpeg_quality``); boxes come back in the sent image's pixels (``input-pixels``) and
    are scaled back by ``W / (W // downscale)``, unless ``box_format`` overrides the convention.

    ``prompt_style="video"`` (the published GPT run): system
    :data:`~pixbench.baselines.boxes.GPT_BOX_SYSTEM`, user ``[gpt_box_prompt, frames...]`` with frames
    ``frame_index, frame_index + frame_stride, ...`` to the end of the clip; the prompt asks for the boxes of
    the first frame sent, i.e. of ``frame_index``. ``"image"``: the single-image prompt on
    ``frames[frame_index]`` alone (for endpoints serving Qwen-VL models: an endpoint serving Qwen2.5-VL
    answers in its own resized input: give ``box_family="qwen2_5_vl"`` and, if the server was started with
    other limits than the released checkpoints', its ``min_pixels`` / ``max_pixels``).
    A failed call (after the client's attempts) gives an answer with ``error`` set and no box.
    """

    family = "openai"

    def __init__(
        self,
        client: ChatClientProtocol,
        *,
        frame_stride: int = 2,
        downscale: int = 2,
        prompt_style: PromptStyle = "video",
        box_format: str | None = None,
        when_frames: int = 16,
        jpeg_quality: int = 95,
        box_family: str = "openai",
        min_pixels: int = QWEN_RELEASED_MIN_PIXELS,
        max_pixels: int = QWEN_RELEASED_MAX_PIXELS,
    ) -> None:
        if frame_stride < 1 or downscale < 1 or when_frames < 1:
            raise ValueError(f"Expected frame_stride, downscale and when_frames >= 1, but got {frame_stride}, "
                             f"{downscale} and {when_frames}")
        if prompt_style not in ("video", "image"):
            raise ValueError(f"Expected prompt_style 'video' or 'image', but got {prompt_style!r}")
        if not 1 <= jpeg_quality <= 100:
            raise ValueError(f"Expected jpeg_quality in 1..100, but got {jpeg_quality}")
        self.client = client
        self.frame_stride = frame_stride
        self.downscale = downscale
        self.prompt_style: PromptStyle = prompt_style
        if not 1 <= min_pixels <= max_pixels:
            raise ValueError(f"Expected 1 <= min_pixels <= max_pixels, but got {min_pixels} and {max_pixels}")
        self.box_family = box_family
        self.box_format: BoxFormat = box_format_for(box_family, box_format)
        self.box_format_overridden = box_format is not None
        self.min_pixels, self.max_pixels = min_pixels, max_pixels
        self.when_frames = when_frames
        self.jpeg_quality = jpeg_quality

    @classmethod
    def from_endpoint(
        cls,
        model: str,
        *,
        base_url: str | None = None,
        cache: ReplyCache | None = None,
        max_attempts: int = 2,
        temperature: float = 1.0,
        timeout: float = 120.0,
        backoff: float = 1.0,
        max_tokens: int | None = None,
        refresh: bool | str | None = False,
        frame_stride: int = 2,
        downscale: int = 2,
        prompt_style: PromptStyle = "video",
        box_format: str | None = None,
        when_frames: int = 16,
        jpeg_quality: int = 95,
        box_family: str = "openai",
        min_pixels: int = QWEN_RELEASED_MIN_PIXELS,
        max_pixels: int = QWEN_RELEASED_MAX_PIXELS,
        role: str = "box model",
    ) -> OpenAIBoxModel:
        """Build the :class:`~pixbench.chat.ChatClient` for ``model`` at ``base_url`` and wrap it (``role``: how
        the client's messages name it).

        The key is read by the client from ``OPENAI_API_KEY`` (never printed, never cached). ``max_attempts``
        counts every try of one request (the published run: 2), retried on rate limits, 5xx and connection
        errors after ``backoff`` seconds, doubling. ``temperature`` 1.0 is the API default the published run
        used (reasoning models accept no other); ``max_tokens=None`` sends no limit. Replies are stored in
        ``cache`` the moment they arrive; ``refresh`` asks again (see :class:`~pixbench.chat.ChatClient`).
        """
        if max_attempts < 1:
            raise ValueError(f"Expected max_attempts >= 1, but got {max_attempts}")
        from pixbench.chat.client import ChatClient

        client = ChatClient(model=model, base_url=base_url, cache=cache, temperature=temperature, timeout=timeout,
                            max_retries=max_attempts - 1, concurrency=1, max_tokens=max_tokens, backoff=backoff,
                            refresh=refresh, role=role)
        return cls(client, frame_stride=frame_stride, downscale=downscale, prompt_style=prompt_style,
                   box_format=box_format, when_frames=when_frames, jpeg_quality=jpeg_quality,
                   box_family=box_family, min_pixels=min_pixels, max_pixels=max_pixels)

    def sent_image(self, frame: np.ndarray) -> np.ndarray:
        """The frame as sent: ``W // downscale`` x ``H // downscale`` (at least 1 px), bilinear."""
        if self.downscale == 1:
            return frame
        from PIL import Image

        height, width = frame_size_of(frame)
        size = (max(1, width // self.downscale), max(1, height // self.downscale))
        return np.asarray(Image.fromarray(frame).resize(size, Image.Resampling.BILINEAR))

    def image_part(self, frame: np.ndarray) -> dict[str, Any]:
        """The chat content part of ``frame`` as sent (:meth:`sent_image`, base64 JPEG data URL)."""
        from pixbench.chat.messages import image_data_url, image_part

        return image_part(image_data_url(self.sent_image(frame), quality=self.jpeg_quality))

    def messages(self, frames: Sequence[np.ndarray], expression: str, frame_index: int) -> list[dict[str, Any]]:
        """The chat messages :meth:`locate` sends (see the class docstring)."""
        frame = frame_at(frames, frame_index)
        if self.prompt_style == "image":
            return [{"role": "system", "content": BOX_SYSTEM},
                    {"role": "user", "content": [{"type": "text", "text": box_prompt(expression)},
                                                 self.image_part(frame)]}]
        parts: list[dict[str, Any]] = [{"type": "text", "text": gpt_box_prompt(expression)}]
        for index in range(frame_index, len(frames), self.frame_stride):
            other = frame_at(frames, index)
            if other.shape != frame.shape:
                raise ValueError(f"Expected the frames of one clip to share a size, but frame {index} is "
                                 f"{other.shape} and frame {frame_index} is {frame.shape}")
            parts.append(self.image_part(other))
        return [{"role": "system", "content": GPT_BOX_SYSTEM}, {"role": "user", "content": parts}]

    def locate(self, frames: Sequence[np.ndarray], expression: str, frame_index: int) -> BoxAnswer:
        """Ask the endpoint for the boxes of ``frames[frame_index]``; boxes scaled back to frame pixels."""
        frame = frame_at(frames, frame_index)
        sent = self.sent_image(frame)
        input_size = served_input_size(self.box_family, self.box_format, *frame_size_of(sent),
                                       min_pixels=self.min_pixels, max_pixels=self.max_pixels) or frame_size_of(sent)
        result = self.client.ask_many([self.messages(frames, expression, frame_index)])[0]
        if not result.ok or result.text is None:
            return BoxAnswer(frame_index=frame_index, reply=None, boxes=(), model_boxes=(), box_format=self.box_format,
                             frame_size=frame_size_of(frame), input_size=input_size,
                             error=result.error or "no reply", cached=result.cached)
        return read_boxes(result.text, frame_index=frame_index, box_format=self.box_format,
                          frame_size=frame_size_of(frame), input_size=input_size, cached=result.cached)

    def when(self, frames: Sequence[np.ndarray], expression: str) -> WindowAnswer:
        """Ask when ``expression`` happens, showing :func:`sample_indices` frames (downscaled) with their numbers."""
        shown = sample_indices(len(frames), self.when_frames)
        parts: list[dict[str, Any]] = [{"type": "text", "text": when_prompt(expression)}]
        for index in shown:
            parts += [{"type": "text", "text": frame_label(index)}, self.image_part(frame_at(frames, index))]
        messages: list[dict[str, Any]] = [{"role": "system", "content": WHEN_SYSTEM},
                                          {"role": "user", "content": parts}]
        result = self.client.ask_many([messages])[0]
        if not result.ok or result.text is None:
            return WindowAnswer(None, shown, error=result.error or "no reply", cached=result.cached)
        answer = parse_window(result.text, num_frames=len(frames), frames_shown=shown)
        return dataclasses.replace(answer, cached=result.cached)

    def settings(self) -> dict[str, Any]:
        """Endpoint (redacted), model, box convention, prompt style, stride, downscale, attempts, temperature."""
        retries = getattr(self.client, "max_retries", None)
        return {
            "backend": "openai",
            "model": self.client.model,
            "endpoint": self.client.endpoint,
            "family": self.box_family,
            "box_format": self.box_format,
            "box_format_source": "override" if self.box_format_overridden else "family table",
            **({"min_pixels": self.min_pixels, "max_pixels": self.max_pixels}
               if self.box_family.startswith("qwen") else {}),
            "prompt_style": self.prompt_style,
            "system": GPT_BOX_SYSTEM if self.prompt_style == "video" else BOX_SYSTEM,
            "prompt": (gpt_box_prompt if self.prompt_style == "video" else box_prompt)("{expression}"),
            "frame_stride": self.frame_stride,
            "downscale": self.downscale,
            "jpeg_quality": self.jpeg_quality,
            "when_frames": self.when_frames,
            "max_attempts": None if retries is None else int(retries) + 1,
            "temperature": getattr(self.client, "temperature", None),
        }

    @property
    def judge(self) -> ChatClientProtocol:
        """The earlier name of :attr:`client`."""
        return self.client

    @property
    def unreachable(self) -> str | None:
        """Why the endpoint was given up as unreachable (the client's fail-fast verdict), else None."""
        reason = getattr(self.client, "unreachable", None)
        return reason if isinstance(reason, str) else None

    def close(self) -> None:
        """Close the client's HTTP connection (the cache belongs to the caller)."""
        close = getattr(self.client, "close", None)
        if callable(close):
            close()

    def __repr__(self) -> str:
        return (f"OpenAIBoxModel(model={self.client.model!r}, endpoint={self.client.endpoint!r}, "
                f"prompt_style={self.prompt_style!r}, frame_stride={self.frame_stride}, downscale={self.downscale})")


# ------------------------------------------------------------------------------------------------ initial frame


def frame_order(
    strategy: InitStrategy,
    num_frames: int,
    *,
    keyframe: int | None = None,
    window: tuple[int, int] | None = None,
) -> tuple[int, ...]:
    """The order in which :func:`initial_frame` tries frames.

    ``first``: ``0, 1, ..., T - 1``. ``keyframe``: ``keyframe``, then the others ascending. ``window``: the
    middle of ``window = (start, end)`` (``(start + end) // 2``), then the window's other frames ascending
    (the published order), then the rest ascending; without a window, as ``first``.

    Examples:
        >>> frame_order("window", 8, window=(2, 5))
        (3, 2, 4, 5, 0, 1, 6, 7)
    """
    if num_frames < 1:
        raise ValueError(f"Expected num_frames >= 1, but got {num_frames}")
    every = list(range(num_frames))
    if strategy == "first":
        return tuple(every)
    if strategy == "keyframe":
        if keyframe is None or not 0 <= keyframe < num_frames:
            raise ValueError(f"Expected a keyframe in 0..{num_frames - 1} for --init keyframe, but got {keyframe}")
        return (keyframe, *(i for i in every if i != keyframe))
    if strategy == "window":
        if window is None:
            return tuple(every)
        start, end = window
        if not 0 <= start <= end < num_frames:
            raise ValueError(f"Expected a window within 0..{num_frames - 1}, but got {window}")
        middle = (start + end) // 2
        inside = [i for i in range(start, end + 1) if i != middle]
        return (middle, *inside, *(i for i in every if not start <= i <= end))
    raise ValueError(f"Expected strategy to be one of {list(INIT_STRATEGIES)}, but got {strategy!r}")


@dataclass(frozen=True)
class FrameAttempt:
    """One frame tried: the answer on the presented layout, the one on the mirrored layout (flip merge, its
    boxes still in mirrored coordinates) and the union of both in presented frame pixels, at most
    :data:`~pixbench.baselines.boxes.MAX_BOXES_PER_REPLY`; ``over_limit``: merged boxes beyond that limit
    (each answer holds at most as many, their union up to twice), not seeded."""

    frame_index: int
    answer: BoxAnswer
    mirrored: BoxAnswer | None
    boxes: tuple[Box, ...]
    over_limit: tuple[Box, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"frame": self.frame_index, "answer": self.answer.to_json(),
                "mirrored": None if self.mirrored is None else self.mirrored.to_json(),
                "boxes": [b.as_list() for b in self.boxes],
                "over_limit": [b.as_list() for b in self.over_limit]}


@dataclass(frozen=True)
class InitialFrame:
    """Where propagation starts and from which boxes.

    ``strategy``: as asked; ``frame_index``: the first frame tried that gave at least one box (None if
    none did); ``boxes``: its boxes in presented frame pixels (flip-merged when a mirrored layout was
    given), one SAM 2 object each; ``attempts``: every frame tried, in order; ``window``: the model's
    temporal window (``window`` strategy); ``error``: :data:`~pixbench.baselines.boxes.NO_BOX_ANYWHERE`
    (with how many frames were tried when ``max_tries`` cut the search short), or why a model call failed,
    None when found; ``call_failed``: the search stopped because a call got no reply (endpoint down, HTTP
    errors after the retries): an infrastructure failure, not an answer, which a rerun may not repeat.
    """

    strategy: InitStrategy
    frame_index: int | None
    boxes: tuple[Box, ...]
    attempts: tuple[FrameAttempt, ...]
    window: WindowAnswer | None = None
    error: str | None = None
    call_failed: bool = False

    @property
    def found(self) -> bool:
        return self.frame_index is not None

    @property
    def replies(self) -> tuple[str | None, ...]:
        """Every reply in the order asked: the window question's first, then per frame (mirrored after)."""
        replies: list[str | None] = [] if self.window is None else [self.window.reply]
        for attempt in self.attempts:
            replies.append(attempt.answer.reply)
            if attempt.mirrored is not None:
                replies.append(attempt.mirrored.reply)
        return tuple(replies)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready record (every reply, label and error writable as UTF-8: lone surrogates as U+FFFD)."""
        return {"strategy": self.strategy, "frame": self.frame_index, "boxes": [b.as_list() for b in self.boxes],
                "labels": [b.to_json()["label"] for b in self.boxes],
                "error": None if self.error is None else encodable_text(self.error), "call_failed": self.call_failed,
                "window": None if self.window is None else self.window.to_json(),
                "attempts": [a.to_json() for a in self.attempts]}


def initial_frame(
    strategy: InitStrategy,
    model: BoxModel,
    frames: Sequence[np.ndarray],
    expression: str,
    *,
    keyframe: int | None = None,
    mirrored: Sequence[np.ndarray] | None = None,
    mirror_axis: Literal["x", "y"] | None = None,
    max_tries: int | None = None,
) -> InitialFrame:
    """Try frames in :func:`frame_order` until one gives at least one box (in frame pixels, after clamping).

    ``keyframe``: the dataset's keyframe (``keyframe`` strategy). ``window`` asks ``model.when`` first and
    falls back to ``first`` order when the window does not parse. A call that gets no reply (``reply`` None:
    transport or HTTP failure after the back end's attempts) stops the search with ``call_failed`` set
    instead of moving on to the next frame. ``mirrored``: the presented frames of the
    mirrored layout (pair probes, ``--flip-merge``): each frame is asked on both layouts and the mirrored
    boxes are mapped back with :func:`~pixbench.baselines.boxes.mirror_boxes` (``mirror_axis`` ``x`` for
    side-by-side, ``y`` for stacked) and merged, the first :data:`~pixbench.baselines.boxes.MAX_BOXES_PER_REPLY`
    of the union kept (each answer holds at most that many already). ``max_tries``: stop after that many
    frames (None: all).
    """
    if strategy not in INIT_STRATEGIES:
        raise ValueError(f"Expected strategy to be one of {list(INIT_STRATEGIES)}, but got {strategy!r}")
    if not frames:
        raise ValueError("Expected at least one frame, but got none")
    if mirrored is not None:
        if len(mirrored) != len(frames):
            raise ValueError(f"Expected as many mirrored frames as frames, but got {len(mirrored)} and {len(frames)}")
        if mirror_axis not in ("x", "y"):
            raise ValueError(f"Expected mirror_axis 'x' or 'y' with mirrored frames, but got {mirror_axis!r}")
    if max_tries is not None and max_tries < 1:
        raise ValueError(f"Expected max_tries >= 1 or None, but got {max_tries}")
    window: WindowAnswer | None = None
    span: tuple[int, int] | None = None
    if strategy == "window":
        window = model.when(frames, expression)
        if window.reply is None:
            return InitialFrame(strategy, None, (), (), window, f"the window call failed: {window.error}", True)
        if window.start is not None and window.end is not None:
            span = (window.start, window.end)
        else:
            logger.info("no temporal window (%s); trying frames from the first", window.error)
    order = frame_order(strategy, len(frames), keyframe=keyframe, window=span)
    if max_tries is not None:
        order = order[:max_tries]
    attempts: list[FrameAttempt] = []
    for index in order:
        answer = model.locate(frames, expression, index)
        other: BoxAnswer | None = None
        boxes = answer.boxes
        if mirrored is not None and mirror_axis is not None:
            other = model.locate(mirrored, expression, index)
            mapped = mirror_boxes(other.boxes, canvas=other.frame_size, axis=mirror_axis)
            boxes = merge_boxes(answer.boxes, mapped)
        over_limit = boxes[MAX_BOXES_PER_REPLY:]
        boxes = boxes[:MAX_BOXES_PER_REPLY]
        if over_limit:
            logger.info("frame %d: %d flip-merged box(es) over the limit of %d", index, len(over_limit),
                        MAX_BOXES_PER_REPLY)
        attempts.append(FrameAttempt(index, answer, other, boxes, over_limit))
        failed = next((a for a in (answer, other) if a is not None and a.call_failed), None)
        if failed is not None:
            return InitialFrame(strategy, None, (), tuple(attempts), window,
                                f"the box call failed at frame {index}: {failed.error}", True)
        if boxes:
            return InitialFrame(strategy, index, boxes, tuple(attempts), window)
    error = NO_BOX_ANYWHERE
    if len(order) < len(frames):
        error += f" in the {len(order)} frame(s) tried (max_tries={max_tries})"
    return InitialFrame(strategy, None, (), tuple(attempts), window, error)
