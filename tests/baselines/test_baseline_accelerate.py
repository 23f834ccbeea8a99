"""Data parallel: `accelerate launch` with 2 CPU processes writes the same file as one process."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("accelerate")

from baseline_helpers import REPO_ROOT, base_args, run_cli


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_two_processes_give_the_same_file_as_one(tiny_models_dir, tiny_built, tmp_path):
    single = tmp_path / "single" / "preds.jsonl"
    args = base_args(tiny_models_dir, tiny_built["pixmmvp"], single, "--probe", "segment", "vqa", "letter")
    assert run_cli(args) == 0

    parallel = tmp_path / "parallel" / "preds.jsonl"
    accelerate = shutil.which("accelerate", path=str(Path(sys.executable).parent)) or "accelerate"
    command = [accelerate, "launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1",
               "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port", str(_free_port()),
               "-m", "pixbench", "-v", "baseline",
               *base_args(tiny_models_dir, tiny_built["pixmmvp"], parallel, "--probe", "segment", "vqa", "letter",
                          "--device", "cpu")]
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "PYTHONPATH": str(REPO_ROOT)}
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "process 0/2: 4 row(s) to do of 8" in done.stderr and "process 1/2: 4 row(s) to do of 8" in done.stderr
    assert parallel.read_bytes() == single.read_bytes()
    assert not list(parallel.parent.glob("*.shard-*"))


def test_the_earlier_module_spelling_still_runs():
    """`python -m pixbench.baselines ...` (what earlier accelerate commands launch) is `pixbench baseline ...`."""
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    done = subprocess.run([sys.executable, "-m", "pixbench.baselines", "-v", "attend-segment", "--help"],
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "usage: pixbench baseline attend-segment" in done.stdout
