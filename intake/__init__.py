"""Lykta intake: the public, JavaScript-free reporting app (built in issue 3)."""
