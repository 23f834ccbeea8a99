"""PixFoundation's automatic selection: a vision judge picks the best candidate (``baselines.md``).

For each row: first ask whether the image contains the expression
(:func:`~pixbench.judge.presence_messages`, parsed by
:func:`~pixbench.judge.parse_yes_no`); ``no`` gives ``selected: "none"``. Otherwise show the
candidates as the image with the mask tinted red (:func:`tint_red`: 50% blend with pure red on mask
pixels) and ask which shows the expression best (:func:`~pixbench.judge.selection_messages`,
parsed strictly by :func:`~pixbench.judge.parse_choice`: digits only, in ``1..N``). More than
:data:`GROUP_SIZE` candidates run as a tournament: groups of at most 12 in candidate order, then a round
among the group winners, and so on until one is left; a group of one goes through without a question.
Images are sent as JPEG data URLs (quality 90, original size; :func:`pixbench.chat.image_data_url`, kept
here under its earlier name ``image_data_url``).

Rows without an expression or without candidates get ``"none"`` without a question (there is nothing to
find, or nothing to pick). An undetermined reply (presence neither yes nor no, or a choice that does not
parse) leaves the row without a selection (status ``undetermined``), and so does a judge error (status
``error``): nothing is guessed, and a later run asks again (verdicts already received come from the
judge's cache). Every call goes through ``judge.ask_many``, batched across the rows of one call.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from pixbench.annotation import rle as rle_ops
from pixbench.annotation.rle import Rle
from pixbench.chat.messages import image_data_url
from pixbench.judge import Judge, parse_choice, parse_yes_no, presence_messages, selection_messages

__all__ = ["GROUP_SIZE", "AutoSelection", "SelectionRequest", "SelectionStatus", "auto_select", "image_data_url",
           "tint_red", "tournament_groups"]

logger = logging.getLogger(__name__)

GROUP_SIZE = 12
SelectionStatus = Literal["selected", "absent", "no_candidates", "no_expression", "undetermined", "error"]


@dataclass(frozen=True)
class SelectionRequest:
    """One row to choose for: the expression, the image (uint8 ``[H, W, 3]`` RGB) and the candidate masks."""

    expression: str | None
    image: np.ndarray
    masks: Sequence[Rle]


@dataclass(frozen=True)
class AutoSelection:
    """The outcome for one row.

    ``selected``: a candidate index, ``"none"`` (absent, or nothing to pick) or None (undetermined or
    error: no selection). ``replies``: the judge's replies in the order asked.
    """

    selected: int | Literal["none"] | None
    status: SelectionStatus
    detail: str | None = None
    replies: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        """Whether the row got a selection (an index or ``"none"``)."""
        return self.selected is not None


def tint_red(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``image`` with mask pixels blended 50/50 with pure red: ``floor((pixel + (255, 0, 0)) / 2)``.

    ``image``: uint8 ``[H, W, 3]``; ``mask``: bool ``[H, W]``. Returns a new uint8 ``[H, W, 3]``.
    """
    image = np.asarray(image)
    mask = np.asarray(mask, dtype=bool)
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"Expected an RGB image as uint8 [H, W, 3], but got {image.dtype} {image.shape}")
    if mask.shape != image.shape[:2]:
        raise ValueError(f"Expected a mask of shape {image.shape[:2]}, but got {mask.shape}")
    out = image.copy()
    red = np.array([255, 0, 0], dtype=np.uint16)
    out[mask] = ((image[mask].astype(np.uint16) + red) // 2).astype(np.uint8)
    return out


def tournament_groups(indices: Sequence[int], size: int = GROUP_SIZE) -> list[list[int]]:
    """Consecutive groups of at most ``size`` of ``indices``, in order."""
    if size < 2:
        raise ValueError(f"Expected a group size >= 2, but got {size}")
    items = list(indices)
    return [items[k:k + size] for k in range(0, len(items), size)]


@dataclass
class _State:
    contenders: list[int]
    replies: list[str] = field(default_factory=list)
    urls: dict[int, str] = field(default_factory=dict)


def auto_select(judge: Judge, requests: Sequence[SelectionRequest], *, group_size: int = GROUP_SIZE,
                progress: bool = False) -> list[AutoSelection]:
    """Choose for every request (module docstring); one :class:`AutoSelection` per request, in order."""
    results: list[AutoSelection | None] = [None] * len(requests)
    active: list[int] = []
    for index, request in enumerate(requests):
        if not request.expression:
            results[index] = AutoSelection("none", "no_expression", "the row has no referring expression")
        elif not request.masks:
            results[index] = AutoSelection("none", "no_candidates", "the response has no noun phrase")
        else:
            active.append(index)

    presence = judge.ask_many([presence_messages(str(requests[i].expression), image_data_url(requests[i].image))
                               for i in active], progress=progress) if active else []
    states: dict[int, _State] = {}
    for index, reply in zip(active, presence):
        answer = parse_yes_no(reply.text) if reply.ok else None
        replies = (reply.text,) if reply.text is not None else ()
        if not reply.ok:
            results[index] = AutoSelection(None, "error", reply.error, replies)
        elif answer == "no":
            results[index] = AutoSelection("none", "absent", "the judge said the image does not have it", replies)
        elif answer == "undetermined":
            results[index] = AutoSelection(None, "undetermined", f"presence reply {reply.text!r} is not yes/no",
                                           replies)
        else:
            states[index] = _State(list(range(len(requests[index].masks))), list(replies))

    round_number = 0
    while states:
        round_number += 1
        asked: list[tuple[int, list[int]]] = []
        winners: dict[int, list[int]] = {i: [] for i in states}
        for index, state in states.items():
            for group in tournament_groups(state.contenders, group_size):
                if len(group) == 1:
                    winners[index].append(group[0])
                else:
                    asked.append((index, group))
        messages = [selection_messages(str(requests[i].expression),
                                       [_tinted_url(requests[i], states[i], c) for c in group])
                    for i, group in asked]
        logger.info("selection round %d: %d question(s) for %d row(s)", round_number, len(messages), len(states))
        answers = judge.ask_many(messages, progress=progress) if messages else []
        failed: dict[int, AutoSelection] = {}
        for (index, group), reply in zip(asked, answers):
            state = states[index]
            if reply.text is not None:
                state.replies.append(reply.text)
            if index in failed:
                continue
            if not reply.ok:
                failed[index] = AutoSelection(None, "error", reply.error, tuple(state.replies))
                continue
            choice = parse_choice(reply.text, len(group))
            if choice is None:
                failed[index] = AutoSelection(None, "undetermined", f"selection reply {reply.text!r} is not a number "
                                              f"from 1 to {len(group)}", tuple(state.replies))
                continue
            winners[index].append(group[choice - 1])
        for index in list(states):
            if index in failed:
                results[index] = failed.pop(index)
                del states[index]
                continue
            state = states[index]
            state.contenders = sorted(winners[index])
            if len(state.contenders) == 1:
                results[index] = AutoSelection(state.contenders[0], "selected", None, tuple(state.replies))
                del states[index]
    return [r if r is not None else AutoSelection(None, "error", "internal: no outcome") for r in results]


def _tinted_url(request: SelectionRequest, state: _State, candidate: int) -> str:
    if candidate not in state.urls:
        mask = rle_ops.decode(request.masks[candidate])
        state.urls[candidate] = image_data_url(tint_red(request.image, mask))
    return state.urls[candidate]
