from django.urls import path

from . import views

urlpatterns = [
    path("", views.search, name="lookup_search"),
    path("subjects/<int:record_id>/", views.profile, name="lookup_profile"),
    path("subjects/<int:record_id>/report.<str:fmt>", views.report, name="lookup_report"),
    path("records/<int:record_id>/", views.record_detail, name="lookup_record"),
    path("batch/", views.batch_list, name="lookup_batch"),
    path("batch/template.xlsx", views.batch_template, name="lookup_batch_template"),
    path("batch/<int:job_id>/", views.batch_detail, name="lookup_batch_detail"),
    path("batch/<int:job_id>/progress/", views.batch_progress, name="lookup_batch_progress"),
    path("batch/<int:job_id>/result.xlsx", views.batch_result, name="lookup_batch_result"),
]
