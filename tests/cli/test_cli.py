"""The command line end to end: exit codes and what it prints."""

from __future__ import annotations

import json
import shutil

import pytest

from pixbench.cli import main


def test_build_check_show_push(tiny_inputs, tmp_path, capsys):
    out = tmp_path / "PixMMVP"
    assert main(["build", "pixmmvp", "--mmvp", str(tiny_inputs.mmvp_dir), "--annotations",
                 str(tiny_inputs.pixmmvp_annotations), "--out", str(out)]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["rows"] == 8 and summary["pairs"] == 4
    cv = tmp_path / "PixCV-Bench"
    assert main(["build", "pixcvbench", "--cvbench", str(tiny_inputs.cvbench_parquet), "--annotations",
                 str(tiny_inputs.pixcvbench_annotations), "--out", str(cv), "--no-images"]) == 0
    assert json.loads(capsys.readouterr().out)["rows"] == 6

    assert main(["check-annotations", "pixcvbench", str(tiny_inputs.pixcvbench_annotations)]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["rows"] == 6 and "0 error(s)" in captured.err

    assert main(["show", str(out), "--ids", "1,3", "--out", str(tmp_path / "show")]) == 0
    assert sorted(p.name for p in (tmp_path / "show").iterdir()) == ["1.png", "3.png", "contact_sheet.png"]
    assert main(["show", str(cv), "--out", str(tmp_path / "show2")]) == 0  # no images: grey canvas
    capsys.readouterr()
    assert main(["show", str(out), "--ids", "99", "--out", str(tmp_path / "show3")]) == 1
    assert "ids not in" in capsys.readouterr().err

    assert main(["push", str(out), "--repo-id", "IVUlab/PixMMVP", "--dry-run"]) == 0
    text = capsys.readouterr().out
    assert "data/test-00000-of-00001.parquet" in text and "IVUlab/PixMMVP" in text


def test_check_fails_with_exit_1(tiny_inputs, tmp_path, capsys):
    ann = shutil.copytree(tiny_inputs.pixmmvp_annotations, tmp_path / "ann")
    (ann / "Segmentations.json").write_text("{broken")
    assert main(["check-annotations", "pixmmvp", str(ann)]) == 1
    assert "Segmentations.json: not valid JSON" in capsys.readouterr().err


def test_build_failure_writes_nothing(tiny_inputs, tmp_path, capsys):
    mmvp = shutil.copytree(tiny_inputs.mmvp_dir, tmp_path / "MMVP")
    (mmvp / "MMVP Images" / "2.jpg").write_bytes(b"garbage")
    assert main(["build", "pixmmvp", "--mmvp", str(mmvp), "--annotations", str(tiny_inputs.pixmmvp_annotations),
                 "--out", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert "build stopped, nothing written" in err and "2.jpg: id 2 [image]: unreadable image" in err
    assert not (tmp_path / "out" / "data").exists()


def test_usage_errors(tmp_path, capsys):
    assert main(["build", "pixcvbench", "--annotations", str(tmp_path), "--out", str(tmp_path / "o")]) == 2
    assert "needs --cvbench" in capsys.readouterr().err
    assert main(["push", str(tmp_path), "--repo-id", "a/b", "--dry-run"]) == 1
    with pytest.raises(SystemExit):
        main(["build", "nope"])


def test_demo(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "built pixmmvp: 8 rows" in out and "built pixcvbench: 6 rows" in out
    assert "demo-attend-segment" in out and "--select oracle" in out
    assert (tmp_path / "predictions" / "demo-pixel-mllm.jsonl").is_file()
    # MoCentric-Bench: the motion-aware model is perfect, the appearance-only one fails the motion probes
    assert "built mocentric: 14 expressions (7 reversed) in 4 synthetic videos" in out
    rows = {tuple(line.split()[:3]): line.split() for line in out.splitlines() if " mocentric " in line}
    assert rows[("demo-motion-aware", "mocentric", "reversed")][4] == "100.0"
    assert float(rows[("demo-appearance-only", "mocentric", "reversed")][4]) < 50.0
    assert rows[("demo-appearance-only", "mocentric", "static")][10:12] == ["0.0", "0.0"]
