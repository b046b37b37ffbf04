"""The row-by-row validator as it was before block checks: kept only as the oracle of tests/test_validation_blocks.py.

Only the row-by-row algorithm lives here (straight-line per-cell checks
compiled for the file's columns, then the cross-field rules and 文书号 per
row); the header search, the result types and the field checkers are the
ones reporting.validation uses.
"""

import datetime

import orjson

from reporting import schemas as s
from reporting.excel import UploadRefused
from reporting.validation import (
    _CHECKERS,
    RESIDENT_ID,
    CleanRow,
    _is_blank,
    open_table,
)
from reporting.validators import FieldError, check_resident_id, check_uscc


def validate_table(schema, table, **options):
    result, rows = validation_start(schema, table, **options)
    result.rows = list(rows)
    return result


def validation_start(schema, table, *, existing_doc_numbers=frozenset(), today=None, progress=None, total=None):
    today = today or datetime.date.today()
    result, rows = open_table(schema, table)
    columns = result.columns
    checkers = [(f.key, f.header, f.required, columns[f.key], f.kind, _CHECKERS[f.kind], f)
                for f in schema.fields if f.key in columns]
    # Exact spellings of each enumeration, looked up before the normalising checker.
    choices = {f.key: {c: c for c in f.choices} for f in schema.fields if f.kind == s.CHOICE}
    headers = {f.key: f.header for f in schema.fields}
    absent = {f.key: "" for f in schema.fields if f.key not in columns}
    context = (schema, checkers, choices, headers, absent, existing_doc_numbers, today, progress, total)
    return result, _valid_rows(result, rows, context)


def _valid_rows(result, rows, context):
    schema, checkers, choices, headers, absent, existing_doc_numbers, today, progress, total = context
    header_row = result.header_row
    seen_docs = {}
    doc_key = schema.doc_number_key
    subject_key, date_key = schema.subject_key, schema.date_key
    add_error = result.errors.append
    cell_values = _compile_cell_checks(checkers, choices)
    keys = {f.key for f in schema.fields}
    cross_checks = bool(schema.not_future or schema.date_order or schema.extra.get("code_or_id")
                        or keys & {"subject_type", "id_number"})
    for row_number, cells in rows:
        if row_number <= header_row:
            continue
        if progress and row_number % 5000 == 0:
            progress(row_number, total or row_number)
        first = cells[0] if cells else None
        if not (type(first) is str and first.strip()) and _is_blank(cells):  # cheap test first
            continue
        result.total_rows += 1
        width = len(cells)
        data = dict(absent)
        errors = []
        cell_values(cells, width, data, errors)
        if cross_checks:
            errors.extend(_cross_checks(schema, data, headers, today))
        if doc_key and data.get(doc_key):
            doc = data[doc_key]
            if doc in seen_docs:
                errors.append((headers[doc_key], f"文书号“{doc}”与第 {seen_docs[doc]} 行重复"))
            elif doc in existing_doc_numbers:
                errors.append((headers[doc_key], f"文书号“{doc}”已在本单位本类别的其他月份报送过，不能重复报送"))
            else:
                seen_docs[doc] = row_number
        if errors:
            result.error_rows.add(row_number)
            for column, message in errors:
                add_error({"row": row_number, "column": column, "message": message})
            continue
        result.valid_count += 1
        yield CleanRow(
            row_number,
            orjson.dumps(data).decode(),  # dates become "YYYY-MM-DD"
            data.get(doc_key, "") if doc_key else "",
            (data.get(subject_key) or "")[:200],
            data.get("credit_code") or "",
            data.get("id_number") or "",
            data.get(date_key) or None,
        )
    if result.total_rows == 0:
        raise UploadRefused("表头下面没有任何数据行。如本月没有数据，请在报表页面选择“本月无数据”。")
    if progress:
        progress(total or 1, total or 1)


def _compile_cell_checks(checkers, choices):
    """Build `cell_values(cells, width, data, errors)` for this file's columns.

    A 100,000-row upload has two million cells, and a generic per-cell loop
    spent most of the validation time on its own bookkeeping.  The generated
    function is straight-line code, one block per column, with the same rules:
    blanks (an error if required), then a fast path (text within its length,
    an exact choice, a real Excel date), then the field's checker.
    """
    lines = ["def cell_values(cells, width, data, errors):"]
    namespace = {"date": datetime.date, "FieldError": FieldError, "check_uscc": check_uscc}
    for n, (key, header, required, index, kind, checker, f) in enumerate(checkers):
        namespace[f"F{n}"], namespace[f"K{n}"] = f, checker
        fast = {
            s.TEXT: f"type(raw) is str and len(raw) <= {f.max_length}",
            s.CHOICE: f"raw in C{n}",
            s.DATE: "type(raw) is date",
        }.get(kind)
        if kind == s.CHOICE:
            namespace[f"C{n}"] = frozenset(choices[key])
        lines += [
            f"    raw = cells[{index}] if width > {index} else None",
            "    if type(raw) is str:",
            "        raw = raw.strip()",
            "    if raw is None or raw == '':",
            f"        errors.append(({header!r}, '必填项不能为空'))" if required else "        pass",
            f"        data[{key!r}] = ''",
        ]
        if fast:
            lines += [f"    elif {fast}:", f"        data[{key!r}] = raw"]
        # A credit code typed as text (the usual case) goes straight to its cached check.
        call = f"check_uscc(raw) if type(raw) is str else K{n}(F{n}, raw)" if kind == s.CODE else f"K{n}(F{n}, raw)"
        lines += [
            "    else:",
            "        try:",
            f"            data[{key!r}] = {call}",
            "        except FieldError as exc:",
            f"            errors.append(({header!r}, str(exc)))",
            f"            data[{key!r}] = None",
        ]
    # Compiled from our own schema definitions (keys, headers, lengths); no cell value is ever part of it.
    exec(compile("\n".join(lines), "<cell checks>", "exec"), namespace)
    return namespace["cell_values"]


def _cross_checks(schema, data, headers, today):
    errors = []
    for key in schema.not_future:
        value = data.get(key)
        if isinstance(value, datetime.date) and value > today:
            errors.append((headers[key], f"日期 {value:%Y-%m-%d} 晚于今天，不能是将来的日期"))
    for earlier, later in schema.date_order:
        a, b = data.get(earlier), data.get(later)
        if isinstance(a, datetime.date) and isinstance(b, datetime.date) and a > b:
            errors.append((headers[later], f"{headers[later]}（{b:%Y-%m-%d}）不能早于{headers[earlier]}（{a:%Y-%m-%d}）"))
    subject_type = data.get("subject_type")
    if subject_type == "法人及非法人组织" and data.get("credit_code") == "":
        errors.append((headers["credit_code"], "行政相对人类别为“法人及非法人组织”时，统一社会信用代码必填"))
    if subject_type == "自然人" and data.get("id_number") == "":
        errors.append((headers["id_number"], "行政相对人类别为“自然人”时，证件号码必填"))
    # 证件号码 is checked as a 居民身份证 number unless another 证件类型 is chosen.
    if data.get("id_number") and (data.get("id_type") or RESIDENT_ID) == RESIDENT_ID:
        try:
            data["id_number"] = check_resident_id(data["id_number"])
        except FieldError as exc:
            errors.append((headers["id_number"], str(exc)))
    if schema.extra.get("code_or_id") and data.get("credit_code") == "" and data.get("id_number") == "":
        errors.append((headers["credit_code"], "统一社会信用代码和证件号码至少填写一项"))
    return errors
