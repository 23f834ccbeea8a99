"""``pixbench.metrics`` promises pure scoring functions: no I/O, no network. Importing any of its modules, each
in a fresh interpreter, must not load a database, HTTP or socket module, nor the judge (``pixbench.judge``).

numpy and pycocotools (which the metrics use) load none of these themselves, so the list is complete. The
judge is the control: the same check must see ``sqlite3`` and ``socket`` once ``pixbench.judge.client`` is imported.
"""

from __future__ import annotations

import json
import os
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
METRICS_DIR = REPO / "pixbench" / "metrics"

#: Modules the metrics must never load, directly or through a dependency.
FORBIDDEN = (
    "sqlite3",
    "openai",
    "httpx",
    "httpx2",
    "socket",
    "urllib.request",
    "http.client",
    "requests",
    "pixbench.judge",
)

# Module names are found without importing them here (this process has imported much else already).
METRICS_MODULES = [
    "pixbench.metrics",
    *sorted(f"pixbench.metrics.{info.name}" for info in pkgutil.iter_modules([str(METRICS_DIR)])),
]


def _loaded_after_import(module: str) -> list[str]:
    """The names of FORBIDDEN loaded (themselves or a submodule) by importing ``module`` in a fresh interpreter."""
    code = (
        "import importlib, json, sys\n"
        f"importlib.import_module({module!r})\n"
        f"forbidden = {FORBIDDEN!r}\n"
        "print(json.dumps(sorted(f for f in forbidden if any(m == f or m.startswith(f + '.') for m in sys.modules))))\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=REPO,
                          timeout=120, check=False)
    assert done.returncode == 0, f"import {module} failed:\n{done.stderr}"
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_every_metrics_module_is_listed() -> None:
    assert {"pixbench.metrics.masks", "pixbench.metrics.accuracy", "pixbench.metrics.analysis"} <= set(
        METRICS_MODULES
    )
    assert not any(m.startswith("pixbench.metrics.judge") for m in METRICS_MODULES)  # moved to pixbench.judge


@pytest.mark.parametrize("module", METRICS_MODULES)
def test_metrics_module_loads_no_network_or_database(module: str) -> None:
    assert _loaded_after_import(module) == []


def test_the_check_sees_what_the_judge_loads() -> None:
    loaded = _loaded_after_import("pixbench.judge.client")  # the package itself loads its client lazily
    assert {"sqlite3", "socket", "pixbench.judge"} <= set(loaded)
    assert not {"openai", "httpx", "httpx2", "requests"} & set(loaded)  # openai is imported when a judge is built


def test_importing_the_judge_has_no_side_effects(tmp_path: Path) -> None:
    """No client, thread, log filter or handler, file or environment change at import."""
    code = (
        "import json, logging, os, sys, threading\n"
        "env = dict(os.environ)\n"
        "import pixbench.judge, pixbench.judge.cache, pixbench.judge.client, pixbench.judge.protocol\n"
        "loggers = [logging.root, *logging.root.manager.loggerDict.values()]\n"
        "touched = [getattr(l, 'name', '?') for l in loggers\n"
        "           if getattr(l, 'filters', None) or getattr(l, 'handlers', None)]\n"
        "print(json.dumps({'threads': threading.active_count(), 'loggers': touched, 'env': dict(os.environ) == env,\n"
        "                  'openai': 'openai' in sys.modules}))\n"
    )
    home = tmp_path / "home"
    env = {**os.environ, "PYTHONPATH": str(REPO), "HOME": str(home), "PIXBENCH_CACHE_DIR": str(home / "cache")}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=REPO,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {
        "threads": 1, "loggers": [], "env": True, "openai": False
    }
    assert not home.exists()  # no cache folder created at import
