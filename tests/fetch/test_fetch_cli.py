"""``pixbench fetch``: a newcomer's two commands (fetch, then the build command it prints) against a fake hub serving
the real PixMMVP annotation files; CV-Bench at its pinned commit; the steps by hand when offline, unreachable, and
for MeViS; and the benchmarks' declarations themselves (folders, pinned digests, commands that parse)."""

from __future__ import annotations

import hashlib
import shlex
import socket
from pathlib import Path

import pytest
from fake_hub import FakeHub

from pixbench.cli import build_parser, main
from pixbench.fetching import declared_inputs, gather


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _next_commands(out: str, title: str = "next:") -> list[list[str]]:
    lines = out.splitlines()
    start = lines.index(title) + 1
    commands = []
    for line in lines[start:]:
        if not line.startswith("  "):
            break
        commands.append(shlex.split(line))
    return commands


def _serve_pixmmvp(hub: FakeHub, shared: Path, tmp: Path) -> None:
    """MMVP/MMVP (a stand-in release fitted to the real annotations: the real images cannot be had here), the real
    IVUlab/pixmmvp files, and the real meta_none.txt at its pinned GitHub commit."""
    from pixbench.benchmarks.pixmmvp import fetch
    from pixbench.benchmarks.pixmmvp.synthetic import write_mmvp_release

    release = write_mmvp_release(shared / "pixmmvp", tmp / "release")
    hub.add_repo("MMVP/MMVP", {**_files(release), "README.md": b"---\nlicense: unknown\n---\n# MMVP\n"})
    hub.add_repo("IVUlab/pixmmvp", {name: (shared / "pixmmvp" / name).read_bytes() for name in fetch.ANNOTATION_FILES})
    [pinned] = fetch.ANNOTATIONS.github
    hub.add_github(pinned.repo, pinned.commit, pinned.path, (shared / "pixmmvp" / "meta_none.txt").read_bytes())


def test_a_newcomer_fetches_then_builds_pixmmvp(online_hub: FakeHub, shared_data: Path, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    _serve_pixmmvp(online_hub, shared_data, tmp_path)
    data = tmp_path / "data"
    assert main(["fetch", "mmvp", "--to", str(data)]) == 0
    out = capsys.readouterr().out
    assert f"{data / 'MMVP'}: 302 files from MMVP/MMVP@" in out and "302 downloaded" in out
    assert f"{data / 'PixMMVP-annotations'}: 4 files from IVUlab/pixmmvp@" in out
    [build] = _next_commands(out)
    assert build == ["pixbench", "build", "pixmmvp", "--mmvp", str(data / "MMVP"), "--annotations",
                     str(data / "PixMMVP-annotations"), "--out", str(data / "PixMMVP")]
    for name in ("Segmentations.json", "Objects.csv", "visual_patterns.csv", "meta_none.txt"):
        assert (data / "PixMMVP-annotations" / name).read_bytes() == (shared_data / "pixmmvp" / name).read_bytes()
    assert main(build[1:]) == 0  # the second command, as printed
    capsys.readouterr()

    from pixbench.loaders.hub import load

    built = load(str(data / "PixMMVP"))
    assert len(built) == 300 and built[0]["id"] == 1 and built.features["image"] is not None
    assert sum(row is None for row in built["expression"]) == 14

    before = len(online_hub.file_gets())
    assert main(["fetch", "mmvp", "--to", str(data)]) == 0  # again: everything is checked and kept
    assert "302 already there and checked, 0 downloaded" in capsys.readouterr().out
    assert len(online_hub.file_gets()) == before


def test_fetch_cvbench_takes_the_pinned_commit_and_builds(online_hub: FakeHub, tiny_inputs, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    from pixbench.benchmarks.pixcvbench import fetch

    online_hub.add_repo("nyu-visionx/CV-Bench", {"test.parquet": tiny_inputs.cvbench_parquet.read_bytes(),
                                                 "test_2d.parquet": b"not this one"},
                        commit=fetch.CVBENCH_REVISION, revisions=())
    online_hub.add_repo("IVUlab/pixcvbench", _files(tiny_inputs.pixcvbench_annotations))
    data = tmp_path / "data"
    assert main(["fetch", "cvbench", "--to", str(data)]) == 0
    [build] = _next_commands(capsys.readouterr().out)
    assert online_hub.count("GET", f"/api/datasets/nyu-visionx/CV-Bench/revision/{fetch.CVBENCH_REVISION}") == 1
    assert not (data / "CV-Bench" / "test_2d.parquet").exists()
    assert main(build[1:]) == 0
    capsys.readouterr()
    from pixbench.references import load_reference

    assert len(load_reference("pixcvbench", str(data / "PixCV-Bench")).rows) > 0


def test_offline_fetch_fails_at_once_with_the_steps_by_hand(tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    from huggingface_hub import constants

    assert constants.HF_HUB_OFFLINE  # the tests' setting (conftest)
    data = tmp_path / "data"
    assert main(["fetch", "mmvp", "--to", str(data)]) == 1
    captured = capsys.readouterr()
    assert captured.err.splitlines() == ["error: the Hugging Face hub is off (HF_HUB_OFFLINE=1): nothing was "
                                         "downloaded. To get the files by hand:"]
    out = captured.out
    assert (f"hf download MMVP/MMVP --repo-type dataset --revision main --include 'MMVP Images/*.jpg' --include "
            f"Questions.csv --include README.md --local-dir {data / 'MMVP'}") in out
    assert "hf download IVUlab/pixmmvp --repo-type dataset --revision main" in out
    assert ("curl -fL --create-dirs -o " + str(data / "PixMMVP-annotations" / "meta_none.txt") +
            " https://raw.githubusercontent.com/MSiam/PixFoundation/") in out
    assert "| sha256sum -c -" in out
    assert _next_commands(out, "then:")[0][:3] == ["pixbench", "build", "pixmmvp"]
    assert not data.exists()


def test_an_unreachable_hub_fails_at_once_with_the_steps(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    from huggingface_hub import constants

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "ENDPOINT", f"http://127.0.0.1:{port}")
    assert main(["fetch", "cvbench", "--to", str(tmp_path / "data")]) == 1
    captured = capsys.readouterr()
    assert captured.err.startswith(f"error: http://127.0.0.1:{port} cannot be reached (")
    assert "nothing was downloaded" in captured.err
    assert "hf download nyu-visionx/CV-Bench --repo-type dataset --revision 22409a9" in captured.out


def test_fetch_mevis_prints_the_steps_by_hand(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data"
    assert main(["fetch", "mevis", "--to", str(data)]) == 1
    captured = capsys.readouterr()
    assert captured.err.strip() == "error: mevis cannot be downloaded by pixbench: follow the steps below"
    out = captured.out
    assert "CC BY-NC-SA 4.0" in out and "https://github.com/henghuiding/MeViS" in out
    release = data / "MeViS-release"
    assert f"hf download FudanCVL/MeViSv2 --repo-type dataset --include 'valid_u/*' --local-dir {release}" in out
    assert f"{release}/valid_u/JPEGImages/<video_id>/<NNNNN>.jpg" in out and "mask_dict.json" in out
    then = _next_commands(out, "then:")
    assert ["pixbench", "build", "mevis", "--mevis", str(release), "--out", str(data / "MeViS")] in then
    assert ["pixbench", "fetch", "annotations", "--to", str(data)] in then
    assert any(command[:3] == ["pixbench", "build", "mocentric"] for command in then)
    assert not data.exists()


def test_the_declared_inputs_are_consistent() -> None:
    from pixbench.benchmarks.pixmmvp import build as pixmmvp_build
    from pixbench.benchmarks.pixmmvp import fetch as pixmmvp_fetch

    assert pixmmvp_fetch.IMAGES_FOLDER == pixmmvp_build.IMAGES_FOLDER
    names = {raw.name for raw in declared_inputs()}
    assert names == {"mmvp", "cvbench", "annotations", "mevis"}
    parser = build_parser()
    for name in sorted(names):
        wanted = gather([name])
        for step in wanted.next_steps:  # every printed command is one pixbench parses
            words = [part.replace("{to}", "data") for part in step]
            assert words[0] == "pixbench"
            parser.parse_args(words[1:])
    assert [folder.folder for folder in gather(["annotations"]).folders] == [
        "PixMMVP-annotations", "PixCV-Bench-annotations", "MoCentric-annotations"]
    with pytest.raises(ValueError, match=r"nothing to fetch called \['mmvpp'\]"):
        gather(["mmvpp"])


def test_the_pinned_files_are_the_released_ones(shared_data: Path) -> None:
    """../shared/data holds the released files byte for byte: the pinned sizes and digests are theirs."""
    copies = {"meta_none.txt": shared_data / "pixmmvp" / "meta_none.txt",
              "mevis_keyframes.csv": shared_data / "mocentric" / "mevis_keyframes.csv",
              "meta_expressions_reverse_filtered.json":
                  shared_data / "mocentric" / "meta_expressions_reverse_filtered.json"}
    pinned = {f for raw in declared_inputs() for folder in raw.folders for f in folder.github}
    assert sorted(f.save_as for f in pinned) == sorted(copies)
    for f in pinned:
        data = copies[f.save_as].read_bytes()
        assert (f.size, f.sha256) == (len(data), hashlib.sha256(data).hexdigest())
