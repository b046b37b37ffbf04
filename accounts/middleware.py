from django.shortcuts import redirect
from django.urls import reverse

# Where an account that must replace its password may still go.
ALLOWED_URL_NAMES = ("password_change", "password_change_done", "logout", "admin:logout")


class PasswordChangeRequiredMiddleware:
    """Sends an account whose password an administrator set to the password change page until it is replaced."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        if user.is_authenticated and user.must_change_password:
            allowed = {reverse(name) for name in ALLOWED_URL_NAMES}
            if request.path_info not in allowed:
                return redirect("password_change")
        return self.get_response(request)
