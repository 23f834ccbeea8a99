"""`pixbench.chat.cache`: the reply cache keeps the judge cache's key bytes and file layout (caches written before the
chat package existed still hit), and names itself and its option in its errors."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path

import pytest
from judge_server import running_server

from pixbench.chat import DEFAULT_PROTOCOL, ChatClient, ReplyCache, ReplyCacheError, cache_key
from pixbench.judge import (
    JUDGE_PROTOCOL_VERSION,
    JudgeCache,
    JudgeCacheError,
    OpenAICompatibleJudge,
    accuracy_messages,
)

MESSAGES = [
    {"role": "system", "content": "Caf\u00e9 \u2014 yes?"},
    {"role": "user", "content": [{"type": "text", "text": "Is it?"},
                                 {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}]},
]
#: The SQLite table every earlier pixbench wrote (schema 2), as its judge cache module declared it.
EARLIER_SCHEMA = ("CREATE TABLE verdicts (key TEXT PRIMARY KEY, model TEXT NOT NULL, protocol TEXT NOT NULL, "
                  "reply TEXT NOT NULL CHECK (length(trim(reply)) > 0), served_model TEXT, created REAL NOT NULL, "
                  "verdict TEXT) WITHOUT ROWID")


def earlier_key(model: str, messages: list[dict], temperature: float) -> str:
    """The key as the judge cache documented it: sha256 of the sorted, compact, non-ASCII-kept JSON."""
    payload = {"model": model, "messages": messages, "temperature": float(temperature),
               "protocol": "pixfoundation-judge-v1"}
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def test_key_bytes_are_the_judge_caches() -> None:
    # the value pixbench 0.x's pixbench.judge.cache.cache_key gave for these arguments
    pinned = "88a88c74bf44c5a648281a2d3fbd0b42f1466e561f871c4b6134c93d91385020"
    assert cache_key(model="gpt-4o", messages=MESSAGES, temperature=0.2, protocol=JUDGE_PROTOCOL_VERSION) == pinned
    assert earlier_key("gpt-4o", MESSAGES, 0.2) == pinned
    # the protocol of a client that names none is the one every earlier reply was keyed under
    assert DEFAULT_PROTOCOL == JUDGE_PROTOCOL_VERSION == "pixfoundation-judge-v1"
    assert cache_key(model="m", messages=MESSAGES, temperature=0, protocol="other") != earlier_key("m", MESSAGES, 0)


def test_a_cache_written_before_the_chat_package_hits(tmp_path: Path) -> None:
    """A file laid out and keyed as earlier versions wrote it answers the judge and a served model, asking nothing."""
    judged = accuracy_messages(question="Is the door open?", options_text="(a) Open (b) Closed", answer="(a)",
                               response="open")
    path = tmp_path / "earlier.sqlite"
    with sqlite3.connect(path) as conn:
        conn.execute(EARLIER_SCHEMA)
        conn.execute("PRAGMA user_version = 2")
        conn.execute("INSERT INTO verdicts VALUES (?, 'gpt-4o', 'pixfoundation-judge-v1', 'Yes', 'gpt-4o-2024', 1.0, "
                     "'yes')", (earlier_key("gpt-4o", judged, 0.2),))
        conn.execute("INSERT INTO verdicts VALUES (?, 'served-vlm', 'pixfoundation-judge-v1', 'A', NULL, 1.0, NULL)",
                     (earlier_key("served-vlm", MESSAGES, 0.0),))
    conn.close()
    with running_server(lambda body: "asked") as server, JudgeCache(path) as cache:
        judge = OpenAICompatibleJudge(base_url=server.base_url, cache=cache)
        served = ChatClient(model="served-vlm", base_url=server.base_url, cache=cache, role="served model")
        try:
            (verdict,) = judge.ask_many([judged])
            (reply,) = served.ask_many([MESSAGES])
        finally:
            judge.close()
            served.close()
        assert server.request_count == 0
    assert (verdict.text, verdict.served_model, verdict.cached) == ("Yes", "gpt-4o-2024", True)
    assert (reply.text, reply.cached) == ("A", True)


def test_replies_are_stored_with_the_clients_protocol_and_verdict(tmp_path: Path) -> None:
    judged = accuracy_messages(question="Q?", options_text="(a) x (b) y", answer="(a)", response="x")
    with running_server(lambda body: "Yes") as server, ReplyCache(tmp_path / "r.sqlite") as cache:
        plain = ChatClient(model="m", base_url=server.base_url, cache=cache, protocol="prompts-v7")
        judge = OpenAICompatibleJudge(model="m", base_url=server.base_url, cache=cache, temperature=0.0)
        try:
            plain.ask_many([judged])
            judge.ask_many([judged])
        finally:
            plain.close()
            judge.close()
        assert server.request_count == 2  # another protocol, another key
    with sqlite3.connect(tmp_path / "r.sqlite") as conn:
        rows = sorted(conn.execute("SELECT protocol, verdict FROM verdicts"), key=str)
    conn.close()
    # the chat client knows no verdict parser; the judge stores the protocol's verdict
    assert rows == [("pixfoundation-judge-v1", "yes"), ("prompts-v7", None)]


def test_errors_name_the_cache_and_its_option(tmp_path: Path) -> None:
    folder = tmp_path / "folder"
    folder.mkdir()
    with pytest.raises(ReplyCacheError) as served:
        ReplyCache(folder, option="--cache")
    assert str(served.value) == (f"{folder}: is a folder, not a reply cache file; give --cache a file path such as "
                                 f"replies.sqlite (e.g. {folder / 'replies.sqlite'})")
    with pytest.raises(ReplyCacheError, match=r"not a reply cache file; give a file path such as replies\.sqlite"):
        ReplyCache(folder)
    # the judge's cache says what it always said
    with pytest.raises(JudgeCacheError) as judged:
        JudgeCache(folder)
    assert str(judged.value) == (f"{folder}: is a folder, not a judge cache file; give --judge-cache a file path "
                                 f"such as judge.sqlite (e.g. {folder / 'judge.sqlite'})")
    notes = tmp_path / "notes.txt"
    notes.write_text("keep me")
    with pytest.raises(ReplyCacheError, match=r"is not an SQLite database, so not a reply cache .* give --cache a "
                                              r"file path such as replies\.sqlite that does not exist yet, or an "
                                              r"existing pixbench reply cache"):
        ReplyCache(notes, option="--cache")
    assert notes.read_text() == "keep me"
    app = tmp_path / "app.db"
    with sqlite3.connect(app) as conn:
        conn.execute("CREATE TABLE users (name TEXT)")
    conn.close()
    with pytest.raises(ReplyCacheError, match=r"not a pixbench reply cache \(tables: users\); it was left untouched; "
                                              r"give --cache another file"):
        ReplyCache(app, option="--cache")
    assert JudgeCacheError is ReplyCacheError and issubclass(JudgeCache, ReplyCache)
    with ReplyCache(tmp_path / "x.sqlite") as closed:
        pass
    with pytest.raises(ReplyCacheError, match="the reply cache is closed"):
        len(closed)
    assert repr(closed) == f"ReplyCache({str(tmp_path / 'x.sqlite')!r})"
