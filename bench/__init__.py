"""Benchmarks for Lykta (run as modules, e.g. ``python -m bench.crypto_bench``)."""
