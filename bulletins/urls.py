from django.urls import path

from . import views

issue = "<int:year>/<int:number>/"

urlpatterns = [
    path("", views.bulletin_list, name="bulletin_list"),
    path("new/", views.bulletin_create, name="bulletin_create"),
    path(issue, views.bulletin_detail, name="bulletin_detail"),
    path(issue + "edit/", views.bulletin_edit, name="bulletin_edit"),
    path(issue + "generate/", views.bulletin_generate, name="bulletin_generate"),
    path(issue + "city-rank/", views.bulletin_city_rank, name="bulletin_city_rank"),
    path(issue + "publish/", views.bulletin_publish, name="bulletin_publish"),
    path(issue + "delete/", views.bulletin_delete, name="bulletin_delete"),
    path(issue + "articles/new/", views.article_create, name="article_create"),
    path(issue + "articles/<int:article_id>/", views.article_edit, name="article_edit"),
    path(issue + "articles/<int:article_id>/delete/", views.article_delete, name="article_delete"),
    path(issue + "articles/<int:article_id>/move/", views.article_move, name="article_move"),
    path(issue + "download.<str:fmt>", views.bulletin_download, name="bulletin_download"),
]
