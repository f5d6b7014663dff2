"""Findings: one unmet requirement each, as data.

Art. 9 requires the district to tell the applicant *all* corrections at once (一次告知), so
rules never stop at the first problem; they return every finding, and a notice lists them.
Each finding cites its article and says what was found, in Chinese (the legal language)
and English.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict, Field

# "5" (article) or "5(1)" (article, item); the form used in events and logs.
ARTICLE_PATTERN = r"^[1-9][0-9]*(\([1-9][0-9]*\))?$"
_ARTICLE = re.compile(ARTICLE_PATTERN)

_ZH_DIGITS = "零一二三四五六七八九"


class Finding(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    article: str = Field(pattern=ARTICLE_PATTERN, examples=["5(1)", "7(3)", "24"])
    # Stable machine path to what is wrong, e.g. "tankers[0].dwt", "tanks.total_capacity",
    # "documents.business_licence"; forms and notices key on it, so never reword it.
    item: str = Field(min_length=1)
    message_zh: str = Field(min_length=1)
    message_en: str = Field(min_length=1)


def _zh_number(n: int) -> str:
    """1..99 in Chinese numerals, as articles are numbered (第二十四条)."""
    if not 0 < n < 100:
        raise ValueError(f"article numbers run 1..99, got {n}")
    tens, units = divmod(n, 10)
    head = "" if tens == 0 else ("十" if tens == 1 else _ZH_DIGITS[tens] + "十")
    return head + ("" if units == 0 else _ZH_DIGITS[units])


def _split(article: str) -> tuple[int, int | None]:
    if not _ARTICLE.match(article):
        raise ValueError(f"not an article reference: {article!r}")
    number, _, rest = article.partition("(")
    return int(number), (int(rest.rstrip(")")) if rest else None)


def cite_zh(article: str) -> str:
    """"5(1)" -> "第五条第一项"."""
    number, item = _split(article)
    text = f"第{_zh_number(number)}条"
    return text if item is None else f"{text}第{_zh_number(item)}项"


def cite_en(article: str) -> str:
    """"5(1)" -> "Art. 5(1)"."""
    _split(article)
    return f"Art. {article}"


def finding(article: str, item: str, zh: str, en: str) -> Finding:
    """A finding whose messages end with the citation, so the two languages never drift."""
    return Finding(
        article=article,
        item=item,
        message_zh=f"{zh}（{cite_zh(article)}）",
        message_en=f"{en} ({cite_en(article)})",
    )


def article_order(f: Finding) -> tuple[int, int]:
    """Sort key: by article, then item number, as the measures are read."""
    number, item = _split(f.article)
    return number, item or 0


def group_by_article(findings: Iterable[Finding]) -> dict[str, list[Finding]]:
    """Findings keyed by article, articles in regulation order, findings in given order."""
    grouped: dict[str, list[Finding]] = {}
    for f in sorted(findings, key=article_order):  # sorted() is stable
        grouped.setdefault(f.article, []).append(f)
    return grouped
