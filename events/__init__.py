"""Change events: PostgreSQL LISTEN/NOTIFY fanned out to this process's subscribers."""
