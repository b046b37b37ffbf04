from django.urls import path, re_path
from drf_spectacular.utils import extend_schema

from . import docs, views

app_name = "api"

REPORT = "v1/reports/<str:unit>/<str:period>"


def _slash(view):
    """The same endpoint with a trailing slash, left out of the schema."""
    return extend_schema(exclude=True)(type(f"{view.__name__}Slash", (view,), {})).as_view()


urlpatterns = [
    path(REPORT + "/categories/<str:category>/records", views.CategoryView.as_view(), name="category"),
    path(REPORT + "/categories/<str:category>/records/", _slash(views.CategoryView)),
    path(REPORT + "/submit", views.SubmitView.as_view(), name="submit"),
    path(REPORT + "/submit/", _slash(views.SubmitView)),
    path(REPORT, views.ReportView.as_view(), name="report"),
    path(REPORT + "/", _slash(views.ReportView)),
    path("v1/schema/", views.SchemaView.as_view(), name="schema"),
    path("v1/docs/", docs.api_docs, name="docs"),
    re_path(r"^", views.NotFoundView.as_view(), name="not_found"),
]
