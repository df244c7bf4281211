"""Test support shipped with the package: in-memory fakes of the storage ports."""
