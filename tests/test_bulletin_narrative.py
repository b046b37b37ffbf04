"""The generated 情况通报 text, on the seed bulletin's own numbers (no database).

The seed (2019 第5期) printed its county/park table from a PDF whose blank cells
were lost; SEED_COUNTY_PARK is that table reconstructed.  The narrative must name
the units the seed names for 信用承诺书 and 行业监管.
"""

from dataclasses import dataclass, field

import pytest

from bulletins import narrative
from bulletins.narrative import Group, Indicator, join_names, top_units

COLUMNS = [
    "政府失信未治理", "信用承诺书", "信用工作报道", "“双公示”报送", "开展诚信教育、宣传活动",
    "文明办“专项治理”活动", "联合奖惩案例", "约谈失信企业代表数量", "行业监管上报数量", "月度报表情况",
]
GOV, COMMIT, NEWS, EDU, CIVIL, JOINT, SUPERVISION, MONTHLY = (
    "政府失信未治理", "信用承诺书", "信用工作报道", "开展诚信教育、宣传活动", "文明办“专项治理”活动",
    "联合奖惩案例", "行业监管上报数量", "月度报表情况",
)

SEED_COUNTIES = {
    "鲅鱼圈": {COMMIT: 2, EDU: 5, SUPERVISION: 3, MONTHLY: 1},
    "大石桥市": {GOV: 1, COMMIT: 172, NEWS: 1, EDU: 10, SUPERVISION: 365, MONTHLY: 6},
    "盖州市": {GOV: 4, COMMIT: 136, EDU: 15, CIVIL: 2, JOINT: 4, SUPERVISION: 203, MONTHLY: 3},
    "老边区": {COMMIT: 124, EDU: 52, NEWS: 1, JOINT: 7, SUPERVISION: 237, MONTHLY: 11},
    "站前区": {COMMIT: 3032, EDU: 37},
    "西市区": {COMMIT: 1734, EDU: 3, JOINT: 2, SUPERVISION: 47, MONTHLY: 1},
}
SEED_PARKS = {
    "自贸区": {COMMIT: 30, EDU: 7, JOINT: 1, MONTHLY: 8},
    "沿海产业基地": {COMMIT: 111, EDU: 5, MONTHLY: 1},
    "北海经开区": {COMMIT: 60, MONTHLY: 1},
    "仙人岛经开区": {COMMIT: 48, EDU: 1, JOINT: 1, SUPERVISION: 71, MONTHLY: 2},
    "辽河经开区": {COMMIT: 202, EDU: 5, NEWS: 4, JOINT: 5, SUPERVISION: 3, MONTHLY: 2},
}


@dataclass
class FakeUnit:
    short_name: str


@dataclass
class FakeRow:
    """Stands in for rankings.indicators.UnitIndicators."""

    unit: FakeUnit
    values: dict
    total: int = 0
    never_reported: bool = False
    ranks: dict = field(default_factory=dict)


def rows_of(table):
    rows = []
    for name, values in table.items():
        full = {c: values.get(c, 0) for c in COLUMNS}
        total = sum(v for c, v in full.items() if c != MONTHLY)
        rows.append(FakeRow(FakeUnit(name), full, total, never_reported=total == 0))
    return rows


def names(rows):
    return {r.unit.short_name for r in rows}


def leaders(table, column, **kwargs):
    return top_units(rows_of(table), narrative.column_key(column), **kwargs)


def clause(paragraph, phrase):
    """The names after a phrase, up to the next ；or 。, split back into a set."""
    rest = paragraph.split(phrase, 1)[1]
    text = rest.split("；", 1)[0].split("。", 1)[0]
    return set(text.replace("和", "、").split("、"))


# --- the seed's own numbers --------------------------------------------------------------


def test_seed_counties_commitments_name_zhanqian_and_xishi():
    assert names(leaders(SEED_COUNTIES, COMMIT)) == {"站前区", "西市区"}


def test_seed_counties_supervision_name_dashiqiao_gaizhou_laobian():
    assert names(leaders(SEED_COUNTIES, SUPERVISION)) == {"大石桥市", "盖州市", "老边区"}


def test_seed_parks_commitments_name_liaohe_coastal_beihai():
    assert names(leaders(SEED_PARKS, COMMIT)) == {"辽河经开区", "沿海产业基地", "北海经开区"}


def test_seed_parks_supervision_name_only_xianrendao():
    assert names(leaders(SEED_PARKS, SUPERVISION)) == {"仙人岛经开区"}


def test_seed_paragraphs_read_like_the_seed():
    county = narrative.group_paragraph("县（市）区", rows_of(SEED_COUNTIES))
    park = narrative.group_paragraph("园区", rows_of(SEED_PARKS))

    assert county.startswith("从县（市）区上报信用信息数据看，信用承诺书签订量最多的是站前区和西市区；")
    assert clause(county, "信用承诺书签订量最多的是") == {"站前区", "西市区"}
    assert clause(county, "行业监管上报量较高的是") == {"大石桥市", "盖州市", "老边区"}
    assert "行业监管上报量较高的是大石桥市、老边区和盖州市；" in county  # descending: 365, 237, 203
    assert clause(county, "信用宣传工作开展较好的是") == {"老边区", "站前区", "盖州市"}  # as the seed
    assert county.endswith("。")

    assert park.startswith("从园区上报信用信息数据看，信用承诺书签订量最多的是辽河经开区、沿海产业基地和北海经开区；")
    assert clause(park, "信用承诺书签订量最多的是") == {"辽河经开区", "沿海产业基地", "北海经开区"}
    assert clause(park, "行业监管上报量较高的是") == {"仙人岛经开区"}


def test_the_seed_named_units_appear_in_the_composed_text():
    paragraphs = narrative.compose(
        year=2019, first=1, last=9,
        groups=[Group("县（市）区", rows_of(SEED_COUNTIES)), Group("园区", rows_of(SEED_PARKS))],
        departments=[FakeRow(FakeUnit("中级法院"), {}, 4531), FakeRow(FakeUnit("人社局"), {}, 106884),
                     FakeRow(FakeUnit("司法局"), {}, 0, never_reported=True)],
        total=148434,
    )
    assert paragraphs[0].startswith("从全市目前各信源单位信用信息数据上报情况看，2019年1—9月，全市14个信源单位共上报信用信息数据148434条")
    assert paragraphs[0].endswith("具体情况如下：")
    assert paragraphs[1].startswith("从县（市）区上报信用信息数据看，")
    assert paragraphs[2].startswith("从园区上报信用信息数据看，")
    assert paragraphs[3] == "市有关部门上报信用信息数据情况较好的单位有：人社局、中级法院等。"
    assert paragraphs[4] == "2019年1—9月，从未上报过任何信用信息数据的单位有：司法局，共1个。"


# --- the rules ------------------------------------------------------------------------


def fake(values):
    return [FakeRow(FakeUnit(name), {"x": v}) for name, v in values.items()]


def top(values, **kwargs):
    return [r.unit.short_name for r in top_units(fake(values), narrative.column_key("x"), **kwargs)]


def test_at_most_n_units_in_descending_order():
    assert top({"A": 5, "B": 9, "C": 7, "D": 6}) == ["B", "C", "D"]
    assert top({"A": 5, "B": 9, "C": 7, "D": 6}, limit=2) == ["B", "C"]


def test_zero_values_are_never_named():
    assert top({"A": 0, "B": 4, "C": 0}) == ["B"]
    assert top({"A": 0, "B": 0}) == []


def test_stops_at_a_clear_gap():
    assert top({"A": 100, "B": 29, "C": 28}) == ["A"]  # 29 < 0.3 x 100
    assert top({"A": 100, "B": 30, "C": 8}) == ["A", "B"]  # 30 is not below 30; 8 < 0.3 x 30
    assert top({"A": 100, "B": 29}, gap_ratio=0) == ["A", "B"]


def test_a_tie_at_the_cut_is_cut_before_the_tie():
    assert top({"A": 10, "B": 8, "C": 5, "D": 5}) == ["A", "B"]
    assert top({"A": 10, "B": 5, "C": 5, "D": 5}) == ["A"]
    assert top({"A": 5, "B": 5, "C": 5, "D": 5}) == []
    assert top({"A": 10, "B": 5, "C": 5}) == ["A", "B", "C"]  # the tie fits


@pytest.mark.parametrize("values", [
    {"A": 10, "B": 8, "C": 5, "D": 5}, {"A": 3, "B": 3, "C": 3, "D": 2, "E": 1}, {"A": 1, "B": 7, "C": 7, "D": 7},
    {"A": 100, "B": 31, "C": 31, "D": 9}, {"A": 2, "B": 1, "C": 1, "D": 1, "E": 0},
])
def test_never_names_a_unit_while_leaving_out_a_higher_or_equal_one(values):
    named = top(values)
    assert len(named) <= 3
    for unit in named:
        left_out = set(values) - set(named)
        assert all(values[other] < values[unit] for other in left_out)


def test_names_are_joined_chinese_style():
    assert join_names([]) == ""
    assert join_names(["A"]) == "A"
    assert join_names(["A", "B"]) == "A和B"
    assert join_names(["A", "B", "C"]) == "A、B和C"


def test_departments_paragraph_names_up_to_ten_by_total_without_gap_rule():
    rows = [FakeRow(FakeUnit(f"部门{i}"), {}, total) for i, total in enumerate([1000, 900, 5, 4, 3, 2, 1, 1, 1, 1, 1, 0])]
    text = narrative.departments_paragraph(rows)
    # 部门6–部门10 tie at 1 across the cut of 10: the tie is left out.
    assert text == "市有关部门上报信用信息数据情况较好的单位有：部门0、部门1、部门2、部门3、部门4、部门5等。"
    assert narrative.departments_paragraph(rows[-1:]) == "市有关部门尚未上报信用信息数据。"


def test_an_indicator_with_nobody_is_left_out_and_unknown_columns_get_a_plain_phrase():
    rows = [FakeRow(FakeUnit("甲"), {"信用承诺书": 0, "联合奖惩案例": 3})]
    text = narrative.group_paragraph("园区", rows, [narrative.indicator_for("信用承诺书"),
                                                   narrative.indicator_for("联合奖惩案例")])
    assert text == "从园区上报信用信息数据看，联合奖惩案例较多的是甲。"
    assert narrative.group_paragraph("园区", rows, [Indicator("信用承诺书", "x")]) == "从园区上报信用信息数据看，所列各项均无上报数据。"


def test_never_reported_paragraph_when_everyone_reported():
    assert narrative.never_reported_paragraph([], year=2019, first=3, last=3) == "2019年3月，各信源单位均上报了信用信息数据。"
