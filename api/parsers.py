"""The request body: JSON, read up to settings.API_MAX_BODY_BYTES and never further."""

import json

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.parsers import BaseParser

from .errors import ApiError


def _refuse_constant(name):
    raise ValueError(f"{name} 不是合法的 JSON 数值")


class BoundedJSONParser(BaseParser):
    """JSON whatever the Content-Type says (curl -d sends a form type), bounded in size, errors in Chinese.

    Not a JSONParser subclass on purpose: DRF hands a JSONParser `request.body`, which Django refuses
    (RequestDataTooBig, a 500) above DATA_UPLOAD_MAX_MEMORY_SIZE (10 MB), below API_MAX_BODY_BYTES.
    Any other parser reads the request stream itself, here never past API_MAX_BODY_BYTES + 1.
    """

    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.API_MAX_BODY_BYTES
        request = (parser_context or {}).get("request")
        declared = request.META.get("CONTENT_LENGTH") if request is not None else None
        if declared and declared.isdigit() and int(declared) > limit:
            raise body_too_large(int(declared))
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise body_too_large(None)
        if not raw.strip():
            raise ParseError("请求体为空，应为 JSON。")
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ParseError("请求体不是 UTF-8 编码，请以 UTF-8 编码发送 JSON。") from None
        try:
            return json.loads(text, parse_constant=_refuse_constant)
        except (ValueError, RecursionError) as exc:
            where = f"（第 {exc.lineno} 行第 {exc.colno} 列附近）" if isinstance(exc, json.JSONDecodeError) else ""
            raise ParseError(f"请求体不是合法的 JSON{where}，请检查格式。") from None


def body_too_large(size):
    limit = settings.API_MAX_BODY_BYTES
    got = f"（{size / 1024 / 1024:.1f} MB）" if size else ""
    return ApiError(413, f"请求体过大{got}，上限为 {limit / 1024 / 1024:.0f} MB。请分批提交：第一批用 replace，"
                         "其余各批用 append。", code="body_too_large")


class JSONOnlyNegotiation(BaseContentNegotiation):
    """Answers are always JSON and bodies always read as JSON: no 406 or 415 for a client's headers."""

    def select_parser(self, request, parsers):
        return parsers[0]

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type
