"""The embedded PostgreSQL + PostGIS cluster perisai runs when DATABASE_URL is unset (process management, not data)."""
