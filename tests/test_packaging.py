"""What a built package holds: every Python package and every data file of the apps.

The suite runs from the checkout (an editable install), where a package or a template
missing from pyproject.toml still works; an installed wheel would then lack it.
"""

from __future__ import annotations

import fnmatch
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APPS = ("common", "crypto", "intake", "casework")
SETTINGS = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]


def test_every_python_package_of_the_apps_is_packaged() -> None:
    found = {".".join(init.parent.relative_to(ROOT).parts)
             for app in APPS for init in (ROOT / app).rglob("__init__.py")
             if "__pycache__" not in init.parts}
    assert found == set(SETTINGS["packages"])


def _matches(relative: str, pattern: str) -> bool:
    # As setuptools' globs do: "*" never crosses a "/".
    parts, wanted = relative.split("/"), pattern.split("/")
    return len(parts) == len(wanted) and all(
        fnmatch.fnmatchcase(part, want) for part, want in zip(parts, wanted, strict=True))


def test_every_template_and_catalogue_matches_a_package_data_pattern() -> None:
    for app in ("intake", "casework"):
        patterns = SETTINGS["package-data"][app]
        for path in (ROOT / app).rglob("*"):
            relative = path.relative_to(ROOT / app).as_posix()
            if path.is_file() and path.suffix in {".html", ".mo", ".po", ".css", ".svg"} \
                    and "__pycache__" not in path.parts:
                assert any(_matches(relative, p) for p in patterns), relative
