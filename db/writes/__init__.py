"""Statements that change data. Coverage follows in the same transaction (agent_reach triggers)."""
