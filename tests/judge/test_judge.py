"""LLM judge: exact prompts, strict parsers, the SQLite cache, and the real openai client against a local
OpenAI-compatible server (tests/judge_server.py) with scripted failures."""

from __future__ import annotations

import base64
import json
import logging
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
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
from judge_server import (
    door_question as verdict,
)

from pixbench.judge import (
    CONCEPT_CATEGORIES,
    DEFAULT_JUDGE_TEMPERATURE,
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
    redact_url,
    selection_messages,
    verdict_of,
)

REPO = Path(__file__).resolve().parents[2]
PNG = "data:image/png;base64,iVBORw0KGgo="
SECRET = "sk-pixbench-SECRET-7f3a9c1e5d"


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
        "import sys\nfrom pixbench.judge.cache import JudgeCache\n"
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
    assert request.body["temperature"] == 0.2 and request.body["max_tokens"] == 7  # the protocol's 0.2
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


# ------------------------------------------------------------------------------------------ hardening


def closed_port() -> int:
    """A local TCP port nobody listens on (connecting to it is refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def count_attempts(judge: OpenAICompatibleJudge) -> list[int]:
    """Wrap the client's create() so every HTTP attempt is counted (returns the one-item counter)."""
    counter = [0]
    completions = judge._client.chat.completions
    original = completions.create

    def create(**kwargs: Any) -> Any:
        counter[0] += 1
        return original(**kwargs)

    completions.create = create  # type: ignore[method-assign]
    return counter


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://127.0.0.1:8000/v1", "http://127.0.0.1:8000/v1"),
        ("http://user:sk-KEY@host:8000/v1", "http://***@host:8000/v1"),
        ("https://sk-KEY@host/v1", "https://***@host/v1"),
        ("https://host/v1?api_key=K1&api-version=2024-02-01&token=T&x=1",
         "https://host/v1?api_key=***&api-version=2024-02-01&token=***&x=1"),
        ("https://host/v1?key=K&Signature=S&access_token=A&client_secret=C&password=P",
         "https://host/v1?key=***&Signature=***&access_token=***&client_secret=***&password=***"),
        ("https://host/cb#access_token=A&state=1", "https://host/cb#access_token=***&state=1"),
        ("http://u:p@[::1/v1?key=K", "http://***@[::1/v1?key=***"),  # unparseable: redacted by pattern
    ],
)
def test_redact_url(url: str, expected: str) -> None:
    assert redact_url(url) == expected


def test_url_secrets_never_reach_logs_errors_or_reprs(
    server: JudgeServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    url = f"http://judge-user:PW-{SECRET}@127.0.0.1:{server.port}/v1?api_key=Q-{SECRET}&api-version=7"
    judge = OpenAICompatibleJudge(base_url=url, api_key="test-key", max_retries=1, backoff=0.001,
                                  concurrency=1)
    server.push(server_error(500, echo_authorization=True), server_error(500, echo_authorization=True))
    failed, good = judge.ask_many([verdict(1), verdict(2)])
    judge.close()
    assert good.ok and failed.error is not None and "bad auth" in failed.error
    first = server.requests[0]
    assert first.path == "/v1/chat/completions"  # the query is sent as parameters, not glued into the path
    assert dict(first.query) == {"api_key": f"Q-{SECRET}", "api-version": "7"}
    basic = base64.b64encode(f"judge-user:PW-{SECRET}".encode()).decode()
    assert first.headers["authorization"] == f"Basic {basic}"  # httpx turns user info into Basic auth
    assert "HTTP Request: POST http://***@127.0.0.1" in caplog.text  # httpx's own -v line, redacted
    assert "api_key=***" in caplog.text
    texts = [caplog.text, repr(judge), judge.endpoint, repr(failed), repr(good)]
    for secret in (SECRET, basic):
        assert not any(secret in text for text in texts)


def test_unreachable_endpoint_fails_fast_and_keeps_verdicts(
    cache: JudgeCache, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="pixbench.judge.client")
    dead = f"http://127.0.0.1:{closed_port()}/v1"
    kept = FakeJudge(lambda m: "Yes", model="gpt-4o", cache=cache)
    kept.ask_many([verdict(0), verdict(1)])  # two verdicts paid for earlier
    judge = OpenAICompatibleJudge(base_url=dead, api_key="k", cache=cache, max_retries=5, backoff=1.0,
                                  concurrency=4)
    attempts = count_attempts(judge)
    started = time.monotonic()
    results = judge.ask_many([verdict(i) for i in range(40)])
    elapsed = time.monotonic() - started
    assert [r.ok for r in results[:2]] == [True, True] and results[0].cached
    assert not any(r.ok for r in results[2:])
    assert judge.unreachable is not None and dead in judge.unreachable and "3 consecutive" in judge.unreachable
    assert all(r.error is not None and dead in r.error for r in results[2:])
    # 3 failures halt it; the other workers' first attempts may still be on the way: never 38 x 6 attempts
    assert attempts[0] <= 3 + judge.concurrency
    assert elapsed < 20  # retries would have taken minutes (the issue: 7 min 38 s)
    assert caplog.text.count("unreachable") == 1  # one log line, not one per request
    again = judge.ask_many([verdict(i) for i in range(40, 50)])  # the rest of the run fails at once
    assert attempts[0] <= 3 + judge.concurrency and not any(r.ok for r in again)
    assert len(cache) == 2
    judge.resume()  # a caller may try again on purpose
    judge.backoff = 0.001
    judge.ask_many([verdict(99)])
    assert attempts[0] > 3
    judge.close()


def test_unreachable_endpoint_sequential_counts_retries() -> None:
    judge = OpenAICompatibleJudge(base_url=f"http://127.0.0.1:{closed_port()}/v1", api_key="k", max_retries=5,
                                  backoff=0.001, concurrency=1)
    attempts = count_attempts(judge)
    results = judge.ask_many([verdict(i) for i in range(10)])
    assert attempts[0] == 3 and not any(r.ok for r in results)
    judge.close()


def test_unknown_host_is_unreachable() -> None:
    judge = OpenAICompatibleJudge(base_url="http://judge.invalid/v1", api_key="k", max_retries=5, backoff=0.001,
                                  concurrency=1)
    attempts = count_attempts(judge)
    (result,) = judge.ask_many([verdict(1)])
    assert attempts[0] == 3 and result.error is not None and judge.unreachable is not None
    judge.close()


def test_http_errors_and_dropped_connections_keep_retrying(
    server: JudgeServer, make_judge: Callable[..., OpenAICompatibleJudge]
) -> None:
    server.always = server_error(503)
    judge = make_judge(max_retries=2, concurrency=1)
    results = judge.ask_many([verdict(i) for i in range(3)])
    assert server.request_count == 9 and judge.unreachable is None  # the server answers: not unreachable
    assert all(r.error is not None and "503" in r.error for r in results)
    server.always = drop_connection()
    server.reset()
    judge.ask_many([verdict(i) for i in range(3, 5)])
    assert server.request_count == 6 and judge.unreachable is None


def test_connection_failure_count_restarts_after_a_reply() -> None:
    judge = FakeJudge(lambda m: "Yes")
    assert judge.max_connection_failures == 3
    for _ in range(2):
        assert not judge._note_connection_failure("refused")
    judge._note_reachable()
    for _ in range(2):
        assert not judge._note_connection_failure("refused")
    assert judge._note_connection_failure("refused") and judge.unreachable is not None
    (result,) = judge.ask_many([verdict(1)])
    assert result.error is not None and "unreachable" in result.error and judge.calls == 0


def test_connect_timeout_is_short_and_temperature_defaults_to_protocol() -> None:
    judge = OpenAICompatibleJudge(base_url="http://127.0.0.1:9/v1", timeout=60.0)
    assert judge._client.timeout.connect == 10.0 and judge._client.timeout.read == 60.0
    assert judge.temperature == DEFAULT_JUDGE_TEMPERATURE == 0.2
    judge.close()
    with pytest.raises(ValueError, match="temperature"):
        FakeJudge(lambda m: "Yes", temperature=-0.1)
    with pytest.raises(ValueError, match="http or https"):
        OpenAICompatibleJudge(base_url="127.0.0.1:8000/v1")


def test_temperature_is_sent_and_part_of_the_cache_key(
    server: JudgeServer, cache: JudgeCache, make_judge: Callable[..., OpenAICompatibleJudge]
) -> None:
    old = FakeJudge(lambda m: "No", model="gpt-4o", temperature=0.0, cache=cache)
    old.ask_many([verdict(1)])  # a verdict cached at 0.0 by an earlier pixbench
    (fresh,) = make_judge(model="gpt-4o", cache=cache).ask_many([verdict(1)])
    assert server.request_count == 1 and fresh.text == "Yes" and not fresh.cached
    assert server.requests[0].body["temperature"] == 0.2
    make_judge(model="gpt-4o", cache=cache, temperature=0.7).ask_many([verdict(1)])
    assert server.request_count == 2 and server.requests[1].body["temperature"] == 0.7
    (cached,) = make_judge(model="gpt-4o", cache=cache).ask_many([verdict(1)])
    assert cached.cached and server.request_count == 2


# ----------------------------------------------------------------------------------------- cache files


def test_cache_path_that_is_a_folder(tmp_path: Path) -> None:
    with pytest.raises(JudgeCacheError, match=r"is a folder") as info:
        JudgeCache(tmp_path)
    assert isinstance(info.value, ValueError) and str(tmp_path) in str(info.value)


def test_cache_path_that_is_not_sqlite_is_left_untouched(tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("my precious notes\n" * 50)
    before = notes.read_bytes()
    with pytest.raises(JudgeCacheError, match=r"notes\.txt: is not an SQLite database.*left untouched"):
        JudgeCache(notes)
    assert notes.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]  # no -wal / -shm / journal left


def test_cache_path_that_is_another_sqlite_database_is_left_untouched(tmp_path: Path) -> None:
    other = tmp_path / "app.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE users (name TEXT)")
        conn.execute("INSERT INTO users VALUES ('ada')")
    conn.close()
    before = other.read_bytes()
    with pytest.raises(JudgeCacheError, match=r"app\.db: is an SQLite database but not a pixbench judge cache"):
        JudgeCache(other)
    assert other.read_bytes() == before


def test_cache_path_under_a_file(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(JudgeCacheError, match=r"is a file, not a folder"):
        JudgeCache(blocker / "sub" / "judge.sqlite")


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root can write anywhere")
def test_cache_in_a_read_only_folder(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        with pytest.raises(JudgeCacheError, match="not writable"):
            JudgeCache(locked / "judge.sqlite")
    finally:
        locked.chmod(0o700)


def test_cache_that_cannot_be_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import pixbench.judge.cache as judge_cache

    existing = tmp_path / "old.sqlite"
    JudgeCache(existing).close()
    monkeypatch.setattr(judge_cache.os, "access", lambda path, mode: False)  # as for a user without rights
    with pytest.raises(JudgeCacheError, match=r"new\.sqlite: cannot create the judge cache: the folder .* is not "
                                              "writable"):
        JudgeCache(tmp_path / "new.sqlite")
    with pytest.raises(JudgeCacheError, match=r"old\.sqlite: the judge cache is read-only"):
        JudgeCache(existing)


def test_empty_file_becomes_a_cache(tmp_path: Path) -> None:
    path = tmp_path / "judge.sqlite"
    path.touch()
    with JudgeCache(path) as c:
        c.put("k", model="m", protocol="p", reply="Yes", served_model=None, verdict="yes")
        stored = c.get("k")
        assert stored is not None and (stored.reply, stored.verdict) == ("Yes", "yes")


def test_schema_1_cache_is_migrated_and_read(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE verdicts (key TEXT PRIMARY KEY, model TEXT NOT NULL, protocol TEXT NOT NULL, "
                     "reply TEXT NOT NULL CHECK (length(trim(reply)) > 0), served_model TEXT, created REAL NOT NULL)"
                     " WITHOUT ROWID")
        conn.execute("INSERT INTO verdicts VALUES ('k1', 'm', 'p', 'Maybe', 's', 1.0)")
        conn.execute("PRAGMA user_version = 1")
    conn.close()
    with JudgeCache(path) as c:
        stored = c.get("k1")
        assert stored is not None and stored.reply == "Maybe" and stored.verdict is None
        c.put("k2", model="m", protocol="p", reply="No", served_model=None, verdict="no")
        assert c.count(verdict="no") == 1 and len(c) == 2
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 2
    conn.close()


def test_cli_bad_cache_path_is_a_one_line_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from pixbench.cli import main

    preds = tmp_path / "p.jsonl"
    preds.write_text("")
    notes = tmp_path / "notes.txt"
    notes.write_text("keep me")
    base = ["score", str(preds), "--judge-base-url", "http://127.0.0.1:9/v1"]
    for bad, what in ((tmp_path, "is a folder"), (notes, "is not an SQLite database")):
        assert main([*base, "--judge-cache", str(bad)]) == 1
        err = capsys.readouterr().err
        assert err.startswith(f"error: --judge-cache {bad}: {what}") and err.count("\n") == 1
        assert "Traceback" not in err
    assert notes.read_text() == "keep me"


# --------------------------------------------------------------------------------- undetermined verdicts


def test_verdict_of_each_prompt() -> None:
    assert verdict_of(verdict(1), " yes. ") == "yes"
    assert verdict_of(verdict(1), "Maybe") == "undetermined"
    assert verdict_of(presence_messages("a cat", PNG), "No") == "no"
    assert verdict_of(selection_messages("a cat", [PNG, PNG, PNG]), "2") == "2"
    assert verdict_of(selection_messages("a cat", [PNG, PNG]), "3") == "undetermined"
    assert verdict_of(concept_messages("the cat", "a cat"), "(e) (a)") == "a,e"
    assert verdict_of(concept_messages("the cat", "a cat"), "no idea") == "undetermined"
    assert verdict_of([{"role": "user", "content": "hello"}], "Maybe") is None


def test_refresh_undetermined_reasks_only_those(
    server: JudgeServer, cache: JudgeCache, make_judge: Callable[..., OpenAICompatibleJudge]
) -> None:
    server.reply = lambda body: "Maybe" if "door 1 " in body["messages"][-1]["content"] else "Yes"
    requests = [verdict(i) for i in range(4)]
    make_judge(cache=cache).ask_many(requests)
    assert server.request_count == 4 and cache.count(verdict="undetermined") == 1
    assert cache.count(verdict="yes") == 3
    server.reply = lambda body: "No"
    results = make_judge(cache=cache, refresh="undetermined").ask_many(requests)
    assert server.request_count == 5 and server.requests[-1].body["messages"] == verdict(1)
    assert [r.text for r in results] == ["Yes", "No", "Yes", "Yes"]
    assert [r.cached for r in results] == [True, False, True, True]
    assert cache.count(verdict="undetermined") == 0
    make_judge(cache=cache, refresh="undetermined").ask_many(requests)
    assert server.request_count == 5  # nothing undetermined is left
    make_judge(cache=cache, refresh=True).ask_many(requests)
    assert server.request_count == 9
    with pytest.raises(ValueError, match="refresh"):
        make_judge(refresh="sometimes")


def test_refresh_undetermined_reads_rows_without_a_parsed_verdict(cache: JudgeCache) -> None:
    """Rows of schema-1 caches have no verdict: it is inferred from the stored reply."""
    for i, reply in ((1, "Maybe"), (2, "yes")):
        key = cache_key(model="fake-judge", messages=verdict(i), temperature=DEFAULT_JUDGE_TEMPERATURE,
                        protocol=JUDGE_PROTOCOL_VERSION)
        cache.put(key, model="fake-judge", protocol=JUDGE_PROTOCOL_VERSION, reply=reply, served_model=None)
    judge = FakeJudge(lambda m: "No", cache=cache, refresh="undetermined")
    assert [r.text for r in judge.ask_many([verdict(1), verdict(2)])] == ["No", "yes"] and judge.calls == 1


def test_refresh_judge_option_forms() -> None:
    from pixbench.cli import build_parser

    parser = build_parser()
    base = ["score", "p.jsonl"]
    assert parser.parse_args(base).refresh_judge is None
    assert parser.parse_args([*base, "--refresh-judge"]).refresh_judge == "all"
    assert parser.parse_args([*base, "--refresh-judge", "undetermined"]).refresh_judge == "undetermined"
    assert parser.parse_args(["score", "--refresh-judge=all", "p.jsonl"]).refresh_judge == "all"
    args = parser.parse_args([*base, "--judge-temperature", "0"])
    assert args.judge_temperature == 0.0 and parser.parse_args(base).judge_temperature == 0.2
    assert parser.parse_args(["compare", "a", "b", "--judge-temperature", "1"]).judge_temperature == 1.0
    for bad in (["--refresh-judge", "p.jsonl"], ["--judge-temperature", "-1"], ["--judge-temperature", "nan"]):
        with pytest.raises(SystemExit):
            parser.parse_args(["score", *bad] if bad[0] == "--refresh-judge" else [*base, *bad])


# ---------------------------------------------------------------------------------------------- Ctrl-C


def interrupt_main_after(seconds: float) -> threading.Timer:
    """Send SIGINT to the main thread (as Ctrl-C does) after ``seconds``."""
    main_id = threading.main_thread().ident
    assert main_id is not None
    timer = threading.Timer(seconds, signal.pthread_kill, args=(main_id, signal.SIGINT))
    timer.start()
    return timer


@pytest.mark.skipif(not hasattr(signal, "pthread_kill"), reason="needs POSIX signals")
@pytest.mark.parametrize("concurrency", [1, 4])
def test_ctrl_c_stops_at_once_and_keeps_a_consistent_cache(
    server: JudgeServer, make_judge: Callable[..., OpenAICompatibleJudge], tmp_path: Path, concurrency: int
) -> None:
    def reply(body: dict[str, Any]) -> str:
        if "door 0 " not in body["messages"][-1]["content"] and "door 1 " not in body["messages"][-1]["content"]:
            time.sleep(20)  # the rest hang, as a slow judge does
        return "Yes"

    server.reply = reply
    path = tmp_path / "judge.sqlite"
    cache = JudgeCache(path)
    judge = make_judge(cache=cache, concurrency=concurrency, timeout=60.0)
    timer = interrupt_main_after(1.0)
    started = time.monotonic()
    try:
        with pytest.raises(KeyboardInterrupt):
            judge.ask_many([verdict(i) for i in range(12)])
    finally:
        timer.cancel()
    assert time.monotonic() - started < 5  # not the 20 s of a request in flight
    assert len(cache) == 2
    cache.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    conn.close()
    with JudgeCache(path) as reopened:
        assert len(reopened) == 2
        server.reply = lambda body: "No"
        again = make_judge(cache=reopened, concurrency=concurrency).ask_many([verdict(i) for i in range(4)])
        assert [r.text for r in again] == ["Yes", "Yes", "No", "No"]  # the next run resumes


def test_interrupt_in_a_worker_thread_propagates(cache: JudgeCache) -> None:
    def reply(messages: list[Message]) -> str:
        if "door 3 " in messages[-1]["content"]:
            raise KeyboardInterrupt
        return "Yes"

    with pytest.raises(KeyboardInterrupt):
        FakeJudge(reply, cache=cache, concurrency=4).ask_many([verdict(i) for i in range(8)])
    assert 0 < len(cache) <= 7


# --------------------------------------------------------------------------------------- pixbench score


@pytest.fixture
def vqa_predictions(tmp_path: Path) -> Path:
    path = tmp_path / "m.jsonl"
    lines = [{"benchmark": "pixmmvp", "id": i, "probe": "vqa", "response": f"answer {i}"} for i in range(1, 9)]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def test_cli_unreachable_judge_exits_3_quickly(
    vqa_predictions: Path, tiny_built: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture
) -> None:
    from pixbench.cli import main

    caplog.set_level(logging.WARNING)
    port = closed_port()
    args = ["score", str(vqa_predictions), "--data", f"pixmmvp={tiny_built['pixmmvp']}", "--judge-base-url",
            f"http://me:{SECRET}@127.0.0.1:{port}/v1", "--judge-cache", str(tmp_path / "j.sqlite"),
            "--format", "json"]
    started = time.monotonic()
    assert main(args) == 3
    assert time.monotonic() - started < 30
    captured = capsys.readouterr()
    dead = f"http://127.0.0.1:{port}/v1"
    assert "the judge could not be reached (judge at " + dead in captured.err
    # one error line from the command (the client's own line is logged at INFO, shown with -v)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert captured.err.count("unreachable") == 1
    assert SECRET not in captured.err + captured.out + caplog.text
    assert json.loads(captured.out)["results"][0]["metrics"]["A_dagger"] is None


def test_cli_reports_temperature_and_never_the_url_secret(
    vqa_predictions: Path, tiny_built: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture
) -> None:
    from pixbench.cli import main

    caplog.set_level(logging.DEBUG)
    with JudgeServer(model="local-judge-1") as srv:
        url = f"http://me:{SECRET}@127.0.0.1:{srv.port}/v1?api_key=Q{SECRET}"
        base = ["-v", "score", str(vqa_predictions), "--data", f"pixmmvp={tiny_built['pixmmvp']}",
                "--judge-base-url", url, "--judge-cache", str(tmp_path / "j.sqlite"), "--judge-temperature", "0.7"]
        assert main([*base, "--format", "json"]) == 0
        captured = capsys.readouterr()
        document = json.loads(captured.out)
        assert document["judge"]["temperature"] == 0.7 and document["judge"]["model"] == "gpt-4o"
        assert {r.body["temperature"] for r in srv.requests} == {0.7}
        assert main([*base, "--format", "table"]) == 0
        table = capsys.readouterr().out
        assert f"judge: gpt-4o, temperature 0.7 at http://127.0.0.1:{srv.port}/v1" in table
        assert main([*base, "--format", "markdown"]) == 0
        assert "temperature 0.7" in capsys.readouterr().out
    assert "HTTP Request" in caplog.text  # -v does log the requests...
    for text in (caplog.text, captured.err, captured.out, table):
        assert SECRET not in text  # ...but never the key written into the URL
