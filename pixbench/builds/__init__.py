"""What a built benchmark folder is, below the registry: its layout (:mod:`.layout`: ``data/`` shards, the
card, ``build_summary.json``, the content hash that names a build), reading its parquet shards
(:mod:`.shards`), and writing one (:mod:`.folders`: the staged, atomic, deterministic build every
benchmark's builder uses, card and summary helpers). Builders live in their benchmark's folder
(:mod:`pixbench.benchmarks`); loading a built folder or a hub copy is :mod:`pixbench.loaders`.
"""
