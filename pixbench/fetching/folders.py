"""Fetch raw-input folders (:class:`~pixbench.benchmarks.raw_inputs.InputFolder`) under a destination ``DIR``.

1. **Plan** (:func:`plan_folder`): the files ``DIR/<folder>`` should hold. A hub repo is listed once with its file
   metadata (``HfApi.dataset_info(files_metadata=True)``), its branch resolved to one commit so that every file
   comes from the same commit; each file matching the patterns gets its size and digest: the LFS sha256, or the
   git blob sha1 of a file stored in git. Pinned GitHub files come with the sha256 of their declaration. A repo
   lacking a required path, a file without a digest or a path leaving the folder stops the fetch before any
   download.
2. **Verify what is there**: a file with the expected size and digest is kept as it is (a resumed fetch
   downloads nothing more for it); a file with other bytes (damaged, or another revision's) is fetched again.
3. **Download the rest** (:func:`fetch_folders`, ``workers`` files at a time): into
   ``DIR/.pixbench-partial/<folder>/<path>.<digest>.part`` (:func:`partial_path`; a partial file left by a
   killed or interrupted run is continued with an HTTP range request), checked against its digest, then moved
   into place; transient failures and wrong bytes are tried again (:mod:`.transfer`). Files that still fail are
   named in one :class:`FetchError` after the others are done, so a rerun resumes with what is missing; once
   every file is in place the partial folder is removed.
4. **Record** ``DIR/<folder>/.pixbench-fetch.json``: the source (repo, requested revision, commit), license and
   every file's size and digest.

Hub requests go to ``HF_ENDPOINT`` (read when fetching); pinned GitHub files to ``PIXBENCH_GITHUB_RAW``
(default ``https://raw.githubusercontent.com``, for a mirror), without any hub token.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path, PurePosixPath
from typing import Literal
from urllib.parse import quote

from pixbench.benchmarks.raw_inputs import GitHubFile, HubFiles, InputFolder
from pixbench.fetching.digests import Expected, matches
from pixbench.fetching.transfer import ChecksumMismatch, Retry, download_part, with_retries
from pixbench.version import __version__

__all__ = ["DEFAULT_RETRY", "MANIFEST", "PARTIAL_FOLDER", "FetchError", "FolderPlan", "FolderReport", "RemoteFile",
           "fetch_folders", "github_raw_endpoint", "hub_endpoint", "partial_path", "plan_folder"]

#: The record of a fetched folder, inside it.
MANIFEST = ".pixbench-fetch.json"
#: Where partial downloads wait, under the destination.
PARTIAL_FOLDER = ".pixbench-partial"
#: Five tries, 1 s after the first failure, then 2, 4, 8 s.
DEFAULT_RETRY = Retry()
#: Files named in one error before "... and K more".
_SHOWN = 5

Outcome = Literal["kept", "downloaded", "resumed", "repaired"]


class Stopped(Exception):
    """The fetch was interrupted (Ctrl-C): a download stops at its next bytes."""


class FetchError(RuntimeError):
    """A fetch that could not finish: the message names the repo or file, what was expected and what happened."""


def hub_endpoint() -> str:
    """The hub the library talks to (``HF_ENDPOINT``), without a trailing slash."""
    from huggingface_hub import constants

    return str(constants.ENDPOINT).rstrip("/")


def github_raw_endpoint() -> str:
    """Where pinned GitHub files are read from: ``PIXBENCH_GITHUB_RAW`` or ``https://raw.githubusercontent.com``."""
    return os.environ.get("PIXBENCH_GITHUB_RAW", "https://raw.githubusercontent.com").rstrip("/")


@dataclass(frozen=True)
class RemoteFile:
    """A file to have in a folder: its ``path`` there, the ``url`` it comes from, what it must be, and whether
    the hub's headers (token, user agent) go with the request."""

    path: str
    url: str
    expected: Expected
    hub: bool


@dataclass(frozen=True)
class FolderPlan:
    """What ``root`` (``DIR/<folder>``) should hold: ``files`` from ``spec``'s sources, the hub's at ``commit``."""

    spec: InputFolder
    root: Path
    commit: str | None
    files: tuple[RemoteFile, ...]


@dataclass
class FolderReport:
    """What a fetch did to one folder: ``files`` in all, ``kept`` (already there with the right bytes),
    ``downloaded`` (new), ``resumed`` (continued from a partial file), ``repaired`` (there with other bytes and
    fetched again), ``bytes`` received and ``retries`` made."""

    root: Path
    source: str
    files: int
    kept: int = 0
    downloaded: int = 0
    resumed: int = 0
    repaired: int = 0
    bytes: int = 0
    retries: int = 0


def _relative(path: str, where: str) -> str:
    """``path`` as a relative POSIX path that stays inside its folder; :class:`FetchError` otherwise."""
    pure = PurePosixPath(path)
    if not path or pure.is_absolute() or any(part in ("", ".", "..") for part in path.split("/")) or "\\" in path:
        raise FetchError(f"{where}: unsafe file path {path!r} (it would leave its folder); nothing downloaded")
    return pure.as_posix()


def _hub_files(hub: HubFiles, *, retry: Retry, endpoint: str) -> tuple[str, list[RemoteFile]]:
    from huggingface_hub import HfApi

    api = HfApi(endpoint=endpoint)
    where = f"{hub.repo_id} ({hub.revision})"
    info = with_retries(lambda: api.dataset_info(hub.repo_id, revision=hub.revision, files_metadata=True,
                                                 timeout=60),
                        retry=retry, what=f"listing {where}")
    commit = str(info.sha or "")
    if not commit:
        raise FetchError(f"{endpoint}: the listing of {where} names no commit; is HF_ENDPOINT a hub?")
    files = []
    for sibling in info.siblings or []:
        path = sibling.rfilename
        if not any(fnmatchcase(path, pattern) for pattern in hub.include):
            continue
        if sibling.lfs is not None:
            expected = Expected(int(sibling.lfs.size), "sha256", str(sibling.lfs.sha256))
        elif sibling.blob_id and sibling.size is not None:
            expected = Expected(int(sibling.size), "git-sha1", str(sibling.blob_id))
        else:
            raise FetchError(f"{hub.repo_id} at {commit}: {path}: the listing gives no checksum (no LFS sha256, no "
                             "blob id); nothing downloaded")
        url = f"{endpoint}/datasets/{hub.repo_id}/resolve/{commit}/{quote(path)}"
        files.append(RemoteFile(_relative(path, f"{hub.repo_id} at {commit}"), url, expected, hub=True))
    have = {file.path for file in files}
    missing = [path for path in hub.required if path not in have]
    if missing:
        shown = ", ".join(missing[:_SHOWN]) + (f" and {len(missing) - _SHOWN} more" if len(missing) > _SHOWN else "")
        raise FetchError(f"{hub.repo_id} at {commit} ({hub.revision}) does not hold {shown} (patterns "
                         f"{list(hub.include)}, {len(files)} file(s) matched): the repo changed its layout; "
                         f"see {hub.page}. Nothing downloaded")
    return commit, files


def _github_file(pinned: GitHubFile) -> RemoteFile:
    url = f"{github_raw_endpoint()}/{pinned.repo}/{pinned.commit}/{quote(pinned.path)}"
    return RemoteFile(_relative(pinned.save_as, pinned.page), url, Expected(pinned.size, "sha256", pinned.sha256),
                      hub=False)


def plan_folder(spec: InputFolder, to: Path, *, retry: Retry = DEFAULT_RETRY,
                endpoint: str | None = None) -> FolderPlan:
    """What ``to/<spec.folder>`` should hold (module docstring, step 1); :class:`FetchError` or the library's
    error (a missing or gated repo, a revision that does not exist) when it cannot be known."""
    commit: str | None = None
    files: list[RemoteFile] = []
    if spec.hub is not None:
        commit, files = _hub_files(spec.hub, retry=retry, endpoint=endpoint or hub_endpoint())
    files += [_github_file(pinned) for pinned in spec.github]
    seen: dict[str, str] = {}
    for file in files:
        if file.path in seen:
            raise FetchError(f"{spec.folder}: {file.path} comes from both {seen[file.path]} and {file.url}")
        seen[file.path] = file.url
    return FolderPlan(spec, to / _relative(spec.folder, "folder name"), commit, tuple(files))


@dataclass
class _Progress:
    """Bytes received, shown on a tqdm bar (stderr) when asked; safe to update from several threads."""

    show: bool
    total: int
    lock: threading.Lock = field(default_factory=threading.Lock)
    bar: object = None

    def __enter__(self) -> _Progress:
        if self.show:
            from tqdm import tqdm

            self.bar = tqdm(total=self.total, unit="B", unit_scale=True, desc="fetch", file=sys.stderr)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.close()  # type: ignore[attr-defined]

    def add(self, count: int) -> None:
        if self.bar is not None:
            with self.lock:
                self.bar.update(count)  # type: ignore[attr-defined]


def partial_path(to: Path, plan: FolderPlan, file: RemoteFile) -> Path:
    """Where ``file`` is downloaded before it is checked: ``DIR/.pixbench-partial/<folder>/<path>.<digest>.part``
    (one per target and content: a partial file of another revision is never continued)."""
    relative = (plan.root / file.path).relative_to(to)
    return to / PARTIAL_FOLDER / relative.parent / f"{relative.name}.{file.expected.value[:16]}.part"


def _fetch_file(file: RemoteFile, target: Path, partial: Path, *, retry: Retry, headers: dict[str, str],
                progress: Callable[[int], None], retried: Callable[[BaseException], None]) -> tuple[Outcome, int]:
    """Make ``target`` hold ``file``'s bytes; the outcome and the bytes received."""
    repaired = False
    if target.exists() or target.is_symlink():
        if not target.is_symlink() and matches(target, file.expected):
            return "kept", 0
        repaired = True
    resumed = False
    received = 0

    def seen(count: int) -> None:  # every byte received, those of a try that failed half-way included
        nonlocal received
        received += count
        progress(count)

    def attempt() -> None:
        nonlocal resumed
        _, continued = download_part(file.url, partial, file.expected.size, headers=headers if file.hub else {},
                                     progress=seen)
        resumed = resumed or continued
        if not matches(partial, file.expected):
            partial.unlink(missing_ok=True)
            raise ChecksumMismatch(f"{file.url}: the bytes received are not the file's ({file.expected.describe()})")

    with_retries(attempt, retry=retry, what=file.path, on_retry=retried)
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.is_symlink() or target.is_file():
        target.unlink()
    os.replace(partial, target)
    return ("repaired" if repaired else "resumed" if resumed else "downloaded"), received


def _write_manifest(plan: FolderPlan) -> None:
    spec = plan.spec
    record = {
        "pixbench_version": __version__,
        "title": spec.title,
        "license": spec.license,
        "hub": None if spec.hub is None else {"repo_id": spec.hub.repo_id, "revision": spec.hub.revision,
                                              "commit": plan.commit},
        "github": [{"repo": f.repo, "commit": f.commit, "path": f.path, "saved_as": f.save_as} for f in spec.github],
        "files": {file.path: {"size": file.expected.size, file.expected.algorithm: file.expected.value}
                  for file in sorted(plan.files, key=lambda f: f.path)},
    }
    temporary = plan.root / (MANIFEST + ".tmp")
    temporary.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    os.replace(temporary, plan.root / MANIFEST)


def _source(plan: FolderPlan) -> str:
    parts = [f"{plan.spec.hub.repo_id}@{(plan.commit or '')[:12]}"] if plan.spec.hub is not None else []
    parts += [f"{f.repo}@{f.commit[:12]}:{f.path}" for f in plan.spec.github]
    return ", ".join(parts)


def fetch_folders(specs: Sequence[InputFolder], to: Path, *, retry: Retry = DEFAULT_RETRY, workers: int = 8,
                  progress: bool = False) -> list[FolderReport]:
    """Fetch every folder of ``specs`` under ``to`` (module docstring); one report per folder, in order.
    :class:`FetchError` naming the files that failed (the others are in place: rerun to resume)."""
    from huggingface_hub.utils import build_hf_headers

    plans = [plan_folder(spec, to, retry=retry) for spec in specs]
    headers = build_hf_headers()
    partial_root = to / PARTIAL_FOLDER
    reports = [FolderReport(plan.root, _source(plan), len(plan.files)) for plan in plans]
    jobs = [(report, plan, file) for report, plan in zip(reports, plans) for file in plan.files]
    lock = threading.Lock()
    failures: list[str] = []

    stop = threading.Event()

    with _Progress(progress, sum(file.expected.size for _, _, file in jobs)) as bar:
        def received(count: int) -> None:
            if stop.is_set():  # Ctrl-C: stop at the next bytes, the partial file kept for the next run
                raise Stopped("stopped")
            bar.add(count)

        def run(report: FolderReport, plan: FolderPlan, file: RemoteFile) -> None:
            def retried(_: BaseException) -> None:
                with lock:
                    report.retries += 1

            if stop.is_set():
                return
            try:
                outcome, count = _fetch_file(file, plan.root / file.path, partial_path(to, plan, file), retry=retry,
                                             headers=headers, progress=received, retried=retried)
            except Stopped:
                return
            except Exception as exc:
                reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                with lock:
                    failures.append(f"{plan.root / file.path}: {type(exc).__name__}: {reason}")
                return
            with lock:
                setattr(report, outcome, getattr(report, outcome) + 1)
                report.bytes += count

        pool = ThreadPoolExecutor(max_workers=max(1, workers))
        try:
            for future in [pool.submit(run, *job) for job in jobs]:
                future.result()
        except BaseException:
            stop.set()
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        pool.shutdown()
    if failures:
        failures.sort()
        shown = "; ".join(failures[:_SHOWN]) + (f"; ... and {len(failures) - _SHOWN} more" if len(failures) > _SHOWN
                                                 else "")
        done = sum(r.files for r in reports) - len(failures)
        raise FetchError(f"{len(failures)} file(s) could not be fetched after {retry.tries} tries ({done} in place; "
                         f"rerun to resume): {shown}")
    for plan in plans:
        plan.root.mkdir(parents=True, exist_ok=True)
        _write_manifest(plan)
    if partial_root.is_dir():  # every file is in place: what is left there is another revision's
        shutil.rmtree(partial_root)
    return reports
