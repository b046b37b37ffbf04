"""`Authorization: Bearer <token>`: the only way into the API (no session cookies, so no CSRF)."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header

from .tokens import token_find

REALM = 'Bearer realm="credit-portal-api"'


class BearerTokenAuthentication(BaseAuthentication):
    def authenticate(self, request):
        header = get_authorization_header(request).split()
        if not header or header[0].lower() != b"bearer":
            return None  # no token: the permission check answers 401
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Authorization 请求头格式应为：Bearer <令牌>（令牌中不含空格）。")
        try:
            text = header[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("接口令牌无效或已被吊销，请向市信用办申请新的令牌。") from None
        token = token_find(text)
        if token is None:
            raise exceptions.AuthenticationFailed("接口令牌无效或已被吊销，请向市信用办申请新的令牌。")
        request._request.api_token = token  # for the call log, whatever happens next
        return token.user, token

    def authenticate_header(self, request):
        return REALM


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "api.authentication.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "市信用办为每个单位签发的接口令牌：请求头 Authorization: Bearer <令牌>。",
        }
