from django.urls import path

urlpatterns: list = [
    # Filled by the statistics pages (issue 3).
]
_ = path
