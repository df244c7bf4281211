"""PostgreSQL repositories of the credit service (plain SQL over asyncpg)."""
