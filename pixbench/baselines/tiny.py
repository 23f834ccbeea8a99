"""Tiny randomly initialised models for tests, demos and benchmarks (nothing is downloaded).

- :func:`tiny_tokenizer`: a word-level tokenizer over :data:`TINY_WORDS` with SentencePiece-style
  ``▁`` word starts (like Llama's), so incremental decoding gives real character spans.
- :func:`tiny_llava`: ``LlavaForConditionalGeneration`` with a small CLIP vision tower and a small
  Llama, and its ``LlavaProcessor`` (chat template ``USER: <image>\\n{prompt} ASSISTANT:``). The sizes
  are arguments, so :mod:`benchmarks.bench_attention` builds one with LLaVA-1.5-7B's 32 layers, 32 heads
  and 24x24 grid at 336 px.
- :func:`tiny_qwen2vl`: ``Qwen2VLForConditionalGeneration`` and its processor (the grid follows the
  image's size).
- :func:`tiny_segment_anything`: a ``segment_anything.modeling.Sam`` with a 64 px, one-block encoder
  (:func:`write_tiny_sam_checkpoint` saves its weights as a ``.pth`` that ``--sam-checkpoint`` loads with
  ``--sam-type tiny``).
- :func:`tiny_transformers_sam`: ``transformers`` ``SamModel`` + ``SamProcessor`` at 64 px.
- :func:`write_tiny_models`: the transformers ones saved to folders that ``--model`` / ``--sam-model``
  accept, plus the tiny segment-anything checkpoint (what ``pixbench baseline make-tiny`` writes).

Their outputs are random: they exercise the mechanics (shapes, spans, files), not grounding quality.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

__all__ = ["TINY_SAM_CHECKPOINT", "TINY_WORDS", "tiny_llava", "tiny_qwen2vl", "tiny_segment_anything",
           "tiny_tokenizer", "tiny_transformers_sam", "write_tiny_models", "write_tiny_sam_checkpoint"]

#: File name of the tiny segment-anything checkpoint in a ``make-tiny`` folder.
TINY_SAM_CHECKPOINT = "sam_tiny.pth"

#: Vocabulary of the tiny tokenizer: mostly determiners, adjectives and nouns, so random text has noun phrases.
TINY_WORDS: tuple[str, ...] = (
    "the", "a", "an", "red", "blue", "green", "small", "large", "left", "right", "square", "disc", "triangle",
    "circle", "image", "hands", "hat", "cat", "dog", "tree", "lamp", "table", "train", "curtain", "kitten", "eyes",
    "butterfly", "wings", "scene", "top", "bottom", "side", "is", "on", "of", "in", "with", "and", "holding",
)
LLAVA_SPECIALS = ("<unk>", "<s>", "</s>", "<pad>", "<image>")
QWEN_SPECIALS = ("<unk>", "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>",
                 "<|image_pad|>", "<|video_pad|>")
LLAVA_TEMPLATE = (
    "{% for m in messages %}{% if m['role'] == 'user' %}USER: {% for c in m['content'] %}"
    "{% if c['type'] == 'image' %}<image>\n{% else %}{{ c['text'] }}{% endif %}{% endfor %} {% endif %}"
    "{% endfor %}{% if add_generation_prompt %}ASSISTANT:{% endif %}"
)
QWEN_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{% for c in m['content'] %}"
    "{% if c['type'] == 'image' %}<|vision_start|><|image_pad|><|vision_end|>{% else %}{{ c['text'] }}{% endif %}"
    "{% endfor %}<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def tiny_tokenizer(specials: tuple[str, ...] = LLAVA_SPECIALS, *, eos: str = "</s>", pad: str = "<pad>",
                   bos: str | None = "<s>") -> Any:
    """A ``PreTrainedTokenizerFast``: ids ``0..len(specials)-1`` are ``specials``, then ``▁word`` per word,
    then ``.`` and ``,``; unknown words map to ``<unk>``."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {token: k for k, token in enumerate(specials)}
    for word in TINY_WORDS:
        vocab[f"\u2581{word}"] = len(vocab)
    for mark in (".", ","):
        vocab[mark] = len(vocab)
    backend = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.Metaspace()
    backend.decoder = decoders.Metaspace()
    extra = [t for t in specials if t not in ("<unk>", eos, pad, bos)]
    return PreTrainedTokenizerFast(tokenizer_object=backend, unk_token="<unk>", eos_token=eos, pad_token=pad,
                                   bos_token=bos, additional_special_tokens=extra)


def tiny_llava(seed: int = 0, *, image_size: int = 48, patch_size: int = 8, layers: int = 2, heads: int = 4,
               hidden: int = 32, vision_hidden: int = 32, vision_layers: int = 1,
               attn: str = "eager") -> tuple[Any, Any]:
    """A random LLaVA (``(image_size / patch_size)^2`` image tokens) and its processor."""
    import torch
    from transformers import CLIPVisionConfig, LlamaConfig, LlavaConfig, LlavaForConditionalGeneration, LlavaProcessor
    from transformers.models.llava.image_processing_llava import LlavaImageProcessor

    tokenizer = tiny_tokenizer()
    ids = {t: tokenizer.convert_tokens_to_ids(t) for t in LLAVA_SPECIALS}
    vision = CLIPVisionConfig(hidden_size=vision_hidden, intermediate_size=2 * vision_hidden,
                              num_hidden_layers=vision_layers, num_attention_heads=2, image_size=image_size,
                              patch_size=patch_size, projection_dim=vision_hidden)
    text = LlamaConfig(hidden_size=hidden, intermediate_size=2 * hidden, num_hidden_layers=layers,
                       num_attention_heads=heads, num_key_value_heads=heads, vocab_size=len(tokenizer),
                       max_position_embeddings=4096, bos_token_id=ids["<s>"], eos_token_id=ids["</s>"],
                       pad_token_id=ids["<pad>"])
    config = LlavaConfig(vision_config=vision, text_config=text, image_token_index=ids["<image>"],
                         vision_feature_layer=-2, vision_feature_select_strategy="default")
    torch.manual_seed(seed)
    model = LlavaForConditionalGeneration(config).eval()
    model.set_attn_implementation({"text_config": attn})
    model.generation_config.pad_token_id = ids["<pad>"]
    model.generation_config.eos_token_id = ids["</s>"]
    image_processor = LlavaImageProcessor(size={"shortest_edge": image_size},
                                          crop_size={"height": image_size, "width": image_size})
    processor = LlavaProcessor(image_processor=image_processor, tokenizer=tokenizer, patch_size=patch_size,
                               vision_feature_select_strategy="default", num_additional_image_tokens=1,
                               chat_template=LLAVA_TEMPLATE)
    return model, processor


def tiny_qwen2vl(seed: int = 0, *, layers: int = 2, heads: int = 4, hidden: int = 32,
                 version: str = "2") -> tuple[Any, Any]:
    """A random Qwen2-VL (``version="2"``) or Qwen2.5-VL (``"2.5"``): patch 14, merge 2, images resized to
    4..64 merged cells; and its processor."""
    import torch
    from transformers import (
        Qwen2_5_VLConfig,
        Qwen2_5_VLForConditionalGeneration,
        Qwen2_5_VLProcessor,
        Qwen2VLConfig,
        Qwen2VLForConditionalGeneration,
        Qwen2VLProcessor,
    )
    from transformers.models.qwen2_vl.image_processing_qwen2_vl import Qwen2VLImageProcessor
    from transformers.models.qwen2_vl.video_processing_qwen2_vl import Qwen2VLVideoProcessor

    if version not in ("2", "2.5"):
        raise ValueError(f"Expected version '2' or '2.5', but got {version!r}")

    tokenizer = tiny_tokenizer(QWEN_SPECIALS, eos="<|im_end|>", pad="<|endoftext|>", bos=None)
    ids = {t: tokenizer.convert_tokens_to_ids(t) for t in QWEN_SPECIALS}
    head_dim = hidden // heads
    vision: dict[str, Any] = {"depth": 1, "num_heads": 2, "patch_size": 14, "spatial_merge_size": 2,
                              "temporal_patch_size": 2}
    if version == "2":
        vision.update(embed_dim=32, hidden_size=hidden, mlp_ratio=2)
    else:
        vision.update(hidden_size=32, intermediate_size=64, out_hidden_size=hidden, window_size=56,
                      fullatt_block_indexes=[0])
    config_class: Any = Qwen2VLConfig if version == "2" else Qwen2_5_VLConfig
    config = config_class(
        vision_config=vision,
        text_config={"vocab_size": len(tokenizer), "hidden_size": hidden, "intermediate_size": 2 * hidden,
                     "num_hidden_layers": layers, "num_attention_heads": heads, "num_key_value_heads": heads,
                     "rope_parameters": {"rope_type": "default", "rope_theta": 10000.0,
                                         "mrope_section": [head_dim // 8, head_dim // 8, head_dim // 4]},
                     "bos_token_id": None, "eos_token_id": ids["<|im_end|>"], "pad_token_id": ids["<|endoftext|>"],
                     "max_position_embeddings": 4096},
        image_token_id=ids["<|image_pad|>"], video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"], vision_end_token_id=ids["<|vision_end|>"])
    torch.manual_seed(seed)
    model_class: Any = Qwen2VLForConditionalGeneration if version == "2" else Qwen2_5_VLForConditionalGeneration
    model = model_class(config).eval()
    model.set_attn_implementation({"text_config": "eager"})
    model.generation_config.pad_token_id = ids["<|endoftext|>"]
    model.generation_config.eos_token_id = ids["<|im_end|>"]
    image_processor = Qwen2VLImageProcessor(min_pixels=28 * 28 * 4, max_pixels=28 * 28 * 64, patch_size=14,
                                            merge_size=2, temporal_patch_size=2)
    processor_class: Any = Qwen2VLProcessor if version == "2" else Qwen2_5_VLProcessor
    processor = processor_class(image_processor=image_processor, tokenizer=tokenizer,
                                video_processor=Qwen2VLVideoProcessor(), chat_template=QWEN_TEMPLATE)
    return model, processor


def tiny_segment_anything(seed: int = 0) -> Any:
    """A random ``segment_anything`` SAM: 64 px input, 16 px patches, one encoder block, 32 channels."""
    import torch
    from segment_anything.modeling import ImageEncoderViT, MaskDecoder, PromptEncoder, Sam, TwoWayTransformer

    torch.manual_seed(seed)
    sam = Sam(
        image_encoder=ImageEncoderViT(img_size=64, patch_size=16, embed_dim=32, depth=1, num_heads=2, mlp_ratio=2,
                                      out_chans=32, qkv_bias=True, use_rel_pos=True, window_size=0,
                                      global_attn_indexes=(0,), norm_layer=partial(torch.nn.LayerNorm, eps=1e-6)),
        prompt_encoder=PromptEncoder(embed_dim=32, image_embedding_size=(4, 4), input_image_size=(64, 64),
                                     mask_in_chans=4),
        mask_decoder=MaskDecoder(num_multimask_outputs=3,
                                 transformer=TwoWayTransformer(depth=1, embedding_dim=32, mlp_dim=64, num_heads=2),
                                 transformer_dim=32, iou_head_depth=1, iou_head_hidden_dim=16),
        pixel_mean=[123.675, 116.28, 103.53], pixel_std=[58.395, 57.12, 57.375])
    return sam.eval()


def tiny_transformers_sam(seed: int = 0) -> tuple[Any, Any]:
    """A random ``transformers`` ``SamModel`` (64 px, 32 channels, ``num_pos_feats=16``) and its processor."""
    import torch
    from transformers import SamConfig, SamModel, SamProcessor
    from transformers.models.sam.image_processing_sam import SamImageProcessor

    config = SamConfig(
        vision_config={"hidden_size": 32, "output_channels": 32, "num_hidden_layers": 1, "num_attention_heads": 2,
                       "image_size": 64, "patch_size": 16, "window_size": 0, "global_attn_indexes": [0],
                       "num_pos_feats": 16, "mlp_dim": 64},
        prompt_encoder_config={"hidden_size": 32, "image_size": 64, "patch_size": 16, "mask_input_channels": 4},
        mask_decoder_config={"hidden_size": 32, "mlp_dim": 64, "num_hidden_layers": 1, "num_attention_heads": 2,
                             "iou_head_depth": 1, "iou_head_hidden_dim": 16})
    torch.manual_seed(seed)
    model = SamModel(config).eval()
    image_processor = SamImageProcessor(size={"longest_edge": 64}, pad_size={"height": 64, "width": 64},
                                        mask_size={"longest_edge": 16}, mask_pad_size={"height": 16, "width": 16})
    return model, SamProcessor(image_processor=image_processor)


def write_tiny_sam_checkpoint(path: Path, seed: int = 0) -> Path:
    """Save the state dict of :func:`tiny_segment_anything` to ``path`` (a ``.pth`` file, like SAM's
    released checkpoints); ``--sam-checkpoint PATH --sam-type tiny`` loads it. Returns ``path``."""
    import torch

    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(tiny_segment_anything(seed).state_dict(), path)
    return path


def write_tiny_models(folder: Path, seed: int = 0) -> dict[str, Path]:
    """Save a tiny LLaVA, Qwen2-VL and transformers SAM under ``folder`` (folders ``llava``, ``qwen2-vl``,
    ``sam``) and a tiny segment-anything checkpoint (:data:`TINY_SAM_CHECKPOINT`, key ``sam_checkpoint``);
    return ``{name: path}``."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, (model, processor) in (("llava", tiny_llava(seed)), ("qwen2-vl", tiny_qwen2vl(seed)),
                                     ("sam", tiny_transformers_sam(seed))):
        path = folder / name
        model.save_pretrained(path)
        processor.save_pretrained(path)
        paths[name] = path
    paths["sam_checkpoint"] = write_tiny_sam_checkpoint(folder / TINY_SAM_CHECKPOINT, seed)
    return paths
