"""Tokens (issue, rotate, revoke: the new token shown once in a message) and the call log, read-only."""

from django import forms
from django.contrib import admin, messages
from django.db.models import Max
from django.urls import reverse
from django.utils.html import format_html

from reporting.admin import ReadOnlyAdmin
from reporting.models import Unit

from .models import ApiCall, ApiToken, IdempotentResponse
from .tokens import token_issue, token_revoke


class TokenIssueForm(forms.ModelForm):
    class Meta:
        model = ApiToken
        fields = ("unit", "note")


def _show_once(request, unit, token, replaced):
    rotated = f"，原有的 {replaced} 个令牌已吊销" if replaced else ""
    messages.warning(request, f"已为{unit}（{unit.code}）签发接口令牌{rotated}。令牌只显示这一次，请立即复制并交给该单位："
                              f"{token}")


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Add = issue a token for a unit (its previous token is revoked); actions rotate and revoke."""

    form = TokenIssueForm
    list_display = ("unit", "prefix", "state", "note", "created_at", "created_by", "last_call", "revoked_at",
                    "revoked_by")
    list_filter = (("revoked_at", admin.EmptyFieldListFilter), "unit__kind")
    list_select_related = ("unit", "created_by", "revoked_by")
    search_fields = ("unit__code", "unit__short_name", "prefix", "note")
    autocomplete_fields = ("unit",)
    actions = ("rotate_tokens", "revoke_tokens")

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(last_call_at=Max("calls__created_at"))

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        return ("unit", "user", "prefix", "note", "created_at", "created_by", "revoked_at", "revoked_by", "calls_link")

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("unit", "note")
        return self.get_readonly_fields(request, obj)

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False  # revoke instead: the call log keeps pointing at the token

    @admin.display(description="状态", boolean=False)
    def state(self, obj):
        return "有效" if obj.is_active else "已吊销"

    @admin.display(description="最近调用", ordering="last_call_at")
    def last_call(self, obj):
        return obj.last_call_at

    @admin.display(description="调用日志")
    def calls_link(self, obj):
        url = reverse("admin:api_apicall_changelist") + f"?token__id__exact={obj.pk}"
        return format_html('<a href="{}">查看此令牌的调用日志</a>', url)

    def save_model(self, request, obj, form, change):
        row, token = token_issue(unit=form.cleaned_data["unit"], user=request.user, note=form.cleaned_data["note"])
        obj.pk = row.pk
        obj.refresh_from_db()
        _show_once(request, row.unit, token, row.replaced)

    def response_add(self, request, obj, post_url_continue=None):
        return self.response_post_save_add(request, obj)  # no "added" message: the one above shows the token

    @admin.action(description="轮换：为所选令牌的单位签发新令牌（旧令牌立即失效）")
    def rotate_tokens(self, request, queryset):
        units = Unit.objects.filter(pk__in=queryset.values("unit_id"))
        for unit in units:
            row, token = token_issue(unit=unit, user=request.user)
            _show_once(request, unit, token, row.replaced)

    @admin.action(description="吊销所选令牌")
    def revoke_tokens(self, request, queryset):
        count = token_revoke(tokens=list(queryset), user=request.user)
        messages.success(request, f"已吊销 {count} 个令牌。")


@admin.register(ApiCall)
class ApiCallAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "unit", "token", "method", "path", "status_code", "rows_imported", "duration_ms",
                    "client_ip", "idempotency_key", "replayed", "message")
    list_filter = ("status_code", "method", "replayed", "unit")
    search_fields = ("path", "idempotency_key", "client_ip", "token__prefix", "unit__code", "message")
    date_hierarchy = "created_at"
    list_select_related = ("unit", "token__unit")


@admin.register(IdempotentResponse)
class IdempotentResponseAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "token", "key", "status_code")
    list_select_related = ("token__unit",)
    search_fields = ("key", "token__prefix", "token__unit__code")
    exclude = ("body",)
