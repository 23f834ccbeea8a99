"""Loading built benchmarks, above the registry: from a local folder or the hub (:mod:`.hub`, with
:mod:`.sources` deciding which and checking the hub in seconds) and drawing a build's rows for review
(:mod:`.review`, ``pixbench show``). What a built folder is lives below the registry, in :mod:`pixbench.builds`.
"""
