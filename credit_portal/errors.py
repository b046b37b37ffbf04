"""Error pages in Chinese, in the portal's layout, never a traceback.

400, 403 and 404 are Django's own handlers rendering templates/400.html, 403.html
and 404.html.  The 500 page is ours: it gives the user a reference number and writes
the same number to the log next to the traceback, so that a phone call about an error
finds it.  It renders without the request (no user, no session, no database): whatever
broke the page may be the database.
"""

import logging
import re
import secrets

from django.http import HttpResponseServerError
from django.template import loader
from django.views.debug import SafeExceptionReporterFilter

logger = logging.getLogger("credit_portal.errors")

FALLBACK_500 = (
    '<!doctype html><html lang="zh-hans"><head><meta charset="utf-8"><title>系统错误</title></head>'
    "<body><h1>系统出现错误</h1><p>错误已记录，请稍后重试。如果问题持续出现，请联系市信用办，"
    "并提供参考编号 <strong>{reference}</strong>。</p></body></html>"
)


def server_error(request):
    reference = secrets.token_hex(4).upper()
    logger.error("服务器错误，参考编号 %s：%s %s", reference, request.method, request.path, exc_info=True)
    try:
        body = loader.get_template("500.html").render({"reference": reference})
    except Exception:  # the error page itself must never fail
        logger.exception("500 页面渲染失败，参考编号 %s", reference)
        body = FALLBACK_500.format(reference=reference)
    response = HttpResponseServerError(body)
    response["X-Error-Reference"] = reference
    return response


class ReporterFilter(SafeExceptionReporterFilter):
    """Also hides connection URLs with passwords (DATABASE_URL, CELERY_BROKER_URL …), which the
    default filter shows — `runserver` copies the whole environment into every request."""

    hidden_settings = re.compile(
        "API|AUTH|TOKEN|KEY|SECRET|PASS|SIGNATURE|HTTP_COOKIE|DATABASE_URL|BROKER_URL|REDIS_URL", flags=re.I,
    )
