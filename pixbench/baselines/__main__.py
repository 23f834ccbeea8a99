"""``python -m pixbench.baselines``: the ``pixbench baseline`` commands stand-alone (and under accelerate)."""

from pixbench.cli import run_parser
from pixbench.cli.baseline import build_parser

raise SystemExit(run_parser(build_parser(), None))
