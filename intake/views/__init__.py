"""Intake blueprints: one per product area."""
