"""The submission API (/api/v1/): thin doors into api.submission, each call logged in ApiCall.

Authentication is a Bearer token only (no session, so no CSRF); a token reaches only its own unit
(another unit's URLs are 404).  Writes honour Idempotency-Key; every call is throttled per token.
"""

import logging
import time

from django.db import transaction
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from drf_spectacular.views import SpectacularJSONAPIView
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import ParseError
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.lockouts import client_ip

from . import serializers as ser
from . import submission
from .authentication import BearerTokenAuthentication
from .errors import ApiError
from .idempotency import idempotent, key_of, request_hash
from .models import ApiCall
from .parsers import BoundedJSONParser, JSONOnlyNegotiation
from .throttling import TokenRateThrottle

logger = logging.getLogger(__name__)


class LoggedCallMixin:
    """Writes the ApiCall row of every call, refused ones included, after the answer is known.

    The only write of a GET: the call log is what these calls are audited by.
    """

    def dispatch(self, request, *args, **kwargs):
        started = time.monotonic()
        self.rows_imported = 0
        self.replayed = False
        response = super().dispatch(request, *args, **kwargs)
        response["Cache-Control"] = "no-store, private"
        try:
            call_log(request, response, started=started, rows=self.rows_imported, replayed=self.replayed)
        except Exception:  # the log must never turn an answer into an error
            logger.exception("API call log failed: %s %s", request.method, request.path)
        return response


def call_log(request, response, *, started, rows, replayed):
    token = getattr(request, "api_token", None)
    data = getattr(response, "data", None)
    message = (data.get("detail") or data.get("message") or "") if isinstance(data, dict) else ""
    with transaction.atomic():
        ApiCall.objects.create(
            token=token, unit_id=token.unit_id if token else None, method=request.method[:10],
            path=request.get_full_path()[:300], status_code=response.status_code, client_ip=client_ip(request) or None,
            idempotency_key=request.headers.get("Idempotency-Key", "")[:200], replayed=replayed,
            rows_imported=rows, duration_ms=int((time.monotonic() - started) * 1000), message=str(message)[:500],
        )


class ApiView(LoggedCallMixin, APIView):
    authentication_classes = [BearerTokenAuthentication]
    permission_classes = [IsAuthenticated]
    throttle_classes = [TokenRateThrottle]
    parser_classes = [BoundedJSONParser]
    renderer_classes = [JSONRenderer]
    content_negotiation_class = JSONOnlyNegotiation

    def body(self, request, *, optional=False):
        if request.stream is None:  # no body at all
            if optional:
                return None
            raise ParseError("请求体为空，应为 JSON。")
        return request.data

    def write(self, request, work, *, body):
        """Run a write under the request's Idempotency-Key (if any) and answer its outcome."""
        key = key_of(request)
        status, data, self.replayed = idempotent(token=request.auth, key=key,
                                                 fingerprint=request_hash(request, body), work=work)
        if status == 200 and not self.replayed:
            self.rows_imported = data.get("imported", 0) if isinstance(data, dict) else 0
        headers = {"Idempotent-Replayed": "true"} if self.replayed else {}
        return Response(data, status=status, headers=headers)


UNIT = OpenApiParameter("unit", str, OpenApiParameter.PATH, description="单位编码，如 D02（只能是令牌所属的单位）")
PERIOD = OpenApiParameter("period", str, OpenApiParameter.PATH, description="月份，YYYY-MM，如 2019-08")
CATEGORY = OpenApiParameter("category", str, OpenApiParameter.PATH,
                            description="类别编码，如 admin_license（见 fixtures/categories.csv 与本页的类别列表）")
IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key", str, OpenApiParameter.HEADER, required=False,
    description="可选。同一令牌下同一个键的重试返回第一次的状态码和响应，不会重复导入；"
                "键不同内容的请求返回 422。保存 24 小时。")


def _error(description):
    return OpenApiResponse(ser.ErrorSerializer, description=description)


COMMON_ERRORS = {
    401: _error("缺少接口令牌、令牌无效或已被吊销"),
    404: _error("找不到单位（或不是令牌所属的单位）、月份格式不对、没有这个类别"),
    429: _error("请求过于频繁（按令牌限流），响应头 Retry-After 给出需等待的秒数"),
}
WRITE_ERRORS = {
    **COMMON_ERRORS,
    400: _error("请求体不是合法的 JSON"),
    409: _error("月份不能再修改：已提交或已通过，或已过锁定日（需市信用办开通特许修改）；或同一 Idempotency-Key 的请求正在处理"),
    413: _error("请求体或行数超过上限"),
}

ROWS_EXAMPLE = OpenApiExample(
    "行政许可（中文表头与国家标准字段代码均可）",
    value={"mode": "replace", "rows": [{
        "行政相对人名称": "营口市某某贸易有限公司", "行政相对人类别": "法人及非法人组织",
        "统一社会信用代码": "91110000600037341L", "行政许可决定文书名称": "食品经营许可决定书",
        "XK_WSH": "营审批食许〔2019〕0001号", "许可类别": "普通", "许可内容": "预包装食品销售",
        "许可决定日期": "2019-08-05", "有效期自": "2019-08-05", "有效期至": "2024-08-04",
        "许可机关": "营口市行政审批局", "许可机关统一社会信用代码": "11210800MB1234560X", "XK_ZT": "1",
        "数据来源单位": "营口市行政审批局", "数据来源单位统一社会信用代码": "11210800MB1234560X",
    }]},
    request_only=True,
)


class CategoryView(ApiView):
    @extend_schema(
        operation_id="category_put",
        summary="提交一个类别的本月数据",
        description=(
            "逐条记录类别：以 rows 提交记录，与网页上传走同一套校验和规则——整批全部正确才保存，有任何错误则"
            "不保存任何数据（422，errors 与命令行 import_records --json 相同，row 为 rows 中的序号，从 1 开始）；"
            "mode 为 replace 时替换本类别本月已有的记录，append 时追加（文书号不得与已存记录重复）；"
            "与已导入的内容完全相同的提交不重复计数（duplicate 为 true）。"
            "数量类别：以 {\"count\": N} 填报数量。任何类别：以 {\"nil\": true} 声明本月无数据。"
        ),
        parameters=[UNIT, PERIOD, CATEGORY, IDEMPOTENCY_KEY],
        request=ser.CategoryPutSerializer,
        responses={
            200: OpenApiResponse(ser.ImportResultSerializer, description="已保存（数量类别与无数据声明的响应见说明）"),
            422: OpenApiResponse(ser.ImportResultSerializer, description="校验未通过，未保存任何数据；或请求体不符合要求"),
            **WRITE_ERRORS,
        },
        examples=[ROWS_EXAMPLE, OpenApiExample("数量类别", value={"count": 12}, request_only=True),
                  OpenApiExample("本月无数据", value={"nil": True}, request_only=True)],
        tags=["报送"],
    )
    def put(self, request, unit, period, category):
        unit_row = submission.unit_for(request.user, unit)
        month = submission.period_for(period)
        category_row = submission.category_for(unit_row, category)
        body = self.body(request)
        return self.write(request, lambda: submission.category_put(
            user=request.user, unit=unit_row, period=month, category=category_row, body=body), body=body)


class ReportView(ApiView):
    @extend_schema(
        operation_id="report_status",
        summary="查看月度报表状态",
        description="与命令行 report_status --json 的输出相同。只读：没有报表的月份按“填报中”显示，不会创建。",
        parameters=[UNIT, PERIOD],
        responses={200: ser.ReportStatusSerializer, **COMMON_ERRORS},
        tags=["报送"],
    )
    def get(self, request, unit, period):
        unit_row = submission.unit_for(request.user, unit)
        month = submission.period_for(period)
        return Response(submission.report_status(unit=unit_row, period=month))


class SubmitView(ApiView):
    @extend_schema(
        operation_id="report_submit",
        summary="提交月度报表",
        description="与报表页的“提交”走同一服务：提交后数据锁定，等待市信用办审核。"
                    "尚未填报的类别默认记为本月无数据（响应的 nil_declared 列出），数量异常提示记入操作记录。",
        parameters=[UNIT, PERIOD, IDEMPOTENCY_KEY],
        request=ser.SubmitSerializer,
        responses={
            200: ser.SubmitResultSerializer,
            422: _error("月份尚未开始；或 confirm_nil 为 false 而有未填报的类别（categories 列出）"),
            **WRITE_ERRORS,
        },
        tags=["报送"],
    )
    def post(self, request, unit, period):
        unit_row = submission.unit_for(request.user, unit)
        month = submission.period_for(period)
        body = self.body(request, optional=True)
        return self.write(request, lambda: submission.report_submit(
            user=request.user, unit=unit_row, period=month, body=body), body=body)


@extend_schema(exclude=True)
class NotFoundView(ApiView):
    """Any other address under /api/v1/: a JSON 404 (after the token check, like every call)."""

    def get(self, request, *args, **kwargs):
        raise ApiError(404, "没有这个接口地址，请查看接口文档 /api/v1/docs/。", code="no_such_endpoint")

    put = post = patch = delete = get


class SchemaView(LoggedCallMixin, SpectacularJSONAPIView):
    """The OpenAPI 3 schema (JSON): for a signed-in portal user or a token holder, never anonymous."""

    authentication_classes = [BearerTokenAuthentication, SessionAuthentication]
    permission_classes = [IsAuthenticated]
    throttle_classes = [TokenRateThrottle]
    urlconf = "api.schema_urls"
