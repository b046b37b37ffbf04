"""Excel files the portal hands out: upload templates and error reports.

Written with openpyxl (reading uploads is calamine's job, in excel.py).
Anything that came from a user is passed through `sanitize_cell` so that a
value like ``=HYPERLINK(...)`` is shown as text, never run as a formula.
"""

import io
import itertools
import unicodedata
from collections import OrderedDict
from pathlib import Path

from django.conf import settings
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell, WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from . import schemas as s
from .excel import INSTRUCTIONS_SHEET, UploadRefused
from .validation import HEADER_SEARCH_ROWS, locate_header

DATA_SHEET = "数据"
ERROR_SHEET = "错误报告"
ERROR_COLUMN = "错误说明"
ROW_COLUMN = "原行号"
TEMPLATE_ROWS = 10_000  # rows 2..TEMPLATE_ROWS carry the dropdowns
# openpyxl writes ~30-90k cells/s on our 2-core hosts: 10,000 rows of a license file take 4-10 s, which a
# download can wait for.
# A file with more bad rows than this almost always repeats one mistake.
ERROR_REPORT_MAX_ROWS = 10_000
REQUIRED_MARK = "*"

# Excel, WPS and LibreOffice treat text starting with these as a formula (or a DDE call).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

_HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
_REQUIRED_FONT = Font(bold=True, color="C00000")
_OPTIONAL_FONT = Font(bold=True)
_TITLE_FONT = Font(bold=True, size=14)
_ERROR_FILL = PatternFill("solid", fgColor="FFC7CE")
_ERROR_FONT = Font(color="C00000")
_WRAP = Alignment(wrap_text=True, vertical="top")
_CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)


# --- sanitising ----------------------------------------------------------------


def _is_formula_like(value):
    return isinstance(value, str) and value.startswith(FORMULA_PREFIXES)


def sanitize_cell(value, sheet=None):
    """The value to write into an openpyxl sheet.

    Text that a spreadsheet could run as a formula comes back as a cell whose
    type is forced to literal text, so openpyxl stores it as a string and the
    reader sees exactly what was uploaded.  Numbers and dates stay as they are.
    Characters that XML cannot carry are dropped rather than failing the export.
    Pass `sheet` whenever the cell will be styled.
    """
    if isinstance(value, str):
        value = ILLEGAL_CHARACTERS_RE.sub("", value)
        if value == "":
            return None
    if _is_formula_like(value):
        cell = WriteOnlyCell(sheet, value=value)
        cell.data_type = "s"
        return cell
    return value


def sanitize_csv(value):
    """A CSV field: formula-like text gets a leading apostrophe, as spreadsheets expect."""
    if _is_formula_like(value):
        return "'" + value
    return value


def _styled(sheet, value, **style):
    cell = sanitize_cell(value, sheet)
    if not style:
        return cell
    if not isinstance(cell, Cell):
        cell = WriteOnlyCell(sheet, value=cell)
    for name, attr in style.items():
        setattr(cell, name, attr)
    return cell


def _display_width(text):
    """Columns needed to show text: CJK characters are twice as wide."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in str(text))


def _save(workbook):
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


# --- upload templates ------------------------------------------------------------


def template_filename(category):
    return f"{category.name}_导入模板.xlsx"


def _is_text_column(f):
    """Codes and numbers-as-text: formatted "@" so Excel keeps leading zeros and all 18 digits."""
    return f.kind in (s.CODE, s.ID_NUMBER) or f.key.endswith("number")


def template_workbook(category):
    """The .xlsx template of a records category: an empty data sheet, then 填表说明."""
    schema = category.get_schema()
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = DATA_SHEET
    _write_data_sheet(sheet, schema)
    _write_instructions(workbook.create_sheet(INSTRUCTIONS_SHEET), category, schema)
    workbook.active = 0
    return _save(workbook)


def _write_data_sheet(sheet, schema):
    for column, f in enumerate(schema.fields, start=1):
        letter = get_column_letter(column)
        cell = sheet.cell(row=1, column=column, value=(REQUIRED_MARK if f.required else "") + f.header)
        cell.font = _REQUIRED_FONT if f.required else _OPTIONAL_FONT
        cell.fill = _HEADER_FILL
        cell.alignment = _CENTER
        dimension = sheet.column_dimensions[letter]
        dimension.width = min(max(_display_width(cell.value), _display_width(f.example), 10) + 4, 50)
        # Column styles apply to whatever the user types later, without creating empty rows.
        if f.kind == s.DATE:
            dimension.number_format = "yyyy-mm-dd"
        elif _is_text_column(f):
            dimension.number_format = "@"
        if f.kind == s.CHOICE:
            sheet.add_data_validation(_dropdown(f, f"{letter}2:{letter}{TEMPLATE_ROWS}"))
    sheet.row_dimensions[1].height = 32
    sheet.freeze_panes = "A2"


def _dropdown(f, cell_range):
    validation = DataValidation(
        type="list",
        formula1='"{}"'.format(",".join(f.choices)),
        allow_blank=not f.required,
        showDropDown=False,  # sic: False means "show the arrow" in the OOXML spec
        showErrorMessage=True,
        errorTitle="输入值无效",
        error=f"“{f.header}”请从下拉列表中选择：{'、'.join(f.choices)}",
        showInputMessage=True,
        promptTitle=f.header,
        prompt="请从下拉列表中选择",
    )
    validation.add(cell_range)
    return validation


def _conditional_rules(schema, f):
    """Sentences of the rules that make an optional field required depending on another one."""
    return [rule.describe(schema, f.key) for rule in schema.rules_for(f.key) if isinstance(rule, s.CONDITIONAL)]


def field_rules(schema, f):
    """Every rule the validator applies to one field, as sentences for 填表说明.

    The field's own help comes first, minus the sentences a generated rule already says.
    """
    rules = []  # (sentence, words that show a help sentence says the same)
    for rule in _conditional_rules(schema, f):
        rules.append((rule, ("时必填", "自然人必填", "至少填")))
    if f.kind == s.CODE:
        rules.append(("18位，由数字和大写字母组成（不使用 I、O、S、V、Z），末位校验码按 GB 32100-2015 校验；"
                      "小写、全角字符、空格和开头的英文单引号自动去除", ("GB32100", "18位")))
    elif f.kind == s.ID_NUMBER:
        rules.append(("请按文本填写，不要存成数字（数字会丢失末几位）", ("文本",)))
    elif f.kind == s.DATE:
        rules.append(("可填 Excel 日期，或文本 2019-08-05、2019/8/5、2019.8.5、2019年8月5日、20190805", ("2019-08-05",)))
    elif f.kind == s.CHOICE:
        rules.append(("从下拉列表选择，可选值：" + "、".join(f.choices) + "（国家双公示标准的写法和代码也可识别，"
                      "保存为左列的规范值）", ("下拉", "/".join(f.choices))))
    elif f.kind == s.DECIMAL:
        rules.append(("数字，不能为负数；可带千分位逗号或“万元”", ("负数",)))
    elif f.kind == s.URL:
        rules.append((f"以 http:// 或 https:// 开头，最多 {f.max_length} 个字符", ("http://",)))
    else:
        rules.append((f"最多 {f.max_length} 字", ()))
    for rule in schema.rules_for(f.key):
        if not isinstance(rule, s.CONDITIONAL):
            sentence = rule.describe(schema, f.key)
            rules.append((sentence, (sentence.replace("“", "").replace("”", ""), "GB11643")))
    if schema.disclosure and f.key == schema.date_key:
        rules.append(("双公示：须在决定之日起 7 个工作日内报送（发改办财金〔2018〕424号），工作日按国家法定节假日和调休计算",
                      ("工作日",)))
    if f.key == schema.doc_number_key:
        rules.append(("同一单位同一类别内不得重复：本文件内不得重复，也不得与以往月份已报送的文书号重复", ("不得重复",)))
    covers = [word.replace(" ", "") for _, words in rules for word in words]
    helps = [p for p in f.help.split("；") if p and not any(w in p.replace(" ", "") for w in covers)]
    return "；".join(helps + [sentence for sentence, _ in rules]) + "。"


def _required_label(schema, f):
    if f.required:
        return "是"
    return "条件必填" if _conditional_rules(schema, f) else "否"


def general_notes():
    limit = settings.UPLOAD_MAX_BYTES / 1024 / 1024
    return [
        f"在“{DATA_SHEET}”工作表中填写，从第 2 行开始，每行一条记录；不要填写示例行、合计行或空行。",
        "不要修改、删除第 1 行的表头；列的顺序可以调整，带 * 的列为必填项。",
        "文件格式：.xlsx（推荐），或 CSV（UTF-8 或 GB18030/GBK 编码）；不支持旧版 .xls，文件不能设置打开密码。",
        f"文件大小不超过 {limit:.0f} MB，数据较多时请拆分后分批上传。",
        "整个文件全部正确才会导入；有错误时系统列出每处错误的行号、列名和原因，可下载错误报告，改正后重新上传。",
        "本类别已有记录时再次上传，需选择“替换本类别已有记录”或“追加到已有记录”（追加时文书号不得与已有记录重复）；"
        "同一文件重复上传不会重复计数。",
        "表头可以在第 1 行以下（上方可有标题行、说明行），也可以使用国家双公示标准的字段代码（如 XK_XDR、CF_WSH）作表头；"
        "证件类型、当前状态等可填标准的写法或代码，系统保存为规范值。",
        "本月没有数据时，请在报表页面选择“本月无数据”，不要上传空表。",
        "各字段的填写示例见上表“示例”列；“数据”工作表中不要保留示例。",
    ]


_SHEET_TITLE_ILLEGAL = str.maketrans({c: "_" for c in "[]:*?/\\"})


def sheet_title(name):
    """A category's name as an Excel sheet title: no []:*?/\\, at most 31 characters."""
    return name.translate(_SHEET_TITLE_ILLEGAL)[:31]


def month_workbook_filename(unit, period):
    return f"{unit.short_name}_{period:%Y年%m月}_月度报送工作簿.xlsx"


def month_workbook(unit, period):
    """One sheet per records category of the unit (named after the category), then 填表说明 for each.

    Uploaded back whole, each non-empty sheet is imported as its category (imports.workbook_import).
    """
    categories = [c for c in unit.categories() if c.is_records]
    workbook = Workbook()
    workbook.remove(workbook.active)
    for category in categories:
        _write_data_sheet(workbook.create_sheet(sheet_title(category.name)), category.get_schema())
    instructions = workbook.create_sheet(INSTRUCTIONS_SHEET)
    instructions.append([f"{unit.short_name} {period:%Y年%m月} 月度报送工作簿填表说明"])
    instructions["A1"].font = _TITLE_FONT
    instructions.append(["每个类别一个工作表，工作表名称就是类别名称，请不要改名。只填写本月有数据的类别；"
                         "空着的工作表不会改变该类别（本月没有数据的类别请在报表页面选择“本月无数据”）。"])
    for category in categories:
        instructions.append([])
        _write_instructions(instructions, category, category.get_schema(), notes=False)
    _write_notes(instructions)
    workbook.active = 0
    return _save(workbook)


def _write_instructions(sheet, category, schema, notes=True):
    sheet.append([f"《{category.name}》数据模板填表说明"])
    sheet.cell(row=sheet.max_row, column=1).font = _TITLE_FONT
    sheet.append(["字段", "是否必填", "规则说明", "示例"])
    for cell in sheet[sheet.max_row]:
        cell.font = _OPTIONAL_FONT
        cell.fill = _HEADER_FILL
        cell.alignment = _CENTER
    for f in schema.fields:
        sheet.append([f.header, _required_label(schema, f), field_rules(schema, f), f.example or None])
        for cell in sheet[sheet.max_row]:
            cell.alignment = _WRAP
        if f.required:
            sheet.cell(row=sheet.max_row, column=1).font = _REQUIRED_FONT
    if notes:
        _write_notes(sheet)
        sheet.freeze_panes = "A3"


def _write_notes(sheet):
    sheet.append([])
    sheet.append(["填写要求"])
    sheet.cell(row=sheet.max_row, column=1).font = _OPTIONAL_FONT
    for number, note in enumerate(general_notes(), start=1):
        sheet.append([f"{number}. {note}"])
        sheet.merge_cells(start_row=sheet.max_row, start_column=1, end_row=sheet.max_row, end_column=4)
    for letter, width in zip("ABCD", (36, 10, 80, 30), strict=True):
        sheet.column_dimensions[letter].width = width


# --- error reports ---------------------------------------------------------------


def error_report_filename(batch):
    return f"错误报告_{Path(batch.original_name).stem}.xlsx"


def _batch_kind(batch):
    return "csv" if batch.original_name.lower().endswith(".csv") else "xlsx"


def _errors_by_row(errors):
    rows = OrderedDict()
    for error in errors:
        if error.get("row") is not None:
            rows.setdefault(error["row"], []).append(error)
    return rows


def error_report_workbook(batch):
    """错误报告.xlsx: the rows of the original file that have errors, each with its reasons."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(ERROR_SHEET)
    by_row = _errors_by_row(batch.errors or [])
    if not by_row:
        _write_message(sheet, batch)
        return _save(workbook)
    try:
        header, rows, columns = _original_rows(batch, by_row)
    except (OSError, ValueError, UploadRefused):
        # The original file is gone or unreadable: the errors alone still help.
        _write_error_list(sheet, by_row)
        return _save(workbook)
    _write_error_rows(sheet, batch, header, rows, columns, by_row)
    _write_how_to_fix(workbook.create_sheet(FIX_SHEET), batch, len(by_row))
    return _save(workbook)


FIX_SHEET = "改正后如何上传"


def _write_how_to_fix(sheet, batch, listed_rows):
    """How to send the corrected rows back without losing the rows already kept."""
    sheet.column_dimensions["A"].width = 110
    lines = [
        "1. 在“错误报告”工作表中直接改正标红的单元格（第一列“原行号”和最后一列“错误说明”上传时会被忽略，不必删除）。",
        "2. 如果此前已选择“仅导入正确的行”，正确的行已经保存：改正后上传本文件时，请选择“追加到已有记录”，"
        "这样只会增加改正后的行，已保存的行不会被删除（文书号不能与已保存的记录重复）。",
        "3. 如果此前的文件整体未导入，请在原文件中改正这些行，上传完整文件并选择“替换本类别已有记录”。",
    ]
    if batch.error_count > sum(1 for _ in batch.errors or []):
        lines.append(f"注意：本次共 {batch.error_count} 处错误，报告只列出了前 {listed_rows} 行的错误，"
                     "改正后重新上传可看到其余的错误。")
    for line in lines:
        sheet.append([_styled(sheet, line, alignment=_WRAP)])


def _original_rows(batch, by_row):
    """The header cells, the rows that have errors (as uploaded), and the schema's column map."""
    from .imports import batch_table

    table = batch_table(batch)
    head = list(itertools.islice(table, HEADER_SEARCH_ROWS))
    header_row, columns = locate_header(batch.category.get_schema(), head)
    header = next(cells for number, cells in head if number == header_row)
    # Only the rows in error are kept in memory, however large the file.
    wanted = (row for row in itertools.chain(head, table) if row[0] in by_row)
    return header, list(itertools.islice(wanted, ERROR_REPORT_MAX_ROWS)), columns


def _write_message(sheet, batch):
    sheet.column_dimensions["A"].width = 14
    sheet.column_dimensions["B"].width = 100
    sheet.append([_styled(sheet, "文件", font=_OPTIONAL_FONT), sanitize_cell(batch.original_name, sheet)])
    sheet.append([_styled(sheet, "结果", font=_OPTIONAL_FONT), batch.get_status_display()])
    sheet.append([_styled(sheet, "原因", font=_OPTIONAL_FONT),
                  _styled(sheet, batch.message or "没有逐行的错误。", font=_ERROR_FONT, alignment=_WRAP)])


def _write_error_list(sheet, by_row):
    sheet.append([ROW_COLUMN, "列名", "原因"])
    for row_number, errors in by_row.items():
        for error in errors:
            sheet.append([row_number, sanitize_cell(error["column"], sheet), sanitize_cell(error["message"], sheet)])


def _error_text(errors):
    return "；".join(f"{e['column']}：{e['message']}" for e in errors)


def _write_error_rows(sheet, batch, header, rows, columns, by_row):
    width = max([len(header)] + [len(cells) for _, cells in rows])
    # Which original column each error names, to highlight the cell.
    index_of = {f.header: columns[f.key] for f in batch.category.get_schema().fields if f.key in columns}

    for index in range(width + 2):
        sheet.column_dimensions[get_column_letter(index + 1)].width = 18
    sheet.column_dimensions[get_column_letter(width + 2)].width = 80
    sheet.freeze_panes = "B2"

    head = [_styled(sheet, ROW_COLUMN, font=_OPTIONAL_FONT, fill=_HEADER_FILL)]
    head += [_styled(sheet, _blank(value), font=_OPTIONAL_FONT, fill=_HEADER_FILL)
             for value in list(header) + [""] * (width - len(header))]
    head.append(_styled(sheet, ERROR_COLUMN, font=_REQUIRED_FONT, fill=_HEADER_FILL))
    sheet.append(head)

    for number, cells in rows:
        errors = by_row[number]
        bad = {index_of[e["column"]] for e in errors if e["column"] in index_of}
        values = list(cells) + [""] * (width - len(cells))
        line = [number]
        for index, value in enumerate(values):
            value = _blank(value)
            line.append(_styled(sheet, value, fill=_ERROR_FILL) if index in bad else sanitize_cell(value, sheet))
        line.append(_styled(sheet, _error_text(errors), font=_ERROR_FONT))
        sheet.append(line)
    if len(by_row) > len(rows):
        sheet.append([None, _styled(sheet, (
            f"共 {len(by_row)} 行有错误，此处只列出前 {len(rows)} 行。这些错误往往是同一原因造成的，"
            "请先改正后重新上传，再下载新的错误报告。"
        ), font=_ERROR_FONT)])


def _blank(value):
    return None if value == "" else value
