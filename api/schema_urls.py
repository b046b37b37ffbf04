"""The URLs the OpenAPI schema describes: the API's own, under /api/ (not the rest of the portal)."""

from django.urls import include, path

urlpatterns = [path("api/", include("api.urls"))]
