from django import template
from django.utils.html import format_html

register = template.Library()

# Bootstrap colours of report and import statuses.
STATUS_CSS = {
    "draft": "secondary",
    "submitted": "primary",
    "accepted": "success",
    "returned": "warning",
    "missing": "dark",
    "pending": "secondary",
    "running": "info",
    "succeeded": "success",
    "failed": "danger",
    "refused": "danger",
    "duplicate": "info",
}


@register.simple_tag
def status_badge(obj):
    """A coloured badge for a MonthlyReport or ImportBatch status."""
    css = STATUS_CSS.get(obj.status, "secondary")
    return format_html('<span class="badge text-bg-{}">{}</span>', css, obj.get_status_display())


@register.filter
def status_css(status):
    return STATUS_CSS.get(status, "secondary")


@register.filter
def message_css(level_tag):
    return "danger" if level_tag == "error" else level_tag or "info"


@register.filter
def period_code(date):
    return date.strftime("%Y-%m")
