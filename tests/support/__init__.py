"""Helpers that the tests and the benchmarks share, each written once.

- ``casework``: a casework app with its units, enrolled staff and fresh TOTP codes,
  CSRF tokens, and an intake app linked to it (as tests/casework and bench/ build them);
- ``hostile_files``: the hostile PNGs and PDFs fed to the scrubber;
- ``processes``: a process and its descendants, from /proc.

Nothing here is a pytest fixture: fixtures wrap these functions in the tests' conftest.
"""
