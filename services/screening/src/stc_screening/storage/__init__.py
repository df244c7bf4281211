"""Repositories of the screening service: plain SQL over asyncpg."""
