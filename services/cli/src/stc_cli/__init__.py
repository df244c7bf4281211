"""The `stc` command: a front end that speaks only the platform's public gRPC APIs and Kafka."""
