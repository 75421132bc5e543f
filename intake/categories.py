"""What can be reported (policy section 3 and 9), with labels for both languages."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

CATEGORIES = {
    "corruption": _l("Corruption or bribery"),
    "procurement": _l("Favouritism in public procurement"),
    "bias": _l("Political or ideological bias in casework"),
    "ethics": _l("Breach of ethics rules"),
    "funds": _l("Misuse of public funds"),
    "retaliation": _l("Retaliation against someone who reported"),
    "other": _l("Something else"),
}

STAGES = {
    "received": _l("Received"),
    "acknowledged": _l("Acknowledged"),
    "assessed": _l("Assessed"),
    "investigating": _l("Under investigation"),
    "concluded": _l("Concluded"),
    "escalated": _l("Passed to another body"),
}
