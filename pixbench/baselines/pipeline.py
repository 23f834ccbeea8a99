"""Attend and segment for one image and one prompt: ``baselines.md`` steps 1 to 7 put together.

:func:`attend_and_segment` generates with attention capture (:mod:`~pixbench.baselines.attention`),
normalises the maps over the answer, groups tokens into noun phrases
(:mod:`~pixbench.baselines.phrases`), turns each group's map into a point
(:mod:`~pixbench.baselines.points`) and prompts SAM with it (:mod:`~pixbench.baselines.sam`).
:func:`ground_generation` does the steps after generation, so a caller with its own generation (or a
test with planted maps) can reuse them. Candidates come out in phrase order, then SAM's mask order:
candidate ``3 * g + k`` is mask ``k`` of phrase ``g``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from pixbench.annotation import rle as rle_ops
from pixbench.baselines.attention import Generation, GenerationSettings, ImageTokenLayout, VisionLanguageAdapter
from pixbench.baselines.phrases import PhraseGroup, PhraseTools, group_tokens, token_char_spans
from pixbench.baselines.points import argmax_points, group_maps, normalise_maps, upsample_to_image
from pixbench.baselines.sam import PointSegmenter
from pixbench.predictions import Candidate

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from PIL import Image

__all__ = ["AttendSegmentResult", "PhraseGrounding", "attend_and_segment", "ground_generation"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PhraseGrounding:
    """One noun phrase, where its attention peaks, and SAM's three masks there.

    ``grid_map``: float32 ``[rows, cols]`` (the group's normalised map); ``point``: ``(x, y)`` integer
    pixels; ``masks``: bool ``[3, H, W]`` in SAM's order; ``sam_scores``: float32 ``[3]`` SAM's
    predicted IoU; ``score``: phrase-to-expression similarity (0.0 when there is no expression).
    """

    group: PhraseGroup
    grid_map: np.ndarray
    point: tuple[int, int]
    masks: np.ndarray
    sam_scores: np.ndarray
    score: float

    def candidates(self) -> list[Candidate]:
        """The three masks as predictions-file candidates (RLE), in SAM's order."""
        group = self.group
        return [Candidate(mask=rle_ops.encode(mask), phrase=group.text, char_start=group.char_start,
                          char_end=group.char_end, token_start=group.token_start, score=float(self.score),
                          point=(float(self.point[0]), float(self.point[1])))
                for mask in self.masks]


@dataclass(frozen=True)
class AttendSegmentResult:
    """Everything one attend-and-segment run produced.

    ``token_ids``: int64 ``[T]``; ``token_spans``: int64 ``[T, 2]`` character spans in ``response``;
    ``maps``: float32 ``[T, rows, cols]`` normalised maps (mean over the answer subtracted), or None when
    attention was not captured; ``groundings``: one per noun phrase, in the parser's order.
    """

    prompt: str
    response: str
    token_ids: np.ndarray
    token_spans: np.ndarray
    maps: np.ndarray | None
    layout: ImageTokenLayout
    groundings: list[PhraseGrounding]

    def candidates(self) -> list[Candidate]:
        """All candidates: phrase by phrase, three masks each (empty when no noun phrase was found)."""
        return [c for g in self.groundings for c in g.candidates()]


def ground_generation(generation: Generation, *, image: np.ndarray, segmenter: PointSegmenter,
                      phrases: PhraseTools, expression: str | None,
                      decode: Callable[[Sequence[int]], str]) -> tuple[np.ndarray, list[PhraseGrounding]]:
    """Steps 3 to 7 on a finished generation (with maps): ``(token_spans, groundings)``.

    ``image``: uint8 ``[H, W, 3]`` RGB, the original image; ``decode``: the adapter's decoder (token
    spans come from incremental decoding). No noun phrase gives no groundings and leaves SAM untouched.
    """
    if generation.maps is None:
        raise ValueError("Expected a generation with attention maps (capture=True), but got none")
    spans, text = token_char_spans(generation.token_ids.tolist(), decode)
    if text != generation.text:
        logger.warning("incremental decoding gave %r, the response is %r; spans follow the former", text,
                       generation.text)
    groups = group_tokens(spans, phrases.parser(generation.text))
    if not groups:
        return spans, []
    maps = normalise_maps(generation.maps)
    per_group = group_maps(maps, [g.tokens for g in groups])
    height, width = image.shape[:2]
    upsampled = upsample_to_image(per_group, height, width, generation.layout.fit)
    points = argmax_points(upsampled)
    segmenter.set_image(image)
    masks, sam_scores = segmenter.predict_points(points.astype(np.float64))
    if masks.shape != (len(groups), 3, height, width):
        raise ValueError(f"Expected the segmenter to return masks of shape [{len(groups)}, 3, {height}, {width}], "
                         f"but got {tuple(masks.shape)}")
    groundings = []
    for g, group in enumerate(groups):
        score = float(phrases.similarity(group.text, expression)) if expression else 0.0
        groundings.append(PhraseGrounding(group, per_group[g], (int(points[g, 0]), int(points[g, 1])),
                                          masks[g], sam_scores[g], score))
    return spans, groundings


def attend_and_segment(*, adapter: VisionLanguageAdapter, segmenter: PointSegmenter | None, phrases: PhraseTools | None,
                       image: Image.Image, prompt: str, expression: str | None, settings: GenerationSettings,
                       masks: bool = True, **generate_kwargs: Any) -> AttendSegmentResult:
    """Generate a response to ``prompt`` about ``image`` and, with ``masks``, ground its noun phrases.

    ``masks=False`` (the ``letter`` probe) only generates: no capture, no phrases, no SAM.
    """
    from pixbench.baselines.attention import generate

    image = image.convert("RGB")
    prepared = adapter.prepare(image, prompt)
    generation = generate(adapter, prepared, settings, capture=masks, **generate_kwargs)
    if not masks:
        empty_spans = np.zeros((generation.token_ids.size, 2), dtype=np.int64)
        return AttendSegmentResult(prompt, generation.text, generation.token_ids, empty_spans, None,
                                   generation.layout, [])
    if segmenter is None or phrases is None:
        raise ValueError("Expected a segmenter and phrase tools to ground the response, but got None")
    array = np.asarray(image, dtype=np.uint8)
    spans, groundings = ground_generation(generation, image=array, segmenter=segmenter, phrases=phrases,
                                          expression=expression, decode=adapter.decode)
    maps = normalise_maps(generation.maps) if generation.maps is not None else None
    return AttendSegmentResult(prompt, generation.text, generation.token_ids, spans, maps, generation.layout,
                               groundings)
