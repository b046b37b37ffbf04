from html import escape

from django import template
from django.utils.safestring import mark_safe

from notices.rates import STATES, percent
from notices.selectors import unread_count

register = template.Library()


@register.simple_tag(takes_context=True)
def unread_notices(context):
    """The signed-in user's unread messages (one COUNT query), for the navbar."""
    request = context.get("request")
    return unread_count(request.user) if request is not None else 0


@register.simple_tag
def rate_row(row):
    """A matrix row as HTML, built here rather than in the template: a 1,000-unit year has 12,000 cells."""
    unit, counts, contact = row.unit, row.counts, row.contact
    parts = [f'<tr data-unit="{escape(unit.code)}"><th scope="row" class="rr-unit" title="{escape(unit.name)}">'
             f"{escape(unit.short_name)}</th>"]
    for cell in row.cells:
        css = f"rr-cell rr-{cell.state}" + (" rr-late" if cell.late else "") + ("" if cell.due else " rr-notdue")
        title = STATES[cell.state][0] + ("（逾期）" if cell.late else "")
        link = f'<a href="{escape(cell.url)}">{STATES[cell.state][1]}</a>' if cell.url else ""
        parts.append(f'<td class="{css}" title="{title}">{link}</td>')
    for value in (counts.due, counts.submitted, counts.accepted, counts.on_time):
        parts.append(f'<td class="rr-rate">{value}</td>')
    parts.append(f'<td class="rr-rate">{percent(counts.completeness)}</td>'
                 f'<td class="rr-rate">{percent(counts.on_time_rate)}</td>')
    if contact is not None:
        parts.append(f'<td class="rr-contact small">{escape(contact.person)} {escape(contact.phone)}</td>')
    else:
        parts.append('<td class="rr-contact small"><span class="text-body-secondary">未登记</span></td>')
    parts.append("</tr>")
    return mark_safe("".join(parts))  # every value from the database is escaped; the rest are constants


@register.filter
def rate(value):
    """A ratio (0..1) as a percentage with one decimal; — when nothing was due."""
    return percent(value)
