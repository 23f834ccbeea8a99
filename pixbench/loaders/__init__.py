"""One builder per benchmark (:mod:`.pixmmvp`, :mod:`.pixcvbench`), hub folders and loading (:mod:`.hub`)."""
