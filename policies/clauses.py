"""Clause references: what a Reason's clause points at, and how a person reads it.

Every Reason carries a clause, in one of two forms (docs/policy.md, "How clauses are cited"):

- "POLICY §n": section n of the project's policy digest, docs/policy.md, for what every region
  shares and for the settings the notices leave open (45 minutes per 学时, the 50% online cap);
- "<source> <section>[.<paragraph>[.<item>]]" or "<source> annex[ n]": a clause of a regional
  notice, the sources being cq, cq-call, yn, js, zj and jinhua (e.g. "js 2.2", "cq 3.2.1").

Each has a stable anchor in docs/policy.md: anchor("POLICY §3") == "policy-3",
anchor("js 2.2") == "js-2-2" (tests/unit/test_docs.py checks that every clause the code cites
resolves). The clause field itself stays as it is (exports, tests and the audit log read it);
what a person reads goes through describe(), which names a digest section in words:
"POLICY §3" -> "线上学时计入不超过规定学时的50%（政策摘要第3条）". Regional clauses are
citations of published notices and are shown as they are.
"""
from __future__ import annotations

import re

#: The sections of docs/policy.md, as a user reads them (the digest's headings carry the same words).
POLICY_SECTIONS: dict[int, str] = {
    1: "凡补必进、不进不补：未经系统核验的学时不计入补贴",
    2: "职业目录与规定学时",
    3: "线上学时计入不超过规定学时的50%",
    4: "备案材料、办理期限与资料保存期限",
    5: "补贴标准",
    6: "补贴对象与享受次数",
    7: "培训合格证书与身份证号码",
    8: "培训机构",
    9: "文件未明确的事项按项目默认设置",
    10: "同一人同一时间只计一处学时",
    11: "人脸信息按目的分别同意，签到照片复核期满即删除",
    12: "人脸信息处理者的备案、影响评估与加密保存",
}

#: The regional sources a clause may name (docs/policy.md, "Regional clauses").
SOURCES = ("cq-call", "cq", "yn", "js", "zj", "jinhua")

#: A clause as cited in code, data or text: "POLICY §3", "js 2.2", "cq 3.2.1", "cq annex", "zj annex 2".
CITATION = re.compile(
    r"POLICY §(?P<section>\d+)"
    r"|(?<![\w.-])(?P<source>" + "|".join(re.escape(s) for s in SOURCES) + r") (?P<where>annex(?: \d+)?|\d+(?:\.\d+)*)(?![\w.-]*\w)"
)
_POLICY = re.compile(r"POLICY §(\d+)")


def citations(text: str) -> list[str]:
    """Every clause cited in a text, in order (a clause field, a comment, a sentence)."""
    return [m.group(0) for m in CITATION.finditer(text)]


def anchor(clause: str) -> str:
    """The id of a clause's anchor in docs/policy.md: "POLICY §3" -> "policy-3", "js 2.2" -> "js-2-2",
    "cq-call 1.1" -> "cq-call-1-1", "zj annex 2" -> "zj-annex-2"."""
    return re.sub(r"[^a-z0-9]+", "-", clause.strip().lower()).strip("-")


def reference(clause: str) -> str:
    """The clause with each "POLICY §n" as "政策摘要第n条" (for text that already states the rule)."""
    return _POLICY.sub(lambda m: f"政策摘要第{m.group(1)}条", clause)


def describe(clause: str) -> str:
    """The clause as a user reads it: each "POLICY §n" named in words with its section number,
    "线上学时计入不超过规定学时的50%（政策摘要第3条）"; a regional clause ("js 2.2") unchanged."""
    def words(m: re.Match[str]) -> str:
        n = int(m.group(1))
        name = POLICY_SECTIONS.get(n)
        return f"{name}（政策摘要第{n}条）" if name else f"政策摘要第{n}条"
    return _POLICY.sub(words, clause)


def page_labels() -> dict[str, str]:
    """"POLICY §n" -> describe() of it, for the pages' scripts (they show clauses from the API)."""
    return {f"POLICY §{n}": describe(f"POLICY §{n}") for n in POLICY_SECTIONS}
