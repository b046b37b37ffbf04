from django.urls import path, re_path

from . import views

app_name = "disclosure"

urlpatterns = [
    path("", views.index, name="index"),
    path("search/", views.search, name="search"),
    path("xuke/", views.licenses, name="xuke"),
    path("xuke/<int:record_id>/", views.license_detail, name="xuke_detail"),
    path("chufa/", views.penalties, name="chufa"),
    path("chufa/<int:record_id>/", views.penalty_detail, name="chufa_detail"),
    # Any other address under /gongshi/ ending in a slash: the public 404, without the portal's page and its
    # cookie.  Addresses without the slash are left to APPEND_SLASH (/gongshi/xuke → /gongshi/xuke/).
    re_path(r"^.+/$", views.unknown, name="unknown"),
]
