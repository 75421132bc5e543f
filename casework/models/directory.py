"""Exports of the signed recipient directory (their serials only rise)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import DateTime, Integer
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, utcnow


class DirectoryExport(Base):
    """One exported directory: its serial and when."""

    __tablename__ = "directory_exports"

    serial: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    exported_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
