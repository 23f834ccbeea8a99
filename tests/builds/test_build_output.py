"""Where a build may write: new, empty or earlier-build folders only; --force replaces what a build owns."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from datasets import load_dataset

from pixbench.benchmarks.pixcvbench import build as pixcvbench
from pixbench.benchmarks.pixmmvp import build as pixmmvp
from pixbench.builds import folders as common
from pixbench.cli import main

SHARD = "data/test-00000-of-00001.parquet"


def build_args(tiny_inputs, out: Path, *extra: str) -> list[str]:
    return ["build", "pixmmvp", "--mmvp", str(tiny_inputs.mmvp_dir), "--annotations",
            str(tiny_inputs.pixmmvp_annotations), "--out", str(out), *extra]


def snapshot(folder: Path) -> dict[str, bytes | str]:
    """Every entry under ``folder`` (links not followed) with its bytes or link target."""
    found: dict[str, bytes | str] = {}
    for path in sorted(folder.rglob("*")):
        name = path.relative_to(folder).as_posix()
        if path.is_symlink():
            found[name] = f"-> {os.readlink(path)}"
        elif path.is_file():
            found[name] = path.read_bytes()
        else:
            found[name + "/"] = ""
    return found


@pytest.fixture()
def user_folder(tmp_path) -> Path:
    """A folder of someone's own files, shaped like a build (README.md, data/) but not one."""
    folder = tmp_path / "mine"
    (folder / "data").mkdir(parents=True)
    (folder / "README.md").write_text("my notes, not a dataset card\n")
    (folder / "data" / "results.csv").write_text("a,b\n1,2\n")
    (folder / "photo.jpg").write_bytes(b"\xff\xd8 not really")
    return folder


def test_user_folder_is_refused_and_untouched(tiny_inputs, user_folder, capsys):
    before = snapshot(user_folder)
    assert main(build_args(tiny_inputs, user_folder)) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "not an earlier pixbench build" in err and "--force" in err
    for name in ("README.md", "data/results.csv", "photo.jpg"):
        assert name in err
    assert snapshot(user_folder) == before
    assert not any(p.name.startswith(".build-") for p in user_folder.iterdir())


def test_refusal_lists_a_few_entries(tmp_path):
    folder = tmp_path / "many"
    folder.mkdir()
    for k in range(9):
        (folder / f"file{k}.txt").write_text("x")
    with pytest.raises(common.OutDirError, match=r"file0.txt, file1.txt, file2.txt, file3.txt, file4.txt and 4 more"):
        common.inspect_out_dir(folder, "pixmmvp")


def test_python_api_refuses_before_reading_inputs(tmp_path, user_folder):
    before = snapshot(user_folder)
    with pytest.raises(common.OutDirError):  # a ValueError: reported before any input is read
        pixmmvp.build(annotations_dir=tmp_path / "no-such-folder", out_dir=user_folder, with_images=False)
    with pytest.raises(ValueError, match="not an earlier pixbench build"):
        pixcvbench.build(cvbench_paths=[tmp_path / "none.parquet"], annotations_dir=tmp_path, out_dir=user_folder)
    assert snapshot(user_folder) == before


def test_force_replaces_what_a_build_writes_and_keeps_the_rest(tiny_inputs, user_folder, tmp_path, capsys):
    (user_folder / "data" / "old.parquet").write_bytes(b"a stale shard")
    assert main(build_args(tiny_inputs, user_folder, "--force")) == 0
    err = capsys.readouterr().err
    assert "left in place" in err and "photo.jpg" in err and "data/results.csv" in err
    assert (user_folder / "photo.jpg").read_bytes() == b"\xff\xd8 not really"
    assert (user_folder / "data" / "results.csv").read_text() == "a,b\n1,2\n"
    assert not (user_folder / "data" / "old.parquet").exists()
    assert "config_name: default" in (user_folder / "README.md").read_text()
    assert load_dataset(str(user_folder), split="test").num_rows == 8
    # the same bytes as a build into a new folder
    assert main(build_args(tiny_inputs, tmp_path / "new")) == 0
    for name in (SHARD, "README.md", "build_summary.json"):
        assert (user_folder / name).read_bytes() == (tmp_path / "new" / name).read_bytes(), name


def test_rebuild_over_an_earlier_build_needs_no_force(tiny_inputs, tmp_path, capsys):
    out = tmp_path / "PixMMVP"
    assert main(build_args(tiny_inputs, out)) == 0
    first = snapshot(out)
    # a stale shard of an earlier build with more shards, and a killed build's staging folder
    (out / "data" / "test-00001-of-00002.parquet").write_bytes((out / SHARD).read_bytes())
    (out / ".build-abcd1234").mkdir()
    (out / ".build-abcd1234" / "README.md").write_text("half-written")
    assert main(build_args(tiny_inputs, out)) == 0
    assert "left in place" not in capsys.readouterr().err
    assert snapshot(out) == first  # byte-identical, stale shard and leftovers gone
    assert load_dataset(str(out), split="test").num_rows == 8


def test_empty_and_missing_folders_are_fine(tiny_inputs, tmp_path):
    (tmp_path / "empty").mkdir()
    assert main(build_args(tiny_inputs, tmp_path / "empty")) == 0
    assert main(build_args(tiny_inputs, tmp_path / "a" / "b" / "new")) == 0
    assert sorted(p.name for p in (tmp_path / "empty").iterdir()) == ["README.md", "build_summary.json", "data"]


def test_out_that_is_a_file(tiny_inputs, tmp_path, capsys):
    target = tmp_path / "notes.txt"
    target.write_text("keep me")
    for out in (target, target / "sub"):
        for extra in ((), ("--force",)):
            assert main(build_args(tiny_inputs, out, *extra)) == 2
            assert "is a file, not a folder" in capsys.readouterr().err
    assert target.read_text() == "keep me"


def test_another_benchmarks_build_needs_force(tiny_inputs, tiny_built, tmp_path, capsys):
    out = shutil.copytree(tiny_built["pixcvbench"], tmp_path / "cv")
    assert main(build_args(tiny_inputs, out)) == 2
    assert "holds a pixcvbench build; building pixmmvp there would replace it" in capsys.readouterr().err
    assert main(build_args(tiny_inputs, out, "--force")) == 0
    assert sorted(p.name for p in (out / "data").iterdir()) == ["test-00000-of-00001.parquet"]


def test_a_summary_not_written_by_pixbench_is_no_build(tiny_inputs, tmp_path, capsys):
    out = tmp_path / "fake"
    (out / "data").mkdir(parents=True)
    (out / "build_summary.json").write_text(json.dumps({"rows": 3}))
    (out / "data" / "test.parquet").write_bytes(b"x")
    assert main(build_args(tiny_inputs, out)) == 2
    assert "not an earlier pixbench build" in capsys.readouterr().err
    assert (out / "data" / "test.parquet").read_bytes() == b"x"


def test_symbolic_links_are_never_followed(tiny_inputs, tiny_built, tmp_path, capsys):
    outside = tmp_path / "outside"
    (outside / "data").mkdir(parents=True)
    (outside / "data" / "precious.parquet").write_bytes(b"theirs")
    (outside / "card.md").write_text("their card")
    out = shutil.copytree(tiny_built["pixmmvp"], tmp_path / "build")
    shutil.rmtree(out / "data")
    (out / "data").symlink_to(outside / "data", target_is_directory=True)
    (out / "README.md").unlink()
    (out / "README.md").symlink_to(outside / "card.md")
    before = snapshot(outside)
    assert main(build_args(tiny_inputs, out)) == 2
    err = capsys.readouterr().err
    assert "data (symbolic link)" in err and "README.md (symbolic link)" in err
    assert main(build_args(tiny_inputs, out, "--force")) == 0
    assert snapshot(outside) == before  # the links were removed, not what they point to
    assert not (out / "data").is_symlink() and not (out / "README.md").is_symlink()
    assert load_dataset(str(out), split="test").num_rows == 8
    # a link to a shard inside data/ is refused too, and only the link goes with --force
    (out / "data" / "extra.parquet").symlink_to(outside / "data" / "precious.parquet")
    assert main(build_args(tiny_inputs, out)) == 2
    assert "data/extra.parquet (symbolic link)" in capsys.readouterr().err
    assert main(build_args(tiny_inputs, out, "--force")) == 0
    assert not (out / "data" / "extra.parquet").exists() and snapshot(outside) == before


def test_failed_build_into_an_earlier_build_keeps_it(tiny_inputs, tiny_built, tmp_path, capsys):
    out = shutil.copytree(tiny_built["pixmmvp"], tmp_path / "build")
    before = snapshot(out)
    ann = shutil.copytree(tiny_inputs.pixmmvp_annotations, tmp_path / "ann")
    (ann / "Segmentations.json").write_text("{broken")
    assert main(["build", "pixmmvp", "--mmvp", str(tiny_inputs.mmvp_dir), "--annotations", str(ann),
                 "--out", str(out)]) == 1
    assert "nothing written" in capsys.readouterr().err
    assert snapshot(out) == before
