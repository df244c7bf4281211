"""Pure domain of screening: list entries and their diff, name normalisation and matching,
the in-memory screening index, transaction screening and classification help. No I/O."""
