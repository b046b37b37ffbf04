from django.contrib.auth import views as auth_views
from django.urls import path

from . import views

urlpatterns = [
    path("accounts/password/", views.PasswordChangeView.as_view(), name="password_change"),
    path("accounts/password/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("office/lockouts/", views.lockout_list, name="lockout_list"),
    path("office/lockouts/unlock/", views.lockout_unlock, name="lockout_unlock"),
]
