"""Every refusal of the API as JSON in Chinese: {"detail": "…", "code": "…", …}."""

import logging
import secrets

from django.core.exceptions import PermissionDenied
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response

logger = logging.getLogger("credit_portal.errors")


class ApiError(exceptions.APIException):
    """A refusal with its HTTP status, a Chinese message and any extra fields of the body."""

    def __init__(self, status_code, detail, *, code="error", **extra):
        self.status_code = status_code
        self.code = code
        self.extra = extra
        super().__init__(detail, code)

    @property
    def body(self):
        return {"detail": str(self.detail), "code": self.code, **self.extra}


MESSAGES = {
    exceptions.NotAuthenticated: ("缺少接口令牌：请在请求头中加上 Authorization: Bearer <令牌>。", "not_authenticated"),
    exceptions.UnsupportedMediaType: ("请求体应为 JSON。", "unsupported_media_type"),
    exceptions.NotAcceptable: ("接口只返回 JSON。", "not_acceptable"),
}


def exception_handler(exc, context):
    """DRF's exceptions, in Chinese; anything unexpected is logged with a reference number (JSON 500)."""
    headers = {}
    if isinstance(exc, ApiError):
        return Response(exc.body, status=exc.status_code)
    if isinstance(exc, Http404):
        return Response({"detail": "未找到。", "code": "not_found"}, status=404)
    if isinstance(exc, PermissionDenied):
        return Response({"detail": str(exc) or "无权执行此操作。", "code": "permission_denied"}, status=403)
    if isinstance(exc, exceptions.Throttled):
        wait = int(exc.wait or 1) if exc.wait is not None else 60
        headers["Retry-After"] = str(max(wait, 1))
        body = {"detail": f"请求过于频繁，请在 {max(wait, 1)} 秒后重试。", "code": "throttled", "retry_after": max(wait, 1)}
        return Response(body, status=429, headers=headers)
    if isinstance(exc, exceptions.MethodNotAllowed):
        view = context.get("view")
        allowed = ", ".join(m for m in (view.allowed_methods if view else []) if m not in ("OPTIONS", "HEAD"))
        method = context["request"].method if context.get("request") is not None else ""
        return Response({"detail": f"此地址不支持 {method} 方法，支持：{allowed}。", "code": "method_not_allowed"},
                        status=405, headers={"Allow": allowed})
    if isinstance(exc, exceptions.APIException):
        if isinstance(exc, exceptions.AuthenticationFailed | exceptions.NotAuthenticated):
            view = context.get("view")
            auth = view.get_authenticate_header(context["request"]) if view is not None else None
            if auth:
                headers["WWW-Authenticate"] = auth
        message, code = MESSAGES.get(type(exc), (None, None))
        detail = exc.detail if isinstance(exc.detail, str) else None
        body = {"detail": message or str(detail or "请求有误。"), "code": code or exc.default_code}
        return Response(body, status=exc.status_code, headers=headers)
    reference = secrets.token_hex(4).upper()
    logger.error("接口错误，参考编号 %s", reference, exc_info=exc)
    return Response({"detail": f"系统出现错误，已记录，请稍后重试；如果问题持续出现，请联系市信用办，参考编号 {reference}。",
                     "code": "server_error", "reference": reference}, status=status.HTTP_500_INTERNAL_SERVER_ERROR)
