"""The bridge's health record on the casework side."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import DateTime, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base


class BridgeState(Base):
    """When a sync cycle last completed."""

    __tablename__ = "bridge_state"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime)
