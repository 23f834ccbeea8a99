"""`pixbench score --receipt` and `pixbench verify` end to end: a judged run on the tiny PixMMVP with a real local
judge server, verified once the server is gone; each kind of change named precisely with the numbers it moved;
secrets kept out; the same bytes from another working folder."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from judge_server import running_server
from receipt_inputs import DATA, LEFT_HALF, PREDICTIONS, judge_text, poly, server_reply, write_lines

from pixbench import __version__
from pixbench.annotation import rle
from pixbench.builds.layout import content_hash
from pixbench.cli import main
from pixbench.judge import JUDGE_PROTOCOL_VERSION, cache_key
from pixbench.receipts import Verdict, unpack_verdicts

SHARD = "data/test-00000-of-00001.parquet"


def sha256(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def score(base_url: str, *extra: str, receipt: str = "receipt.json") -> list[str]:
    return ["score", PREDICTIONS, "--data", f"pixmmvp={DATA}", "--judge-base-url", base_url, "--judge-cache",
            "judge.sqlite", "--receipt", receipt, "--format", "json", *extra]


@pytest.fixture()
def scored(workspace: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    """A judged score run with a receipt (and per-sample lines); the judge server is stopped afterwards and its
    cache deleted. Returns the report, the requests the server got and the per-sample records."""
    with running_server(server_reply, model="served-judge-1") as server:
        assert main(score(server.base_url, "--per-sample", "per_sample.jsonl")) == 0
        asked = server.requests
    Path("judge.sqlite").unlink()
    report = json.loads(capsys.readouterr().out)
    records = [json.loads(line) for line in Path("per_sample.jsonl").read_text().splitlines()]
    return {"report": report, "asked": asked, "records": records}


def verify(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["verify", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def rescore(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, Any]:
    """The first result of scoring again without a judge server (judge off: only numbers without A-dagger)."""
    assert main(["score", *argv, "--no-judge", "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)["results"][0]


def test_receipt_holds_what_was_scored_and_verifies_with_the_judge_gone(workspace: Path, scored: dict[str, Any],
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    receipt = json.loads(Path("receipt.json").read_text(encoding="utf-8"))
    report = scored["report"]
    assert (receipt["format"], receipt["format_version"], receipt["pixbench_version"]) == ("pixbench-receipt", 1,
                                                                                           __version__)
    data = receipt["data"]["pixmmvp"]
    assert data == {"sha256": content_hash(workspace / DATA), "files": {SHARD: sha256(Path(DATA) / SHARD)},
                    "configs": ["default"], "source": DATA}
    assert data["sha256"] == report["datasets"]["pixmmvp"]["origin"]["sha256"]
    assert receipt["predictions"] == [{"path": PREDICTIONS, "sha256": sha256(PREDICTIONS),
                                       "bytes": Path(PREDICTIONS).stat().st_size}]
    assert receipt["settings"] == {
        "score": {"select": "given", "score_threshold": 0.7, "include_none": False, "letter_parser": "default",
                  "allow_judge_errors": False, "protocol": "official", "fps": None,
                  "release_fps": None},
        "read": {"allow_unknown_fields": False, "allow_outside_paths": False}, "strict": False, "intervals": None}
    judge = receipt["judge"]
    assert {k: judge[k] for k in ("enabled", "model", "temperature", "protocol")} == {
        "enabled": True, "model": "gpt-4o", "temperature": 0.2, "protocol": JUDGE_PROTOCOL_VERSION}
    assert judge["base_url"].startswith("http://127.0.0.1:") and judge["base_url"].endswith("/v1")
    # every request the server answered is a verdict, keyed as the judge's cache keys it
    verdicts = unpack_verdicts(judge["verdicts"])
    assert len(verdicts) == len(scored["asked"]) == 9  # 8 answers and 1 concept label
    question = report["results"][0]
    assert question["metrics"]["A_dagger_per_question"] == 50.0  # odd rows yes
    for request in scored["asked"]:
        key = cache_key(model="gpt-4o", messages=request.body["messages"], temperature=0.2,
                        protocol=JUDGE_PROTOCOL_VERSION)
        assert verdicts.pop(key) == Verdict(judge_text(request.body["messages"]), "served-judge-1")
    assert verdicts == {}
    # the report's results, and the digest of the per-sample lines pixbench score wrote
    assert receipt["report"]["results"] == report["results"]
    assert receipt["report"]["settings"] == report["settings"]
    canonical = json.dumps(scored["records"], sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert receipt["per_sample"] == {"records": 24, "sha256": hashlib.sha256(canonical.encode()).hexdigest()}

    code, out, err = verify(capsys, "receipt.json")  # no server, no cache
    assert (code, out) == (0, "identical\n"), err


def test_changed_prediction_line_names_the_file_and_the_numbers(workspace: Path, scored: dict[str, Any],
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    before = rescore(capsys, PREDICTIONS, "--data", f"pixmmvp={DATA}")
    lines = [json.loads(line) for line in Path(PREDICTIONS).read_text().splitlines()]
    segment_1 = next(k for k, line in enumerate(lines) if line["probe"] == "segment" and line["id"] == 1)
    lines[segment_1]["mask"] = poly(LEFT_HALF)  # IoU 1 -> 0.5 on row 1
    changed = write_lines(Path("other/m.jsonl"), lines)
    after = rescore(capsys, str(changed), "--data", f"pixmmvp={DATA}")
    assert after["metrics"]["M"] == pytest.approx(before["metrics"]["M"] - 50 / 6, abs=1e-5)

    code, out, err = verify(capsys, "receipt.json", str(changed))
    assert code == 1, err
    lines_out = out.splitlines()
    assert lines_out[0] == "differs from receipt.json: 6 difference(s)"
    size = changed.stat().st_size
    assert (f"predictions: other/m.jsonl (receipt: {PREDICTIONS}): sha256 {sha256(PREDICTIONS)[:16]}, "
            f"{Path(PREDICTIONS).stat().st_size} bytes -> sha256 {sha256(changed)[:16]}, {size} bytes") in lines_out
    for metric in ("M", "S", "cIoU"):
        assert (f"results: m / pixmmvp: metrics.{metric}: {json.dumps(before['metrics'][metric])} -> "
                f"{json.dumps(after['metrics'][metric])}") in lines_out
    assert "results: m / pixmmvp: breakdown.pattern.Color and Appearance.M: 75.0 -> 50.0" in lines_out
    assert any(line.startswith("per-sample: outcomes: 24 records, sha256 ") for line in lines_out)
    assert not any(line.startswith(("data:", "settings:", "version:", "judge:", "receipt:")) for line in lines_out)


def test_changed_data_file_names_the_benchmark_fingerprints_and_file(workspace: Path, scored: dict[str, Any],
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    before_hash = content_hash(workspace / DATA)
    before = rescore(capsys, PREDICTIONS, "--data", f"pixmmvp={DATA}")
    shard = Path(DATA) / SHARD
    table = pq.read_table(shard)
    masks = table.column("mask").to_pylist()
    masks[0] = rle.from_polygons([LEFT_HALF], 96, 128)  # row 1's truth becomes the left half
    field = table.schema.field("mask")
    table = table.set_column(table.schema.get_field_index("mask"), field, pa.array(masks, type=field.type))
    pq.write_table(table, shard)
    after_hash = content_hash(workspace / DATA)
    after = rescore(capsys, PREDICTIONS, "--data", f"pixmmvp={DATA}")
    assert (before["metrics"]["M"], after["metrics"]["M"]) != (None, None) and before != after

    code, out, err = verify(capsys, "receipt.json")
    assert code == 1, err
    lines_out = out.splitlines()
    assert f"data: pixmmvp: {before_hash[:16]} -> {after_hash[:16]} (changed: {SHARD})" in lines_out
    assert (f"results: m / pixmmvp: metrics.M: {json.dumps(before['metrics']['M'])} -> "
            f"{json.dumps(after['metrics']['M'])}") in lines_out
    assert not any(line.startswith(("predictions:", "settings:", "version:")) for line in lines_out)


def edited(path: str, change: Any) -> str:
    document = json.loads(Path("receipt.json").read_text(encoding="utf-8"))
    change(document)
    Path(path).write_text(json.dumps(document, indent=1), encoding="utf-8")
    return path


def test_hand_edited_setting_and_version_are_named(workspace: Path, scored: dict[str, Any],
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    seal = json.loads(Path("receipt.json").read_text())["seal"]
    oracle = edited("oracle.json", lambda d: d["settings"]["score"].update(select="oracle"))
    code, out, err = verify(capsys, oracle)
    assert code == 1, err
    lines_out = out.splitlines()
    assert lines_out[1].startswith(f"receipt: seal: {seal[:16]} -> ")
    assert lines_out[1].endswith("(edited after it was written: the seal no longer matches the content)")
    assert "settings: select: given -> oracle (as the receipt's report states it -> as scored now)" in lines_out
    given = scored["report"]["results"][0]["metrics"]["M_dagger"]
    assert given == pytest.approx((0.5 + 1) / 6 * 100, abs=1e-6)  # row 1's half; row 6 empty truth, no mask: 1
    assert f"results: m / pixmmvp: metrics.M_dagger: {json.dumps(given)} -> 33.333333" in lines_out  # the square

    older = edited("older.json", lambda d: d.update(pixbench_version="0.0.9"))
    code, out, err = verify(capsys, older)
    assert code == 1, err
    assert out.splitlines()[2:] == ["version: pixbench: 0.0.9 -> " + __version__]


def test_missing_verdict_names_the_item_and_nothing_is_asked(workspace: Path, scored: dict[str, Any],
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    lines = [json.loads(line) for line in Path(PREDICTIONS).read_text().splitlines()]
    vqa_3 = next(k for k, line in enumerate(lines) if line["probe"] == "vqa" and line["id"] == 3)
    lines[vqa_3]["response"] = "I think answer 5"
    changed = write_lines(Path("other/m.jsonl"), lines)
    code, out, err = verify(capsys, "receipt.json", str(changed))
    assert code == 2
    assert "error: receipt.json: no verdict in the receipt for m / pixmmvp / id 3 / vqa (key " in err
    assert "1 judge verdict(s) the scoring needs are not in the receipt" in err
    assert out.splitlines()[1].startswith("predictions: other/m.jsonl (receipt: preds/m.jsonl): sha256 ")
    assert "results:" not in out  # numbers without their verdicts are not compared


def test_unreadable_receipt_and_missing_files_are_named(workspace: Path, scored: dict[str, Any],
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    Path("broken.json").write_text('{"format": "pixbench-receipt",', encoding="utf-8")
    code, _, err = verify(capsys, "broken.json")
    assert code == 2 and err.startswith("error: broken.json: not JSON (line 1, column 31")
    code, _, err = verify(capsys, "absent.json")
    assert code == 2 and err.startswith("error: absent.json: cannot read the receipt: No such file or directory")
    wrong = edited("wrong.json", lambda d: d["settings"]["score"].update(select="best"))
    code, _, err = verify(capsys, wrong)
    assert (code, err) == (2, "error: wrong.json: settings.score.select: expected one of ['given', 'oracle', "
                              "'score'], got 'best'\n")
    damaged = edited("damaged.json", lambda d: d["judge"]["verdicts"].update(data=d["judge"]["verdicts"]["data"][4:]))
    code, _, err = verify(capsys, damaged)
    assert code == 2 and err.startswith("error: damaged.json: judge.verdicts.data does not decode")
    moved = Path(PREDICTIONS).rename("moved.jsonl")
    code, _, err = verify(capsys, "receipt.json")
    assert (code, err) == (2, f"error: {PREDICTIONS}: predictions file not found (named by receipt.json; give the "
                              "files after the receipt instead)\n")
    shutil.rmtree(DATA)
    code, _, err = verify(capsys, "receipt.json", str(moved))
    assert code == 2 and f"pixmmvp data folder not found: {DATA}" in err


def test_receipt_keeps_no_secret(workspace: Path, capsys: pytest.CaptureFixture[str],
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-envkey-0123456789")
    with running_server(server_reply) as server:
        host = server.base_url.removeprefix("http://")
        url = f"http://alice:pa55word-secret@{host}?api_key=query-secret-123&api-version=2024-01"
        assert main(score(url)) == 0
        assert server.requests[0].query == (("api_key", "query-secret-123"), ("api-version", "2024-01"))
    capsys.readouterr()
    text = Path("receipt.json").read_text(encoding="utf-8")
    for secret in ("sk-envkey-0123456789", "alice", "pa55word-secret", "query-secret-123", "api_key", "***"):
        assert secret not in text
    assert json.loads(text)["judge"]["base_url"] == f"http://{host}?api-version=2024-01"
    monkeypatch.delenv("OPENAI_API_KEY")
    code, out, err = verify(capsys, "receipt.json")
    assert (code, out) == (0, "identical\n"), err


def test_same_scoring_from_another_folder_gives_the_same_bytes(workspace: Path, tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str],
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    elsewhere = tmp_path / "elsewhere" / "deeper"
    shutil.copytree(workspace / "data", elsewhere / "data")
    shutil.copytree(workspace / "preds", elsewhere / "preds")
    with running_server(server_reply, model="served-judge-1") as server:
        assert main(score(server.base_url, "--ci", "0.9", "--bootstrap", "200")) == 0
        monkeypatch.chdir(elsewhere)
        assert main(score(server.base_url, "--ci", "0.9", "--bootstrap", "200")) == 0
    capsys.readouterr()
    first, second = (workspace / "receipt.json").read_bytes(), (elsewhere / "receipt.json").read_bytes()
    assert first == second
    assert str(workspace) not in first.decode() and str(tmp_path) not in first.decode()
    assert json.loads(first)["settings"]["intervals"] == {"level": 0.9, "resamples": 200, "seed": 0}
    code, out, err = verify(capsys, "receipt.json")
    assert (code, out) == (0, "identical\n"), err
    monkeypatch.chdir(tmp_path)  # the files are found beside the receipt
    code, out, err = verify(capsys, str(elsewhere / "receipt.json"))
    assert (code, out) == (0, "identical\n"), err


def test_a_run_without_a_judge_records_why_and_verifies(workspace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """No key and no base URL: the receipt records why there was no judge, and verifying reproduces the note."""
    assert main(["score", PREDICTIONS, "--data", f"pixmmvp={DATA}", "--receipt", "r.json", "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    receipt = json.loads(Path("r.json").read_text())
    assert receipt["judge"] == {"enabled": False, "reason": "no OPENAI_API_KEY and no --judge-base-url"}
    assert report["results"][0]["notes"][0] == "A_dagger not computed: no OPENAI_API_KEY and no --judge-base-url"
    code, out, err = verify(capsys, "r.json")
    assert (code, out) == (0, "identical\n"), err


def test_failed_judge_requests_scored_as_wrong_are_replayed(workspace: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    """Under --allow-judge-errors the failed requests are part of the result: the receipt keeps each one's error,
    and verifying scores them as wrong again."""
    from judge_server import server_error

    with running_server(server_reply, always=server_error(500)) as server:
        assert main(score(server.base_url, "--judge-retries", "0", "--allow-judge-errors")) == 0
    result = json.loads(capsys.readouterr().out)["results"][0]
    assert (result["metrics"]["A_dagger"], result["counts"]["judge_errors"]) == (0.0, 8)
    verdicts = unpack_verdicts(json.loads(Path("receipt.json").read_text())["judge"]["verdicts"])
    assert len(verdicts) == 9 and all(v.reply is None and "HTTP 500" in (v.error or "") for v in verdicts.values())
    code, out, err = verify(capsys, "receipt.json")
    assert (code, out) == (0, "identical\n"), err
