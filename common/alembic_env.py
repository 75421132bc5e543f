"""The body of every Alembic environment (``migrations/<app>/env.py`` calls :func:`run`).

There is no ``alembic.ini``: :mod:`common.migrate` builds the Config in code and sets the
main option ``sqlalchemy.url``. Batch mode is on so that later ALTERs work on SQLite.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import MetaData, engine_from_config, pool


def run(target_metadata: MetaData) -> None:
    """Run the migrations of the environment being executed, online or offline."""
    if context.is_offline_mode():
        _offline(target_metadata)
    else:
        _online(target_metadata)


def _offline(target_metadata: MetaData) -> None:
    """Emit SQL to the script output instead of running it (``--sql``)."""
    context.configure(
        url=context.config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _online(target_metadata: MetaData) -> None:
    """Run the migrations on a connection to ``sqlalchemy.url``."""
    config = context.config
    connectable = engine_from_config(
        config.get_section(config.config_ini_section, {}),
        prefix="sqlalchemy.",
        poolclass=pool.NullPool,
    )
    with connectable.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=True,
        )
        with context.begin_transaction():
            context.run_migrations()
    connectable.dispose()
