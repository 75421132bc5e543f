"""Sequences of the workflow property test (``test_workflow_properties.py``) that chance
would seldom draw, run as scripts through the same machine and checks: each step is a
method of the machine and its arguments, the people named (``by``) rather than drawn."""

from __future__ import annotations

from typing import Any

from .workflow_world import NAMES


def by(name: str) -> tuple[str, int]:
    """The named person (as an actor, or as the person an action names)."""
    return ("is", [*NAMES, "forged"].index(name))


A, B = 0, 1  # the ethics case (Erik left out), the corruption case (Eva left out)
SCRIPTS: dict[str, list[tuple[str, dict[str, Any]]]] = {
    # A declarer is never given the case back: not by an assignment, a transfer, a
    # handover, nor an escalation; rekeyed, their key opens nothing of it.
    "a declarer stays out": [
        ("assign", {"pick": by("lars"), "which": A, "whom": by("ines")}),
        ("declare_conflict", {"pick": by("eva"), "which": A, "text": "my cousin"}),
        ("declare_conflict", {"pick": by("ines"), "which": A, "text": ""}),
        ("assign", {"pick": by("lars"), "which": A, "whom": by("eva")}),
        ("transfer", {"pick": by("lars"), "which": A, "gives": by("ines"),
                      "takes": by("eva")}),
        ("rekey", {"pick": by("lars"), "which": A}),
        ("assign", {"pick": by("lars"), "which": A, "whom": by("ines")}),
        ("unassign", {"pick": by("lars"), "which": A, "whom": by("ines")}),
        ("hand_over", {"pick": by("lars"), "which": A, "gives": by("ines"),
                       "takes": by("eva")}),
        ("add_note", {"pick": by("eva"), "which": A, "text": ("back", "back")}),
        ("rekey", {"pick": by("eva"), "which": A}),
    ],
    # The tipster's exclusions hold through assignment, transfer, handover, escalation.
    "the excluded stay out": [
        ("assign", {"pick": by("lars"), "which": A, "whom": by("erik")}),
        ("assign", {"pick": by("lars"), "which": A, "whom": by("ines")}),
        ("transfer", {"pick": by("lars"), "which": A, "gives": by("ines"),
                      "takes": by("eva")}),
        ("transfer", {"pick": by("lars"), "which": A, "gives": by("eva"),
                      "takes": by("ines")}),
        ("transfer", {"pick": by("lars"), "which": A, "gives": by("ines"),
                      "takes": by("erik")}),
        ("hand_over", {"pick": by("lars"), "which": A, "gives": by("ines"),
                       "takes": by("erik")}),
        ("escalate", {"pick": by("lena"), "which": B, "unit": "etik", "code": "competence",
                      "text": "theirs"}),
        ("assign", {"pick": by("lars"), "which": B, "whom": by("eva")}),
        ("unassign", {"pick": by("lars"), "which": A, "whom": by("ines")}),
        ("reply", {"pick": by("erik"), "which": B, "text": ("Thanks", "Thanks"),
                   "feedback": True}),
    ],
    # Links need someone who reads both; a merge stays linked.
    "escalate, link, merge": [
        ("escalate", {"pick": by("lars"), "which": A, "unit": "akt", "code": "seriousness",
                      "text": ""}),
        ("escalate", {"pick": by("lena"), "which": B, "unit": "etik",
                      "code": "competence", "text": "both"}),
        ("escalate", {"pick": by("lena"), "which": B, "unit": "kof", "code": "other",
                      "text": ""}),
        ("link", {"pick": by("anna"), "which": A, "kind": "duplicate"}),
        ("link", {"pick": by("lars"), "which": B, "kind": "related"}),
        ("merge", {"pick": by("lars"), "which": A}),
        ("unlink", {"pick": by("lena"), "which": B}),
        ("declare_conflict", {"pick": by("kim"), "which": B, "text": "no"}),
        ("rekey", {"pick": by("anna"), "which": B}),
        ("refer", {"pick": by("lena"), "which": B, "authority": "jo", "code": "other",
                   "text": ""}),
        ("refer", {"pick": by("lena"), "which": B, "authority": "jo", "code": "other",
                   "text": ""}),
    ],
    # The whole graph, by the roles it names.
    "the stages": [
        ("advance", {"pick": by("eva"), "which": A, "choice": 0}),
        ("advance", {"pick": by("eva"), "which": A, "choice": 0}),
        ("advance", {"pick": by("lars"), "which": A, "choice": 1}),
        ("advance", {"pick": by("lars"), "which": A, "choice": 1}),
        ("change_stage", {"pick": by("eva"), "which": A, "to": "investigating",
                          "code": "new-information", "outcome": None, "text": ""}),
        ("advance", {"pick": by("lars"), "which": A, "choice": 1}),
        ("advance", {"pick": by("stina"), "which": B, "choice": 0}),
        ("advance", {"pick": by("lena"), "which": B, "choice": 1}),
    ],
}
