"""The office's export page (/exports/): start an export in the background, download it, read the log."""

from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from reporting.views import office_required

from . import services
from .forms import ExportForm
from .models import ExportJob, ExportRun

RUNS_PER_PAGE = 50
JOBS_SHOWN = 20


@office_required
@require_http_methods(["GET", "POST"])
def run_list(request):
    form = ExportForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.export_request(user=request.user, category=data["category"], period_from=data["period_from"],
                                    period_through=data["period_through"], fmt=data["fmt"], headers=data["headers"],
                                    since_last=data["since_last"])
        except services.ExportError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, "导出任务已提交，完成后可在下方下载。")
            return redirect("exports:run_list")
    runs = ExportRun.objects.select_related("category", "user").order_by("-created_at", "-id")
    page = Paginator(runs, RUNS_PER_PAGE).get_page(request.GET.get("page"))
    jobs = ExportJob.objects.select_related("category", "user", "run").order_by("-requested_at", "-id")[:JOBS_SHOWN]
    return render(request, "exports/run_list.html", {"page": page, "form": form, "jobs": jobs})


@office_required
def job_download(request, pk):
    job = get_object_or_404(ExportJob, pk=pk)
    path = Path(settings.MEDIA_ROOT) / job.file if job.file else None
    if path is None or not path.is_file():
        raise Http404("导出文件不存在（任务未完成或文件已被清理）。")
    return FileResponse(open(path, "rb"), as_attachment=True, filename=path.name)
