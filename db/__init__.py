"""Database layer: models, sessions, migrations, query functions and importers (no web, no GraphQL)."""
