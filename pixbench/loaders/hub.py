"""Loading built benchmarks (local folders or hub repos) and pushing them to the Hugging Face hub.

``load("IVUlab/PixMMVP")`` and ``load("path/to/built/PixMMVP")`` are ``datasets.load_dataset`` with the
split fixed to ``test`` (``load("path/to/built/MoCentric-Bench", "reversed")`` picks a config);
:func:`decode_masks` turns a row's RLE columns into numpy arrays. Pushing
creates the repo if needed and uploads the folder in one commit, deleting shards of earlier builds.
The token comes from the usual Hugging Face login or ``HF_TOKEN``; it is never printed.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pixbench.annotation import rle as rle_ops
from pixbench.benchmarks import REGISTRY, hub_id_of
from pixbench.builds.layout import BUILD_SUMMARY_FILE, content_hash
from pixbench.loaders.sources import check_hub, hub_failure, locate

logger = logging.getLogger(__name__)

#: Files a push uploads (and the only ones it deletes when stale).
UPLOAD_PATTERNS = ["README.md", BUILD_SUMMARY_FILE, "data/*.parquet"]
#: benchmark name -> its published hub repo (from the registry).
HUB_IDS = {name: benchmark.hub_id for name, benchmark in REGISTRY.items()}


def resolve(name_or_path: str) -> str:
    """A local folder path as is, ``pixmmvp``/``pixcvbench`` as their hub ids, other hub ids as is."""
    if Path(name_or_path).is_dir():
        return str(Path(name_or_path))
    return hub_id_of(name_or_path)


def load(name_or_path: str, config: str | None = None, *, revision: str | None = None, argument: str = "--data PATH",
         **kwargs: Any) -> Any:
    """The benchmark's ``test`` split as a ``datasets.Dataset`` (from a built folder or the hub).

    Where the data is comes from :func:`pixbench.loaders.sources.locate`: a missing folder, or a hub repo
    while the hub is off or unreachable, raises :class:`~pixbench.loaders.sources.SourceError` at once,
    naming ``argument`` (the option that gives a local folder instead).
    """
    from datasets import load_dataset

    what = "data"
    source = locate(resolve(name_or_path), what=what, argument=argument)
    if source.kind == "path":
        return load_dataset(source.value, config, split="test", revision=revision, **kwargs)
    check_hub(source.value, what=what, argument=argument)
    try:
        return load_dataset(source.value, config, split="test", revision=revision, **kwargs)
    except Exception as exc:
        raise hub_failure(exc, source.value, what=what, argument=argument) from None


def decode_masks(row: Mapping[str, Any]) -> dict[str, Any]:
    """``{"mask": HxW bool array, "instance_masks": [HxW bool arrays]}`` for an image benchmark's row;
    ``{"masks": [HxW bool array per frame]}`` for a video expression row (MoCentric-Bench)."""
    if "mask" not in row and "masks" in row:
        return {"masks": [rle_ops.decode(m) for m in row["masks"]]}
    return {"mask": rle_ops.decode(row["mask"]),
            "instance_masks": [rle_ops.decode(m) for m in row.get("instance_masks") or []]}


def mask_array(row: Mapping[str, Any]) -> np.ndarray:
    """The ground-truth mask of a row as an HxW bool array."""
    return rle_ops.decode(row["mask"])


def dataset_revision(name_or_path: str, revision: str | None = None) -> dict[str, str]:
    """What a score report cites: a local folder's path and content hash, or a hub id and commit."""
    resolved = resolve(name_or_path)
    if Path(resolved).is_dir():
        return {"path": str(Path(resolved).resolve()), "sha256": content_hash(Path(resolved))}
    try:
        from huggingface_hub import HfApi

        info = HfApi().dataset_info(resolved, revision=revision)
        return {"hub_id": resolved, "commit": str(info.sha)}
    except Exception as exc:  # offline or unknown repo: say so rather than guess
        logger.warning("could not resolve the hub revision of %s: %s", resolved, exc)
        return {"hub_id": resolved, "commit": revision or "unknown"}


@dataclass(frozen=True)
class PushPlan:
    """What a push uploads and which stale remote files it deletes."""

    repo_id: str
    upload: list[str]
    delete_patterns: list[str]


def plan_push(folder: Path, repo_id: str) -> PushPlan:
    """The files of a built folder that a push sends; raises when the folder is not a build."""
    if not (folder / "README.md").is_file() or not list((folder / "data").glob("*.parquet")):
        raise FileNotFoundError(f"{folder} is not a built benchmark folder (expected README.md and data/*.parquet)")
    files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*")
                   if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts))
    upload = [f for f in files if f in ("README.md", BUILD_SUMMARY_FILE) or
              (f.startswith("data/") and f.endswith(".parquet"))]
    return PushPlan(repo_id, upload, delete_patterns=["data/*.parquet"])


def push(folder: Path, repo_id: str, *, private: bool = False, token: str | None = None,
         commit_message: str | None = None) -> str:
    """Create the dataset repo if needed and upload the build in one commit; return the commit URL."""
    from huggingface_hub import HfApi

    plan = plan_push(folder, repo_id)
    api = HfApi(token=token)
    api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True)
    info = api.upload_folder(
        repo_id=repo_id, repo_type="dataset", folder_path=str(folder), allow_patterns=UPLOAD_PATTERNS,
        delete_patterns=plan.delete_patterns,
        commit_message=commit_message or f"pixbench build ({len(plan.upload)} files)")
    return str(getattr(info, "commit_url", info))
