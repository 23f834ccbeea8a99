"""`pixbench score` on the tiny benchmark: every metric against values computed by hand."""

from __future__ import annotations

import json

import pytest

from pixbench.annotation import rle
from pixbench.cli import main
from pixbench.judge import FakeJudge
from pixbench.references import load_reference
from pixbench.results import ScoreSettings
from pixbench.score_files import JudgeChoice, evaluate

SQUARE = [32, 24, 80, 24, 80, 72, 32, 72]  # 48 x 48 = 2304 pixels in the tiny 96 x 128 images
LEFT_HALF = [32, 24, 56, 24, 56, 72, 32, 72]  # 24 x 48 = 1152 pixels, inside the square


def poly(points):
    return {"size": [96, 128], "polygons": [points]}


def write(path, lines):
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


@pytest.fixture()
def data(tiny_built):
    return {"pixmmvp": str(tiny_built["pixmmvp"]), "pixcvbench": str(tiny_built["pixcvbench"])}


@pytest.fixture()
def mmvp(tiny_built):
    return load_reference("pixmmvp", str(tiny_built["pixmmvp"]))


def letter_lines():
    responses = {1: "A", 2: "B", 3: "a", 4: "A", 5: "Yes", 6: "The answer is B.", 7: "C"}  # 8 missing
    return [{"benchmark": "pixmmvp", "id": i, "probe": "letter", "response": r} for i, r in responses.items()]


def segment_lines(mmvp):
    return [
        {"benchmark": "pixmmvp", "id": 1, "probe": "segment", "mask": poly(SQUARE)},
        {"benchmark": "pixmmvp", "id": 2, "probe": "segment", "mask": poly(LEFT_HALF)},
        {"benchmark": "pixmmvp", "id": 4, "probe": "segment", "mask": None},
        {"benchmark": "pixmmvp", "id": 5, "probe": "segment", "mask": mmvp.rows[5].mask},
        {"benchmark": "pixmmvp", "id": 6, "probe": "segment", "mask": None},
        {"benchmark": "pixmmvp", "id": 7, "probe": "segment", "mask": poly([0, 0, 128, 0, 128, 96, 0, 96])},
    ]  # 3 and 8 missing


def run(paths, data, judge=None, **settings):
    result = evaluate(paths, data=data, settings=ScoreSettings(**settings), judge=judge or JudgeChoice(None, "off"))
    assert not result.problems and not result.errors, (result.problems, result.errors)
    return {(r.model, r.benchmark): {**r.to_json(), "per_sample": list(r.per_sample)} for r in result.results}


def test_letter_accuracy_pairs_and_counts(tmp_path, data):
    (result,) = run([write(tmp_path / "m.jsonl", letter_lines())], data).values()
    metrics, counts = result["metrics"], result["counts"]
    assert metrics["A"] == 50.0  # pairs 1 and 3 of 4
    assert metrics["A_per_question"] == 62.5  # ids 1, 2, 3, 5, 6 of 8
    assert counts["unparsed_letters"] == 1 and counts["missing"] == {"vqa": None, "segment": None, "letter": 1}
    assert metrics["M"] is None and metrics["S"] is None and metrics["A_dagger"] is None
    assert result["breakdown"]["pattern"]["Color and Appearance"]["A"] == 100.0
    assert result["breakdown"]["pattern"]["State and Condition"]["A"] == 0.0


def test_reference_parser_differs_on_sentences(tmp_path, data):
    lines = [{"benchmark": "pixmmvp", "id": 1, "probe": "letter", "response": "The answer is: A"},
             {"benchmark": "pixmmvp", "id": 2, "probe": "letter", "response": "(b)"}]
    path = write(tmp_path / "m.jsonl", lines)
    default = run([path], data)[("m", "pixmmvp")]["metrics"]["A_per_question"]
    reference = run([path], data, letter_parser="reference")[("m", "pixmmvp")]["metrics"]["A_per_question"]
    assert default == 25.0  # both parsed
    assert reference == 12.5  # the published parser leaves "the answer is: a" unparsed


def test_masks_miou_ciou_s_and_failure_modes(tmp_path, data, mmvp):
    path = write(tmp_path / "m.jsonl", letter_lines() + segment_lines(mmvp))
    result = run([path], data)[("m", "pixmmvp")]
    metrics = result["metrics"]
    assert metrics["M"] == pytest.approx((1 + 0.5 + 0 + 0 + 1 + 1) / 6 * 100)  # rows 1..6 (7, 8 have no object)
    areas = {i: int(rle.area([mmvp.rows[i].mask])[0]) for i in range(1, 7)}
    assert areas[1] == areas[2] == 2304 and areas[6] == 0
    inter = 2304 + 1152 + areas[5]
    union = 2304 + 2304 + areas[3] + areas[4] + areas[5]  # missing row 3 adds its ground truth
    assert metrics["cIoU"] == pytest.approx(inter / union * 100)
    assert metrics["S"] == pytest.approx(2 * 50 * metrics["M"] / (50 + metrics["M"]))
    assert result["counts"]["missing"]["segment"] == 2 and result["counts"]["mask_rows"] == 6
    assert result["analysis"]["failure_modes"] == {
        "both_succeed": 1, "vqa_only_failure": 0, "grounding_only_failure": 1, "both_fail": 2,
        "vqa_from": "A", "grounding_from": "M"}
    with_none = run([path], data, include_none=True)[("m", "pixmmvp")]["metrics"]["M"]
    assert with_none == pytest.approx(3.5 / 8 * 100)  # row 7 (full mask, empty truth) and row 8 (missing) add 0


def test_missing_row_with_empty_truth_is_iou_zero(tmp_path, data):
    path = write(tmp_path / "m.jsonl", [{"benchmark": "pixmmvp", "id": 1, "probe": "segment", "mask": poly(SQUARE)}])
    result = run([path], data)[("m", "pixmmvp")]
    records = {r["id"]: r for r in result["per_sample"]}
    assert records[6]["missing"] and records[6]["iou"] == 0.0  # empty ground truth, no line: 0, never 1
    assert result["metrics"]["M"] == pytest.approx(100 / 6)


def judge_replies(messages):
    answer = messages[-1]["content"].split("answer:")[-1].split("? Respond")[0]
    replies = {"Red, the square is red": "Yes", "Blue": "yes.", "left": "No", "Right": "Yes", "Yes": "Maybe",
               "No": "YES"}
    return replies.get(answer, "No")


def vqa_lines(mmvp):
    square = rle.from_polygons([SQUARE], 96, 128)
    half = rle.from_polygons([LEFT_HALF], 96, 128)
    candidates = [{"mask": half, "phrase": "the square", "char_start": 5, "char_end": 15, "score": 0.9},
                  {"mask": square, "phrase": "the square", "char_start": 5, "char_end": 15, "score": 0.8},
                  {"mask": rle.empty(96, 128), "phrase": "Red", "char_start": 0, "char_end": 3, "score": 0.95}]
    responses = {1: "Red", 2: "Blue", 3: "left", 4: "Right", 5: "Yes", 6: "No", 7: "x", 8: "y"}
    lines = [{"benchmark": "pixmmvp", "id": i, "probe": "vqa", "response": r} for i, r in responses.items()]
    lines[0].update(response="Red, the square is red", candidates=candidates, selected=0)
    return lines


def test_judged_accuracy_and_selection_modes(tmp_path, data, mmvp):
    path = write(tmp_path / "m.jsonl", vqa_lines(mmvp))
    judge = JudgeChoice(FakeJudge(judge_replies, model="judge-x"))
    given = run([path], data, judge=judge)[("m", "pixmmvp")]
    assert given["metrics"]["A_dagger"] == 25.0  # only pair 1 (rows 1, 2) is right
    assert given["metrics"]["A_dagger_per_question"] == 50.0  # rows 1, 2, 4, 6
    assert given["counts"]["judge_undetermined"] == 1 and given["judge_served_models"] == ["judge-x"]
    # M-dagger: row 1 by the mode, rows 2-5 give no mask (0), row 6 has an empty truth and no mask (1)
    assert given["metrics"]["M_dagger"] == pytest.approx((0.5 + 1) / 6 * 100)  # selected: the half
    oracle = run([path], data, judge=judge, select="oracle")[("m", "pixmmvp")]
    assert oracle["metrics"]["M_dagger"] == pytest.approx((1 + 1) / 6 * 100)
    by_score = run([path], data, judge=judge, select="score")[("m", "pixmmvp")]
    assert by_score["metrics"]["M_dagger"] == pytest.approx((0 + 1) / 6 * 100)  # the 0.95 empty candidate
    strict = run([path], data, judge=judge, select="score", score_threshold=0.99)[("m", "pixmmvp")]
    assert strict["metrics"]["M_dagger"] == pytest.approx((0 + 1) / 6 * 100)
    emergence = oracle["analysis"]["emergence"]
    assert emergence["rows"] == 1 and emergence["location_histogram"][2] == 1  # char 5 of 22: 22.7%
    assert sum(emergence["concept_histogram"].values()) == 0  # the judge's "No" names no category


def test_pixcvbench_source_mean(tmp_path, data, tiny_built):
    cv = load_reference("pixcvbench", str(tiny_built["pixcvbench"]))
    responses = {0: "A", 1: "B", 2: "(A) above", 633: "B", 635: "above"}
    lines = [{"benchmark": "pixcvbench", "id": i, "probe": "letter", "response": r} for i, r in responses.items()]
    lines += [{"benchmark": "pixcvbench", "id": 0, "probe": "segment", "mask": cv.rows[0].mask},
              {"benchmark": "pixcvbench", "id": 635, "probe": "segment", "mask": None}]
    result = run([write(tmp_path / "m.jsonl", lines)], data)[("m", "pixcvbench")]
    source = result["breakdown"]["source"]
    assert source["ADE20K"]["A"] == 100.0 and source["COCO"]["A"] == pytest.approx(100 / 3)
    assert result["metrics"]["A"] == pytest.approx((100 + 100 / 3) / 2)
    assert result["metrics"]["M"] == pytest.approx(100 / 3)  # one exact mask per source (635: empty/empty)
    assert result["breakdown"]["pooled"]["A"] == pytest.approx(4 / 6 * 100)
    assert set(result["breakdown"]["task"]) == {"Count", "Relation"}


def test_cli_json_shape_and_formats(tmp_path, data, mmvp, capsys):
    path = write(tmp_path / "model-a.jsonl", letter_lines() + segment_lines(mmvp))
    args = ["score", str(path), "--data", f"pixmmvp={data['pixmmvp']}", "--no-judge"]
    assert main([*args, "--format", "json", "--per-sample", str(tmp_path / "rows.jsonl")]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["pixbench_version"] == "0.1.0" and document["protocol"] == "pixfoundation-v1"
    (result,) = document["results"]
    assert result["model"] == "model-a" and result["benchmark"] == "pixmmvp" and result["select"] == "given"
    assert set(result["metrics"]) >= {"A", "A_dagger", "M", "M_dagger", "S", "A_per_question",
                                      "A_dagger_per_question", "cIoU", "cIoU_dagger"}
    assert set(result["counts"]) >= {"rows", "mask_rows", "missing", "unparsed_letters", "judge_undetermined",
                                     "judge_errors"}
    assert document["judge"] == {"enabled": False, "reason": "skipped with --no-judge"}
    assert document["datasets"]["pixmmvp"]["label_set"] == "original MMVP labels"
    rows = [json.loads(line) for line in (tmp_path / "rows.jsonl").read_text().splitlines()]
    assert len(rows) == 16 and {r["probe"] for r in rows} == {"letter", "segment"}
    for fmt, marker in (("table", "model-a"), ("markdown", "| model-a |"), ("csv", "model,variant,benchmark,select"),
                        ("latex", r"\begin{tabular}")):
        assert main([*args, "--format", fmt]) == 0
        assert marker in capsys.readouterr().out


def test_cli_rejects_bad_predictions(tmp_path, data, capsys):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"benchmark": "pixmmvp", "id": 99, "probe": "letter", "response": "A"}\n{oops\n'
                    + json.dumps({"benchmark": "pixmmvp", "id": 1, "probe": "segment",
                                "mask": rle.empty(10, 10)}) + "\n")
    assert main(["score", str(path), "--data", f"pixmmvp={data['pixmmvp']}", "--no-judge"]) == 1
    err = capsys.readouterr().err
    assert f"{path}:1: id 99: id not in the pixmmvp dataset" in err
    assert f"{path}:2: invalid JSON" in err
    assert f"{path}:3: id 1: `mask` size [10, 10] != ground truth [96, 128]" in err


def test_cli_strict_and_missing_message(tmp_path, data, capsys):
    path = write(tmp_path / "m.jsonl", letter_lines())
    assert main(["score", str(path), "--data", f"pixmmvp={data['pixmmvp']}", "--no-judge", "--strict"]) == 1
    assert "1 row(s) without a prediction (--strict): ids [8]" in capsys.readouterr().err
    assert main(["score", str(path), "--data", f"pixmmvp={data['pixmmvp']}", "--no-judge"]) == 0
    assert "missing predictions {'letter': 1}" in capsys.readouterr().err


def test_cli_without_key_reports_why(tmp_path, data, mmvp, capsys, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    path = write(tmp_path / "m.jsonl", vqa_lines(mmvp))
    assert main(["score", str(path), "--data", f"pixmmvp={data['pixmmvp']}", "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["judge"]["reason"] == "no OPENAI_API_KEY and no --judge-base-url"
    assert document["results"][0]["metrics"]["A_dagger"] is None
    assert "A_dagger not computed" in document["results"][0]["notes"][0]


def test_cli_judge_on_local_server_with_cache(tmp_path, data, mmvp, capsys, monkeypatch):
    from judge_server import running_server, server_error

    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    path = write(tmp_path / "m.jsonl", vqa_lines(mmvp))
    cache = tmp_path / "judge.sqlite"

    def reply(body):
        return judge_replies(body["messages"])

    with running_server(reply, model="local-judge-1") as server:
        args = ["score", str(path), "--data", f"pixmmvp={data['pixmmvp']}", "--judge-base-url", server.base_url,
                "--judge-model", "local-judge", "--judge-cache", str(cache), "--format", "json"]
        assert main(args) == 0
        document = json.loads(capsys.readouterr().out)
        assert server.request_count == 9  # 8 verdicts and 1 concept label (emergence analysis)
        assert document["results"][0]["metrics"]["A_dagger"] == 25.0
        assert document["judge"]["served_models"] == ["local-judge-1"]
        assert document["judge"]["endpoint"] == server.base_url.rstrip("/")
        assert main(args) == 0  # every verdict comes from the cache
        assert server.request_count == 9
        assert json.loads(capsys.readouterr().out)["results"][0]["metrics"]["A_dagger"] == 25.0
        assert main([*args, "--refresh-judge"]) == 0
        assert server.request_count == 18
        capsys.readouterr()

    with running_server(reply, always=server_error(500)) as broken:
        args = ["score", str(path), "--data", f"pixmmvp={data['pixmmvp']}", "--judge-base-url", broken.base_url,
                "--judge-cache", str(tmp_path / "other.sqlite"), "--judge-retries", "0", "--format", "json"]
        assert main(args) == 3
        captured = capsys.readouterr()
        host = broken.base_url.split("//")[1].split("/")[0]
        assert "judge request(s) failed" in captured.err and host in captured.err
        assert json.loads(captured.out)["results"][0]["metrics"]["A_dagger"] is None
        assert main([*args, "--allow-judge-errors"]) == 0
        result = json.loads(capsys.readouterr().out)["results"][0]
        assert result["metrics"]["A_dagger"] == 0.0 and result["counts"]["judge_errors"] == 8


def test_cli_plots(tmp_path, data, mmvp):
    path = write(tmp_path / "m.jsonl", vqa_lines(mmvp))
    assert main(["score", str(path), "--data", f"pixmmvp={data['pixmmvp']}", "--no-judge", "--select", "oracle",
                 "--plots", str(tmp_path / "plots")]) == 0
    from PIL import Image

    with Image.open(tmp_path / "plots" / "m_pixmmvp_emergence.png") as image:
        assert image.size[0] > 400


def test_variants_and_sensitivity_table(tmp_path, data, capsys):
    answers = {"qa-1": {1: "A", 2: "B", 3: "A", 4: "B"}, "qa-2": {1: "A", 2: "A", 3: "A", 4: "B"},
               "qa-3": {1: "B", 2: "A", 3: "B", 4: "A"}}
    lines = [{"benchmark": "pixmmvp", "id": i, "probe": "letter", "response": r, "variant": v}
             for v, rows in answers.items() for i, r in rows.items()]
    path = write(tmp_path / "m.jsonl", lines)
    assert main(["score", str(path), "--data", f"pixmmvp={data['pixmmvp']}", "--no-judge", "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    per_variant = {r["variant"]: r["metrics"]["A_per_question"] for r in document["results"]}
    assert per_variant == {"qa-1": 50.0, "qa-2": 37.5, "qa-3": 0.0}  # of 8 rows, 4 answered
    (table,) = document["sensitivity"]
    stats = table["metrics"]["A_per_question"]
    assert stats["mean"] == pytest.approx(87.5 / 3, abs=1e-6) and stats["spread"] == 50.0
    assert stats["std"] == pytest.approx(float(__import__("numpy").std([50.0, 37.5, 0.0])), abs=1e-6)
    assert table["metrics"]["A"]["max"] == 50.0  # qa-1: pairs 1 and 2 right of 4
    assert main(["score", str(path), "--data", f"pixmmvp={data['pixmmvp']}", "--no-judge"]) == 0
    out = capsys.readouterr().out
    assert "m [qa-2]" in out and "prompt sensitivity" in out and "spread" in out


def test_variants_for_some_lines_only_is_an_error(tmp_path, data, capsys):
    lines = [{"benchmark": "pixmmvp", "id": 1, "probe": "letter", "response": "A", "variant": "qa-1"},
             {"benchmark": "pixmmvp", "id": 2, "probe": "letter", "response": "B"}]
    path = write(tmp_path / "m.jsonl", lines)
    assert main(["score", str(path), "--data", f"pixmmvp={data['pixmmvp']}", "--no-judge"]) == 1
    err = capsys.readouterr().err
    assert f"{path}:2: id 2: no `variant`, while other lines of 'm' / pixmmvp name variants ['qa-1'] " \
           f"(first at {path}:1: id 1); 1 line(s) lack one" in err


def test_confidence_intervals_in_every_format(tmp_path, data, mmvp, capsys):
    path = write(tmp_path / "m.jsonl", letter_lines() + segment_lines(mmvp))
    args = ["score", str(path), "--data", f"pixmmvp={data['pixmmvp']}", "--no-judge", "--ci", "0.9",
            "--bootstrap", "500", "--seed", "3"]
    assert main([*args, "--format", "json"]) == 0
    result = json.loads(capsys.readouterr().out)["results"][0]
    ci = result["ci"]
    assert ci["level"] == 0.9 and ci["resamples"] == 500 and ci["seed"] == 3
    for name in ("A", "A_per_question", "M", "cIoU", "S"):
        low, high = ci["metrics"][name]
        assert 0 <= low <= result["metrics"][name] <= high <= 100, name
    assert ci["metrics"]["A"][0] < ci["metrics"]["A"][1]  # 4 pairs resampled: the interval is wide
    assert main([*args, "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["results"][0]["ci"] == ci  # fixed seed, same intervals
    for fmt, marker in (("table", "50.0 ["), ("markdown", "50.0 ["), ("csv", "A_ci_low"), ("latex", r"\scriptsize[")):
        assert main([*args, "--format", fmt]) == 0
        assert marker in capsys.readouterr().out


def test_cli_empty_file_is_an_error(tmp_path, data, capsys):
    (tmp_path / "empty.jsonl").write_text("\n\n")
    assert main(["score", str(tmp_path / "empty.jsonl"), "--data", f"pixmmvp={data['pixmmvp']}", "--no-judge"]) == 1
    assert "no prediction lines in" in capsys.readouterr().err


# ---------------------------------------------------------------- damaged ground truth


def _damaged_copy(tiny_built, tmp_path, name="PixMMVP"):
    import shutil

    folder = shutil.copytree(tiny_built["pixmmvp"], tmp_path / name)
    return folder, folder / "data" / "test-00000-of-00001.parquet"


@pytest.mark.parametrize("keep", [0.0, 0.5, 0.99])
def test_truncated_ground_truth_is_one_error_naming_the_file(tiny_built, tmp_path, capsys, keep):
    folder, shard = _damaged_copy(tiny_built, tmp_path)
    data = shard.read_bytes()
    shard.write_bytes(data[:int(len(data) * keep)])
    from pixbench.references import ReferenceError

    with pytest.raises(ReferenceError, match="truncated or corrupted") as info:
        load_reference("pixmmvp", str(folder))
    assert str(shard) in str(info.value) and "\n" not in str(info.value)
    path = write(tmp_path / "m.jsonl", letter_lines())
    assert main(["score", str(path), "--data", f"pixmmvp={folder}", "--no-judge"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    first, second = err.strip().splitlines()
    assert first.startswith(f"error: {shard}: unreadable parquet file") and second.startswith("error: nothing scored")


def test_corrupted_ground_truth_pages(tiny_built, tmp_path, capsys):
    folder, shard = _damaged_copy(tiny_built, tmp_path)
    data = bytearray(shard.read_bytes())
    for k in range(len(data) // 4, len(data) // 2):  # the footer is intact, the pages are not
        data[k] ^= 0x5A
    shard.write_bytes(bytes(data))
    path = write(tmp_path / "m.jsonl", letter_lines())
    assert main(["score", str(path), "--data", f"pixmmvp={folder}", "--no-judge"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and f"error: {shard}: " in err and len(err.strip().splitlines()) == 2


def test_ground_truth_with_missing_columns_nulls_or_repeated_ids(tiny_built, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from pixbench.references import ReferenceError

    folder, shard = _damaged_copy(tiny_built, tmp_path)
    table = pq.read_table(shard)
    pq.write_table(table.drop(["answer", "mask"]), shard)
    with pytest.raises(ReferenceError, match=r"test-00000-of-00001.parquet lacks column\(s\) \['answer', 'mask'\]"):
        load_reference("pixmmvp", str(folder))
    rows = table.to_pylist()
    rows[2]["height"] = None
    pq.write_table(pa.Table.from_pylist(rows, schema=table.schema), shard)
    with pytest.raises(ReferenceError, match=r"parquet: row 2 \(id 3\) is malformed: ValueError: height is null"):
        load_reference("pixmmvp", str(folder))
    rows[2]["height"] = 96
    rows[3]["id"] = 1
    pq.write_table(pa.Table.from_pylist(rows, schema=table.schema), shard)
    with pytest.raises(ReferenceError, match=r"parquet: row 3 repeats id 1"):
        load_reference("pixmmvp", str(folder))
    rows[3]["id"] = 4
    rows[0]["mask"] = {"size": [96, 128], "counts": "zz"}
    pq.write_table(pa.Table.from_pylist(rows, schema=table.schema), shard)
    with pytest.raises(ReferenceError, match=r"parquet: id 1: corrupt ground-truth mask: .*alphabet"):
        load_reference("pixmmvp", str(folder))
    rows[0]["mask"] = {"size": [10, 10], "counts": "0d1"}
    pq.write_table(pa.Table.from_pylist(rows, schema=table.schema), shard)
    with pytest.raises(ReferenceError, match=r"id 1: mask size \[10, 10\] differs from the row's height x width"):
        load_reference("pixmmvp", str(folder))


def test_unreadable_build_summary_is_named(tiny_built, tmp_path):
    from pixbench.references import ReferenceError

    folder, _ = _damaged_copy(tiny_built, tmp_path)
    (folder / "build_summary.json").write_text('{"label_set": ')
    with pytest.raises(ReferenceError, match=r"build_summary.json: unreadable build summary"):
        load_reference("pixmmvp", str(folder))


def test_a_judge_that_never_says_yes_or_no_gives_no_a_dagger(tmp_path, data, mmvp, capsys):
    path = write(tmp_path / "m.jsonl", vqa_lines(mmvp))
    judge = JudgeChoice(FakeJudge(lambda messages: "I am a helpful assistant.", model="chatty"))
    result = run([path], data, judge=judge)[("m", "pixmmvp")]
    assert result["metrics"]["A_dagger"] is None and result["metrics"]["A_dagger_per_question"] is None
    assert result["counts"]["judge_undetermined"] == 8
    assert any("all 8 judge verdicts undetermined" in note for note in result["notes"])
    # one determined verdict is a measurement again (the undetermined ones count as wrong)
    some = JudgeChoice(FakeJudge(lambda m: "Yes" if "Red, the square" in m[-1]["content"] else "hmm", model="j"))
    assert run([path], data, judge=some)[("m", "pixmmvp")]["metrics"]["A_dagger_per_question"] == 12.5
