"""Attention of generated tokens to the image, captured while a ``transformers`` VLM generates (step 2).

For each generated token ``t = 0..T-1`` the map is the attention of the query that produced it (at
``t = 0`` the second-to-last prompt position, at ``t >= 1`` the previous generated token; the published
convention), restricted to the keys of the image tokens and averaged over all decoder layers and heads.
:class:`AttentionRecorder` computes it with forward hooks on the decoder's attention modules, reducing
each layer's ``[1, heads, queries, keys]`` weights to one ``[K]`` vector as soon as the layer has run, so
what is kept grows with ``T x K`` (``K`` image tokens), never with layers x heads x sequence.
:func:`maps_from_output_attentions` computes the same maps from ``output_attentions=True`` tensors (the
reference the tests compare against).

A model family is one small adapter (:class:`VisionLanguageAdapter`): how to build the inputs for an
image and a prompt, where the image tokens are (:class:`ImageTokenLayout`: their positions in the prompt,
the ``rows x cols`` grid they form in row-major order, and how the grid covers the original image, see
:mod:`pixbench.baselines.points`), which modules are the decoder's attention layers, and how to decode.
:class:`LlavaAdapter` (LLaVA-1.5, a fixed 24x24 grid at 336 px, image padded to a square with the
processor's mean colour as LLaVA does) and :class:`QwenVLAdapter` (Qwen2-VL / Qwen2.5-VL, a grid that
follows each image's size) are provided; :func:`adapter_for` picks one from ``model.config.model_type``.

The decoder must return attention weights: adapters switch the text model to ``eager`` attention when it
uses a kernel that returns none (``sdpa``, flash, flex), and the recorder raises
:class:`AttentionCaptureError` if a layer still returns no weights. torch and transformers are imported
inside functions only.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

from pixbench.baselines.points import FITS, Fit

if TYPE_CHECKING:
    from PIL import Image

__all__ = [
    "AttentionCaptureError",
    "AttentionRecorder",
    "Generation",
    "GenerationSettings",
    "ImageTokenLayout",
    "LlavaAdapter",
    "PreparedInputs",
    "QwenVLAdapter",
    "VisionLanguageAdapter",
    "adapter_for",
    "generate",
    "load_vlm",
    "maps_from_output_attentions",
    "require_baseline_deps",
]

logger = logging.getLogger(__name__)

INSTALL_HINT = 'pip install "pixbench[baselines]"'
#: Attention kernels that return no weights; adapters switch the text model to eager when they see one.
_WEIGHTLESS_KERNELS = ("sdpa", "flash", "flex", "paged")


class AttentionCaptureError(RuntimeError):
    """Attention could not be captured (no weights returned, unexpected shapes, step mismatch)."""


def require_baseline_deps(*modules: str) -> None:
    """Raise ImportError with the install hint when one of ``modules`` cannot be imported."""
    import importlib

    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError as exc:
            raise ImportError(f"The training-free baselines need `{name}`: {INSTALL_HINT}") from exc


# ------------------------------------------------------------------------------------ records


@dataclass(frozen=True)
class ImageTokenLayout:
    """Where the image is in the prompt and how its tokens tile the image.

    ``positions``: int64 ``[K]``, ascending positions in the prompt of the tokens that form the grid,
    ``K = rows * cols``, in row-major cell order. ``grid``: ``(rows, cols)``. ``fit``: how the grid
    covers the original image (``pad``, ``stretch``, ``crop``; see :mod:`pixbench.baselines.points`).
    """

    positions: np.ndarray
    grid: tuple[int, int]
    fit: Fit

    def __post_init__(self) -> None:
        rows, cols = self.grid
        if rows < 1 or cols < 1 or len(self.positions) != rows * cols:
            raise ValueError(f"Expected {rows} x {cols} = {rows * cols} image token positions, "
                             f"but got {len(self.positions)}")
        if self.fit not in FITS:
            raise ValueError(f"Expected fit to be one of {list(FITS)}, but got {self.fit!r}")

    @property
    def contiguous(self) -> bool:
        """Whether the positions are one run ``[first, first + K)``."""
        return bool(len(self.positions) and self.positions[-1] - self.positions[0] + 1 == len(self.positions))


@dataclass
class PreparedInputs:
    """Model inputs for one image and one prompt (a batch of one), and the image token layout.

    ``inputs`` holds the tensors ``model.generate`` takes (``input_ids`` ``[1, L]``, ``pixel_values``,
    ...); ``prompt_length`` is ``L``; ``prompt_text`` is the templated text before image-token expansion.
    """

    inputs: dict[str, Any]
    prompt_text: str
    prompt_length: int
    layout: ImageTokenLayout


@dataclass(frozen=True)
class GenerationSettings:
    """Decoding settings: greedy when ``temperature == 0``, else sampling with ``temperature``/``top_p``.

    The published runs sampled at temperature 0.2 with up to 1024 new tokens; greedy is the default
    here because it needs no seed to be reproducible.
    """

    max_new_tokens: int = 1024
    temperature: float = 0.0
    top_p: float | None = None

    def __post_init__(self) -> None:
        if self.max_new_tokens < 1:
            raise ValueError(f"Expected max_new_tokens >= 1, but got {self.max_new_tokens}")
        if self.temperature < 0:
            raise ValueError(f"Expected temperature >= 0, but got {self.temperature}")
        if self.top_p is not None and not 0 < self.top_p <= 1:
            raise ValueError(f"Expected top_p in (0, 1], but got {self.top_p}")

    def generate_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``model.generate``."""
        kwargs: dict[str, Any] = {"max_new_tokens": self.max_new_tokens, "num_beams": 1, "use_cache": True}
        if self.temperature > 0:
            kwargs.update(do_sample=True, temperature=self.temperature)
            if self.top_p is not None:
                kwargs["top_p"] = self.top_p
        else:
            kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        return kwargs


@dataclass
class Generation:
    """What one generation gave.

    ``token_ids``: int64 ``[T]`` generated ids (prompt excluded, special tokens included);
    ``text``: their decoding with special tokens skipped (the response, not stripped);
    ``maps``: float32 ``[T, rows, cols]`` raw attention maps (before normalisation), or None when not
    captured; ``layout``: the image token layout of the prompt.
    """

    token_ids: np.ndarray
    text: str
    maps: np.ndarray | None
    layout: ImageTokenLayout
    prompt_text: str
    extra: dict[str, Any] = field(default_factory=dict)


# ------------------------------------------------------------------------------------ recorder


class AttentionRecorder:
    """Streaming capture of image attention maps with forward hooks (a context manager).

    ``modules``: the decoder's attention modules in layer order, each returning
    ``(attn_output, attn_weights)`` with weights ``[1, heads, queries, keys]``. ``positions``: key
    positions of the image tokens (int, ``[K]``). ``prompt_length``: ``L``; the first forward call
    (prefill) must have ``L`` queries, and its map is read at query ``L - 2``; later calls are read
    at their last query. Each step's map is the mean over layers and heads, accumulated in float32 on
    the model's device; :meth:`maps` returns float32 ``[T, K]`` on the CPU.
    """

    def __init__(self, modules: Sequence[Any], *, positions: Sequence[int] | np.ndarray, prompt_length: int) -> None:
        if not modules:
            raise ValueError("Expected at least one attention module to hook, but got none")
        positions = np.asarray(positions, dtype=np.int64)
        if positions.ndim != 1 or positions.size == 0:
            raise ValueError(f"Expected a non-empty 1-D array of image token positions, "
                             f"but got shape {positions.shape}")
        if prompt_length < 2:
            raise ValueError(f"Expected a prompt of at least 2 tokens, but got {prompt_length}")
        if positions.max() >= prompt_length - 1:
            raise ValueError(f"Expected image token positions inside the prompt (< {prompt_length - 1}), "
                             f"but got {int(positions.max())}")
        self.modules = list(modules)
        self.positions = positions
        self.prompt_length = int(prompt_length)
        self._contiguous = bool(positions[-1] - positions[0] + 1 == positions.size)
        self._handles: list[Any] = []
        self._index_cache: dict[Any, Any] = {}
        self.reset()

    def reset(self) -> None:
        """Forget captured steps (hooks stay installed)."""
        self._steps: list[Any] = []
        self._sum: Any = None
        self._seen = 0

    @property
    def steps(self) -> int:
        """Number of completed steps (forward calls) so far."""
        return len(self._steps)

    def _keys(self, weights: Any) -> Any:
        if self._contiguous:
            first = int(self.positions[0])
            return slice(first, first + self.positions.size)
        device = weights.device
        if device not in self._index_cache:
            import torch

            self._index_cache[device] = torch.as_tensor(self.positions, device=device)
        return self._index_cache[device]

    def _hook(self, layer: int) -> Any:
        def hook(module: Any, args: Any, output: Any) -> None:
            weights = output[1] if isinstance(output, tuple) and len(output) > 1 else None
            if weights is None:
                raise AttentionCaptureError(
                    f"decoder layer {layer} returned no attention weights: load the model with "
                    "attn_implementation='eager' for its text model (sdpa and flash kernels return none)")
            if weights.dim() != 4 or weights.shape[0] != 1:
                raise AttentionCaptureError(f"Expected attention weights [1, heads, queries, keys], "
                                            f"but got shape {tuple(weights.shape)} at layer {layer}")
            queries = weights.shape[2]
            if not self._steps and self._seen == 0 and layer == 0 and queries != self.prompt_length:
                raise AttentionCaptureError(f"Expected the first forward call to hold the whole prompt "
                                            f"({self.prompt_length} queries), but got {queries}")
            row = self.prompt_length - 2 if not self._steps else queries - 1
            if layer != self._seen:
                raise AttentionCaptureError(f"Expected decoder layer {self._seen} next, but layer {layer} ran")
            reduced = weights[0, :, row, self._keys(weights)].float().mean(dim=0)
            self._sum = reduced if self._sum is None else self._sum + reduced
            self._seen += 1
            if self._seen == len(self.modules):
                self._steps.append(self._sum / len(self.modules))
                self._sum, self._seen = None, 0

        return hook

    def __enter__(self) -> AttentionRecorder:
        self.reset()
        self._handles = [m.register_forward_hook(self._hook(k)) for k, m in enumerate(self.modules)]
        return self

    def __exit__(self, *exc: object) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def maps(self) -> np.ndarray:
        """float32 ``[T, K]``: one row per completed step."""
        if self._seen:
            raise AttentionCaptureError(f"a step is incomplete: {self._seen} of {len(self.modules)} layers ran")
        if not self._steps:
            return np.zeros((0, self.positions.size), dtype=np.float32)
        import torch

        return torch.stack(self._steps).cpu().numpy().astype(np.float32, copy=False)


def maps_from_output_attentions(attentions: Sequence[Sequence[Any]], *, positions: Sequence[int] | np.ndarray,
                                prompt_length: int) -> np.ndarray:
    """The reference computation from ``generate(..., output_attentions=True)``'s ``attentions``.

    ``attentions[t][layer]`` is ``[1, heads, queries, keys]``. Step 0 is read at query
    ``prompt_length - 2``, later steps at their last query; keys at ``positions``; mean over layers and
    heads. Returns float32 ``[T, K]``.
    """
    import torch

    index = torch.as_tensor(np.asarray(positions, dtype=np.int64))
    rows = []
    for step, layers in enumerate(attentions):
        if not layers or any(w is None for w in layers):
            raise AttentionCaptureError(f"step {step} holds no attention weights (was the model run with sdpa?)")
        row = prompt_length - 2 if step == 0 else -1
        query = torch.stack([w[0, :, row, :].float() for w in layers])  # [layers, heads, keys]
        rows.append(query[:, :, index.to(query.device)].mean(dim=(0, 1)).cpu())
    if not rows:
        return np.zeros((0, len(index)), dtype=np.float32)
    return torch.stack(rows).numpy().astype(np.float32)


# ------------------------------------------------------------------------------------ adapters


@runtime_checkable
class VisionLanguageAdapter(Protocol):
    """What capture needs from a model family."""

    family: str
    model: Any
    processor: Any

    def prepare(self, image: Image.Image, prompt: str) -> PreparedInputs:
        """Template ``prompt`` with the image, tokenise, and locate the image tokens."""
        ...

    def attention_modules(self) -> list[Any]:
        """The decoder's self-attention modules, in layer order."""
        ...

    def decode(self, token_ids: Sequence[int]) -> str:
        """Text of generated ids with special tokens skipped (used for the response and for spans)."""
        ...

    def suppress_token_ids(self) -> list[int]:
        """Token ids the model must not generate (image placeholders)."""
        ...


def _decoder_layers(model: Any) -> list[Any]:
    for path in ("model.language_model.layers", "language_model.model.layers", "model.language_model.model.layers",
                 "model.layers"):
        node = model
        for name in path.split("."):
            node = getattr(node, name, None)
            if node is None:
                break
        if node is not None:
            return list(node)
    raise AttentionCaptureError(f"cannot find the decoder layers of {type(model).__name__} "
                                "(looked for model.language_model.layers and language_model.model.layers)")


def _text_config(model: Any) -> Any:
    config = model.config
    return getattr(config, "text_config", None) or config


def _ensure_weights_returned(model: Any) -> None:
    current = str(getattr(_text_config(model), "_attn_implementation", None) or "eager")
    if not any(kernel in current for kernel in _WEIGHTLESS_KERNELS):
        return
    logger.info("switching the text model's attention from %s to eager (attention weights are needed)", current)
    try:
        model.set_attn_implementation({"text_config": "eager"})
    except Exception as exc:  # transformers raises several types for unsupported switches
        raise AttentionCaptureError(f"the text model uses {current!r} attention, which returns no weights, "
                                    f"and switching to eager failed ({exc}); load it with "
                                    "attn_implementation='eager'") from exc


class _TransformersAdapter:
    family = "transformers"

    def __init__(self, model: Any, processor: Any) -> None:
        self.model = model
        self.processor = processor
        self.tokenizer = getattr(processor, "tokenizer", processor)
        _ensure_weights_returned(model)
        self._modules = [layer.self_attn for layer in _decoder_layers(model)]

    def attention_modules(self) -> list[Any]:
        return list(self._modules)

    def decode(self, token_ids: Sequence[int]) -> str:
        return str(self.tokenizer.decode([int(t) for t in token_ids], skip_special_tokens=True))

    def _image_token_id(self) -> int:
        value = getattr(self.model.config, "image_token_id", None)
        if value is None:
            value = getattr(self.model.config, "image_token_index", None)
        if value is None:
            raise AttentionCaptureError(f"{type(self.model).__name__}'s config has no image_token_id")
        return int(value)

    def suppress_token_ids(self) -> list[int]:
        ids = [self._image_token_id()]
        video = getattr(self.model.config, "video_token_id", None)
        if video is not None:
            ids.append(int(video))
        return ids

    def _template(self, prompt: str) -> str:
        messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": prompt}]}]
        if getattr(self.processor, "chat_template", None):
            return str(self.processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False))
        return self._fallback_template(prompt)

    def _fallback_template(self, prompt: str) -> str:
        raise AttentionCaptureError(f"{type(self.processor).__name__} has no chat template")

    def prepare(self, image: Image.Image, prompt: str) -> PreparedInputs:
        raise NotImplementedError

    def _encode(self, image: Image.Image, text: str) -> dict[str, Any]:
        encoded = self.processor(images=[image], text=[text], return_tensors="pt")
        device = next(self.model.parameters()).device
        dtype = next(self.model.parameters()).dtype
        inputs: dict[str, Any] = {}
        for key, value in dict(encoded).items():
            if hasattr(value, "to"):
                value = value.to(device)
                if key == "pixel_values" and value.is_floating_point():
                    value = value.to(dtype)
            inputs[key] = value
        if inputs["input_ids"].shape[0] != 1:
            raise AttentionCaptureError(f"Expected a batch of one prompt, but got {inputs['input_ids'].shape[0]}")
        return inputs

    def _positions(self, inputs: Mapping[str, Any]) -> np.ndarray:
        ids = inputs["input_ids"][0].detach().cpu().numpy()
        return np.flatnonzero(ids == self._image_token_id()).astype(np.int64)


class LlavaAdapter(_TransformersAdapter):
    """LLaVA-1.5 (``LlavaForConditionalGeneration``, e.g. ``llava-hf/llava-1.5-7b-hf``).

    With ``pad_to_square`` (default, as LLaVA-1.5 was trained and as the published baselines ran) the
    image is padded to a centred square filled with the processor's mean colour before the processor
    resizes it, and the grid's fit is ``pad``; without it the processor's own resize and centre crop
    apply and the fit is ``crop``. The grid is ``image_size / patch_size`` cells a side (24 at 336 px);
    with ``vision_feature_select_strategy == "full"`` the first image token (CLS) is left out.
    """

    family = "llava"

    def __init__(self, model: Any, processor: Any, *, pad_to_square: bool = True) -> None:
        super().__init__(model, processor)
        self.pad_to_square = pad_to_square

    def _fallback_template(self, prompt: str) -> str:
        token = getattr(self.processor, "image_token", "<image>")
        return f"USER: {token}\n{prompt} ASSISTANT:"

    def _background(self) -> tuple[int, int, int]:
        mean = getattr(getattr(self.processor, "image_processor", None), "image_mean", None) or (0.0, 0.0, 0.0)
        values = [int(float(v) * 255) for v in (list(mean) * 3)[:3]]
        return values[0], values[1], values[2]

    def _square(self, image: Image.Image) -> Image.Image:
        from PIL import Image as PILImage

        width, height = image.size
        if width == height:
            return image
        side = max(width, height)
        canvas = PILImage.new("RGB", (side, side), self._background())
        canvas.paste(image, ((side - width) // 2, (side - height) // 2))
        return canvas

    def prepare(self, image: Image.Image, prompt: str) -> PreparedInputs:
        image = image.convert("RGB")
        text = self._template(prompt)
        inputs = self._encode(self._square(image) if self.pad_to_square else image, text)
        positions = self._positions(inputs)
        vision = self.model.config.vision_config
        side = int(vision.image_size) // int(vision.patch_size)
        if getattr(self.model.config, "vision_feature_select_strategy", "default") == "full":
            positions = positions[1:]
        if positions.size != side * side:
            raise AttentionCaptureError(f"Expected {side} x {side} = {side * side} image tokens in the prompt, "
                                        f"but got {positions.size}")
        fit: Fit = "pad" if self.pad_to_square else "crop"
        layout = ImageTokenLayout(positions, (side, side), fit)
        return PreparedInputs(inputs, text, int(inputs["input_ids"].shape[1]), layout)


class QwenVLAdapter(_TransformersAdapter):
    """Qwen2-VL and Qwen2.5-VL: the grid follows the image (``image_grid_thw`` divided by the merge size).

    The processor resizes the image to multiples of ``patch_size * merge_size`` keeping the aspect ratio
    approximately, without padding, so the fit is ``stretch``.
    """

    family = "qwen-vl"

    def _fallback_template(self, prompt: str) -> str:
        return ("<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|>"
                f"{prompt}<|im_end|>\n<|im_start|>assistant\n")

    def prepare(self, image: Image.Image, prompt: str) -> PreparedInputs:
        text = self._template(prompt)
        inputs = self._encode(image.convert("RGB"), text)
        positions = self._positions(inputs)
        thw = inputs.get("image_grid_thw")
        if thw is None or tuple(thw.shape) != (1, 3):
            raise AttentionCaptureError(f"Expected image_grid_thw of shape [1, 3], but got "
                                        f"{None if thw is None else tuple(thw.shape)}")
        t, h, w = (int(v) for v in thw[0].tolist())
        merge = int(getattr(self.model.config.vision_config, "spatial_merge_size", 2))
        rows, cols = h // merge, w // merge
        if t != 1 or positions.size != rows * cols:
            raise AttentionCaptureError(f"Expected {rows} x {cols} = {rows * cols} image tokens for grid "
                                        f"(t={t}, h={h}, w={w}) / merge {merge}, but got {positions.size}")
        layout = ImageTokenLayout(positions, (rows, cols), "stretch")
        return PreparedInputs(inputs, text, int(inputs["input_ids"].shape[1]), layout)


_FAMILIES: dict[str, type[_TransformersAdapter]] = {
    "llava": LlavaAdapter,
    "qwen2_vl": QwenVLAdapter,
    "qwen2_5_vl": QwenVLAdapter,
}


def adapter_for(model: Any, processor: Any, **options: Any) -> VisionLanguageAdapter:
    """The adapter of ``model``'s family (by ``model.config.model_type``); options go to its constructor."""
    model_type = str(getattr(model.config, "model_type", ""))
    if model_type not in _FAMILIES:
        raise NotImplementedError(f"Expected a model of type {sorted(_FAMILIES)}, but got {model_type!r} "
                                  f"({type(model).__name__})")
    cls = _FAMILIES[model_type]
    return cls(model, processor, **options) if cls is LlavaAdapter else cls(model, processor)


def load_vlm(name_or_path: str, *, device: str = "cpu", dtype: str = "auto",
             **options: Any) -> VisionLanguageAdapter:
    """Load a model and its processor (hub id or local folder) with eager text attention; return its adapter.

    ``dtype``: ``auto`` (float16 on CUDA, float32 elsewhere), ``float32``, ``float16`` or ``bfloat16``.
    Nothing is downloaded at import time; ``from_pretrained`` may download on this call.
    """
    require_baseline_deps("torch", "transformers")
    import torch
    from transformers import AutoModelForImageTextToText, AutoProcessor

    if dtype == "auto":
        torch_dtype = torch.float16 if str(device).startswith("cuda") else torch.float32
    elif dtype in ("float32", "float16", "bfloat16"):
        torch_dtype = getattr(torch, dtype)
    else:
        raise ValueError(f"Expected dtype to be auto, float32, float16 or bfloat16, but got {dtype!r}")
    processor = AutoProcessor.from_pretrained(name_or_path)
    model: Any = AutoModelForImageTextToText.from_pretrained(name_or_path, dtype=torch_dtype)
    model = model.to(device).eval()
    return adapter_for(model, processor, **options)


# ------------------------------------------------------------------------------------ generation


def generate(adapter: VisionLanguageAdapter, prepared: PreparedInputs, settings: GenerationSettings, *,
             capture: bool = True, **generate_kwargs: Any) -> Generation:
    """Generate a response; with ``capture``, record the maps while generating (one per token).

    Extra keyword arguments go to ``model.generate`` (e.g. ``output_attentions=True`` for a reference
    run, a ``logits_processor``); the image placeholder tokens are always suppressed. The caller seeds
    the random generators when sampling.
    """
    import torch

    model = adapter.model
    kwargs = settings.generate_kwargs()
    suppressed = adapter.suppress_token_ids()
    if suppressed:
        kwargs["suppress_tokens"] = suppressed
    tokenizer = getattr(adapter, "tokenizer", None)
    if getattr(model.generation_config, "pad_token_id", None) is None and tokenizer is not None:
        pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
        if pad is not None:
            kwargs["pad_token_id"] = pad
    kwargs.update(generate_kwargs)
    kwargs["return_dict_in_generate"] = True
    layout = prepared.layout
    recorder = AttentionRecorder(adapter.attention_modules(), positions=layout.positions,
                                 prompt_length=prepared.prompt_length) if capture else None
    with torch.no_grad():
        if recorder is not None:
            with recorder:
                output = model.generate(**prepared.inputs, **kwargs)
        else:
            output = model.generate(**prepared.inputs, **kwargs)
    token_ids = output.sequences[0, prepared.prompt_length:].detach().cpu().numpy().astype(np.int64)
    maps = None
    if recorder is not None:
        flat = recorder.maps()
        if flat.shape[0] != token_ids.size:
            raise AttentionCaptureError(f"Expected one attention map per generated token ({token_ids.size}), "
                                        f"but captured {flat.shape[0]}")
        maps = flat.reshape(flat.shape[0], *layout.grid)
    extra = {"attentions": output.attentions} if getattr(output, "attentions", None) is not None else {}
    return Generation(token_ids, adapter.decode(token_ids.tolist()), maps, layout, prepared.prompt_text, extra)
