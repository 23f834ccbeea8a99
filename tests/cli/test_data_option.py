"""``--data PATH`` without ``BENCHMARK=``: a built folder's benchmark is read from its build summary; a hub id, a
folder without a summary, an unknown prefix, a prefix that contradicts the summary and a benchmark given twice
are refused, each saying what to give instead."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from pixbench.cli import main
from pixbench.cli.options import parse_data


def test_a_built_folder_names_its_benchmark(tiny_built: dict[str, Path]) -> None:
    mmvp, cv = str(tiny_built["pixmmvp"]), str(tiny_built["pixcvbench"])
    assert parse_data([mmvp, cv]) == {"pixmmvp": mmvp, "pixcvbench": cv}
    assert parse_data([f"pixmmvp={mmvp}", cv]) == {"pixmmvp": mmvp, "pixcvbench": cv}
    assert parse_data([mmvp, f"pixmmvp={mmvp}"]) == {"pixmmvp": mmvp}  # the same folder twice is one
    assert parse_data(["pixmmvp=IVUlab/PixMMVP"]) == {"pixmmvp": "IVUlab/PixMMVP"}
    assert parse_data(None) == {}


def test_score_with_a_bare_folder_gives_the_prefixed_result(tiny_built: dict[str, Path], tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "m.jsonl"
    path.write_text("".join(json.dumps({"benchmark": "pixmmvp", "id": i, "probe": "letter", "response": "(a)"}) + "\n"
                            for i in range(1, 9)))
    folder = tiny_built["pixmmvp"]
    assert main(["score", str(path), "--data", str(folder), "--no-judge", "--format", "json"]) == 0
    bare = json.loads(capsys.readouterr().out)
    assert main(["score", str(path), "--data", f"pixmmvp={folder}", "--no-judge", "--format", "json"]) == 0
    assert bare == json.loads(capsys.readouterr().out)
    assert bare["results"][0]["benchmark"] == "pixmmvp" and bare["results"][0]["counts"]["rows"] == 8


@pytest.mark.parametrize("value, message", [
    ("IVUlab/PixMMVP", r"--data IVUlab/PixMMVP: no such folder; a hub id needs its benchmark: "
                       r"--data BENCHMARK=IVUlab/PixMMVP \(BENCHMARK: pixmmvp, pixcvbench, mocentric, mevis\)"),
    ("missing/folder/here", r"no such folder \(expected a folder made by `pixbench build`, or --data BENCHMARK="),
    ("pixmmvp", r"--data pixmmvp: no such folder"),
    ("pixmmvp=", r"--data pixmmvp=: expected pixmmvp=PATH_OR_HUB_ID, but nothing follows the '='"),
    ("pixmmv=out", r"--data pixmmv=out: unknown benchmark 'pixmmv' \(expected one of \['pixmmvp', "),
])
def test_what_needs_the_prefix_says_so(value: str, message: str, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match=message):
        parse_data([value])


def test_a_folder_without_a_readable_summary_needs_the_prefix(tiny_built: dict[str, Path], tmp_path: Path) -> None:
    copy = tmp_path / "PixMMVP"
    shutil.copytree(tiny_built["pixmmvp"], copy)
    (copy / "build_summary.json").unlink()
    with pytest.raises(ValueError, match=rf"--data {copy}: no build_summary.json in that folder, so its benchmark is "
                                         rf"unknown .*name it: --data BENCHMARK={copy} "):
        parse_data([str(copy)])
    assert parse_data([f"pixmmvp={copy}"]) == {"pixmmvp": str(copy)}
    (copy / "build_summary.json").write_text("{not json")
    with pytest.raises(ValueError, match=r"build_summary.json: unreadable build summary \(JSONDecodeError"):
        parse_data([str(copy)])
    (copy / "build_summary.json").write_text(json.dumps({"benchmark": "mmvp", "rows": 8}))
    with pytest.raises(ValueError, match=r"field 'benchmark': expected one of \['pixmmvp', .*but got 'mmvp'"):
        parse_data([str(copy)])
    with pytest.raises(ValueError, match="a file, not a folder"):
        parse_data([str(copy / "build_summary.json")])


def test_a_prefix_that_contradicts_the_summary_or_a_benchmark_given_twice(tiny_built: dict[str, Path]) -> None:
    mmvp, cv = tiny_built["pixmmvp"], tiny_built["pixcvbench"]
    with pytest.raises(ValueError, match=rf"--data pixcvbench={mmvp}: that folder is a pixmmvp build \(its "
                                         rf"build_summary.json\), not pixcvbench; give --data pixmmvp={mmvp}"):
        parse_data([f"pixcvbench={mmvp}"])
    with pytest.raises(ValueError, match=rf"--data gives pixmmvp twice \({mmvp} and IVUlab/PixMMVP\); give one"):
        parse_data([str(mmvp), "pixmmvp=IVUlab/PixMMVP"])
    assert parse_data([str(cv)]) == {"pixcvbench": str(cv)}


def test_score_refuses_a_bare_hub_id_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "m.jsonl"
    path.write_text(json.dumps({"benchmark": "pixmmvp", "id": 1, "probe": "letter", "response": "A"}) + "\n")
    assert main(["score", str(path), "--data", "IVUlab/PixMMVP", "--no-judge"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: --data IVUlab/PixMMVP: no such folder; a hub id needs its benchmark") and \
        len(err.splitlines()) == 1
