"""MoCentric-Bench (PixFoundation 2.0): MeViS referring expressions in motion-altered clips.

:mod:`pixbench.mocentric.views` defines the probes (what is shown, what the right answer is);
the benchmark's registry entry is :mod:`pixbench.benchmarks.mocentric`, its builder
:mod:`pixbench.benchmarks.mocentric.build`, its metrics :mod:`pixbench.metrics.video`.
"""
