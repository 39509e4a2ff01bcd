"""The portfolio store: tables, engine, queries and reference data."""
