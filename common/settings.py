"""Reading an app's configuration: the mechanism intake/config.py and casework/config.py share.

Each app keeps its own frozen dataclass (fields, defaults, range checks in
``__post_init__``) and four tables: each field's name in the file (:func:`file_keys`),
each field's parser (the functions below), the defaults of the fields code must always
pass, and the names a file may not leave out. This module reads the file
(:func:`read_object`) and turns a mapping of file values into the dataclass
(:func:`build`), refusing unknown names, missing required settings and wrong types with a
:class:`ConfigError` that names the setting.

Layers: :func:`build` takes one mapping of settings by their file names, with JSON
values. The file gives one (:func:`read_object`); the environment gives another
(:mod:`common.environment`, the ``LYKTA_*`` variables), merged over the file's
(:func:`load`) before :func:`build`: the parsers, the refusal of unknown names and the
app's validation apply to both alike. Every setting that is missing or wrong is reported
at once, each by its name (and the variable it came from), never by its value.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import os
from collections.abc import Callable, Collection, Mapping
from dataclasses import fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import crypto

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

Config = TypeVar("Config", bound="DataclassInstance")

# A field's parser: (its name in the file, the JSON value, the instance folder) -> value.
Parser = Callable[[str, Any, Path], Any]


class ConfigError(Exception):
    """The configuration is missing something or holds an invalid value."""


def read_object(file: Path) -> dict[str, Any]:
    """The JSON object in ``file`` (an app's ``intake.json`` / ``casework.json``)."""
    try:
        raw = json.loads(file.read_text())
    except FileNotFoundError as exc:
        raise ConfigError(f"{file} not found: run `make demo` (or write the file) first") \
            from exc
    except ValueError as exc:
        raise ConfigError(f"{file} is not valid JSON") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"{file} must hold a JSON object")
    return raw


def file_keys(cls: type[DataclassInstance], renamed: Mapping[str, str]) -> dict[str, str]:
    """Each field's name in the file: its own, unless ``renamed`` gives another. The field
    ``instance_path`` has none: it is the folder the file is in."""
    return {f.name: renamed.get(f.name, f.name) for f in fields(cls)
            if f.name != "instance_path"}


def build(cls: type[Config], raw: Mapping[str, Any], instance_path: Path, *,
          keys: Mapping[str, str], parsers: Mapping[str, Parser],
          defaults: Mapping[str, Callable[[Path], Any]], required: Collection[str],
          app: str, labels: Mapping[str, str] | None = None) -> Config:
    """The config ``cls`` from settings by their file names (``keys``: field -> name).

    Each setting given is read by its field's parser; a field left out takes its value
    from ``defaults`` (called with the instance folder) if it is there, is refused if it
    is ``required``, and otherwise keeps the dataclass's own default. ``app`` names the
    configuration in messages; ``labels`` (file name -> how to name it) says where a
    setting came from, for the ones that came from the environment. Every unknown,
    missing or unreadable setting is reported in one ConfigError, so that an operator
    fixes them all in one go; the app's own range checks then run on the result.
    """
    labels = labels or {}
    problems: list[str] = []
    unknown = sorted(set(raw) - set(keys.values()))
    if unknown:
        problems.append(f"unknown setting(s) in {app} configuration: "
                        f"{', '.join(labels.get(u, u) for u in unknown)} "
                        f"(known: {', '.join(sorted(keys.values()))})")
    values: dict[str, Any] = {"instance_path": instance_path}
    for item in fields(cls):
        if item.name == "instance_path":
            continue
        key = keys[item.name]
        if key in raw:
            try:
                values[item.name] = parsers[item.name](labels.get(key, key), raw[key],
                                                       instance_path)
            except ConfigError as exc:
                problems.append(str(exc))
        elif item.name in defaults:
            values[item.name] = defaults[item.name](instance_path)
        elif item.name in required:
            problems.append(f"{key} is missing from the {app} configuration")
    if len(problems) == 1:
        raise ConfigError(problems[0])
    if problems:
        raise ConfigError(f"{len(problems)} problems in the {app} configuration:\n"
                          + "\n".join(f"- {p}" for p in problems))
    return cls(**values)


def load(file: Path, app: str, keys: Mapping[str, str], parsers: Mapping[str, Parser],
         environ: Mapping[str, str] | None = None) -> tuple[dict[str, Any], dict[str, str]]:
    """The settings of ``app`` from ``file`` with the ``LYKTA_<APP>_*`` variables of
    ``environ`` (default: this process's) over them, and the labels naming the variables.

    The file may be absent when the environment sets anything for the app: a container
    or a systemd unit can carry the whole configuration (secrets through ``*_FILE``
    variables, e.g. systemd credentials), with nothing in the instance folder but data.
    """
    from . import environment  # here: environment imports this module

    environ = os.environ if environ is None else environ
    from_environment, labels = environment.overrides(app, keys, parsers, environ)
    if from_environment and not file.exists():
        return from_environment, labels
    return {**read_object(file), **from_environment}, labels


# --- the parsers ----------------------------------------------------------------------
#
# A refusal says what kind of JSON value came, never the value itself: the settings
# include keys and secrets (``secret_key``, ``sync_signing_seed``, ``instance_salt``),
# and start-up errors end up in logs and on terminals.


def _kind(value: Any) -> str:
    """The JSON kind of ``value``, for a message that must not repeat it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "an empty string" if not value else "a string"
    if isinstance(value, list):
        return "a list"
    return "an object" if isinstance(value, dict) else type(value).__name__


def integer(key: str, value: Any, _: Path) -> int:
    """A whole number (not a boolean, not 2.0)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{key} must be a whole number, not {_kind(value)}")
    return value


def number(key: str, value: Any, _: Path) -> float:
    """A finite number, whole or not (not a boolean)."""
    if isinstance(value, bool) or not isinstance(value, int | float) \
            or not math.isfinite(value):
        raise ConfigError(f"{key} must be a number, not {_kind(value)}")
    return float(value)


def boolean(key: str, value: Any, _: Path) -> bool:
    """true or false (not 0, 1 or "yes")."""
    if not isinstance(value, bool):
        raise ConfigError(f"{key} must be true or false, not {_kind(value)}")
    return value


def text(key: str, value: Any, _: Path) -> str:
    """A non-empty string."""
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{key} must be a non-empty string, not {_kind(value)}")
    return value


def path(key: str, value: Any, instance_path: Path) -> Path:
    """A path, relative to the instance folder unless absolute."""
    return instance_path / text(key, value, instance_path)


def base64_bytes(key: str, value: Any, instance_path: Path) -> bytes:
    """Bytes written in standard base64."""
    try:
        return base64.b64decode(text(key, value, instance_path), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ConfigError(f"{key} must be base64") from exc


def hex_bytes(key: str, value: Any, instance_path: Path) -> bytes:
    """Bytes written in hexadecimal."""
    try:
        return bytes.fromhex(text(key, value, instance_path))
    except ValueError as exc:
        raise ConfigError(f"{key} must be hexadecimal") from exc


def argon2(key: str, value: Any, _: Path) -> crypto.Argon2Params:
    """Argon2 parameters, ``{"t": passes, "m": KiB, "p": lanes}``, as crypto accepts them."""
    if not isinstance(value, dict) or set(value) != {"t", "m", "p"} or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in value.values()):
        raise ConfigError(f'{key} must be {{"t": passes, "m": KiB, "p": lanes}} with whole '
                          f"numbers, not {_kind(value)}")
    try:
        return crypto.Argon2Params.from_dict(value)
    except crypto.CryptoError as exc:
        raise ConfigError(f"{key}: {exc.__cause__ or exc}") from exc


def names(key: str, value: Any, _: Path) -> tuple[str, ...]:
    """A list of strings, as a tuple (the app's validation judges the strings)."""
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{key} must be a list of strings, not {_kind(value)}")
    return tuple(value)


def optional(parse: Parser) -> Parser:
    """``parse``, but null (or an empty string, as older files wrote) leaves the setting
    unset (None)."""
    def parse_optional(key: str, value: Any, instance_path: Path) -> Any:
        return None if value is None or value == "" else parse(key, value, instance_path)
    parse_optional.wrapped = parse  # type: ignore[attr-defined]  # environment.py reads it
    return parse_optional
