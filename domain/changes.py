"""Art. 15: changes of approved matters, and the departments concerned by each.

Commerce reviews a change "with the departments concerned" (组织有关部门审核); which ones follows from
what changes: vessels concern the port, maritime and customs authorities; tanks the safety,
environment and customs authorities; the cross-customs-district scope (Art. 2) both customs offices.
"""

from __future__ import annotations

from enum import StrEnum

from domain.bodies import Body


class ChangeKind(StrEnum):
    REPLACE_TANKER = "replace_tanker"
    ADD_TANKER = "add_tanker"
    REPLACE_TANK = "replace_tank"
    ADD_TANK = "add_tank"
    ADD_CROSS_DISTRICT_SUPPLY = "add_cross_district_supply"
    DROP_CROSS_DISTRICT_SUPPLY = "drop_cross_district_supply"
    NAME = "name"
    LEGAL_REPRESENTATIVE = "legal_representative"


_VESSEL = (Body.PORTS, Body.EMERGENCY, Body.CUSTOMS_GZ, Body.CUSTOMS_HP, Body.MSA)
_TANK = (Body.EMERGENCY, Body.ENVIRONMENT, Body.CUSTOMS_GZ, Body.CUSTOMS_HP)
_CUSTOMS = (Body.CUSTOMS_GZ, Body.CUSTOMS_HP)

DEPARTMENTS_CONCERNED: dict[ChangeKind, tuple[Body, ...]] = {
    ChangeKind.REPLACE_TANKER: _VESSEL,
    ChangeKind.ADD_TANKER: _VESSEL,
    ChangeKind.REPLACE_TANK: _TANK,
    ChangeKind.ADD_TANK: _TANK,
    ChangeKind.ADD_CROSS_DISTRICT_SUPPLY: _CUSTOMS,
    ChangeKind.DROP_CROSS_DISTRICT_SUPPLY: _CUSTOMS,
    # Registration details: customs keep the enterprise's filing, so both offices are told.
    ChangeKind.NAME: _CUSTOMS,
    ChangeKind.LEGAL_REPRESENTATIVE: _CUSTOMS,
}
