"""The submission API's rows: tokens (stored hashed), every call (audit), and idempotent responses."""

import hashlib

from django.conf import settings
from django.db import models
from django.db.models import Q

from reporting.models import Unit


def token_digest(token):
    """What is stored of a token: its SHA-256 (the token itself is shown once and never kept)."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


class ApiToken(models.Model):
    """A unit's key to the submission API.  One active token per unit: issuing a new one revokes the old.

    The services act as the unit's API account (`user`, a user of the unit that cannot sign in), so the
    unit's lock day applies and the audit trail names the API as the actor.
    """

    unit = models.ForeignKey(Unit, verbose_name="单位", on_delete=models.PROTECT, related_name="api_tokens")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="接口账号", on_delete=models.PROTECT,
                             related_name="+", help_text="接口调用以此账号的身份执行（不能登录网页）")
    prefix = models.CharField("令牌前缀", max_length=16, db_index=True, help_text="令牌的前几位，用于识别")
    key_hash = models.CharField("令牌摘要（SHA-256）", max_length=64, unique=True)
    note = models.CharField("说明", max_length=200, blank=True)
    created_at = models.DateTimeField("签发时间", auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="签发人", null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+", help_text="空：命令行")
    revoked_at = models.DateTimeField("吊销时间", null=True, blank=True)
    revoked_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="吊销人", null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["unit__order", "unit__code", "-created_at"]
        verbose_name = "接口令牌"
        verbose_name_plural = "接口令牌"
        constraints = [
            models.UniqueConstraint(fields=["unit"], condition=Q(revoked_at__isnull=True),
                                    name="one_active_api_token_per_unit"),
        ]

    def __str__(self):
        return f"{self.unit.code} {self.prefix}…"

    @property
    def is_active(self):
        return self.revoked_at is None


class ApiCall(models.Model):
    """One call of the API, whatever became of it (failed sign-in included: token empty).  Never changed."""

    created_at = models.DateTimeField("时间", auto_now_add=True, db_index=True)
    token = models.ForeignKey(ApiToken, verbose_name="令牌", null=True, blank=True, on_delete=models.PROTECT,
                              related_name="calls", help_text="空：未提供令牌或令牌无效")
    unit = models.ForeignKey(Unit, verbose_name="单位", null=True, blank=True, on_delete=models.PROTECT,
                             related_name="+")
    method = models.CharField("方法", max_length=10)
    path = models.CharField("地址", max_length=300)
    status_code = models.PositiveSmallIntegerField("状态码")
    client_ip = models.GenericIPAddressField("客户端地址", null=True, blank=True)
    idempotency_key = models.CharField("Idempotency-Key", max_length=200, blank=True)
    replayed = models.BooleanField("重放的响应", default=False, help_text="同一 Idempotency-Key 的重试，返回了保存的响应")
    rows_imported = models.PositiveIntegerField("导入行数", default=0)
    duration_ms = models.PositiveIntegerField("耗时（毫秒）", default=0)
    message = models.CharField("结果说明", max_length=500, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "接口调用日志"
        verbose_name_plural = "接口调用日志"

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.method} {self.path} {self.status_code}"


class IdempotentResponse(models.Model):
    """The response to a write sent with an Idempotency-Key, replayed when the same request comes again.

    The unique (token, key) pair is what makes two identical requests at once import only once: the
    second one's insert waits for the first one's transaction and then finds its response.
    """

    token = models.ForeignKey(ApiToken, verbose_name="令牌", on_delete=models.CASCADE, related_name="+")
    key = models.CharField("Idempotency-Key", max_length=200)
    request_hash = models.CharField("请求摘要", max_length=64, help_text="方法、地址与请求体的 SHA-256")
    status_code = models.PositiveSmallIntegerField("状态码")
    body = models.JSONField("响应内容")
    created_at = models.DateTimeField("时间", auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "幂等请求记录"
        verbose_name_plural = "幂等请求记录"
        constraints = [models.UniqueConstraint(fields=["token", "key"], name="one_response_per_token_key")]

    def __str__(self):
        return f"{self.token_id}:{self.key}"
