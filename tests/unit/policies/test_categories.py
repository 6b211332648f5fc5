"""补贴类别 as rosters write them, read into the region's own groups (policies/categories.py)."""
from __future__ import annotations

import pytest

from policies import categories
from policies.loader import load_region


@pytest.fixture(scope="module")
def cq():
    return load_region("cq").eligible_groups


@pytest.fixture(scope="module")
def js():
    return load_region("js").eligible_groups


@pytest.mark.parametrize("text, code", [
    ("enterprise_employee", "enterprise_employee"),
    ("企业在岗职工", "enterprise_employee"),
    ("企业职工", "enterprise_employee"),
    (" 企业 职工 ", "enterprise_employee"),
    ("高校毕业生", "graduate_of_the_year"),
    ("毕业年度高校毕业生（含预备技师班、技师班，毕业当年1月1日至12月31日）", "graduate_of_the_year"),
])
def test_a_code_a_name_the_notices_wording_or_an_alias_reads_as_the_regions_group(cq, text, code):
    assert categories.read_category(text, cq).group.code == code


def test_full_width_letters_are_read_as_the_code(cq):
    assert categories.read_category("ＥＮＴＥＲＰＲＩＳＥ_ＥＭＰＬＯＹＥＥ", cq).group.code == "enterprise_employee"


def test_a_category_the_region_does_not_subsidise_is_refused_with_the_regions_list(cq):
    reading = categories.read_category("失业人员", cq)  # a group in Jiangsu, not in Chongqing
    assert reading.group is None and reading.candidates == ()
    message = categories.refusal("失业人员", reading, cq)
    assert "失业人员" in message and "企业在岗职工" in message and "毕业年度高校毕业生" in message


def test_the_same_words_name_different_groups_in_different_regions(js):
    assert categories.read_category("失业人员", js).group.code == "registered_unemployed"
    assert categories.read_category("企业职工", js).group is None


def test_an_alias_two_groups_share_is_refused_naming_both_never_guessed(cq):
    from dataclasses import replace

    groups = (replace(cq[0], aliases=("毕业生",)), replace(cq[1], aliases=("毕业生",)))
    reading = categories.read_category("毕业生", groups)
    assert reading.group is None and len(reading.candidates) == 2
    assert "请写明是哪一类" in categories.refusal("毕业生", reading, groups)


def test_a_stored_category_shows_as_its_name_and_an_unknown_one_is_marked(cq):
    assert categories.shown("enterprise_employee", cq) == "企业在岗职工"
    assert categories.shown("企业职工", cq) == "未识别的类别：企业职工"
    assert categories.shown(None, cq) is None


def test_trainees_without_a_known_category_are_warned_with_their_names_and_the_clause(cq):
    warnings = categories.category_warnings(
        [("张三", None), ("李四", "enterprise_employee"), ("王五", "enterprise_employe")], cq)
    by_code = {w.code: w for w in warnings}
    assert set(by_code) == {"category_missing", "category_unknown"}
    assert "1 名学员未填写补贴类别：张三" in by_code["category_missing"].detail
    assert "王五（enterprise_employe）" in by_code["category_unknown"].detail
    assert all(w.clause == "cq 4.1.1" for w in warnings)
    assert categories.category_warnings([("李四", "enterprise_employee")], cq) == []


def test_a_region_that_names_no_groups_warns_about_nothing():
    assert categories.category_warnings([("张三", None)], ()) == []
