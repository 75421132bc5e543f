"""``LYKTA_*`` environment variables: settings from the environment, over the file's.

Each setting of an app can be given as ``LYKTA_<APP>_<NAME>``, its name in the app's
file in capitals: ``LYKTA_CASEWORK_DATABASE_URL`` for casework.json's ``database_url``,
``LYKTA_INTAKE_MAX_FILES`` for intake.json's ``max_files``. ``LYKTA_REDIS_URL`` is
casework's ``redis_url`` (the one Redis its nodes and workers share) unless
``LYKTA_CASEWORK_REDIS_URL`` says otherwise. ``LYKTA_INSTANCE`` (read by the apps'
``default_instance``) names the instance folder.

Values are written as in the file, without JSON quotes for text: a text, path, base64 or
hex setting takes the variable's value as it is; every other setting (numbers, true/false,
lists, objects) takes it as JSON (``LYKTA_CASEWORK_HTTPS=false``,
``LYKTA_INTAKE_AGENCIES='["Kommun A"]'``). ``LYKTA_<APP>_<NAME>_FILE`` names a file that
holds the value instead (one trailing newline is dropped), so that secrets come from
systemd credentials or a secrets mount and never sit in a unit file, the environment of
every child process, or the repository.

Why refuse what we do not know: a misspelt variable (``LYKTA_CASEWORK_DATABSE_URL``)
silently ignored would leave a node on its SQLite default while its peers use
PostgreSQL. So an unknown ``LYKTA_<APP>_*`` name stops that app at start-up, like an
unknown name in the file. Messages name variables, never their values: the values
include keys and passwords, and start-up errors reach logs and terminals.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from . import settings
from .settings import ConfigError, Parser

# Parsers that read a JSON string: the variable's value is that string, unquoted.
_TEXT_PARSERS: frozenset[Parser] = frozenset({settings.text, settings.path,
                                              settings.base64_bytes, settings.hex_bytes})
# Shared variables: one name for a setting several processes must agree on.
SHARED = {"LYKTA_REDIS_URL": ("casework", "redis_url")}
FILE_SUFFIX = "_FILE"


def variable(app: str, key: str) -> str:
    """The variable that sets ``app``'s setting ``key`` (its name in the file)."""
    return f"LYKTA_{app.upper()}_{key.upper()}"


def _takes_text(parse: Parser) -> bool:
    return getattr(parse, "wrapped", parse) in _TEXT_PARSERS


def _read_secret_file(name: str, file: str) -> str:
    try:
        value = Path(file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        # Which variable, and why (not found, no permission): never the file's content.
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not UTF-8"
        raise ConfigError(f"{name}{FILE_SUFFIX}: cannot read the file it names "
                          f"({reason})") from exc
    return value.removesuffix("\n")


def overrides(app: str, keys: Mapping[str, str], parsers: Mapping[str, Parser],
              environ: Mapping[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """The settings ``environ`` gives ``app`` (by file name, as JSON values) and, for
    each, a label naming its variable for messages. Raises ConfigError listing every
    unknown variable and every value that cannot be read."""
    prefix = f"LYKTA_{app.upper()}_"
    parser_of = {keys[field]: parse for field, parse in parsers.items()}
    by_variable = {variable(app, key): key for key in keys.values()}
    for shared, (owner, key) in SHARED.items():
        if owner == app and variable(app, key) not in environ \
                and variable(app, key) + FILE_SUFFIX not in environ:
            by_variable[shared] = key
    problems = [
        f"unknown environment variable {name} (settings: LYKTA_{app.upper()}_<name> "
        f"for a name in {app}.json)"
        for name in sorted(environ)
        if name.startswith(prefix) and name not in by_variable
        and name.removesuffix(FILE_SUFFIX) not in by_variable]
    raw: dict[str, Any] = {}
    labels: dict[str, str] = {}
    for name, key in by_variable.items():
        given, file = environ.get(name), environ.get(name + FILE_SUFFIX)
        if given is None and file is None:
            continue
        if given is not None and file is not None:
            problems.append(f"{name} and {name}{FILE_SUFFIX} are both set: keep one")
            continue
        try:
            value = given if given is not None else _read_secret_file(name, str(file))
        except ConfigError as exc:
            problems.append(str(exc))
            continue
        label = f"{key} (from {name if given is not None else name + FILE_SUFFIX})"
        if _takes_text(parser_of[key]):
            raw[key] = value
        else:
            try:
                raw[key] = json.loads(value)
            except ValueError:
                problems.append(f"{label} must be written as JSON (a number, true or "
                                "false, a list or an object)")
                continue
        labels[key] = label
    if problems:
        raise ConfigError(problems[0] if len(problems) == 1 else
                          f"{len(problems)} problems in the {app} environment:\n"
                          + "\n".join(f"- {p}" for p in problems))
    return raw, labels
