"""Builders for test data: valid codes, record rows, upload files."""

import csv
import datetime
import io

import openpyxl

from reporting.schemas import SCHEMAS
from reporting.validators import USCC_ALPHABET, id_check_char, uscc_check_char

VALID_USCC = "91110000600037341L"
VALID_ID = "11010519491231002X"


def uscc(n):
    """The n-th valid 统一社会信用代码."""
    body = "9121080" + "".join(USCC_ALPHABET[(n // 31**i) % 31] for i in range(10))
    return body + uscc_check_char(body)


def resident_id(n):
    body = f"210802{19800101 + n % 28:08d}{n % 1000:03d}"
    return body + id_check_char(body)


def record(schema_code, n=0, **overrides):
    """A valid row of the schema as {key: value}."""
    schema = SCHEMAS[schema_code]
    row = {f.key: f.example for f in schema.fields}
    if "credit_code" in row:
        row["credit_code"] = uscc(n)
    for key in ("authority_code", "source_unit_code"):
        if key in row:
            row[key] = VALID_USCC
    if "id_number" in row:
        row["id_number"] = ""
    if "id_type" in row:
        row["id_type"] = ""
    if schema.doc_number_key:
        row[schema.doc_number_key] = f"营测〔2019〕{n}号"
    if "decision_date" in row:
        row["decision_date"] = "2019-08-05"
    row.update(overrides)
    return row


def records(schema_code, count, start=0, **overrides):
    return [record(schema_code, n, **overrides) for n in range(start, start + count)]


def header_row(schema_code, required_mark=True):
    return [("*" if f.required and required_mark else "") + f.header for f in SCHEMAS[schema_code].fields]


def xlsx_bytes(schema_code, rows, headers=None):
    """An .xlsx with the schema's headers (or the given ones) and the rows, in header order."""
    schema = SCHEMAS[schema_code]
    keys = [f.key for f in schema.fields]
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "数据"
    ws.append(headers or header_row(schema_code))
    for r in rows:
        ws.append([r.get(k, "") for k in keys])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def csv_bytes(schema_code, rows, encoding="utf-8-sig"):
    schema = SCHEMAS[schema_code]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([f.header for f in schema.fields])
    for r in rows:
        writer.writerow([r.get(f.key, "") for f in schema.fields])
    return out.getvalue().encode(encoding)


def period(year=2019, month=8):
    return datetime.date(year, month, 1)
