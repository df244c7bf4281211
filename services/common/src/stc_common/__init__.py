"""Shared library of the STC licensing platform: settings, logging, database, outbox and
inbox, Kafka envelopes, gRPC bootstrap, auth, and small domain helpers (USCC, working days)."""
