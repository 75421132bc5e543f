"""Fixed lists both apps share: report categories and agencies, as codes.

A database row of casework holds only codes from these lists, never text a tipster
typed: free text stays inside sealed envelopes. Labels in the reader's language are
each app's own (casework/i18n.py, intake/categories.py), since each app has its own
translation catalogue; agency names are proper names, given here in both languages.
"""

from __future__ import annotations

from types import MappingProxyType

from .contract import Category

# The categories are the contract's enum (one definition); their codes, in its order.
CATEGORY_CODES = tuple(category.value for category in Category)

OTHER_AGENCY = "other"

# code -> (the name intake offers, which is also the Swedish label; the English label).
# The names are the values of intake's DEFAULT_AGENCIES, which its form sends.
_AGENCIES: dict[str, tuple[str, str]] = {
    "arbetsformedlingen": ("Arbetsförmedlingen", "Swedish Public Employment Service"),
    "forsakringskassan": ("Försäkringskassan", "Swedish Social Insurance Agency"),
    "kommun": ("Kommun", "Municipality"),
    "migrationsverket": ("Migrationsverket", "Swedish Migration Agency"),
    "polismyndigheten": ("Polismyndigheten", "Swedish Police Authority"),
    "region": ("Region", "Region"),
    "skatteverket": ("Skatteverket", "Swedish Tax Agency"),
    "trafikverket": ("Trafikverket", "Swedish Transport Administration"),
    OTHER_AGENCY: ("Annan myndighet", "Another agency"),
}
AGENCIES = MappingProxyType(_AGENCIES)
_BY_NAME = {sv.casefold(): code for code, (sv, _en) in _AGENCIES.items() if code != OTHER_AGENCY}


def agency_code(value: str) -> str:
    """The code of an agency as a report names it; anything not on the list is "other".

    A code itself maps to itself, so the mapping can be applied twice.
    """
    cleaned = value.strip()
    if cleaned in _AGENCIES:
        return cleaned
    return _BY_NAME.get(cleaned.casefold(), OTHER_AGENCY)


def agency_label(code: str, language: str) -> str:
    """The agency's name in ``language`` ("sv" or "en"); "other" for anything unknown."""
    sv, en = _AGENCIES.get(code, _AGENCIES[OTHER_AGENCY])
    return en if language == "en" else sv
