"""Database access: asyncpg pool, migrations, unit of work."""
