"""The quiet demo/test server (see :mod:`common.serve`)."""

from common.serve import QuietHandler, build_server

__all__ = ["QuietHandler", "build_server"]
