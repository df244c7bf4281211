"""Test support for the credit service (in-memory fakes of the unit of work); not used at
run time."""
