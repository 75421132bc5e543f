"""Casework blueprints, one per product area."""
