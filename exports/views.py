"""The office's view of the export log (归集导出记录).  Exports themselves run from the command line."""

from django.core.paginator import Paginator
from django.shortcuts import render

from reporting.views import office_required

from .models import ExportRun

RUNS_PER_PAGE = 50


@office_required
def run_list(request):
    runs = ExportRun.objects.select_related("category", "user").order_by("-created_at", "-id")
    page = Paginator(runs, RUNS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "exports/run_list.html", {"page": page})
