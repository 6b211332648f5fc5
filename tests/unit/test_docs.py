"""The docs in the repository stay true to the code: every clause the code cites resolves.

docs/policy.md is the policy digest with an explicit anchor for each of its sections ("POLICY §3" ->
#policy-3) and for each regional clause ("js 2.2" -> #js-2-2); policies.clauses names the scheme.
A clause that resolves nowhere is a number nobody can check, so a citation without an anchor fails
here, as does a digest section without the words users are shown for it. docs/architecture.md
names every part of server/.
"""
from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from policies import clauses

REPO = Path(__file__).resolve().parents[2]
POLICY_MD = REPO / "docs" / "policy.md"
ARCHITECTURE_MD = REPO / "docs" / "architecture.md"
#: Where the code cites clauses, and the kinds of file it cites them in.
CODE = ("server", "policies", "recognition")
SUFFIXES = {".py", ".yaml", ".yml", ".js", ".html"}
#: Third-party code we ship is not ours to cite from.
SKIP = {"vendor", "__pycache__"}

ANCHOR = re.compile(r'<a id="([^"]+)"></a>')
LINK = re.compile(r"\]\(#([^)\s]+)\)")


def anchors(text: str) -> list[str]:
    return ANCHOR.findall(text)


def code_files(root: Path = REPO, folders=CODE) -> list[Path]:
    return sorted(p for folder in folders for p in (root / folder).rglob("*")
                  if p.suffix in SUFFIXES and p.is_file() and not SKIP & set(p.relative_to(root).parts))


def cited(files, root: Path = REPO) -> list[tuple[str, str]]:
    """(path:line, clause) for every clause cited in the files."""
    out = []
    for path in files:
        where = path.relative_to(root).as_posix()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            out.extend((f"{where}:{number}", c) for c in clauses.citations(line))
    return out


def unresolved(citations, ids) -> list[tuple[str, str]]:
    return [(where, c) for where, c in citations if clauses.anchor(c) not in ids]


@pytest.fixture(scope="module")
def digest() -> str:
    return POLICY_MD.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def citations() -> list[tuple[str, str]]:
    return cited(code_files())


def test_every_clause_cited_in_the_code_resolves_to_an_anchor_in_the_policy_digest(digest, citations):
    assert unresolved(citations, set(anchors(digest))) == []


def test_the_scan_sees_the_code_citing_digest_sections_and_regional_clauses(citations):
    forms = {c for _, c in citations}
    # The region files cite the digest for their defaults, and the notices for the rest.
    assert {"POLICY §1", "POLICY §3", "POLICY §4", "POLICY §9"} <= forms
    assert {"js 2.2", "cq 3.2.1", "cq-call 1.1", "yn 4.4.1", "zj annex 2", "jinhua 2.1", "cq annex"} <= forms
    assert len(citations) > 100


def test_every_policy_section_mark_in_the_code_is_a_citation_the_scan_understands():
    # "POLICY §" followed by anything but a number would escape the resolution check above.
    for path in code_files():
        if path == REPO / "policies" / "clauses.py":
            continue  # it spells the form out ("POLICY §n")
        text = path.read_text(encoding="utf-8")
        # ("POLICY §n" with a letter n is the form described, as in a region file's header, and
        # "POLICY §(\d+)" the pattern the page scripts match it with.)
        assert text.count("POLICY §") == len(re.findall(r"POLICY §(\d+|n\b|\(\\d\+\))", text)), path


def test_a_citation_without_an_anchor_is_reported(tmp_path, digest):
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "bogus.py").write_text(
        'CAP = "POLICY §42"  # and js 9.9, beside a real one: js 2.2\n', encoding="utf-8")
    (tmp_path / "policies" / "bogus.yaml").write_text("online_cap: {share: '0.5', clause: cq annex 7}\n", encoding="utf-8")
    found = cited(code_files(tmp_path, ("policies",)), tmp_path)
    assert sorted(unresolved(found, set(anchors(digest)))) == [
        ("policies/bogus.py:1", "POLICY §42"), ("policies/bogus.py:1", "js 9.9"), ("policies/bogus.yaml:1", "cq annex 7")]


def test_anchors_in_the_policy_digest_are_unique(digest):
    ids = anchors(digest)
    assert [i for i, n in Counter(ids).items() if n > 1] == []
    assert len(ids) > 50


def test_every_link_inside_the_docs_points_at_an_anchor_that_exists(digest):
    ids = set(anchors(digest))
    for doc in (POLICY_MD, ARCHITECTURE_MD):
        text = doc.read_text(encoding="utf-8")
        local = set(anchors(text)) if doc != POLICY_MD else ids
        assert [t for t in LINK.findall(text) if t not in local] == [], doc.name
        targets = re.findall(r"\]\(policy\.md#([^)\s]+)\)", text)
        assert [t for t in targets if t not in ids] == [], doc.name


@pytest.mark.parametrize("clause, anchor", [
    ("POLICY §3", "policy-3"), ("js 2.2", "js-2-2"), ("cq 3.2.1", "cq-3-2-1"), ("cq-call 1.1", "cq-call-1-1"),
    ("cq annex", "cq-annex"), ("zj annex 2", "zj-annex-2"), ("jinhua 4", "jinhua-4"),
])
def test_a_clause_anchor_is_the_clause_in_lower_case_with_hyphens(clause, anchor):
    assert clauses.anchor(clause) == anchor


def test_citations_are_found_in_sentences_and_not_inside_other_words():
    text = "cap (POLICY §3, from js 2.2). kept 5 years (js 4.2: 电子资料); node.js 2.0 and xcq 1 are not clauses; cq-call 1.2"
    assert clauses.citations(text) == ["POLICY §3", "js 2.2", "js 4.2", "cq-call 1.2"]


def test_every_digest_section_has_its_anchor_and_the_words_users_are_shown(digest):
    ids = set(anchors(digest))
    for n, words in clauses.POLICY_SECTIONS.items():
        assert f"policy-{n}" in ids
        assert f"**界面用语**: {words}\n" in digest, n
    assert {int(i.split("-")[1]) for i in ids if i.startswith("policy-")} == set(clauses.POLICY_SECTIONS)


def test_users_read_every_digest_section_the_code_cites_in_words_not_as_policy_section_marks(citations):
    for _, c in citations:
        if c.startswith("POLICY"):
            shown = clauses.describe(c)
            assert "POLICY" not in shown and "§" not in shown
            assert shown.endswith(f"（政策摘要第{c.removeprefix('POLICY §')}条）") and len(shown) > 12, shown


def test_describe_names_the_online_cap_in_words_and_leaves_regional_clauses_as_they_are():
    assert clauses.describe("POLICY §3") == "线上学时计入不超过规定学时的50%（政策摘要第3条）"
    assert clauses.describe("js 2.2") == "js 2.2"
    assert clauses.describe("POLICY §4 (js 4.2: 电子资料保管不少于5年)") == \
        "备案材料、办理期限与资料保存期限（政策摘要第4条） (js 4.2: 电子资料保管不少于5年)"
    assert clauses.reference("POLICY §3") == "政策摘要第3条"


def test_the_architecture_page_names_every_part_of_server():
    text = ARCHITECTURE_MD.read_text(encoding="utf-8")
    parts = sorted(p.name if p.is_dir() else p.stem for p in (REPO / "server").iterdir()
                   if (p.is_dir() and (p / "__init__.py").exists()) or p.suffix == ".py")
    assert parts, "server/ is empty?"
    assert [p for p in parts if not re.search(rf"(?<!\w){re.escape(p)}(/|\.py|\b)", text)] == []
