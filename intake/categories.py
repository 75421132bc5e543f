"""What can be reported (policy section 3 and 9), and where a case stands, in both languages.

Keyed by the contract's enums (``common.contract``): the codes are the contract's, the
labels intake's own (its catalogue). Tests check every member has a label, in Swedish
and English, and that no label names a code the contract lacks.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

from common.contract import Category, Outcome, Stage

CATEGORIES: dict[str, LazyString] = {
    Category.CORRUPTION: _l("Corruption or bribery"),
    Category.PROCUREMENT: _l("Favouritism in public procurement"),
    Category.BIAS: _l("Political or ideological bias in casework"),
    Category.ETHICS: _l("Breach of ethics rules"),
    Category.FUNDS: _l("Misuse of public funds"),
    Category.RETALIATION: _l("Retaliation against someone who reported"),
    Category.OTHER: _l("Something else"),
}

STAGES: dict[str, LazyString] = {
    Stage.RECEIVED: _l("Received"),
    Stage.ACKNOWLEDGED: _l("Acknowledged"),
    Stage.ASSESSED: _l("Assessed"),
    Stage.INVESTIGATING: _l("Under investigation"),
    Stage.CONCLUDED: _l("Concluded"),
}

OUTCOMES: dict[str, LazyString] = {
    Outcome.SUBSTANTIATED: _l("Substantiated"),
    Outcome.NOT_SUBSTANTIATED: _l("Not substantiated"),
    Outcome.REFERRED: _l("Referred to another body"),
    Outcome.DISMISSED: _l("Dismissed"),
    Outcome.CLOSED_WITHOUT_FOLLOW_UP: _l("Closed without follow-up"),
}
