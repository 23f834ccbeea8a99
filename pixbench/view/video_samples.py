"""The samples of a video benchmark (being written)."""

from __future__ import annotations

from typing import Any


def write_samples(context: Any, benchmark: str, reference: Any) -> None:
    """Nothing yet."""
