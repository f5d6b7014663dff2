"""Local supervision (Art. 20–21): complaints and their handling, interviews (约谈) and spot inspections.

Art. 20 has each district run a complaint channel (phone, e-mail, WeChat …), interviews and inspections;
Art. 21 has each department inspect within its remit. A complaint is recorded by whoever receives it,
routed to the district of the enterprise complained of, investigated and answered there (or closed
with a reason), and may lead to a violation record by the competent department (domain/violations.py).

    received ──route──▶ routed ──investigate──▶ investigating ──answer──▶ answered ──close──▶ closed
                          └──────────────answer / close────────────────────────────────────▶
"""

from __future__ import annotations

from typing import Literal

from domain.authority import Actor
from domain.bodies import Body, District
from domain.violations import ART21_DEPARTMENTS

Channel = Literal["phone", "email", "wechat", "web", "letter", "visit"]
ComplaintStatus = Literal["received", "routed", "investigating", "answered", "closed"]
Move = Literal["route", "investigate", "answer", "close"]
ActionKind = Literal["interview", "spot_inspection"]

# Which statuses each move starts from, and where it leads.
MOVES: dict[Move, tuple[frozenset[str], ComplaintStatus]] = {
    "route": (frozenset({"received", "routed"}), "routed"),
    "investigate": (frozenset({"routed"}), "investigating"),
    "answer": (frozenset({"routed", "investigating"}), "answered"),
    "close": (frozenset({"routed", "investigating", "answered"}), "closed"),
}

# Receiving a complaint: any body of Art. 3 that a complainant may reach (not the enterprise itself).
RECEIVERS: frozenset[Body] = frozenset({Body.DISTRICT, Body.MUNICIPAL_GOV, *ART21_DEPARTMENTS})


class NotAllowed(Exception):
    """The actor may not take this step (the message names the rule)."""


class WrongStatus(Exception):
    """The complaint is not at a status this step starts from."""


def check_receiver(actor: Actor) -> None:
    if actor.body not in RECEIVERS:
        raise NotAllowed(f"{actor.code} may not record a complaint: the bodies of Art. 3 record what they receive (Art. 20)")


def check_move(actor: Actor, move: Move, status: str, district: str | None) -> ComplaintStatus:
    """Who moves a complaint on: commerce routes one whose district was not known at receipt; the district
    it is routed to investigates, answers and closes it (Art. 20). Returns the new status."""
    starts, to = MOVES[move]
    if move == "route":
        if actor.body is not Body.COMMERCE:
            raise NotAllowed(f"{actor.code} may not route a complaint: commerce routes what no district was found for")
    elif actor.body is not Body.DISTRICT or district is None or actor.district is not District(district):
        where = f"district:{district}" if district else "no district yet"
        raise NotAllowed(f"{actor.code} may not {move} this complaint: it is routed to {where} (Art. 20)")
    if status not in starts:
        raise WrongStatus(f"the complaint is {status}; {move} needs it {' or '.join(sorted(starts))}")
    return to


def check_supervision_action(actor: Actor, kind: ActionKind, district: str | None) -> None:
    """Art. 20: the enterprise's district interviews and inspects; Art. 21: so does each department."""
    if actor.body is Body.DISTRICT:
        if district is None or actor.district is not District(district):
            raise NotAllowed(f"{actor.code} may {kind.replace('_', ' ')} only enterprises of its own district (Art. 20)")
        return
    if actor.body not in ART21_DEPARTMENTS:
        raise NotAllowed(f"{actor.code} may not record an {kind.replace('_', ' ')}: the district (Art. 20) or a "
                         "department within its remit (Art. 21) does")
