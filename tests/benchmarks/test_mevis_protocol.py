"""MeViS's protocols (``--protocol official|lmms-eval``, ``--fps``): frames re-sampled where lmms-eval's rule
puts them (indices worked out by hand), expressions without a line dropped and counted under lmms-eval, the
official numbers unchanged by default, every result stamped with its protocol, and the other benchmarks refusing
a protocol they do not define."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from pixbench.benchmarks import REGISTRY
from pixbench.benchmarks.mevis import build as mevis
from pixbench.benchmarks.mevis.protocols import Protocol, protocol_for, resampled_frames
from pixbench.benchmarks.mevis.rows import MevisReference
from pixbench.benchmarks.mevis.scoring import score_version
from pixbench.benchmarks.mevis.synthetic import SyntheticRelease, write_synthetic_release
from pixbench.cli import main
from pixbench.predictions import Prediction, write_predictions
from pixbench.references import load_reference
from pixbench.results import ScoreSettings


@pytest.fixture(scope="module")
def raw(tmp_path_factory: pytest.TempPathFactory) -> SyntheticRelease:
    return write_synthetic_release(tmp_path_factory.mktemp("mevis-raw") / "mevis")


@pytest.fixture(scope="module")
def built(raw: SyntheticRelease, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("mevis") / "MeViS"
    mevis.build(mevis_root=raw.root, out_dir=out)
    return out


@pytest.fixture(scope="module")
def reference(built: Path) -> MevisReference:
    return load_reference("mevis", str(built))


def _lines(reference: MevisReference, version: str) -> tuple[dict[str, list[Any]], list[str]]:
    """Every third expression without a line; the others the truth on even frames, empty on odd ones."""
    lines: dict[str, list[Any]] = {}
    dropped = []
    for k, (row_id, row) in enumerate(reference.rows_for(version).items()):
        if k % 3 == 2:
            dropped.append(row_id)
            continue
        lines[row_id] = [mask if t % 2 == 0 else None for t, mask in enumerate(row.masks)]
    return lines, dropped


def _write(path: Path, version: str, lines: dict[str, list[Any]]) -> Path:
    write_predictions(path, [Prediction(benchmark="mevis", id=i, probe=version, model="m", frames=tuple(frames))
                             for i, frames in lines.items()])
    return path


def _score(path: Path, built: Path, capsys: Any, *extra: str) -> dict[str, Any]:
    assert main(["score", str(path), "--data", f"mevis={built}", "--format", "json", *extra]) == 0
    [result] = json.loads(capsys.readouterr().out)["results"]
    return result


# ------------------------------------------------------------------ re-sampling


@pytest.mark.parametrize(("frames", "fps", "release_fps", "expected"), [
    (10, 6.0, 6.0, tuple(range(10))),       # lmms-eval's default on 6 fps frames: every frame
    (10, 3.0, 6.0, (0, 2, 4, 6, 8)),        # 10 * 3 / 6 = 5 frames, every second one
    (7, 3.0, 6.0, (0, 2, 4, 6)),            # 3.5 frames round up to 4; frame n at 2n
    (5, 4.0, 6.0, (0, 2, 3)),               # 3.33 -> 3 frames; n * 1.5 to the nearest: 0, 1.5 -> 2, 3
    (3, 12.0, 6.0, (0, 1, 1, 2, 2, 2)),     # above the release's rate frames repeat; past the end: the last
    (1, 1.0, 6.0, (0,)),                    # always at least one frame
    (30, 6.0, 30.0, (0, 5, 10, 15, 20, 25)),
    (8, 6.0, 30.0, (0, 5)),                 # 1.6 -> 2 frames
    (30, 4.0, 30.0, (0, 8, 15, 23)),        # n * 7.5 to the nearest, halves up: 0, 8, 15, 23
])
def test_resampled_frames_are_the_nearest_native_frames(frames, fps, release_fps, expected):
    assert resampled_frames(frames, fps, release_fps) == expected


def test_resampling_refuses_nonsense():
    with pytest.raises(ValueError, match="0 frames"):
        resampled_frames(0, 6.0)
    with pytest.raises(ValueError, match="above 0"):
        resampled_frames(5, 0.0)


def test_protocol_choice():
    assert protocol_for("official", None) == Protocol("official")
    assert protocol_for("lmms-eval", None) == Protocol("lmms-eval", 6.0, 6.0)
    assert protocol_for("lmms-eval", 3).fps == 3.0
    with pytest.raises(ValueError, match="--fps 3: the official protocol scores native frames"):
        protocol_for("official", 3.0)
    with pytest.raises(ValueError, match="--protocol vbench"):
        protocol_for("vbench", None)


# ------------------------------------------------------------------ scoring under each protocol


def test_official_numbers_are_unchanged_by_default(tmp_path, built, reference, capsys):
    lines, dropped = _lines(reference, "v1")
    path = _write(tmp_path / "p.jsonl", "v1", lines)
    default = _score(path, built, capsys)
    named = _score(path, built, capsys, "--protocol", "official")
    rows = reference.rows_for("v1")
    direct = score_version(benchmark="mevis", model="m", version="v1", rows=rows,
                           lines={i: Prediction(benchmark="mevis", id=i, probe="v1", model="m", frames=tuple(f))
                                  for i, f in lines.items()})
    assert default["metrics"] == named["metrics"]
    assert default["metrics"] == pytest.approx({k: v for k, v in direct.metrics.items()}, abs=1e-6)
    assert default["counts"] == {"expressions": len(rows), "missing": len(dropped)}
    assert default["analysis"]["protocol"] == {
        "name": "official", "expressions": len(rows), "scored": len(rows), "dropped": 0, "missing": len(dropped),
        "frame_rule": "native", "fps": None, "release_fps": None,
        "frames": sum(len(row.masks) for row in rows.values())}
    assert default["notes"][0].startswith(f"MeViS v1, official rules: {len(rows)} of {len(rows)} expressions scored")
    assert "native frame" in default["notes"][0]


def test_lmms_eval_drops_expressions_without_a_line_and_counts_them(tmp_path, built, reference, capsys):
    lines, dropped = _lines(reference, "v1")
    rows = reference.rows_for("v1")
    result = _score(_write(tmp_path / "p.jsonl", "v1", lines), built, capsys, "--protocol", "lmms-eval")
    kept = {i: row for i, row in rows.items() if i in lines}
    # at 6 fps every native frame is kept: the official numbers of the expressions that have a line
    direct = score_version(benchmark="mevis", model="m", version="v1", rows=kept,
                           lines={i: Prediction(benchmark="mevis", id=i, probe="v1", model="m", frames=tuple(f))
                                  for i, f in lines.items()})
    assert dropped and result["metrics"] == pytest.approx(dict(direct.metrics), abs=1e-6)
    assert result["counts"] == {"expressions": len(kept), "missing": 0}
    stamp = result["analysis"]["protocol"]
    assert stamp == {"name": "lmms-eval", "expressions": len(rows), "scored": len(kept), "dropped": len(dropped),
                     "missing": 0, "frame_rule": "resampled", "fps": 6.0, "release_fps": 6.0,
                     "frames": sum(len(row.masks) for row in kept.values())}
    assert result["notes"][0].startswith(f"MeViS v1, lmms-eval protocol: {len(kept)} of {len(rows)} expressions "
                                         f"scored ({len(dropped)} without a line dropped from the mean)")
    assert "re-sampled at 6 fps" in result["notes"][0]
    official = _score(tmp_path / "p.jsonl", built, capsys)
    assert result["metrics"]["JF"] > official["metrics"]["JF"]  # the dropped ones scored 0 there
    # intervals resample the scored expressions only: a perfect subset gives a zero-width interval
    perfect = {i: list(rows[i].masks) for i in lines}
    sure = _score(_write(tmp_path / "q.jsonl", "v1", perfect), built, capsys, "--protocol", "lmms-eval", "--ci", "0.9",
                  "--bootstrap", "200")
    assert sure["metrics"]["JF"] == 100.0 and sure["ci"]["metrics"]["JF"] == [100.0, 100.0]


def test_lmms_eval_averages_over_the_resampled_frames(tmp_path, built, reference, capsys):
    """Lines right on even frames and empty on odd ones: at 3 fps (every second frame of 6 fps) every frame
    scored is the truth, so J = F = 100, while on native frames they lose the odd frames."""
    lines, _ = _lines(reference, "v1")
    rows = reference.rows_for("v1")
    path = _write(tmp_path / "p.jsonl", "v1", lines)
    result = _score(path, built, capsys, "--protocol", "lmms-eval", "--fps", "3", "--per-sample",
                    str(tmp_path / "per.jsonl"))
    assert result["metrics"]["J"] == result["metrics"]["F"] == result["metrics"]["JF"] == 100.0
    native = _score(path, built, capsys, "--protocol", "lmms-eval", "--fps", "6")
    assert native["metrics"]["J"] < 100.0
    kept = [row for i, row in rows.items() if i in lines]
    assert result["analysis"]["protocol"]["frames"] == sum(len(resampled_frames(len(r.masks), 3.0)) for r in kept)
    records = [json.loads(line) for line in (tmp_path / "per.jsonl").read_text().splitlines()]
    assert {r["protocol"] for r in records} == {"lmms-eval"} and len(records) == len(rows)
    assert sum(not r["dropped"] for r in records) == len(kept)  # a record per expression; the dropped ones say so
    first = next(r for r in records if r["id"] == kept[0].id)
    assert first["frames"] == list(resampled_frames(len(kept[0].masks), 3.0)) and first["J_t"] == [1.0] * len(
        first["frames"])
    # a line wrong on the kept frames: the same as the official rules on those frames only
    shifted = {i: [None if t % 2 == 0 else m for t, m in enumerate(row.masks)] for i, row in rows.items()
               if i in lines}
    worse = _score(_write(tmp_path / "q.jsonl", "v1", shifted), built, capsys, "--protocol", "lmms-eval",
                   "--fps", "3")
    picked = {i: replace(row, masks=tuple(row.masks[t] for t in resampled_frames(len(row.masks), 3.0)),
                         frame_names=tuple(row.frame_names[t] for t in resampled_frames(len(row.masks), 3.0)))
              for i, row in rows.items() if i in shifted}
    direct = score_version(
        benchmark="mevis", model="m", version="v1", rows=picked,
        lines={i: Prediction(benchmark="mevis", id=i, probe="v1", model="m",
                             frames=tuple(f[t] for t in resampled_frames(len(f), 3.0))) for i, f in shifted.items()})
    assert worse["metrics"] == pytest.approx(dict(direct.metrics), abs=1e-6)
    assert worse["metrics"]["J"] < 100.0


def test_v2_under_lmms_eval_keeps_the_no_target_rule_over_scored_expressions(tmp_path, built, reference, capsys):
    rows = reference.rows_for("v2")
    lines = {i: [None] * len(row.masks) if row.no_target else list(row.masks) for i, row in rows.items()}
    gone = next(i for i, row in rows.items() if row.no_target)
    del lines[gone]
    result = _score(_write(tmp_path / "p.jsonl", "v2", lines), built, capsys, "--protocol", "lmms-eval")
    assert result["metrics"]["N_acc"] == result["metrics"]["T_acc"] == result["metrics"]["JF"] == 100.0
    assert result["analysis"]["protocol"]["dropped"] == 1 and result["counts"]["expressions"] == len(rows) - 1
    official = _score(tmp_path / "p.jsonl", built, capsys)
    assert official["metrics"]["N_acc"] < 100.0 and official["analysis"]["protocol"]["missing"] == 1


def test_settings_name_the_protocol(tmp_path, built, reference, capsys):
    lines, _ = _lines(reference, "v1")
    path = _write(tmp_path / "p.jsonl", "v1", lines)
    assert main(["score", str(path), "--data", f"mevis={built}", "--format", "json", "--protocol", "lmms-eval",
                 "--fps", "3"]) == 0
    settings = json.loads(capsys.readouterr().out)["settings"]
    assert settings["protocol"] == "lmms-eval" and settings["fps"] == 3.0


def test_fps_without_lmms_eval_is_refused(tmp_path, built, reference, capsys):
    lines, _ = _lines(reference, "v1")
    assert main(["score", str(_write(tmp_path / "p.jsonl", "v1", lines)), "--data", f"mevis={built}",
                 "--fps", "3"]) == 1
    assert "--fps 3: the official protocol scores native frames" in capsys.readouterr().err


def test_fps_must_be_a_rate(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["score", str(tmp_path / "p.jsonl"), "--protocol", "lmms-eval", "--fps", "0"])
    assert "expected frames per second" in capsys.readouterr().err


# ------------------------------------------------------------------ other benchmarks


@pytest.mark.parametrize("name", sorted(name for name in REGISTRY if name != "mevis"))
def test_other_benchmarks_refuse_a_protocol_they_lack(name):
    benchmark = REGISTRY[name]
    benchmark.check_settings(ScoreSettings())
    with pytest.raises(ValueError, match=f"--protocol lmms-eval: {benchmark.display_name} is scored under "
                                         "official only"):
        benchmark.check_settings(ScoreSettings(protocol="lmms-eval"))
    with pytest.raises(ValueError, match="--fps 3: "):
        benchmark.check_settings(ScoreSettings(fps=3.0))


def test_compare_passes_the_protocol(tmp_path, built, reference, capsys):
    """Both files answer the same expressions (lmms-eval drops the others from both): at 3 fps the even-frame
    lines are perfect, so they tie the truth; on native frames they lose to it."""
    lines, _ = _lines(reference, "v1")
    rows = reference.rows_for("v1")
    a = _write(tmp_path / "a.jsonl", "v1", lines)
    write_predictions(tmp_path / "b.jsonl", [
        Prediction(benchmark="mevis", id=i, probe="v1", model="b", frames=tuple(rows[i].masks)) for i in lines])
    argv = ["compare", str(a), str(tmp_path / "b.jsonl"), "--data", f"mevis={built}", "--format", "json",
            "--bootstrap", "200"]
    assert main([*argv, "--protocol", "lmms-eval", "--fps", "3"]) == 0
    [resampled] = json.loads(capsys.readouterr().out)["comparisons"]
    assert main(argv) == 0
    [native] = json.loads(capsys.readouterr().out)["comparisons"]
    assert resampled["rows"] == native["rows"] == len(lines)
    assert resampled["metrics"]["JF"]["difference"] == 0.0 and native["metrics"]["JF"]["difference"] < 0


def test_score_refuses_lmms_eval_on_another_benchmark(tmp_path, tiny_built, capsys):
    path = tmp_path / "p.jsonl"
    path.write_text(json.dumps({"benchmark": "pixmmvp", "id": 1, "probe": "letter", "response": "A"}) + "\n")
    argv = ["score", str(path), "--data", f"pixmmvp={tiny_built['pixmmvp']}", "--no-judge"]
    assert main([*argv, "--protocol", "lmms-eval"]) == 1
    assert "pixmmvp: --protocol lmms-eval: PixMMVP is scored under official only" in capsys.readouterr().err
    assert main([*argv, "--fps", "3"]) == 1
    assert "pixmmvp: --fps 3: PixMMVP re-samples no frames" in capsys.readouterr().err
    assert main([*argv, "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["settings"]["protocol"] == "official"


def test_release_fps_gives_the_native_frames_their_times(built, reference, tmp_path, capsys):
    """``--release-fps 12 --fps 6``: every other native frame is scored (their times are i / 12 s); the stamp
    and the note say so; official and one-protocol benchmarks refuse the option."""
    lines, _ = _lines(reference, "v1")
    path = _write(tmp_path / "p.jsonl", "v1", lines)
    result = _score(path, built, capsys, "--protocol", "lmms-eval", "--release-fps", "12")
    stamp = result["analysis"]["protocol"]
    kept = [row for i, row in reference.rows_for("v1").items() if i in lines]
    assert (stamp["fps"], stamp["release_fps"]) == (6.0, 12.0)
    assert stamp["frames"] == sum(len(resampled_frames(len(r.masks), 6.0, 12.0)) for r in kept)
    assert stamp["frames"] < sum(len(r.masks) for r in kept)
    assert protocol_for("lmms-eval", None, 12.0) == Protocol("lmms-eval", 6.0, 12.0)
    with pytest.raises(ValueError, match="--release-fps 12: the official protocol scores native frames"):
        protocol_for("official", None, 12.0)
    assert main(["score", str(path), "--data", f"mevis={built}", "--release-fps", "12"]) == 1
    assert "--release-fps 12: the official protocol scores native frames" in capsys.readouterr().err
