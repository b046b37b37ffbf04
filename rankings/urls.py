from django.urls import path

from . import views, views_rankings

urlpatterns = [
    path("", views.stat_index, name="stat_index"),
    path("tables/<str:code>/", views.stat_table, name="stat_table"),
    path("tables/<str:code>/export/", views.stat_table_export, name="stat_table_export"),
    path("tables/<str:code>/cell/", views.stat_cell, name="stat_cell"),
    path("units/<str:code>/", views.stat_unit, name="stat_unit"),
    path("rankings/", views_rankings.rankings, name="rankings"),
    path("rankings/unit/<str:code>/", views_rankings.unit_ranking, name="unit_ranking"),
    path("rankings/<str:kind>/", views_rankings.rankings, name="rankings"),
    path("city-rank/", views_rankings.city_rank, name="city_rank"),
]
