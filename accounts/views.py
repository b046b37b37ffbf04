"""Sign-in pages: the lockout page, the office's unlock page, the password change."""

from axes.helpers import get_client_username
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from reporting.views import office_required

from . import lockouts


def locked_out(request, original_response=None, credentials=None):
    """django-axes' lockout response (AXES_LOCKOUT_CALLABLE), for the portal's and the admin's login."""
    username = get_client_username(request, credentials) or ""
    return render(request, "accounts/locked_out.html", {
        "username": username,
        "retry_at": lockouts.lockout_retry_at(username=username, ip_address=request.axes_ip_address),
        "failure_limit": settings.AXES_FAILURE_LIMIT,
        "cooloff_minutes": int(settings.AXES_COOLOFF_TIME.total_seconds() // 60),
    }, status=429)


class UnlockForm(forms.Form):
    username = forms.CharField(max_length=150)
    ip_address = forms.GenericIPAddressField()


@office_required
def lockout_list(request):
    return render(request, "accounts/lockouts.html", {
        "lockouts": lockouts.lockouts_active(),
        "failure_limit": settings.AXES_FAILURE_LIMIT,
        "cooloff_minutes": int(settings.AXES_COOLOFF_TIME.total_seconds() // 60),
    })


@require_POST
@office_required
def lockout_unlock(request):
    form = UnlockForm(request.POST)
    if not form.is_valid():
        messages.error(request, "解锁请求无效，请刷新页面后重试。")
    elif lockouts.lockout_release(**form.cleaned_data, actor=request.user):
        messages.success(request, f"已解除账号 {form.cleaned_data['username']} 的登录锁定，可以立即重新登录。")
    else:
        messages.info(request, f"账号 {form.cleaned_data['username']} 已不在锁定中。")
    return redirect("lockout_list")


class PasswordChangeView(auth_views.PasswordChangeView):
    """Django's password change; a new password also lifts the must-change flag."""

    def form_valid(self, form):
        form.user.must_change_password = False  # saved with the new password
        return super().form_valid(form)


class LogoutView(auth_views.LogoutView):
    """Django's logout (POST only), saying so on the login page it leads to."""

    def post(self, request, *args, **kwargs):
        was_signed_in = request.user.is_authenticated
        response = super().post(request, *args, **kwargs)
        if was_signed_in:  # the message travels in its cookie: the session has just been emptied
            messages.success(request, "已退出登录。再次填报或审核时，请重新登录。")
        return response


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """Django's reset by e-mailed link: the new password is the holder's own, so no forced change follows."""

    def form_valid(self, form):
        form.user.must_change_password = False  # saved with the new password
        return super().form_valid(form)
