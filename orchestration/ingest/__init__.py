"""Extraction of the source systems into the warehouse's `raw` schema (plain code, no Dagster)."""
