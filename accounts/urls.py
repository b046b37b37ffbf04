from django.contrib.auth import views as auth_views
from django.urls import path
from django.views.generic import RedirectView

from . import views

urlpatterns = [
    path("accounts/password/", views.PasswordChangeView.as_view(), name="password_change"),
    path("accounts/password/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    # 忘记密码: Django's reset by e-mail (console backend unless EMAIL_URL is set), Chinese templates.
    path("accounts/password/reset/", auth_views.PasswordResetView.as_view(), name="password_reset"),
    path("accounts/password/reset/sent/", auth_views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path("accounts/password/reset/<uidb64>/<token>/", views.PasswordResetConfirmView.as_view(),
         name="password_reset_confirm"),
    path("accounts/password/reset/done/", auth_views.PasswordResetCompleteView.as_view(),
         name="password_reset_complete"),
    # The admin's login page offers a reset link when this name exists: the same page.
    path("accounts/password/forgot/", RedirectView.as_view(pattern_name="password_reset"),
         name="admin_password_reset"),
    path("office/lockouts/", views.lockout_list, name="lockout_list"),
    path("office/lockouts/unlock/", views.lockout_unlock, name="lockout_unlock"),
]
