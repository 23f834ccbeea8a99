"""Pure scoring functions: mask IoU and its reductions, option-letter parsing, accuracy, S, mask
selection among candidates and the paper's analyses. No I/O, no network, no CLI here.

Every metric is reported in percent (0..100); per-row IoU stays a fraction (0..1). Masks are COCO RLE
(:mod:`pixbench.annotation.rle`). The LLM judge (prompts, client, SQLite cache) lives in :mod:`pixbench.judge`,
which may import from here but is never imported by any module of this package (tests/metrics/
test_metrics_is_pure.py checks that no network or database module is loaded with it).
"""

from __future__ import annotations

from pixbench.metrics.accuracy import (
    harmonic_score,
    pair_accuracy,
    pair_correct,
    per_question_accuracy,
    source_mean,
)
from pixbench.metrics.analysis import (
    CONCEPT_CATEGORIES,
    FailureModes,
    concept_histogram,
    emergence_location,
    failure_modes,
    location_histogram,
    plot_histograms,
    row_grounded,
)
from pixbench.metrics.letters import (
    answer_index,
    extract_answer_reference,
    option_letter,
    parse_option_letter,
    parse_option_letter_reference,
)
from pixbench.metrics.masks import (
    area_fractions,
    best_iou_index,
    ciou,
    intersections_and_unions,
    iou,
    ious_from_counts,
    matched_ious,
    miou,
)
from pixbench.metrics.selection import (
    DEFAULT_SCORE_THRESHOLD,
    SELECT_MODES,
    Selection,
    SelectionError,
    SelectMode,
    select_mask,
)

__all__ = [
    "CONCEPT_CATEGORIES",
    "DEFAULT_SCORE_THRESHOLD",
    "SELECT_MODES",
    "FailureModes",
    "SelectMode",
    "Selection",
    "SelectionError",
    "answer_index",
    "area_fractions",
    "best_iou_index",
    "ciou",
    "concept_histogram",
    "emergence_location",
    "extract_answer_reference",
    "failure_modes",
    "harmonic_score",
    "intersections_and_unions",
    "iou",
    "ious_from_counts",
    "location_histogram",
    "matched_ious",
    "miou",
    "option_letter",
    "pair_accuracy",
    "pair_correct",
    "parse_option_letter",
    "parse_option_letter_reference",
    "per_question_accuracy",
    "plot_histograms",
    "row_grounded",
    "select_mask",
    "source_mean",
]
