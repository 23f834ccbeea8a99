"""Where a named dataset or model comes from (pixbench.loaders.sources): a missing relative path is a
missing folder, not a hub id; a hub repo while offline or unreachable fails in seconds naming the option."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pixbench.loaders.sources import SourceError, locate
from pixbench.references import ReferenceError, load_reference


def test_locate_rules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "PixCV-Bench").mkdir()
    (tmp_path / "tiny").mkdir()
    (tmp_path / "tiny" / "llava").mkdir()
    assert locate("out/PixCV-Bench", what="data", argument="--data PATH").kind == "path"
    assert locate("IVUlab/PixMMVP", what="data", argument="--data PATH").kind == "hub"
    for missing, listing in [("out/PixMMVP", "out/ holds: PixCV-Bench/"), ("tiny/lava", "tiny/ holds: llava/"),
                             ("./PixMMVP", ""), ("~/no/such/folder", ""), ("a/b/c", ""), ("PixMMVP", ""),
                             ("owner/name/", "")]:
        with pytest.raises(SourceError, match="--data PATH") as raised:
            locate(missing, what="data", argument="--data PATH")
        assert f"data folder not found: {missing}" in str(raised.value) and listing in str(raised.value)


def test_a_missing_relative_data_folder_is_not_looked_up_on_the_hub(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "out").mkdir()
    with pytest.raises(ReferenceError, match=r"pixmmvp data folder not found: out/PixMMVP.*--data pixmmvp=PATH"):
        load_reference("pixmmvp", "out/PixMMVP")


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _pixbench(args: list[str], cwd: Path, **env: str) -> tuple[int, str, float]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"))}
    environment.update(env)
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "pixbench.cli", *args], cwd=cwd, env=environment,
                          capture_output=True, text=True, timeout=120)
    return done.returncode, done.stderr, time.monotonic() - started


@pytest.mark.parametrize("env", [{"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"},
                                 {"HF_ENDPOINT": "http://127.0.0.1:{port}"}], ids=["offline", "unreachable"])
def test_run_without_data_fails_at_once_naming_the_option(tmp_path: Path, env: dict[str, str]) -> None:
    env = {k: v.format(port=_closed_port()) for k, v in env.items()}
    code, err, seconds = _pixbench(["run", "--base-url", f"http://127.0.0.1:{_closed_port()}/v1", "--model", "m",
                                    "--benchmark", "pixmmvp", "--probe", "letter", "--out", "p.jsonl"], tmp_path, **env)
    assert code == 1 and seconds < 60, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: data: ") and "--data PATH" in lines[0], err
    assert "IVUlab/PixMMVP" in lines[0] and "Traceback" not in err and "judge" not in err


def test_score_without_data_offline_names_the_option(tmp_path: Path) -> None:
    line = '{"benchmark": "pixmmvp", "id": 1, "probe": "letter", "model": "m", "response": "A"}\n'
    (tmp_path / "p.jsonl").write_text(line)
    code, err, _ = _pixbench(["score", "p.jsonl", "--no-judge"], tmp_path, HF_HUB_OFFLINE="1")
    assert code == 1 and "--data pixmmvp=PATH" in err and "Traceback" not in err, err


def test_a_typo_of_a_local_model_folder_is_a_missing_folder(tmp_path: Path, tiny_built: dict[str, Path]) -> None:
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    (tmp_path / "tiny" / "llava").mkdir(parents=True)
    code, err, seconds = _pixbench(["baseline", "attend-segment", "--model", "tiny/lava", "--benchmark", "pixmmvp",
                                    "--data", str(tiny_built["pixmmvp"]), "--probe", "letter", "--out", "p.jsonl"],
                                   tmp_path)
    assert code != 0 and seconds < 60, err
    assert "--model folder not found: tiny/lava (tiny/ holds: llava/)" in err and "Traceback" not in err, err
