"""Writing bulletins: numbering, articles, the generated 情况通报, publishing.

A published issue is frozen: every service that changes an issue or its
articles locks the issue row and refuses unless it is still a draft, and
publishing is a conditional UPDATE, so an edit and a publish cannot interleave.
`user=None` is the operator (management commands) and acts with office rights.
"""

import datetime

from django.db import IntegrityError, transaction
from django.db.models import F, Max
from django.utils import timezone

from rankings.exports import name_header
from rankings.indicators import group_ranking, table_for_kind
from rankings.models import ROW_TOTAL, CityRank, StatTable
from rankings.selectors import table_compute
from reporting.models import UnitKind
from reporting.selectors import reports_awaiting_review
from reporting.services import ServiceError

from . import narrative
from .models import Article, Bulletin, Section

# The statistics tables of the 情况通报, in print order.
BULLETIN_TABLES = ("county_park", "department")
STATUS_TITLE = "全市各信源单位信用信息数据上报情况"
CITY_RANK_TITLE = "我市城市信用监测排名情况"
OFFICE_SOURCE = "市信用办"


class BulletinError(ServiceError):
    """A refused bulletin action; the message is Chinese and meant for the user."""


def _require_office(user):
    if user is not None and not user.is_office:
        raise BulletinError("只有市信用办工作人员可以编辑工作简报。")


def _locked_draft(bulletin):
    """The issue's row, locked for the transaction; refused once published."""
    locked = Bulletin.objects.select_for_update().get(pk=bulletin.pk)
    if locked.is_published:
        raise BulletinError(f"{locked.label}已发布，不能再修改。")
    return locked


# --- issues -----------------------------------------------------------------------


def bulletin_next_number(*, year):
    """The number proposed for the year's next issue: the highest so far + 1."""
    latest = Bulletin.objects.filter(year=year).aggregate(n=Max("number"))["n"]
    return (latest or 0) + 1


def bulletin_create(*, year, number=None, issue_date=None, issuing_office="", masthead="", user=None):
    """A new draft issue (number proposed when not given), with the city rank sentence if one is recorded."""
    _require_office(user)
    number = number or bulletin_next_number(year=year)
    if Bulletin.objects.filter(year=year, number=number).exists():
        raise BulletinError(f"〔{year}〕第{number}期已存在，请换一个期号（建议第{bulletin_next_number(year=year)}期）。")
    fields = {"year": year, "number": number, "issue_date": issue_date or timezone.localdate()}
    if issuing_office.strip():
        fields["issuing_office"] = issuing_office.strip()
    if masthead.strip():
        fields["masthead"] = masthead.strip()
    try:
        with transaction.atomic():
            bulletin = Bulletin.objects.create(**fields)
            rank = city_rank_for(bulletin)
            if rank is not None:
                _city_rank_article(bulletin, rank)
    except IntegrityError:
        raise BulletinError(f"〔{year}〕第{number}期已存在，请换一个期号。") from None
    return bulletin


def bulletin_update(*, bulletin, user, issue_date, issuing_office, masthead):
    _require_office(user)
    with transaction.atomic():
        bulletin = _locked_draft(bulletin)
        bulletin.issue_date = issue_date
        bulletin.issuing_office = issuing_office.strip() or bulletin.issuing_office
        bulletin.masthead = masthead.strip() or bulletin.masthead
        bulletin.save(update_fields=["issue_date", "issuing_office", "masthead", "updated_at"])
    return bulletin


def bulletin_delete(*, bulletin, user):
    _require_office(user)
    with transaction.atomic():
        _locked_draft(bulletin).delete()


def bulletin_publish(*, bulletin, user):
    """Publish a draft: from now on it is frozen."""
    _require_office(user)
    with transaction.atomic():
        bulletin = _locked_draft(bulletin)
        if not bulletin.articles.exists():
            raise BulletinError("本期还没有任何文章，不能发布。")
        updated = Bulletin.objects.filter(pk=bulletin.pk, status=Bulletin.Status.DRAFT).update(
            status=Bulletin.Status.PUBLISHED, published_at=timezone.now(), published_by=user,
            updated_at=timezone.now(),
        )
        if not updated:
            raise BulletinError(f"{bulletin.label}已发布。")
    bulletin.refresh_from_db()
    return bulletin


# --- articles ---------------------------------------------------------------------


def _clean_article(section, title, body):
    if section not in Section.values:
        raise BulletinError("请选择栏目。")
    if not (body or "").strip():
        raise BulletinError("正文不能为空。")
    if len(title or "") > 200:
        raise BulletinError("标题不能超过 200 个字。")


def article_create(*, bulletin, section, title="", body, source="", user, generated=False):
    _require_office(user)
    _clean_article(section, title, body)
    with transaction.atomic():
        bulletin = _locked_draft(bulletin)
        last = bulletin.articles.filter(section=section).aggregate(n=Max("order"))["n"]
        return Article.objects.create(
            bulletin=bulletin, section=section, order=(last or 0) + 1, title=(title or "").strip(),
            body=body.strip(), source=(source or "").strip(), generated=generated,
        )


def article_update(*, article, user, section, title, body, source):
    _require_office(user)
    _clean_article(section, title, body)
    with transaction.atomic():
        _locked_draft(article.bulletin)
        article = Article.objects.select_for_update().get(pk=article.pk)
        if section != article.section:
            last = article.bulletin.articles.filter(section=section).aggregate(n=Max("order"))["n"]
            article.order = (last or 0) + 1
        article.section = section
        article.title = (title or "").strip()
        article.body = body.strip()
        article.source = (source or "").strip()
        article.save()
    return article


def article_delete(*, article, user):
    _require_office(user)
    with transaction.atomic():
        _locked_draft(article.bulletin)
        article.delete()


def article_move(*, article, user, up):
    """Swap the article with its neighbour above (up) or below in its section."""
    _require_office(user)
    with transaction.atomic():
        _locked_draft(article.bulletin)
        siblings = list(article.bulletin.articles.filter(section=article.section).order_by("order", "id"))
        index = next(i for i, a in enumerate(siblings) if a.pk == article.pk)
        other = index - 1 if up else index + 1
        if not 0 <= other < len(siblings):
            return article
        siblings[index], siblings[other] = siblings[other], siblings[index]
        for position, item in enumerate(siblings, start=1):
            if item.order != position:
                Article.objects.filter(pk=item.pk).update(order=position)
    article.refresh_from_db()
    return article


def _replace_generated(bulletin, section, **fields):
    """Put the section's generated article in place of the old one (at the top if there was none)."""
    old = list(bulletin.articles.filter(section=section, generated=True).order_by("order"))
    if old:
        order = old[0].order
        Article.objects.filter(pk__in=[a.pk for a in old]).delete()
    else:
        order = 0
        bulletin.articles.filter(section=section).update(order=F("order") + 1)
    return Article.objects.create(bulletin=bulletin, section=section, order=order, generated=True, **fields)


# --- the generated 情况通报 -----------------------------------------------------------


def bulletin_tables():
    tables = StatTable.objects.filter(code__in=BULLETIN_TABLES, is_active=True).prefetch_related("columns")
    by_code = {t.code: t for t in tables}
    return [by_code[code] for code in BULLETIN_TABLES if code in by_code]


def table_snapshot(computed):
    """A computed table as plain JSON, enough to print it again in any format."""
    table = computed.table
    return {
        "code": table.code,
        "title": computed.title,
        "name_header": name_header(table),
        "numbered": table.numbered,
        "group_headers": table.show_group_headers,
        "total_row": table.show_total_row,
        "columns": computed.labels,
        "total_columns": [c.label for c in computed.columns if c.source == ROW_TOTAL],
        "groups": [
            {"kind": g.kind, "label": g.label, "rows": [
                {"unit": r.unit.code, "name": r.unit.short_name, "number": r.number,
                 "values": [r.values[label] for label in computed.labels], "total": r.total,
                 "never_reported": r.never_reported}
                for r in g.rows
            ]}
            for g in computed.groups
        ],
        "totals": [computed.totals[label] for label in computed.labels],
    }


def _grand_total(snapshots):
    """Items reported by all units: the 总计 of the table that has one, else None."""
    for snap in snapshots:
        if snap["total_columns"]:
            return snap["totals"][snap["columns"].index(snap["total_columns"][0])]
    return None


def _ranking_rows(kind, *, year, first, last):
    if table_for_kind(kind) is None:
        return []
    ranking = group_ranking(kind, year=year, first=first, last=last)
    return sorted(ranking.rows, key=lambda r: (r.unit.order, r.unit.code))


def status_compose(*, year, first, last, indicators=None):
    """(paragraphs, snapshot) of a 情况通报 for months first..last of year, from the statistics."""
    snapshots = [table_snapshot(table_compute(t, year=year, first=first, last=last)) for t in bulletin_tables()]
    groups = [
        narrative.Group(label, _ranking_rows(kind, year=year, first=first, last=last))
        for kind, label in ((UnitKind.COUNTY, UnitKind.COUNTY.label), (UnitKind.PARK, UnitKind.PARK.label))
    ]
    departments = _ranking_rows(UnitKind.DEPARTMENT, year=year, first=first, last=last)
    chosen = [narrative.indicator_for(c) for c in indicators] if indicators else narrative.DEFAULT_INDICATORS
    pending = [r.unit.short_name for r in reports_awaiting_review(year=year, first=first, last=last)]
    paragraphs = narrative.compose(year=year, first=first, last=last, groups=[g for g in groups if g.rows],
                                   departments=departments, total=_grand_total(snapshots), indicators=chosen,
                                   pending=pending)
    snapshot = {"year": year, "first": first, "last": last, "generated_at": timezone.now().isoformat(),
                "indicators": [i.column for i in chosen], "tables": snapshots, "pending": len(pending)}
    return paragraphs, snapshot


def check_range(year, first, last):
    if not (2000 <= int(year) <= 2100):
        raise BulletinError(f"统计年份“{year}”不正确。")
    if not (1 <= int(first) <= 12 and 1 <= int(last) <= 12):
        raise BulletinError("统计月份应在 1—12 之间。")
    if first > last:
        raise BulletinError("起始月不能晚于截止月。")


def bulletin_generate(*, bulletin, year, first, last, indicators=None, user):
    """(Re)generate the issue's 情况通报 article and table snapshot for the range; drafts only.

    The office's own articles in 情况通报 stay; the generated one is replaced.
    """
    _require_office(user)
    check_range(year, first, last)
    with transaction.atomic():
        bulletin = _locked_draft(bulletin)
        paragraphs, snapshot = status_compose(year=year, first=first, last=last, indicators=indicators)
        _replace_generated(bulletin, Section.STATUS, title=STATUS_TITLE, body="\n\n".join(paragraphs))
        bulletin.stats_year, bulletin.stats_from, bulletin.stats_through = year, first, last
        bulletin.snapshot = snapshot
        bulletin.generated_at = timezone.now()
        bulletin.save(update_fields=["stats_year", "stats_from", "stats_through", "snapshot", "generated_at",
                                     "updated_at"])
    return bulletin


# --- 城市排名 --------------------------------------------------------------------------


def city_rank_for(bulletin):
    """The latest national monitoring rank known on the issue date, or None."""
    return CityRank.objects.filter(period__lte=bulletin.issue_date).order_by("-period").first()


def city_rank_sentence(rank, *, previous=None, year=None):
    month = f"{rank.period.month}月份" if rank.period.year == year else f"{rank.period.year}年{rank.period.month}月份"
    text = f"{month}我市在全国城市信用监测排名中位列第{rank.rank}名（共{rank.total_cities}个城市）"
    if previous is not None:
        change = previous.rank - rank.rank
        text += (f"，较上月上升{change}位" if change > 0 else f"，较上月下降{-change}位" if change < 0
                 else "，与上月持平")
    text += f"，目标为前{rank.target_rank}名"
    text += "，已实现目标" if rank.meets_target else f"，距目标还差{rank.rank - rank.target_rank}个名次"
    return text + "。"


def _city_rank_article(bulletin, rank):
    month_before = (rank.period - datetime.timedelta(days=1)).replace(day=1)
    previous = CityRank.objects.filter(period=month_before).first()
    body = city_rank_sentence(rank, previous=previous, year=bulletin.year)
    return _replace_generated(bulletin, Section.CITY_RANK, title=CITY_RANK_TITLE, body=body, source=OFFICE_SOURCE)


def city_rank_generate(*, bulletin, user):
    """(Re)write the 城市排名 sentence from the latest recorded rank; drafts only."""
    _require_office(user)
    with transaction.atomic():
        bulletin = _locked_draft(bulletin)
        rank = city_rank_for(bulletin)
        if rank is None:
            raise BulletinError("尚未录入截至印发日期的城市信用监测排名，请先在“城市信用监测排名”中录入。")
        return _city_rank_article(bulletin, rank)
