"""Where a dataset or model named on the command line comes from: a local path or a hub repo.

Decided without the network, by these rules, in order:

1. a path that exists is that path;
2. a name that looks like a path is a path, and a missing one is "folder not found" (with what the
   nearest existing folder holds): it starts with ``.``, ``~`` or ``/``, holds a backslash or more than one
   ``/``, ends with ``/``, or its first part is an existing folder (``out/PixMMVP`` where ``out/`` exists,
   ``tiny/lava`` where ``tiny/`` exists);
3. an ``owner/name`` form (hub characters only) is a hub repo;
4. anything else is a missing path.

A hub repo is then checked before any library touches it (:func:`check_hub`), so that no one waits minutes
on retries: in offline mode (``HF_HUB_OFFLINE=1``) a model must be in the local cache, and otherwise the
hub endpoint (``HF_ENDPOINT``) must answer within :data:`PROBE_SECONDS`. Every failure is a
:class:`SourceError`: one line that names what was being looked for and the argument to pass instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

__all__ = ["PROBE_SECONDS", "Source", "SourceError", "check_hub", "hub_failure", "hub_offline", "locate"]

#: How long the hub endpoint may take to answer the reachability probe.
PROBE_SECONDS = 3.0
_REPO_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*")


class SourceError(ValueError):
    """A dataset or model that cannot be had: a missing folder, or a hub repo while offline or unreachable."""


@dataclass(frozen=True)
class Source:
    """A local ``path`` (as given, ``~`` expanded) or a ``hub`` repo id."""

    kind: Literal["path", "hub"]
    value: str


def _looks_like_path(name: str) -> bool:
    if name.startswith((".", "~", "/")) or "\\" in name or name.endswith("/") or name.count("/") > 1:
        return True
    first = name.split("/", 1)[0]
    return "/" in name and Path(first).is_dir()


def _nearest_listing(path: Path) -> str:
    """`` (FOLDER holds: a, b, c)`` for the deepest existing folder above ``path``, or ``""``."""
    parent = path.parent
    while str(parent) not in ("", ".") and not parent.is_dir():
        parent = parent.parent
    try:
        names = sorted(p.name + ("/" if p.is_dir() else "") for p in (parent if str(parent) else Path(".")).iterdir()
                       if not p.name.startswith("."))
    except OSError:
        return ""
    if not names or str(parent) in ("", "."):
        return ""
    shown = ", ".join(names[:8]) + (f", ... ({len(names)} entries)" if len(names) > 8 else "")
    return f" ({parent}/ holds: {shown})"


def locate(name_or_path: str, *, what: str, argument: str) -> Source:
    """Where ``name_or_path`` is (module docstring, rules 1-4); :class:`SourceError` for a missing path.

    ``what`` names the thing in messages (``"pixmmvp data"``, ``"--model"``), ``argument`` the option to fix
    (``"--data pixmmvp=PATH"``).
    """
    path = Path(name_or_path).expanduser()
    if path.exists():
        return Source("path", str(path))
    if _looks_like_path(name_or_path) or not _REPO_ID.fullmatch(name_or_path):
        raise SourceError(f"{what} folder not found: {name_or_path}{_nearest_listing(path)}; pass {argument} "
                          "with an existing folder (or an owner/name hub repo)")
    return Source("hub", name_or_path)


def hub_offline() -> bool:
    """Whether huggingface_hub runs offline (``HF_HUB_OFFLINE``)."""
    from huggingface_hub import constants

    return bool(constants.HF_HUB_OFFLINE)


def _endpoint() -> str:
    from huggingface_hub import constants

    return str(constants.ENDPOINT).rstrip("/")


def check_hub(repo_id: str, *, what: str, argument: str, repo_type: Literal["model", "dataset"] = "dataset",
              offline_cache: bool = False) -> None:
    """Fail at once with a :class:`SourceError` when ``repo_id`` cannot come from the hub now.

    Offline (``HF_HUB_OFFLINE``): with ``offline_cache`` the repo must be in the local hub cache (checked
    on disk); otherwise the calling library is left to read its own cache. Online: the endpoint must answer
    an HTTP request (any status) within :data:`PROBE_SECONDS`.
    """
    if hub_offline():
        if not offline_cache:
            return
        from huggingface_hub import snapshot_download

        try:
            snapshot_download(repo_id, repo_type=repo_type, local_files_only=True)
        except Exception:  # LocalEntryNotFoundError and friends: not cached
            raise SourceError(f"{what}: {repo_id!r} is a hub repo{_no_folder(repo_id)}, the hub is off "
                              f"(HF_HUB_OFFLINE=1) and it is not in the local cache; pass {argument} with a "
                              "local folder") from None
        return
    import urllib.error
    import urllib.request

    endpoint = _endpoint()
    request = urllib.request.Request(endpoint, method="HEAD")
    try:
        with urllib.request.urlopen(request, timeout=PROBE_SECONDS):
            pass
    except urllib.error.HTTPError:
        return  # the endpoint answered
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise SourceError(f"{what}: {repo_id!r} is a hub repo{_no_folder(repo_id)} and the hub ({endpoint}) "
                          f"cannot be reached ({reason}); pass {argument} with a local folder, or set "
                          "HF_HUB_OFFLINE=1 to use a copy in the local cache") from None


def hub_failure(exc: BaseException, repo_id: str, *, what: str, argument: str) -> SourceError:
    """The one-line :class:`SourceError` for a hub call that failed with ``exc``."""
    reason = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
    mode = " (offline: HF_HUB_OFFLINE=1)" if hub_offline() else ""
    return SourceError(f"{what}: cannot get {repo_id!r} from the Hugging Face hub{mode}{_no_folder(repo_id)}: "
                       f"{type(exc).__name__}: {reason}; pass {argument} with a local folder")


def _no_folder(repo_id: str) -> str:
    """`` (there is no folder ./owner/name either)``: a hub id is also a relative path someone may have meant."""
    return f" (there is no folder ./{repo_id} either)"

