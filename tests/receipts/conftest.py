"""What the receipt tests share: a working folder with a copy of the tiny PixMMVP build and a predictions file
(relative paths, as a user types them), and a clean environment (no key, endpoint or cache folder leaks in)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

if str(Path(__file__).parent) not in sys.path:  # receipt_inputs, beside this file
    sys.path.insert(0, str(Path(__file__).parent))

from receipt_inputs import DATA, PREDICTIONS, prediction_lines, write_lines


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "PIXBENCH_CACHE_DIR", "XDG_CACHE_HOME"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture()
def workspace(tmp_path: Path, tiny_built: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> Path:
    """``tmp/work`` as the current folder, holding ``data/PixMMVP`` (a copy of the tiny build) and
    ``preds/m.jsonl``."""
    root = tmp_path / "work"
    shutil.copytree(tiny_built["pixmmvp"], root / DATA)
    write_lines(root / PREDICTIONS, prediction_lines())
    monkeypatch.chdir(root)
    return root
