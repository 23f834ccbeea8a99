"""A receipt of a full-size PixMMVP run (300 questions built from the real annotations, stand-in images) with 300
judged verdicts is small, and verifies."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from judge_server import running_server
from receipt_inputs import write_lines

from pixbench.benchmarks.pixmmvp import build as pixmmvp
from pixbench.benchmarks.pixmmvp.synthetic import write_mmvp_release
from pixbench.cli import main
from pixbench.receipts import unpack_verdicts
from pixbench.references import load_reference

pytestmark = pytest.mark.integration


def test_300_verdicts_make_a_receipt_of_about_20_kb(shared_data: Path, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    mmvp = write_mmvp_release(shared_data / "pixmmvp", Path("MMVP"))
    pixmmvp.build(annotations_dir=shared_data / "pixmmvp", mmvp_dir=mmvp, out_dir=Path("PixMMVP"))
    reference = load_reference("pixmmvp", "PixMMVP")
    lines = []
    for i, row in reference.rows.items():
        lines += [{"benchmark": "pixmmvp", "id": i, "probe": "letter", "response": "(a)" if i % 2 else "(b)"},
                  {"benchmark": "pixmmvp", "id": i, "probe": "vqa",
                   "response": f"I believe it is option {'a' if i % 3 else 'b'} for question {i}"},
                  {"benchmark": "pixmmvp", "id": i, "probe": "segment", "mask": row.mask if i % 4 else None}]
    write_lines(Path("model.jsonl"), lines)
    with running_server(lambda body: "Yes" if "option a" in body["messages"][-1]["content"] else "No",
                        model="gpt-4o-2024-08-06") as server:
        assert main(["score", "model.jsonl", "--data", "pixmmvp=PixMMVP", "--judge-base-url", server.base_url,
                     "--judge-cache", "judge.sqlite", "--receipt", "r.json"]) == 0
        assert server.request_count == 300
    capsys.readouterr()
    size = Path("r.json").stat().st_size
    receipt = json.loads(Path("r.json").read_text())
    verdicts = unpack_verdicts(receipt["judge"]["verdicts"])
    assert len(verdicts) == 300 and sum(v.reply == "Yes" for v in verdicts.values()) == 200  # i % 3 != 0
    assert receipt["per_sample"]["records"] == 900
    assert 15_000 < size < 24_000, size  # 20,352 bytes when written: 15.9 kB of them the packed verdicts
    assert main(["verify", "r.json"]) == 0
    assert capsys.readouterr().out == "identical\n"
