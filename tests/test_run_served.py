"""`pixbench run` / :func:`pixbench.served.run_served` against a real local OpenAI-compatible server."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from judge_server import garbage, running_server

from pixbench.annotation import rle
from pixbench.baselines.boxes import without_leading_article
from pixbench.cli import main

BOX_WORD = "bbox coordinates"


def _boxes(path: Path) -> dict[str, tuple[int, int, int, int]]:
    """expression -> the ground-truth mask's box (x1, y1, x2, y2) in pixels, for the tiny built benchmark."""
    from pixbench.loaders.hub import decode_masks, load

    out = {}
    for row in load(str(path)):
        if not row.get("expression"):
            continue
        mask = decode_masks(row)["mask"]
        if not mask.any():
            continue
        ys, xs = np.nonzero(mask)
        out[str(row["expression"])] = (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)
    return out


def _text(body: dict[str, Any]) -> str:
    return next(part["text"] for part in body["messages"][-1]["content"] if part["type"] == "text")


def make_reply(boxes: dict[str, tuple[int, int, int, int]], *, no_box: bool = False):
    def reply(body: dict[str, Any]) -> str:
        text = _text(body)
        assert body["messages"][-1]["content"][0]["image_url"]["url"].startswith("data:image/jpeg;base64,")
        if BOX_WORD in text:
            if no_box:
                return "I cannot see it."
            expression = text.removeprefix("Locate the ").split(", output its bbox")[0]
            # the prompt drops the expression's leading article ("Locate the square", not "the the square")
            box = next((b for e, b in boxes.items() if without_leading_article(e) == expression), None)
            if box is None:
                return "[]"
            return "```json\n" + json.dumps([{"bbox_2d": list(box), "label": expression}]) + "\n```"
        if "letter" in text:
            return "A"
        return "The answer is the first option."
    return reply


class BoxFill:
    """A stub SAM: the box itself, filled."""

    name = "box-fill"

    def set_image(self, image: np.ndarray) -> None:
        self.shape = image.shape[:2]

    def predict_box(self, box: np.ndarray) -> np.ndarray:
        mask = np.zeros(self.shape, dtype=bool)
        x1, y1, x2, y2 = (int(np.rint(v)) for v in box)
        mask[y1:y2, x1:x2] = True
        return mask


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _run(server: Any, data: Path, out: Path, *extra: str, **kwargs: Any):
    from pixbench.chat import ChatClient, ReplyCache
    from pixbench.served import ServedConfig, run_served

    client = ChatClient(model="served-vlm", base_url=server.base_url, temperature=0.0, max_tokens=64, seed=0,
                        concurrency=kwargs.pop("concurrency", 4), max_retries=0,
                        cache=ReplyCache(out.with_name(out.name + ".cache.sqlite")), role="served model")
    config = ServedConfig(benchmark=kwargs.pop("benchmark", "pixmmvp"), data=str(data), out=out, model="served-vlm",
                          box_format="frame-pixels", endpoint=client.endpoint, concurrency=client.concurrency,
                          **kwargs)
    try:
        return run_served(config, client=client, load_segmenter=BoxFill)
    finally:
        client.close()


def test_run_served_lines_masks_rerun_and_resume(tiny_built: dict[str, Path], tmp_path: Path) -> None:
    data = tiny_built["pixmmvp"]
    boxes = _boxes(data)
    out = tmp_path / "preds.jsonl"
    with running_server(make_reply(boxes), delay=0.05) as server:
        summary = _run(server, data, out, template="qa-2")
        first = server.request_count
        assert summary.failed == 0 and first > 0
        assert server.max_in_flight >= 2  # concurrent
        lines = _lines(out)
        assert {line["probe"] for line in lines} == {"letter", "vqa", "segment"}
        assert all(line["variant"] == "qa-2" for line in lines)
        assert all(line["response"] == "A" for line in lines if line["probe"] == "letter")
        from pixbench.loaders.hub import load

        rows = {int(r["id"]): r for r in load(str(data))}
        inside = 0
        for line in lines:
            if line["probe"] != "segment":
                continue
            mask = rle.decode(line["mask"])
            expression = rows[line["id"]].get("expression")
            if expression in boxes:
                x1, y1, x2, y2 = boxes[expression]
                assert mask.any() and not mask[:y1].any() and not mask[y2:].any()
                assert not mask[:, :x1].any() and not mask[:, x2:].any()
                inside += 1
        assert inside > 0
        run = json.loads(out.with_name(out.name + ".run.json").read_text())["settings"]
        assert run["temperature"] == 0.0 and run["max_tokens"] == 1024 and run["seed"] == 0
        # a rerun makes no request
        server.reset()
        again = _run(server, data, out, template="qa-2")
        assert server.request_count == 0 and again.written == 0 and again.skipped == len(lines)
        # an interrupted run resumes: drop the last lines and half of one line
        text = out.read_text().splitlines(keepends=True)
        out.write_text("".join(text[:-3]) + text[-3][:10])
        resumed = _run(server, data, out, template="qa-2")
        assert server.request_count == 0 and resumed.written == 3 and resumed.asked == 0 and resumed.cached >= 1
        assert len(_lines(out)) == len(lines)
        # other settings on the same output are refused
        from pixbench.served import ServedError

        with pytest.raises(ServedError, match="other settings"):
            _run(server, data, out, template="qa-3")


def test_question_prompts_are_each_benchmarks_published_ones(tiny_built: dict[str, Path], tmp_path: Path) -> None:
    """The letter and vqa prompts sent (and stored in the lines) are the benchmark's own format."""
    letter = "Answer with the option's letter from the given choices directly."
    relation = ("Considering the relative positions of the table and the lamp in the image provided, where is the "
                "table located with respect to the lamp?")
    expected = {
        "pixmmvp": (1, f"Is the square red or blue? Options:\nA. Red\nB. Blue\n{letter}",
                    "Is the square red or blue? (a) Red (b) Blue"),
        # The dataset's own CV-Bench prompt (the tiny build writes its options on one line), verbatim.
        "pixcvbench": (2, f"{relation} Select from the following choices.\n(A) above (B) below\n{letter}",
                       f"{relation} Select from the following choices.\n(A) above (B) below"),
    }
    for benchmark, (row_id, letter_prompt, vqa_prompt) in expected.items():
        out = tmp_path / f"{benchmark}.jsonl"
        with running_server(make_reply({})) as server:
            summary = _run(server, tiny_built[benchmark], out, benchmark=benchmark, probes=("letter", "vqa"))
        assert summary.failed == 0
        prompts = {(line["id"], line["probe"]): line["prompt"] for line in _lines(out)}
        assert prompts[row_id, "letter"] == letter_prompt
        assert prompts[row_id, "vqa"] == vqa_prompt


def test_box_less_and_garbage_replies_are_empty_masks(tiny_built: dict[str, Path], tmp_path: Path) -> None:
    data = tiny_built["pixmmvp"]
    out = tmp_path / "preds.jsonl"
    with running_server(make_reply({}, no_box=True), always=None) as server:
        summary = _run(server, data, out, probes=("segment",))
    lines = _lines(out)
    assert lines and summary.failed == 0
    assert all(not rle.decode(line["mask"]).any() for line in lines)
    assert summary.without_box == sum(1 for line in lines if "response" in line)
    # an HTTP-200 body that is not a completion: no line, counted as failed, asked again next time
    out2 = tmp_path / "garbage.jsonl"
    with running_server(make_reply({}), always=garbage()) as server:
        failed = _run(server, data, out2, probes=("letter",), concurrency=1)
    assert failed.failed > 0 and failed.written == 0


def test_cli_run_with_tiny_sam_and_score(tiny_built: dict[str, Path], tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("torch", reason="the tiny SAM needs torch (pip install \"pixbench[baselines]\")")
    pytest.importorskip("segment_anything", reason="the tiny SAM checkpoint needs segment-anything")
    from pixbench.baselines.tiny import write_tiny_sam_checkpoint

    data = tiny_built["pixmmvp"]
    checkpoint = write_tiny_sam_checkpoint(tmp_path / "tiny_sam.pth")
    out = tmp_path / "preds.jsonl"
    with running_server(make_reply(_boxes(data)), delay=0.2) as server:
        code = main(["run", "--base-url", server.base_url, "--model", "served-vlm", "--benchmark", "pixmmvp",
                     "--data", str(data), "--probe", "letter", "vqa", "segment", "--out", str(out),
                     "--box-format", "frame-pixels", "--sam-checkpoint", str(checkpoint), "--sam-type", "tiny",
                     "--concurrency", "3", "--score", "--no-judge"])
        assert server.max_in_flight == 3
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "served-vlm" in captured.out and "A" in captured.out and "M" in captured.out
    sizes = {line["id"]: rle.decode(line["mask"]).shape for line in _lines(out) if line["probe"] == "segment"}
    assert sizes


def test_cli_segment_without_sam_says_how_to_install(tiny_built: dict[str, Path], tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["run", "--base-url", "http://127.0.0.1:9/v1", "--model", "m", "--benchmark", "pixmmvp",
                 "--data", str(tiny_built["pixmmvp"]), "--out", str(tmp_path / "p.jsonl")])
    assert code == 1
    assert 'pip install "pixbench[baselines]"' in capsys.readouterr().err


def test_dead_endpoint_fails_fast(tiny_built: dict[str, Path], tmp_path: Path,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    done = threading.Event()
    code = main(["run", "--base-url", f"http://127.0.0.1:{port}/v1", "--model", "m", "--benchmark", "pixmmvp",
                 "--data", str(tiny_built["pixmmvp"]), "--probe", "letter", "--out", str(tmp_path / "p.jsonl"),
                 "--retries", "1"])
    done.set()
    assert code == 1
    assert "unreachable" in capsys.readouterr().err


def test_run_score_prints_what_score_prints(tiny_built: dict[str, Path], tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    """`run --score` scores through the library, with `pixbench score`'s report, messages and exit status."""
    import socket

    data = tiny_built["pixmmvp"]
    served_reply = make_reply({})

    def reply(body: dict[str, Any]) -> str:
        last = body["messages"][-1]["content"]
        if isinstance(last, str):  # the A-dagger judge: yes for some answers, no for others
            return "Yes" if sum(map(ord, last)) % 2 else "No"
        return served_reply(body)

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}/v1"
    with running_server(reply) as server:
        for name, judge_url, status in (("alive", server.base_url, 0), ("dead", dead, 3)):
            out = tmp_path / f"{name}.jsonl"
            judge = ["--judge-base-url", judge_url, "--judge-model", "local-judge", "--judge-retries", "0",
                     "--judge-cache", str(tmp_path / f"{name}-judge.sqlite")]
            code = main(["run", "--base-url", server.base_url, "--model", "served-vlm", "--benchmark", "pixmmvp",
                         "--data", str(data), "--probe", "letter", "vqa", "--limit", "3", "--out", str(out),
                         "--score", *judge])
            run = capsys.readouterr()
            scored = main(["score", str(out), "--data", f"pixmmvp={data}", *judge])
            score = capsys.readouterr()
            assert (code, scored) == (status, status), run.err
            assert run.out == score.out
            assert run.err.endswith(score.err)  # after the run's own lines
            assert "missing predictions" in score.err
            if status == 0:
                assert "served-vlm" in score.out and "A\u2020" in score.out and "local-judge" in score.out
            else:
                assert score.err.splitlines()[-1].startswith(f"error: the judge could not be reached (judge at {dead}")


def test_run_cache_errors_name_runs_option(tiny_built: dict[str, Path], tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "replies"
    folder.mkdir()
    code = main(["run", "--base-url", "http://127.0.0.1:9/v1", "--model", "m", "--benchmark", "pixmmvp",
                 "--data", str(tiny_built["pixmmvp"]), "--probe", "letter", "--out", str(tmp_path / "p.jsonl"),
                 "--cache", str(folder)])
    assert code == 1
    assert capsys.readouterr().err == (f"error: {folder}: is a folder, not a reply cache file; give --cache a file "
                                       f"path such as replies.sqlite (e.g. {folder / 'replies.sqlite'})\n")


def test_run_served_takes_the_client_and_the_judge_keyword_is_deprecated(tmp_path: Path) -> None:
    from pixbench.chat import FakeChatClient
    from pixbench.served import ServedConfig, run_served

    class Rows(list):
        def __getitem__(self, key: Any) -> Any:
            return [int(k) for k in range(len(self))] if key == "id" else list.__getitem__(self, key)

    rows = Rows({"id": i, "question": f"Is it {i}?", "options": ["yes", "no"]} for i in range(3))
    client = FakeChatClient(lambda messages: "(a)", model="served-vlm", role="served model")

    def config(name: str) -> ServedConfig:
        return ServedConfig(benchmark="pixmmvp", data="unused", out=tmp_path / name, model="served-vlm",
                            probes=("letter",))

    image = {"image_of": lambda row: np.zeros((8, 8, 3), dtype=np.uint8), "dataset": rows}
    assert run_served(config("client.jsonl"), client=client, **image).written == 3
    with pytest.warns(DeprecationWarning, match=r"run_served\(judge=\.\.\.\) is deprecated"):
        assert run_served(config("judge.jsonl"), judge=client, **image).written == 3
    assert _lines(tmp_path / "judge.jsonl") == _lines(tmp_path / "client.jsonl")
    assert client.calls == 6  # both runs asked it (no cache)
    with pytest.raises(TypeError, match="give `client` only"):
        run_served(config("both.jsonl"), client=client, judge=client, **image)
    with pytest.raises(TypeError, match="needs `client`"):
        run_served(config("none.jsonl"), **image)
