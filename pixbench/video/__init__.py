"""Tools over a built video benchmark, above the registry and the predictions reader.

- :mod:`.export`: write one probe of MoCentric-Bench in MeViS's folder layout (frames as JPEG,
  ``meta_expressions.json``), so MeViS inference code runs on it unchanged;
- :mod:`.show`: draw one expression under a probe (an animated GIF and a contact sheet) with its ground truth
  and, optionally, a model's masks from a predictions file.

What a probe shows and what its right answer is, the rows and the scoring live with the benchmark
(:mod:`pixbench.benchmarks.mocentric`); these tools only read a build and draw or copy what the benchmark's
views say (:func:`pixbench.benchmarks.mocentric.views.probe_view`).
"""
