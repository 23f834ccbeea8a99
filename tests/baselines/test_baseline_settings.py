"""The README's offline flow (segment-anything checkpoint included) and what `OUT.run.json` identifies:
local paths resolved, the SAM checkpoint by content, run files of older versions."""

from __future__ import annotations

import json
import logging
import re
import shlex
import shutil
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("segment_anything")

from baseline_helpers import REPO_ROOT, run_cli

from pixbench.baselines.runner import RUN_FORMAT, file_sha256, resolve_path


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def run_settings(out: Path) -> dict:
    return json.loads(out.with_name(out.name + ".run.json").read_text(encoding="utf-8"))


def readme_offline_commands() -> list[list[str]]:
    """The commands of the README's "Try it offline" block, one argv each (`a && b` gives two)."""
    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index("Try it offline")
    block = re.search(r"```bash\n(.*?)```", text[start:], re.DOTALL)
    assert block, "the README's offline flow has no bash block"
    joined = block.group(1).replace("\\\n", " ")
    commands = []
    for line in joined.splitlines():
        for part in line.split("&&"):
            argv = shlex.split(part, comments=True)
            if argv:
                assert argv[0] == "pixbench", argv
                commands.append(argv[1:])
    return commands


def checkpoint_args(checkpoint: str, models: dict[str, Path], data: Path, out: Path, *extra: str) -> list[str]:
    return ["attend-segment", "--model", str(models["llava"]), "--sam-checkpoint", checkpoint, "--sam-type", "tiny",
            "--phrases", "rules", "--benchmark", "pixmmvp", "--data", str(data), "--out", str(out),
            "--max-new-tokens", "8", "--temperature", "1", "--no-progress", "--probe", "segment", *extra]


def test_readme_offline_flow_with_a_segment_anything_checkpoint(tmp_path, monkeypatch, capsys):
    from pixbench import cli

    commands = readme_offline_commands()
    assert ["baseline", "make-tiny", "tiny"] in commands
    assert any("--sam-checkpoint" in c and "--sam-model" not in c for c in commands), "no checkpoint variant"
    assert any("--sam-model" in c for c in commands), "no transformers-SAM variant"
    monkeypatch.chdir(tmp_path)  # the README's relative paths
    for argv in commands:
        capsys.readouterr()
        assert cli.main(argv) == 0, (argv, capsys.readouterr().err[-2000:])
    checkpoint_run = next(c for c in commands if "--sam-checkpoint" in c)
    out = Path(checkpoint_run[checkpoint_run.index("--out") + 1])
    checkpoint = tmp_path / checkpoint_run[checkpoint_run.index("--sam-checkpoint") + 1]
    assert checkpoint.is_file() and checkpoint.parent == tmp_path / "tiny"

    record = run_settings(out)
    settings = record["settings"]
    assert record["run_format"] == RUN_FORMAT
    assert settings["segmenter"] == "segment-anything:tiny"
    assert settings["sam_checkpoint_sha256"] == file_sha256(checkpoint)
    assert settings["sam_checkpoint"] == str(checkpoint.resolve())
    assert settings["model_path"] == str((tmp_path / "tiny" / "llava").resolve())
    assert settings["data"] == str((tmp_path / "demo" / "PixMMVP").resolve())
    assert any(r.get("candidates") for r in lines(out)), "the tiny SAM should give candidates"

    capsys.readouterr()
    assert cli.main(["score", str(out), "--data", "pixmmvp=demo/PixMMVP", "--select", "oracle", "--no-judge",
                     "--format", "json"]) == 0
    result = json.loads(capsys.readouterr().out)["results"][0]
    assert result["model"] == "llava" and result["counts"]["missing"] == {"vqa": 0, "segment": 0, "letter": 0}
    assert result["metrics"]["M"] is not None and result["metrics"]["M_dagger"] is not None

    # The same run typed with absolute paths (and from another directory) resumes: nothing to redo.
    absolute = list(checkpoint_run)
    for option in ("--model", "--sam-checkpoint", "--data", "--out"):
        at = absolute.index(option) + 1
        absolute[at] = str(tmp_path / absolute[at])
    monkeypatch.chdir(tmp_path / "tiny")
    capsys.readouterr()
    assert cli.main(absolute) == 0
    assert "0 written now by this process, 24 already there" in capsys.readouterr().err


def test_sam_model_typed_relative_or_absolute_resumes(tiny_models_dir, tiny_built, tmp_path, monkeypatch, capsys):
    out = tmp_path / "preds.jsonl"
    folder = tiny_models_dir["sam"].parent
    monkeypatch.chdir(folder)
    relative = ["attend-segment", "--model", "llava", "--sam-model", "sam", "--phrases", "rules", "--benchmark",
                "pixmmvp", "--data", str(tiny_built["pixmmvp"]), "--out", str(out), "--max-new-tokens", "8",
                "--no-progress", "--ids", "1-2"]
    assert run_cli(relative) == 0
    settings = run_settings(out)["settings"]
    assert settings["segmenter"] == f"transformers:{(folder / 'sam').resolve()}"
    assert settings["model_path"] == str((folder / "llava").resolve())
    assert settings["sam_checkpoint_sha256"] is None and settings["sam_checkpoint"] is None
    monkeypatch.chdir(tmp_path)
    absolute = [str(folder / a) if a in ("llava", "sam") else a for a in relative]
    capsys.readouterr()
    assert run_cli([*absolute[:-1], "1-3"]) == 0
    assert "1 written now by this process, 2 already there" in capsys.readouterr().err
    # Hub ids stay as typed (nothing of that name here).
    assert resolve_path("facebook/sam-vit-huge") == "facebook/sam-vit-huge"


def test_sam_checkpoint_is_identified_by_content(tiny_models_dir, tiny_built, tmp_path, capsys):
    from pixbench.baselines.tiny import write_tiny_sam_checkpoint

    first = tmp_path / "a" / "sam.pth"
    first.parent.mkdir()
    shutil.copy(tiny_models_dir["sam_checkpoint"], first)
    out = tmp_path / "preds.jsonl"
    data = tiny_built["pixmmvp"]
    assert run_cli(checkpoint_args(str(first), tiny_models_dir, data, out, "--ids", "1-2")) == 0
    digest = run_settings(out)["settings"]["sam_checkpoint_sha256"]

    moved = tmp_path / "b" / "sam.pth"  # the same file elsewhere: the same setting
    moved.parent.mkdir()
    first.rename(moved)
    capsys.readouterr()
    assert run_cli(checkpoint_args(str(moved), tiny_models_dir, data, out, "--ids", "1-3")) == 0
    assert "1 written now by this process, 2 already there" in capsys.readouterr().err
    settings = run_settings(out)["settings"]
    assert settings["sam_checkpoint"] == str(moved.resolve()) and settings["sam_checkpoint_sha256"] == digest

    other = write_tiny_sam_checkpoint(tmp_path / "c" / "sam.pth", seed=1)  # same name, other weights
    capsys.readouterr()
    assert run_cli(checkpoint_args(str(other), tiny_models_dir, data, out, "--ids", "1-3")) == 1
    err = capsys.readouterr().err
    assert f"sam_checkpoint_sha256: '{digest}' != '{file_sha256(other)}'" in err
    assert f"--sam-checkpoint {other.resolve()} has other content" in err and str(moved.resolve()) in err
    assert "--overwrite" in err
    assert run_settings(out)["settings"]["sam_checkpoint_sha256"] == digest  # the record is left alone

    capsys.readouterr()
    assert run_cli(checkpoint_args(str(tmp_path / "none.pth"), tiny_models_dir, data, tmp_path / "x.jsonl")) == 1
    assert "none.pth: no such file" in capsys.readouterr().err


def test_run_files_of_older_versions(tiny_models_dir, tiny_built, tmp_path, capsys, caplog):
    out = tmp_path / "preds.jsonl"
    checkpoint = tiny_models_dir["sam_checkpoint"]
    args = checkpoint_args(str(checkpoint), tiny_models_dir, tiny_built["pixmmvp"], out, "--ids", "1-2")
    assert run_cli(args) == 0
    current = run_settings(out)

    def write_legacy(file_name: str) -> None:  # what versions before run_format 2 wrote
        settings = {k: v for k, v in current["settings"].items()
                    if k not in ("sam_checkpoint", "sam_checkpoint_sha256")}
        settings["segmenter"] = f"segment-anything:tiny:{file_name}"
        path = out.with_name(out.name + ".run.json")
        path.write_text(json.dumps({"pixbench_version": "0.0.9", "settings": settings}), encoding="utf-8")

    # Same type and file name: accepted with a warning (the old content cannot be checked), then upgraded.
    write_legacy(checkpoint.name)
    with caplog.at_level(logging.WARNING, logger="pixbench.baselines.runner"):
        assert run_cli(args) == 0
    assert "recorded the SAM checkpoint by file name only" in caplog.text
    assert run_settings(out) == current

    # Another file name: refused, naming the setting.
    write_legacy("sam_vit_h_4b8939.pth")
    capsys.readouterr()
    assert run_cli(args) == 1
    err = capsys.readouterr().err
    assert "sam_checkpoint_sha256: \"unknown (an older run file naming only 'sam_vit_h_4b8939.pth')\"" in err


def test_make_tiny_writes_a_segment_anything_checkpoint(tmp_path, capsys):
    assert run_cli(["make-tiny", str(tmp_path / "tiny")]) == 0
    out = capsys.readouterr().out
    assert f"sam_checkpoint: {tmp_path / 'tiny' / 'sam_tiny.pth'}" in out
    assert (tmp_path / "tiny" / "sam_tiny.pth").stat().st_size < 2_000_000
