"""Training-free baselines of PixFoundation: grounding read from a vanilla MLLM's attention.

A vanilla image-text model answers a probe's prompt; the attention each generated token pays to the image
tokens is captured while it generates (:mod:`~pixbench.baselines.attention`), normalised over the answer,
grouped by the noun phrases of the answer (:mod:`~pixbench.baselines.phrases`), and the peak of each
phrase's map (:mod:`~pixbench.baselines.points`) prompts SAM (:mod:`~pixbench.baselines.sam`), whose
three masks per phrase become candidates. :mod:`~pixbench.baselines.pipeline` does this for one image,
:mod:`~pixbench.baselines.runner` over a benchmark (resumable, data-parallel with accelerate),
:mod:`~pixbench.baselines.autoselect` lets a vision judge choose (PixFoundation), and
:mod:`~pixbench.baselines.explain` reports where in an answer grounding emerges.
:mod:`~pixbench.cli.baseline` holds the ``pixbench baseline`` commands and
:mod:`~pixbench.baselines.tiny` random tiny models for tests and demos.

Importing this package imports neither torch nor transformers; the modules that need them import them
inside their functions and raise ``ImportError`` with ``pip install "pixbench[baselines]"`` when missing.
"""
