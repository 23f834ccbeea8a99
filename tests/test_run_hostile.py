"""`pixbench run` on outputs it must not damage or misread: other people's lines, unterminated files, two
processes on one OUT, another spelling of the endpoint, and replies too long for a line."""

from __future__ import annotations

import json
import multiprocessing
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from judge_server import running_server
from test_run_served import BoxFill, _lines, make_reply

from pixbench.cli import main
from pixbench.runs import RUN_FORMAT, OutputLocked, exclusive_output, lock_path
from pixbench.served import MAX_STORED_RESPONSE, ServedConfig, ServedError, run_served


def _run(base_url: str, data: Path, out: Path, *, model: str = "served-vlm", **kwargs: Any):
    from pixbench.chat import ChatClient, ReplyCache

    client = ChatClient(model=model, base_url=base_url, temperature=0.0, max_tokens=64, seed=0, concurrency=2,
                        max_retries=0, cache=ReplyCache(out.with_name(out.name + ".cache.sqlite")))
    config = ServedConfig(benchmark="pixmmvp", data=str(data), out=out, model=model, box_format="frame-pixels",
                          endpoint=base_url, concurrency=2, **kwargs)
    try:
        return run_served(config, client=client, load_segmenter=BoxFill)
    finally:
        client.close()


def _cli(base_url: str, data: Path, out: Path, *extra: str) -> list[str]:
    return ["run", "--base-url", base_url, "--model", "served-vlm", "--benchmark", "pixmmvp", "--data", str(data),
            "--probe", "letter", "--out", str(out), "--retries", "0", *extra]


# ------------------------------------------------------------------------------- lines that are not this run's


@pytest.mark.parametrize("content", [b"a\nb", b'{"x": 1}\n{"benchmark": "pixmmvp", "id": 1, "pro'])
def test_an_unterminated_user_file_is_refused_untouched(tiny_built: dict[str, Path], tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str], content: bytes) -> None:
    out = tmp_path / "o.jsonl"
    out.write_bytes(content)
    with running_server(make_reply({})) as server:
        code = main(_cli(server.base_url, tiny_built["pixmmvp"], out))
        assert server.request_count == 0
    err = capsys.readouterr().err
    assert code == 1 and str(out) in err and "another --out" in err
    assert out.read_bytes() == content  # not a byte cut or added
    assert not out.with_name("o.jsonl.run.json").exists()


def test_a_partial_line_is_cut_only_when_this_run_wrote_it(tiny_built: dict[str, Path], tmp_path: Path) -> None:
    data = tiny_built["pixmmvp"]
    out = tmp_path / "preds.jsonl"
    with running_server(make_reply({})) as server:
        first = _run(server.base_url, data, out, probes=("letter",), limit=4)
        assert first.written == 4
        full = out.read_bytes()
        lines = full.splitlines(keepends=True)
        # killed while writing the last line: its first bytes are there, no newline
        out.write_bytes(b"".join(lines[:-1]) + lines[-1][:25])
        resumed = _run(server.base_url, data, out, probes=("letter",), limit=4)
        assert resumed.written == 1 and out.read_bytes() == full
        # a complete line of this run whose newline was lost gets it back; nothing asked
        out.write_bytes(full[:-1])
        again = _run(server.base_url, data, out, probes=("letter",), limit=4)
        assert again.written == 0 and out.read_bytes() == full
        # the same partial bytes without the run file are not known to be this run's
        out.write_bytes(b"".join(lines[:-1]) + lines[-1][:25])
        out.with_name(out.name + ".run.json").unlink()
        before = out.read_bytes()
        with pytest.raises(ServedError, match=r"preds.jsonl:4: the last line has no newline"):
            _run(server.base_url, data, out, probes=("letter",), limit=4)
        assert out.read_bytes() == before


def test_another_models_lines_are_not_counted_as_done(tiny_built: dict[str, Path], tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    data = tiny_built["pixmmvp"]
    out = tmp_path / "preds.jsonl"
    with running_server(make_reply({})) as server:
        _run(server.base_url, data, out, model="model-a", probes=("letter",), limit=3)
        before = out.read_bytes()
        server.reset()
        with pytest.raises(ServedError, match=r"preds.jsonl:1: a line of model 'model-a'.*writes model 'model-b'"):
            _run(server.base_url, data, out, model="model-b", probes=("letter",), limit=3)
        assert server.request_count == 0 and out.read_bytes() == before
        # lines without a run file (e.g. from `pixbench convert`) are not this run's either
        out.with_name(out.name + ".run.json").unlink()
        with pytest.raises(ServedError, match=r"no preds\.jsonl\.run\.json"):
            _run(server.base_url, data, out, model="model-a", probes=("letter",), limit=3)
        assert server.request_count == 0 and out.read_bytes() == before


def test_a_broken_out_is_named(tiny_built: dict[str, Path], tmp_path: Path,
                               capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "a-folder.jsonl"
    folder.mkdir()
    binary = tmp_path / "mask.jsonl"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\n")
    with running_server(make_reply({})) as server:
        for out, why in ((folder, "folder"), (binary, "mask.jsonl:1")):
            assert main(_cli(server.base_url, tiny_built["pixmmvp"], out)) == 1
            err = capsys.readouterr().err
            assert str(out.name) in err and why in err, err
        assert server.request_count == 0


# ------------------------------------------------------------------------------- the run's identity


def test_the_endpoint_is_one_server_however_spelt(tiny_built: dict[str, Path], tmp_path: Path) -> None:
    data = tiny_built["pixmmvp"]
    out = tmp_path / "preds.jsonl"
    with running_server(make_reply({})) as server:
        first = _run(server.base_url, data, out, probes=("letter",), limit=2)
        other_spelling = server.base_url.replace("127.0.0.1", "localhost") + "/"
        server.reset()
        again = _run(other_spelling, data, out, probes=("letter",), limit=2)
        base_url = server.base_url
    assert first.written == 2 and again.written == 0 and again.skipped == 2 and server.request_count == 0
    record = json.loads(out.with_name(out.name + ".run.json").read_text())
    assert record["run_format"] == RUN_FORMAT and record["producer"] == "pixbench run"
    assert record["settings"]["endpoint"] == base_url


def test_a_key_in_the_endpoint_never_reaches_the_run_file(tiny_built: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "preds.jsonl"
    with running_server(make_reply({})) as server:
        keyed = server.base_url.replace("http://", "http://user:sk-topsecret99@") + "?api_key=sk-othersecret77"
        _run(keyed, tiny_built["pixmmvp"], out, probes=("letter",), limit=1)
    written = out.with_name(out.name + ".run.json").read_text() + out.read_text()
    assert "sk-topsecret99" not in written and "sk-othersecret77" not in written and "***" in written


# ------------------------------------------------------------------------------- one writer per OUT


def _hold_lock(out: str, ready: Any, release: Any) -> None:
    with exclusive_output(Path(out), command="pixbench run (the first)"):
        ready.set()
        release.wait(30)


def test_a_second_process_on_the_same_out_exits_at_once(tiny_built: dict[str, Path], tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "preds.jsonl"
    context = multiprocessing.get_context("spawn")
    ready, release = context.Event(), context.Event()
    holder = context.Process(target=_hold_lock, args=(str(out), ready, release))
    holder.start()
    try:
        assert ready.wait(60)
        with running_server(make_reply({})) as server:
            started = time.monotonic()
            code = main(_cli(server.base_url, tiny_built["pixmmvp"], out))
            assert time.monotonic() - started < 30 and server.request_count == 0
        err = capsys.readouterr().err
        assert code == 1 and f"pid {holder.pid}" in err and "pixbench run (the first)" in err
        assert not out.exists()
    finally:
        release.set()
        holder.join(30)
    # the holder is gone (its lock file with it): the output is free again
    assert not lock_path(out).exists()
    with running_server(make_reply({})) as server:
        assert main(_cli(server.base_url, tiny_built["pixmmvp"], out, "--limit", "2")) == 0


def test_a_lock_left_by_a_killed_process_blocks_nobody(tmp_path: Path) -> None:
    out = tmp_path / "preds.jsonl"
    lock_path(out).write_text(json.dumps({"pid": 999999, "command": "killed", "started": 0}))  # no flock held
    with exclusive_output(out):
        record = json.loads(lock_path(out).read_text())
        assert record["pid"] == os.getpid()
        with pytest.raises(OutputLocked, match=f"pid {os.getpid()}"), exclusive_output(out):  # even in-process
            pass
    assert not lock_path(out).exists()


# ------------------------------------------------------------------------------- replies


def test_a_huge_reply_is_stored_cut_and_cached_whole(tiny_built: dict[str, Path], tmp_path: Path) -> None:
    huge = "A" + "x" * (2 * MAX_STORED_RESPONSE)
    out = tmp_path / "preds.jsonl"
    with running_server(lambda body: huge) as server:
        summary = _run(server.base_url, tiny_built["pixmmvp"], out, probes=("letter",), limit=2)
    assert summary.truncated == 2
    assert all(len(line["response"]) == MAX_STORED_RESPONSE for line in _lines(out))
    from pixbench.cli import main as cli_main

    assert cli_main(["score", str(out), "--data", f"pixmmvp={tiny_built['pixmmvp']}", "--no-judge"]) == 0


# ------------------------------------------------------------------------------- flow


def test_requests_stay_in_flight_across_what_used_to_be_chunks(tiny_built: dict[str, Path], tmp_path: Path) -> None:
    """Two slow replies, the 32nd and the 33rd request: with `concurrency` requests in flight at all times
    the 33rd is asked while the 32nd is still being answered (asking in chunks of 32 waited for it)."""
    import threading

    from pixbench.loaders.hub import load

    rows = load(str(tiny_built["pixmmvp"]))
    dataset = [{**rows[k % len(rows)], "id": k} for k in range(64)]  # 64 rows: 64 different letter requests
    lock, arrivals = threading.Lock(), []

    def reply(body: dict[str, Any]) -> str:
        with lock:
            number = len(arrivals)
            arrivals.append(time.monotonic())
        if number in (31, 32):
            time.sleep(1.5)
        return "A"

    class Rows(list):
        def __getitem__(self, key: Any) -> Any:
            return [int(k) for k in range(len(self))] if key == "id" else list.__getitem__(self, key)

    from pixbench.chat import ChatClient

    out = tmp_path / "flow.jsonl"
    with running_server(reply) as server:
        client = ChatClient(model="served-vlm", base_url=server.base_url, concurrency=4, max_retries=0,
                            temperature=0.0, seed=0)
        config = ServedConfig(benchmark="pixmmvp", data="unused", out=out, model="served-vlm", probes=("letter",),
                              endpoint=server.base_url, concurrency=4)
        try:
            summary = run_served(config, client=client, dataset=Rows(dataset),
                                 image_of=lambda row: np.full((16, 16, 3), row["id"], dtype=np.uint8))
        finally:
            client.close()
    assert summary.written == 64 and len(arrivals) == 64
    assert arrivals[32] - arrivals[31] < 0.75  # asked while the other slow reply was awaited
    assert [line["id"] for line in _lines(out)] == list(range(64))  # written in task order all the same


# ------------------------------------------------------------------------------- boxes of served Qwen models


def test_served_qwen25_boxes_are_read_in_the_servers_resized_input(tiny_built: dict[str, Path],
                                                                   tmp_path: Path) -> None:
    """A 1536 x 2048 image: a server with the released Qwen2.5-VL config sees 1540 x 2044 and writes its boxes
    there (the class default budget would be 840 x 1148, where this box lies outside the frame)."""
    from pixbench.chat import ChatClient

    seen, target = (1540, 2044), (1200, 900, 1900, 1400)  # x1, y1, x2, y2 in the server's input pixels
    prompts: list[str] = []

    def reply(body: dict[str, Any]) -> str:
        prompts.append(next(p["text"] for p in body["messages"][-1]["content"] if p["type"] == "text"))
        return json.dumps([{"bbox_2d": list(target), "label": "x"}])

    def run(out: Path, **settings: Any) -> list[dict[str, Any]]:
        with running_server(reply) as server:
            client = ChatClient(model="qwen", base_url=server.base_url, concurrency=2, max_retries=0,
                                temperature=0.0, seed=0)
            config = ServedConfig(benchmark="pixmmvp", data=str(tiny_built["pixmmvp"]), out=out, model="qwen",
                                  probes=("segment",), endpoint=server.base_url, limit=2, **settings)
            try:
                run_served(config, client=client, load_segmenter=BoxFill,
                           image_of=lambda row: np.zeros((1536, 2048, 3), dtype=np.uint8))
            finally:
                client.close()
        return [line for line in _lines(out) if "response" in line]

    from pixbench.annotation import rle

    lines = run(tmp_path / "released.jsonl")
    assert lines
    ys, xs = np.nonzero(rle.decode(lines[0]["mask"]))
    scale_x, scale_y = 2048 / seen[1], 1536 / seen[0]
    assert abs(xs.min() - target[0] * scale_x) <= 1 and abs(xs.max() + 1 - target[2] * scale_x) <= 1
    assert abs(ys.min() - target[1] * scale_y) <= 1 and abs(ys.max() + 1 - target[3] * scale_y) <= 1
    settings = json.loads((tmp_path / "released.jsonl.run.json").read_text())["settings"]
    assert (settings["min_pixels"], settings["max_pixels"]) == (3136, 12_845_056)
    # the prompt drops the expression's leading article, and says so in the run file
    assert prompts and all(p.startswith("Locate the ") and not p.startswith("Locate the the ") for p in prompts)
    assert settings["box_prompt_expression"] == "leading article dropped"
    # a server started with the class-default budget: its boxes are read in 840 x 1148, given --max-pixels
    prompts.clear()
    small = run(tmp_path / "small.jsonl", max_pixels=28 * 28 * 1280, keep_article=True)
    assert not rle.decode(small[0]["mask"]).any()  # y1 = 900 lies below an 840-pixel-high input: dropped
    assert json.loads((tmp_path / "small.jsonl.run.json").read_text())["settings"]["max_pixels"] == 28 * 28 * 1280
    assert any(p.startswith("Locate the the ") for p in prompts)  # the published text, as asked


def test_video_ground_reads_a_served_qwen25s_boxes() -> None:
    from pixbench.baselines.box_models import OpenAIBoxModel
    from pixbench.chat import FakeChatClient

    client = FakeChatClient(lambda messages: '[{"bbox_2d": [1022, 770, 2044, 1540]}]', model="qwen")
    frames = [np.zeros((1536, 2048, 3), dtype=np.uint8)] * 2
    served = OpenAIBoxModel(client, downscale=1, prompt_style="image", box_family="qwen2_5_vl")
    (box,) = served.locate(frames, "the dog", 0).boxes
    assert (box.x1, box.y1, box.x2, box.y2) == pytest.approx((1024, 768, 2048, 1536), abs=1)
    assert served.settings()["family"] == "qwen2_5_vl" and served.settings()["max_pixels"] == 12_845_056
    as_sent = OpenAIBoxModel(client, downscale=1, prompt_style="image")  # openai: the sent image's pixels
    (box,) = as_sent.locate(frames, "the dog", 0).boxes
    assert (box.x1, box.y2) == pytest.approx((1022, 1536))


@pytest.mark.parametrize("shape", ["format-2", "format-1-flat"])
def test_run_files_of_earlier_versions_still_resume(tiny_built: dict[str, Path], tmp_path: Path, shape: str) -> None:
    data = tiny_built["pixmmvp"]
    out = tmp_path / "preds.jsonl"
    with running_server(make_reply({})) as server:
        first = _run(server.base_url, data, out, probes=("letter",), limit=3)
        record_path = out.with_name(out.name + ".run.json")
        settings = json.loads(record_path.read_text())["settings"]
        old = ({"format": 2, "pixbench_version": "0.1.0", "settings": settings} if shape == "format-2"
               else {**settings, "format": 1})
        record_path.write_text(json.dumps(old))
        server.reset()
        again = _run(server.base_url, data, out, probes=("letter",), limit=3)
        assert first.written == 3 and again.skipped == 3 and again.written == 0 and server.request_count == 0
    assert json.loads(record_path.read_text())["run_format"] == RUN_FORMAT  # rewritten in today's layout
