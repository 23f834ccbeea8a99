"""``python -m pixbench``: the ``pixbench`` command (also what ``accelerate launch -m pixbench baseline ...`` runs)."""

from pixbench.cli import main

raise SystemExit(main())
