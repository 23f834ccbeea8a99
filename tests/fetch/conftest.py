"""Fixtures of the fetch tests: a fake hub on 127.0.0.1 that huggingface_hub talks to instead of the network."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:  # for `import fake_hub`
    sys.path.insert(0, _HERE)

from fake_hub import FakeHub, running_hub  # noqa: E402


@pytest.fixture
def online_hub(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHub]:
    """A running fake hub, made the library's endpoint (``HF_ENDPOINT``) with offline mode off for this test, and
    the GitHub raw endpoint of pinned files (``PIXBENCH_GITHUB_RAW``)."""
    from huggingface_hub import constants

    with running_hub() as hub:
        monkeypatch.setattr(constants, "ENDPOINT", hub.url)
        monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
        monkeypatch.setenv("PIXBENCH_GITHUB_RAW", f"{hub.url}/github")
        monkeypatch.delenv("HF_TOKEN", raising=False)
        yield hub
