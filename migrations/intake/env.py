"""Alembic environment of the intake database (the shared body is common.alembic_env)."""

from __future__ import annotations

from common.alembic_env import run
from intake.models import Base

run(Base.metadata)
