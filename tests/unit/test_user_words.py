"""What a user reads is Chinese: no error the server words for a field carries an English
message (the staff pages show it as it is), and an identity error's user sentence drops the
English kept for the CLI."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from policies.identity import IdentityError, parse_resident_id

SERVER = Path(__file__).resolve().parents[2] / "server"


def _field_messages():
    for path in sorted(SERVER.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Dict):
                keys = [k.value for k in node.keys if isinstance(k, ast.Constant)]
                if "field" in keys and "message" in keys:
                    value = node.values[keys.index("message")]
                    if isinstance(value, ast.Constant | ast.JoinedStr):
                        yield f"{path.relative_to(SERVER.parent)}:{node.lineno}", value


def test_every_field_message_the_server_words_is_chinese():
    english = []
    for where, value in _field_messages():
        text = value.value if isinstance(value, ast.Constant) else "".join(
            v.value for v in value.values if isinstance(v, ast.Constant))
        if any(c.isascii() and c.isalpha() for c in str(text).replace("JSON", "")):
            english.append(f"{where}: {text}")
    assert english == []


@pytest.mark.parametrize("number", ["50011219950312041", "500112199502300419", "500112199503120418"])
def test_an_identity_error_has_a_chinese_sentence_for_the_user(number):
    with pytest.raises(IdentityError) as err:
        parse_resident_id(number)
    assert "(" in str(err.value)  # the CLI and the logs keep the English
    assert not any(c.isascii() and c.isalpha() for c in err.value.zh), err.value.zh
