"""An issue as its three renderings (web page, PDF, DOCX) see it.

The statistics tables come from the issue's snapshot (plain JSON), never from
the live statistics: a published issue prints what it printed on the day.
Cells follow the seed bulletin: a zero is left blank, except in the 总计 column
and the 合计 row, where every number is printed.
"""

from dataclasses import dataclass, field

from .models import Section

NUMBER_HEADER = "序号"
TOTAL_LABEL = "合计"


@dataclass
class TableRowView:
    kind: str  # "total", "group" or "unit"
    number: str
    name: str
    cells: list  # str per column ("" for a blank zero)
    unit: str = ""  # unit code
    never_reported: bool = False


@dataclass
class TableView:
    code: str
    title: str
    name_header: str
    numbered: bool
    columns: list
    rows: list = field(default_factory=list)

    @property
    def header(self):
        return ([NUMBER_HEADER] if self.numbered else []) + [self.name_header, *self.columns]

    @property
    def width(self):
        return len(self.header)

    @property
    def is_wide(self):
        """Too many columns for a portrait page."""
        return len(self.columns) > 12


def table_view(snapshot_table):
    t = snapshot_table
    totals_columns = set(t.get("total_columns", []))
    columns = t["columns"]

    def cells(values, *, keep_zero=False):
        return [str(v) if v or keep_zero or label in totals_columns else "" for label, v in zip(columns, values, strict=True)]

    view = TableView(code=t["code"], title=t["title"], name_header=t["name_header"], numbered=t["numbered"],
                     columns=columns)
    if t.get("total_row"):
        view.rows.append(TableRowView("total", "", TOTAL_LABEL, cells(t["totals"], keep_zero=True)))
    for group in t["groups"]:
        if t.get("group_headers"):
            view.rows.append(TableRowView("group", "", group["label"], []))
        for row in group["rows"]:
            view.rows.append(TableRowView(
                "unit", str(row["number"]), row["name"], cells(row["values"]), unit=row["unit"],
                never_reported=row["never_reported"],
            ))
    return view


def snapshot_tables(bulletin):
    return [table_view(t) for t in (bulletin.snapshot or {}).get("tables", [])]


@dataclass
class SectionView:
    code: str
    label: str
    articles: list
    tables: list

    @property
    def heading(self):
        return f"【{self.label}】"

    @property
    def is_briefs(self):
        return self.code == Section.BRIEFS


def issue_sections(bulletin, *, include_empty=False):
    """Sections in the seed's order with their articles; the tables close 情况通报.
    Empty sections are left out unless include_empty (the editor shows them all)."""
    by_section = {}
    for article in bulletin.articles.order_by("order", "id"):
        by_section.setdefault(article.section, []).append(article)
    tables = snapshot_tables(bulletin)
    sections = []
    for code, label in Section.choices:
        articles = by_section.get(code, [])
        section_tables = tables if code == Section.STATUS else []
        if articles or section_tables or include_empty:
            sections.append(SectionView(code, label, articles, section_tables))
    return sections
