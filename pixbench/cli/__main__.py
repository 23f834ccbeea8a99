"""``python -m pixbench.cli``: the ``pixbench`` command."""

from pixbench.cli import main

raise SystemExit(main())
