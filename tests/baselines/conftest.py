"""Fixtures of the baseline tests: tiny random models (built here, never downloaded) and planted signals.

Tests that need torch, transformers or segment_anything skip when they are not installed.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

import pytest

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:  # for `import baseline_helpers`
    sys.path.insert(0, _HERE)

HAVE_BASELINE_DEPS = all(importlib.util.find_spec(m) is not None
                         for m in ("torch", "transformers", "segment_anything", "accelerate"))
needs_models = pytest.mark.skipif(not HAVE_BASELINE_DEPS,
                                  reason='needs the baselines extra: pip install "pixbench[baselines]"')


@pytest.fixture(scope="session")
def tiny_llava() -> tuple[Any, Any]:
    """A random tiny LLaVA (6x6 grid at 48 px, 2 layers, 4 heads) and its processor (shared: do not modify)."""
    pytest.importorskip("transformers")
    from pixbench.baselines.tiny import tiny_llava as build

    return build(seed=0)


@pytest.fixture(scope="session")
def tiny_qwen() -> tuple[Any, Any]:
    """A random tiny Qwen2-VL and its processor (shared: do not modify)."""
    pytest.importorskip("transformers")
    from pixbench.baselines.tiny import tiny_qwen2vl

    return tiny_qwen2vl(seed=0)


@pytest.fixture(scope="session")
def tiny_models_dir(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Tiny LLaVA, Qwen2-VL and transformers SAM saved to folders (what the CLI loads)."""
    pytest.importorskip("transformers")
    from pixbench.baselines.tiny import write_tiny_models

    return write_tiny_models(tmp_path_factory.mktemp("tiny-models"))
