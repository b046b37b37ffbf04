from django.urls import path

from . import views

app_name = "exports"

urlpatterns = [
    path("", views.run_list, name="run_list"),
]
