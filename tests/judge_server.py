"""A real local OpenAI-compatible chat-completions server for tests and benchmarks.

``POST /v1/chat/completions`` answers with a proper ``chat.completion`` JSON body (``id``, ``object``,
``created``, ``model``, ``choices[0].message.content``, ``usage``). Each test configures:

- ``reply(body) -> str | None``: the assistant text for a parsed request body (default ``"Yes"``);
- ``delay``: seconds to wait before answering every request (latency);
- ``script``: steps consumed one per request, first in first out (:func:`rate_limited`,
  :func:`server_error`, :func:`garbage`, :func:`empty_content`, :func:`drop_connection`, :func:`ok`);
  when it is exhausted, ``always`` (if set) answers every request, else a normal reply.

It records every request (path without the query, the query parameters, headers, parsed body, arrival
time), counts them and tracks the largest
number of requests in flight at once. Use :func:`running_server` (a context manager) or
``JudgeServer(...).start()`` / ``.stop()``. Import it in tests as ``from judge_server import ...``.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Literal
from urllib.parse import parse_qsl, urlsplit

__all__ = [
    "JudgeServer",
    "RecordedRequest",
    "Step",
    "drop_connection",
    "empty_content",
    "garbage",
    "ok",
    "rate_limited",
    "running_server",
    "server_error",
]

StepKind = Literal["ok", "status", "garbage", "empty", "drop"]
Reply = Callable[[dict[str, Any]], str | None]


@dataclass(frozen=True)
class Step:
    """How the server answers one request; build it with the helper functions below."""

    kind: StepKind
    status: int = 200
    body: str = ""
    content_type: str = "application/json"
    headers: tuple[tuple[str, str], ...] = ()
    echo_authorization: bool = False


def ok() -> Step:
    """A normal completion from the reply function."""
    return Step("ok")


def rate_limited(retry_after: float | str | None = None) -> Step:
    """HTTP 429 with an OpenAI-style error body and, if given, a ``Retry-After`` header."""
    headers = () if retry_after is None else (("Retry-After", str(retry_after)),)
    body = json.dumps({"error": {"message": "Rate limit reached", "type": "requests", "code": "rate_limit"}})
    return Step("status", status=429, body=body, headers=headers)


def server_error(status: int = 500, *, echo_authorization: bool = False) -> Step:
    """An HTTP error status; ``echo_authorization`` puts the request's Authorization header in the body."""
    body = json.dumps({"error": {"message": "The server had an error", "type": "server_error"}})
    return Step("status", status=status, body=body, echo_authorization=echo_authorization)


def garbage(body: str = "<html><body>502 Bad Gateway</body></html>", content_type: str = "text/html") -> Step:
    """HTTP 200 with a body that is not a chat completion (HTML by default, or broken JSON)."""
    return Step("garbage", body=body, content_type=content_type)


def empty_content() -> Step:
    """A well-formed completion whose message content is the empty string."""
    return Step("empty")


def drop_connection() -> Step:
    """Close the connection without answering (a transport error for the client)."""
    return Step("drop")


@dataclass(frozen=True)
class RecordedRequest:
    """One request as received: the path without its query, the query parameters, headers with lower-case
    names, the parsed JSON body (None if invalid)."""

    path: str
    headers: dict[str, str]
    body: Any
    arrived: float
    query: tuple[tuple[str, str], ...] = ()


class JudgeServer:
    """A threaded HTTP server on 127.0.0.1 (a free port) speaking the chat-completions API."""

    def __init__(
        self,
        reply: Reply | None = None,
        *,
        delay: float = 0.0,
        model: str = "judge-test-2024-01-01",
        script: Iterable[Step] = (),
        always: Step | None = None,
    ) -> None:
        self.reply: Reply = reply if reply is not None else (lambda body: "Yes")
        self.delay = delay
        self.model = model
        self.always = always
        self._script: deque[Step] = deque(script)
        self._lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self._in_flight = 0
        self.max_in_flight = 0
        self._ids = itertools.count(1)
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- configuration and inspection
    def push(self, *steps: Step) -> None:
        """Append steps to the script."""
        with self._lock:
            self._script.extend(steps)

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    @property
    def request_count(self) -> int:
        with self._lock:
            return len(self._requests)

    def reset(self) -> None:
        """Forget recorded requests and the in-flight maximum (the script is kept)."""
        with self._lock:
            self._requests.clear()
            self.max_in_flight = 0

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("JudgeServer is not running")
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        """The OpenAI base URL, ``http://127.0.0.1:PORT/v1``."""
        return f"http://127.0.0.1:{self.port}/v1"

    # -- lifecycle
    def start(self) -> JudgeServer:
        server = self

        class Handler(_Handler):
            owner = server

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, name="judge-server", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> JudgeServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- request handling (called from handler threads)
    def _begin(self, record: RecordedRequest) -> Step:
        with self._lock:
            self._requests.append(record)
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
            if self._script:
                return self._script.popleft()
            return self.always if self.always is not None else Step("ok")

    def _end(self) -> None:
        with self._lock:
            self._in_flight -= 1

    def _completion(self, body: dict[str, Any], content: str | None) -> bytes:
        prompt_words = len(json.dumps(body.get("messages", [])).split())
        reply_words = len((content or "").split())
        return json.dumps(
            {
                "id": f"chatcmpl-test-{next(self._ids)}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": self.model,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": content},
                        "logprobs": None,
                        "finish_reason": "stop",
                    }
                ],
                "usage": {
                    "prompt_tokens": prompt_words,
                    "completion_tokens": reply_words,
                    "total_tokens": prompt_words + reply_words,
                },
            }
        ).encode("utf-8")


class _Handler(BaseHTTPRequestHandler):
    owner: JudgeServer
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in separate writes

    def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
        return

    def _send(
        self, status: int, payload: bytes, content_type: str, headers: Iterable[tuple[str, str]] = ()
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        owner = self.owner
        target = urlsplit(self.path)
        record = RecordedRequest(
            path=target.path,
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
            arrived=time.monotonic(),
            query=tuple(parse_qsl(target.query, keep_blank_values=True)),
        )
        step = owner._begin(record)
        try:
            if owner.delay:
                time.sleep(owner.delay)
            if record.path.rstrip("/") != "/v1/chat/completions" or not isinstance(body, dict):
                error = {"error": {"message": f"unknown route or bad body: {self.path}", "type": "invalid"}}
                self._send(404, json.dumps(error).encode(), "application/json")
            elif step.kind == "drop":
                self.close_connection = True
            elif step.kind == "status":
                text = step.body
                if step.echo_authorization:
                    auth = record.headers.get("authorization")
                    text = json.dumps({"error": {"message": f"bad auth: {auth}"}})
                self._send(step.status, text.encode(), step.content_type, step.headers)
            elif step.kind == "garbage":
                self._send(200, step.body.encode(), step.content_type)
            else:
                content = "" if step.kind == "empty" else owner.reply(body)
                self._send(200, owner._completion(body, content), "application/json")
        finally:
            owner._end()


@contextmanager
def running_server(
    reply: Reply | None = None,
    *,
    delay: float = 0.0,
    model: str = "judge-test-2024-01-01",
    script: Iterable[Step] = (),
    always: Step | None = None,
) -> Iterator[JudgeServer]:
    """Start a :class:`JudgeServer`, yield it, and stop it afterwards."""
    server = JudgeServer(reply, delay=delay, model=model, script=script, always=always)
    with server:
        yield server


def door_question(i: int) -> list[dict[str, object]]:
    """The judge's accuracy messages of a made-up question (door ``i``: open or closed), one per ``i``."""
    from pixbench.judge import accuracy_messages

    return accuracy_messages(question=f"Is door {i} open?", options_text="(a) Open (b) Closed", answer="(a)",
                             response=f"open {i}")
