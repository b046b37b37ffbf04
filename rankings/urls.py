from django.urls import path

from . import views

urlpatterns = [
    path("", views.stat_index, name="stat_index"),
    path("tables/<str:code>/", views.stat_table, name="stat_table"),
    path("tables/<str:code>/export/", views.stat_table_export, name="stat_table_export"),
    path("tables/<str:code>/cell/", views.stat_cell, name="stat_cell"),
    path("units/<str:code>/", views.stat_unit, name="stat_unit"),
]
