"""Where a site's files go, how they are written, and what a later build may keep.

Every file is written through :class:`SiteFolder`: to a temporary name beside it, then renamed, so an
interrupted build leaves whole files or none. Media files are named by what they show (the benchmark, the row,
the model's file hash, the probe), so a file that exists is already right and a resumed build skips it
(:meth:`SiteFolder.has`). A data file (``data/....js``) hands one JSON document to ``pixbench.put`` in the page.

``site.json`` records what the site was built from (:class:`Manifest`); a build into a folder that holds no
``site.json`` but other files is refused (the folder is not a site), as is one whose manifest names another
tool.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MANIFEST = "site.json"
#: The names a site folder may hold besides the manifest.
SITE_ENTRIES = frozenset({"index.html", "samples.html", "sample.html", "compare.html", "video.html", "videos.html",
                          "static", "data", "media", MANIFEST})
TOOL = "pixbench view"


class SiteError(ValueError):
    """A site cannot be written where it was asked (not a site folder, unwritable)."""


def slug(text: str, limit: int = 48) -> str:
    """A file-name-safe form of ``text`` (letters, digits, ``-_.``), cut to ``limit`` characters, with a short
    hash of the whole text so that two names that differ only in dropped characters stay apart.

    Examples:
        >>> slug("Qwen/Qwen2.5-VL-7B")
        'Qwen_Qwen2.5-VL-7B-07a2b6'
    """
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._") or "x"
    return f"{safe[:limit]}-{hashlib.sha256(text.encode('utf-8')).hexdigest()[:6]}"


def data_script(key: str, document: Any) -> str:
    """The text of a data file: ``pixbench.put(key, document);`` (``</`` escaped so a string cannot end a
    script element)."""
    payload = json.dumps(document, ensure_ascii=False, separators=(",", ":"), allow_nan=False).replace("</", "<\\/")
    return f"pixbench.put({json.dumps(key)},{payload});\n"


@dataclass(frozen=True)
class Manifest:
    """What a site was built from: the predictions files and reference revisions (by hash) and the settings."""

    inputs: Mapping[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {"tool": TOOL, "inputs": dict(self.inputs)}


class SiteFolder:
    """The folder a site is written to (see the module docstring)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.written = 0
        self.kept = 0
        self.bytes = 0

    def prepare(self) -> bool:
        """Create the folder, or check that it holds a site; whether an earlier build's files may be kept."""
        if self.root.exists() and not self.root.is_dir():
            raise SiteError(f"--out {self.root}: not a folder")
        if not self.root.exists():
            self.root.mkdir(parents=True)
            return False
        entries = {p.name for p in self.root.iterdir()}
        manifest = self.root / MANIFEST
        if not entries:
            return False
        if not manifest.is_file():
            strangers = sorted(entries - SITE_ENTRIES)[:5]
            raise SiteError(f"--out {self.root}: holds files and no {MANIFEST}, so it is not a site pixbench wrote "
                            f"({', '.join(strangers) or ', '.join(sorted(entries)[:5])}); choose a new or empty folder")
        try:
            tool = json.loads(manifest.read_text(encoding="utf-8")).get("tool")
        except (OSError, ValueError, AttributeError) as exc:
            raise SiteError(f"{manifest}: unreadable ({type(exc).__name__}); remove the folder or choose "
                            "another") from None
        if tool != TOOL:
            raise SiteError(f"{manifest}: written by {tool!r}, not {TOOL!r}; choose another folder")
        return True

    def path(self, relative: str) -> Path:
        return self.root / relative

    def has(self, relative: str) -> bool:
        """Whether ``relative`` exists already (a resumed build keeps it)."""
        if (self.root / relative).is_file():
            self.kept += 1
            return True
        return False

    def write_bytes(self, relative: str, data: bytes) -> None:
        """Write ``relative`` whole (temporary file, then rename)."""
        _replace(self.root / relative, data)
        self.written += 1
        self.bytes += len(data)

    def write_text(self, relative: str, text: str) -> None:
        self.write_bytes(relative, text.encode("utf-8"))

    def write_data(self, key: str, document: Any) -> None:
        """``data/<key>.js``: the document handed to ``pixbench.put(key, ...)`` in the page."""
        self.write_text(f"data/{key}.js", data_script(key, document))

    def mark_building(self) -> None:
        """Write a provisional ``site.json`` first (not counted as written): a first build stopped half-way is
        still a site that the next build resumes."""
        if not (self.root / MANIFEST).is_file():
            _replace(self.root / MANIFEST, (json.dumps(Manifest({"state": "building"}).to_json()) + "\n").encode())

    def write_manifest(self, manifest: Manifest) -> None:
        self.write_text(MANIFEST, json.dumps(manifest.to_json(), indent=2, ensure_ascii=False) + "\n")


def _replace(target: Path, data: bytes) -> None:
    """``target`` holds ``data`` whole: written beside it, then renamed over it."""
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    temporary.write_bytes(data)
    os.replace(temporary, target)


def file_hash(path: Path) -> str:
    """The SHA-256 of a file's bytes (hex), read in blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
