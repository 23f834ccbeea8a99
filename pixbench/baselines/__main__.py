"""``python -m pixbench.baselines``: the ``pixbench baseline`` commands stand-alone (and under accelerate)."""

from pixbench.baselines.cli import main

raise SystemExit(main())
