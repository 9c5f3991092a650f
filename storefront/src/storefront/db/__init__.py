"""Database access: connection pool, explicit SQL queries, migrations and the local embedded server."""
