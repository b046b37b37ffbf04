from django import template
from django.utils.html import escape
from django.utils.safestring import mark_safe

from notices.rates import percent
from notices.selectors import unread_count

register = template.Library()


@register.simple_tag(takes_context=True)
def unread_notices(context):
    """The signed-in user's unread messages (one COUNT query), for the navbar."""
    request = context.get("request")
    return unread_count(request.user) if request is not None else 0


@register.simple_tag
def rate_cells(row):
    """A matrix row's month cells as HTML, built here: a 1,000-unit year has 12,000 of them."""
    parts = []
    for cell in row.cells:
        css = f"rr-cell rr-{cell.state}" + (" rr-late" if cell.late else "") + ("" if cell.due else " rr-notdue")
        if cell.url:
            parts.append(f'<td class="{css}" title="{cell.title}"><a href="{escape(cell.url)}">{cell.label}</a></td>')
        else:
            parts.append(f'<td class="{css}" title="{cell.title}"></td>')
    return mark_safe("".join(parts))  # labels and titles are constants of rates.STATES; the URL is escaped


@register.filter
def rate(value):
    """A ratio (0..1) as a percentage with one decimal; — when nothing was due."""
    return percent(value)
