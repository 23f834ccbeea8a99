"""`pixbench.chat`: the OpenAI-compatible client knows nothing of the judge; what is the judge's (defaults, protocol
version, verdict parser, role, logger) is passed in. Against a real server on 127.0.0.1."""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from judge_server import running_server

from pixbench.chat import (
    DEFAULT_PROTOCOL,
    ChatClient,
    ChatClientProtocol,
    ChatResult,
    FakeChatClient,
    ReplyCache,
    cache_key,
)
from pixbench.judge import FakeJudge, JudgeResult, OpenAICompatibleJudge, accuracy_messages

REPO = Path(__file__).resolve().parents[2]
ASK = [{"role": "user", "content": "Say A."}]


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "PIXBENCH_CACHE_DIR", "XDG_CACHE_HOME"):
        monkeypatch.delenv(name, raising=False)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_the_client_sends_only_what_it_is_given(tmp_path: Path) -> None:
    with running_server(lambda body: "A") as server:
        client = ChatClient(model="served-vlm", base_url=server.base_url)
        try:
            (result,) = client.ask_many([ASK])
        finally:
            client.close()
        (request,) = server.requests
    assert isinstance(client, ChatClientProtocol) and isinstance(result, ChatResult)
    assert result == ChatResult(text="A", served_model=server.model, cached=False)
    assert request.body == {"model": "served-vlm", "messages": ASK, "temperature": 0.0}  # no max_tokens, no seed
    assert (client.role, client.protocol, client.parse_verdict) == ("chat model", DEFAULT_PROTOCOL, None)


def test_the_judge_is_a_chat_client_with_the_protocols_settings() -> None:
    with running_server() as server:
        judge = OpenAICompatibleJudge(base_url=server.base_url)
        try:
            judge.ask_many([ASK])
        finally:
            judge.close()
        (request,) = server.requests
    assert isinstance(judge, ChatClient) and JudgeResult is ChatResult
    assert request.body["model"] == "gpt-4o" and request.body["temperature"] == 0.2
    assert request.body["max_tokens"] == 32
    assert judge.role == "judge" and judge.protocol == "pixfoundation-judge-v1"
    assert judge.parse_verdict is not None and judge.parse_verdict(
        accuracy_messages(question="Q?", options_text="(a) x", answer="(a)", response="x"), "No.") == "no"
    fake = FakeJudge(lambda messages: "Yes")
    assert isinstance(fake, FakeChatClient) and fake.temperature == 0.2 and fake.protocol == judge.protocol


def test_protocol_and_verdict_parser_are_the_callers(tmp_path: Path) -> None:
    replies = {"one": "sure", "two": "Maybe"}

    def reply(messages: list[dict]) -> str:
        return replies[messages[0]["content"]]

    def verdict(messages: object, text: str | None) -> str:
        return "undetermined" if text == "Maybe" else "fine"

    one, two = [{"role": "user", "content": "one"}], [{"role": "user", "content": "two"}]
    with ReplyCache(tmp_path / "r.sqlite") as cache:
        first = FakeChatClient(reply, cache=cache, protocol="my-prompts-v2", parse_verdict=verdict)
        first.ask_many([one, two])
        key = cache_key(model="fake-model", messages=one, temperature=0.0, protocol="my-prompts-v2")
        stored = cache.get(key)
        assert stored is not None and (stored.reply, stored.verdict) == ("sure", "fine")
        assert cache.count(verdict="undetermined") == 1
        # refresh="undetermined" asks again only the reply its parser could not read
        again = FakeChatClient(reply, cache=cache, protocol="my-prompts-v2", parse_verdict=verdict,
                               refresh="undetermined")
        results = again.ask_many([one, two])
        assert again.calls == 1 and [r.cached for r in results] == [True, False]
        # without a parser no reply is undetermined: nothing is asked again
        blind = FakeChatClient(reply, cache=cache, protocol="my-prompts-v2", refresh="undetermined")
        blind.ask_many([one])
        assert blind.calls == 0
        # another protocol is another key
        other = FakeChatClient(reply, cache=cache, protocol="my-prompts-v3")
        other.ask_many([one])
        assert other.calls == 1


def test_role_and_logger_name_the_client(caplog: pytest.LogCaptureFixture) -> None:
    log = logging.getLogger("tests.chat.served")
    caplog.set_level(logging.INFO, logger=log.name)
    port = _closed_port()
    client = ChatClient(model="m", base_url=f"http://127.0.0.1:{port}/v1", max_retries=0, role="served model",
                        logger=log)
    try:
        results = client.ask_many([[{"role": "user", "content": f"q{i}"}] for i in range(4)])
    finally:
        client.close()
    assert all(not r.ok for r in results)
    assert client.unreachable is not None
    assert client.unreachable.startswith(f"served model at http://127.0.0.1:{port}/v1 is unreachable: 3 consecutive")
    assert any(r.error and r.error.startswith(f"served model request to http://127.0.0.1:{port}/v1 failed after 1 "
                                              "attempt(s)") for r in results)
    assert caplog.records and all(record.name == log.name for record in caplog.records)
    assert any(record.getMessage().startswith("served model m at") for record in caplog.records)
    with pytest.raises(ValueError, match=r"^No API key for the box model at https://api\.openai\.com/v1"):
        ChatClient(model="m", role="box model")
    with pytest.raises(ValueError, match=r"^Expected a served model base URL like"):
        ChatClient(model="m", base_url="ftp://example.org/v1", role="served model")


def test_the_chat_package_imports_nothing_of_the_judge() -> None:
    code = ("import json, sys\n"
            "import pixbench.chat, pixbench.chat.base, pixbench.chat.cache, pixbench.chat.client\n"
            "import pixbench.chat.messages, pixbench.chat.redact\n"
            "print(json.dumps(sorted(m for m in sys.modules if m.startswith(('pixbench.judge', 'pixbench.metrics', "
            "'openai', 'PIL', 'numpy')))))\n")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=REPO,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []
