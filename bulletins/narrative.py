"""The text of the generated 情况通报, in the style of the seed bulletin.

Pure functions over ranking rows: anything with ``.unit`` (``.short_name``),
``.values`` ({column label: value}), ``.total`` and ``.never_reported`` — the
UnitIndicators of rankings.indicators.group_ranking, or stand-ins in tests.

Choices, so that the text is fair and reads the same in every issue:

- Units are named by their ``short_name``, everywhere (counties, parks and
  departments alike), which is also how the tables print them.
- "The units with the highest values" (``top_units``): at most ``limit`` units,
  only non-zero values, in descending order.  A unit is never named while one
  with a higher *or equal* value is left out: when a tie straddles the cut, the
  cut moves *before* the tie (10, 8, 5, 5 with limit 3 names two units).
  The list also stops at a clear gap: before a unit whose value is below
  ``gap_ratio`` of the previous named unit's value (3032, 1734, 172 names two).
- Names are joined Chinese-style: "A", "A和B", "A、B和C".
"""

from dataclasses import dataclass

LIMIT = 3
GAP_RATIO = 0.3
DEPARTMENT_LIMIT = 10
GROUP_PHRASE = "从{group}上报信用信息数据看，"


@dataclass(frozen=True)
class Indicator:
    """A column of the county/park table and how the bulletin speaks of its leaders."""

    column: str
    phrase: str  # followed by the names: "信用承诺书签订量最多的是" + "站前区和西市区"


DEFAULT_INDICATORS = (
    Indicator("信用承诺书", "信用承诺书签订量最多的是"),
    Indicator("行业监管上报数量", "行业监管上报量较高的是"),
    Indicator("开展诚信教育、宣传活动", "信用宣传工作开展较好的是"),
    Indicator("月度报表情况", "信用信息报表较全面的是"),
)
KNOWN_PHRASES = {i.column: i.phrase for i in DEFAULT_INDICATORS}


def indicator_for(column):
    """The indicator of a column: the seed's phrase where it has one, else a plain one."""
    return Indicator(column, KNOWN_PHRASES.get(column, f"{column}较多的是"))


def name_of(row):
    return row.unit.short_name


def join_names(names):
    names = list(names)
    if len(names) <= 1:
        return "".join(names)
    return "、".join(names[:-1]) + "和" + names[-1]


def top_units(rows, key, *, limit=LIMIT, gap_ratio=GAP_RATIO):
    """The rows with the highest non-zero key(row), best first (see the module's rules)."""
    ranked = sorted((r for r in rows if (key(r) or 0) > 0), key=lambda r: -key(r))
    chosen = []
    for position, row in enumerate(ranked):
        value = key(row)
        if chosen and gap_ratio and value < gap_ratio * key(chosen[-1]):
            break
        if position >= limit:
            break
        chosen.append(row)
    # A tie straddling the cut: drop the tied units rather than name some of them.
    if len(chosen) < len(ranked) and chosen and key(ranked[len(chosen)]) == key(chosen[-1]):
        tied = key(chosen[-1])
        chosen = [r for r in chosen if key(r) != tied]
    return chosen


def column_key(column):
    return lambda row: row.values.get(column, 0)


def group_paragraph(group_label, rows, indicators=DEFAULT_INDICATORS, *, limit=LIMIT, gap_ratio=GAP_RATIO):
    """"从县（市）区上报信用信息数据看，信用承诺书签订量最多的是站前区和西市区；…。" ("" without rows)."""
    if not rows:
        return ""
    clauses = []
    for indicator in indicators:
        if not any(indicator.column in r.values for r in rows):
            continue
        leaders = top_units(rows, column_key(indicator.column), limit=limit, gap_ratio=gap_ratio)
        if leaders:
            clauses.append(indicator.phrase + join_names(name_of(r) for r in leaders))
    lead = GROUP_PHRASE.format(group=group_label)
    if not clauses:
        return lead + "所列各项均无上报数据。"
    return lead + "；".join(clauses) + "。"


def departments_paragraph(rows, *, limit=DEPARTMENT_LIMIT):
    """"市有关部门上报信用信息数据情况较好的单位有：A、B、…等。" — by total, no gap rule."""
    leaders = top_units(rows, lambda r: r.total, limit=limit, gap_ratio=0)
    if not leaders:
        return "市有关部门尚未上报信用信息数据。"
    names = "、".join(name_of(r) for r in leaders)
    return f"市有关部门上报信用信息数据情况较好的单位有：{names}{'等' if len(leaders) > 1 else ''}。"


def never_reported_paragraph(rows, *, year, first, last):
    """The units with nothing at all in the range, named in table order."""
    silent = [name_of(r) for r in rows if r.never_reported]
    if not silent:
        return f"{range_label(year, first, last)}，各信源单位均上报了信用信息数据。"
    return (f"{range_label(year, first, last)}，从未上报过任何信用信息数据的单位有："
            f"{'、'.join(silent)}，共{len(silent)}个。")


def pending_paragraph(pending, *, year, first, last):
    """The reports submitted but not yet reviewed, which the numbers above leave out ("" when none).

    ``pending`` holds one unit name per report awaiting review.
    """
    if not pending:
        return ""
    units = list(dict.fromkeys(pending))
    return (f"另有{len(pending)}份{range_label(year, first, last)}的月度报表已提交、尚待审核，"
            f"审核通过前未计入本通报的统计数据，涉及{'、'.join(units)}，共{len(units)}个单位。")


def intro_paragraph(*, year, first, last, units, total, silent, pending=0):
    text = (f"从全市目前各信源单位信用信息数据上报情况看，{range_label(year, first, last)}，"
            f"全市{units}个信源单位共上报信用信息数据{total}条")
    if pending:
        text += f"（另有{pending}份已提交的月度报表尚待审核，未计入）"
    if silent:
        text += f"，但仍有{silent}个单位对信用工作重视程度不够，从未上报过任何信用信息数据"
    return text + "。具体情况如下："


def range_label(year, first, last):
    months = f"{first}月" if first == last else f"{first}—{last}月"
    return f"{year}年{months}"


@dataclass
class Group:
    label: str  # 县（市）区, 园区
    rows: list


def compose(*, year, first, last, groups, departments, total=None, indicators=DEFAULT_INDICATORS,
            limit=LIMIT, gap_ratio=GAP_RATIO, department_limit=DEPARTMENT_LIMIT, pending=()):
    """The paragraphs of the 情况通报: intro, one per group, departments, never reported, awaiting review.

    ``groups`` are the county and park Groups, ``departments`` the department rows;
    ``total`` is the number of items reported by all units (the 合计 of the tables);
    ``pending`` one unit name per report of the range submitted and not yet reviewed.
    A row's ``never_reported`` means the unit submitted no report at all in the range.
    """
    everyone = [r for g in groups for r in g.rows] + list(departments)
    if total is None:
        total = sum(r.total for r in everyone)
    silent = [r for r in list(departments) + [r for g in groups for r in g.rows] if r.never_reported]
    paragraphs = [intro_paragraph(year=year, first=first, last=last, units=len(everyone), total=total,
                                  silent=len(silent), pending=len(pending))]
    for group in groups:
        text = group_paragraph(group.label, group.rows, indicators, limit=limit, gap_ratio=gap_ratio)
        if text:
            paragraphs.append(text)
    paragraphs.append(departments_paragraph(departments, limit=department_limit))
    paragraphs.append(never_reported_paragraph(silent, year=year, first=first, last=last))
    waiting = pending_paragraph(pending, year=year, first=first, last=last)
    if waiting:
        paragraphs.append(waiting)
    return paragraphs
