"""Bearer tokens: issuing them (CLI) and turning them into a `db.access.Viewer` (app, maps)."""
