"""The bodies of Art. 3 and the districts of Art. 9: who may act in the procedure.

Codes are the stable identifiers used in events, tasks, tokens and logs.
"""

from __future__ import annotations

from enum import StrEnum


class Body(StrEnum):
    MUNICIPAL_GOV = "municipal_gov"
    COMMERCE = "commerce"
    DISTRICT = "district"  # always qualified by a District where it acts
    PORTS = "ports"
    EMERGENCY = "emergency"
    ENVIRONMENT = "environment"
    CUSTOMS_GZ = "customs_gz"
    CUSTOMS_HP = "customs_hp"
    MSA = "msa"
    BORDER = "border"
    MARKET = "market"
    ENTERPRISE = "enterprise"
    OPERATOR = "operator"
    SYSTEM = "system"  # the orchestrator itself: deemed acceptance, timers


BODY_NAMES_ZH: dict[Body, str] = {
    Body.MUNICIPAL_GOV: "广州市人民政府",
    Body.COMMERCE: "市商务局",
    Body.DISTRICT: "属地区政府",
    Body.PORTS: "市港务局",
    Body.EMERGENCY: "市应急管理局",
    Body.ENVIRONMENT: "市生态环境局",
    Body.CUSTOMS_GZ: "广州海关",
    Body.CUSTOMS_HP: "黄埔海关",
    Body.MSA: "广州海事局",
    Body.BORDER: "广州边检总站",
    Body.MARKET: "市市场监管局",
    Body.ENTERPRISE: "申请企业",
    Body.OPERATOR: "运维人员",
    Body.SYSTEM: "系统",
}

# Art. 10: the joint review panel organised by commerce.
JOINT_REVIEW_PANEL: tuple[Body, ...] = (
    Body.PORTS,
    Body.EMERGENCY,
    Body.ENVIRONMENT,
    Body.CUSTOMS_GZ,
    Body.CUSTOMS_HP,
    Body.MSA,
)


class District(StrEnum):
    """Guangzhou's 11 districts (Art. 3, 9: 属地区政府)."""

    YUEXIU = "yuexiu"
    LIWAN = "liwan"
    HAIZHU = "haizhu"
    TIANHE = "tianhe"
    BAIYUN = "baiyun"
    HUANGPU = "huangpu"
    PANYU = "panyu"
    HUADU = "huadu"
    NANSHA = "nansha"
    CONGHUA = "conghua"
    ZENGCHENG = "zengcheng"


DISTRICT_NAMES_ZH: dict[District, str] = {
    District.YUEXIU: "越秀区",
    District.LIWAN: "荔湾区",
    District.HAIZHU: "海珠区",
    District.TIANHE: "天河区",
    District.BAIYUN: "白云区",
    District.HUANGPU: "黄埔区",
    District.PANYU: "番禺区",
    District.HUADU: "花都区",
    District.NANSHA: "南沙区",
    District.CONGHUA: "从化区",
    District.ZENGCHENG: "增城区",
}


def actor_code(body: Body, district: District | None = None) -> str:
    """The actor string recorded on events: `district:nansha`, `customs_gz`, `system`."""
    if body is Body.DISTRICT:
        if district is None:
            raise ValueError("a district government acts only as a named district")
        return f"district:{district.value}"
    return body.value
