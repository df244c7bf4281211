"""Parsers for the public list, control-list and policy files (the only file I/O of the
screening domain). Each parser takes a path and returns domain objects."""
