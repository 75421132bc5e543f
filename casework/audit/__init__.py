"""The tamper-evident audit log (docs/audit.md).

- :mod:`.chain`: the canonical form of an entry, its hash, appending in order;
- :mod:`.record`: every domain event becomes an entry, in the action's transaction;
- :mod:`.checkpoints`: signed heads (key outside the database) and the head file;
- :mod:`.verify`: checking the whole chain, every checkpoint and the head file;
- :mod:`.browse`: the auditor's filtered, paginated view and the export.
"""
