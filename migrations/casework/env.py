"""Alembic environment of the casework database (the shared body is common.alembic_env)."""

from __future__ import annotations

from casework.models import Base
from common.alembic_env import run

run(Base.metadata)
