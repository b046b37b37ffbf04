"""A row-by-row validator written straight from the rules, as the oracle of tests/test_validation_blocks.py.

reporting.validation checks a column of a block of rows at a time, with fast paths, caches and a
JSON template; none of that is used here.  This oracle shares only the schemas (what the rules
are), the synonyms fixture (data) and the single-value field checkers of reporting.validators,
which tests/test_validators.py proves value by value.  It finds the header, walks the rows one
by one, checks each cell, then the schema's rules across fields, then 文书号 — the straightforward
way — and must agree with the validator on every error, every stored value and every count.
"""

import csv
import datetime
from dataclasses import dataclass, field
from pathlib import Path

from reporting import schemas as s
from reporting.excel import UploadRefused
from reporting.validators import (
    PLACEHOLDERS,
    FieldError,
    cell_text,
    check_number_as_code,
    check_resident_id,
    check_uscc,
    clean_text,
    header_without_note,
    normalise_code,
    normalise_header,
    normalise_spelling,
    parse_date,
    parse_decimal,
)

SYNONYMS = Path(__file__).resolve().parent.parent / "fixtures" / "value_synonyms.csv"
STORED_DOC = "文书号“{doc}”已在本单位本类别的其他月份报送过，不能重复报送"


@dataclass
class OracleRow:
    row: int
    data: dict
    doc_number: str
    subject_name: str
    credit_code: str
    id_number: str
    record_date: object


@dataclass
class OracleResult:
    header_row: int = 0
    errors: list = field(default_factory=list)
    error_rows: set = field(default_factory=set)
    total_rows: int = 0
    valid_count: int = 0
    rows: list = field(default_factory=list)


def _spellings():
    result = {}
    with open(SYNONYMS, encoding="utf-8-sig", newline="") as f:
        for row in csv.DictReader(f):
            result.setdefault(row["field"], {})[normalise_spelling(row["spelling"])] = row["canonical"]
    return result


def _blank(cells):
    return all(c is None or (isinstance(c, str) and c.strip() == "") for c in cells)


def _columns(schema, cells):
    wanted = {}
    for f in schema.fields:
        for text in (f.header, *f.aliases):
            wanted.setdefault(normalise_header(text), f.key)
    columns = {}
    for index, cell in enumerate(cells):
        if cell is None:
            continue
        text = normalise_header(cell_text(cell))
        key = wanted.get(text) or wanted.get(header_without_note(text))
        if key is not None and key not in columns:
            columns[key] = index
    return columns


def _header(schema, head):
    best = None
    for position, (number, cells) in enumerate(head):
        columns = _columns(schema, cells)
        if columns and (best is None or len(columns) > len(best[1])):
            best = (number, columns, position)
    if best is None:
        raise UploadRefused("no header")
    number, columns, position = best
    for next_number, cells in head[position + 1:position + 3]:
        if 2 * len(_columns(schema, cells)) < len(columns):
            break
        number = next_number
    missing = [f.header for f in schema.fields if f.required and f.key not in columns]
    if missing:
        raise UploadRefused("missing " + "、".join(missing))
    return number, columns


def _cell(f, raw, spellings):
    """(value, error message or None) for one cell, the obvious way."""
    value = raw
    if isinstance(value, str):
        try:
            value = clean_text(value, multiline=f.multiline)
        except FieldError as exc:  # a control character
            return None, str(exc)
        if value[:2] in ("'=", "'+", "'-", "'@"):  # escaped against formula injection by an export
            value = value[1:]
        if value in PLACEHOLDERS:
            value = ""
    if value is None or value == "":
        return "", ("必填项不能为空" if f.required else None)
    try:
        if f.kind == s.TEXT:
            text = cell_text(value)
            if len(text) > f.max_length:
                return None, f"内容过长（{len(text)} 字），最多 {f.max_length} 字"
            return text, None
        if f.kind == s.CHOICE:
            options = {normalise_spelling(c): c for c in f.choices}
            options.update(spellings.get(f.key, {}))
            canonical = options.get(normalise_spelling(value))
            if canonical is None:
                return None, "“{}”不是可选值，应为：{}".format(cell_text(value), "、".join(f.choices))
            return canonical, None
        if f.kind == s.CODE:
            return check_uscc(value if isinstance(value, str) else check_number_as_code(value, f.header)), None
        if f.kind == s.ID_NUMBER:
            text = normalise_code(value if isinstance(value, str) else check_number_as_code(value, f.header))
            if len(text) > f.max_length:
                return None, f"内容过长，最多 {f.max_length} 个字符"
            return text, None
        if f.kind == s.DATE:
            return parse_date(value, open_ended=f.open_ended), None
        if f.kind == s.DECIMAL:
            return parse_decimal(value), None
        if f.kind == s.URL:
            text = cell_text(value)
            if not text.startswith(("http://", "https://")):
                return None, "链接应以 http:// 或 https:// 开头"
            if len(text) > f.max_length:
                return None, f"链接过长，最多 {f.max_length} 个字符"
            return text, None
    except FieldError as exc:
        return None, str(exc)
    raise AssertionError(f.kind)


def _rules(schema, data, today):
    """Errors (column header, message) of the schema's rules across fields, in their order."""
    header = {f.key: f.header for f in schema.fields}
    errors = []
    for rule in schema.rules:
        if isinstance(rule, s.NotFuture):
            value = data[rule.key]
            if isinstance(value, datetime.date) and value > today:
                errors.append((header[rule.key], f"日期 {value:%Y-%m-%d} 晚于今天，不能是将来的日期"))
        elif isinstance(rule, s.DateOrder):
            a, b = data[rule.earlier], data[rule.later]
            if isinstance(a, datetime.date) and isinstance(b, datetime.date) and a > b:
                errors.append((header[rule.later],
                               f"{header[rule.later]}（{b:%Y-%m-%d}）不能早于{header[rule.earlier]}（{a:%Y-%m-%d}）"))
        elif isinstance(rule, s.RequiredWhen):
            if data[rule.when] == rule.equals and data[rule.key] == "":
                errors.append((header[rule.key], f"{header[rule.when]}为“{rule.equals}”时，{header[rule.key]}必填"))
        elif isinstance(rule, s.ResidentId):
            number = data[rule.key]
            kind = data[rule.type_key] if rule.type_key else None
            if number and (kind or "居民身份证") == "居民身份证":
                try:
                    data[rule.key] = check_resident_id(number)
                except FieldError as exc:
                    errors.append((header[rule.key], str(exc)))
        elif isinstance(rule, s.OneOf):
            if all(data[key] == "" for key in rule.keys):
                errors.append((header[rule.keys[0]], "和".join(header[k] for k in rule.keys) + "至少填写一项"))
    return errors


def validate_table(schema, table, *, existing_doc_numbers=frozenset(), today=None):
    today = today or datetime.date.today()
    table = list(table)
    head = table[:10]
    if all(_blank(cells) for _, cells in head) and all(_blank(cells) for _, cells in table):
        raise UploadRefused("empty")
    result = OracleResult()
    result.header_row, columns = _header(schema, head)
    spellings = _spellings()
    seen = {}
    for number, cells in table:
        if number <= result.header_row or _blank(cells):
            continue
        result.total_rows += 1
        data, errors = {}, []
        for f in schema.fields:
            index = columns.get(f.key)
            raw = cells[index] if index is not None and index < len(cells) else None
            if index is None:
                data[f.key] = ""
                continue
            value, error = _cell(f, raw, spellings)
            data[f.key] = value
            if error:
                errors.append((f.header, error))
        errors += _rules(schema, data, today)
        doc = data.get(schema.doc_number_key) if schema.doc_number_key else ""
        if doc:
            if doc in seen:
                errors.append((schema.field(schema.doc_number_key).header, f"文书号“{doc}”与第 {seen[doc]} 行重复"))
            elif doc in existing_doc_numbers:
                errors.append((schema.field(schema.doc_number_key).header, STORED_DOC.format(doc=doc)))
            else:
                seen[doc] = number
        if errors:
            result.error_rows.add(number)
            result.errors += [{"row": number, "column": column, "message": message} for column, message in errors]
            continue
        result.valid_count += 1
        result.rows.append(OracleRow(
            number, {k: v.isoformat() if isinstance(v, datetime.date) else v for k, v in data.items()},
            data.get(schema.doc_number_key, "") if schema.doc_number_key else "",
            (data.get(schema.subject_key) or "")[:200], data.get("credit_code", ""), data.get("id_number", ""),
            data.get(schema.date_key) or None,
        ))
    if result.total_rows == 0:
        raise UploadRefused("no rows")
    return result
