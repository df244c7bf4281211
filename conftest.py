"""Root conftest: the shared fixtures that find the real Kafka and PostgreSQL."""

pytest_plugins = ["stc_common.testing.fixtures"]
