"""Lykta casework: the internal case-management app (built in issue 4)."""
