from django import template
from django.utils.html import escape
from django.utils.safestring import mark_safe

register = template.Library()


@register.simple_tag
def stat_cells(cells):
    """A row's number cells, each a link to what is behind it.

    Rendered here rather than by a template loop: the full department table has
    over a thousand cells, and the page has a server-time budget.  Values are
    ints; the links are escaped.
    """
    html = []
    for value, url, derived in cells:
        cell = ' class="stat-derived"' if derived else ""
        link = "" if value else ' class="stat-zero"'
        html.append(f'<td{cell}><a href="{escape(url)}"{link}>{int(value)}</a></td>')
    return mark_safe("".join(html))  # noqa: S308 - ints and escaped links only
