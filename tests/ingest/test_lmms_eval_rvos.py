"""``pixbench convert --from lmms-eval-rvos``: lmms-eval's RVOS submission (and stage-2) files written here in
its format over a synthetic MeViS build, point tracks propagated by a tiny random SAM 2, matching, failed
queries, stage-2 masks, every bad input, resuming, and scoring the lines under both protocols."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from pixbench.annotation import rle
from pixbench.baselines.point_tracks import prompts_from_lmms_tracks
from pixbench.benchmarks.mevis import build as mevis
from pixbench.benchmarks.mevis.rows import MevisReference, MevisRow
from pixbench.benchmarks.mevis.synthetic import write_synthetic_release
from pixbench.cli import main
from pixbench.references import load_reference

SCALE = 2  # the records' videos are twice the build's frame size (lmms-eval's mp4 need not be the JPEGs' size)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    raw = write_synthetic_release(tmp_path_factory.mktemp("mevis-raw") / "mevis")
    out = tmp_path_factory.mktemp("mevis") / "MeViS"
    mevis.build(mevis_root=raw.root, out_dir=out, version="v1")
    return out


@pytest.fixture(scope="module")
def rows(built: Path) -> dict[str, MevisRow]:
    reference: MevisReference = load_reference("mevis", str(built))
    return reference.rows_for("v1")


@pytest.fixture(scope="module")
def sam2(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    if not hasattr(transformers, "Sam2VideoModel"):
        pytest.skip("the installed transformers has no Sam2VideoModel")
    from pixbench.baselines.video_segmenters import make_tiny_sam2_video

    return make_tiny_sam2_video(tmp_path_factory.mktemp("models") / "sam2")


def _centre(mask: rle.Rle) -> tuple[float, float] | None:
    ys, xs = np.nonzero(rle.decode(mask))
    return None if not len(xs) else (float(xs.mean()), float(ys.mean()))


def _record(k: int, row: MevisRow, *, qid: bool = False, points: bool = True) -> dict[str, Any]:
    """A stage-1 record as lmms-eval writes it: points on the truth's centre at two times, in the record's
    (SCALE x) pixels; the expression re-cased and re-spaced on odd records."""
    tracks = []
    for frame in (0, len(row.frame_names) // 2) if points else ():
        centre = _centre(row.masks[frame])
        if centre is not None:
            tracks.append({"time": frame / 6.0, "frame": frame,
                           "points": {"0": {"point": [centre[0] * SCALE, centre[1] * SCALE]}}})
    text = row.expression if k % 2 == 0 else "  " + row.expression.upper().replace(" ", "   ")
    return {"id": f"mevis_track_{k}", "qid": row.id if qid else None, "video": row.video_id, "expression": text,
            "prediction": "<tracks coords=\"...\">x</tracks>", "tracks": tracks, "height": row.height * SCALE,
            "width": row.width * SCALE, "fps": 6, "sampling_fps": 1, "n_frames": len(row.frame_names),
            "mask_ids": [], "precision": 0.5, "recall": 0.5, "f1": 0.5, "HOTA": 0.4}


def _submission(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text(json.dumps(records), encoding="utf-8")
    return path


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _convert(submission: Path, built: Path, out: Path, *extra: str) -> list[str]:
    return ["convert", "--from", "lmms-eval-rvos", str(submission), "--data", str(built), "--model", "m",
            "--out", str(out), *extra]


# ------------------------------------------------------------------------------------------ the rules


def test_times_go_to_native_frames_and_points_are_scaled_and_clamped() -> None:
    tracks = [{"time": 0.24, "points": {"a": {"point": [100.0, 50.0]}}},  # round(1.44) = 1
              {"time": 0.25, "points": {"a": {"point": [-5.0, 400.0]}, "b": [10, 20]}},  # round(1.5) = 2
              {"time": 99.0, "points": {"a": {"point": [10.0, 10.0]}}},  # past the end: the last frame
              {"frame": 3, "points": {"a": {"point": [0.0, 0.0]}}}]  # no time: its frame
    prompts = prompts_from_lmms_tracks(tracks, fps=6.0, num_frames=5, record_size=(200, 400), frame_size=(100, 200))
    assert prompts == {1: {"a": [(50.0, 25.0)]}, 2: {"a": [(0.0, 99.0)], "b": [(5.0, 10.0)]},
                       4: {"a": [(5.0, 5.0)]}, 3: {"a": [(0.0, 0.0)]}}


def test_lines_from_sam2_point_propagation_score_under_both_protocols(built, rows, sam2, tmp_path, capsys) -> None:
    items = list(rows.values())
    records = [_record(k, row, qid=k == 1) for k, row in enumerate(items[:-2])]  # the last two unanswered
    out = tmp_path / "m.jsonl"
    code = main(_convert(_submission(tmp_path / "sub.json", records), built, out, "--sam2", str(sam2)))
    err = capsys.readouterr().err
    assert code == 0, err
    assert f"wrote {len(records)} line(s)" in err and "2 expression(s) of v1 without a query" in err
    lines = _lines(out)
    assert [line["id"] for line in lines] == [row.id for row in items[:-2]]
    for line, row in zip(lines, items):
        assert line["benchmark"] == "mevis" and line["probe"] == "v1" and len(line["masks"]) == len(row.frame_names)
        details = line["details"]
        assert details["masks_from"] in ("sam2 point propagation", "no point: empty masks")
        centre = _centre(row.masks[0])
        if centre is not None:  # scaled back from the record's pixels to the frame's
            assert details["points"]["0"]["0"] == [list(centre)]
    assert any(frame is not None for line in lines for frame in line["masks"])  # the random SAM 2 masks something
    assert json.loads((tmp_path / "m.jsonl.run.json").read_text())["settings"]["segmenter"]["sha256"]
    for protocol, scored in (("official", len(items)), ("lmms-eval", len(items) - 2)):
        assert main(["score", str(out), "--data", f"mevis={built}", "--protocol", protocol, "--format", "json"]) == 0
        report = json.loads(capsys.readouterr().out)
        stamp = report["results"][0]["analysis"]["protocol"]
        assert stamp["scored"] == scored and stamp["expressions"] == len(items)


def test_stage2_drops_failed_queries_and_gives_masks_without_sam2(built, rows, tmp_path, capsys) -> None:
    items = list(rows.values())
    records = [_record(k, row) for k, row in enumerate(items)]
    stage2 = [{"id": r["id"], "qid": None, "video": r["video"], "expression": r["expression"], "J": 0.5, "F": 0.25,
               "J&F": 0.375, "HOTA": 0.1, "masks": [None if m is None else dict(m) for m in row.masks]}
              for r, row in zip(records, items) if r["id"] != "mevis_track_2"]
    stage2_file = tmp_path / "rvos_mevis_valid_u_sam2_predictions.json"
    stage2_file.write_text(json.dumps(stage2), encoding="utf-8")
    out = tmp_path / "m.jsonl"
    argv = _convert(_submission(tmp_path / "sub.json", records), built, out, "--stage2", str(stage2_file),
                    "--sam2", str(tmp_path / "no-such-model"))  # never loaded: every line has its masks
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert "1 query(ies) failed in lmms-eval's stage 2" in err
    lines = _lines(out)
    assert rows_of(lines) == [row.id for row in items if row.id != items[2].id]
    assert lines[0]["details"]["lmms_eval_stage2"] == {"J": 0.5, "F": 0.25, "J&F": 0.375, "HOTA": 0.1}
    assert main(["score", str(out), "--data", f"mevis={built}", "--protocol", "lmms-eval", "--format", "json"]) == 0
    result = json.loads(capsys.readouterr().out)["results"][0]
    assert result["metrics"]["JF"] == pytest.approx(100.0)  # the stage-2 masks are the truth
    assert result["analysis"]["protocol"]["scored"] == len(items) - 1
    # resuming: nothing left to do; other settings refused; --force starts over
    assert main(argv) == 0
    assert f"wrote 0 line(s) to {out} ({len(items) - 1} already there)" in capsys.readouterr().err
    assert main([*argv, "--fps", "5"]) == 1
    assert "other settings" in capsys.readouterr().err and len(_lines(out)) == len(items) - 1
    assert main([*argv, "--force"]) == 0 and len(_lines(out)) == len(items) - 1


def rows_of(lines: list[dict[str, Any]]) -> list[str]:
    return [line["id"] for line in lines]


def test_qid_tells_apart_expressions_that_read_the_same(built, rows, tmp_path, capsys) -> None:
    items = list(rows.values())
    first = items[0]
    twin = next(row for row in items[1:] if row.video_id == first.video_id)
    records = [_record(0, first, points=False), {**_record(1, twin, points=False), "expression": first.expression}]
    records[1]["qid"] = twin.id
    out = tmp_path / "m.jsonl"
    assert main(_convert(_submission(tmp_path / "s.json", records), built, out)) == 0
    assert rows_of(_lines(out)) == [first.id, twin.id]
    assert all(frame is None for line in _lines(out) for frame in line["masks"])  # no point: empty masks
    capsys.readouterr()


def test_bad_inputs_are_listed_and_nothing_is_written(built, rows, tmp_path, capsys) -> None:
    items = list(rows.values())
    good = _record(0, items[0])
    records = [good, {**_record(1, items[1]), "video": "no-such-video"},
               {**_record(2, items[2]), "expression": "a sentence nobody wrote"},
               {**_record(3, items[0]), "id": "mevis_track_3"},  # the same expression as record 0
               {**_record(4, items[3]), "tracks": [{"time": 1.0, "points": {"0": {"point": ["x", 2]}}}]},
               {**_record(5, items[4]), "width": 0}]
    out = tmp_path / "m.jsonl"
    assert main(_convert(_submission(tmp_path / "s.json", records), built, out)) == 1
    err = capsys.readouterr().err
    assert "record 5 (mevis_track_5): width and height must be positive integers" in err
    assert not out.exists()
    # tracks are read when planning (on the matched expression's frames), before anything is written
    nan_time = {**_record(6, items[5]), "tracks": [{"time": float("nan"), "frame": 1,
                                                     "points": {"0": {"point": [1.0, 2.0]}}}]}
    assert main(_convert(_submission(tmp_path / "s.json", [good, records[4], nan_time]), built, out)) == 1
    err = capsys.readouterr().err
    assert "record 1 (mevis_track_4): tracks[0].points['0']" in err  # records are numbered by place in the file
    assert "record 2 (mevis_track_6): tracks[0].time" in err
    assert not out.exists()
    assert main(_convert(_submission(tmp_path / "s.json", records[:4]), built, out)) == 1
    err = capsys.readouterr().err
    assert "record 1 (mevis_track_1): video 'no-such-video' is not in MeViS v1" in err
    assert "record 2 (mevis_track_2): no expression of video" in err
    assert f"record 3 (mevis_track_3): answers expression {items[0].id}, as record 0 (mevis_track_0) does" in err
    assert not out.exists()
    stage1_as_stage2 = tmp_path / "stage2.json"
    stage1_as_stage2.write_text(json.dumps([{"id": "mevis_track_0", "J": 1.0}]), encoding="utf-8")
    assert main(_convert(stage1_as_stage2, built, out)) == 1
    assert "no parsed `tracks`" in capsys.readouterr().err
    assert main(_convert(tmp_path / "s.json", built, out, "--probe", "original")) == 1
    assert "--probe do not apply to --from lmms-eval-rvos" in capsys.readouterr().err


def test_v2_queries_no_target_without_points_scores_n_acc(tmp_path_factory, tmp_path, capsys) -> None:
    """MeViS v2 through the same path: a no-target query answered with no point gets empty masks (N-acc), one
    answered with a point loses it; the target queries keep their stage-2 masks."""
    raw = write_synthetic_release(tmp_path_factory.mktemp("mevis-raw-v2") / "mevis")
    built = tmp_path_factory.mktemp("mevis-v2") / "MeViS"
    mevis.build(mevis_root=raw.root, out_dir=built, version="v2", with_frames=False)
    rows = load_reference("mevis", str(built)).rows_for("v2")
    items = list(rows.values())
    none = [row for row in items if row.no_target]
    assert len(none) >= 2
    records = [_record(k, row, points=not row.no_target) for k, row in enumerate(items)]
    target = next(row for row in items if not row.no_target)
    wrong = next(k for k, row in enumerate(items) if row.no_target)
    records[wrong]["tracks"] = [{"time": 0.0, "points": {"0": {"point": [10.0, 10.0]}}}]
    stage2 = [{"id": r["id"], "J": 1.0, "F": 1.0, "J&F": 1.0,
               "masks": [dict(target.masks[0]) if k == wrong and t == 0 else (None if m is None else dict(m))
                         for t, m in enumerate(row.masks)]}
              for k, (r, row) in enumerate(zip(records, items))]
    (tmp_path / "s2.json").write_text(json.dumps(stage2), encoding="utf-8")
    out = tmp_path / "v2.jsonl"
    argv = _convert(_submission(tmp_path / "sub.json", records), built, out, "--version", "v2", "--stage2",
                    str(tmp_path / "s2.json"))
    assert main(argv) == 0, capsys.readouterr().err
    capsys.readouterr()
    assert main(["score", str(out), "--data", f"mevis={built}", "--format", "json"]) == 0
    metrics = json.loads(capsys.readouterr().out)["results"][0]["metrics"]
    assert metrics["JF"] == pytest.approx(100.0) and metrics["T_acc"] == pytest.approx(100.0)
    assert metrics["N_acc"] == pytest.approx(100.0 * (len(none) - 1) / len(none))
