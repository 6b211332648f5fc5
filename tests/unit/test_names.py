"""Names sorted by pinyin, as a roll call reads them, not by code point."""
from __future__ import annotations

from server.services.names import pinyin_key


def test_names_sort_by_pinyin_not_by_code_point():
    names = ["孙丽", "张伟", "李静", "王芳", "陈明", "赵磊"]
    assert sorted(names) != sorted(names, key=pinyin_key)  # code point order is not pinyin order
    assert sorted(names, key=pinyin_key) == ["陈明", "李静", "孙丽", "王芳", "张伟", "赵磊"]


def test_a_surname_is_read_as_a_surname():
    # 单 is dān as a word but shàn as a surname; 曾 céng / zēng.
    assert sorted(["单伟", "邵明", "丁一"], key=pinyin_key) == ["丁一", "单伟", "邵明"]
    assert sorted(["曾华", "岑明", "张三"], key=pinyin_key) == ["岑明", "曾华", "张三"]


def test_the_tone_breaks_a_tie_and_equal_readings_keep_a_stable_order():
    assert sorted(["李四", "黎四", "丽四"], key=pinyin_key) == ["黎四", "李四", "丽四"]  # li2, li3, li4
    assert pinyin_key("Miranda") == (("miranda",), "Miranda")
