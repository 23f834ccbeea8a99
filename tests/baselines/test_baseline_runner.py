"""`pixbench baseline attend-segment` end to end on tiny models: valid output, resume, determinism, judge."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from baseline_helpers import base_args, index_of, run_cli

from pixbench.predictions import read_predictions


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="module")
def full_run(tiny_models_dir, tiny_built, tmp_path_factory):
    """One full run of three probes on the tiny PixMMVP (8 rows)."""
    out = tmp_path_factory.mktemp("runner") / "tiny-llava.jsonl"
    code = run_cli(base_args(tiny_models_dir, tiny_built["pixmmvp"], out, "--probe", "segment", "vqa", "letter"))
    assert code == 0
    return out


def test_output_reads_back_cleanly(full_run, tiny_built):
    checked = read_predictions(full_run, index=index_of(tiny_built["pixmmvp"], "pixmmvp"))
    assert checked.problems == []
    predictions = checked.predictions
    assert len(predictions) == 24
    assert [(p.id, p.probe) for p in predictions[:3]] == [(1, "vqa"), (1, "segment"), (1, "letter")]
    assert {p.model for p in predictions} == {"llava"}
    for p in predictions:
        assert p.response is not None or (p.probe == "segment" and p.id in (7, 8))
        if p.probe == "letter":
            assert p.candidates is None and p.prompt.endswith("from the given choices directly.")
        elif p.probe == "segment" and p.id in (7, 8):  # no expression: nothing to ground
            assert p.candidates == () and p.selected == "none" and p.prompt is None
        else:
            assert p.candidates is not None and len(p.candidates) % 3 == 0
            for c in p.candidates:
                assert p.response[c.char_start:c.char_end] == c.phrase
                assert c.score is not None and 0.0 <= c.score <= 1.0
                assert c.point is not None and 0 <= c.point[0] < 128 and 0 <= c.point[1] < 96
    assert any(p.candidates for p in predictions), "the tiny model should produce some noun phrases"
    segment_1 = next(p for p in predictions if (p.id, p.probe) == (1, "segment"))
    assert segment_1.prompt == "Identify the square in the scene."
    assert not list(full_run.parent.glob("*.shard-*"))
    settings = json.loads(full_run.with_name(full_run.name + ".run.json").read_text())["settings"]
    assert settings["phrases"] == "rules:char-trigram" and settings["model"] == "llava"


def test_output_scores(full_run, tiny_built, capsys):
    from pixbench import cli

    parser = cli.build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    if "score" not in commands.choices:
        pytest.skip("pixbench score is not in pixbench/cli.py yet")
    capsys.readouterr()
    code = cli.main(["score", str(full_run), "--data", f"pixmmvp={tiny_built['pixmmvp']}", "--select", "oracle",
                     "--no-judge", "--format", "json"])
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    result = report["results"][0]
    assert result["model"] == "llava" and result["select"] == "oracle"
    assert result["counts"]["missing"] == {"vqa": 0, "segment": 0, "letter": 0}
    assert result["metrics"]["M"] is not None and result["metrics"]["M_dagger"] is not None


def test_resume_and_determinism(full_run, tiny_models_dir, tiny_built, tmp_path, capsys):
    out = tmp_path / "tiny-llava.jsonl"
    args = base_args(tiny_models_dir, tiny_built["pixmmvp"], out, "--probe", "segment", "vqa", "letter")
    assert run_cli([*args, "--limit", "3"]) == 0
    assert len(lines(out)) == 9
    capsys.readouterr()
    assert run_cli(args) == 0
    assert "15 written now by this process, 9 already there" in capsys.readouterr().err
    # Same seed, rows run in another order and in two sittings: the same bytes as the full run.
    assert out.read_bytes() == full_run.read_bytes()
    # An interrupted run leaves a shard with a partial last line: it is ignored and the row redone.
    rows = lines(out)
    out.write_text("".join(json.dumps(r) + "\n" for r in rows[:-2]), encoding="utf-8")
    shard = out.with_name(out.name + ".shard-0-of-1.jsonl")
    shard.write_text(json.dumps(rows[-2]) + "\n" + json.dumps(rows[-1])[:50], encoding="utf-8")
    assert run_cli(args) == 0
    assert out.read_bytes() == full_run.read_bytes() and not shard.exists()


def test_resume_with_other_settings_is_refused(full_run, tiny_models_dir, tiny_built, tmp_path, capsys):
    out = tmp_path / "preds.jsonl"
    args = base_args(tiny_models_dir, tiny_built["pixmmvp"], out, "--ids", "1-2")
    assert run_cli(args) == 0
    capsys.readouterr()
    assert run_cli([*args, "--seed", "5"]) == 1
    assert "other settings (seed: 0 != 5)" in capsys.readouterr().err
    assert run_cli([*args, "--seed", "5", "--overwrite"]) == 0
    assert [r["id"] for r in lines(out)] == [1, 2]


def test_auto_select_with_a_local_judge(tiny_models_dir, tiny_built, tmp_path, capsys):
    pytest.importorskip("openai")
    from judge_server import running_server

    def reply(body):
        text = body["messages"][0]["content"][0]["text"]
        if text.startswith("Does this image have the triangle"):
            return "No"
        return "Yes" if text.startswith("Does") else "1"

    out = tmp_path / "auto.jsonl"
    with running_server(reply) as server:
        args = [*base_args(tiny_models_dir, tiny_built["pixmmvp"], out, "--probe", "segment", "vqa"),
                "--auto-select", "--judge-base-url", server.base_url, "--judge-model", "judge-test",
                "--judge-cache", str(tmp_path / "judge.sqlite")]
        assert run_cli(args) == 0
        asked = server.request_count
        assert asked > 0
        err = capsys.readouterr().err
        assert "automatic selection:" in err
        assert run_cli(args) == 0  # nothing left to do or to ask
        assert server.request_count == asked
    checked = read_predictions(out, index=index_of(tiny_built["pixmmvp"], "pixmmvp"))
    assert checked.problems == []
    for p in checked.predictions:
        expected_none = p.id in (5, 6) or not p.candidates or p.id in (7, 8)
        assert p.selected == "none" if expected_none else p.selected == 0, (p.id, p.probe, p.selected)


def test_qwen_on_pixcvbench_and_letter_only(tiny_models_dir, tiny_built, tmp_path):
    out = tmp_path / "qwen.jsonl"
    assert run_cli(base_args(tiny_models_dir, tiny_built["pixcvbench"], out, "--probe", "vqa", model="qwen2-vl",
                             benchmark="pixcvbench")) == 0
    checked = read_predictions(out, index=index_of(tiny_built["pixcvbench"], "pixcvbench"))
    assert checked.problems == [] and len(checked.predictions) == 6
    assert checked.predictions[0].prompt.startswith("How many") and "(A) 0 (B) 1" in checked.predictions[0].prompt
    letters = tmp_path / "letters.jsonl"
    args = ["attend-segment", "--model", str(tiny_models_dir["llava"]), "--benchmark", "pixmmvp", "--data",
            str(tiny_built["pixmmvp"]), "--probe", "letter", "--out", str(letters), "--max-new-tokens", "4",
            "--no-progress", "--phrases", "rules"]
    assert run_cli(args) == 0  # no SAM needed for text-only probes
    assert all("candidates" not in r for r in lines(letters))
    templated = tmp_path / "templated.jsonl"
    assert run_cli([*args[:-6], str(templated), "--max-new-tokens", "4", "--no-progress", "--phrases", "rules",
                    "--template", "qa-3"]) == 0
    records = lines(templated)
    assert {r["variant"] for r in records} == {"qa-3"}  # recorded for `pixbench score`'s sensitivity table
    assert records[0]["prompt"] == ("Is the square red or blue? (a) Red (b) Blue "
                                    "Answer with the option's letter from the given choices directly.")


@pytest.mark.parametrize("extra,message", [
    (["--probe", "segment"], "SAM is needed"),
    (["--probe", "letter", "--auto-select"], "--auto-select needs a probe with masks"),
    (["--probe", "letter", "--ids", "1-x"], "--ids expects"),
    (["--probe", "letter", "--temperature", "-1"], "temperature"),
    (["--probe", "letter", "--template", "qa-99"], "unknown prompt template 'qa-99'; valid ids: qa-1"),
    (["--probe", "letter", "--family", "gpt"], "unknown model family 'gpt'"),
])
def test_usage_errors(tiny_built, tmp_path, capsys, extra, message):
    args = ["attend-segment", "--model", "unused", "--benchmark", "pixmmvp", "--data", str(tiny_built["pixmmvp"]),
            "--out", str(tmp_path / "x.jsonl"), *extra]
    assert run_cli(args) == 2
    assert message in capsys.readouterr().err


def test_unknown_ids_fail_with_a_message(tiny_models_dir, tiny_built, tmp_path, capsys):
    args = [*base_args(tiny_models_dir, tiny_built["pixmmvp"], tmp_path / "x.jsonl"), "--ids", "99"]
    assert run_cli(args) == 1
    assert "[99] which it does not have" in capsys.readouterr().err


def test_help_reads_like_a_manual(capsys):
    for command in ("attend-segment", "explain", "make-tiny"):
        with pytest.raises(SystemExit):
            run_cli([command, "--help"])
        text = capsys.readouterr().out
        assert "example" in text
    with pytest.raises(SystemExit):
        run_cli(["attend-segment", "--help"])
    text = capsys.readouterr().out
    for needle in ("--sam-checkpoint", "--sam-model", "--auto-select", "accelerate launch", "resumes",
                   "Exit status"):
        assert needle in text


def test_default_spacy_parser_says_how_to_install_its_model(tiny_models_dir, tiny_built, tmp_path, capsys):
    try:
        import spacy
    except ImportError:
        spacy = None
    if spacy is not None and spacy.util.is_package("en_core_web_lg"):
        pytest.skip("en_core_web_lg is installed here")
    args = base_args(tiny_models_dir, tiny_built["pixmmvp"], tmp_path / "x.jsonl")
    at = args.index("--phrases")
    assert run_cli(args[:at] + args[at + 2:]) == 1
    err = capsys.readouterr().err
    assert "python -m spacy download en_core_web_lg" in err and "--phrases rules" in err


def test_wired_into_pixbench_cli(tiny_models_dir, tiny_built, tmp_path):
    from pixbench import cli

    commands = next(a for a in cli.build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    if "baseline" not in commands.choices:
        pytest.skip("`pixbench baseline` is not registered in pixbench/cli.py yet")
    out = tmp_path / "wired.jsonl"
    assert cli.main(["baseline", *base_args(tiny_models_dir, tiny_built["pixmmvp"], out, "--ids", "1")]) == 0
    assert [r["id"] for r in lines(out)] == [1]


def test_an_out_of_other_lines_is_refused_before_any_model_loads(tiny_models_dir, tiny_built, tmp_path, capsys):
    import time

    out = tmp_path / "preds.jsonl"
    other = '{"benchmark": "pixmmvp", "id": 1, "probe": "letter", "model": "someone-else", "response": "A"}\n'
    out.write_text(other)
    started = time.monotonic()
    assert run_cli(base_args(tiny_models_dir, tiny_built["pixmmvp"], out, "--probe", "letter")) == 1
    err = capsys.readouterr().err
    assert "preds.jsonl:1: a line of model 'someone-else'" in err and "--overwrite" in err
    assert time.monotonic() - started < 30 and out.read_text() == other  # untouched, nothing loaded or appended
    # this model's lines without their run file: settings unknown, refused too
    mine = other.replace("someone-else", "llava")
    out.write_text(mine)
    assert run_cli(base_args(tiny_models_dir, tiny_built["pixmmvp"], out, "--probe", "letter")) == 1
    assert "no preds.jsonl.run.json" in capsys.readouterr().err and out.read_text() == mine


def test_ctrl_c_says_where_the_partial_work_is(tiny_models_dir, tiny_built, tmp_path, capsys, monkeypatch):
    import pixbench.baselines.runner as runner

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(runner, "run_attend_segment", interrupted)
    out = tmp_path / "preds.jsonl"
    assert run_cli(base_args(tiny_models_dir, tiny_built["pixmmvp"], out, "--probe", "letter")) == 130
    err = capsys.readouterr().err
    assert "preds.jsonl.shard-*-of-*.jsonl" in err and str(out) in err and "run the same command again" in err
    assert "judge" not in err
