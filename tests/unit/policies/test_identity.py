"""Resident IDs (GB 11643-1999) and unified social credit codes (GB 32100-2015)."""
from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from policies.identity import (
    USCC_ALPHABET,
    IdentityError,
    is_valid_resident_id,
    is_valid_uscc,
    parse_resident_id,
    resident_id_check_digit,
    uscc_check_character,
    validate_uscc,
)
from policies.model import Sex


def test_the_standards_example_id_has_check_character_x_and_is_a_woman_born_1949_12_31():
    rid = parse_resident_id("11010519491231002X")
    assert (rid.birth_date, rid.sex, rid.area) == (date(1949, 12, 31), Sex.FEMALE, "110105")


def test_a_lower_case_x_is_accepted_and_normalised():
    assert parse_resident_id("11010519491231002x").number == "11010519491231002X"


def test_an_odd_seventeenth_digit_means_a_man():
    first17 = "11010519800101001"
    assert parse_resident_id(first17 + resident_id_check_digit(first17)).sex is Sex.MALE


@pytest.mark.parametrize("number, message", [
    ("1101051949123100", "应为18位，实际16位"),
    ("11010519491231002XX", "应为18位，实际19位"),
    ("1101051949123100AX", "前17位应为数字"),
    ("11010519491331002X", "出生日期 19491331 不是有效日期"),
    ("110105194902300021", "出生日期 19490230 不是有效日期"),
    ("110105194912310021", "校验位错误：最后一位应为 X，实际为 1"),
])
def test_a_wrong_resident_id_says_what_is_wrong(number, message):
    with pytest.raises(IdentityError, match=message):
        parse_resident_id(number)
    assert not is_valid_resident_id(number)


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2099, 12, 31)), st.integers(0, 999),
       st.integers(0, 16), st.integers(0, 9))
def test_changing_any_single_digit_of_a_valid_id_breaks_the_check(birth, seq, position, delta):
    first17 = f"330702{birth:%Y%m%d}{seq:03d}"
    valid = first17 + resident_id_check_digit(first17)
    assert parse_resident_id(valid).birth_date == birth
    digits = list(valid)
    digits[position] = str((int(digits[position]) + delta) % 10)
    mutated = "".join(digits)
    if mutated != valid:
        assert not is_valid_resident_id(mutated)


def test_a_published_credit_code_is_valid():
    assert validate_uscc("91350100M000100Y43") == "91350100M000100Y43"


@pytest.mark.parametrize("code, message", [
    ("91350100M000100Y4", "应为18位，实际17位"),
    ("91350100M000100O43", "不允许的字符 O"),
    ("91350100I000100Y43", "不允许的字符 I"),
    ("91350100S000100Z43", "不允许的字符 SZ"),
    ("91AB0100M000100Y43", "第3-8位应为行政区划码"),
    ("91350100M000100Y44", "校验码错误：最后一位应为 3，实际为 4"),
])
def test_a_wrong_credit_code_says_what_is_wrong(code, message):
    with pytest.raises(IdentityError, match=message):
        validate_uscc(code)
    assert not is_valid_uscc(code)


@given(st.text(alphabet=USCC_ALPHABET, min_size=2, max_size=2), st.text(alphabet="0123456789", min_size=6, max_size=6),
       st.text(alphabet=USCC_ALPHABET, min_size=9, max_size=9), st.integers(0, 16), st.integers(1, 30))
def test_changing_any_single_character_of_a_credit_code_breaks_the_check(head, area, body, position, delta):
    first17 = head + area + body
    code = first17 + uscc_check_character(first17)
    assert is_valid_uscc(code)
    chars = list(code)
    chars[position] = USCC_ALPHABET[(USCC_ALPHABET.index(chars[position]) + delta) % 31]
    assert not is_valid_uscc("".join(chars))
