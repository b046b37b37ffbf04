from django.urls import path, register_converter

from . import views
from .forms import parse_period


class PeriodConverter:
    """A month in URLs: '2019-08' <-> date(2019, 8, 1)."""

    regex = r"\d{4}-\d{2}"

    def to_python(self, value):
        period = parse_period(value)
        if period is None:
            raise ValueError(value)
        return period

    def to_url(self, value):
        return value if isinstance(value, str) else value.strftime("%Y-%m")


register_converter(PeriodConverter, "period")

report = "reports/<str:unit_code>/<period:period>/"

urlpatterns = [
    path("", views.home, name="home"),
    path(report, views.report_detail, name="report_detail"),
    path(report + "upload/<str:category_code>/", views.report_upload, name="report_upload"),
    path(report + "count/<str:category_code>/", views.report_count, name="report_count"),
    path(report + "nil/<str:category_code>/", views.report_nil, name="report_nil"),
    path(report + "nil/<str:category_code>/undo/", views.report_nil_undo, name="report_nil_undo"),
    path(report + "nil-rest/", views.report_nil_rest, name="report_nil_rest"),
    path(report + "submit/", views.report_submit, name="report_submit"),
    path(report + "workbook.xlsx", views.month_workbook, name="month_workbook"),
    path(report + "workbook/", views.month_workbook_upload, name="month_workbook_upload"),
    path(report + "review/", views.report_review, name="report_review"),
    path(report + "exception/", views.report_exception, name="report_exception"),
    path(report + "records/<str:category_code>/", views.report_records, name="report_records"),
    path(report + "records/<str:category_code>/<int:record_id>/", views.record_edit, name="record_edit"),
    path(report + "records/<str:category_code>/<int:record_id>/delete/", views.record_delete,
         name="record_delete"),
    path("imports/<int:batch_id>/", views.batch_detail, name="batch_detail"),
    path("imports/<int:batch_id>/progress/", views.batch_progress, name="batch_progress"),
    path("imports/<int:batch_id>/keep-valid/", views.batch_keep_valid, name="batch_keep_valid"),
    path("imports/<int:batch_id>/file/", views.batch_file, name="batch_file"),
    path("imports/<int:batch_id>/errors.xlsx", views.batch_errors, name="batch_errors"),
    path("templates/<str:category_code>.xlsx", views.category_template, name="category_template"),
    path("office/queue/", views.review_queue, name="review_queue"),
    path("office/overview/", views.month_overview, name="month_overview"),
    path("office/overview/<period:period>/", views.month_overview, name="month_overview"),
]
