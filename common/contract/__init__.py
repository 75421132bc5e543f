"""The contract between intake and casework: every word and message both apps share.

Intake knows nothing of casework beyond this package, and casework nothing of intake.
It is one package of five modules, one per kind of thing shared, because they change
for different reasons:

- :mod:`.terms`: the vocabulary, as enums: report categories, case stages and outcomes,
  envelope kinds, audiences, who wrote a dialogue item, and the purposes that signed
  messages carry (they change with the policy and the law);
- :mod:`.items`: the envelopes that cross the bridge, as frozen dataclasses with ONE wire
  form (JSON with bytes in standard base64), used alike by the HTTP sync and the air-gap
  bundles;
- :mod:`.commands`: casework's commands for intake (register an oral report's receipt,
  forget a purged case's dialogue), in the same wire form;
- :mod:`.sync`: the schemas of the sync's requests and answers (:data:`REQUESTS`,
  :data:`RESPONSES`), built from the items' and commands' parsers; the air-gap bundles'
  are in ``common.bundles``;
- :mod:`.dialogue`: the payloads sealed for the tipster's dialogue, so both sides read
  and write the same fields (a reply's author, the stage it announces) instead of
  guessing from dict keys.

Parsing a wire form checks it strictly (with the primitives of ``common.sync_schema``):
a signature says who sent a message, not that it is well formed. Refusals name the
field, never its value. Labels in the reader's language are each app's own (each has its
own catalogue); tests check both label tables cover every member of every enum here.

Import from ``common.contract`` itself: it re-exports every public name of its modules,
so the two apps' imports do not depend on where inside the contract a name lives.
"""

from __future__ import annotations

from .commands import (
    KEY_ID_HEX,
    MAX_COMMAND_READERS,
    MAX_COMMANDS,
    Command,
    CommandItem,
    CommandKind,
    CommandRefusal,
    DialogueForget,
    ReceiptRegistration,
)
from .dialogue import (
    DialogueMessage,
    DialogueMinutes,
    DialogueReport,
    MinutesAnswer,
    StatusUpdate,
    announced_stage,
    now_iso,
)
from .items import (
    BundledTipsterItem,
    ReplyItem,
    TipsterItem,
    b64,
)
from .sync import (
    REQUESTS,
    RESPONSES,
)
from .terms import (
    FROM_TIPSTER_KINDS,
    TO_TIPSTER_KINDS,
    Audience,
    Author,
    Category,
    DocumentPurpose,
    EnvelopeKind,
    Outcome,
    Stage,
    SyncPurpose,
)

__all__ = [
    "FROM_TIPSTER_KINDS",
    "KEY_ID_HEX",
    "MAX_COMMANDS",
    "MAX_COMMAND_READERS",
    "REQUESTS",
    "RESPONSES",
    "TO_TIPSTER_KINDS",
    "Audience",
    "Author",
    "BundledTipsterItem",
    "Category",
    "Command",
    "CommandItem",
    "CommandKind",
    "CommandRefusal",
    "DialogueForget",
    "DialogueMessage",
    "DialogueMinutes",
    "DialogueReport",
    "DocumentPurpose",
    "EnvelopeKind",
    "MinutesAnswer",
    "Outcome",
    "ReceiptRegistration",
    "ReplyItem",
    "Stage",
    "StatusUpdate",
    "SyncPurpose",
    "TipsterItem",
    "announced_stage",
    "b64",
    "now_iso",
]
