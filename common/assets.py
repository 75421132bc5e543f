"""The stylesheet both apps share, served by each app at /assets/ from common/static."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Flask

STATIC = Path(__file__).resolve().parent / "static"


def register_assets(app: Flask) -> None:
    """Serve common/static at /assets/ (endpoint ``assets.static``)."""
    app.register_blueprint(Blueprint("assets", __name__, static_folder=str(STATIC),
                                     static_url_path="/assets"))
