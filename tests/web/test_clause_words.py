"""What a person reads names a digest section in words, never "POLICY §3".

The API keeps the clause as data ("POLICY §3", "js 2.2"); each page carries the words for every
digest section (policies/clauses.py) in a JSON block its scripts read, so the phone's "依据：" and
the staff pages' clause cells show "线上学时计入不超过规定学时的50%（政策摘要第3条）"."""
from __future__ import annotations

import json
import re
from pathlib import Path

from policies import clauses

WEB = Path(__file__).resolve().parents[2] / "server" / "web"
BLOCK = re.compile(r'<script type="application/json" id="clause-words">(.*?)</script>', re.S)


def _words(html: str) -> dict:
    found = BLOCK.findall(html)
    assert len(found) == 1, "the page carries the clause words once"
    return json.loads(found[0])


def test_the_phone_page_carries_the_words_of_every_digest_section(client):
    words = _words(client.get("/m/").get_data(as_text=True))
    assert words == clauses.page_labels()
    assert words["POLICY §3"] == "线上学时计入不超过规定学时的50%（政策摘要第3条）"


def test_the_staff_pages_carry_the_words_of_every_digest_section(worlds, login):
    api = login("yubei-admin")
    for path in ("/manage", "/live", f"/manage/classes/{worlds['yubei'].class_id}"):
        assert _words(api.get(path).get_data(as_text=True)) == clauses.page_labels(), path


def test_no_page_script_shows_a_clause_without_naming_it_in_words():
    # Every place a script puts a clause on the page goes through clauseText (or reasonItem, which does).
    shown = re.compile(r"(?:text: |\"依据：\" \+ |\"（\" \+ )(?:\w+\.)?clause\b")
    for script in [*WEB.glob("*/static/*.js")]:
        assert shown.findall(script.read_text(encoding="utf-8")) == [], script.name
