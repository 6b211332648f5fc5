"""Identity numbers the rules rely on: resident IDs and unified social credit codes.

The trainee's resident ID carries the birth date and sex that decide Jinhua's age exclusions
(jinhua 2) and the retirement schedule; the institution's 统一社会信用代码 identifies who is paid
(cq-call annex). Both have check characters, so a typo is caught at the door instead of becoming
somebody else's subsidy. The server's data model imports these validators.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from policies.model import Sex


class IdentityError(ValueError):
    """A malformed identity number; the message says what is wrong and what to check."""

    @property
    def zh(self) -> str:
        """The Chinese sentence alone, for a user: the English in brackets after it is for the
        CLI and the logs."""
        return re.sub(r"\s*\([^()]*\)\s*$", "", str(self))


# GB 11643-1999: weights are 2^(17-i) mod 11, check = (12 - sum mod 11) mod 11, 10 written X.
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"  # indexed by sum mod 11


@dataclass(frozen=True)
class ResidentId:
    number: str
    birth_date: date
    sex: Sex
    area: str  # the 6-digit administrative division of registration


def resident_id_check_digit(first17: str) -> str:
    """The GB 11643-1999 (ISO 7064 MOD 11-2) check character for 17 digits."""
    if len(first17) != 17 or not first17.isdigit():
        raise IdentityError("the check digit is computed over exactly 17 digits")
    return _ID_CHECK[sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS, strict=True)) % 11]


def parse_resident_id(text: str) -> ResidentId:
    """Validate an 18-character resident ID and read its birth date and sex.

    Raises IdentityError naming the problem: length, characters, birth date or check digit.
    """
    number = str(text).strip().upper()
    if len(number) != 18:
        raise IdentityError(f"居民身份证号码应为18位，实际{len(number)}位：请核对号码 "
                            f"(resident ID must have 18 characters, got {len(number)})")
    if not number[:17].isdigit() or not (number[17].isdigit() or number[17] == "X"):
        raise IdentityError("居民身份证号码前17位应为数字、最后一位为数字或X：请核对号码 (resident ID: 17 digits then a digit or X)")
    try:
        birth = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise IdentityError(f"居民身份证号码中的出生日期 {number[6:14]} 不是有效日期：请核对第7-14位 "
                            f"(birth date {number[6:14]} is not a valid date)") from None
    expected = resident_id_check_digit(number[:17])
    if number[17] != expected:
        raise IdentityError(f"居民身份证号码校验位错误：最后一位应为 {expected}，实际为 {number[17]}，请核对号码 "
                            f"(check digit should be {expected}, got {number[17]})")
    # 17th character: odd for men, even for women (GB 11643-1999 顺序码).
    sex = Sex.MALE if int(number[16]) % 2 else Sex.FEMALE
    return ResidentId(number=number, birth_date=birth, sex=sex, area=number[:6])


def is_valid_resident_id(text: str) -> bool:
    try:
        parse_resident_id(text)
    except IdentityError:
        return False
    return True


# GB 32100-2015: 31 characters (digits and capitals without I O Z S V), weights 3^i mod 31.
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def uscc_check_character(first17: str) -> str:
    """The GB 32100-2015 check character for the first 17 characters of a credit code."""
    if len(first17) != 17 or any(c not in USCC_ALPHABET for c in first17):
        raise IdentityError("the check character is computed over 17 characters of the code alphabet")
    total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def validate_uscc(text: str) -> str:
    """Validate an 18-character unified social credit code; returns it normalised (upper case)."""
    code = str(text).strip().upper()
    if len(code) != 18:
        raise IdentityError(f"统一社会信用代码应为18位，实际{len(code)}位：请核对 (credit code must have 18 characters, got {len(code)})")
    bad = sorted({c for c in code if c not in USCC_ALPHABET})
    if bad:
        raise IdentityError(f"统一社会信用代码含有不允许的字符 {''.join(bad)}（不使用 I、O、Z、S、V）：请核对 "
                            f"(characters not allowed: {''.join(bad)})")
    if not code[2:8].isdigit():
        raise IdentityError(f"统一社会信用代码第3-8位应为行政区划码（数字），实际为 {code[2:8]}：请核对 (positions 3-8 must be digits)")
    expected = uscc_check_character(code[:17])
    if code[17] != expected:
        raise IdentityError(f"统一社会信用代码校验码错误：最后一位应为 {expected}，实际为 {code[17]}，请核对 "
                            f"(check character should be {expected}, got {code[17]})")
    return code


def is_valid_uscc(text: str) -> bool:
    try:
        validate_uscc(text)
    except IdentityError:
        return False
    return True
