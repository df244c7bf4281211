"""Consumers of the screening service."""
