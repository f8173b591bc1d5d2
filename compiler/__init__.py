"""GraphQL selections compiled to one SQL statement, scoped by role: plan.py plans, the field
modules compile, execute.py runs."""
