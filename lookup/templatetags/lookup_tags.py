from django import template

from reporting.validators import mask_id_number

from .. import selectors

register = template.Library()


@register.filter
def can_lookup(user):
    """Whether the user may use the credit lookup (for the navigation bar)."""
    return selectors.can_lookup(user)


@register.filter
def mask_id(value):
    return mask_id_number(value)
