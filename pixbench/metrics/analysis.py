"""The paper's analyses (contract section 6): failure modes and "when grounding emerges".

Failure modes (of a paired benchmark, PixMMVP), per pair ``k = 1..n_pairs`` of rows ``2k-1`` and ``2k`` (the
number of pairs is the caller's):

- *VQA correct*: both rows answered correctly (the caller picks the probe; the letter probe by default).
- *Grounding correct*: both rows succeed, a row succeeding when its IoU > 0.5 or, for an empty ground
  truth, when the predicted mask covers under half the image.
- The four counts sum to the number of pairs: ``both_succeed`` (VQA and grounding right),
  ``vqa_only_failure`` (VQA wrong, grounding right), ``grounding_only_failure`` (grounding wrong,
  VQA right), ``both_fail``.
- A row absent from an input mapping is a missing prediction and fails (never succeeds on empty
  ground truth); a row absent from ``gt_empty`` is taken as non-empty ground truth.

When grounding emerges: the location of the oracle-best candidate's phrase is
``char_start / len(response) * 100`` (percent of the response), binned into ten bins ``[0, 10), ...,
[80, 90), [90, 100]`` (100 falls in the last); concept categories are the six letters (a)..(f) below.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # matplotlib is optional: imported when plotting
    from matplotlib.figure import Figure

__all__ = [
    "CONCEPT_CATEGORIES",
    "FailureModes",
    "concept_histogram",
    "emergence_location",
    "failure_modes",
    "location_histogram",
    "plot_histograms",
    "row_grounded",
]

CONCEPT_CATEGORIES: dict[str, str] = {
    "a": "color and appearance",
    "b": "location and position",
    "c": "object part",
    "d": "context or setting",
    "e": "objects/entities",
    "f": "state",
}
"""The judge's concept categories by letter, in the paper's order."""

LOCATION_BINS = 10
CONCEPTS_NOT_COMPUTED = "not computed: no judge"
"""What the concept panel of :func:`plot_histograms` says when no concept histogram was computed."""
NO_CONCEPTS = "no phrase categorised"
"""What it says for a concept histogram of all zeros."""


@dataclass(frozen=True)
class FailureModes:
    """Pair counts of the four outcomes; they sum to the number of pairs."""

    both_succeed: int
    """VQA correct and grounding correct."""
    vqa_only_failure: int
    """VQA wrong while grounding is correct."""
    grounding_only_failure: int
    """Grounding wrong while VQA is correct."""
    both_fail: int
    """VQA wrong and grounding wrong."""

    @property
    def total(self) -> int:
        """Number of pairs counted."""
        return self.both_succeed + self.vqa_only_failure + self.grounding_only_failure + self.both_fail

    def as_dict(self) -> dict[str, int]:
        """The four counts by name (for JSON reports)."""
        return asdict(self)


def row_grounded(*, iou: float | None, gt_empty: bool, pred_area_fraction: float | None) -> bool:
    """Whether one row's grounding succeeds: IoU > 0.5, or for empty ground truth area fraction < 0.5.

    ``None`` stands for a missing prediction, which never succeeds.
    """
    if gt_empty:
        return pred_area_fraction is not None and pred_area_fraction < 0.5
    return iou is not None and iou > 0.5


def failure_modes(*, vqa_correct: Mapping[int, bool], ious: Mapping[int, float],
                  gt_empty: Mapping[int, bool], pred_area_fraction: Mapping[int, float],
                  n_pairs: int) -> FailureModes:
    """Count the ``n_pairs`` pairs by outcome (VQA right/wrong x grounding right/wrong); inputs are keyed by row
    id (``1..2*n_pairs``).

    ``ious`` are fractions (0..1) and ``pred_area_fraction`` the predicted foreground over image pixels.
    Rules for missing rows are in the module docstring.

    Examples:
        >>> failure_modes(vqa_correct={1: True, 2: True}, ious={1: 0.9, 2: 0.2}, gt_empty={},
        ...               pred_area_fraction={1: 0.1, 2: 0.1}, n_pairs=2)  # pair 2: no rows at all
        FailureModes(both_succeed=0, vqa_only_failure=0, grounding_only_failure=1, both_fail=1)
    """
    if isinstance(n_pairs, bool) or not isinstance(n_pairs, int) or n_pairs < 1:
        raise ValueError(f"Expected `n_pairs` to be a positive int, but got {n_pairs!r}")
    for name, mapping in (("vqa_correct", vqa_correct), ("ious", ious), ("gt_empty", gt_empty),
                          ("pred_area_fraction", pred_area_fraction)):
        outside = sorted(i for i in mapping if not 1 <= i <= 2 * n_pairs)
        if outside:
            raise ValueError(f"Expected `{name}` keyed by row ids in 1..{2 * n_pairs}, but got {outside[:5]}")
    counts = {"both_succeed": 0, "vqa_only_failure": 0, "grounding_only_failure": 0, "both_fail": 0}
    for k in range(1, n_pairs + 1):
        rows = (2 * k - 1, 2 * k)
        vqa = all(bool(vqa_correct.get(i, False)) for i in rows)
        grounded = all(row_grounded(iou=ious.get(i), gt_empty=bool(gt_empty.get(i, False)),
                                    pred_area_fraction=pred_area_fraction.get(i)) for i in rows)
        if vqa and grounded:
            counts["both_succeed"] += 1
        elif grounded:
            counts["vqa_only_failure"] += 1
        elif vqa:
            counts["grounding_only_failure"] += 1
        else:
            counts["both_fail"] += 1
    return FailureModes(**counts)


def emergence_location(char_start: int, response_length: int) -> float:
    """Where a phrase starts in the response, in percent: ``char_start / response_length * 100``."""
    if isinstance(response_length, bool) or not isinstance(response_length, int) or response_length < 1:
        raise ValueError(f"Expected `response_length` to be a positive int, but got {response_length!r}")
    if isinstance(char_start, bool) or not isinstance(char_start, int) \
            or not 0 <= char_start <= response_length:
        raise ValueError(f"Expected `char_start` to be an int in [0, {response_length}], "
                         f"but got {char_start!r}")
    return char_start / response_length * 100


def location_histogram(locations: Iterable[float]) -> list[int]:
    """Counts of locations (percents) in the ten bins ``[0, 10), ..., [90, 100]``."""
    counts = [0] * LOCATION_BINS
    for location in locations:
        value = float(location)
        if not (math.isfinite(value) and 0.0 <= value <= 100.0):
            raise ValueError(f"Expected every location to be a percent in [0, 100], but got {location!r}")
        counts[min(int(value // 10), LOCATION_BINS - 1)] += 1
    return counts


def _category_letter(label: str) -> str:
    letter = ""
    if isinstance(label, str):
        letter = label.strip().lower().removeprefix("(").removesuffix(")").strip()
    if letter not in CONCEPT_CATEGORIES:
        raise ValueError(f"Expected a concept category letter among (a)..(f), but got {label!r}")
    return letter


def concept_histogram(labels: Iterable[Sequence[str]]) -> dict[str, int]:
    """Counts per concept category name (all six, in order) over phrases.

    Each item holds the category letters the judge named for one phrase (``["c"]``, ``["(a)", "(f)"]``;
    one or two, case and parentheses ignored); a letter repeated within an item counts once.
    """
    counts = dict.fromkeys(CONCEPT_CATEGORIES.values(), 0)
    for item in labels:
        if isinstance(item, str):
            raise ValueError(f"Expected each item to be a sequence of letters such as ['a'], "
                             f"but got {item!r}")
        for letter in dict.fromkeys(_category_letter(label) for label in item):
            counts[CONCEPT_CATEGORIES[letter]] += 1
    return counts


def plot_histograms(location_hist: Sequence[int], concept_hist: Mapping[str, int] | None,
                    path: str | Path) -> Figure:
    """Draw both histograms side by side into an image file (format from the suffix, e.g. ``.png``).

    ``concept_hist=None`` means the concepts were not computed (they need a judge): the concept panel
    then says "not computed: no judge" instead of drawing an empty axis; a histogram of all zeros (no
    phrase categorised) likewise says "no phrase categorised". Returns the figure (already saved).

    Needs matplotlib (``pip install "pixbench[plots]"``); renders with the Agg canvas, so no display
    and no global pyplot state are involved.
    """
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise ImportError('Plotting needs matplotlib: pip install "pixbench[plots]"') from error
    if len(location_hist) != LOCATION_BINS:
        raise ValueError(f"Expected `location_hist` to have {LOCATION_BINS} bins, "
                         f"but got {len(location_hist)}")
    figure = Figure(figsize=(11, 4), layout="constrained")
    FigureCanvasAgg(figure)
    where, what = figure.subplots(1, 2)
    labels = [f"{10 * i}-{10 * (i + 1)}" for i in range(LOCATION_BINS)]
    where.bar(range(LOCATION_BINS), list(location_hist), color="tab:blue")
    where.set_xticks(range(LOCATION_BINS), labels, rotation=45)
    where.set_xlabel("location in the response (%)")
    where.set_ylabel("phrases")
    where.set_title("When grounding emerges")
    what.set_title("Concept of the best phrase")
    if concept_hist is not None and any(concept_hist.values()):
        names = list(concept_hist)
        what.bar(range(len(names)), [concept_hist[n] for n in names], color="tab:orange")
        what.set_xticks(range(len(names)), names, rotation=30, ha="right")
        what.set_ylabel("phrases")
    else:  # a note instead of an empty axis with a meaningless range; the title stays
        what.set_axis_off()
        what.text(0.5, 0.5, CONCEPTS_NOT_COMPUTED if concept_hist is None else NO_CONCEPTS, ha="center",
                  va="center", transform=what.transAxes, fontsize=12, color="0.35")
    figure.savefig(Path(path))
    return figure
