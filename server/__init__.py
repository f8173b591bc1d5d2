"""The HTTP front door: the GraphQL view, middleware and logging that app.py wires together."""
