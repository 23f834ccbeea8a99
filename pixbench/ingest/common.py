"""What every converter needs: the benchmark's id domain, turning a file's own ids into row ids, a built
dataset's ids and image names, and the keys already in a predictions file (for ``--append``).

Benchmark facts come from the registry (:mod:`pixbench.benchmarks`); facts of an external format (which
number a file gives a benchmark's first row) stay with that format's module and are passed in here.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from pixbench.benchmarks import IMAGE_BENCHMARK_NAMES, REGISTRY, ImageBenchmark
from pixbench.jsonl import JsonLinesError, iter_json_lines
from pixbench.problems import shorten

#: ``(model, benchmark, id, probe)``: what identifies a line of a predictions file (``Prediction.key[:4]``).
LineKey = tuple[str, str, int, str]


def benchmark_of(name: str) -> ImageBenchmark:
    """The registered image benchmark called ``name`` (the converters of this package write image
    benchmarks' lines); ``ValueError`` naming the known ones otherwise."""
    benchmark = REGISTRY.get(name) if isinstance(name, str) else None
    if not isinstance(benchmark, ImageBenchmark):
        raise ValueError(f"Expected `benchmark` to be one of {', '.join(IMAGE_BENCHMARK_NAMES)}, "
                         f"but got {shorten(name)}")
    return benchmark


def id_offset(benchmark: str, base: int) -> int:
    """What to add to a file's own id to get the row id, when the file gives the first row the id ``base``.

    ``row id = number - base + first`` where ``first`` is the benchmark's first row id.
    """
    return benchmark_of(benchmark).first_id - base


def dataset_ids(data: str, benchmark: str) -> tuple[set[int], dict[str, int]]:
    """Row ids of a built dataset (folder or hub id) and, for a benchmark whose outputs are named after
    the image (:attr:`~pixbench.benchmarks.base.Benchmark.image_name_column`), image stem -> row id."""
    from pixbench.loaders import hub

    column = benchmark_of(benchmark).image_name_column
    table = hub.load(data, columns=["id"] if column is None else ["id", column])
    row_ids = [int(v) for v in table["id"]]
    names: dict[str, int] = {}
    if column is not None:
        for row_id, source in zip(row_ids, table[column], strict=True):
            stem = PurePosixPath(str(source)).stem
            if stem in names:
                raise ValueError(f"{data}: rows {names[stem]} and {row_id} share the image name {stem!r}")
            names[stem] = row_id
    return set(row_ids), names


def existing_keys(path: str | Path) -> set[LineKey]:
    """``(model, benchmark, id, probe)`` of the lines already in a predictions file.

    Unreadable lines, lines that are not objects, variant lines and lines without an integer id are
    skipped (they can never clash with a converted line). Raises ``ValueError`` when the file as a whole
    cannot be read (not a regular file, no permission).
    """
    path = Path(path)
    keys: set[LineKey] = set()
    try:
        for line in iter_json_lines(path):
            obj = line.value
            if not line.ok or not isinstance(obj, dict) or obj.get("variant") is not None:
                continue
            row_id = obj.get("id", -1)
            if isinstance(row_id, int) and not isinstance(row_id, bool):
                keys.add((str(obj.get("model", path.stem)), str(obj.get("benchmark")), row_id, str(obj.get("probe"))))
    except JsonLinesError as exc:
        raise ValueError(f"{path}: {exc}") from None
    return keys
