"""Stage 4, results: the document and its JSON Schema, merging shards, diffing two runs,
and the history of one server across its releases."""
