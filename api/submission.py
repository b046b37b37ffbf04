"""What the API does, through the same services as the pages and the CLI.

Rows sent as JSON become a CSV file that goes through the upload's one entry point
(`reporting.imports.batch_create` + `records_import`): the same validation, spellings, 文书号 checks,
all-or-nothing rule, replace/append modes, duplicate-file rule and audit trail as a file uploaded on
the report page.  The CSV is kept as the upload's original file, so the report page lists the call
like any other upload (its rows are numbered as in `rows`, plus one for the header line).

Every function returns (HTTP status, body) for the outcomes a client must handle, or raises ApiError.
"""

import csv
import datetime
import io
import re

from django.conf import settings
from django.core.files.base import ContentFile
from django.db.models import F
from django.utils import timezone

from reporting import imports, outliers, services
from reporting import schemas as s
from reporting.management.commands.report_status import report_status_data
from reporting.models import Category, ImportBatch, MonthlyReport, ReportEntry
from reporting.selectors import is_future, units_visible_to
from reporting.validation import header_columns, validation_start
from reporting.validators import FieldError, cell_text, check_number_as_code, parse_date

from .errors import ApiError

Status = ImportBatch.Status
MODES = {"replace": ImportBatch.Mode.REPLACE, "append": ImportBatch.Mode.APPEND}
_PERIOD = re.compile(r"^(\d{4})-(\d{1,2})$")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
# Invisible marks a system's CSV-to-JSON step leaves in keys: the UTF-8 BOM on the first one, zero-width spaces.
_INVISIBLE = re.compile(r"[\ufeff\u200b\u200c\u200d\u2060]")
# The field codes of the other 双公示 layout (the subject fields are shared): not named in this one's hints.
_OTHER_CODES = {"license": ("CF_",), "penalty": ("XK_",)}
MAX_IGNORED_LISTED = 100  # keys ignored, listed back (a body with thousands of odd keys gets the first ones)


# --- what the URL names -------------------------------------------------------------


def unit_for(user, code):
    """The token's own unit; any other code is simply not found (404, whether it exists or not)."""
    unit = units_visible_to(user).filter(code__iexact=code).first()
    if unit is None:
        raise ApiError(404, f"找不到单位“{code}”（接口令牌只能访问本单位的数据）。", code="unit_not_found")
    return unit


def period_for(text):
    match = _PERIOD.match(text)
    if not match or not 1 <= int(match[2]) <= 12:
        raise ApiError(404, f"月份“{text}”格式不对，应为 YYYY-MM，如 2019-08。", code="period_not_found")
    return datetime.date(int(match[1]), int(match[2]), 1)


def category_for(unit, code):
    category = Category.objects.filter(code__iexact=code).first()
    if category is None:
        raise ApiError(404, f"没有编码为“{code}”的报送类别。", code="category_not_found")
    if not category.is_active or not category.applies_to_kind(unit.kind):
        raise ApiError(404, f"类别“{category.name}”（{category.code}）不适用于{unit}。", code="category_not_found")
    return category


def report_to_change(*, unit, period, user):
    """The report an action changes (created by the first action, as on the page), or 409/422."""
    if is_future(period):
        raise ApiError(422, f"{period.year}年{period.month}月尚未开始，不能报送。", code="period_not_started")
    try:
        report = services.report_open(unit=unit, period=period, user=user)
        services.report_check_editable(report=report, user=user)
    except services.ServiceError as exc:
        raise ApiError(409, str(exc), code="not_editable") from None
    return report


def refuse_if_locked(*, unit, period, user):
    """409 before the rows are read when the month cannot change anyway (submitted, accepted, past its lock
    day): a client is not sent to fix rows it can no longer send.  Creates nothing."""
    if is_future(period):
        return  # report_to_change answers it (422)
    report = MonthlyReport.objects.filter(unit=unit, period=period).first() or MonthlyReport(unit=unit, period=period)
    try:
        services.report_check_editable(report=report, user=user)
    except services.ServiceError as exc:
        raise ApiError(409, str(exc), code="not_editable") from None


# --- PUT …/categories/{category}/records -----------------------------------------------


def category_put(*, user, unit, period, category, body):
    """Rows (records categories), a count (count categories) or nil, by the body's one key."""
    if not isinstance(body, dict):
        raise ApiError(422, "请求体应为 JSON 对象，如 {\"mode\": \"replace\", \"rows\": […]}。", code="invalid_body")
    given = [key for key in ("rows", "count", "nil") if key in body]
    if len(given) != 1:
        raise ApiError(422, "请求体应包含且只包含 rows（逐条记录类别的记录）、count（数量类别的数量）、"
                            "nil（声明本月无数据）三者之一。", code="invalid_body")
    if given == ["count"]:
        return _count_put(user=user, unit=unit, period=period, category=category, body=body)
    if given == ["nil"]:
        return _nil_put(user=user, unit=unit, period=period, category=category, body=body)
    return records_put(user=user, unit=unit, period=period, category=category, body=body)


def records_put(*, user, unit, period, category, body):
    if not category.is_records:
        raise ApiError(422, f"“{category.name}”是数量类别，没有逐条记录：请求体请用 {{\"count\": 数量}}。",
                       code="count_category")
    schema = category.get_schema()
    rows = body.get("rows")
    mode = body.get("mode")
    if mode is not None and mode not in MODES:
        raise ApiError(422, "mode 应为 \"replace\"（替换本类别已有记录）或 \"append\"（追加到已有记录）。",
                       code="invalid_mode")
    if not isinstance(rows, list):
        raise ApiError(422, "rows 应为数组，每个元素是一行记录：{\"表头文字或字段代码\": 值, …}。", code="invalid_rows")
    if not rows:
        raise ApiError(422, "rows 为空。如本月没有数据，请用 {\"nil\": true} 声明本月无数据。", code="no_rows")
    if len(rows) > settings.API_MAX_ROWS:
        raise ApiError(413, f"一次最多提交 {settings.API_MAX_ROWS:,} 行，本次 {len(rows):,} 行。请分批提交："
                            "第一批用 replace，其余各批用 append。", code="too_many_rows")
    refuse_if_locked(unit=unit, period=period, user=user)
    table = rows_table(schema, rows)
    if table.errors:
        return 422, _import_body(errors=table.errors, error_count=len(table.errors), ignored=table.ignored,
                                 detail=f"共 {len(rows)} 行，{len(table.errors)} 处错误，本次未导入任何数据。")
    report = report_to_change(unit=unit, period=period, user=user)
    existing = ReportEntry.objects.filter(report=report, category=category).values_list("record_count", flat=True)
    existing = existing.first() or 0
    if mode is None and existing:
        raise ApiError(422, f"“{category.name}”本月已有 {existing} 条记录：请指定 mode 为 \"replace\"（替换）"
                            "或 \"append\"（追加）。", code="mode_required")
    name = f"接口提交_{category.code}_{period:%Y-%m}.csv"
    try:
        batch = imports.batch_create(report=report, category=category, fileobj=ContentFile(table.csv, name=name),
                                     name=name, user=user, mode=MODES[mode or "replace"])
    except services.ServiceError as exc:
        raise ApiError(409, str(exc), code="not_editable") from None
    except imports.UploadRefused as exc:
        raise ApiError(413, str(exc), code="body_too_large") from None
    batch = imports.records_import(batch_id=batch.pk)
    return _batch_outcome(batch, report, ignored=table.ignored)


def _batch_outcome(batch, report, *, ignored):
    total = ReportEntry.objects.filter(report=report, category=batch.category).values_list("record_count", flat=True)
    extra = {"batch": batch.pk, "mode": batch.mode, "message": batch.message}
    if batch.status == Status.SUCCEEDED:
        return 200, _import_body(imported=batch.imported_rows, total=total.first() or 0, ignored=ignored, **extra)
    if batch.status == Status.DUPLICATE:
        return 200, _import_body(imported=0, total=total.first() or 0, ignored=ignored, duplicate=True, **extra)
    if batch.status == Status.FAILED:
        errors = [_numbered_as_in_rows(e) for e in batch.errors]
        return 422, _import_body(errors=errors, error_count=batch.error_count, ignored=ignored, detail=batch.message,
                                 **extra)
    # Refused under the report's lock: the month was submitted meanwhile (409), or the rows as a whole (422).
    report.refresh_from_db()
    try:
        services.report_check_editable(report=report, user=batch.user)
    except services.ServiceError as exc:
        raise ApiError(409, str(exc), code="not_editable") from None
    error = {"row": None, "column": None, "message": batch.message}
    return 422, _import_body(errors=[error], error_count=1, ignored=ignored, detail=batch.message, **extra)


_SAME_AS_ROW = re.compile(r"与第 (\d+) 行重复$")


def _numbered_as_in_rows(error):
    """An error of the CSV (header on line 1) numbered as in `rows`: its row, and a row its message names."""
    row = error.get("row")
    message = _SAME_AS_ROW.sub(lambda m: f"与第 {int(m[1]) - 1} 行重复", error.get("message") or "")
    return {**error, "row": row - 1 if isinstance(row, int) else row, "message": message}


def _import_body(*, imported=0, errors=(), error_count=0, ignored=(), **extra):
    body = {"imported": imported, "errors": list(errors), "error_count": error_count}
    if ignored:
        body["ignored_keys"] = list(ignored)
    body.update(extra)
    return body


class RowsTable:
    def __init__(self):
        self.errors = []
        self.ignored = []
        self.csv = b""


def rows_table(schema, rows):
    """The rows as the CSV an upload would be, with the errors of their shape (not of their values).

    Keys are matched like an upload's headers (header texts, national field codes, aliases; width,
    spaces, '*' ignored); keys that name no field are ignored, as an upload ignores unknown columns,
    and listed back.  Two keys of one row naming the same field must agree.  Values are written as an
    Excel cell would read: numbers with all their digits, true/false as 是/否, null as empty.
    """
    table = RowsTable()
    fields = {}  # key -> Field or None
    ignored = {}
    used = set()
    prepared = []
    numbers = []  # the `rows` index of each prepared row
    for number, row in enumerate(rows, start=1):
        if not isinstance(row, dict):
            table.errors.append({"row": number, "column": None,
                                 "message": "每一行应为 JSON 对象，如 {\"行政相对人名称\": \"…\", …}"})
            continue
        values, sources = {}, {}
        for key, value in row.items():
            if key not in fields:
                found = header_columns(schema, [_INVISIBLE.sub("", key)])
                fields[key] = schema.field(next(iter(found))) if found else None
            f = fields[key]
            if f is None:
                ignored.setdefault(key, None)
                continue
            try:
                text = _cell(f, value)
            except FieldError as exc:
                table.errors.append({"row": number, "column": f.header, "message": str(exc)})
                continue
            if f.key in values and text.strip() and values[f.key].strip() and text != values[f.key]:
                table.errors.append({"row": number, "column": f.header,
                                     "message": f"“{sources[f.key]}”与“{key}”是同一字段，取值却不同"})
                continue
            if text.strip() or f.key not in values:
                values[f.key], sources[f.key] = text, key
        if not any(v.strip() for v in values.values()):
            table.errors.append({"row": number, "column": None, "message": "该行没有任何可识别的字段，或取值全部为空"})
            continue
        used.update(values)
        prepared.append(values)
        numbers.append(number)
    table.ignored = list(ignored)[:MAX_IGNORED_LISTED]
    if table.errors:
        table.errors = _with_value_errors(schema, table.errors, prepared, numbers, used)
        return table
    missing = [f for f in schema.fields if f.required and f.key not in used]
    for f in missing:
        codes = "、".join(a for a in f.aliases if a.isascii() and not a.startswith(_OTHER_CODES.get(schema.code, ())))
        hint = f"（键“{f.header}”" + (f"或字段代码 {codes}" if codes else "") + "）"
        table.errors.append({"row": None, "column": f.header, "message": f"缺少必填字段{hint}"})
    if table.errors:
        return table
    columns = [f for f in schema.fields if f.key in used]
    # The upload takes a row right below the header whose cells are mostly header texts for a second header
    # row (the national templates have one) and skips it: here that would drop a row without a word.
    for number, values in enumerate(prepared[:2], start=1):
        if len(header_columns(schema, [values.get(f.key, "") for f in columns])) * 2 >= len(columns):
            table.errors.append({"row": number, "column": None,
                                 "message": "该行的取值大多是表头文字或字段代码，像是表头行，请去掉"})
    if table.errors:
        return table
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([f.header for f in columns])
    for values in prepared:
        writer.writerow([values.get(f.key, "") for f in columns])
    table.csv = out.getvalue().encode("utf-8-sig")
    return table


def _with_value_errors(schema, errors, prepared, numbers, used):
    """The shape errors and, besides them, the value errors of the well-shaped rows (checked as an upload
    checks them, without the stored 文书号): one answer lists every bad row, not the shape ones first."""
    if not prepared:
        return errors
    columns = [f for f in schema.fields if f.key in used]
    table = [(1, [f.header for f in columns])]
    table += [(number + 1, [values.get(f.key, "") for f in columns]) for number, values in zip(numbers, prepared, strict=True)]
    try:
        result, valid = validation_start(schema, table, today=timezone.localdate(), synonyms=imports.synonyms_current())
        for _ in valid:
            pass
    except imports.UploadRefused:
        return errors
    seen = {(e["row"], e["column"]) for e in errors}
    found = [_numbered_as_in_rows(e) for e in result.errors if isinstance(e.get("row"), int)]
    found = [e for e in found if (e["row"], e["column"]) not in seen]
    return sorted(errors + found, key=lambda e: (e["row"] is None, e["row"] or 0))


def _cell(f, value):
    """A JSON value as the text of a cell (what the validator reads from a CSV)."""
    if value is None:
        return ""
    if isinstance(value, dict | list):
        raise FieldError("取值应为文本、数字、true/false 或 null，不能是对象或数组")
    if isinstance(value, str):
        if _SURROGATE.search(value):
            raise FieldError("含有无效的字符（不成对的 UTF-16 代理项），请检查编码")
        if f.key == "id_type" and value.strip().isascii() and value.strip().isdigit() and len(value.strip()) < 3:
            return value.strip().zfill(3)  # "1": the code 001 after a spreadsheet dropped its zeros
        return value
    if isinstance(value, float) and f.kind in (s.CODE, s.ID_NUMBER):
        try:
            check_number_as_code(value, f.header)
        except FieldError:
            raise FieldError(f"{f.header}以数字传送且超出了精确范围（{value:.6g}），末几位已丢失；请以字符串传送") from None
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**50:
        raise FieldError("数字过长")
    if isinstance(value, int | float) and not isinstance(value, bool) and f.key == "id_type" and 0 < value < 1000 \
            and float(value).is_integer():
        # The standard's 证件类型 codes are three digits (001 身份证 …); a system that keeps them as numbers sends 1.
        return f"{int(value):03d}"
    if isinstance(value, int | float) and not isinstance(value, bool) and f.kind == s.DATE:
        # An Excel date sent as its serial number, with its time of day (46268.5) too, or 20190805: read as
        # an Excel cell holding that number is read, so the CSV carries the date itself.
        return parse_date(value).isoformat()
    return cell_text(value)


def _count_put(*, user, unit, period, category, body):
    count = body["count"]
    if category.is_records:
        raise ApiError(422, f"“{category.name}”须提交逐条记录：请求体请用 {{\"mode\": …, \"rows\": […]}}。",
                       code="records_category")
    if isinstance(count, str) and count.strip().isdigit():
        count = int(count.strip())
    if isinstance(count, float) and count.is_integer():
        count = int(count)
    if not isinstance(count, int) or isinstance(count, bool) or not 0 <= count <= 2_000_000_000:
        raise ApiError(422, "count 应为不小于 0 的整数。", code="invalid_count")
    report = report_to_change(unit=unit, period=period, user=user)
    try:
        entry = services.count_set(report=report, category=category, count=count, user=user)
    except services.ServiceError as exc:
        raise ApiError(409, str(exc), code="not_editable") from None
    return 200, {"count": entry.count, "nil": False, "message": f"{category.name}：本月数量 {entry.count}。"}


def _nil_put(*, user, unit, period, category, body):
    nil = body["nil"]
    if not isinstance(nil, bool):
        raise ApiError(422, "nil 应为 true（声明本月无数据）或 false（撤销声明）。", code="invalid_nil")
    report = report_to_change(unit=unit, period=period, user=user)
    try:
        if nil:
            services.nil_declare(report=report, category=category, user=user)
        else:
            services.nil_undo(report=report, category=category, user=user)
    except services.ServiceError as exc:
        code = 409 if not report_is_editable(report, user) else 422
        raise ApiError(code, str(exc), code="not_editable" if code == 409 else "refused") from None
    message = f"{category.name}：本月无数据。" if nil else f"{category.name}：已撤销本月无数据，改为未填报。"
    return 200, {"nil": nil, "message": message}


def report_is_editable(report, user):
    report.refresh_from_db()
    try:
        services.report_check_editable(report=report, user=user)
    except services.ServiceError:
        return False
    return True


# --- GET and submit --------------------------------------------------------------------


def report_status(*, unit, period):
    """The same JSON as `report_status --json` (read-only: a month without a report shows as draft)."""
    return report_status_data(unit, period)


def report_submit(*, user, unit, period, body):
    """Submit the month through the page's service.  Untouched categories are declared nil (as the CLI
    does) unless the body says {"confirm_nil": false}; unusual counts are noted in the audit trail."""
    body = body if body is not None else {}
    if not isinstance(body, dict):
        raise ApiError(422, "请求体应为 JSON 对象（可为空），如 {\"confirm_nil\": true}。", code="invalid_body")
    confirm_nil = body.get("confirm_nil", True)
    if not isinstance(confirm_nil, bool):
        raise ApiError(422, "confirm_nil 应为 true 或 false。", code="invalid_body")
    report = report_to_change(unit=unit, period=period, user=user)
    untouched = [e.category for e in report.entries.select_related("category").order_by(F("category__order"))
                 if not e.is_filled]
    if untouched and not confirm_nil:
        names = "、".join(c.name for c in untouched)
        raise ApiError(422, f"以下类别尚未填报：{names}。请先填报或声明本月无数据，或以 {{\"confirm_nil\": true}} "
                            "提交（这些类别记为本月无数据）。", code="needs_confirmation",
                       categories=[c.code for c in untouched])
    unusual = outliers.report_outliers(report, untouched_as_nil=True)
    note = ("提交时确认数量无误：" + "；".join(o.message for o in unusual)) if unusual else ""
    try:
        report = services.report_submit(report=report, user=user, confirm_nil=True, note=note)
    except services.ServiceError as exc:
        raise ApiError(409, str(exc), code="not_editable") from None
    body = report_status_data(unit, period)
    body["nil_declared"] = [c.code for c in untouched]
    body["outliers"] = [o.message for o in unusual]
    body["message"] = f"{report.unit}{report.period_label}的报表已提交，等待市信用办审核；审核期间数据已锁定，不能修改。"
    return 200, body


