from django import template
from django.utils.html import escape
from django.utils.safestring import mark_safe

register = template.Library()


@register.simple_tag
def rank_cells(cells):
    """A ranking row's indicator and column cells: the value with its rank, or a dash when missing.
    Percentages carry their % in the column header.

    Built as plain strings rather than by a template loop or format_html: the
    departments' ranking has over a thousand cells, and the page has a
    server-time budget.  Values and ranks are numbers; only the tooltip is text.
    """
    parts = []
    for value, _suffix, rank, tip in cells:
        title = f' title="{escape(tip)}"' if tip else ""
        if value is None:
            parts.append(f'<td data-value=""{title}><span class="rank-none">—</span></td>')
        else:
            number = value if isinstance(value, int | float) else escape(value)
            parts.append(f'<td data-value="{number}"{title}>{number}<small class="rank-of">第{int(rank)}</small></td>')
    return mark_safe("".join(parts))
