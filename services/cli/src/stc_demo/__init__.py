"""The scripted scenario that tells the story of the Export Control Law through the platform.

It speaks only the public gRPC APIs (as exporters, officers and the public) and is both the
`make run` demo and the end-to-end test (tests/e2e), which asserts every step it records.
"""
