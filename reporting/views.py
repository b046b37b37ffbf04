"""Pages of the reporting portal.

Each view: a scoped fetch (selectors), a form, one service call, then a
redirect or a render.  A unit's reporter never reaches another unit's rows:
they are not in the queryset, so they are a 404.
"""

import datetime
import io
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from . import exports, imports, outliers, selectors, services
from .excel import UploadRefused
from .forms import CountForm, ExceptionForm, QueueFilterForm, RecordForm, ReviewForm, UploadForm, parse_period
from .models import Category, ImportBatch, Record
from .validators import mask_id_number

RECORDS_PER_PAGE = 50
REPORTS_PER_PAGE = 50
ERRORS_SHOWN = 500
MASKED_KEYS = ("id_number",)


def office_required(view):
    @wraps(view)
    @login_required
    def wrapper(request, *args, **kwargs):
        if not request.user.is_office:
            raise PermissionDenied("只有市信用办工作人员可以访问此页面。")
        return view(request, *args, **kwargs)

    return wrapper


def _report(request, unit_code, period):
    """The user's view of a unit's month, read-only: a month no action has created yet is an unsaved draft."""
    unit = get_object_or_404(selectors.units_visible_to(request.user), code=unit_code)
    report = selectors.report_or_unsaved(selectors.reports_visible_to(request.user), unit, period)
    if report.pk is None and selectors.is_future(period):
        raise Http404("该月份尚未开始。")
    return report


def _report_to_change(request, unit_code, period):
    """The report a POST acts on: the first action on a month creates it (viewing never does)."""
    report = _report(request, unit_code, period)
    try:
        return services.report_open(unit=report.unit, period=report.period, user=request.user)
    except services.ServiceError as exc:  # e.g. a unit's first action on a month past its lock day
        raise PermissionDenied(str(exc)) from exc


def _category(report, category_code):
    if report.pk is None:  # no action yet: the month's categories are the unit's
        return get_object_or_404(report.unit.categories(), code=category_code)
    return get_object_or_404(Category, code=category_code, pk__in=report.entries.values("category_id"))


def _batch(request, batch_id):
    return get_object_or_404(selectors.batches_visible_to(request.user), pk=batch_id)


def _edit_blocker(report, user):
    """Why the user cannot change the report's data now, or "" when they can."""
    try:
        services.report_check_editable(report=report, user=user)
    except services.ServiceError as exc:
        return str(exc)
    return ""


def _form_errors(request, form):
    for errors in form.errors.values():
        for error in errors:
            messages.error(request, error)


def _back_to(report, category=None):
    anchor = f"#cat-{category.code}" if category is not None else ""
    return redirect(report.get_absolute_url() + anchor)


# --- a unit's pages -------------------------------------------------------------


@login_required
def home(request):
    if request.user.is_office:
        return redirect("review_queue")
    unit = request.user.unit
    if unit is None:
        return render(request, "reporting/no_unit.html")
    years = selectors.unit_years(unit)
    try:
        year = int(request.GET.get("year", ""))
    except ValueError:
        year = years[0]
    if year not in years:
        year = years[0]
    return render(
        request,
        "reporting/home.html",
        {
            "unit": unit,
            "year": year,
            "years": years,
            "months": selectors.unit_year(unit, year),
            "due_now": selectors.unit_due_now(unit),
            "returned": selectors.unit_returned_reports(unit),
        },
    )


@login_required
def report_detail(request, unit_code, period):
    report = _report(request, unit_code, period)
    rows = selectors.report_entry_rows(report)
    due_date, lock_date = report.deadlines()
    today = timezone.localdate()
    return render(
        request,
        "reporting/report_detail.html",
        {
            "report": report,
            "rows": rows,
            "untouched": [r.category for r in rows if not r.entry.is_filled],
            "due_date": due_date,
            "lock_date": lock_date,
            "edit_blocker": _edit_blocker(report, request.user),
            "upload_form": UploadForm(),
            "review_form": ReviewForm(),
            "today": today,
            "exception_active": bool(report.edit_exception_until and report.edit_exception_until >= today),
            "exception_reason": selectors.report_exception_reason(report),
            "exception_until": max(today, lock_date) + datetime.timedelta(days=7),
            "events": selectors.report_audit_events(report)[:200],
            "max_upload_mb": UploadForm.max_mb(),
            "outliers": _mark_outliers(report, rows),
        },
    )


def _mark_outliers(report, rows):
    """The report's unusual counts; each row gets its own as row.outlier (or None)."""
    unusual = outliers.report_outliers(report)
    by_category = {o.category.pk: o for o in unusual}
    for row in rows:
        row.outlier = by_category.get(row.category.pk)
    return unusual


@require_POST
@login_required
def report_upload(request, unit_code, period, category_code):
    report = _report_to_change(request, unit_code, period)
    category = _category(report, category_code)
    form = UploadForm(request.POST, request.FILES)
    if not form.is_valid():
        _form_errors(request, form)
        return _back_to(report, category)
    upload, mode = form.cleaned_data["file"], form.cleaned_data["mode"]
    existing = report.entries.filter(category=category).values_list("record_count", flat=True).first() or 0
    if existing and not mode:
        messages.error(request, f"“{category.name}”本月已有 {existing} 条记录：请选择“替换本类别已有记录”"
                                "或“追加到已有记录”后再上传。")
        return _back_to(report, category)
    try:
        batch = imports.batch_create(report=report, category=category, fileobj=upload, name=upload.name,
                                     user=request.user, mode=mode or ImportBatch.Mode.REPLACE)
    except (services.ServiceError, UploadRefused) as exc:
        messages.error(request, str(exc))
        return _back_to(report, category)
    batch = imports.batch_dispatch(batch)
    return redirect("batch_detail", batch.pk)


@login_required
def month_workbook(request, unit_code, period):
    """The 月度报送工作簿 of the unit's month: one sheet per records category (a download: writes nothing)."""
    unit = get_object_or_404(selectors.units_visible_to(request.user), code=unit_code)
    return FileResponse(io.BytesIO(exports.month_workbook(unit, period)), as_attachment=True,
                        filename=exports.month_workbook_filename(unit, period))


@require_POST
@login_required
def month_workbook_upload(request, unit_code, period):
    """A filled-in month workbook: each non-empty category sheet is imported as its category."""
    report = _report_to_change(request, unit_code, period)
    form = UploadForm(request.POST, request.FILES)
    if not form.is_valid():
        _form_errors(request, form)
        return _back_to(report)
    upload = form.cleaned_data["file"]
    if not upload.name.lower().endswith(".xlsx"):
        messages.error(request, "月度报送工作簿须为 .xlsx 文件。")
        return _back_to(report)
    try:
        sheets = imports.workbook_import(report=report, fileobj=upload, name=upload.name, user=request.user)
    except (services.ServiceError, UploadRefused) as exc:
        messages.error(request, str(exc))
        return _back_to(report)
    for sheet in sheets:
        if sheet.note:
            messages.info(request, f"工作表“{sheet.name}”：{sheet.note}。")
    first = next(s.batch for s in sheets if s.batch is not None)
    return redirect("batch_detail", first.pk)


@require_POST
@login_required
def report_count(request, unit_code, period, category_code):
    report = _report_to_change(request, unit_code, period)
    category = _category(report, category_code)
    form = CountForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
        return _back_to(report, category)
    try:
        entry = services.count_set(
            report=report, category=category, count=form.cleaned_data["count"], user=request.user
        )
    except services.ServiceError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"已保存“{category.name}”本月数量：{entry.count}。")
    return _back_to(report, category)


@require_POST
@login_required
def report_nil(request, unit_code, period, category_code):
    report = _report_to_change(request, unit_code, period)
    category = _category(report, category_code)
    try:
        services.nil_declare(report=report, category=category, user=request.user)
    except services.ServiceError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"已声明“{category.name}”本月无数据。")
    return _back_to(report, category)


@require_POST
@login_required
def report_nil_undo(request, unit_code, period, category_code):
    report = _report_to_change(request, unit_code, period)
    category = _category(report, category_code)
    try:
        services.nil_undo(report=report, category=category, user=request.user)
    except services.ServiceError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"已撤销“{category.name}”的本月无数据，该类别现为未填报。")
    return _back_to(report, category)


@require_POST
@login_required
def report_nil_rest(request, unit_code, period):
    """其余类别本月无数据: the categories the user saw listed and confirmed, those still untouched."""
    report = _report_to_change(request, unit_code, period)
    categories = Category.objects.filter(code__in=request.POST.getlist("category"),
                                         pk__in=report.entries.values("category_id"))
    try:
        declared = services.nil_declare_untouched(report=report, categories=categories, user=request.user)
    except services.ServiceError as exc:
        messages.error(request, str(exc))
    else:
        if declared:
            messages.success(request, f"已将 {len(declared)} 个类别声明为本月无数据："
                                      f"{'、'.join(e.category.name for e in declared)}。可以提交报表了。")
        else:
            messages.info(request, "没有需要声明的类别：所列类别都已填报。")
    return redirect(report.get_absolute_url() + "#submit-card")


@require_POST
@login_required
def report_submit(request, unit_code, period):
    """Submitting locks the month: a confirmation page first says what gets locked, which untouched categories
    become nil and which numbers look unusual; its button posts confirm_nil=1 (and confirm_outliers=1)."""
    report = _report_to_change(request, unit_code, period)
    blocker = _edit_blocker(report, request.user)
    if blocker:
        messages.error(request, blocker)
        return _back_to(report)
    unusual = outliers.report_outliers(report, untouched_as_nil=True)
    confirmed = request.POST.get("confirm_nil") == "1"
    outliers_confirmed = not unusual or request.POST.get("confirm_outliers") == "1"
    if not (confirmed and outliers_confirmed):
        rows = selectors.report_entry_rows(report)
        return render(request, "reporting/report_submit_confirm.html", {
            "report": report,
            "total": len(rows),
            "filled": [r for r in rows if r.entry.is_filled],
            "categories": [r.category for r in rows if not r.entry.is_filled],
            "outliers": unusual,
            "outliers_missing": confirmed and not outliers_confirmed,
        })
    note = ("提交时确认数量无误：" + "；".join(o.message for o in unusual)) if unusual else ""
    try:
        services.report_submit(report=report, user=request.user, confirm_nil=True, note=note)
    except services.ServiceError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"{report.unit}{report.period_label}的报表已提交，等待市信用办审核；"
                                  "审核期间数据已锁定，不能修改。")
    return _back_to(report)


@login_required
def report_records(request, unit_code, period, category_code):
    report = _report(request, unit_code, period)
    category = _category(report, category_code)
    if not category.is_records:
        raise Http404("该类别没有逐条记录。")
    query = request.GET.get("q", "").strip()
    page = Paginator(selectors.record_search(report, category, query), RECORDS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    fields = category.get_schema().fields
    masked = () if request.user.is_office else MASKED_KEYS
    rows = [(record, [_cell(record.data.get(f.key), f.key in masked) for f in fields]) for record in page]
    return render(
        request,
        "reporting/report_records.html",
        {
            "report": report,
            "category": category,
            "fields": fields,
            "page": page,
            "rows": rows,
            "query": query,
            "masked": bool(masked),
            "editable": report.pk is not None and not _edit_blocker(report, request.user),
        },
    )


def _record(request, unit_code, period, category_code, record_id):
    """A record of a month the user may see: another unit's record is not in the queryset (a 404)."""
    report = _report(request, unit_code, period)
    category = _category(report, category_code)
    record = get_object_or_404(selectors.record_search(report, category), pk=record_id)
    return report, category, record


def _records_url(report, category):
    return reverse("report_records", args=[report.unit.code, report.period_code, category.code])


@login_required
def record_edit(request, unit_code, period, category_code, record_id):
    """Correct one record in place, with the upload's field rules (services.record_update)."""
    report, category, record = _record(request, unit_code, period, category_code, record_id)
    blocker = _edit_blocker(report, request.user)
    masked = () if request.user.is_office else MASKED_KEYS
    form = RecordForm(request.POST or None, schema=category.get_schema(), record=record, masked=masked)
    if blocker:
        form.disable()
    if request.method == "POST" and not blocker and form.is_valid():
        try:
            record, changes = services.record_update(record=record, values=form.values(), user=request.user)
        except services.RecordInvalid as exc:
            form.add_errors(exc.errors)
        except services.ServiceError as exc:
            messages.error(request, str(exc))
            return redirect(_records_url(report, category))
        else:
            if changes:
                messages.success(request, f"已修改第 {record.row_number} 行（{record.subject_name}）："
                                          f"{'、'.join(changes)}。")
            else:
                messages.info(request, "没有改动任何内容。")
            return redirect(_records_url(report, category) + f"#record-{record.pk}")
    return render(request, "reporting/record_edit.html", {
        "report": report, "category": category, "record": record, "form": form, "edit_blocker": blocker,
        "masked": bool(masked),
    })


@require_POST
@login_required
def record_delete(request, unit_code, period, category_code, record_id):
    report, category, record = _record(request, unit_code, period, category_code, record_id)
    try:
        remaining = services.record_delete(record=record, user=request.user)
    except services.ServiceError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"已删除第 {record.row_number} 行（{record.subject_name}），"
                                  f"“{category.name}”现有 {remaining} 条记录。")
    if not Record.objects.filter(report=report, category=category).exists():
        return _back_to(report, category)
    return redirect(_records_url(report, category))


def _cell(value, mask):
    text = "" if value is None else str(value)
    return mask_id_number(text) if mask else text


# --- import batches -------------------------------------------------------------


@login_required
def batch_detail(request, batch_id):
    batch = _batch(request, batch_id)
    return render(
        request,
        "reporting/batch_detail.html",
        {
            "batch": batch,
            "report": batch.report,
            "errors": batch.errors[:ERRORS_SHOWN],
            "errors_hidden": max(0, batch.error_count - ERRORS_SHOWN),
            "error_rows": batch.total_rows - batch.valid_rows,
            "stalled": imports.batch_is_stalled(batch),
            "group": _batch_group(request, batch),
            "can_keep_valid": _can_keep_valid(batch) and not _edit_blocker(batch.report, request.user),
        },
    )


def _batch_group(request, batch):
    """The other sheets' batches of the same month workbook, for a result per category."""
    if not batch.group:
        return []
    return list(selectors.batches_visible_to(request.user).filter(group=batch.group)
                .select_related("category").order_by("category__order"))


@login_required
def batch_progress(request, batch_id):
    batch = _batch(request, batch_id)
    if batch.is_finished or imports.batch_is_stalled(batch):
        response = HttpResponse('<div id="batch-progress">处理完成，正在刷新页面…</div>')
        response["HX-Refresh"] = "true"
        return response
    return render(request, "reporting/_batch_progress.html", {"batch": batch})


def _can_keep_valid(batch):
    return batch.status == ImportBatch.Status.FAILED and batch.valid_rows > 0


@require_POST
@login_required
def batch_keep_valid(request, batch_id):
    """Explicitly import only the good rows of a failed upload, as a new batch of the same file."""
    batch = _batch(request, batch_id)
    if not _can_keep_valid(batch):
        messages.error(request, "只有校验未通过且含有正确行的导入才能“仅导入正确的行”。")
        return redirect("batch_detail", batch.pk)
    try:
        new_batch = imports.batch_create(
            report=batch.report, category=batch.category, fileobj=None, name=batch.original_name,
            user=request.user, keep_valid_rows=True, mode=batch.mode, sheet=batch.sheet, stored_file=batch,
        )
    except (services.ServiceError, UploadRefused) as exc:
        messages.error(request, str(exc))
        return redirect("batch_detail", batch.pk)
    new_batch = imports.batch_dispatch(new_batch)
    return redirect("batch_detail", new_batch.pk)


@login_required
def batch_file(request, batch_id):
    batch = _batch(request, batch_id)
    if not batch.file or not batch.file.storage.exists(batch.file.name):
        raise Http404("原始文件不存在。")
    return FileResponse(batch.file.open("rb"), as_attachment=True, filename=batch.original_name)


@login_required
def batch_errors(request, batch_id):
    batch = _batch(request, batch_id)
    if not batch.errors:
        raise Http404("该次导入没有错误。")
    return FileResponse(
        io.BytesIO(exports.error_report_workbook(batch)),
        as_attachment=True,
        filename=exports.error_report_filename(batch),
    )


@login_required
def category_template(request, category_code):
    category = get_object_or_404(selectors.records_category(category_code))
    return FileResponse(
        io.BytesIO(exports.template_workbook(category)),
        as_attachment=True,
        filename=exports.template_filename(category),
    )


# --- the office -----------------------------------------------------------------


@require_POST
@office_required
def report_review(request, unit_code, period):
    report = _report(request, unit_code, period)
    if report.pk is None:
        messages.error(request, f"{report}尚未提交，不能审核。")
        return _back_to(report)
    form = ReviewForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
        return _back_to(report)
    action, reason = form.cleaned_data["action"], form.cleaned_data["reason"]
    try:
        if action == "accept":
            services.report_accept(report=report, user=request.user)
        elif action == "return":
            services.report_return(report=report, user=request.user, reason=reason)
        else:
            services.report_reopen(report=report, user=request.user, reason=reason)
    except services.ServiceError as exc:
        messages.error(request, str(exc))
    else:
        done = {"accept": "已审核通过", "return": "已退回", "reopen": "已重新打开并退回单位修改"}[action]
        messages.success(request, f"{report}{done}。")
    return _back_to(report)


@require_POST
@office_required
def report_exception(request, unit_code, period):
    """特许修改: the office lets a unit change a month past its lock day (until a date, with a reason), or stops it."""
    report = _report(request, unit_code, period)
    form = ExceptionForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
        return _back_to(report)
    data = form.cleaned_data
    try:
        if data["action"] == "grant":
            report = services.report_exception_grant(report=report, user=request.user, until=data["until"],
                                                     reason=data["reason"])
            done = f"已开通特许修改，单位可修改至 {data['until']:%Y-%m-%d}"
        else:
            report = services.report_exception_withdraw(report=report, user=request.user, reason=data["reason"])
            done = "已撤销特许修改"
    except services.ServiceError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"{report}：{done}。")
    return _back_to(report)


@office_required
def review_queue(request):
    data = request.GET.copy()
    data.setdefault("status", "submitted")
    form = QueueFilterForm(data)
    filters = form.cleaned_data if form.is_valid() else {"status": "submitted"}
    reports = selectors.review_queue(
        kind=filters.get("kind", ""), period=filters.get("month"), status=filters.get("status", "")
    )
    page = Paginator(reports, REPORTS_PER_PAGE).get_page(request.GET.get("page"))
    reasons = selectors.last_return_reasons(page.object_list)
    unusual = outliers.outliers_by_report(page.object_list)
    for report in page.object_list:  # a resubmission shows why it came back last time
        report.previous_return_reason = reasons.get(report.pk, "")
        report.outliers = unusual.get(report.pk, [])
    return render(request, "reporting/review_queue.html", {"form": form, "page": page})


@office_required
def month_overview(request, period=None):
    if period is None:
        chosen = parse_period(request.GET.get("month", ""))
        if chosen is not None:
            return redirect("month_overview", chosen)
        period = selectors.previous_month(timezone.localdate())
    return render(
        request,
        "reporting/month_overview.html",
        {
            "period": period,
            "period_label": f"{period.year}年{period.month}月",
            **selectors.month_overview(period),
        },
    )
