"""Pages of the credit lookup (信用查询) and batch checks (批量核查).

Only the office and units with a 核查 grant get past `lookup_required` (others: 403).
Searches are POSTed, so that ID numbers never stand in a URL (server logs, history).
Opening a subject, a record or a report is audited on GET: the audit row is the point
of looking; nothing else is written.
"""

import io
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods
from openpyxl import Workbook

from reporting.excel import UploadRefused

from . import batch, kinds, selectors, services
from .forms import AsOfForm, BatchCheckForm, SearchForm
from .models import BatchCheck
from .queries import QueryError, query_parse
from .report import DOCX_TYPE, PDF_TYPE, credit_report, report_docx, report_pdf

BATCHES_SHOWN = 20


def lookup_required(view):
    @wraps(view)
    @login_required
    def wrapper(request, *args, **kwargs):
        if not selectors.can_lookup(request.user):
            raise PermissionDenied("信用查询与核查仅限市信用办和经管理员授权的单位使用。")
        return view(request, *args, **kwargs)

    return wrapper


def _unmasked(request):
    return selectors.sees_id_numbers(request.user)


@lookup_required
@require_http_methods(["GET", "POST"])
def search(request):
    form = SearchForm(request.POST or None)
    result = None
    if request.method == "POST" and form.is_valid():
        try:
            query = query_parse(form.cleaned_data["q"], form.cleaned_data["mode"])
        except QueryError as exc:
            form.add_error("q", str(exc))
        else:
            result = services.lookup_search(user=request.user, query=query)
    unmasked = _unmasked(request)
    return render(request, "lookup/search.html", {
        "form": form, "result": result, "unmasked": unmasked,
        "subjects": _listed(result.subjects, unmasked) if result else [],
        "similar": _listed(result.similar, unmasked) if result else [],
    })


def _listed(summaries, unmasked):
    """What the result list shows of each subject, worked out here: the template only prints it."""
    return [{
        "url": reverse("lookup_profile", args=[s.anchor]), "name": s.name, "identifier": s.identifier(unmasked=unmasked),
        "other_names": "、".join(s.other_names), "total": s.total, "last_date": s.last_date, "badges": s.badges(),
        "similarity": s.similarity,
    } for s in summaries]


def _subject_record(record_id):
    record = selectors.record_visible(record_id)
    if record is None:
        raise Http404("没有这条记录，或其所在月份尚未审核通过。")
    return record


@lookup_required
def profile(request, record_id):
    subject = selectors.subject_of_record(_subject_record(record_id))
    today = timezone.localdate()
    found = services.lookup_profile(user=request.user, subject=subject, as_of=today)
    if found is None:
        raise Http404("该主体没有记录。")
    return render(request, "lookup/profile.html", {
        "profile": found, "record_id": record_id, "unmasked": _unmasked(request),
        "subject_label": subject.label(unmasked=_unmasked(request)), "as_of_form": AsOfForm(initial={"as_of": today}),
        "today": today,
    })


@lookup_required
def record_detail(request, record_id):
    record = services.lookup_record(user=request.user, record=_subject_record(record_id))
    unmasked = _unmasked(request)
    fields = [
        (f.header, selectors.show_id_number(_text(record.data.get(f.key)), unmasked=unmasked)
         if f.key == "id_number" else _text(record.data.get(f.key)))
        for f in record.category.get_schema().fields
    ]
    return render(request, "lookup/record.html", {
        "record": record, "fields": fields, "unmasked": unmasked,
        "kind": kinds.kind_of(record.category.code, record.category.schema),
    })


def _text(value):
    return "" if value is None else str(value)


REPORT_FORMATS = {"pdf": (report_pdf, PDF_TYPE), "docx": (report_docx, DOCX_TYPE)}


@lookup_required
def report(request, record_id, fmt):
    if fmt not in REPORT_FORMATS:
        raise Http404("没有这种报告格式。")
    as_of = AsOfForm.parse(request.GET)
    if as_of is None:
        return HttpResponseBadRequest("信息截止日期无效：请填写今天或以前的日期，如 2019-08-05。".encode())
    subject = selectors.subject_of_record(_subject_record(record_id))
    found, audit = services.credit_report_issue(user=request.user, subject=subject, as_of=as_of, fmt=fmt)
    if found is None:
        raise Http404("信息截止日期以前没有该主体的记录。")
    document = credit_report(number=audit.report_number, profile=found, user=request.user,
                             unmasked=_unmasked(request), now=timezone.localtime(audit.created_at))
    render_file, content_type = REPORT_FORMATS[fmt]
    return FileResponse(io.BytesIO(render_file(document)), as_attachment=True, content_type=content_type,
                        filename=f"信用报告-{audit.report_number}.{fmt}")


# --- batch checks -------------------------------------------------------------------


def _own_batches(request):
    return BatchCheck.objects.filter(user=request.user)


@lookup_required
@require_http_methods(["GET", "POST"])
def batch_list(request):
    form = BatchCheckForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            job = services.batch_check_request(user=request.user, fileobj=upload, name=upload.name,
                                               as_of=form.cleaned_data["as_of"])
        except UploadRefused as exc:
            form.add_error("file", str(exc))
        else:
            return redirect("lookup_batch_detail", job.pk)
    return render(request, "lookup/batch_list.html", {
        "form": form, "jobs": _own_batches(request)[:BATCHES_SHOWN], "max_rows": batch.MAX_ROWS,
    })


@lookup_required
def batch_detail(request, job_id):
    job = get_object_or_404(_own_batches(request), pk=job_id)
    return render(request, "lookup/batch_detail.html", {"job": job})


@lookup_required
def batch_progress(request, job_id):
    job = get_object_or_404(_own_batches(request), pk=job_id)
    if job.is_finished:
        response = HttpResponse('<div id="batch-check-progress">核查完成，正在刷新页面…</div>')
        response["HX-Refresh"] = "true"
        return response
    return render(request, "lookup/_batch_progress.html", {"job": job})


@lookup_required
def batch_result(request, job_id):
    job = get_object_or_404(_own_batches(request), pk=job_id)
    if not job.result:
        raise Http404("核查结果尚未生成。")
    return FileResponse(job.result.open("rb"), as_attachment=True, filename=f"核查结果-{job.pk}.xlsx")


@lookup_required
def batch_template(request):
    book = Workbook()
    sheet = book.active
    sheet.title = "核查名单"
    sheet.append(["名称", "统一社会信用代码", "证件号码"])
    sheet.append(["营口市某某贸易有限公司", "91110000600037341L", ""])
    for column, width in zip("ABC", (36, 24, 24), strict=True):
        sheet.column_dimensions[column].width = width
    out = io.BytesIO()
    book.save(out)
    out.seek(0)
    return FileResponse(out, as_attachment=True, filename="核查名单模板.xlsx")
