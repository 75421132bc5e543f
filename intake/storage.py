"""Envelope bodies on disk (see :mod:`common.storage`)."""

from common.storage import EnvelopeStore

__all__ = ["EnvelopeStore"]
