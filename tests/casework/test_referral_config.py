"""referral_authorities in casework.json: the default list, a list of one's own, and
refusals that name the setting, never the value."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from casework import CaseworkConfig
from casework.config import DEFAULT_REFERRAL_AUTHORITIES, ConfigError, ReferralAuthority
from tests.common.test_settings import b64

SECRET = "Hemlig-myndighet-7f3a"  # a value that must never be repeated in a refusal


def load(folder: Path, authorities: Any) -> CaseworkConfig:
    (folder / "casework.json").write_text(json.dumps(
        {"secret_key": b64(b"x" * 32), "referral_authorities": authorities}))
    return CaseworkConfig.from_instance(folder)


def test_the_default_list_names_the_seven_authorities(tmp_path: Path) -> None:
    (tmp_path / "casework.json").write_text(json.dumps({"secret_key": b64(b"x" * 32)}))
    config = CaseworkConfig.from_instance(tmp_path)
    assert config.referral_authorities == DEFAULT_REFERRAL_AUTHORITIES
    assert [a.code for a in config.referral_authorities] == [
        "jo", "riksrevisionen", "aklagarmyndigheten", "ekobrottsmyndigheten",
        "arbetsmiljoverket", "imy", "polisen"]
    assert config.referral_authority("jo") is not None
    assert config.referral_authority("fbi") is None


def test_a_list_of_ones_own_replaces_it(tmp_path: Path) -> None:
    config = load(tmp_path, [{"code": "kammarkollegiet", "name_sv": "Kammarkollegiet",
                              "name_en": "Legal, Financial and Administrative Services"}])
    assert config.referral_authorities == (ReferralAuthority(
        "kammarkollegiet", "Kammarkollegiet", "Legal, Financial and Administrative Services"),)
    assert load(tmp_path, []).referral_authorities == ()  # referral turned off


@pytest.mark.parametrize("value", [
    SECRET,
    [SECRET],
    {"code": SECRET},
    [{"code": SECRET, "name_sv": "x"}],  # a name missing
    [{"code": SECRET, "name_sv": "x", "name_en": "y", "url": "z"}],  # an unknown field
    [{"code": 7, "name_sv": SECRET, "name_en": "y"}],
    [{"code": "Not A Code", "name_sv": SECRET, "name_en": "y"}],
    [{"code": "x" * 33, "name_sv": SECRET, "name_en": "y"}],
    [{"code": "jo", "name_sv": " ", "name_en": SECRET}],
    [{"code": "jo", "name_sv": SECRET, "name_en": "y"},
     {"code": "jo", "name_sv": SECRET, "name_en": "z"}],  # a code twice
])
def test_a_bad_list_is_refused_by_name_without_its_value(tmp_path: Path, value: Any) -> None:
    with pytest.raises(ConfigError, match="referral_authorities") as refused:
        load(tmp_path, value)
    assert SECRET not in str(refused.value) and "x" * 33 not in str(refused.value)
