"""MeViS's ground truth as scoring reads it: one record per expression of each version a build holds.

:class:`MevisRow` holds an expression's frames, its ground truth per frame and whether it refers to nothing;
:class:`MevisReference` the rows of every version a build holds (``v1``, ``v2``) and where they came from;
:class:`MevisLine` what a predictions line of one id is checked against. :func:`read_rows` reads a version's
config from a built folder (:mod:`pixbench.benchmarks.mevis.build` writes it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pixbench.annotation.rle import Rle
from pixbench.builds.shards import read_columns

__all__ = ["COLUMNS", "MevisLine", "MevisReference", "MevisRow", "read_rows"]

#: The columns scoring reads from a version's config.
COLUMNS = ("id", "video_id", "exp_id", "expression", "anno_ids", "no_target", "type", "height", "width",
           "frame_names", "masks")


@dataclass(frozen=True)
class MevisRow:
    """One MeViS expression: its video's frames and its ground truth per frame (``type``: the release's, or
    ``None``; ``no_target``: it refers to no object, so its ground truth is empty in every frame)."""

    id: str
    video_id: str
    exp_id: int
    expression: str
    anno_ids: tuple[int, ...]
    no_target: bool
    type: str | None
    height: int
    width: int
    frame_names: tuple[str, ...]
    masks: tuple[Rle, ...]

    @property
    def target(self) -> str:
        """``single-object``, ``multi-object`` or ``no-target``: how many objects the expression refers to."""
        return "no-target" if self.no_target else "multi-object" if len(set(self.anno_ids)) > 1 else "single-object"

    def listed(self) -> tuple[str, ...]:
        """What ``pixbench mevis ids`` shows of it beside id, video and frames: target kind, the release's type."""
        return self.target, self.type or "-"


@dataclass(frozen=True)
class MevisLine:
    """What a MeViS line of one id is checked against: its video's frame names and frame size, the versions
    that have an expression of that id (``versions``) and the versions the build holds (``built``)."""

    frame_names: tuple[str, ...]
    height: int
    width: int
    versions: frozenset[str]
    built: tuple[str, ...]


@dataclass
class MevisReference:
    """MeViS's ground truth: ``versions`` (version -> id -> row, in the build's row order) and where it came
    from."""

    benchmark: str
    versions: dict[str, dict[str, MevisRow]]
    origin: dict[str, str] = field(default_factory=dict)
    label_set: str | None = None

    def rows_for(self, probe: str) -> dict[str, MevisRow]:
        """The rows a line's probe (its version) is scored on (none for a version the build lacks)."""
        return self.versions.get(probe, {})

    @property
    def expressions(self) -> dict[str, MevisRow]:
        """Every expression of the build: each version's rows in turn, an id two versions share once (as the
        first version has it)."""
        rows: dict[str, MevisRow] = {}
        for version_rows in self.versions.values():
            for row_id, row in version_rows.items():
                rows.setdefault(row_id, row)
        return rows


def _row(table: dict[str, list], k: int) -> MevisRow:
    """Row ``k`` of a shard's columns (``TypeError``, ``ValueError`` or ``KeyError`` when malformed)."""
    kind = table["type"][k]
    return MevisRow(
        id=str(table["id"][k]), video_id=str(table["video_id"][k]), exp_id=int(table["exp_id"][k]),
        expression=str(table["expression"][k]), anno_ids=tuple(int(v) for v in table["anno_ids"][k]),
        no_target=bool(table["no_target"][k]), type=None if kind is None else str(kind),
        height=int(table["height"][k]), width=int(table["width"][k]),
        frame_names=tuple(str(v) for v in table["frame_names"][k]),
        masks=tuple(Rle(size=[int(v) for v in m["size"]], counts=str(m["counts"])) for m in table["masks"][k]))


def _problem(row: MevisRow) -> str | None:
    """What is inconsistent in a row read from a build (``None``: nothing)."""
    if not row.masks or len(row.masks) != len(row.frame_names):
        return f"{len(row.masks)} masks for {len(row.frame_names)} frames"
    bad = next((m["size"] for m in row.masks if m["size"] != [row.height, row.width]), None)
    if bad is not None:
        return f"a mask of size {bad} in a {row.height}x{row.width} video"
    if row.no_target == bool(row.anno_ids):
        return f"no_target is {row.no_target} with anno ids {list(row.anno_ids)}"
    return None


def read_rows(shards: list[Path], version: str) -> dict[str, MevisRow]:
    """The rows of a version's shards by id; ``ValueError`` naming the shard and id when anything is wrong (a
    malformed row, masks that do not match the frames, a no-target flag that contradicts the anno ids, a
    repeated id)."""
    rows: dict[str, MevisRow] = {}
    for shard in shards:
        table = read_columns(shard, COLUMNS, what=f"mevis config {version!r}")
        for k in range(len(table["id"])):
            try:
                row = _row(table, k)
            except (TypeError, ValueError, KeyError) as exc:
                raise ValueError(f"{shard}: row {k} is malformed: {type(exc).__name__}: {exc}") from None
            problem = "repeated" if row.id in rows else _problem(row)
            if problem is not None:
                raise ValueError(f"{shard}: id {row.id}: {problem}")
            rows[row.id] = row
    return rows
