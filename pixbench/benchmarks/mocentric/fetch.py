"""Where MoCentric-Bench's own files are published, for ``pixbench fetch annotations`` (and the steps after
``pixbench fetch mevis``).

MoCentric-Bench (PixFoundation 2.0, arXiv 2509.02807) is made from MeViS ``valid_u`` (see ``pixbench fetch mevis``)
and two files of the repository ``MSiam/PixFoundation-2.0-MoCentricBench`` (``data/``, MIT; their content derives
from MeViS, CC BY-NC-SA 4.0), pinned here by commit, size and sha256: ``mevis_keyframes.csv`` (``--keyframes``)
and ``meta_expressions_reverse_filtered.json`` (``--reverse-expressions``), fetched into
``DIR/MoCentric-annotations``.
"""

from __future__ import annotations

from pixbench.benchmarks.raw_inputs import GitHubFile, InputFolder, RawInput

REPOSITORY = "MSiam/PixFoundation-2.0-MoCentricBench"

ANNOTATIONS = InputFolder(
    folder="MoCentric-annotations", title="MoCentric-Bench keyframes and reversed expressions (arXiv 2509.02807)",
    license="MIT (the repository); the content derives from MeViS, CC BY-NC-SA 4.0",
    github=(GitHubFile(REPOSITORY, "9418c99f5af4a0c561f2460c576d4cfaa01b6f50", "data/mevis_keyframes.csv",
                       size=48392, sha256="6d9b940176c956b973e2e4710fa4fb50aa8af43ff33bc5c37ef03ff1ee148060",
                       save_as="mevis_keyframes.csv"),
            GitHubFile(REPOSITORY, "92d4e8f7de00bdfbb62d9239ec81f216d83a56a4",
                       "data/meta_expressions_reverse_filtered.json", size=139089,
                       sha256="1a93d413367873876779fb05c80fd228f58f9e0e308680857f6ab4718aed4079",
                       save_as="meta_expressions_reverse_filtered.json")))

BUILD = ("pixbench", "build", "mocentric", "--mevis", "{to}/MeViS-release",
         "--keyframes", "{to}/MoCentric-annotations/mevis_keyframes.csv",
         "--reverse-expressions", "{to}/MoCentric-annotations/meta_expressions_reverse_filtered.json",
         "--out", "{to}/MoCentric-Bench")

RAW_INPUTS = (
    RawInput("annotations", "MoCentric-Bench's keyframes and reversed expressions (the build needs MeViS too)",
             folders=(ANNOTATIONS,), next_steps=(BUILD,)),
    RawInput("mevis", "MoCentric-Bench is built from the same valid_u (with `fetch annotations`)", next_steps=(
        ("pixbench", "fetch", "annotations", "--to", "{to}"), BUILD)),
)
