"""The core package and the baseline modules import without torch, transformers or segment_anything."""

from __future__ import annotations

import subprocess
import sys

from baseline_helpers import REPO_ROOT


def test_importing_the_baselines_loads_no_heavy_dependency():
    code = (
        "import sys\n"
        "import pixbench, pixbench.baselines, pixbench.cli.baseline, pixbench.baselines.runner\n"
        "import pixbench.baselines.explain, pixbench.baselines.autoselect, pixbench.baselines.tiny\n"
        "from pixbench.cli import build_parser\n"
        "build_parser().format_help()\n"
        "heavy = sorted(m for m in ('torch', 'transformers', 'segment_anything', 'accelerate', 'spacy', 'openai')\n"
        "               if m in sys.modules)\n"
        "print(','.join(heavy))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == ""


def test_missing_dependency_gives_the_install_hint(monkeypatch):
    from pixbench.baselines.attention import require_baseline_deps

    monkeypatch.setitem(sys.modules, "pixbench_missing_dep", None)
    try:
        require_baseline_deps("pixbench_missing_dep")
    except ImportError as exc:
        assert 'pip install "pixbench[baselines]"' in str(exc)
    else:
        raise AssertionError("expected ImportError")
