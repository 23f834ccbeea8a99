"""The benchmark registry: every benchmark pixbench knows, by name.

Each benchmark is one folder of this package: ``rules.py`` implements
:class:`~pixbench.benchmarks.base.Benchmark` (its identity, id domain, hub copy, ground-truth columns and
grouping values, scoring units, breakdowns and analyses, headline metric and summary, builder options; for an
image benchmark also its question prompts and what other tools call its rows, :mod:`~pixbench.benchmarks.harnesses`),
``build.py`` is its builder (imported only to build), ``card.md`` its dataset card template, ``synthetic.py`` its
raw inputs made up offline (for the demo, tests and timing scripts), ``demo.py`` the hook ``pixbench demo`` calls
(``build_demo(work)``, ``demo_predictions(reference)``; the contract is in :mod:`pixbench.benchmarks.demo`) and,
where a paper printed its numbers, ``published.tsv`` (:meth:`~pixbench.benchmarks.base.Benchmark.published_rows`,
each row with its protocol, read by :mod:`pixbench.published`) and, where its raw inputs can be downloaded,
``fetch.py`` (``RAW_INPUTS``: where ``pixbench fetch`` gets them and how it lays them out, in the shapes of
:mod:`.raw_inputs`).
Code outside the folders asks the registry and never names a benchmark. The folders build only on what lies below
the registry (annotation, metrics, builds, runs, chat, judge, results) and on the modules beside them that several
benchmarks share (:mod:`.raw_inputs` for every one; :mod:`.image`, :mod:`.harnesses` and :mod:`.synthetic_images`
for the image benchmarks;
:mod:`.mevis_release` and :mod:`.streamed_build`, a MeViS release read and a build streamed video by video, for
the ones made from MeViS); nothing below imports them. Adding a benchmark is one folder here and one line in
:data:`REGISTRY`.
"""

from __future__ import annotations

from pixbench.benchmarks.base import Benchmark
from pixbench.benchmarks.image import ImageBenchmark
from pixbench.benchmarks.mevis import MEVIS
from pixbench.benchmarks.mocentric import MOCENTRIC
from pixbench.benchmarks.pixcvbench import PIXCVBENCH
from pixbench.benchmarks.pixmmvp import PIXMMVP

#: name -> benchmark, in the order reports list them.
REGISTRY: dict[str, Benchmark] = {benchmark.name: benchmark for benchmark in (PIXMMVP, PIXCVBENCH, MOCENTRIC, MEVIS)}
#: The names, for command-line choices and validation messages.
BENCHMARK_NAMES: tuple[str, ...] = tuple(REGISTRY)


class UnknownBenchmarkError(ValueError):
    """A benchmark name the registry does not hold."""


def get_benchmark(name: str) -> Benchmark:
    """The benchmark called ``name``; :class:`UnknownBenchmarkError` lists the known ones otherwise."""
    try:
        return REGISTRY[name]
    except (KeyError, TypeError):
        raise UnknownBenchmarkError(f"unknown benchmark {name!r} (expected one of {list(REGISTRY)})") from None


def get_image_benchmark(name: str) -> ImageBenchmark:
    """The image benchmark called ``name`` (:class:`UnknownBenchmarkError` for a video or unknown one)."""
    benchmark = get_benchmark(name)
    if not isinstance(benchmark, ImageBenchmark):
        images = [b.name for b in REGISTRY.values() if isinstance(b, ImageBenchmark)]
        raise UnknownBenchmarkError(f"{name!r} is not an image benchmark (expected one of {images})")
    return benchmark


def hub_id_of(name_or_path: str) -> str:
    """The hub repo of a benchmark name (any case), or the argument itself (a path or another repo id)."""
    benchmark = REGISTRY.get(name_or_path.lower())
    return benchmark.hub_id if benchmark is not None else name_or_path


#: The names of the image benchmarks (questions with masks), e.g. for converters of image harnesses.
IMAGE_BENCHMARK_NAMES: tuple[str, ...] = tuple(b.name for b in REGISTRY.values() if isinstance(b, ImageBenchmark))

__all__ = ["BENCHMARK_NAMES", "IMAGE_BENCHMARK_NAMES", "REGISTRY", "Benchmark", "ImageBenchmark",
           "UnknownBenchmarkError", "get_benchmark", "get_image_benchmark", "hub_id_of"]
