"""Receipts of every way a result is made and read: MeViS under lmms-eval at another frame rate, a hub copy named by
its commit, `pixbench run --score`, `pixbench view`, and masks given as PNG files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from judge_server import running_server
from PIL import Image
from receipt_inputs import DATA, PREDICTIONS, SQUARE, write_lines

from pixbench.benchmarks import REGISTRY
from pixbench.benchmarks.mevis import build as mevis
from pixbench.benchmarks.mevis.synthetic import write_synthetic_release
from pixbench.builds.layout import content_hash
from pixbench.cli import main
from pixbench.predictions import Prediction, write_predictions
from pixbench.references import load_reference

COMMIT = "0123456789abcdef0123456789abcdef01234567"


def verify(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["verify", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture(scope="module")
def mevis_built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    raw = write_synthetic_release(tmp_path_factory.mktemp("mevis-raw") / "mevis")
    out = tmp_path_factory.mktemp("mevis") / "MeViS"
    mevis.build(mevis_root=raw.root, out_dir=out)
    return out


def test_mevis_under_lmms_eval_at_3_fps_verifies(mevis_built: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copytree(mevis_built, tmp_path / "MeViS")
    monkeypatch.chdir(tmp_path)
    reference = load_reference("mevis", "MeViS")
    lines = []
    for version in reference.versions:
        for k, (row_id, row) in enumerate(reference.rows_for(version).items()):
            if k % 3 != 2:  # every third expression without a line: dropped under lmms-eval
                lines.append(Prediction(benchmark="mevis", id=row_id, probe=version, model=f"m-{version}",
                                        frames=tuple(mask if t % 2 == 0 else None for t, mask in enumerate(row.masks))))
    write_predictions(Path("p.jsonl"), lines)
    argv = ["score", "p.jsonl", "--data", "mevis=MeViS", "--protocol", "lmms-eval", "--fps", "3", "--receipt", "r.json",
            "--format", "json"]
    assert main(argv) == 0
    report = json.loads(capsys.readouterr().out)
    receipt = json.loads(Path("r.json").read_text())
    assert (receipt["settings"]["score"]["protocol"], receipt["settings"]["score"]["fps"]) == ("lmms-eval", 3.0)
    data = receipt["data"]["mevis"]
    assert data["configs"] == sorted(reference.versions) and data["sha256"] == content_hash(
        tmp_path / "MeViS", REGISTRY["mevis"].reference_files(tmp_path / "MeViS"))
    assert receipt["report"]["results"] == report["results"] and receipt["judge"]["enabled"] is False
    assert {r["analysis"]["protocol"]["name"] for r in report["results"]} == {"lmms-eval"}
    code, out, err = verify(capsys, "r.json")
    assert (code, out) == (0, "identical\n"), err
    # the same files under the official protocol: the settings and numbers that differ are named
    official = json.loads(Path("r.json").read_text())
    official["settings"]["score"].update(protocol="official", fps=None)
    Path("official.json").write_text(json.dumps(official))
    code, out, _ = verify(capsys, "official.json")
    assert code == 1
    assert "settings: protocol: lmms-eval -> official (as the receipt's report states it -> as scored now)" in out
    assert "settings: fps: 3.0 -> null (as the receipt's report states it -> as scored now)" in out
    assert any(line.startswith("results: m-v1 / mevis / v1: metrics.JF: ") for line in out.splitlines())


def test_hub_copy_is_named_by_its_commit_and_read_at_it(workspace: Path, tiny_built: dict[str, Path],
                                                        capsys: pytest.CaptureFixture[str],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """A benchmark read from the hub (here a local hub cache, offline) is recorded by hub id and commit, with the
    content hash of its snapshot's files; verify reads that commit again."""
    from huggingface_hub import constants

    hub_id = REGISTRY["pixmmvp"].hub_id
    repo = workspace / "hub" / f"datasets--{hub_id.replace('/', '--')}"
    shutil.copytree(tiny_built["pixmmvp"], repo / "snapshots" / COMMIT)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(COMMIT)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(workspace / "hub"))
    assert main(["score", PREDICTIONS, "--no-judge", "--receipt", "r.json"]) == 0  # no --data: the hub copy
    capsys.readouterr()
    data = json.loads(Path("r.json").read_text())["data"]["pixmmvp"]
    assert data == {"source": hub_id, "hub_id": hub_id, "revision": COMMIT, "configs": ["default"],
                    "sha256": content_hash(tiny_built["pixmmvp"]), "files": data["files"]}
    (repo / "refs" / "main").write_text("f" * 40)  # the hub moved on: verify still reads the receipt's commit
    code, out, err = verify(capsys, "r.json")
    assert (code, out) == (0, "identical\n"), err
    code, out, err = verify(capsys, "r.json", "--data", f"pixmmvp={DATA}")  # a local copy of the same files
    assert (code, out.splitlines()[1:]) == (1, [f"data: pixmmvp hub revision: {hub_id}@{COMMIT} -> a local folder"])


def _served_or_judge(body: dict[str, Any]) -> str:
    last = body["messages"][-1]["content"]
    if isinstance(last, str):  # the judge
        return "Yes" if sum(map(ord, last)) % 2 else "No"
    text = next(part["text"] for part in last if part["type"] == "text")
    return "A" if "letter" in text else "The answer is the first option."


def test_run_score_writes_a_receipt_that_verifies(workspace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with running_server(_served_or_judge, model="served-1") as server:
        argv = ["run", "--base-url", server.base_url, "--model", "vlm", "--benchmark", "pixmmvp", "--data", DATA,
                "--probe", "letter", "vqa", "--limit", "3", "--out", "run/vlm.jsonl", "--score",
                "--judge-base-url", server.base_url, "--judge-cache", "judge.sqlite", "--receipt", "run.json"]
        assert main(argv) == 0
        assert main(["run", *argv[1:-2]]) == 0  # the same without a receipt: the same table
        captured = capsys.readouterr()
    half = len(captured.out) // 2
    assert captured.out[:half] == captured.out[half:] and "vlm" in captured.out
    receipt = json.loads(Path("run.json").read_text())
    assert receipt["predictions"][0]["path"] == "run/vlm.jsonl" and receipt["data"]["pixmmvp"]["source"] == DATA
    assert receipt["judge"]["verdicts"]["count"] == 3
    without_score = [word for word in argv[:-2] if word != "--score"]
    assert main([*without_score, "--receipt", "x.json"]) == 1
    assert "--receipt is the receipt of --score" in capsys.readouterr().err
    code, out, err = verify(capsys, "run.json")
    assert (code, out) == (0, "identical\n"), err


def test_view_writes_a_receipt(workspace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("jinja2")
    assert main(["view", PREDICTIONS, "--data", f"pixmmvp={DATA}", "--no-judge", "--out", "site",
                 "--receipt", "view.json"]) == 0
    capsys.readouterr()
    assert Path("site/index.html").is_file()
    code, out, err = verify(capsys, "view.json")
    assert (code, out) == (0, "identical\n"), err


def _png(path: Path, points: list[int]) -> None:
    from pixbench.annotation import rle

    path.parent.mkdir(parents=True, exist_ok=True)
    mask = rle.decode(rle.from_polygons([points], 96, 128))
    Image.fromarray((mask * 255).astype(np.uint8)).save(path)


def test_png_masks_a_file_names_are_fingerprinted(workspace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _png(Path("preds/masks/1.png"), SQUARE)
    write_lines(Path("preds/png.jsonl"), [{"benchmark": "pixmmvp", "id": 1, "probe": "segment",
                                           "mask": {"png": "masks/1.png"}, "model": "m"}])
    assert main(["score", "preds/png.jsonl", "--data", f"pixmmvp={DATA}", "--no-judge", "--receipt", "png.json",
                 "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["results"][0]["metrics"]["M"] == 16.666667  # row 1 of 6: IoU 1
    entry = json.loads(Path("png.json").read_text())["predictions"][0]
    digest = __import__("hashlib").sha256(Path("preds/masks/1.png").read_bytes()).hexdigest()
    assert entry["masks"] == {"masks/1.png": digest}
    _png(Path("preds/masks/1.png"), [32, 24, 56, 24, 56, 72, 32, 72])  # the left half
    code, out, err = verify(capsys, "png.json")
    assert code == 1, err
    lines = out.splitlines()
    assert "predictions: preds/png.jsonl PNG masks: 1 file(s) -> 1 file(s) (changed: masks/1.png)" in lines
    assert not any(line.startswith("predictions: preds/png.jsonl: sha256") for line in lines)  # same lines
    assert "results: m / pixmmvp: metrics.M: 16.666667 -> 8.333333" in lines  # IoU 0.5


def test_a_receipt_with_release_fps_verifies_and_bad_settings_are_named(mevis_built: Path, tmp_path: Path,
                                                                       capsys: pytest.CaptureFixture[str],
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """``--release-fps`` (a float that may be null) is read back as the settings declare it; a null where the
    settings take no null, or a bool for a number, is named."""
    shutil.copytree(mevis_built, tmp_path / "MeViS")
    monkeypatch.chdir(tmp_path)
    reference = load_reference("mevis", "MeViS")
    write_predictions(Path("p.jsonl"), [Prediction(benchmark="mevis", id=row_id, probe="v1", model="m",
                                                   frames=tuple(row.masks))
                                        for row_id, row in reference.rows_for("v1").items()])
    assert main(["score", "p.jsonl", "--data", "mevis=MeViS", "--protocol", "lmms-eval", "--release-fps", "12",
                 "--receipt", "r.json"]) == 0
    capsys.readouterr()
    assert json.loads(Path("r.json").read_text())["settings"]["score"]["release_fps"] == 12.0
    code, out, err = verify(capsys, "r.json")
    assert (code, out) == (0, "identical\n"), err
    for field, value, expected in (("select", None, "expected str, got null"),
                                   ("release_fps", True, "expected float or null, got")):
        edited = json.loads(Path("r.json").read_text())
        edited["settings"]["score"][field] = value
        Path("edited.json").write_text(json.dumps(edited))
        code, _, err = verify(capsys, "edited.json")
        assert code == 2 and f"settings.score.{field}: {expected}" in err
