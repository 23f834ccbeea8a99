"""A local HTTP server standing in for the Hugging Face hub (and for raw.githubusercontent.com) in fetch tests.

It answers what ``pixbench fetch`` asks through ``huggingface_hub``, as the hub does:

- ``GET /api/datasets/<owner>/<name>/revision/<revision>?blobs=True`` (``HfApi.dataset_info(files_metadata=True)``):
  ``{"id", "sha", "siblings": [{"rfilename", "size", "blobId", "lfs": {"sha256", "size", "pointerSize"}}]}``;
  an unknown repo is 404 with ``X-Error-Code: RepoNotFound``, an unknown revision 404 with ``RevisionNotFound``
  (the headers ``hf_raise_for_status`` reads);
- ``GET /datasets/<owner>/<name>/resolve/<revision>/<path>``: a file stored in git is served there (``ETag`` its
  blob id, ``X-Repo-Commit``); an LFS file is a 302 to ``/lfs-cdn/<sha256>`` (a CDN in the real hub) with
  ``X-Repo-Commit``, ``X-Linked-Etag`` and ``X-Linked-Size``;
- ``GET /github/<owner>/<repo>/<commit>/<path>``: pinned GitHub files (``PIXBENCH_GITHUB_RAW=<url>/github``);
- ``HEAD /`` and ``HEAD /github``: 200 (the reachability probe).

File bodies honour ``Range: bytes=N-`` (206 with ``Content-Range``). Faults are queued per file and consumed
one per request for it: ``"503"`` (Service Unavailable), ``"corrupt"`` (200 with bytes of the right length but
wrong content), ``"drop"`` (the headers and half of the body, then the connection is closed), ``"stall"`` (half
of the body, then ``stalled`` is set and the rest waits for ``release``). Every request is recorded (method,
path, ``Range`` header).
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, unquote, urlsplit

__all__ = ["FakeHub", "Recorded", "git_blob_id", "running_hub"]


def git_blob_id(data: bytes) -> str:
    """The git blob id of ``data`` (what the hub lists as ``blobId`` for a file stored in git)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


@dataclass(frozen=True)
class Recorded:
    """One request: method, path (unquoted, no query) and its ``Range`` header."""

    method: str
    path: str
    range: str | None


@dataclass
class _Repo:
    commit: str
    files: dict[str, bytes]
    lfs: set[str]
    revisions: set[str]


@dataclass
class FakeHub:
    """The fake hub's content, faults and request log; :func:`running_hub` serves it."""

    repos: dict[str, _Repo] = field(default_factory=dict)
    github: dict[str, bytes] = field(default_factory=dict)
    faults: dict[str, deque[str]] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)
    url: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)
    stalled: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)

    def add_repo(self, repo_id: str, files: Mapping[str, bytes], *, commit: str | None = None,
                 lfs: Callable[[str], bool] = lambda path: not path.endswith((".csv", ".md", ".txt")),
                 revisions: tuple[str, ...] = ("main",)) -> str:
        """Serve the dataset repo ``repo_id`` holding ``files`` (path -> bytes) at ``commit`` (default: a digest of
        the content), reachable by the commit and by each of ``revisions``; ``lfs(path)``: stored with LFS."""
        digest = hashlib.sha1(repr(sorted((p, hashlib.sha256(d).hexdigest()) for p, d in files.items())).encode())
        commit = commit or digest.hexdigest()
        self.repos[repo_id] = _Repo(commit, dict(files), {p for p in files if lfs(p)}, {commit, *revisions})
        return commit

    def add_github(self, repo: str, commit: str, path: str, data: bytes) -> None:
        """Serve ``data`` as ``path`` of the GitHub repository ``repo`` at ``commit``."""
        self.github[f"{repo}/{commit}/{path}"] = data

    def fail(self, key: str, *faults: str) -> None:
        """Queue ``faults`` for the file ``key``: ``"<repo_id>:<path>"``, ``"github:<repo>/<commit>/<path>"`` or
        ``"api:<repo_id>"`` (the listing)."""
        self.faults.setdefault(key, deque()).extend(faults)

    def fault(self, key: str) -> str | None:
        with self.lock:
            queue = self.faults.get(key)
            return queue.popleft() if queue else None

    def count(self, method: str = "GET", prefix: str = "") -> int:
        """Requests of ``method`` whose path starts with ``prefix``."""
        return sum(1 for r in self.requests if r.method == method and r.path.startswith(prefix))

    def file_gets(self) -> list[Recorded]:
        """The GET requests for file content (resolve, CDN and GitHub paths)."""
        return [r for r in self.requests if r.method == "GET" and r.path.startswith(("/datasets/", "/lfs-cdn/",
                                                                                     "/github/"))]


class _Handler(BaseHTTPRequestHandler):
    hub: FakeHub

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass

    def _record(self) -> tuple[str, dict[str, str]]:
        parts = urlsplit(self.path)
        path = unquote(parts.path)
        with self.hub.lock:
            self.hub.requests.append(Recorded(self.command, path, self.headers.get("Range")))
        return path, dict(parse_qsl(parts.query))

    def _send(self, status: int, body: bytes = b"", headers: Mapping[str, str] | None = None,
              content_type: str = "application/octet-stream") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _error(self, status: int, code: str | None = None) -> None:
        headers = {"X-Error-Code": code} if code else {}
        self._send(status, json.dumps({"error": code or "error"}).encode(), headers, "application/json")

    def _serve_bytes(self, data: bytes, key: str, headers: dict[str, str]) -> None:
        fault = self.hub.fault(key)
        if fault == "503":
            self._error(503)
            return
        if fault == "corrupt":
            data = bytes(255 - b for b in data) if data else data
        start = 0
        wanted = self.headers.get("Range")
        if wanted and wanted.startswith("bytes=") and wanted.endswith("-") and fault != "corrupt":
            start = int(wanted[len("bytes="):-1])
        body = data[start:]
        status = 206 if start else 200
        if start:
            headers = {**headers, "Content-Range": f"bytes {start}-{len(data) - 1}/{len(data)}"}
        if fault == "stall":  # half the body, then wait until the test releases the rest
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.hub.stalled.set()
            self.hub.release.wait(10)
            self.wfile.write(body[len(body) // 2:])
            return
        if fault == "drop":
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self._send(status, body, headers)

    def do_HEAD(self) -> None:
        path, _ = self._record()
        self._send(200 if path in ("/", "/github") else 404)

    def do_GET(self) -> None:
        path, query = self._record()
        hub = self.hub
        if path.startswith("/api/datasets/"):
            owner, name, word, revision = path[len("/api/datasets/"):].split("/", 3)
            repo = hub.repos.get(f"{owner}/{name}")
            if word != "revision" or repo is None:
                self._error(404, "RepoNotFound")
            elif revision not in repo.revisions:
                self._error(404, "RevisionNotFound")
            elif hub.fault(f"api:{owner}/{name}") == "503":
                self._error(503)
            else:
                self._listing(f"{owner}/{name}", repo, blobs=query.get("blobs", "").lower() == "true")
        elif path.startswith("/datasets/"):
            owner, name, word, revision, file = path[len("/datasets/"):].split("/", 4)
            repo = hub.repos.get(f"{owner}/{name}")
            if word != "resolve" or repo is None:
                self._error(404, "RepoNotFound")
            elif revision not in repo.revisions:
                self._error(404, "RevisionNotFound")
            elif file not in repo.files:
                self._error(404, "EntryNotFound")
            else:
                data = repo.files[file]
                key = f"{owner}/{name}:{file}"
                headers = {"X-Repo-Commit": repo.commit}
                if file in repo.lfs and not hub.faults.get(key):
                    sha = hashlib.sha256(data).hexdigest()
                    self._send(302, b"", {**headers, "Location": f"{hub.url}/lfs-cdn/{sha}",
                                          "X-Linked-Etag": f'"{sha}"', "X-Linked-Size": str(len(data)),
                                          "ETag": f'"{git_blob_id(data)}"'})
                else:
                    etag = hashlib.sha256(data).hexdigest() if file in repo.lfs else git_blob_id(data)
                    self._serve_bytes(data, key, {**headers, "ETag": f'"{etag}"'})
        elif path.startswith("/lfs-cdn/"):
            sha = path[len("/lfs-cdn/"):]
            found = next(((f"{rid}:{p}", d) for rid, r in hub.repos.items() for p, d in r.files.items()
                          if hashlib.sha256(d).hexdigest() == sha), None)
            if found is None:
                self._error(404)
            else:
                self._serve_bytes(found[1], found[0], {"ETag": f'"{sha}"'})
        elif path.startswith("/github/"):
            key = path[len("/github/"):]
            if key not in hub.github:
                self._error(404)
            else:
                self._serve_bytes(hub.github[key], f"github:{key}", {})
        else:
            self._error(404)

    def _listing(self, repo_id: str, repo: _Repo, *, blobs: bool) -> None:
        siblings = []
        for path in sorted(repo.files):
            data = repo.files[path]
            entry: dict[str, object] = {"rfilename": path}
            if blobs:
                entry.update(size=len(data), blobId=git_blob_id(data) if path not in repo.lfs else
                             hashlib.sha1(f"pointer {path}".encode()).hexdigest())
                if path in repo.lfs:
                    entry["lfs"] = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data), "pointerSize": 134}
            siblings.append(entry)
        body = {"id": repo_id, "sha": repo.commit, "private": False, "siblings": siblings}
        self._send(200, json.dumps(body).encode(), {"X-Repo-Commit": repo.commit}, "application/json")


@contextmanager
def running_hub(hub: FakeHub | None = None) -> Iterator[FakeHub]:
    """Serve ``hub`` (a new empty one by default) on 127.0.0.1 while the block runs; ``hub.url`` is its base URL."""
    hub = hub or FakeHub()
    handler = type("Handler", (_Handler,), {"hub": hub})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    hub.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield hub
    finally:
        server.shutdown()
        server.server_close()
