"""``pixbench mocentric export --out DIR`` into folders that are not new: someone's own folder, another export,
an export stopped half-way; ``--force``; and what stderr shows when it is not a terminal.

An export writes ``pixbench_export.json`` (its manifest) before any frame, so a folder is recognised as an
export whenever it was stopped; anything else that is not empty is refused before a byte is written.
"""

from __future__ import annotations

import errno
import json
import os
import sys
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from pixbench.benchmarks.mocentric import build as builder
from pixbench.benchmarks.mocentric import synthetic as synthetic_video
from pixbench.cli import main
from pixbench.references import load_reference
from pixbench.video import export as export_module


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    raw = synthetic_video.write_synthetic_mevis(tmp_path_factory.mktemp("mevis") / "raw")
    out = tmp_path_factory.mktemp("built") / "MoCentric-Bench"
    builder.build(mevis_root=raw.root, keyframes=raw.keyframes, reverse_expressions=raw.reverse_expressions,
                  out_dir=out)
    return out


@pytest.fixture(scope="module")
def reference(built: Path) -> Any:
    return load_reference("mocentric", str(built))


@pytest.fixture(scope="module")
def clean(built: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, bytes]]:
    """Uninterrupted exports into new folders, as snapshots: probe -> path -> bytes."""
    base = tmp_path_factory.mktemp("clean")
    found = {}
    for probe in ("original", "static", "static-pair"):
        assert export(built, base / probe, probe) == 0
        found[probe] = snapshot(base / probe)
    return found


def export(built: Path, out: Path, probe: str, *extra: str) -> int:
    return main(["mocentric", "export", "--data", str(built), "--probe", probe, "--out", str(out), "--workers", "2",
                 *extra])


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` with its bytes; folders as ``name/`` with no bytes."""
    return {path.relative_to(folder).as_posix() + ("/" if path.is_dir() else ""): b"" if path.is_dir()
            else path.read_bytes() for path in sorted(folder.rglob("*"))}


def frames_only(found: dict[str, bytes]) -> dict[str, bytes]:
    return {name: data for name, data in found.items() if name.startswith("JPEGImages/") and not name.endswith("/")}


def one_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and len(err.splitlines()) == 1, err
    return err


@pytest.fixture()
def user_folder(tmp_path: Path) -> Path:
    """Someone's own MeViS-like folder: their meta_expressions.json, notes and frames of a video of theirs."""
    folder = tmp_path / "mine"
    (folder / "JPEGImages" / "theirvideo01").mkdir(parents=True)
    (folder / "meta_expressions.json").write_text(json.dumps({"videos": {"theirvideo01": {"frames": ["00000"]}}}))
    (folder / "notes.txt").write_text("my notes\n")
    Image.fromarray(np.full((4, 4, 3), 9, np.uint8)).save(folder / "JPEGImages" / "theirvideo01" / "00000.jpg")
    return folder


# ------------------------------------------------------------------------------------------ refusals


def test_an_unrelated_folder_is_refused_and_untouched(built, tmp_path, capsys):
    for contents in ({"meta_expressions.json": b'{"videos": {}}\n'}, {"notes.txt": b"x"}, {"JPEGImages/": b""}):
        folder = tmp_path / f"f{len(list(tmp_path.iterdir()))}"
        folder.mkdir()
        for name, data in contents.items():
            (folder / name).mkdir() if name.endswith("/") else (folder / name).write_bytes(data)
        before = snapshot(folder)
        assert export(built, folder, "static") == 1
        err = one_error(capsys)
        assert "is not an earlier `pixbench mocentric export` (no pixbench_export.json)" in err
        assert f"holds {next(iter(contents))}" in err and "--force" in err and "Nothing was written" in err
        assert snapshot(folder) == before


def test_a_users_meta_expressions_stays_byte_for_byte(built, user_folder, capsys):
    before = snapshot(user_folder)
    assert export(built, user_folder, "original") == 1
    err = one_error(capsys)
    assert all(name in err for name in ("JPEGImages/", "meta_expressions.json", "notes.txt"))
    assert snapshot(user_folder) == before


def test_another_export_is_refused(built, tmp_path, capsys):
    out = tmp_path / "static"
    assert export(built, out, "static") == 0
    capsys.readouterr()
    before = snapshot(out)
    cases = [(("original",), "probe 'static'"), (("static", "--image-format", "jpg"), "image_format 'png'"),
             (("static-pair",), "layout None")]
    for argv, named in cases:
        assert export(built, out, *argv) == 1
        err = one_error(capsys)
        assert "holds another export" in err and named in err and "--force" in err
        assert snapshot(out) == before
    jpg = tmp_path / "jpg"
    assert export(built, jpg, "static", "--image-format", "jpg", "--jpeg-quality", "75") == 0
    capsys.readouterr()
    assert export(built, jpg, "static", "--image-format", "jpg", "--jpeg-quality", "90") == 1
    assert "jpeg_quality 75" in one_error(capsys)


def test_what_even_force_refuses(built, tmp_path, capsys):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    out = tmp_path / "linked"
    out.mkdir()
    (out / "JPEGImages").symlink_to(elsewhere, target_is_directory=True)
    file = tmp_path / "file"
    file.write_text("keep")
    for folder, message in ((out, "JPEGImages is a symbolic link"), (file, "is a file, not a folder"),
                            (file / "sub", "is a file, not a folder")):
        for extra in ((), ("--force",)):
            assert export(built, folder, "static", *extra) == 1
            assert message in one_error(capsys)
    assert list(elsewhere.iterdir()) == [] and list(out.iterdir()) == [out / "JPEGImages"]
    assert file.read_text() == "keep"
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "pixbench_export.json").write_text("[1, 2]")
    assert export(built, bad, "static") == 1
    assert "pixbench_export.json is not a manifest written by `pixbench mocentric export` (expected a JSON object" \
        in one_error(capsys)


# ------------------------------------------------------------------------------------------ resuming


def test_an_export_stopped_at_any_point_resumes(built, tmp_path, capsys, monkeypatch, clean):
    real = export_module.write_atomic
    for stop_after in (0, 1, 9, 30):
        out = tmp_path / f"stopped{stop_after}"
        calls: list[Path] = []

        def write_then_stop(path: Path, data: bytes, calls: list[Path] = calls, stop_after: int = stop_after) -> None:
            if len(calls) == stop_after:
                raise KeyboardInterrupt  # Ctrl-C
            calls.append(path)
            real(path, data)

        monkeypatch.setattr(export_module, "write_atomic", write_then_stop)
        assert export(built, out, "static-pair") == 130
        monkeypatch.setattr(export_module, "write_atomic", real)
        assert "interrupted" in capsys.readouterr().err
        assert not (out / "meta_expressions.json").exists()  # never there before every frame is
        # what a killed process leaves besides: temporary files, at the top and beside frames
        out.mkdir(exist_ok=True)
        (out / ".pixbench-pixbench_export.json.4242.tmp").write_bytes(b'{"half')
        done = [p for p in calls if p.parent != out]
        if done:
            (done[0].parent / f".pixbench-{done[0].name}.4242.tmp").write_bytes(b"half a frame")
        assert export(built, out, "static-pair") == 0
        summary = json.loads(capsys.readouterr().out)
        assert summary["skipped"] == len(done) and summary["written"] == summary["frames"] - len(done)
        assert snapshot(out) == clean["static-pair"]  # byte-identical to an export never stopped


def test_a_finished_export_reruns_as_a_no_op(built, tmp_path, capsys, clean):
    out = tmp_path / "again"
    assert export(built, out, "original") == 0
    capsys.readouterr()
    (out / "README-mine.txt").write_text("mine")  # a file of one's own beside an export is kept, not refused
    assert export(built, out, "original") == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["written"] == 0 and summary["skipped"] == summary["frames"]
    assert snapshot(out) == {**clean["original"], "README-mine.txt": b"mine"}


# ------------------------------------------------------------------------------------------ --force


def test_force_into_a_users_folder_keeps_their_files(built, user_folder, reference, capsys, clean):
    theirs = {name: data for name, data in snapshot(user_folder).items() if name != "meta_expressions.json"}
    row = next(iter(reference.rows_for("static").values()))
    planted = user_folder / "JPEGImages" / row.video_id / str(row.exp_id) / f"{row.frame_names[0]}.png"
    planted.parent.mkdir(parents=True)
    Image.fromarray(np.zeros((row.height, row.width, 3), np.uint8)).save(planted)  # right size, wrong pixels
    assert export(built, user_folder, "static", "--force") == 0
    captured = capsys.readouterr()
    summary = json.loads(captured.out)
    assert summary["written"] == summary["frames"] and summary["skipped"] == 0  # nothing found trusted as done
    assert summary["left_in_place"] == ["notes.txt"]
    assert "note: left in place" in captured.err and "notes.txt" in captured.err
    after = snapshot(user_folder)
    assert {name: after[name] for name in theirs} == theirs  # their notes, frames and folders, byte for byte
    exported = {name: data for name, data in after.items() if name not in theirs}
    assert exported == {name: data for name, data in clean["static"].items() if name not in theirs}
    assert after["meta_expressions.json"] == clean["static"]["meta_expressions.json"]
    # from now on it is an export: the same command resumes without --force, another probe is refused
    assert export(built, user_folder, "static") == 0
    assert json.loads(capsys.readouterr().out)["written"] == 0
    assert export(built, user_folder, "original") == 1
    assert "holds another export" in one_error(capsys)


def test_force_stopped_then_resumed_never_trusts_a_frame_it_did_not_write(built, user_folder, reference, capsys,
                                                                         monkeypatch, clean):
    row = next(iter(reference.rows_for("static").values()))
    planted = user_folder / "JPEGImages" / row.video_id / str(row.exp_id) / f"{row.frame_names[-1]}.png"
    planted.parent.mkdir(parents=True)
    Image.fromarray(np.zeros((row.height, row.width, 3), np.uint8)).save(planted)  # right size, wrong pixels
    real = export_module.write_atomic

    def stop_at_the_first_frame(path: Path, data: bytes) -> None:
        if path.parent != user_folder:
            raise KeyboardInterrupt
        real(path, data)

    monkeypatch.setattr(export_module, "write_atomic", stop_at_the_first_frame)
    assert export(built, user_folder, "static", "--force") == 130
    monkeypatch.setattr(export_module, "write_atomic", real)
    assert not planted.exists() and (user_folder / "pixbench_export.json").is_file()
    capsys.readouterr()
    assert export(built, user_folder, "static") == 0  # resumed without --force: now an export
    assert json.loads(capsys.readouterr().out)["skipped"] == 0
    name = planted.relative_to(user_folder).as_posix()
    assert planted.read_bytes() == clean["static"][name]


def test_force_over_another_export_replaces_exactly_its_files(built, tmp_path, reference, capsys, clean):
    out = tmp_path / "export"
    assert export(built, out, "static-pair") == 0
    capsys.readouterr()
    row = next(iter(reference.rows_for("static-pair").values()))
    mine = out / "JPEGImages" / row.video_id / str(row.exp_id) / "mine.txt"
    mine.write_text("kept")
    assert export(built, out, "original", "--force") == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["removed"] == len(frames_only(clean["static-pair"]))
    after = snapshot(out)
    expected = dict(clean["original"])
    for folder in (f"JPEGImages/{row.video_id}/{row.exp_id}/", f"JPEGImages/{row.video_id}/{row.exp_id}/mine.txt"):
        expected[folder] = b"kept" if folder.endswith(".txt") else b""
    assert after == expected  # the static-pair frames and their emptied folders gone, their own file kept


# ------------------------------------------------------------------------------------------ stderr


def test_no_progress_bar_unless_stderr_is_a_terminal(built, tmp_path, capsys, monkeypatch):
    assert export(built, tmp_path / "log", "static") == 0
    err = capsys.readouterr().err
    assert "%|" not in err and "\r" not in err and "frame/s" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith("exporting static: ") and "frame(s) of 4 video(s)" in lines[0]
    assert lines[1].startswith("wrote ")
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    assert export(built, tmp_path / "tty", "static") == 0
    err = capsys.readouterr().err
    assert "100%|" in err and "exporting static:" not in err


def test_a_full_disk_is_one_error_line_and_the_export_resumes(built, tmp_path, capsys, monkeypatch, clean):
    real = export_module.write_atomic
    reports: list[str] = []
    monkeypatch.setattr(sys, "unraisablehook", lambda report: reports.append(str(report.exc_value)))
    monkeypatch.setattr(threading, "excepthook", lambda report: reports.append(str(report.exc_value)))
    written: list[Path] = []

    def fill_up(path: Path, data: bytes) -> None:
        if len(written) >= 12:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        written.append(path)
        real(path, data)

    monkeypatch.setattr(export_module, "write_atomic", fill_up)
    out = tmp_path / "full"
    assert export(built, out, "static-pair") == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith("exporting static-pair target-left: 92 frame(s)")
    assert lines[1] == f"error: export to {out} stopped: [Errno 28] No space left on device (run the same " \
        "command again to resume)"
    assert reports == []
    assert not (out / "meta_expressions.json").exists()
    monkeypatch.setattr(export_module, "write_atomic", real)
    assert export(built, out, "static-pair") == 0
    assert json.loads(capsys.readouterr().out)["skipped"] == len(written) - 1  # the manifest aside
    assert snapshot(out) == clean["static-pair"]
