from django.urls import path

from . import views

app_name = "exports"

urlpatterns = [
    path("", views.run_list, name="run_list"),
    path("jobs/<int:pk>/download/", views.job_download, name="job_download"),
]
