"""The fifteen acts Art. 19 prohibits, who may find each (Art. 21), and what a violation on record is.

Art. 21 names the departments that inspect within their remit and handle violations; Art. 26 has the
competent department penalise them. A smuggling-type act may be found by any department whose remit
touches it (market regulation sees bonded oil sold ashore, the MSA sees an undeclared transfer at sea),
but only customs can establish smuggling: such a finding counts for the annual inspection (Art. 22(4))
once customs has confirmed it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from domain.bodies import Body

CUSTOMS: frozenset[Body] = frozenset({Body.CUSTOMS_GZ, Body.CUSTOMS_HP})
# Art. 21: 商务、生态环境、应急管理、市场监管、港务、海关、海事、边检.
ART21_DEPARTMENTS: frozenset[Body] = frozenset({
    Body.COMMERCE, Body.ENVIRONMENT, Body.EMERGENCY, Body.MARKET, Body.PORTS, *CUSTOMS, Body.MSA, Body.BORDER,
})


@dataclass(frozen=True)
class ProhibitedAct:
    number: int  # the item of Art. 19
    zh: str  # the measures' words
    en: str
    remit: frozenset[Body]  # the departments that may find it (Art. 21)
    smuggling: bool = False  # counts once customs confirms it (Art. 22(4))

    @property
    def article(self) -> str:
        return f"19({self.number})"


def _act(number: int, zh: str, en: str, *remit: Body, smuggling: bool = False) -> ProhibitedAct:
    return ProhibitedAct(number, zh, en, frozenset(remit), smuggling)


_M, _P, _E, _V, _S, _C = Body.MARKET, Body.PORTS, Body.EMERGENCY, Body.ENVIRONMENT, Body.MSA, Body.COMMERCE

PROHIBITED_ACTS: dict[int, ProhibitedAct] = {a.number: a for a in (
    _act(1, "超越批准范围经营", "operating beyond the approved scope", _C, *CUSTOMS),
    _act(2, "超越水路运输业务的许可范围经营", "operating beyond the scope of the waterway transport licence", _P, _S),
    _act(3, "向国际航行船舶销售未经海关核准的成品油",
         "selling refined oil not approved by customs to international-navigation vessels", *CUSTOMS, _M,
         smuggling=True),
    _act(4, "擅自交付、发运海关监管货物等违法违规行为",
         "delivering or shipping goods under customs supervision without authorisation", *CUSTOMS, _S,
         smuggling=True),
    _act(5, "销售无法证明合法来源的保税油", "selling bonded oil whose lawful source cannot be proved", *CUSTOMS, _M,
         smuggling=True),
    _act(6, "擅自改动质量流量计或利用其他手段克扣油量",
         "tampering with mass flow meters or short-delivering oil by other means", _M),
    _act(7, "掺杂掺假、以假充真、以次充好", "adulterating oil, passing off fake as genuine or inferior as superior", _M),
    _act(8, "销售国家明令淘汰、禁止销售、质量不合格、不符合质量标准和不符合大气排放控制标准的保税油",
         "selling bonded oil that is banned, substandard, or does not meet quality or air-emission standards",
         _M, _V, _S),
    _act(9, "逃避海关监管，擅自将保税油在境内销售等走私行为",
         "smuggling: evading customs supervision, selling bonded oil within China without authorisation",
         *CUSTOMS, _M, _S, Body.BORDER, smuggling=True),
    _act(10, "未按规定向海关办理保税油进出库、报关、添加或者起卸申报手续",
         "not declaring bonded oil's entry to or exit from depots, clearance, bunkering or discharge to customs",
         *CUSTOMS),
    _act(11, "非法自行调和、生产保税油", "illegally blending or producing bonded oil", *CUSTOMS, _M, _E, smuggling=True),
    _act(12, "不按水上交通安全法律法规规定落实有关作业安全和防污染措施",
         "not applying the operational-safety and anti-pollution measures of maritime traffic safety law", _S, _P),
    _act(13, "违反船舶消防安全法律法规，未按规定配置消防器材、设施或消防安全标志",
         "breaching ship fire-safety law: fire equipment, facilities or signs not provided", _S, _E),
    _act(14, "违反法律法规排放污染物", "discharging pollutants in breach of law", _V, _S),
    _act(15, "国家法律法规禁止的其他行为", "other acts prohibited by national law", *ART21_DEPARTMENTS),
)}
if sorted(PROHIBITED_ACTS) != list(range(1, 16)) or not all(a.remit <= ART21_DEPARTMENTS for a in PROHIBITED_ACTS.values()):
    raise RuntimeError("Art. 19 lists fifteen acts, each within the remit of Art. 21 departments")


class OutsideRemit(Exception):
    """The department may not record (or confirm) this act."""


def check_finding(found_by: Body, act: int) -> ProhibitedAct:
    """Art. 21: only a department whose remit covers `act` records it."""
    a = PROHIBITED_ACTS.get(act)
    if a is None:
        raise OutsideRemit(f"Art. 19 has items (1)-(15), not ({act})")
    if found_by not in a.remit:
        names = ", ".join(sorted(b.value for b in a.remit))
        raise OutsideRemit(f"{found_by.value} may not record Art. {a.article} ({a.en}): within the remit of {names} (Art. 21)")
    return a


def confirmed_on_record(found_by: Body, act: int) -> bool:
    """A smuggling-type act found by customs itself is confirmed as it is recorded."""
    return PROHIBITED_ACTS[act].smuggling and found_by in CUSTOMS


class Violation(BaseModel):
    """A violation on the register, as the annual inspection reads it."""

    model_config = ConfigDict(frozen=True)

    id: int
    act: int = Field(ge=1, le=15)
    severity: Literal["minor", "major"]
    found_by: str
    found_on: date
    description: str
    penalty: str | None = None
    confirmed_by: str | None = None

    @property
    def prohibited(self) -> ProhibitedAct:
        return PROHIBITED_ACTS[self.act]

    @property
    def awaiting_customs(self) -> bool:
        return self.prohibited.smuggling and self.confirmed_by is None

    @property
    def counts_for_art22_4(self) -> bool:
        """Smuggling (confirmed by customs) or a major violation (Art. 22(4))."""
        if self.prohibited.smuggling:
            return self.confirmed_by is not None
        return self.severity == "major"
