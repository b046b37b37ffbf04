"""Bulletin pages: the office composes, generates and publishes; everyone logged in reads published issues."""

import datetime
import io

import docx
import pytest
from django.urls import reverse
from django.utils import timezone

from bulletins import services
from bulletins.models import Article, Bulletin, Section
from reporting.models import Unit

from . import stats_dataset as data

stats_world = data.stats_world
dataset = data.dataset


@pytest.fixture
def office(client, dataset):
    client.force_login(dataset["office"])
    return client


@pytest.fixture
def reporter(client, dataset):
    client.force_login(dataset["dept"])
    return client


@pytest.fixture
def draft(dataset):
    bulletin = services.bulletin_create(year=2019, number=5, issue_date=datetime.date(2019, 9, 15), user=None)
    services.article_create(bulletin=bulletin, section=Section.PROGRESS, title="培训会议", body="会议召开。",
                            source="市信用办", user=None)
    return bulletin


@pytest.fixture
def published(draft):
    services.bulletin_generate(bulletin=draft, year=2019, first=1, last=3, user=None)
    return services.bulletin_publish(bulletin=draft, user=None)


def url(name, bulletin, *args):
    return reverse(name, args=[bulletin.year, bulletin.number, *args])


# --- the office composes ---------------------------------------------------------------------


def test_create_page_proposes_the_next_number(office, draft):
    response = office.get(reverse("bulletin_create"))
    initial = response.context["form"].initial
    assert initial["year"] == timezone.localdate().year
    assert initial["number"] == (6 if initial["year"] == 2019 else 1)
    assert initial["issue_date"] == timezone.localdate()


def test_creating_with_an_empty_number_takes_the_next_one(office, draft):
    response = office.post(reverse("bulletin_create"), {
        "year": 2019, "number": "", "issue_date": "2019-10-15", "issuing_office": "", "masthead": "",
    })
    created = Bulletin.objects.get(year=2019, number=6)
    assert response["Location"] == url("bulletin_edit", created)
    assert created.issuing_office == "营口市社会信用体系建设领导小组办公室"


def test_creating_a_taken_number_shows_the_refusal(office, draft):
    response = office.post(reverse("bulletin_create"), {"year": 2019, "number": 5, "issue_date": "2019-10-15"})
    assert response.status_code == 200
    assert "〔2019〕第5期已存在" in response.content.decode()


def test_office_adds_edits_moves_and_deletes_articles(office, draft):
    response = office.post(url("article_create", draft), {
        "section": Section.BRIEFS, "title": "", "body": "市国资委开展专项检查。", "source": "市国资委",
    })
    article = Article.objects.get(bulletin=draft, section=Section.BRIEFS)
    assert response["Location"].endswith(f"edit/#article-{article.pk}")

    office.post(url("article_edit", draft, article.pk), {
        "section": Section.BRIEFS, "title": "", "body": "市国资委对 10 户企业开展专项检查。", "source": "（市国资委）",
    })
    article.refresh_from_db()
    assert article.body == "市国资委对 10 户企业开展专项检查。" and article.source == "（市国资委）"

    second = services.article_create(bulletin=draft, section=Section.BRIEFS, body="乙", user=None)
    office.post(url("article_move", draft, second.pk), {"direction": "up"})
    assert list(draft.articles.filter(section=Section.BRIEFS).order_by("order").values_list("pk", flat=True)) == [
        second.pk, article.pk]

    office.post(url("article_delete", draft, article.pk))
    assert not Article.objects.filter(pk=article.pk).exists()


def test_edit_page_shows_every_section_and_the_generate_form(office, draft):
    response = office.get(url("bulletin_edit", draft))
    content = response.content.decode()
    for label in ("【城市排名】", "【重要文件】", "【工作推进】", "【联合奖惩】", "【县区风采】", "【工作简讯】", "【情况通报】"):
        assert label in content
    form = response.context["generate_form"]
    assert (form.initial["year"], form.initial["from"], form.initial["through"]) == (2019, 1, 3)
    assert form.initial["indicators"] == ["信用承诺书", "行业监管上报数量", "开展诚信教育、宣传活动", "月度报表情况"]


def test_generate_button_writes_the_status_article_and_tables(office, draft):
    response = office.post(url("bulletin_generate", draft), {
        "year": 2019, "from": 1, "through": 3, "indicators": ["信用承诺书"],
    })
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.stats_label == "2019年1—3月"
    assert draft.articles.get(section=Section.STATUS).body.count("从县（市）区上报信用信息数据看，信用承诺书签订量最多的是") == 1

    page = office.get(url("bulletin_detail", draft)).content.decode()
    assert 'id="table-county_park"' in page and 'id="table-department"' in page
    assert "2019年1—3月份市有关部门信源单位数据上报情况" in page


def test_generate_with_a_backwards_range_is_refused(office, draft):
    response = office.post(url("bulletin_generate", draft), {"year": 2019, "from": 5, "through": 3}, follow=True)
    assert "起始月不能晚于截止月" in response.content.decode()
    draft.refresh_from_db()
    assert not draft.snapshot


def test_publishing_asks_for_confirmation_then_freezes(office, draft):
    confirm = office.get(url("bulletin_publish", draft))
    assert "发布后本期内容将" in confirm.content.decode()
    assert not Bulletin.objects.get(pk=draft.pk).is_published

    response = office.post(url("bulletin_publish", draft))
    assert response["Location"] == url("bulletin_detail", draft)
    assert Bulletin.objects.get(pk=draft.pk).is_published


# --- a published issue shows no edit forms ----------------------------------------------------------


def test_published_issue_has_no_edit_forms(office, published):
    response = office.get(url("bulletin_edit", published))
    assert response["Location"] == url("bulletin_detail", published)
    page = office.get(url("bulletin_detail", published)).content.decode()
    assert "已发布" in page
    assert url("bulletin_edit", published) not in page
    assert "<form" not in page.split('id="bulletin"')[1]


def test_posts_to_a_published_issue_change_nothing(office, published):
    article = published.articles.get(section=Section.PROGRESS)
    snapshot = published.snapshot
    for name, args, payload in [
        ("article_create", [], {"section": Section.BRIEFS, "body": "新"}),
        ("article_edit", [article.pk], {"section": Section.PROGRESS, "body": "改"}),
        ("article_delete", [article.pk], {}),
        ("article_move", [article.pk], {"direction": "down"}),
        ("bulletin_generate", [], {"year": 2019, "from": 1, "through": 1}),
        ("bulletin_city_rank", [], {}),
        ("bulletin_delete", [], {}),
        ("bulletin_publish", [], {}),
    ]:
        response = office.post(url(name, published, *args), payload)
        assert response.status_code == 302 and response["Location"] == url("bulletin_detail", published), name
    published.refresh_from_db()
    assert published.snapshot == snapshot
    assert published.articles.count() == 2
    assert published.articles.get(section=Section.PROGRESS).body == "会议召开。"


# --- who sees what ------------------------------------------------------------------------------


def test_a_reporter_reads_published_issues_but_never_drafts(reporter, draft, dataset):
    assert reporter.get(url("bulletin_detail", draft)).status_code == 404
    assert reporter.get(url("bulletin_download", draft, "pdf")).status_code == 404
    assert reporter.get(url("bulletin_edit", draft)).status_code == 403
    assert reporter.post(url("article_create", draft), {"section": Section.BRIEFS, "body": "x"}).status_code == 403
    assert reporter.get(reverse("bulletin_create")).status_code == 403
    listing = reporter.get(reverse("bulletin_list")).content.decode()
    assert "草稿" not in listing and "新建一期" not in listing

    services.bulletin_publish(bulletin=draft, user=None)
    assert reporter.get(url("bulletin_detail", draft)).status_code == 200
    assert "〔2019〕第5期" in reporter.get(reverse("bulletin_list")).content.decode()


def test_anonymous_users_are_sent_to_log_in(client, published):
    response = client.get(url("bulletin_detail", published))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_archive_groups_published_issues_by_year(reporter, published):
    services.bulletin_publish(bulletin=services.article_create(
        bulletin=services.bulletin_create(year=2020, number=1, issue_date=datetime.date(2020, 1, 20), user=None),
        section=Section.BRIEFS, body="新年第一期。", user=None).bulletin, user=None)
    archive = reporter.get(reverse("bulletin_list")).context["archive"]
    assert [(year, [i.number for i in issues]) for year, issues in archive] == [(2020, [1]), (2019, [5])]


# --- the page and the downloads ---------------------------------------------------------------------


def test_issue_page_is_laid_out_like_the_seed_and_escapes_names(office, draft):
    Unit.objects.filter(code="C01").update(short_name="A&B<C>区")
    services.bulletin_generate(bulletin=draft, year=2019, first=1, last=3, user=None)
    page = office.get(url("bulletin_detail", draft)).content.decode()
    assert '<p class="mast-title">营口信用体系建设</p>' in page
    assert '<p class="mast-sub">工作简报</p>' in page
    assert "〔2019〕第5期" in page and "2019年9月15日" in page
    assert page.index("【工作推进】") < page.index("【情况通报】")
    assert "（市信用办）" in page
    assert "A&amp;B&lt;C&gt;区" in page and "A&B<C>区" not in page


def test_downloads_are_word_and_pdf_files_named_after_the_issue(office, published):
    response = office.get(url("bulletin_download", published, "docx"))
    assert response["Content-Type"].startswith("application/vnd.openxmlformats-officedocument.wordprocessingml")
    assert "attachment" in response["Content-Disposition"]
    assert "%E5%B7%A5%E4%BD%9C%E7%AE%80%E6%8A%A5" in response["Content-Disposition"]  # 工作简报
    document = docx.Document(io.BytesIO(b"".join(response.streaming_content)))
    assert len(document.tables) == 2

    response = office.get(url("bulletin_download", published, "pdf"))
    assert response["Content-Type"] == "application/pdf"
    assert b"".join(response.streaming_content).startswith(b"%PDF")

    assert office.get(url("bulletin_download", published, "exe")).status_code == 404
