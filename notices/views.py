"""Pages of the notices app: the inbox (everyone), the reporting-rate matrix and 催报 (the office).

Each view: a scoped fetch, a form, one service call, then a redirect or a render.
A message is fetched from its recipient's own inbox, so another user's is a 404.
"""

import datetime
from urllib.parse import quote

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from reporting.forms import parse_period
from reporting.selectors import deadline_for, previous_month
from reporting.services import ServiceError
from reporting.views import office_required

from . import exports, rates, selectors, services
from .forms import KIND_CHOICES, RateFilterForm, RemindForm
from .models import ReminderKind

NOTICES_PER_PAGE = 30


# --- the inbox ------------------------------------------------------------------------------


@login_required
def inbox(request):
    unread_only = request.GET.get("unread") == "1"
    page = Paginator(selectors.inbox(request.user, unread_only=unread_only), NOTICES_PER_PAGE).get_page(
        request.GET.get("page")
    )
    return render(request, "notices/inbox.html", {
        "page": page, "unread_only": unread_only, "unread": selectors.unread_count(request.user),
    })


@require_POST
@login_required
def notice_read(request, notice_id):
    """Mark a message read; with open=1, go on to what it is about."""
    notice = get_object_or_404(selectors.inbox(request.user), pk=notice_id)
    services.notification_mark_read(notification=notice)
    safe = url_has_allowed_host_and_scheme(notice.link, allowed_hosts={request.get_host()})
    if request.POST.get("open") == "1" and notice.link and safe:
        return redirect(notice.link)
    return redirect(reverse("inbox") + ("?unread=1" if request.POST.get("unread") == "1" else ""))


@require_POST
@login_required
def notices_read_all(request):
    count = services.notifications_mark_all_read(user=request.user)
    messages.success(request, f"已将 {count} 条消息标为已读。" if count else "没有未读消息。")
    return redirect("inbox")


# --- the reporting-rate matrix -----------------------------------------------------------------


@office_required
def reporting_rates(request):
    year, kind = RateFilterForm(request.GET).values()
    matrix = rates.reporting_rate(year=year, kind=kind)
    this_year = timezone.localdate().year
    return render(request, "notices/rates.html", {
        "matrix": matrix,
        "year": year,
        "kind": kind,
        "kinds": KIND_CHOICES,
        "years": list(range(this_year, this_year - 6, -1)),
        "month_rates": [(month, counts, matrix.deadlines[month][0])
                        for month, counts in zip(matrix.months, matrix.month_counts, strict=True)],
        "states": [(code, full) for code, (full, _) in rates.STATES.items() if code != "future"],
    })


@office_required
def reporting_rates_export(request):
    year, kind = RateFilterForm(request.GET).values()
    matrix = rates.reporting_rate(year=year, kind=kind)
    filename = exports.rates_filename(matrix)
    response = HttpResponse(exports.rates_xlsx(matrix), content_type=exports.XLSX)
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(filename)}"
    return response


# --- 催报 ---------------------------------------------------------------------------------------


def _default_month():
    """The month being chased now: last month (whose deadline is near or past)."""
    return previous_month(timezone.localdate().replace(day=1))


@office_required
def remind(request):
    if request.method == "POST":
        return _remind_send(request)
    period = parse_period(request.GET.get("month", "")) or _default_month()
    kind = request.GET.get("kind", "")
    if kind not in dict(KIND_CHOICES):
        kind = ""
    due_date = deadline_for(period)[0]
    today = timezone.localdate()
    return render(request, "notices/remind.html", {
        "period": period,
        "period_label": services.period_label(period),
        "kind": kind,
        "kinds": KIND_CHOICES,
        "due_date": due_date,
        "is_future": period > today.replace(day=1),
        "notice_kind": ReminderKind(services.reminder_kind_for(period, today)).label,
        "overdue_days": (today - due_date).days,
        "rows": selectors.reminder_candidates(period, kind=kind) if period <= today.replace(day=1) else [],
        "today": today,
        "jobs": selectors.recent_jobs(),
        "upcoming": services.next_rule_dates(today),
        "previous": previous_month(period),
        "next": (period + datetime.timedelta(days=32)).replace(day=1),
    })


def _remind_send(request):
    form = RemindForm(request.POST)
    month = request.POST.get("month", "")
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect(reverse("remind") + (f"?month={quote(month)}" if parse_period(month) else ""))
    period, codes = form.cleaned_data["month"], form.cleaned_data["units"]
    try:
        job = services.reminder_job_request(period=period, unit_codes=codes, actor=request.user,
                                            note=form.cleaned_data["note"])
    except ServiceError as exc:
        messages.error(request, str(exc))
    else:
        job.refresh_from_db()
        if job.is_finished:  # no broker: the job ran as the request committed
            messages.success(request, job.message)
        else:
            messages.success(request, f"已开始向 {len(codes)} 个单位发送{services.period_label(period)}的催报，"
                                      "稍后刷新本页查看结果。")
    return redirect(reverse("remind") + f"?month={period:%Y-%m}")
