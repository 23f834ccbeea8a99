"""What every converter needs: the benchmark's id domain, turning a file's own ids into row ids, a built
dataset's ids and image names, and the keys already in a predictions file (for ``--append``, which also
refuses a file that is not JSON lines).

Benchmark facts come from the registry (:mod:`pixbench.benchmarks`), and so do the facts of the external
formats about each benchmark (which number a file gives a benchmark's first row, how a file names its benchmark:
:attr:`~pixbench.benchmarks.image.ImageBenchmark.harnesses`), which each format's module reads.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from pixbench.benchmarks import IMAGE_BENCHMARK_NAMES, REGISTRY, ImageBenchmark
from pixbench.jsonl import JsonLinesError, iter_json_lines
from pixbench.problems import shorten

if TYPE_CHECKING:
    from pixbench.prediction_records import Prediction

#: What identifies a line of a predictions file (``Prediction.key``): model, benchmark, id, probe, variant, layout.
LineKey = tuple[str, str, int | str, str, str | None, str | None]


def benchmark_of(name: str) -> ImageBenchmark:
    """The registered image benchmark called ``name`` (the converters of this package write image
    benchmarks' lines); ``ValueError`` naming the known ones otherwise."""
    benchmark = REGISTRY.get(name) if isinstance(name, str) else None
    if not isinstance(benchmark, ImageBenchmark):
        raise ValueError(f"Expected `benchmark` to be one of {', '.join(IMAGE_BENCHMARK_NAMES)}, "
                         f"but got {shorten(name)}")
    return benchmark


def image_benchmarks() -> list[ImageBenchmark]:
    """The registered image benchmarks, in the registry's order (read when asked, not at import)."""
    return [benchmark for benchmark in REGISTRY.values() if isinstance(benchmark, ImageBenchmark)]


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


def _json_type(value: object) -> str:
    for kind, name in ((bool, "a boolean"), (int, "a number"), (float, "a number"), (str, "a string"),
                       (list, "an array")):
        if isinstance(value, kind):
            return name
    return "null" if value is None else type(value).__name__


def existing_keys(path: str | Path) -> set[LineKey]:
    """The keys (:attr:`pixbench.predictions.Prediction.key`: model, benchmark, id, probe, variant, layout)
    of the lines already in a predictions file, for refusing duplicates on ``--append``; also the check that
    the file can take appended lines at all.

    The file must be a regular file of JSON lines: UTF-8, every non-blank line a JSON object (read with
    :func:`pixbench.jsonl.iter_json_lines`, so a binary file or a huge line costs little). Anything else
    raises ``ValueError`` naming the file and its first bad line (appending would bury the new lines in it
    or glue them to it), before the file is touched. A last line without its final newline is fine: the
    writer (:func:`pixbench.predictions.write_predictions`) adds it. A line without ``model`` gets the
    file's stem, as the reader does; a line whose ``id`` is not an int or a string cannot clash and is
    left to the reader.
    """
    path = Path(path)
    keys: set[LineKey] = set()
    advice = "--append adds to a file of JSON lines only (one object per line); nothing written"
    try:
        for line in iter_json_lines(path):
            obj = line.value
            if not line.ok:
                raise ValueError(f"{path}: line {line.number}: {line.error}; {advice}")
            if not isinstance(obj, dict):
                raise ValueError(f"{path}: line {line.number}: expected a JSON object, but got "
                                 f"{_json_type(obj)} {shorten(line.text.strip())}; {advice}")
            row_id, variant, layout = obj.get("id"), obj.get("variant"), obj.get("layout")
            if isinstance(row_id, bool) or not isinstance(row_id, (int, str)):
                continue
            keys.add((str(obj.get("model", path.stem)), str(obj.get("benchmark")), row_id, str(obj.get("probe")),
                      None if variant is None else str(variant), None if layout is None else str(layout)))
    except JsonLinesError as exc:
        raise ValueError(f"{path}: {exc}") from None
    return keys


def clashes(predictions: Iterable[Prediction], keys: set[LineKey]) -> list[int | str]:
    """The ids of ``predictions`` whose line key is already in ``keys``, sorted."""
    return sorted((p.id for p in predictions if p.key in keys), key=lambda row_id: (str(type(row_id)), row_id))
