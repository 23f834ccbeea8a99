"""LLM judge: exact prompts, strict parsers, the SQLite cache, and the real openai client against a local
OpenAI-compatible server (tests/judge_server.py) with scripted failures."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from judge_server import (
    JudgeServer,
    Step,
    drop_connection,
    empty_content,
    garbage,
    rate_limited,
    server_error,
)

from pixbench.metrics.judge import (
    CONCEPT_CATEGORIES,
    JUDGE_PROTOCOL_VERSION,
    FakeJudge,
    Judge,
    JudgeCache,
    JudgeCacheError,
    JudgeResult,
    Message,
    OpenAICompatibleJudge,
    accuracy_messages,
    cache_key,
    concept_messages,
    default_cache_path,
    parse_choice,
    parse_concepts,
    parse_yes_no,
    presence_messages,
    selection_messages,
)

REPO = Path(__file__).resolve().parents[2]
PNG = "data:image/png;base64,iVBORw0KGgo="
SECRET = "sk-pixbench-SECRET-7f3a9c1e5d"


def verdict(i: int) -> list[Message]:
    return accuracy_messages(
        question=f"Is door {i} open?", options_text="(a) Open (b) Closed", answer="(a)", response=f"open {i}"
    )


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "PIXBENCH_CACHE_DIR", "XDG_CACHE_HOME"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def server() -> Iterator[JudgeServer]:
    with JudgeServer() as srv:
        yield srv


@pytest.fixture
def cache(tmp_path: Path) -> Iterator[JudgeCache]:
    with JudgeCache(tmp_path / "judge.sqlite") as c:
        yield c


@pytest.fixture
def make_judge(server: JudgeServer) -> Iterator[Callable[..., OpenAICompatibleJudge]]:
    judges: list[OpenAICompatibleJudge] = []

    def make(**kwargs: Any) -> OpenAICompatibleJudge:
        options: dict[str, Any] = {
            "base_url": server.base_url, "api_key": "test-key", "max_retries": 3, "timeout": 5.0,
            "backoff": 0.001, "max_backoff": 2.0, "concurrency": 4,
        }
        options.update(kwargs)
        judge = OpenAICompatibleJudge(**options)
        judges.append(judge)
        return judge

    yield make
    for judge in judges:
        judge.close()


# ------------------------------------------------------------------------------------------------ prompts


def test_accuracy_prompt_is_verbatim() -> None:
    messages = accuracy_messages(
        question="Are the butterfly's wings closer to being open or closed?",
        options_text="(a) Open (b) Closed", answer="(a)", response="The wings are open.",
    )
    assert messages == [
        {
            "role": "system",
            "content": "You are a helpful and precise assistant for checking the quality of the answer. "
            "Please answer in only yes or no.",
        },
        {
            "role": "user",
            "content": "Given the following question Are the butterfly's wings closer to being open or "
            "closed? (a) Open (b) Closed, the correct answer is (a). Does the following answer correctly "
            "answers the question, answer:The wings are open.? Respond with a Yes/No",
        },
    ]


def test_presence_and_selection_prompts() -> None:
    presence = presence_messages("the red door", PNG)
    assert presence == [{"role": "user", "content": [
        {"type": "text", "text": "Does this image have the red door? Answer yes/no only."},
        {"type": "image_url", "image_url": {"url": PNG}},
    ]}]
    urls = [PNG, "data:image/jpeg;base64,AAAA", PNG]
    (message,) = selection_messages("the dog", urls)
    assert message["content"][0] == {
        "type": "text",
        "text": "Select the image that has the dog best highlighted in red color than the others? "
        "Answer with a number from 1 to 3. Mention the number only.",
    }
    assert [part["image_url"]["url"] for part in message["content"][1:]] == urls
    with pytest.raises(ValueError, match="non-empty"):
        selection_messages("the dog", [])
    with pytest.raises(ValueError, match="image_data_urls\\[1\\]"):
        selection_messages("the dog", [PNG, "/tmp/a.png"])


def test_concept_prompt_names_all_categories() -> None:
    messages = concept_messages("the red wings", "The butterfly has red wings.")
    user = messages[-1]["content"]
    assert "the red wings" in user and "The butterfly has red wings." in user
    for letter, name in CONCEPT_CATEGORIES.items():
        assert f"({letter}) {name}" in user


@pytest.mark.parametrize(
    ("reply", "expected"),
    [("Yes", "yes"), (" yes. ", "yes"), ("YES.", "yes"), ("NO", "no"), ("no.\n", "no"),
     ("Yes, it does", "undetermined"), ("", "undetermined"), (None, "undetermined"),
     ("Yes/No", "undetermined"), ("yess", "undetermined")],
)
def test_parse_yes_no(reply: str | None, expected: str) -> None:
    assert parse_yes_no(reply) == expected


@pytest.mark.parametrize(
    ("reply", "n", "expected"),
    [("2", 3, 2), (" 3. ", 3, 3), ("1", 1, 1), ("0", 3, None), ("4", 3, None), ("Image 2", 3, None),
     ("2 or 3", 3, None), ("-1", 3, None), ("²", 3, None), ("", 3, None), (None, 3, None), ("1.5", 3, None),
     ("02", 3, 2)],
)
def test_parse_choice_is_strict(reply: str | None, n: int, expected: int | None) -> None:
    assert parse_choice(reply, n) == expected


def test_parse_choice_rejects_bad_n() -> None:
    with pytest.raises(ValueError, match="`n`"):
        parse_choice("1", 0)


@pytest.mark.parametrize(
    ("reply", "expected"),
    [("(e)", ["e"]), ("(e) (a)", ["a", "e"]), ("E", ["e"]), ("a, e.", ["a", "e"]), ("c and f", ["c", "f"]),
     ("(b) location and position", ["b"]), ("State", ["f"]), ("color and appearance; state", ["a", "f"]),
     ("(a) (b) (c)", []), ("I cannot tell", []), ("", []), (None, [])],
)
def test_parse_concepts(reply: str | None, expected: list[str]) -> None:
    assert parse_concepts(reply) == expected


def test_parsed_concepts_feed_the_histogram() -> None:
    from pixbench.metrics.analysis import concept_histogram

    counts = concept_histogram([parse_concepts("(a) (e)"), parse_concepts("e")])
    assert counts["objects/entities"] == 2 and counts["color and appearance"] == 1


# -------------------------------------------------------------------------------------------------- cache


def test_cache_key_is_canonical_and_complete() -> None:
    base = {"model": "gpt-4o", "messages": verdict(1), "temperature": 0.0, "protocol": JUDGE_PROTOCOL_VERSION}
    key = cache_key(**base)  # type: ignore[arg-type]
    assert len(key) == 64
    reordered = [{"content": m["content"], "role": m["role"]} for m in verdict(1)]
    assert cache_key(**{**base, "messages": reordered, "temperature": 0}) == key  # type: ignore[arg-type]
    for change in ({"model": "gpt-4o-mini"}, {"messages": verdict(2)}, {"temperature": 0.5},
                   {"protocol": "other"}):
        assert cache_key(**{**base, **change}) != key  # type: ignore[arg-type]


def test_default_cache_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_cache_path() == tmp_path / "home" / ".cache" / "pixbench" / "judge.sqlite"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_path() == tmp_path / "xdg" / "pixbench" / "judge.sqlite"
    monkeypatch.setenv("PIXBENCH_CACHE_DIR", str(tmp_path / "pix"))
    assert default_cache_path() == tmp_path / "pix" / "judge.sqlite"


def test_cache_refuses_empty_and_reports_bad_files(cache: JudgeCache, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="non-empty"):
        cache.put("k", model="m", protocol="p", reply="  ", served_model=None)
    assert len(cache) == 0
    bad = tmp_path / "not-a-db.sqlite"
    bad.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(JudgeCacheError, match=r"not-a-db\.sqlite"):
        JudgeCache(bad)


def test_cache_persists_across_instances(server: JudgeServer, tmp_path: Path) -> None:
    path = tmp_path / "sub" / "judge.sqlite"
    requests = [verdict(i) for i in range(5)]
    with JudgeCache(path) as first, OpenAICompatibleJudge(
        base_url=server.base_url, api_key="k", cache=first, backoff=0.001
    ) as judge:
        assert all(r.ok and not r.cached for r in judge.ask_many(requests))
    assert server.request_count == 5
    with JudgeCache(path) as second, OpenAICompatibleJudge(
        base_url=server.base_url, api_key="k", cache=second
    ) as judge:
        results = judge.ask_many(requests)
    assert server.request_count == 5
    assert all(r.cached and r.text == "Yes" and r.served_model == server.model for r in results)


def test_cache_survives_concurrent_writer_threads(tmp_path: Path) -> None:
    path = tmp_path / "judge.sqlite"
    shared = JudgeCache(path)

    def write(worker: int) -> None:
        own = JudgeCache(path)  # a second connection on the same file
        for i in range(40):
            target = shared if i % 2 else own
            target.put(f"{worker}-{i}", model="m", protocol="p", reply=f"r{worker}-{i}", served_model="s")
        own.close()

    threads = [threading.Thread(target=write, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(shared) == 320
    assert shared.get("7-39") is not None and shared.get("7-39").reply == "r7-39"  # type: ignore[union-attr]
    shared.close()


def test_cache_survives_concurrent_writer_processes(tmp_path: Path) -> None:
    path = tmp_path / "judge.sqlite"
    code = (
        "import sys\nfrom pixbench.metrics.judge_cache import JudgeCache\n"
        "c = JudgeCache(sys.argv[1])\n"
        "for i in range(150):\n"
        "    c.put(f'{sys.argv[2]}-{i}', model='m', protocol='p', reply='yes', served_model=None)\n"
        "c.close()\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    procs = [subprocess.Popen([sys.executable, "-c", code, str(path), tag], env=env) for tag in "ab"]
    assert [p.wait(timeout=60) for p in procs] == [0, 0]
    with JudgeCache(path) as c:
        assert len(c) == 300


# ------------------------------------------------------------------------------------ judge against server


def test_judge_conforms_and_sends_expected_request(
    server: JudgeServer, make_judge: Callable[..., OpenAICompatibleJudge]
) -> None:
    judge = make_judge(model="gpt-4o", max_tokens=7)
    assert isinstance(judge, Judge)
    assert judge.endpoint == server.base_url
    (result,) = judge.ask_many([verdict(0)])
    assert result == JudgeResult(text="Yes", served_model=server.model, cached=False, error=None)
    (request,) = server.requests
    assert request.path == "/v1/chat/completions"
    assert request.body["model"] == "gpt-4o"
    assert request.body["messages"] == verdict(0)
    assert request.body["temperature"] == 0.0 and request.body["max_tokens"] == 7
    assert request.headers["authorization"] == "Bearer test-key"


def test_second_run_hits_cache(
    server: JudgeServer, cache: JudgeCache, make_judge: Callable[..., OpenAICompatibleJudge]
) -> None:
    judge = make_judge(cache=cache)
    requests = [verdict(i) for i in range(10)]
    first = judge.ask_many(requests)
    assert server.request_count == 10 and not any(r.cached for r in first)
    server.reset()
    second = judge.ask_many(requests)
    assert server.request_count == 0
    assert [r.text for r in second] == [r.text for r in first] and all(r.cached for r in second)


def test_duplicate_requests_are_asked_once(server: JudgeServer, make_judge: Callable[..., Any]) -> None:
    results = make_judge().ask_many([verdict(1), verdict(2), verdict(1)])
    assert server.request_count == 2
    assert [r.text for r in results] == ["Yes", "Yes", "Yes"]


def test_refresh_bypasses_reads_but_writes(
    server: JudgeServer, cache: JudgeCache, make_judge: Callable[..., OpenAICompatibleJudge]
) -> None:
    make_judge(cache=cache).ask_many([verdict(1)])
    server.reply = lambda body: "No"
    (fresh,) = make_judge(cache=cache, refresh=True).ask_many([verdict(1)])
    assert server.request_count == 2 and fresh.text == "No" and not fresh.cached
    (stored,) = make_judge(cache=cache).ask_many([verdict(1)])
    assert server.request_count == 2 and stored.text == "No" and stored.cached


def test_errors_and_empty_replies_are_not_cached(
    server: JudgeServer, cache: JudgeCache, make_judge: Callable[..., OpenAICompatibleJudge]
) -> None:
    server.push(server_error(500), empty_content())
    judge = make_judge(cache=cache, max_retries=0, concurrency=1)
    failed, empty = judge.ask_many([verdict(1), verdict(2)])
    assert failed.error is not None and "500" in failed.error and failed.text is None
    assert empty.error is not None and "empty reply" in empty.error
    assert len(cache) == 0
    again = judge.ask_many([verdict(1), verdict(2)])
    assert server.request_count == 4 and all(r.ok and not r.cached for r in again)
    assert len(cache) == 2


def test_rate_limit_honours_retry_after(server: JudgeServer, make_judge: Callable[..., Any]) -> None:
    server.push(rate_limited(retry_after=0.3))
    (result,) = make_judge().ask_many([verdict(1)])
    assert result.ok and result.text == "Yes"
    first, second = server.requests
    assert second.arrived - first.arrived >= 0.28  # backoff alone would be ~1 ms


def test_retry_after_as_http_date_and_quota_errors(
    server: JudgeServer, make_judge: Callable[..., Any]
) -> None:
    server.push(rate_limited(retry_after="Wed, 21 Oct 2015 07:28:00 GMT"))  # in the past: no wait
    (result,) = make_judge(max_backoff=30.0, backoff=0.001).ask_many([verdict(1)])
    assert result.ok and server.request_count == 2
    quota = json.dumps({"error": {"message": "You exceeded your quota", "code": "insufficient_quota"}})
    server.push(Step("status", status=429, body=quota))
    (result,) = make_judge().ask_many([verdict(2)])
    assert server.request_count == 3 and result.error is not None and "quota" in result.error


def test_server_errors_are_retried(server: JudgeServer, make_judge: Callable[..., Any]) -> None:
    server.push(server_error(500), server_error(503), drop_connection())
    (result,) = make_judge(max_retries=3).ask_many([verdict(1)])
    assert result.ok and server.request_count == 4


def test_persistent_server_error_names_endpoint(server: JudgeServer, make_judge: Callable[..., Any]) -> None:
    server.always = server_error(500)
    (result,) = make_judge(max_retries=2).ask_many([verdict(1)])
    assert server.request_count == 3
    assert result.error is not None and result.text is None
    assert server.base_url in result.error and "500" in result.error and "3 attempt" in result.error


def test_client_errors_are_not_retried(server: JudgeServer, make_judge: Callable[..., Any]) -> None:
    server.always = server_error(400)
    (result,) = make_judge(max_retries=3).ask_many([verdict(1)])
    assert server.request_count == 1 and result.error is not None and "400" in result.error


@pytest.mark.parametrize(
    "step", [garbage(), garbage('{"choices": [', "application/json"), garbage("{}", "application/json")]
)
def test_garbage_body_is_an_error(server: JudgeServer, make_judge: Callable[..., Any], step: Any) -> None:
    server.always = step
    (result,) = make_judge().ask_many([verdict(1)])
    assert result.error is not None and "malformed" in result.error and server.base_url in result.error


def test_timeout_is_retried_then_reported(server: JudgeServer, make_judge: Callable[..., Any]) -> None:
    server.delay = 0.6
    (result,) = make_judge(timeout=0.15, max_retries=1).ask_many([verdict(1)])
    assert server.request_count == 2
    assert result.error is not None and "Timeout" in result.error and server.base_url in result.error


def test_unreachable_endpoint_names_it(make_judge: Callable[..., Any]) -> None:
    judge = make_judge(base_url="http://127.0.0.1:9/v1", max_retries=1)
    (result,) = judge.ask_many([verdict(1)])
    assert result.error is not None and "http://127.0.0.1:9/v1" in result.error


def test_concurrency_is_bounded(server: JudgeServer, make_judge: Callable[..., Any]) -> None:
    server.delay = 0.05
    results = make_judge(concurrency=3).ask_many([verdict(i) for i in range(24)])
    assert all(r.ok for r in results)
    assert server.max_in_flight == 3


def test_progress_bar_goes_to_stderr(
    make_judge: Callable[..., Any], capsys: pytest.CaptureFixture[str]
) -> None:
    make_judge().ask_many([verdict(i) for i in range(3)], progress=True)
    captured = capsys.readouterr()
    assert captured.out == "" and "3/3" in captured.err


def test_api_key_never_leaks(
    server: JudgeServer, cache: JudgeCache, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    judge = OpenAICompatibleJudge(
        base_url=server.base_url, cache=cache, max_retries=1, backoff=0.001, concurrency=1
    )
    server.push(server_error(500, echo_authorization=True), server_error(500, echo_authorization=True))
    failed, good = judge.ask_many([verdict(1), verdict(2)])
    judge.close()
    assert server.requests[0].headers["authorization"] == f"Bearer {SECRET}"  # the key is really used
    assert failed.error is not None and "bad auth" in failed.error and "***" in failed.error
    assert good.ok
    texts = [repr(judge), str(judge.__dict__.get("endpoint")), repr(failed), repr(good), caplog.text]
    assert not any(SECRET in text for text in texts)
    assert SECRET.encode() not in cache.path.read_bytes()
    wal = cache.path.with_name(cache.path.name + "-wal")
    assert not wal.exists() or SECRET.encode() not in wal.read_bytes()


def test_missing_key_for_openai_is_an_error_naming_endpoint() -> None:
    with pytest.raises(ValueError, match=r"https://api\.openai\.com/v1.*OPENAI_API_KEY"):
        OpenAICompatibleJudge()


def test_endpoint_never_shows_credentials_in_url() -> None:
    judge = OpenAICompatibleJudge(base_url="http://user:pw@Example.org:8000/v1/?api-key=zzz")
    assert judge.endpoint == "http://example.org:8000/v1"
    judge.close()


def test_missing_openai_gives_install_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "openai", None)
    with pytest.raises(ImportError, match=r'pip install "pixbench\[judge\]"'):
        OpenAICompatibleJudge(base_url="http://127.0.0.1:9/v1")


# ------------------------------------------------------------------------------------------------ fake judge


def test_fake_judge_is_deterministic_and_cached(cache: JudgeCache) -> None:
    def reply(messages: list[Message]) -> str:
        return "Yes" if "door 1 " in messages[-1]["content"] else "No"

    judge = FakeJudge(reply, cache=cache)
    assert isinstance(judge, Judge)
    texts = [r.text for r in judge.ask_many([verdict(1), verdict(2)])]
    assert texts == ["Yes", "No"] and judge.calls == 2
    again = FakeJudge(reply, cache=cache).ask_many([verdict(1), verdict(2)])
    assert [r.text for r in again] == texts and all(r.cached for r in again)
    assert again[0].served_model == "fake-judge"


def test_fake_judge_failures_are_results_not_exceptions() -> None:
    def reply(messages: list[Message]) -> str:
        if "door 1 " in messages[-1]["content"]:
            raise RuntimeError("boom")
        return " "

    boom, empty = FakeJudge(reply).ask_many([verdict(1), verdict(2)])
    assert boom.error is not None and "boom" in boom.error and "fake://pixbench" in boom.error
    assert empty.error is not None and "empty" in empty.error


def test_interrupted_run_keeps_verdicts(cache: JudgeCache) -> None:
    def reply(messages: list[Message]) -> str:
        if "door 3 " in messages[-1]["content"]:
            raise KeyboardInterrupt
        return "Yes"

    with pytest.raises(KeyboardInterrupt):
        FakeJudge(reply, cache=cache).ask_many([verdict(i) for i in range(6)])
    assert len(cache) == 3
    rerun = FakeJudge(lambda messages: "Yes", cache=cache)
    assert all(r.ok for r in rerun.ask_many([verdict(i) for i in range(6)])) and rerun.calls == 3


def test_bad_request_shape_raises() -> None:
    with pytest.raises(TypeError, match="request 1"):
        FakeJudge(lambda m: "Yes").ask_many([verdict(0), "not messages"])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="JSON-serialisable"):
        FakeJudge(lambda m: "Yes").ask_many([[{"role": "user", "content": object()}]])


def test_results_are_json_friendly() -> None:
    (result,) = FakeJudge(lambda m: "Yes").ask_many([verdict(0)])
    assert json.loads(json.dumps(result.__dict__))["text"] == "Yes"
