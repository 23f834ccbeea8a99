"""The raw inputs the benchmarks declare, gathered by name, and the words and commands ``pixbench fetch`` prints.

Each benchmark folder of the registry may hold a ``fetch.py`` with ``RAW_INPUTS`` (see
:mod:`pixbench.benchmarks.raw_inputs`); it is found by the folder of the benchmark's rules module, the way its
``published.tsv`` is. :func:`gather` merges what every benchmark declares under the names asked for (folders
declared twice are one folder; a command declared twice is printed once; under one name, the declarations of
an input got by hand come first). :func:`hub_unavailable` says, within
a few seconds, why the hub cannot be used now (offline mode, or no answer); :func:`steps_by_hand` writes the
commands that get the same folders without pixbench (``hf download``, ``curl`` and ``sha256sum``).
"""

from __future__ import annotations

import importlib
import shlex
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from pixbench.benchmarks.raw_inputs import InputFolder, RawInput
from pixbench.fetching.folders import github_raw_endpoint, hub_endpoint

__all__ = ["Gathered", "command_line", "declared_inputs", "gather", "hub_unavailable", "input_summaries",
           "steps_by_hand"]


def declared_inputs() -> list[RawInput]:
    """Every benchmark's ``RAW_INPUTS``, in registry order (a benchmark without ``fetch.py`` declares none)."""
    from pixbench.benchmarks import REGISTRY

    found: list[RawInput] = []
    for benchmark in REGISTRY.values():
        package = type(benchmark).__module__.rpartition(".")[0]
        try:
            module = importlib.import_module(f"{package}.fetch")
        except ModuleNotFoundError as exc:
            if exc.name == f"{package}.fetch":
                continue
            raise
        found.extend(module.RAW_INPUTS)
    return found


def input_summaries() -> dict[str, list[str]]:
    """name -> the summaries declared under it (for ``--help``), names in order of first declaration."""
    summaries: dict[str, list[str]] = {}
    for raw in sorted(declared_inputs(), key=lambda raw: not raw.by_hand):
        summaries.setdefault(raw.name, []).append(raw.summary)
    return summaries


@dataclass(frozen=True)
class Gathered:
    """What the asked names declare together: ``folders`` to download, ``next_steps`` (command templates) and
    ``by_hand`` (the steps of inputs that cannot be downloaded, by input name)."""

    folders: tuple[InputFolder, ...]
    next_steps: tuple[tuple[str, ...], ...]
    by_hand: dict[str, tuple[str, ...]]


def gather(names: Iterable[str]) -> Gathered:
    """Merge the declarations under ``names``; ``ValueError`` for an unknown name or a folder declared twice
    differently."""
    wanted = list(dict.fromkeys(names))
    declared = declared_inputs()
    unknown = [name for name in wanted if all(raw.name != name for raw in declared)]
    if unknown:
        raise ValueError(f"nothing to fetch called {unknown} (known: {sorted({raw.name for raw in declared})})")
    folders: dict[str, InputFolder] = {}
    steps: dict[tuple[str, ...], None] = {}
    by_hand: dict[str, tuple[str, ...]] = {}
    for name in wanted:
        # an input got by hand comes first under its name: the others build on it
        for raw in sorted((raw for raw in declared if raw.name == name), key=lambda raw: not raw.by_hand):
            for folder in raw.folders:
                if folders.setdefault(folder.folder, folder) != folder:
                    raise ValueError(f"the folder {folder.folder} is declared twice, differently")
            steps.update(dict.fromkeys(raw.next_steps))
            if raw.by_hand:
                by_hand[name] = by_hand.get(name, ()) + raw.by_hand
    return Gathered(tuple(folders.values()), tuple(steps), by_hand)


def command_line(template: Sequence[str], to: Path | str) -> str:
    """A command template with ``{to}`` replaced, quoted for a POSIX shell."""
    return shlex.join(part.replace("{to}", str(to)) for part in template)


def _probe(url: str, seconds: float) -> str | None:
    """``None`` when ``url`` answers an HTTP request (any status) within ``seconds``, else the reason."""
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(urllib.request.Request(url, method="HEAD"), timeout=seconds):
            return None
    except urllib.error.HTTPError:
        return None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return f"{url} cannot be reached ({getattr(exc, 'reason', exc)})"


def hub_unavailable(folders: Sequence[InputFolder]) -> str | None:
    """Why ``folders`` cannot be downloaded now, in a few seconds: the hub's offline mode (``HF_HUB_OFFLINE``),
    or a host that does not answer; ``None`` when it can be tried."""
    from pixbench.loaders.sources import PROBE_SECONDS, hub_offline

    if not folders:
        return None
    if hub_offline():
        return "the Hugging Face hub is off (HF_HUB_OFFLINE=1)"
    hosts = ([hub_endpoint()] if any(f.hub is not None for f in folders) else []) + \
        ([github_raw_endpoint()] if any(f.github for f in folders) else [])
    for host in hosts:
        if (reason := _probe(host, PROBE_SECONDS)) is not None:
            return reason
    return None


def steps_by_hand(folders: Sequence[InputFolder], to: Path | str) -> list[str]:
    """The shell commands that fill ``folders`` under ``to`` without pixbench, with the checks to run."""
    lines: list[str] = []
    for folder in folders:
        root = f"{to}/{folder.folder}"
        lines.append(f"# {folder.title} -> {root} ({folder.license})")
        if folder.hub is not None:
            hub = folder.hub
            include = [arg for pattern in hub.include for arg in ("--include", pattern)]
            lines.append(shlex.join(["hf", "download", hub.repo_id, "--repo-type", "dataset", "--revision",
                                     hub.revision, *include, "--local-dir", root]))
            lines.append(f"#   (or from {hub.page}; `hf download` checks sizes; "
                         "the sha256 of LFS files is shown on each file's page)")
        for pinned in folder.github:
            target = f"{root}/{pinned.save_as}"
            url = f"https://raw.githubusercontent.com/{pinned.repo}/{pinned.commit}/{pinned.path}"
            lines.append(shlex.join(["curl", "-fL", "--create-dirs", "-o", target, url]))
            lines.append(f"echo '{pinned.sha256}  {target}' | sha256sum -c -   # {pinned.size:,} bytes")
    return lines
