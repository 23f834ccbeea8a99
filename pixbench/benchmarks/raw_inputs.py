"""Where a benchmark's raw inputs are published, declared by the benchmark so that ``pixbench fetch`` can get them.

A benchmark folder's ``fetch.py`` holds ``RAW_INPUTS``, a tuple of :class:`RawInput`: each is one word of
``pixbench fetch WORD --to DIR`` (several benchmarks may add to one word: ``annotations`` gathers every benchmark's
annotation folder), the folders it lays out under ``DIR`` and the commands to run next. A folder
(:class:`InputFolder`) is named as the builder's option expects it (``DIR/MMVP`` for ``--mmvp``) and is filled
from one public hub dataset repo (:class:`HubFiles`: the repo paths matching its patterns, keeping their paths)
and from files pinned by commit, size and sha256 in a GitHub repository (:class:`GitHubFile`, for an annotation
file the hub copy lacks). A raw input that cannot be downloaded (a license that asks for it, no public copy)
says what to do by hand instead (:attr:`RawInput.by_hand`).

In :attr:`RawInput.next_steps` and :attr:`RawInput.by_hand`, ``{to}`` stands for the destination folder.
This module is only the declarations' shape; :mod:`pixbench.fetching` downloads, checks and lays them out.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

__all__ = ["GitHubFile", "HubFiles", "InputFolder", "RawInput"]


@dataclass(frozen=True)
class HubFiles:
    """The files of the public hub dataset repo ``repo_id`` at ``revision`` (a branch, resolved to one commit when
    fetched, or a commit) whose repo path matches one of ``include`` (``fnmatch`` patterns: ``*`` crosses ``/``),
    laid out with their repo paths. ``required``: repo paths that must be among them (a repo that lost one has
    changed its layout: the fetch stops before downloading)."""

    repo_id: str
    include: tuple[str, ...]
    revision: str = "main"
    required: tuple[str, ...] = ()

    @property
    def page(self) -> str:
        """The repo's file listing on huggingface.co."""
        return f"https://huggingface.co/datasets/{self.repo_id}/tree/{quote(self.revision, safe='')}"


@dataclass(frozen=True)
class GitHubFile:
    """The file ``path`` of the GitHub repository ``repo`` at ``commit``, of ``size`` bytes and digest ``sha256``,
    saved as ``save_as`` in its folder."""

    repo: str
    commit: str
    path: str
    size: int
    sha256: str
    save_as: str

    @property
    def page(self) -> str:
        """The file on github.com."""
        return f"https://github.com/{self.repo}/blob/{self.commit}/{quote(self.path)}"


@dataclass(frozen=True)
class InputFolder:
    """One folder of raw inputs, ``DIR/<folder>``: what it is (``title``, ``license``), its hub files and its
    pinned GitHub files."""

    folder: str
    title: str
    license: str
    hub: HubFiles | None = None
    github: tuple[GitHubFile, ...] = ()


@dataclass(frozen=True)
class RawInput:
    """What ``pixbench fetch <name>`` gets for one benchmark: ``folders`` to download, ``next_steps`` (commands,
    one argument per item, ``{to}`` for the destination) and, when the input cannot be downloaded, ``by_hand``
    (the steps to follow instead, one per item). ``summary`` is its line in ``pixbench fetch --help``."""

    name: str
    summary: str
    folders: tuple[InputFolder, ...] = ()
    next_steps: tuple[tuple[str, ...], ...] = ()
    by_hand: tuple[str, ...] = ()
