"""Stage 1, the catalogue: which configurations exist (data in ``catalogue.toml``), how
each one starts, and the release sets that pin a server to its past versions."""
