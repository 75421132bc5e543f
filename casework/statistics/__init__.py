"""KOF's statistics: figures from case metadata only, put through disclosure control
before anything leaves casework.

- ``tables``: the shapes every part shares (a count table, its released form);
- ``figures``: the SQL aggregations, one table per figure (never content, never a date
  finer than the period);
- ``disclosure``: primary and secondary suppression, checked by linear programming, the
  pattern kept across linked tables and successive releases;
- ``charts``: server-rendered SVG; ``releases``: publishing a quarter or a year (HTML and
  PDF reports); ``export``: the versioned CSV/JSON schema; ``api``: the token-guarded
  open-data API.
"""
