"""Consumers of the licensing service (inbox, idempotent)."""
