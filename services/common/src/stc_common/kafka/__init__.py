"""Kafka: topic registry, producer and consumer set-up, envelopes."""
