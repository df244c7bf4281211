"""Repositories of the end-user service: plain SQL over one asyncpg connection."""
