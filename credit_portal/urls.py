from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from accounts import views as accounts_views

admin.site.site_header = "信用信息报送平台 · 管理后台"
admin.site.site_title = "信用信息报送平台"
admin.site.index_title = "系统管理"

urlpatterns = [
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", accounts_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("stats/", include("rankings.urls")),
    path("bulletins/", include("bulletins.urls")),
    path("lookup/", include("lookup.urls")),
    path("api/", include("api.urls")),
    path("exports/", include("exports.urls")),
    path("gongshi/", include("disclosure.urls")),
    path("", include("accounts.urls")),
    path("", include("notices.urls")),
    path("", include("reporting.urls")),
]

handler500 = "credit_portal.errors.server_error"
