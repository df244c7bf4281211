"""Repositories of the licensing service: plain SQL over an asyncpg connection."""
