"""Shared pytest setup: helper modules in tests/ importable, offline hub, tiny and real inputs."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

_TESTS = str(Path(__file__).resolve().parent)
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)

# Tests never reach the hub; loading built folders must work offline.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

REPO_ROOT = Path(__file__).resolve().parent.parent


def shared_data_dir() -> Path:
    """``../shared/data`` beside the checkout, or ``$PIXBENCH_SHARED_DATA``."""
    return Path(os.environ.get("PIXBENCH_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real annotation files; tests using them skip when the folder is absent."""
    path = shared_data_dir()
    if not (path / "pixmmvp" / "Segmentations.json").is_file():
        pytest.skip(f"real annotations not found at {path} (set PIXBENCH_SHARED_DATA to run these tests)")
    return path


@dataclass(frozen=True)
class TinyInputs:
    """Paths of the tiny synthetic image benchmarks' raw inputs (each written by its benchmark's ``synthetic``)."""

    mmvp_dir: Path
    pixmmvp_annotations: Path
    cvbench_parquet: Path
    pixcvbench_annotations: Path


@pytest.fixture(scope="session")
def tiny_inputs(tmp_path_factory: pytest.TempPathFactory) -> TinyInputs:
    """Raw inputs of the package's tiny synthetic PixMMVP and PixCV-Bench, in one folder (read-only for tests:
    copy before editing)."""
    from pixbench.benchmarks.pixcvbench.synthetic import write_tiny_cvbench
    from pixbench.benchmarks.pixmmvp.synthetic import write_tiny_mmvp

    root = tmp_path_factory.mktemp("tiny-raw")
    mmvp, cvbench = write_tiny_mmvp(root), write_tiny_cvbench(root)
    return TinyInputs(mmvp.mmvp_dir, mmvp.annotations, cvbench.parquet, cvbench.annotations)


@pytest.fixture(scope="session")
def tiny_built(tiny_inputs, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The tiny benchmark built into hub folders: ``{"pixmmvp": path, "pixcvbench": path}``."""
    from pixbench.benchmarks.pixcvbench import build as pixcvbench
    from pixbench.benchmarks.pixmmvp import build as pixmmvp

    out = tmp_path_factory.mktemp("tiny-built")
    pixmmvp.build(annotations_dir=tiny_inputs.pixmmvp_annotations, mmvp_dir=tiny_inputs.mmvp_dir,
                  out_dir=out / "PixMMVP")
    pixcvbench.build(cvbench_paths=[tiny_inputs.cvbench_parquet],
                     annotations_dir=tiny_inputs.pixcvbench_annotations, out_dir=out / "PixCV-Bench")
    return {"pixmmvp": out / "PixMMVP", "pixcvbench": out / "PixCV-Bench"}
