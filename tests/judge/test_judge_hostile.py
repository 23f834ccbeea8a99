"""The OpenAI-compatible client against hostile or broken servers, all real and on 127.0.0.1: a server that
accepts connections and never answers, a slow but alive one, one that echoes the API key, one that sends
lone surrogates, one that sends a 20 MB reply."""

from __future__ import annotations

import base64
import json
import logging
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from judge_server import JudgeServer, Step
from judge_server import door_question as verdict

from pixbench.judge import JudgeCache, OpenAICompatibleJudge, cache_key
from pixbench.judge.cache import replace_lone_surrogates
from pixbench.judge.protocol import JUDGE_PROTOCOL_VERSION

SECRET = "sk-pixbench-HOSTILE-4b8d2f6a9e"
URL_PASSWORD = "pw-hostile-51c7e3"
URL_KEY = "qk-hostile-90ad44"


class SilentListener:
    """A TCP server on 127.0.0.1 that accepts every connection and never reads, answers or closes it."""

    def __init__(self) -> None:
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(64)
        self._sock.settimeout(0.05)
        self.accepted: list[socket.socket] = []
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._accept, name="silent-listener", daemon=True)
        self._thread.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._sock.getsockname()[1]}/v1"

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.accepted.append(conn)

    def close(self) -> None:
        self._stopped.set()
        self._thread.join(timeout=5)
        self._sock.close()
        for conn in self.accepted:
            conn.close()


@pytest.fixture
def silent() -> Iterator[SilentListener]:
    listener = SilentListener()
    yield listener
    listener.close()


def attempts_of(judge: OpenAICompatibleJudge) -> list[int]:
    """Wrap the client's create() so every HTTP attempt is counted (returns the one-item counter)."""
    counter = [0]
    completions = judge._client.chat.completions
    original = completions.create

    def create(**kwargs: Any) -> Any:
        counter[0] += 1
        return original(**kwargs)

    completions.create = create  # type: ignore[method-assign]
    return counter


def raw_cache_bytes(path: Path) -> bytes:
    """The cache file and its write-ahead log, as bytes on disk."""
    wal = path.with_name(path.name + "-wal")
    return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


# ------------------------------------------------------------------------------- dead but listening


@pytest.mark.parametrize("concurrency", [1, 4])
def test_listening_server_that_never_answers_halts_at_the_probe(
    silent: SilentListener, caplog: pytest.LogCaptureFixture, concurrency: int
) -> None:
    # timeout 30 s and 5 retries: before the fix this batch took 10 x 6 x 30 s / concurrency
    caplog.set_level(logging.INFO, logger="pixbench.judge.client")
    judge = OpenAICompatibleJudge(base_url=silent.base_url, api_key="k", timeout=30.0, max_retries=5,
                                  backoff=0.001, concurrency=concurrency, probe_after=0.5, probe_timeout=0.5)
    started = time.monotonic()
    results = judge.ask_many([verdict(i) for i in range(10)])
    elapsed = time.monotonic() - started
    assert 0.9 < elapsed < 5  # silence 0.5 s + unanswered probe 0.5 s, not one 30 s request timeout
    assert len(silent.accepted) >= concurrency + 1  # the requests in flight and the probe were accepted
    reason = judge.unreachable
    assert reason is not None and reason.startswith(f"judge at {silent.base_url} is unreachable: it accepts "
                                                    "connections but does not answer")
    assert f"GET {silent.base_url}/models within 0.5 s" in reason
    assert all(r.error == reason and r.text is None for r in results)
    assert caplog.text.count("accepts connections but does not answer") == 1  # one log line for the batch
    again = time.monotonic()
    assert not any(r.ok for r in judge.ask_many([verdict(i) for i in range(10, 14)]))
    assert time.monotonic() - again < 0.5  # the rest of the run fails at once
    judge.close()


def test_timeouts_without_any_answer_count_as_connection_failures(silent: SilentListener) -> None:
    judge = OpenAICompatibleJudge(base_url=silent.base_url, api_key="k", timeout=0.2, max_retries=5,
                                  backoff=0.001, concurrency=1, probe_after=None)
    attempts = attempts_of(judge)
    results = judge.ask_many([verdict(i) for i in range(5)])
    # before: 5 requests x 6 attempts, each a 0.2 s timeout; now 3 timeouts in a row halt the judge
    assert attempts[0] == 3
    reason = judge.unreachable
    assert reason is not None and "3 consecutive connection failures or timeouts" in reason
    assert "Timeout" in reason and not any(r.ok for r in results)
    judge.close()


# ------------------------------------------------------------------------------------- slow but alive


@pytest.mark.parametrize("concurrency", [1, 2])
def test_slow_server_that_answers_the_probe_is_waited_for(
    caplog: pytest.LogCaptureFixture, tmp_path: Path, concurrency: int
) -> None:
    caplog.set_level(logging.INFO, logger="pixbench.judge.client")
    with JudgeServer(delay=1.0) as server, JudgeCache(tmp_path / "judge.sqlite") as cache:
        # GET /v1/models is not a route of this server: its 501 answer is an answer, so it is alive
        judge = OpenAICompatibleJudge(base_url=server.base_url, api_key="k", timeout=10.0, max_retries=0,
                                      concurrency=concurrency, probe_after=0.3, probe_timeout=0.5, cache=cache)
        results = judge.ask_many([verdict(i) for i in range(2)])
        judge.close()
        assert server.request_count == 2 and len(cache) == 2
    assert [r.text for r in results] == ["Yes", "Yes"] and judge.unreachable is None
    probes = [r.getMessage() for r in caplog.records if "the server is alive (GET /models: HTTP 501)" in r.getMessage()]
    assert probes  # probed (about every 0.3 s of each 1 s wait), answered, and waited on


def test_timeouts_of_a_server_that_answers_the_probe_do_not_halt() -> None:
    with JudgeServer(delay=0.9) as server:
        # each attempt times out, but the server answers the probe meanwhile: one slow request, not a dead one
        judge = OpenAICompatibleJudge(base_url=server.base_url, api_key="k", timeout=0.5, max_retries=3,
                                      backoff=0.001, concurrency=1, probe_after=0.15, probe_timeout=0.3)
        (result,) = judge.ask_many([verdict(1)])
        judge.close()
        assert server.request_count == 4  # every retry was made (3 timeouts without an answer would halt)
    assert judge.unreachable is None
    assert result.error is not None and "failed after 4 attempt(s)" in result.error and "Timeout" in result.error


# ---------------------------------------------------------------------------------------- echoed secrets


def echo_everything(server: JudgeServer) -> Any:
    """A reply function that echoes what the request carried: its headers and its query parameters."""

    def reply(body: dict[str, Any]) -> str:
        request = server.requests[-1]  # concurrency 1: the request being answered
        return "Yes. You sent " + json.dumps({"headers": request.headers, "query": request.query})

    return reply


@pytest.mark.parametrize("user_info", [False, True])
def test_an_echoed_key_is_neither_returned_nor_cached(tmp_path: Path, user_info: bool) -> None:
    path = tmp_path / "judge.sqlite"
    basic = base64.b64encode(f"me:{URL_PASSWORD}".encode()).decode()
    with JudgeServer() as server, JudgeCache(path) as cache:
        server.reply = echo_everything(server)
        login = f"me:{URL_PASSWORD}@" if user_info else ""
        url = f"http://{login}127.0.0.1:{server.port}/v1?api_key={URL_KEY}"
        judge = OpenAICompatibleJudge(base_url=url, api_key=SECRET, cache=cache, concurrency=1)
        (result,) = judge.ask_many([verdict(1)])
        judge.close()
        (request,) = server.requests
    # the server really had the secrets: httpx sends the user info of a URL as Basic auth, else the key
    sent = f"Basic {basic}" if user_info else f"Bearer {SECRET}"
    assert request.headers["authorization"] == sent and ("api_key", URL_KEY) in request.query
    assert result.ok and result.text is not None and result.text.startswith("Yes. You sent ")
    assert f'"authorization": "{sent.split()[0]} ***"' in result.text and '["api_key", "***"]' in result.text
    on_disk = raw_cache_bytes(path)
    for secret in (SECRET, URL_KEY, URL_PASSWORD, basic):
        assert secret not in result.text and secret.encode() not in on_disk
    with closing(sqlite3.connect(path)) as conn:
        assert conn.execute("SELECT reply, verdict FROM verdicts").fetchall() == [(result.text, "undetermined")]


def test_a_key_cached_by_an_older_version_is_not_returned(tmp_path: Path) -> None:
    with JudgeServer() as server, JudgeCache(tmp_path / "judge.sqlite") as cache:
        key = cache_key(model="gpt-4o", messages=verdict(1), temperature=0.2, protocol=JUDGE_PROTOCOL_VERSION)
        cache.put(key, model="gpt-4o", protocol=JUDGE_PROTOCOL_VERSION, reply=f"Yes {SECRET}", served_model="m")
        judge = OpenAICompatibleJudge(base_url=server.base_url, api_key=SECRET, cache=cache)
        (result,) = judge.ask_many([verdict(1)])
        judge.close()
        assert server.request_count == 0
    assert result.cached and result.text == "Yes ***"


def test_short_keys_do_not_mangle_replies(tmp_path: Path) -> None:
    with JudgeServer(lambda body: "Yes, the door is open") as server, JudgeCache(tmp_path / "j.sqlite") as cache:
        judge = OpenAICompatibleJudge(base_url=server.base_url, api_key="door", cache=cache)  # under 6 chars
        (result,) = judge.ask_many([verdict(1)])
        judge.close()
    assert result.text == "Yes, the door is open"


# ------------------------------------------------------------------------------- lone surrogates, 20 MB


def test_lone_surrogates_become_replacement_characters(tmp_path: Path) -> None:
    path = tmp_path / "judge.sqlite"
    with JudgeServer(lambda body: "Yes \ud800 and \udfff", model="judge-\udc80") as server, JudgeCache(path) as cache:
        judge = OpenAICompatibleJudge(base_url=server.base_url, api_key="k", cache=cache)
        (result,) = judge.ask_many([verdict(1)])
        judge.close()
    assert result.ok and not result.cached
    assert result.text == "Yes \ufffd and \ufffd" and result.served_model == "judge-\ufffd"
    assert result.text.encode("utf-8") and result.served_model.encode("utf-8")
    with JudgeCache(path) as reopened, closing(sqlite3.connect(path)) as conn:
        (row,) = conn.execute("SELECT key FROM verdicts").fetchall()
        stored = reopened.get(row[0])
        assert stored is not None and stored.reply == result.text and stored.served_model == "judge-\ufffd"
        assert stored.verdict == "undetermined"  # "Yes ..." is not a bare yes
        again = OpenAICompatibleJudge(base_url="http://127.0.0.1:9/v1", api_key="k", cache=reopened)
        (cached,) = again.ask_many([verdict(1)])
        again.close()
    assert cached.cached and cached.text == result.text


def test_lone_surrogates_in_an_error_body_give_an_encodable_error() -> None:
    body = json.dumps({"error": {"message": "bad \ud800 request", "type": "invalid"}})  # "\\ud800" on the wire
    assert "\\ud800" in body
    with JudgeServer(script=[Step("status", status=400, body=body)]) as server:
        judge = OpenAICompatibleJudge(base_url=server.base_url, api_key="k", max_retries=0)
        (result,) = judge.ask_many([verdict(1)])
        judge.close()
    assert result.error is not None and "bad \ufffd request" in result.error
    assert result.error.encode("utf-8")


def test_cache_put_stores_lone_surrogates_as_replacement_characters(tmp_path: Path) -> None:
    with JudgeCache(tmp_path / "judge.sqlite") as cache:
        cache.put("k", model="m", protocol="p", reply="No \udbff", served_model="s\udc00")
        stored = cache.get("k")
    assert stored is not None and (stored.reply, stored.served_model) == ("No \ufffd", "s\ufffd")
    assert replace_lone_surrogates("\U0001f600 ok") == "\U0001f600 ok"  # real pairs are characters, kept


def test_a_20_mb_reply_is_returned_and_cached_whole(tmp_path: Path) -> None:
    path = tmp_path / "judge.sqlite"
    huge = "Yes " + "x" * 20_000_000 + f" {SECRET} \ud800"
    with JudgeServer(lambda body: huge) as server, JudgeCache(path) as cache:
        judge = OpenAICompatibleJudge(base_url=server.base_url, api_key=SECRET, cache=cache)
        (result,) = judge.ask_many([verdict(1)])
        judge.close()
    expected = "Yes " + "x" * 20_000_000 + " *** \ufffd"
    assert result.ok and result.text == expected
    with JudgeCache(path) as reopened, closing(sqlite3.connect(path)) as conn:
        (row,) = conn.execute("SELECT key, length(reply) FROM verdicts").fetchall()
        assert row[1] == len(expected)
        stored = reopened.get(row[0])
        assert stored is not None and stored.reply == expected and stored.verdict == "undetermined"
