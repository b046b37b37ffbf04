"""Reading bulletins.  Everyone logged in reads published issues; drafts are the office's."""

from collections import OrderedDict

from rankings.indicators import table_for_kind
from rankings.selectors import default_range, default_year
from reporting.models import MonthlyReport, ReportStatus, UnitKind
from reporting.selectors import reports_awaiting_review

from .models import Bulletin


def bulletins_visible_to(user):
    issues = Bulletin.objects.all()
    return issues if user.is_office else issues.filter(status=Bulletin.Status.PUBLISHED)


def archive(user):
    """Published issues grouped by year, newest first: [(year, [issues])]."""
    years = OrderedDict()
    for issue in bulletins_visible_to(user).filter(status=Bulletin.Status.PUBLISHED).order_by("-year", "-number"):
        years.setdefault(issue.year, []).append(issue)
    return list(years.items())


def drafts():
    return Bulletin.objects.filter(status=Bulletin.Status.DRAFT).order_by("-year", "-number")


def generate_defaults(bulletin):
    """The range proposed for the 情况通报: the last one used, else January to the last accepted month."""
    if bulletin.stats_year:
        return {"year": bulletin.stats_year, "from": bulletin.stats_from, "through": bulletin.stats_through}
    year = default_year()
    first, last = default_range(year)
    return {"year": year, "from": first, "through": last}


def indicator_columns():
    """Columns the county/park narrative can speak of (those of the county and park tables)."""
    columns = []
    for kind in (UnitKind.COUNTY, UnitKind.PARK):
        table = table_for_kind(kind)
        if table is not None:
            columns += [c.label for c in table.columns.all() if c.label not in columns]
    return columns


def pending_for(chosen):
    """Reports awaiting review in the proposed range and in all, for the generate form's warning."""
    in_range = reports_awaiting_review(year=chosen["year"], first=chosen["from"], last=chosen["through"])
    return {
        "in_range": in_range.count(),
        "units": list(dict.fromkeys(r.unit.short_name for r in in_range[:200])),
        "all": MonthlyReport.objects.filter(status=ReportStatus.SUBMITTED).count(),
        "label": f"{chosen['year']}年{chosen['from']}—{chosen['through']}月",
    }
