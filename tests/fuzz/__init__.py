"""Fuzzing every route of the three WSGI apps (tests/fuzz/harness.py)."""
