"""The campaign's report (Art. 22): per district and per outcome, as CSV (one row per permit) and Markdown."""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from domain.bodies import DISTRICT_NAMES_ZH, District

# Each roster entry's place in the report: its outcome once inspected, else why not.
OUTCOMES = ("clear", "breach", "not_assessed", "closed", "not_inspected")
_LABELS = {
    "clear": "无问题 clear", "breach": "责令整改 breach", "not_assessed": "待认定 not assessed",
    "closed": "许可已终止 closed", "not_inspected": "未检查 not inspected",
}
CSV_COLUMNS = ("year", "district", "application_id", "permit_number", "enterprise_name", "credit_code", "outcome",
               "item1", "item2", "item3", "item4", "breaches", "inspector", "delivery")


def outcome_of(entry: Mapping[str, Any]) -> str:
    if entry["status"] == "closed":
        return "closed"
    if entry["status"] == "pending" or entry["outcome"] is None:
        return "not_inspected"
    return entry["outcome"]


def _district(code: str | None) -> str:
    if not code:
        return "（未知 unknown）"
    try:
        return f"{DISTRICT_NAMES_ZH[District(code)]} {code}"
    except ValueError:
        return code


def _items(entry: Mapping[str, Any]) -> list[str]:
    by_item = {i["item"]: i["outcome"] for i in (entry["items"] or [])}
    return [by_item.get(n, "") for n in (1, 2, 3, 4)]


def render_csv(year: int, entries: Sequence[Mapping[str, Any]]) -> str:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    for e in entries:
        w.writerow([year, e["district"] or "", e["stream_id"], e["permit_number"] or "", e["enterprise_name"] or "",
                    e["credit_code"] or "", outcome_of(e), *_items(e), " | ".join(e["breaches"] or []),
                    e["inspector"] or "", e["delivery"] or ""])
    return out.getvalue()


def render_markdown(year: int, start_day: date | None, entries: Sequence[Mapping[str, Any]]) -> str:
    counts = Counter((e["district"], outcome_of(e)) for e in entries)
    districts = sorted({e["district"] for e in entries}, key=lambda d: (d is None, d or ""))
    totals = Counter(outcome_of(e) for e in entries)
    lines = [
        f"# {year}年度保税加油企业监督检查报告 / {year} annual supervisory inspection of bonded bunkering enterprises",
        "",
        "第二十二条 (Art. 22) — 市商务局组织 / organised by the Municipal Commerce Bureau"
        + (f" — 检查开始日 / started {start_day}" if start_day else ""),
        "",
        f"许可 {len(entries)} 个 / {len(entries)} permits in force on the start day.",
        "",
        "## 按区、按结果 / By district and outcome",
        "",
        "| 区 district | " + " | ".join(_LABELS[o] for o in OUTCOMES) + " | 合计 total |",
        "|---|" + "---:|" * (len(OUTCOMES) + 1),
    ]
    for d in districts:
        row = [counts[(d, o)] for o in OUTCOMES]
        lines.append(f"| {_district(d)} | " + " | ".join(map(str, row)) + f" | {sum(row)} |")
    lines.append("| **合计 total** | " + " | ".join(f"**{totals[o]}**" for o in OUTCOMES) + f" | **{len(entries)}** |")
    breached = [e for e in entries if outcome_of(e) == "breach"]
    lines += ["", "## 责令限期整改 / Rectification ordered", ""]
    if not breached:
        lines.append("无 / none")
    for e in breached:
        lines.append(f"### {e['enterprise_name'] or ''} — {e['permit_number'] or ''} ({e['stream_id']}, {_district(e['district'])})")
        lines.append("")
        lines += [f"- {b}" for b in e["breaches"] or []]
        if e["delivery"]:
            lines.append(f"- 处理 / action: {e['delivery']}")
        lines.append("")
    others = [e for e in entries if outcome_of(e) in ("not_assessed", "closed", "not_inspected")]
    if others:
        lines += ["", "## 其他 / Other entries", ""]
        lines += [f"- {e['stream_id']} {e['enterprise_name'] or ''}: {_LABELS[outcome_of(e)]}" for e in others]
    return "\n".join(lines).rstrip() + "\n"
