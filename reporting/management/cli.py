"""What the operator commands share: resolving --unit/--period/--category and
turning service refusals into a non-zero exit with the Chinese message.

The operator CLI acts with office rights: every service call passes user=None.
"""

import datetime
import re
import unicodedata

from django.core.management.base import BaseCommand, CommandError

from reporting import services
from reporting.excel import UploadRefused
from reporting.models import Category, MonthlyReport, Unit

_PERIOD = re.compile(r"^(\d{4})-(\d{1,2})$")


def parse_period(text):
    match = _PERIOD.match(text.strip())
    month = int(match[2]) if match else 0
    if not match or not 1 <= month <= 12:
        raise CommandError(f"月份“{text}”格式不对，应为 YYYY-MM，如 2019-08。")
    return datetime.date(int(match[1]), month, 1)


def unit_by_code(code):
    try:
        return Unit.objects.get(code__iexact=code.strip())
    except Unit.DoesNotExist:
        raise CommandError(f"没有编码为“{code}”的信源单位。") from None


def category_for(unit, code):
    """The active category with this code that the unit's kind reports."""
    category = Category.objects.filter(code__iexact=code.strip()).first()
    if category is None:
        raise CommandError(f"没有编码为“{code}”的报送类别。")
    if not category.is_active or not category.applies_to_kind(unit.kind):
        raise CommandError(f"类别“{category.name}”（{category.code}）不适用于{unit}（{unit.get_kind_display()}）。")
    return category


def existing_report(unit, period):
    return MonthlyReport.objects.filter(unit=unit, period=period).first()


def pad(text, width):
    """Left-align text in a terminal column, counting CJK characters as two."""
    text = str(text)
    used = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
    return text + " " * max(width - used, 0)


class ReportCommand(BaseCommand):
    """A command about one unit's month: --unit CODE --period YYYY-MM."""

    # Refusals from the services end the command with their message and exit status 1.
    refusals = (services.ServiceError, UploadRefused)

    def add_arguments(self, parser):
        parser.add_argument("--unit", required=True, help="单位编码，如 D01、C01（不区分大小写）")
        parser.add_argument("--period", required=True, help="月份，格式 YYYY-MM，如 2019-08")

    def handle(self, *args, **options):
        unit = unit_by_code(options["unit"])
        period = parse_period(options["period"])
        try:
            self.handle_month(unit, period, options)
        except self.refusals as exc:
            raise CommandError(str(exc)) from exc

    def handle_month(self, unit, period, options):
        raise NotImplementedError

    def report(self, unit, period):
        return services.report_get_or_create(unit=unit, period=period)
