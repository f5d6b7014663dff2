"""Written notices to the applicant: Chinese (the legal language) with English beside it.

Each returns {"notice_zh": …, "notice_en": …}, stored in the event that sends it.
"""

from __future__ import annotations


from typing import Any, Iterable

from domain.findings import Finding

_CAUSES = {
    "hearing": ("听证", "a hearing"),
    "testing": ("检验检测", "testing"),
    "inspection": ("检查", "an inspection"),
    "expert_review": ("专家评审", "an expert review"),
}


def _corrections(items: Iterable[Finding]) -> tuple[str, str]:
    items = list(items)
    zh = "".join(f"\n{i}. {f.message_zh}" for i, f in enumerate(items, 1))
    en = "".join(f"\n{i}. {f.message_en}" for i, f in enumerate(items, 1))
    return (
        f"经审查，贵单位申请材料不齐全或不符合法定形式，现一次告知需补正的全部内容（第九条）：{zh}",
        f"Your application is incomplete or not in the required form. All corrections needed, "
        f"notified at once (Art. 9):{en}",
    )


def notice(kind: str, **kw: Any) -> dict[str, str]:
    if kind == "corrections":
        zh, en = _corrections(kw["items"])
    elif kind == "accepted":
        zh = f"贵单位的保税加油业务申请自{kw['accepted_on']}起受理，审批期限至{kw['due']}（第九条、第十二条）。"
        en = f"Your application is accepted as of {kw['accepted_on']}; the decision is due by {kw['due']} (Art. 9, 12)."
    elif kind == "banned":
        zh = f"因提供虚假材料，申请不予受理，{kw['ends_on']}前不得再次申请（第二十四条）。理由：{kw['reason']}"
        en = (f"Not accepted because of false materials; no new application before {kw['ends_on']} (Art. 24). "
              f"Reason: {kw['reason']}")
    elif kind == "question":
        zh = f"{kw['agency']}在联合审查中提出问题，请予答复（第十条）：{kw['question']}"
        en = f"{kw['agency']} asks in the joint review (Art. 10): {kw['question']}"
    elif kind == "paused":
        zh_c, en_c = _CAUSES[kw["cause"]]
        zh = f"因需{zh_c}，审批期限暂停计算，预计{kw['days']}个工作日（行政许可法第四十五条）。{kw['reason']}"
        en = (f"The decision clock is paused for {en_c}, expected {kw['days']} working days (ALL Art. 45). "
              f"{kw['reason']}")
    elif kind == "extended":
        zh = f"经市政府负责人批准，审批期限延长10个工作日至{kw['until']}（第十二条）。理由：{kw['reason']}"
        en = f"With the approval of the government's head, the decision is extended to {kw['until']} (Art. 12). Reason: {kw['reason']}"
    elif kind == "approved":
        zh = f"准予开展保税加油业务，批准文号{kw['number']}，有效期至{kw['until']}（第十一条、第十四条）。"
        en = f"Bonded bunkering approved, permit {kw['number']}, valid until {kw['until']} (Art. 11, 14)."
    elif kind == "refused":
        zh = f"不予批准保税加油业务申请（第十一条）。理由：{kw['reasons']}"
        en = f"The application is refused (Art. 11). Reasons: {kw['reasons']}"
    else:
        raise ValueError(f"unknown notice {kind}")
    return {"notice_zh": zh, "notice_en": en}


