from django.apps import AppConfig, apps


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "账号与登录"

    def ready(self):
        # django-axes names its admin section "Axes" and ships no Chinese: the administrator reads 登录防护.
        if apps.is_installed("axes"):
            apps.get_app_config("axes").verbose_name = "登录防护"
            access_log = apps.get_model("axes", "AccessLog")
            access_log.__str__ = lambda log: f"{log.username or '（未知用户）'}的登录日志"
