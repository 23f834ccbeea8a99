"""Helpers of the baseline tests: forced generation, planted attention, a stand-in SAM, images."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[2]


class ForcedTokens:
    """A logits processor that makes ``generate`` emit ``script`` (token ids), then EOS."""

    def __init__(self, script: Sequence[int], eos: int, prompt_length: int) -> None:
        self.script = [*script, eos]
        self.prompt_length = prompt_length

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        step = input_ids.shape[1] - self.prompt_length
        forced = scores.new_full(scores.shape, float("-inf"))
        forced[:, self.script[min(step, len(self.script) - 1)]] = 0.0
        return forced


def forced(tokenizer: Any, words: Sequence[str], prompt_length: int) -> Any:
    """``logits_processor`` kwargs for ``generate`` that spell ``words`` (tiny-tokenizer words)."""
    from transformers import LogitsProcessorList

    ids = [tokenizer.convert_tokens_to_ids(w if w in (".", ",") else f"\u2581{w}") for w in words]
    return {"logits_processor": LogitsProcessorList([ForcedTokens(ids, tokenizer.eos_token_id, prompt_length)])}


class PlantedAttention:
    """An attention function that computes eager attention but reports planted weights.

    ``schedule(step) -> key position``: at step ``step`` (one step per forward call, counted at layer 0)
    every layer and head reports all its attention on that key. Register with :meth:`install`.
    """

    def __init__(self, schedule: Callable[[int], int]) -> None:
        self.schedule = schedule
        self.calls = 0  # forward calls seen at layer 0

    def __call__(self, module: Any, query: Any, key: Any, value: Any, attention_mask: Any, **kwargs: Any) -> Any:
        from transformers.models.llama.modeling_llama import eager_attention_forward

        output, weights = eager_attention_forward(module, query, key, value, attention_mask, **kwargs)
        if getattr(module, "layer_idx", 0) == 0:
            self.calls += 1
        planted = weights.new_zeros(weights.shape)
        planted[..., self.schedule(self.calls - 1)] = 1.0
        return output, planted

    def install(self, model: Any, name: str = "pixbench_planted") -> None:
        from transformers import AttentionInterface

        AttentionInterface.register(name, self)
        model.set_attn_implementation({"text_config": name})


class DiscSegmenter:
    """A stand-in SAM: for each point, three discs of radius 4, 8 and 16 px centred on it."""

    name = "discs"

    def __init__(self) -> None:
        self.shape: tuple[int, int] | None = None
        self.points: list[np.ndarray] = []

    def set_image(self, image: np.ndarray) -> None:
        self.shape = (image.shape[0], image.shape[1])

    def predict_points(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        assert self.shape is not None
        self.points.append(np.asarray(points))
        rows, cols = np.mgrid[0:self.shape[0], 0:self.shape[1]]
        masks = np.stack([np.stack([(cols - x) ** 2 + (rows - y) ** 2 <= r * r for r in (4, 8, 16)])
                          for x, y in np.asarray(points)]) if len(points) else \
            np.zeros((0, 3, *self.shape), dtype=bool)
        return masks.astype(bool), np.ones((len(points), 3), dtype=np.float32)


def make_image(height: int = 96, width: int = 128, seed: int = 0) -> Any:
    """A random RGB PIL image."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 255, size=(height, width, 3), dtype=np.uint8))


def run_cli(argv: list[str]) -> int:
    """Run a `pixbench baseline` command through :func:`configure_parser` on a fresh parser."""
    from pixbench.cli.baseline import configure_parser

    parser = argparse.ArgumentParser(prog="pixbench baseline")
    configure_parser(parser)
    args = parser.parse_args(argv)
    return int(args.func(args))


def index_of(folder: Path, benchmark: str) -> dict[str, dict[int, tuple[int, int]]]:
    """The dataset index `read_predictions` checks against (id -> ground-truth size)."""
    from pixbench.loaders.hub import load

    dataset = load(str(folder)).select_columns(["id", "height", "width"])
    return {benchmark: {int(r["id"]): (int(r["height"]), int(r["width"])) for r in dataset}}


def base_args(models: dict[str, Path], data: Path, out: Path, *extra: str, model: str = "llava",
              benchmark: str = "pixmmvp") -> list[str]:
    """attend-segment arguments for a tiny model folder: rules parser, 12 sampled tokens, no progress bar."""
    return ["attend-segment", "--model", str(models[model]), "--sam-model", str(models["sam"]), "--phrases", "rules",
            "--benchmark", benchmark, "--data", str(data), "--out", str(out), "--max-new-tokens", "12",
            "--temperature", "1", "--no-progress", *extra]
