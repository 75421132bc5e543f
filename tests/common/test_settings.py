"""common/settings.py: the parsers, the builder and the reading of the file both apps share.

- every parser takes what it should and refuses the rest, naming the setting;
- the builder refuses unknown names (naming them and the known ones) and a missing
  required setting, fills in file defaults and leaves the dataclass's own defaults alone;
- a file that is missing, not JSON or not a JSON object is refused;
- both apps raise the one ConfigError.

The ``assert_*`` functions at the end are the generic checks each app's test_config.py
runs on its own config, through its own ``from_instance``.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass, fields
from pathlib import Path
from typing import Any

import pytest

import crypto
from common import settings
from common.settings import ConfigError, Parser

INSTANCE = Path("/srv/lykta")


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


# --- the parsers -------------------------------------------------------------------------


@pytest.mark.parametrize(("parse", "value", "expected"), [
    (settings.integer, 0, 0), (settings.integer, -7, -7),
    (settings.number, 2, 2.0), (settings.number, 0.25, 0.25),
    (settings.boolean, True, True), (settings.boolean, False, False),
    (settings.text, "sv", "sv"),
    (settings.path, "bodies", INSTANCE / "bodies"),
    (settings.path, "/etc/lykta/directory.signed", Path("/etc/lykta/directory.signed")),
    (settings.base64_bytes, b64(b"k" * 32), b"k" * 32),
    (settings.hex_bytes, "ab" * 32, b"\xab" * 32),
    (settings.argon2, {"t": 2, "m": 16, "p": 2}, crypto.Argon2Params(2, 16, 2)),
    (settings.names, ["Kommun A", "Region B"], ("Kommun A", "Region B")),
    (settings.names, [], ()),
    (settings.optional(settings.text), None, None),
    (settings.optional(settings.text), "", None),
    (settings.optional(settings.hex_bytes), "cd" * 2, b"\xcd" * 2),
    (settings.optional(settings.path), "keys/totp.key", INSTANCE / "keys" / "totp.key"),
])
def test_a_parser_reads_its_kind_of_value(parse: Parser, value: Any, expected: Any) -> None:
    parsed = parse("the_setting", value, INSTANCE)
    assert parsed == expected
    assert type(parsed) is type(expected)


@pytest.mark.parametrize(("parse", "value"), [
    (settings.integer, "10"), (settings.integer, 2.5), (settings.integer, 60.0),
    (settings.integer, True), (settings.integer, None), (settings.integer, [1]),
    (settings.number, "2"), (settings.number, None), (settings.number, False),
    (settings.number, math.nan), (settings.number, math.inf), (settings.number, -math.inf),
    (settings.boolean, "yes"), (settings.boolean, "false"), (settings.boolean, 1),
    (settings.boolean, 0), (settings.boolean, None),
    (settings.text, ""), (settings.text, 1), (settings.text, None), (settings.text, ["a"]),
    (settings.path, ""), (settings.path, 1), (settings.path, False), (settings.path, None),
    (settings.base64_bytes, "not base64!"), (settings.base64_bytes, "abc"),
    (settings.base64_bytes, ""), (settings.base64_bytes, 32), (settings.base64_bytes, None),
    (settings.hex_bytes, "not hex"), (settings.hex_bytes, "zz" * 32),
    (settings.hex_bytes, "abc"), (settings.hex_bytes, 12), (settings.hex_bytes, None),
    (settings.argon2, [1, 8, 1]), (settings.argon2, "t3"), (settings.argon2, None),
    (settings.argon2, {"t": 1, "m": 8}), (settings.argon2, {"t": 1, "m": 8, "p": 1, "x": 1}),
    (settings.argon2, {"t": "1", "m": 8, "p": 1}), (settings.argon2, {"t": 1.5, "m": 8, "p": 1}),
    (settings.argon2, {"t": True, "m": 8, "p": 1}),
    # Whole numbers that crypto refuses: its reason comes with the setting's name.
    (settings.argon2, {"t": 0, "m": 8, "p": 1}), (settings.argon2, {"t": 1, "m": 4, "p": 1}),
    (settings.argon2, {"t": 1, "m": 8, "p": 2}),
    (settings.names, "Kommun"), (settings.names, [1, 2]), (settings.names, None),
    (settings.names, {"a": "b"}),
    (settings.optional(settings.text), 5), (settings.optional(settings.hex_bytes), "zz"),
    (settings.optional(settings.base64_bytes), 32), (settings.optional(settings.path), False),
])
def test_a_parser_refuses_another_value_by_name(parse: Parser, value: Any) -> None:
    with pytest.raises(ConfigError, match=r"^the_setting"):
        parse("the_setting", value, INSTANCE)


SECRET = "k3y-material-that-must-not-be-repeated"


@pytest.mark.parametrize(("parse", "value"), [
    (settings.integer, SECRET), (settings.number, SECRET), (settings.boolean, SECRET),
    (settings.text, [SECRET]), (settings.base64_bytes, [SECRET]),
    (settings.hex_bytes, {"seed": SECRET}), (settings.names, SECRET),
    (settings.argon2, {"t": SECRET, "m": 8, "p": 1}), (settings.path, [SECRET]),
])
def test_a_refusal_never_repeats_the_value(parse: Parser, value: Any) -> None:
    # Settings hold keys and secrets, and start-up errors reach logs and terminals.
    with pytest.raises(ConfigError) as caught:
        parse("secret_key", value, INSTANCE)
    assert SECRET not in str(caught.value) and "secret_key" in str(caught.value)


# --- the builder -------------------------------------------------------------------------


@dataclass(frozen=True)
class Sample:
    instance_path: Path
    token: bytes
    data_path: Path
    database_url: str
    count: int = 3
    note: str | None = None

    def __post_init__(self) -> None:
        if self.count < 1:
            raise ConfigError("count must be at least 1")


KEYS = settings.file_keys(Sample, {"data_path": "data"})
PARSERS: dict[str, Parser] = {
    "token": settings.base64_bytes, "data_path": settings.path,
    "database_url": settings.text, "count": settings.integer,
    "note": settings.optional(settings.text),
}
DEFAULTS: dict[str, Callable[[Path], Any]] = {
    "data_path": lambda instance: instance / "data",
    "database_url": lambda instance: f"sqlite:///{instance / 'sample.sqlite'}",
}


def build(raw: Mapping[str, Any]) -> Sample:
    return settings.build(Sample, raw, INSTANCE, keys=KEYS, parsers=PARSERS,
                          defaults=DEFAULTS, required=("token",), app="sample")


def test_file_keys_are_the_field_names_but_for_the_renamed_and_the_instance_path() -> None:
    assert KEYS == {"token": "token", "data_path": "data", "database_url": "database_url",
                    "count": "count", "note": "note"}


def test_every_setting_given_is_parsed() -> None:
    config = build({"token": b64(b"t" * 4), "data": "d", "database_url": "sqlite://",
                    "count": 9, "note": "n"})
    assert config == Sample(INSTANCE, b"t" * 4, INSTANCE / "d", "sqlite://", 9, "n")


def test_a_setting_left_out_takes_the_file_default_or_else_the_field_default() -> None:
    config = build({"token": b64(b"t" * 4)})
    assert config == Sample(INSTANCE, b"t" * 4, INSTANCE / "data",
                            f"sqlite:///{INSTANCE / 'sample.sqlite'}", 3, None)


def test_an_unknown_setting_is_refused_naming_it_and_the_known_ones() -> None:
    with pytest.raises(ConfigError) as caught:
        build({"token": b64(b"t"), "zeta": 1, "cuont": 2})
    assert str(caught.value) == (
        "unknown setting(s) in sample configuration: cuont, zeta "
        "(known: count, data, database_url, note, token)")


def test_a_field_name_is_unknown_where_the_file_has_another() -> None:
    with pytest.raises(ConfigError, match=r"unknown setting.*data_path"):
        build({"token": b64(b"t"), "data_path": "d"})


def test_a_required_setting_left_out_is_named() -> None:
    with pytest.raises(ConfigError) as caught:
        build({"count": 2})
    assert str(caught.value) == "token is missing from the sample configuration"


def test_a_parser_or_the_dataclass_refusing_stops_the_build() -> None:
    with pytest.raises(ConfigError, match="count must be a whole number"):
        build({"token": b64(b"t"), "count": "2"})
    with pytest.raises(ConfigError, match="count must be at least 1"):
        build({"token": b64(b"t"), "count": 0})


def test_a_later_layer_merges_a_mapping_over_the_files() -> None:
    # What the environment-variable layer will do: its mapping, by file names, wins.
    config = build({**{"token": b64(b"t"), "count": 2}, **{"count": 5, "note": "env"}})
    assert (config.count, config.note) == (5, "env")


# --- the file ------------------------------------------------------------------------------


def test_the_file_holds_a_json_object(tmp_path: Path) -> None:
    (tmp_path / "app.json").write_text('{"count": 2, "note": null}')
    assert settings.read_object(tmp_path / "app.json") == {"count": 2, "note": None}


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"app\.json not found: run `make demo`"):
        settings.read_object(tmp_path / "app.json")


@pytest.mark.parametrize("content", ["", "{", "{'count': 2}", '{"count": 2,}', "\x00"])
def test_a_file_that_is_not_json_is_refused(tmp_path: Path, content: str) -> None:
    (tmp_path / "app.json").write_text(content)
    with pytest.raises(ConfigError, match=r"app\.json is not valid JSON"):
        settings.read_object(tmp_path / "app.json")


@pytest.mark.parametrize("content", ["[]", '"secret"', "3", "null", "true"])
def test_a_file_that_is_not_an_object_is_refused(tmp_path: Path, content: str) -> None:
    (tmp_path / "app.json").write_text(content)
    with pytest.raises(ConfigError, match=r"app\.json must hold a JSON object"):
        settings.read_object(tmp_path / "app.json")


def test_both_apps_raise_the_one_config_error() -> None:
    # One class, so an `except ConfigError` imported from either app catches both.
    import casework.config
    import intake.config

    assert intake.config.ConfigError is ConfigError
    assert casework.config.ConfigError is ConfigError


# --- the generic checks each app runs on its own config ----------------------------------

Load = Callable[[Mapping[str, Any]], Any]


def assert_every_field_is_read(cls: Any, keys: Mapping[str, str],
                               table: Mapping[str, tuple[Any, Any]],
                               minimal: Mapping[str, Any], load: Load) -> Any:
    """``table``: each field of ``cls`` -> (its value in the file, the value the config
    must then hold), none of them the default. Returns the config read from them all."""
    # A new field without file support (or without a line in the table) fails here.
    assert {f.name for f in fields(cls)} - {"instance_path"} == table.keys()
    config = load({keys[name]: value for name, (value, _) in table.items()})
    defaults = load(minimal)
    for item in fields(cls):
        if item.name == "instance_path":
            continue
        expected = table[item.name][1]
        assert getattr(config, item.name) == expected, item.name
        assert getattr(defaults, item.name) != expected, f"{item.name}: pick a non-default"
        if item.default is not MISSING:
            assert getattr(defaults, item.name) == item.default, item.name
    return config


def assert_every_field_refuses_a_wrong_type(cls: Any, keys: Mapping[str, str],
                                            minimal: Mapping[str, Any], load: Load) -> None:
    """Each setting refuses an object (no field reads one) by name, a whole-number setting
    refuses 1.5; null unsets exactly the settings whose default is None and is refused, by
    name, by the others."""
    for item in fields(cls):
        if item.name == "instance_path":
            continue
        key = keys[item.name]
        for wrong in [{}, 1.5] if item.type == "int" else [{}]:
            with pytest.raises(ConfigError, match=rf"^{key}\b"):
                load({**minimal, key: wrong})
        if item.default is None:
            assert getattr(load({**minimal, key: None}), item.name) is None, key
        else:
            with pytest.raises(ConfigError, match=rf"^{key}\b"):
                load({**minimal, key: None})


def assert_a_bad_file_is_refused(from_instance: Callable[[Path], Any], file: Path) -> None:
    """``file`` (in its instance folder) missing, not JSON, not an object."""
    with pytest.raises(ConfigError, match="not found"):
        from_instance(file.parent)
    file.write_text('{"https": true')
    with pytest.raises(ConfigError, match="not valid JSON"):
        from_instance(file.parent)
    file.write_text("[]")
    with pytest.raises(ConfigError, match="JSON object"):
        from_instance(file.parent)
