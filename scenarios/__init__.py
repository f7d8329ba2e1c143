"""Practical-exam scenarios: the schema, the loader/validator and the scenario library (data files)."""
