"""Settings of the public pages, checked when the portal starts (manage.py check, runserver, migrate)."""

from django.conf import settings
from django.core.checks import Error, register

from .http import rate


@register()
def disclosure_settings_check(app_configs, **kwargs):
    errors = []
    try:
        rate()
    except ValueError:
        errors.append(Error(f"DISCLOSURE_RATE 的值 {getattr(settings, 'DISCLOSURE_RATE', '')!r} 无效",
                            hint="写成“次数/时间单位”，如 60/minute、10/second、1000/hour；0/minute 表示不限流。",
                            id="disclosure.E001"))
    try:
        if int(getattr(settings, "DISCLOSURE_CACHE_SECONDS", 300)) < 0:
            raise ValueError
    except (TypeError, ValueError):
        errors.append(Error("DISCLOSURE_CACHE_SECONDS 须为不小于 0 的整数（秒）", id="disclosure.E002"))
    return errors
