"""``python -m pixbench.baselines ARGS``: the earlier spelling of ``python -m pixbench baseline ARGS``, kept so that
``accelerate launch -m pixbench.baselines attend-segment ...`` still works. It runs the ``pixbench`` entry point
(by module name, so that this package imports nothing above it) with ``baseline`` put before the first
argument that is not an option (``-v`` stays the top-level flag)."""

import runpy
import sys

arguments = sys.argv[1:]
first = next((k for k, a in enumerate(arguments) if not a.startswith("-")), len(arguments))
sys.argv[1:] = [*arguments[:first], "baseline", *arguments[first:]]
runpy.run_module("pixbench", run_name="__main__", alter_sys=True)
