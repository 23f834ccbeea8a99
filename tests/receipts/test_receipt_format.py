"""The receipt's pure parts: packed verdicts, digests, the base URL without secrets, configs, the seal, reading a
receipt field by field, the comparison, and the two judges (recorded keys are the judge cache's keys)."""

from __future__ import annotations

import base64
import json
import zlib
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from pixbench.judge import FakeJudge, JudgeCache, accuracy_messages, concept_messages
from pixbench.receipts import (
    DataFingerprint,
    JudgeRecord,
    PredictionsFingerprint,
    Receipt,
    ReceiptError,
    ReceiptJudge,
    ReceiptSettings,
    Verdict,
    VerdictRecorder,
    canonical_json,
    compare_receipts,
    judge_prompt_digest,
    pack_verdicts,
    per_sample_digest,
    public_base_url,
    unpack_verdicts,
)
from pixbench.receipts.format import config_of, receipt_from_json, seal

KEY_A, KEY_B = "a" * 64, "b" * 64


def test_verdicts_pack_sorted_compressed_and_unpack() -> None:
    verdicts = {KEY_B: Verdict("No", "judge-1"), KEY_A: Verdict(None, None, "judge request failed: HTTP 500")}
    block = pack_verdicts(verdicts)
    raw = zlib.decompress(base64.b64decode(block["data"]))
    assert json.loads(raw) == [[KEY_A, None, None, "judge request failed: HTTP 500"], [KEY_B, "No", "judge-1"]]
    assert raw.decode() == canonical_json(json.loads(raw)) and block["count"] == 2
    assert unpack_verdicts(block) == verdicts
    with pytest.raises(ReceiptError, match=r"^r.json: judge.verdicts: expected 3 entries, got 2$"):
        unpack_verdicts({**block, "count": 3}, "r.json")
    with pytest.raises(ReceiptError, match=r"does not match judge.verdicts.sha256"):
        unpack_verdicts({**block, "sha256": "0" * 64}, "r.json")
    bad = canonical_json([[KEY_A, 3, None]]).encode()
    with pytest.raises(ReceiptError, match=r"judge.verdicts entry 0: expected \[key, reply, served model\]"):
        unpack_verdicts({"encoding": "zlib+base64", "count": 1, "sha256": __import__("hashlib").sha256(bad).hexdigest(),
                         "data": base64.b64encode(zlib.compress(bad)).decode()}, "r.json")


def test_canonical_json_and_per_sample_digest_round_floats_to_the_report() -> None:
    assert canonical_json({"b": (1, np.float64(0.1)), "a": None}) == '{"a":null,"b":[1,0.1]}'
    same = per_sample_digest([{"id": 1, "iou": 1 / 3, "J_t": [np.float32(0.5)]}])
    assert same == per_sample_digest([{"iou": 0.333333, "J_t": [0.5], "id": 1}])
    assert same[0] == 1 and same != per_sample_digest([{"id": 1, "iou": 0.333334, "J_t": [0.5]}])


@pytest.mark.parametrize(("given", "public"), [
    ("http://127.0.0.1:8000/v1", "http://127.0.0.1:8000/v1"),
    ("https://bob:hunter22@api.example.com/v1?api-version=2024-02&key=abc123&x=1",
     "https://api.example.com/v1?api-version=2024-02&x=1"),
    ("https://host/v1?access_token=t0k3n#sig=s1gn4ture", "https://host/v1"),
    ("http://[::1]:9000/v1?session=xyzxyz", "http://[::1]:9000/v1"),
])
def test_base_url_keeps_no_secret(given: str, public: str) -> None:
    assert public_base_url(given) == public


def test_configs_come_from_the_shard_names() -> None:
    assert [config_of(name) for name in ("data/test-00000-of-00001.parquet", "data/test-v2-00001-of-00003.parquet",
                                         "data/test-reversed-00000-of-00001.parquet")] == ["default", "v2", "reversed"]


def test_prompt_digest_follows_the_templates(monkeypatch: pytest.MonkeyPatch) -> None:
    from pixbench.judge import protocol

    before = judge_prompt_digest()
    assert before == judge_prompt_digest()
    monkeypatch.setattr(protocol, "ACCURACY_SYSTEM", protocol.ACCURACY_SYSTEM + " ")
    assert judge_prompt_digest() != before


def receipt(**changes: Any) -> Receipt:
    made = Receipt(
        pixbench_version="0.1.0",
        data={"pixmmvp": DataFingerprint(sha256="1" * 64, files={"data/a.parquet": "2" * 64}, source="out/PixMMVP")},
        predictions=(PredictionsFingerprint(path="m.jsonl", sha256="3" * 64, bytes=10),),
        settings=ReceiptSettings(),
        judge=JudgeRecord(enabled=True, model="gpt-4o", base_url="http://h/v1", temperature=0.2,
                          protocol="pixfoundation-judge-v1", prompt_sha256="4" * 64,
                          verdicts={KEY_A: Verdict("Yes", "gpt-4o-x")}),
        report={"protocol": "pixfoundation-v1", "settings": {"select": "given"},
                "results": [{"model": "m", "benchmark": "pixmmvp", "select": "given", "metrics": {"A": 50.0, "M": 1.5},
                             "notes": []}]},
        per_sample_records=16, per_sample_sha256="5" * 64)
    return replace(made, **changes)


def test_seal_covers_what_decides_numbers_not_the_paths() -> None:
    document = receipt().to_json()
    assert document["seal"] == seal(document)
    moved = json.loads(json.dumps(document))
    moved["predictions"][0]["path"], moved["data"]["pixmmvp"]["source"] = "elsewhere/m.jsonl", "elsewhere/PixMMVP"
    moved["judge"]["verdicts"]["data"] = base64.b64encode(zlib.compress(zlib.decompress(
        base64.b64decode(document["judge"]["verdicts"]["data"])), 1)).decode()  # another compression
    assert seal(moved) == document["seal"]
    assert receipt_from_json(moved, "r.json").intact is True
    edited = json.loads(json.dumps(document))
    edited["settings"]["strict"] = True
    read = receipt_from_json(edited, "r.json")
    assert (read.intact, read.settings.strict) == (False, True)


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d.update(format="other"), "r.json: format: expected 'pixbench-receipt', got 'other' (not a pixbench"),
    (lambda d: d.update(format_version=2), "r.json: format_version: expected 1, got 2"),
    (lambda d: d["data"]["pixmmvp"].pop("sha256"), "r.json: data.pixmmvp.sha256: missing"),
    (lambda d: d["predictions"][0].update(bytes="10"), "r.json: predictions[0].bytes: expected int, got str \"10\""),
    (lambda d: d["settings"]["score"].update(include_none=1), "r.json: settings.score.include_none: expected bool, "
                                                              "got int 1"),
    (lambda d: d["settings"]["score"].update(colour="red"), "r.json: settings.score: unknown settings ['colour']"),
    (lambda d: d["judge"].update(temperature=None), "r.json: judge.temperature: expected float or int, got null"),
    (lambda d: d["report"].update(results={}), "r.json: report.results: expected a list, got dict {}"),
])
def test_reading_names_the_field(change: Any, message: str) -> None:
    document = receipt().to_json()
    change(document)
    with pytest.raises(ReceiptError) as caught:
        receipt_from_json(document, "r.json")
    assert str(caught.value).startswith(message)


def test_comparison_names_each_kind() -> None:
    before = receipt_from_json(receipt().to_json(), "r.json")
    after = receipt(
        pixbench_version="0.2.0",
        data={"pixmmvp": DataFingerprint(sha256="6" * 64, source="x",
                                         files={"data/a.parquet": "7" * 64, "data/b.parquet": "8" * 64}),
              "pixcvbench": DataFingerprint(sha256="9" * 64, files={}, source="y")},
        predictions=(PredictionsFingerprint(path="n.jsonl", sha256="3" * 64, bytes=10),
                     PredictionsFingerprint(path="o.jsonl", sha256="a" * 64, bytes=11)),
        judge=replace(before.judge, temperature=0.0, verdicts={KEY_A: Verdict("No", "gpt-4o-x"),
                                                                KEY_B: Verdict("Yes", "gpt-4o-x")}),
        report={**before.report, "results": [{"model": "n", "benchmark": "pixmmvp", "select": "given",
                                              "metrics": {"A": 50.0, "M": 2.25}, "notes": ["a note"]}]})
    assert [str(d) for d in compare_receipts(before, after)] == [
        "version: pixbench: 0.1.0 -> 0.2.0",
        "data: pixcvbench: not scored -> scored",
        f"data: pixmmvp: {'1' * 16} -> {'6' * 16} (changed: data/a.parquet; added: data/b.parquet)",
        "predictions: files: 1 file(s) -> 2 file(s)",
        "judge: temperature: 0.2 -> 0.0",
        "judge: verdicts used: 1 -> 2 (1 differ, 0 of the receipt's not used now)",
        "results: n / pixmmvp (receipt: m / pixmmvp): metrics.M: 1.5 -> 2.25",
        "results: n / pixmmvp (receipt: m / pixmmvp): notes[0]: (absent) -> a note",
    ]
    assert compare_receipts(before, before) == []


def test_recorded_keys_are_the_cache_keys_and_the_replay_answers_them(tmp_path: Path) -> None:
    requests = [accuracy_messages(question="Q?", options_text="(a) x (b) y", answer="(a)", response=r)
                for r in ("x", "y", "x")] + [concept_messages("the dog", "the dog runs")]
    with JudgeCache(tmp_path / "judge.sqlite") as cache:
        judge = FakeJudge(lambda m: "(e)" if "Classify" in m[-1]["content"] else "Yes", model="j", cache=cache)
        recorder = VerdictRecorder(judge)
        results = recorder.ask_many(requests)
        assert len(recorder.verdicts) == 3 == len(cache) and recorder.model == "j"  # the same request once
        for key, verdict in recorder.verdicts.items():
            assert cache.get(key).reply == verdict.reply and verdict.served_model == "j"
    replay = ReceiptJudge(model="j", endpoint="http://h/v1", temperature=judge.temperature, protocol=judge.protocol,
                          verdicts=recorder.verdicts)
    assert [(r.text, r.served_model, r.error) for r in replay.ask_many(requests)] == [
        (r.text, r.served_model, r.error) for r in results]
    other = accuracy_messages(question="Q?", options_text="(a) x (b) y", answer="(a)", response="z")
    [missing] = replay.ask_many([other])
    assert missing.error is not None and missing.error.startswith("no verdict in the receipt for this request (key ")
    assert list(replay.missing.values()) == [other]
