"""Bulletin services: numbering, articles, the generated 情况通报 on real rolled-up data, freezing on publish."""

import datetime

import pytest

from bulletins import services
from bulletins.models import Article, Bulletin, Section
from rankings.models import CityRank, StatTable
from rankings.selectors import table_compute
from rankings.services import stats_rebuild
from reporting import services as reporting_services
from reporting.models import MonthlyReport, Unit

from . import stats_dataset as data

stats_world = data.stats_world
dataset = data.dataset


def issue(number=5, year=2019, **kwargs):
    return services.bulletin_create(year=year, number=number, issue_date=datetime.date(2019, 9, 15), **kwargs)


def status_article(bulletin):
    return bulletin.articles.get(section=Section.STATUS, generated=True)


# --- numbering ---------------------------------------------------------------------------


def test_label_is_year_in_brackets_and_issue_number(dataset):
    bulletin = issue(5)
    assert bulletin.label == "〔2019〕第5期"
    assert str(bulletin) == "营口信用体系建设工作简报〔2019〕第5期"
    assert bulletin.issuing_office == "营口市社会信用体系建设领导小组办公室"
    assert bulletin.date_label == "2019年9月15日"


def test_next_number_is_the_years_highest_plus_one(dataset):
    assert services.bulletin_next_number(year=2019) == 1
    issue(1)
    issue(5)
    issue(2, year=2020)
    assert services.bulletin_next_number(year=2019) == 6
    assert services.bulletin_next_number(year=2020) == 3
    assert services.bulletin_next_number(year=2021) == 1
    assert services.bulletin_create(year=2019, user=None).number == 6


def test_an_existing_number_is_refused_with_the_proposed_one(dataset):
    issue(5)
    with pytest.raises(services.BulletinError, match="〔2019〕第5期已存在.*建议第6期"):
        issue(5)


def test_office_and_masthead_come_from_settings(dataset, settings):
    settings.BULLETIN_ISSUING_OFFICE = "某市信用办"
    settings.BULLETIN_MASTHEAD = "某市信用建设"
    bulletin = issue(7)
    assert (bulletin.issuing_office, bulletin.masthead) == ("某市信用办", "某市信用建设")


def test_a_unit_reporter_cannot_write_bulletins(dataset):
    with pytest.raises(services.BulletinError, match="只有市信用办"):
        services.bulletin_create(year=2019, user=dataset["dept"])
    bulletin = issue(5)
    with pytest.raises(services.BulletinError):
        services.article_create(bulletin=bulletin, section=Section.PROGRESS, body="x", user=dataset["county"])


# --- articles ------------------------------------------------------------------------------


def test_articles_are_appended_to_their_section_and_can_be_moved(dataset):
    bulletin = issue(5)
    office = dataset["office"]
    a = services.article_create(bulletin=bulletin, section=Section.BRIEFS, body="甲", source="（市民政局）", user=office)
    b = services.article_create(bulletin=bulletin, section=Section.BRIEFS, body="乙", user=office)
    c = services.article_create(bulletin=bulletin, section=Section.BRIEFS, body="丙", user=office)

    services.article_move(article=c, user=office, up=True)
    assert list(bulletin.articles.order_by("order").values_list("body", flat=True)) == ["甲", "丙", "乙"]
    services.article_move(article=a, user=office, up=True)  # already first: nothing happens
    services.article_move(article=a, user=office, up=False)
    assert list(bulletin.articles.order_by("order").values_list("body", flat=True)) == ["丙", "甲", "乙"]
    assert a.source_line == "（市民政局）"
    assert b.source_line == ""


def test_paragraphs_are_separated_by_blank_lines_and_wrapped_lines_joined(dataset):
    article = Article(body="9月 6日上午，市信用办组织\n全市各县（市）区召开会议。\n\n会议强调，\r\n要高度重视。\n\n\nWPS and\nWord")
    assert article.paragraphs == ["9月 6日上午，市信用办组织全市各县（市）区召开会议。", "会议强调，要高度重视。", "WPS and Word"]


def test_an_article_needs_a_body(dataset):
    with pytest.raises(services.BulletinError, match="正文不能为空"):
        services.article_create(bulletin=issue(5), section=Section.PROGRESS, title="标题", body="  ", user=None)


# --- the generated 情况通报, on real rolled-up data (stats_dataset, January–March 2019) -----------


def test_generated_status_names_the_leading_and_silent_units(dataset):
    bulletin = services.bulletin_generate(bulletin=issue(5), year=2019, first=1, last=3, user=dataset["office"])
    paragraphs = status_article(bulletin).paragraphs

    assert paragraphs[0] == ("从全市目前各信源单位信用信息数据上报情况看，2019年1—3月，全市63个信源单位共上报信用信息数据21条"
                             "（另有1份已提交的月度报表尚待审核，未计入），但仍有57个单位对信用工作重视程度不够，从未上报过任何信用信息数据。具体情况如下：")
    assert paragraphs[1] == "从县（市）区上报信用信息数据看，信用承诺书签订量最多的是鲅鱼圈和大石桥市；信用信息报表较全面的是鲅鱼圈和大石桥市。"
    assert paragraphs[2] == "从园区上报信用信息数据看，信用承诺书签订量最多的是自贸区；信用信息报表较全面的是自贸区和沿海产业基地。"
    assert paragraphs[3] == "市有关部门上报信用信息数据情况较好的单位有：市审批局、市场监管局等。"
    silent = paragraphs[4]
    assert silent.startswith("2019年1—3月，从未上报过任何信用信息数据的单位有：发改委、中级法院、")
    named = set(silent.split("：", 1)[1].split("，")[0].split("、"))
    assert len(named) == 57 and silent.endswith("共57个。")
    assert {"盖州市", "鲅鱼圈海关"} <= named
    assert "沿海产业基地" not in named  # it submitted a month of nil categories: it reported, just zero
    assert not {"鲅鱼圈", "大石桥市", "自贸区", "市审批局", "市场监管局"} & named


def test_generation_snapshots_both_tables_with_the_computed_numbers(dataset):
    bulletin = services.bulletin_generate(bulletin=issue(5), year=2019, first=1, last=3, user=None)
    assert (bulletin.stats_year, bulletin.stats_from, bulletin.stats_through) == (2019, 1, 3)
    assert bulletin.stats_label == "2019年1—3月"
    tables = bulletin.snapshot["tables"]
    assert [t["code"] for t in tables] == ["county_park", "department"]
    for snap in tables:
        computed = table_compute(StatTable.objects.get(code=snap["code"]), year=2019, first=1, last=3)
        assert snap["title"] == computed.title
        assert snap["columns"] == computed.labels
        rows = {r["unit"]: r["values"] for g in snap["groups"] for r in g["rows"]}
        assert rows == {r.unit.code: [r.values[label] for label in computed.labels] for r in computed.rows}
        assert snap["totals"] == [computed.totals[label] for label in computed.labels]
    assert [g["label"] for g in tables[0]["groups"]] == ["县（市）区", "园区"]


def test_regenerating_replaces_only_the_generated_article(dataset):
    bulletin = issue(5)
    own = services.article_create(bulletin=bulletin, section=Section.STATUS, title="补充说明", body="本期另有说明。",
                                  user=None)
    services.bulletin_generate(bulletin=bulletin, year=2019, first=1, last=3, user=None)
    generated = status_article(bulletin)
    services.article_update(article=generated, user=None, section=Section.STATUS, title=generated.title,
                            body="信用办修改后的文字。", source="")
    assert status_article(bulletin).body == "信用办修改后的文字。"

    services.bulletin_generate(bulletin=bulletin, year=2019, first=2, last=2, user=None)
    articles = list(bulletin.articles.filter(section=Section.STATUS).order_by("order"))
    assert [a.generated for a in articles] == [True, False]  # the generated one stays on top
    assert articles[0].body.startswith("从全市目前各信源单位信用信息数据上报情况看，2019年2月，")
    assert articles[1].pk == own.pk


def test_generation_refuses_a_backwards_range(dataset):
    with pytest.raises(services.BulletinError, match="起始月不能晚于截止月"):
        services.bulletin_generate(bulletin=issue(5), year=2019, first=5, last=3, user=None)


def test_indicators_can_be_chosen(dataset):
    bulletin = services.bulletin_generate(bulletin=issue(5), year=2019, first=1, last=3, user=None,
                                          indicators=["约谈失信企业代表数量"])
    assert status_article(bulletin).paragraphs[1] == "从县（市）区上报信用信息数据看，约谈失信企业代表数量较多的是鲅鱼圈。"
    assert bulletin.snapshot["indicators"] == ["约谈失信企业代表数量"]


# --- 城市排名 -------------------------------------------------------------------------------------


def test_city_rank_sentence_from_the_latest_rank_known_on_the_issue_date(dataset):
    CityRank.objects.create(period=datetime.date(2019, 7, 1), rank=96, total_cities=261, target_rank=50)
    CityRank.objects.create(period=datetime.date(2019, 8, 1), rank=88, total_cities=261, target_rank=50)
    CityRank.objects.create(period=datetime.date(2019, 10, 1), rank=40, total_cities=261, target_rank=50)
    bulletin = issue(5)  # 2019-09-15: the October rank is not known yet

    article = bulletin.articles.get(section=Section.CITY_RANK)
    assert article.generated
    assert article.body == "8月份我市在全国城市信用监测排名中位列第88名（共261个城市），较上月上升8位，目标为前50名，距目标还差38个名次。"

    CityRank.objects.filter(period=datetime.date(2019, 8, 1)).update(rank=45)
    services.city_rank_generate(bulletin=bulletin, user=None)
    article = bulletin.articles.get(section=Section.CITY_RANK)
    assert article.body.endswith("较上月上升51位，目标为前50名，已实现目标。")


def test_city_rank_without_any_rank_recorded_is_refused(dataset):
    bulletin = issue(5)
    assert not bulletin.articles.exists()
    with pytest.raises(services.BulletinError, match="尚未录入"):
        services.city_rank_generate(bulletin=bulletin, user=None)


# --- published issues are frozen ------------------------------------------------------------


@pytest.fixture
def published(dataset):
    bulletin = issue(5)
    services.article_create(bulletin=bulletin, section=Section.PROGRESS, title="会议", body="会议召开。", user=None)
    services.bulletin_generate(bulletin=bulletin, year=2019, first=1, last=3, user=None)
    return services.bulletin_publish(bulletin=bulletin, user=dataset["office"])


def test_publishing_records_who_and_when(published, dataset):
    assert published.is_published
    assert published.published_by == dataset["office"]
    assert published.published_at is not None


def test_a_published_issue_refuses_every_edit(published):
    article = published.articles.first()
    refusals = [
        lambda: services.article_create(bulletin=published, section=Section.PROGRESS, body="新文章", user=None),
        lambda: services.article_update(article=article, user=None, section=article.section, title="改",
                                        body="改", source=""),
        lambda: services.article_delete(article=article, user=None),
        lambda: services.article_move(article=article, user=None, up=False),
        lambda: services.bulletin_update(bulletin=published, user=None, issue_date=datetime.date(2019, 9, 16),
                                         issuing_office="别的单位", masthead="别的报头"),
        lambda: services.bulletin_generate(bulletin=published, year=2019, first=1, last=2, user=None),
        lambda: services.city_rank_generate(bulletin=published, user=None),
        lambda: services.bulletin_publish(bulletin=published, user=None),
        lambda: services.bulletin_delete(bulletin=published, user=None),
    ]
    for refuse in refusals:
        with pytest.raises(services.BulletinError, match="〔2019〕第5期已发布，不能再修改"):
            refuse()
    assert Bulletin.objects.filter(pk=published.pk).exists()
    assert list(published.articles.values_list("body", flat=True)) == list(
        Article.objects.filter(bulletin=published).values_list("body", flat=True))


def test_a_stale_draft_object_cannot_edit_after_publishing(published):
    stale = Bulletin.objects.get(pk=published.pk)
    stale.status = Bulletin.Status.DRAFT  # what a page loaded before publishing still holds
    with pytest.raises(services.BulletinError, match="已发布"):
        services.article_create(bulletin=stale, section=Section.BRIEFS, body="迟到的文章", user=None)


def test_the_snapshot_of_a_published_issue_does_not_change_when_the_data_does(published):
    before = Bulletin.objects.get(pk=published.pk).snapshot
    status_text = status_article(published).body
    c01_january = MonthlyReport.objects.get(unit__code="C01", period=datetime.date(2019, 1, 1))
    reporting_services.report_reopen(report=c01_january, user=None, reason="数据有误")
    Unit.objects.filter(code="C02").update(short_name="改名后的大石桥")
    stats_rebuild()

    live = table_compute(StatTable.objects.get(code="county_park"), year=2019, first=1, last=3)
    assert live.totals["信用承诺书"] != 4 + 3 + 2  # the data did change
    after = Bulletin.objects.get(pk=published.pk)
    assert after.snapshot == before
    county_park = after.snapshot["tables"][0]
    assert sum(r["values"][1] for g in county_park["groups"] for r in g["rows"]) == 4 + 3 + 2
    assert "改名后的大石桥" not in str(after.snapshot)
    assert status_article(after).body == status_text
