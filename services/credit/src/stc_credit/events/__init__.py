"""Handlers of the events the credit service consumes."""
