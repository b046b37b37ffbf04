"""批量核查: a list of subjects in, a result workbook out.

The list is read with reporting.excel (the upload path's guards: zip bombs, sheet
size, encodings); its columns are found by header text.  Rows are checked a chunk
at a time — one query per identifier kind per chunk — and written straight to a
write-only workbook, so memory stays flat whatever the list's length.

Matching, per row: by 统一社会信用代码 when one is given, else by 证件号码, else by the
exact name (said so in the 说明 column).  A code or ID number that fails its check is
reported as invalid (代码无效), never guessed.  A code column may hold a person's
居民身份证号 (clerks do that): a value that is a valid ID number and not a valid code
is taken as one.
"""

import itertools
from dataclasses import dataclass

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from reporting.excel import HEAD_ROWS, UploadRefused, iter_table
from reporting.exports import sanitize_cell
from reporting.models import Category
from reporting.validators import (
    FieldError,
    cell_text,
    check_number_as_code,
    check_resident_id,
    header_without_note,
    normalise_code,
    normalise_header,
)

from . import kinds, marks, queries, selectors

MAX_ROWS = 10_000
CHUNK = 1000

NAME_HEADERS = ("名称", "主体名称", "企业名称", "单位名称", "市场主体名称", "姓名", "行政相对人名称", "相对人名称",
                "申请人", "申请人名称", "申请单位", "当事人", "当事人名称", "投标人", "投标人名称", "企业（个人）名称")
CODE_HEADERS = ("统一社会信用代码", "社会信用代码", "信用代码", "统一信用代码", "统一社会信用代码（18位）")
ID_HEADERS = ("证件号码", "证件号", "身份证号", "身份证号码", "居民身份证号", "居民身份证号码", "身份证件号码")
EITHER_HEADERS = ("统一社会信用代码或证件号码", "统一社会信用代码/证件号码", "代码或证件号码", "代码/证件号码",
                  "统一社会信用代码（身份证号码）", "统一社会信用代码或身份证号码", "证照号码")
_WANTED = {
    **{normalise_header(h): "name" for h in NAME_HEADERS},
    **{normalise_header(h): "code" for h in CODE_HEADERS},
    **{normalise_header(h): "id" for h in ID_HEADERS},
    **{normalise_header(h): "either" for h in EITHER_HEADERS},
}

BY_CODE, BY_ID, BY_NAME = "credit_code", "id_number", "subject_name"
MATCH_LABELS = {BY_CODE: "统一社会信用代码", BY_ID: "证件号码", BY_NAME: "名称（精确）"}
_HEADER_FONT = Font(bold=True)
_HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
_BAD_FONT = Font(color="C00000", bold=True)
_WRAP = Alignment(wrap_text=True, vertical="top")


def _column_of(cell):
    text = normalise_header(cell_text(cell))
    return _WANTED.get(text) or _WANTED.get(header_without_note(text))


def _header_columns(cells):
    """{role: column index} of a header row (the first column of each role)."""
    columns = {}
    for index, cell in enumerate(cells):
        role = _column_of(cell)
        if role and role not in columns:
            columns[role] = index
    return columns


def _header_score(head):
    return max((len(_header_columns(cells)) for _, cells in head), default=0)


def _open_list(path, kind):
    """(header row number, {role: column}, last row number, rows after the header) or UploadRefused."""
    _, last_row, rows = iter_table(path, kind, choose=_header_score)
    for number, cells in itertools.islice(rows, HEAD_ROWS):
        columns = _header_columns(cells)
        if "name" in columns or {"code", "id", "either"} & columns.keys():
            return number, columns, last_row, rows
    raise UploadRefused(
        "没有找到名单的表头：请在第一行写上列名，至少包含“名称”和“统一社会信用代码”（或“证件号码”）之一。"
        "可下载核查名单模板填写。"
    )


def list_inspect(path, kind):
    """The number of data rows of a list file, or UploadRefused (no header, more than MAX_ROWS rows)."""
    header_row, _, last_row, rows = _open_list(path, kind)
    count = sum(1 for _ in itertools.islice(rows, MAX_ROWS + 1))
    if count > MAX_ROWS:
        raise UploadRefused(f"名单超过 {MAX_ROWS} 行（表头在第 {header_row} 行），请拆分成多个文件分别核查。")
    if count == 0:
        raise UploadRefused("名单中没有数据行。")
    return count


# --- one row of the list ----------------------------------------------------------


@dataclass
class ListRow:
    row: int
    name: str
    code: str  # as given
    id_number: str  # as given
    by: str = ""  # BY_CODE, BY_ID or BY_NAME
    key: str = ""
    error: str = ""


def _text(cells, column, what):
    if column is None or column >= len(cells):
        return ""
    value = cells[column]
    return check_number_as_code(value, what) if isinstance(value, float) else cell_text(value)


def list_row(number, cells, columns):
    """The row read and its identifier checked: a ListRow with `by` and `key`, or with `error`."""
    name = cell_text(cells[columns["name"]]) if "name" in columns and columns["name"] < len(cells) else ""
    try:
        code = _text(cells, columns.get("code"), "统一社会信用代码") or _text(cells, columns.get("either"), "代码")
        id_text = _text(cells, columns.get("id"), "证件号码")
    except ValueError as exc:
        return ListRow(number, name, "", "", error=str(exc))
    row = ListRow(number, name, code, id_text)
    try:
        if code:
            found = _code_or_id(code)
            row.by, row.key = (BY_ID, found.value) if found.mode == queries.ID_NUMBER else (BY_CODE, found.value)
        elif id_text:
            row.by, row.key = BY_ID, queries.id_number_check(id_text)
        elif name:
            row.by, row.key = BY_NAME, queries.name_clean(name)
        else:
            row.error = "未填写名称、统一社会信用代码或证件号码"
    except queries.QueryError as exc:
        row.error = str(exc)
    return row


def _code_or_id(text):
    """A 统一社会信用代码; or a valid 居民身份证号 put in the code column."""
    try:
        return queries.Query(queries.CODE, queries.code_check(text))
    except queries.QueryError:
        compact = normalise_code(text)
        if queries.RESIDENT_LIKE.match(compact):
            try:
                return queries.Query(queries.ID_NUMBER, check_resident_id(compact))
            except FieldError:
                pass
        raise


# --- the check ----------------------------------------------------------------------


@dataclass
class Summary:
    rows: int = 0
    with_hits: int = 0
    invalid: int = 0
    bad: int = 0  # rows with a black-list or in-publicity penalty mark

    def as_json(self):
        return {"rows": self.rows, "with_hits": self.with_hits, "invalid": self.invalid}


def result_categories():
    """The categories whose hits get a column, in the office's order."""
    return list(Category.objects.filter(measure=Category.Measure.RECORDS, schema__in=kinds.SUBJECT_SCHEMAS)
                .order_by("order", "code").values_list("code", "name"))


def list_check(path, kind, *, out, as_of, progress=None):
    """Check the list at `path`, write the result workbook to `out`; returns a Summary."""
    header_row, columns, last_row, rows = _open_list(path, kind)
    total = max(last_row - header_row, 0)
    if total > MAX_ROWS:  # more lines than allowed, some perhaps blank: count before writing anything
        rows = list(itertools.islice(rows, MAX_ROWS + 1))
        if len(rows) > MAX_ROWS:
            raise UploadRefused(f"名单超过 {MAX_ROWS} 行，请拆分成多个文件分别核查。")
        rows = iter(rows)
    categories = result_categories()
    scope = selectors.lookup_scope()
    book = Workbook(write_only=True)
    sheet = book.create_sheet("核查结果")
    _write_header(sheet, categories, as_of)
    summary = Summary()
    while chunk := list(itertools.islice(rows, CHUNK)):
        checked = [list_row(number, cells, columns) for number, cells in chunk]
        found = _facts(checked, scope)
        for row in checked:
            _write_row(sheet, row, found.get((row.by, row.key)), categories, as_of, summary)
        summary.rows += len(checked)
        if progress is not None:
            progress(summary.rows, max(total, summary.rows))
    book.save(out)
    return summary


def _facts(checked, scope):
    """{(by, key): ([Fact], {names})} for the chunk's valid rows: one query per identifier kind."""
    found = {}
    for by in (BY_CODE, BY_ID, BY_NAME):
        keys = sorted({row.key for row in checked if row.by == by and not row.error})
        for key, value in selectors.facts_by_field(by, keys, scope=scope).items():
            found[(by, key)] = value
    return found


RESULT_HEADERS = ("行号", "名称", "统一社会信用代码", "证件号码", "核查结论", "当前列入黑名单", "公示期内行政处罚（条）",
                  "列入红名单")
TAIL_HEADERS = ("记录合计", "匹配方式", "说明")


def _write_header(sheet, categories, as_of):
    headers = [*RESULT_HEADERS, *(name for _, name in categories), *TAIL_HEADERS]
    for index, header in enumerate(headers, start=1):
        width = 30 if header in ("名称", "说明") else 20 if header in ("统一社会信用代码", "证件号码", "核查结论") else 12
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "C2"
    cells = []
    for header in headers:
        cell = WriteOnlyCell(sheet, value=header)
        cell.font, cell.fill, cell.alignment = _HEADER_FONT, _HEADER_FILL, _WRAP
        cells.append(cell)
    sheet.append(cells)


def _write_row(sheet, row, found, categories, as_of, summary):
    given = [row.row, *(sanitize_cell(text, sheet) for text in (row.name, row.code, row.id_number))]
    blanks = [None] * (len(RESULT_HEADERS) - 5 + len(categories))
    if row.error:
        summary.invalid += 1
        verdict = WriteOnlyCell(sheet, value=marks.INVALID)
        verdict.font = _BAD_FONT
        sheet.append([*given, verdict, *blanks, None, None, sanitize_cell(row.error, sheet)])
        return
    facts, names = found or ([], set())
    result = marks.marks_compute(facts, as_of=as_of)
    by_category = {}
    for fact in facts:
        if fact.date is None or fact.date <= as_of:
            by_category[fact.category] = by_category.get(fact.category, 0) + 1
    if not result.total:
        sheet.append([*given, marks.NOT_FOUND, *blanks, 0, MATCH_LABELS[row.by],
                      sanitize_cell(_note(row, names, result), sheet)])
        return
    summary.with_hits += 1
    verdict = WriteOnlyCell(sheet, value=result.verdict)
    if result.blacklisted or result.penalised:
        summary.bad += 1
        verdict.font = _BAD_FONT
    sheet.append([
        *given, verdict, "是" if result.blacklisted else "否", result.penalties_in_publicity,
        "是" if result.redlisted else "否", *(by_category.get(code) for code, _ in categories),  # no hits: blank
        result.total, MATCH_LABELS[row.by], sanitize_cell(_note(row, names, result), sheet),
    ])


def _note(row, names, result):
    notes = []
    if row.by == BY_NAME:
        notes.append("未填写代码，仅按名称精确匹配，请注意同名主体")
    elif row.name and names and row.name not in names:
        notes.append(f"名称与记录不一致（记录中为：{'、'.join(sorted(names)[:3])}）")
    if result.left_blacklist_on:
        notes.append(f"曾列入黑名单，{result.left_blacklist_on:%Y-%m-%d} 已退出")
    if result.penalties_past_publicity:
        notes.append(f"另有已过公示期的行政处罚 {result.penalties_past_publicity} 条")
    return "；".join(notes)
