from django.urls import path

from . import views

urlpatterns = [
    path("inbox/", views.inbox, name="inbox"),
    path("inbox/<int:notice_id>/read/", views.notice_read, name="notice_read"),
    path("inbox/read-all/", views.notices_read_all, name="notices_read_all"),
    path("office/rates/", views.reporting_rates, name="reporting_rates"),
    path("office/rates/export.xlsx", views.reporting_rates_export, name="reporting_rates_export"),
    path("office/remind/", views.remind, name="remind"),
]
