"""Test support for the end-user service (in-memory fakes of the unit of work); not used at
run time."""
