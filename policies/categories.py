"""补贴类别: what an institution writes in a roster, read as one of the region's subsidised groups.

Why: the subsidy rules know a region's groups by code (policies/regions/*.yaml, ``eligible_groups``),
while rosters say "企业职工", "高校毕业生" or "失业人员". Stored as typed, such a category matched no
group and the trainee came out "不符合" in the decision, visible only in the export. So a category is
read once, at enrolment, into the region's code, and what cannot be read is refused with the list of
the region's groups; and a class whose trainees still lack a known category is warned about before
it is filed or exported.

Reading is exact after normalising width and spaces (NFKC): the code, the short name, the notice's
wording, then an alias. An alias that two groups share (a region with two kinds of graduate) is
ambiguous and refused with both, never guessed.
"""
from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from policies.model import EligibleGroup, Reason


def normalise(text: str) -> str:
    """Full-width letters and digits as half-width, no spaces, codes in lower case."""
    return "".join(unicodedata.normalize("NFKC", text).split()).lower()


@dataclass(frozen=True)
class CategoryReading:
    """``group``: the group the text names (None: none, or several); ``candidates``: the groups an
    ambiguous alias names."""

    group: EligibleGroup | None
    candidates: tuple[EligibleGroup, ...] = ()


def read_category(text: str, groups: Sequence[EligibleGroup]) -> CategoryReading:
    key = normalise(text)
    if not key:
        return CategoryReading(None)
    for field in ("code", "name", "detail"):
        for g in groups:
            if normalise(getattr(g, field)) == key:
                return CategoryReading(g)
    named = tuple(g for g in groups if any(normalise(a) == key for a in g.aliases))
    if len(named) == 1:
        return CategoryReading(named[0])
    return CategoryReading(None, named)


def listing(groups: Iterable[EligibleGroup]) -> str:
    return "、".join(g.shown for g in groups)


def refusal(text: str, reading: CategoryReading, groups: Sequence[EligibleGroup]) -> str:
    """Why ``text`` was not read, in Chinese, with what to write instead."""
    if reading.candidates:
        return f"补贴类别“{text}”可能是{listing(reading.candidates)}，请写明是哪一类"
    return f"补贴类别“{text}”不是本地区的补贴对象类别，请填写其中之一：{listing(groups)}"


def shown(code: str | None, groups: Sequence[EligibleGroup]) -> str | None:
    """A stored category as people read it: the group's name, or the text itself marked unknown."""
    if not code:
        return None
    group = next((g for g in groups if g.code == code), None)
    return group.shown if group is not None else f"未识别的类别：{code}"


def _names(names: Sequence[str], most: int = 5) -> str:
    head = "、".join(names[:most])
    return head + (f" 等 {len(names)} 人" if len(names) > most else "")


def category_warnings(enrolled: Iterable[tuple[str, str | None]], groups: Sequence[EligibleGroup]) -> list[Reason]:
    """Warnings for a class's trainees (name, stored category) whose category the rules cannot
    judge: none given, or one that is not the region's. Empty when the region names no groups
    (its rules then do not ask)."""
    if not groups:
        return []
    clause = groups[0].clause
    codes = {g.code for g in groups}
    missing = [name for name, code in enrolled if not code]
    unknown = [f"{name}（{code}）" for name, code in enrolled if code and code not in codes]
    out = []
    if missing:
        out.append(Reason("category_missing", clause,
                          f"{len(missing)} 名学员未填写补贴类别：{_names(missing)}。补贴核定将无法判断其是否属于本地补贴对象"
                          f"（{listing(groups)}），请在学员名单中补填"))
    if unknown:
        out.append(Reason("category_unknown", clause,
                          f"{len(unknown)} 名学员的补贴类别不是本地区的类别：{_names(unknown)}。补贴核定会判为不属于补贴对象，"
                          f"请改为其中之一：{listing(groups)}"))
    return out
