"""Plumbing shared by intake and casework: database sessions and migrations (no crypto)."""
