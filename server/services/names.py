"""Chinese names in the order people expect them: by pinyin (孙丽, 张伟, 李静 sorted by code point
put 孙 before 张 before 李; by pinyin it is 李, 孙, 张), syllable by syllable with the tone
breaking ties (pypinyin, a kept library, reads the characters)."""
from __future__ import annotations

from functools import lru_cache

from pypinyin import Style, lazy_pinyin

#: Surnames read differently from the character's common reading (单 is shàn as a surname, not
#: dān): pypinyin reads words, not names, so the surname is looked up here first. Two-character
#: surnames come first so that 万俟 is not read as 万 + 俟.
SURNAMES = {
    "万俟": ["mo4", "qi2"], "尉迟": ["yu4", "chi2"], "长孙": ["zhang3", "sun1"], "单于": ["chan2", "yu2"],
    "单": ["shan4"], "曾": ["zeng1"], "解": ["xie4"], "仇": ["qiu2"], "朴": ["piao2"], "查": ["zha1"],
    "区": ["ou1"], "盖": ["ge3"], "乐": ["yue4"], "覃": ["qin2"], "缪": ["miao4"], "种": ["chong2"],
    "折": ["she2"], "员": ["yun4"], "秘": ["bi4"], "繁": ["po2"], "能": ["nai4"], "尉": ["yu4"],
    "重": ["chong2"], "翟": ["zhai2"], "宁": ["ning4"], "纪": ["ji3"], "沈": ["shen3"], "柏": ["bai3"],
    "薄": ["bo2"], "莘": ["shen1"], "句": ["gou1"], "召": ["shao4"], "藏": ["zang4"], "阚": ["kan4"],
}


@lru_cache(maxsize=4096)
def pinyin_key(name: str) -> tuple[tuple[str, ...], str]:
    """A sort key for a person's name: its syllables in pinyin with tone numbers (neutral = 5),
    the surname read as a surname; then the name itself, so that equal readings stay in a stable
    order. Anything not Chinese (Latin letters, digits) sorts as itself, lower-cased."""
    name = name.strip()
    head: list[str] = []
    rest = name
    for surname in sorted(SURNAMES, key=len, reverse=True):
        if name.startswith(surname) and len(name) > len(surname):
            head, rest = list(SURNAMES[surname]), name[len(surname):]
            break
    syllables = head + lazy_pinyin(rest, style=Style.TONE3, neutral_tone_with_five=True, errors=lambda s: s.lower())
    return tuple(syllables), name
