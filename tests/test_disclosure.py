"""信用信息公示 (/gongshi/): anonymous, read-only pages of accepted licenses and penalties.

The data go through the real path: uploaded files, submitted and accepted months (the acceptance
writes the public entries, disclosure/receivers.py).  Penalty 公示 ends are set relative to today
(timezone.localdate), so every boundary is tested on both of its sides.
"""

import datetime
import io
import re

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from disclosure import rules, selectors, services
from disclosure.models import PublicEntry
from reporting import services as reporting_services
from reporting.models import Record, Unit

from .factories import period, record, records, resident_id, uscc, xlsx_bytes

COMPANY = "营口市恒昌贸易有限公司"
COMPANY_CODE = uscc(101)
COMPANY_REP = "李四海"
EXPIRED = "大石桥市顺达建材有限公司"  # penalty whose 公示截止期 was yesterday
EXPIRED_CODE = uscc(102)
FALLBACK = "盖州市鑫源物流有限公司"  # penalty with no 公示截止期: 处罚有效期 (tomorrow) is its end
FALLBACK_CODE = uscc(103)
OLD = "营口市金鼎化工有限公司"  # decided more than three years ago, 公示截止期 still ahead: past the 3-year maximum
OLD_CODE = uscc(104)
PERSON = "张三丰"
PERSON_ID = resident_id(7)
PERSON_MASKED = "张**"
SHOP = "站前区老王烧烤店"  # 个体工商户: name and code public, the operator is a person
SHOP_CODE = uscc(105)
SHOP_OPERATOR = "王大锤"
SHOP_OPERATOR_ID = resident_id(8)
DRAFT_DOC = "营审〔2026〕999号"  # in a month that is not accepted
LICENSE_FILLERS = 45


def _report(code):
    return reporting_services.report_get_or_create(unit=Unit.objects.get(code=code), period=period())


def accept(report):
    reporting_services.report_accept(
        report=reporting_services.report_submit(report=report, user=None, confirm_nil=True), user=None)


def build(upload, users):
    """The dataset: D01's licenses and D02's penalties accepted, D03's license month a draft."""
    today = timezone.localdate()
    day = datetime.timedelta(days=1)
    decided = (today - 30 * day).isoformat()
    long_ago = (today - 4 * 365 * day).isoformat()
    later = (today + 400 * day).isoformat()
    d01, d02, d03 = (_report(code) for code in ("D01", "D02", "D03"))
    fillers = records("license", LICENSE_FILLERS, start=200, decision_date="2019-08-05")
    for n, row in enumerate(fillers):
        row["subject_name"] = f"营口市测试{n:02d}商贸有限公司"
    batches = [
        upload(d01, "admin_license", xlsx_bytes("license", [
            record("license", 101, subject_name=COMPANY, legal_rep=COMPANY_REP, doc_number="营审〔2026〕1号",
                   decision_date=decided, valid_from=decided, valid_to=later),
            record("license", 0, subject_name=PERSON, subject_type="自然人", credit_code="", legal_rep="",
                   id_type="居民身份证", id_number=PERSON_ID, doc_number="营审〔2026〕2号", decision_date=decided,
                   valid_from=decided, valid_to=later, content=f"准予{PERSON}（身份证号{PERSON_ID}）从事道路运输"),
            record("license", 105, subject_name=SHOP, subject_type="个体工商户", legal_rep=SHOP_OPERATOR,
                   id_type="居民身份证", id_number=SHOP_OPERATOR_ID, doc_number="营审〔2026〕3号",
                   decision_date=decided, valid_from=decided, valid_to=later, content=f"经营者{SHOP_OPERATOR}：预包装食品销售"),
            *fillers,
        ])),
        upload(d02, "admin_penalty", xlsx_bytes("penalty", [
            record("penalty", 101, subject_name=COMPANY, doc_number="营罚〔2026〕1号", decision_date=decided,
                   valid_until=later, publish_until=today.isoformat(), penalty_kind="罚款"),
            record("penalty", 102, subject_name=EXPIRED, doc_number="营罚〔2026〕2号", decision_date=decided,
                   valid_until=later, publish_until=(today - day).isoformat()),
            record("penalty", 103, subject_name=FALLBACK, doc_number="营罚〔2026〕3号", decision_date=decided,
                   valid_until=(today + day).isoformat(), publish_until="", fine="1200", confiscated="0.000001"),
            record("penalty", 104, subject_name=OLD, doc_number="营罚〔2022〕4号", decision_date=long_ago,
                   valid_until=later, publish_until=later),
            record("penalty", 0, subject_name=PERSON, subject_type="自然人", credit_code="", legal_rep="",
                   id_type="居民身份证", id_number=PERSON_ID, doc_number="营罚〔2026〕5号", decision_date=decided,
                   valid_until=later, publish_until=(today + day).isoformat(), penalty_kind="警告",
                   facts=f"经查，当事人{PERSON}（身份证号码{PERSON_ID}）无证经营。"),
        ])),
        upload(d03, "admin_license", xlsx_bytes("license", [
            record("license", 101, subject_name=COMPANY, doc_number=DRAFT_DOC, decision_date=decided,
                   valid_from=decided, valid_to=later),
        ])),
    ]
    assert all(b.status == "succeeded" for b in batches), [b.message for b in batches]
    accept(d01)
    accept(d02)
    return {"d01": d01, "d02": d02, "d03": d03}


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()  # page cache and throttle counters live in the (in-memory) cache
    yield
    cache.clear()


@pytest.fixture
def world(users, upload):
    return build(upload, users)


def entry_id(doc_number):
    return Record.objects.get(doc_number=doc_number).pk


def get(client, url, **params):
    response = client.get(url, params)
    return response, response.content.decode()


# --- anonymous and public -----------------------------------------------------------------


def test_anonymous_visitor_reads_every_page_without_cookies(client, world):
    pages = [reverse("disclosure:index"), reverse("disclosure:xuke"), reverse("disclosure:chufa"),
             reverse("disclosure:xuke_detail", args=[entry_id("营审〔2026〕1号")]),
             reverse("disclosure:chufa_detail", args=[entry_id("营罚〔2026〕1号")])]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        assert not response.cookies, (url, response.cookies)  # no session, no CSRF cookie
        assert "Cookie" not in response.get("Vary", ""), url
        control = response["Cache-Control"]
        assert "public" in control and "max-age=300" in control and "no-store" not in control, url
        html = response.content.decode()
        assert "csrfmiddlewaretoken" not in html and "退出登录" not in html and "审核队列" not in html
        assert "<script" not in html and "style=" not in html  # CSP: nothing inline
    assert "行政许可" in client.get(pages[0]).content.decode()


def test_signed_in_user_sees_the_same_public_page(client, world, users):
    anonymous = client.get(reverse("disclosure:chufa")).content
    cache.clear()
    client.force_login(users["office"])
    response = client.get(reverse("disclosure:chufa"))
    assert response.content == anonymous  # nothing depends on who is signed in: the office too sees masks
    assert PERSON_ID not in response.content.decode()


def test_landing_lists_the_newest_and_the_search_box(client, world):
    response, html = get(client, reverse("disclosure:index"))
    assert 'for="search-q"' in html and 'name="kind"' in html
    assert COMPANY in html and PERSON_MASKED in html
    response = client.get(reverse("disclosure:search"), {"kind": "penalty", "by": "name", "q": "恒昌"})
    assert response.status_code == 302 and response["Location"].startswith(reverse("disclosure:chufa") + "?")
    response = client.get(response["Location"])
    assert COMPANY in response.content.decode()


def test_lists_are_newest_decision_first(client, world):
    response, html = get(client, reverse("disclosure:xuke"))
    rows = response.context["page"].rows
    keys = [(r.decision_date, r.record_id) for r in rows]
    assert keys == sorted(keys, reverse=True)
    assert rows[0].decision_date > datetime.date(2019, 8, 5)  # this year's decisions before 2019's fillers


# --- masking ------------------------------------------------------------------------------


def _assert_person_hidden(html, typed=""):
    """Neither the person's name nor number is on the page (but for the visitor's own words, echoed back)."""
    if typed:
        html = html.replace(f'value="{typed}"', "").replace(f"“{typed}”", "")
    assert PERSON not in html and PERSON_ID not in html
    assert PERSON_ID[6:14] not in html  # the birth date


def test_natural_person_is_masked_in_lists_and_details(client, world):
    for name in ("xuke", "chufa"):
        response, html = get(client, reverse(f"disclosure:{name}"))
        _assert_person_hidden(html)
        assert PERSON_MASKED in html
    response, html = get(client, reverse("disclosure:chufa_detail", args=[entry_id("营罚〔2026〕5号")]))
    assert response.status_code == 200
    _assert_person_hidden(html)
    assert PERSON_MASKED in html and rules.mask_id_number(PERSON_ID) in html
    assert f"当事人{PERSON_MASKED}（身份证号码{PERSON_ID[:6]}" in html  # the free text is masked too
    response, html = get(client, reverse("disclosure:xuke_detail", args=[entry_id("营审〔2026〕2号")]))
    _assert_person_hidden(html)
    assert f"准予{PERSON_MASKED}" in html


def test_amounts_are_shown_as_plain_numbers(client, world):
    # Stored as JSON numbers (1200.0, 1e-06): the page shows them as the export writes them.
    response, html = get(client, reverse("disclosure:chufa_detail", args=[entry_id("营罚〔2026〕3号")]))
    assert response.status_code == 200
    text = re.sub(r"<[^>]+>", " ", html)
    assert re.search(r"罚款金额（万元）\s+1200\s", text), text
    assert re.search(r"没收非法财物的金额（万元）\s+0\.000001\s", text), text
    assert "1200.0" not in text and "1e-06" not in text


def test_sole_trader_shows_its_business_but_not_its_operator(client, world):
    response, html = get(client, reverse("disclosure:xuke_detail", args=[entry_id("营审〔2026〕3号")]))
    assert SHOP in html and SHOP_CODE in html
    assert SHOP_OPERATOR not in html and SHOP_OPERATOR_ID not in html
    assert "王**" in html and rules.mask_id_number(SHOP_OPERATOR_ID) in html
    response, html = get(client, reverse("disclosure:xuke"), by="name", q="老王烧烤")
    assert SHOP in html


def test_company_legal_representative_is_public(client, world):
    response, html = get(client, reverse("disclosure:xuke_detail", args=[entry_id("营审〔2026〕1号")]))
    assert COMPANY_REP in html and COMPANY_CODE in html


def test_a_persons_full_name_or_id_number_finds_nothing(client, world):
    for name in ("xuke", "chufa"):
        url = reverse(f"disclosure:{name}")
        for query in (PERSON, "张三", "三丰"):
            response, html = get(client, url, by="name", q=query)
            assert response.context["page"].total == 0, (name, query)
            _assert_person_hidden(html, typed=query)
        response, html = get(client, url, by="name", q="张")
        assert response.context["page"] is None and "至少输入 2 个字" in html
        for mode in ("name", "code", ""):
            response, html = get(client, url, by=mode, q=PERSON_ID)
            assert response.context["page"] is None
            assert "不提供按身份证号码查询" in html
            _assert_person_hidden(html, typed=PERSON_ID)


def test_mask_rules():
    assert rules.mask_name("张三") == "张*"
    assert rules.mask_name("欧阳明华") == "欧***"
    assert rules.mask_name("") == ""
    shown = rules.shown_values({"subject_type": "自然人", "subject_name": "李雷", "id_number": PERSON_ID,
                                "facts": f"李雷，{PERSON_ID}，于某日", "legal_rep": ""})
    assert shown["subject_name"] == "李*" and "李雷" not in shown["facts"] and PERSON_ID not in shown["facts"]
    company = {"subject_type": "法人及非法人组织", "subject_name": COMPANY, "legal_rep": "李雷", "facts": "李雷签字"}
    assert rules.shown_values(company) == company


# --- search -------------------------------------------------------------------------------


def test_search_by_name_code_and_document_number(client, world):
    url = reverse("disclosure:chufa")
    response, html = get(client, url, by="name", q="恒昌")
    assert [r.doc_number for r in response.context["page"].rows] == ["营罚〔2026〕1号"]
    response, html = get(client, url, by="code", q=COMPANY_CODE.lower())
    assert [r.doc_number for r in response.context["page"].rows] == ["营罚〔2026〕1号"]
    response, html = get(client, url, by="name", q=COMPANY_CODE)  # a code typed into the name box
    assert [r.doc_number for r in response.context["page"].rows] == ["营罚〔2026〕1号"]
    response, html = get(client, url, by="doc", q="营罚〔2026〕5号")  # exact; the row is still masked
    assert [r.name for r in response.context["page"].rows] == [PERSON_MASKED]
    _assert_person_hidden(html)
    response, html = get(client, url, by="doc", q="营罚〔2026〕")  # by its beginning
    assert {r.doc_number for r in response.context["page"].rows} == {"营罚〔2026〕1号", "营罚〔2026〕3号",
                                                                     "营罚〔2026〕5号"}
    response, html = get(client, reverse("disclosure:xuke"), by="name", q="测试0")
    assert response.context["page"].total == 10


def test_bad_input_gets_a_chinese_message_never_a_500(client, world):
    url = reverse("disclosure:xuke")
    cases = [{"by": "code", "q": "91110000600037341X"}, {"by": "name", "q": "长" * 101}, {"by": "bogus", "q": "%_"},
             {"page": "abc"}, {"page": "-5"}, {"page": "9" * 40}, {"q": "\x00"}, {"by": "doc", "q": "'; DROP"}]
    for params in cases:
        response = client.get(url, params)
        assert response.status_code == 200, params
    response, html = get(client, url, by="code", q="91110000600037341X")
    assert "不是有效的统一社会信用代码" in html
    for bad in ("/gongshi/xuke/99999999999999999999999999/", "/gongshi/chufa/0/"):
        response = client.get(bad)
        assert response.status_code == 404 and "未找到" in response.content.decode()
    assert client.post(url).status_code == 405
    response = client.get("/gongshi/nothing/here/")
    assert response.status_code == 404 and "请从信用信息公示首页进入" in response.content.decode()
    assert not response.cookies
    response = client.get("/gongshi/xuke")
    assert response.status_code == 301 and response["Location"] == "/gongshi/xuke/"


# --- 公示期限 -------------------------------------------------------------------------------


def test_penalties_shown_only_within_their_publicity(client, world):
    response, html = get(client, reverse("disclosure:chufa"))
    shown = {r.doc_number for r in response.context["page"].rows}
    assert shown == {"营罚〔2026〕1号", "营罚〔2026〕3号", "营罚〔2026〕5号"}  # ends today, tomorrow (有效期), tomorrow
    assert EXPIRED not in html and OLD not in html
    for doc, code in (("营罚〔2026〕2号", EXPIRED_CODE), ("营罚〔2022〕4号", OLD_CODE)):
        response, html = get(client, reverse("disclosure:chufa"), by="doc", q=doc)
        assert response.context["page"].total == 0
        response, html = get(client, reverse("disclosure:chufa"), by="code", q=code)
        assert response.context["page"].total == 0
        response = client.get(reverse("disclosure:chufa_detail", args=[entry_id(doc)]))
        assert response.status_code == 404 and "公示期限" in response.content.decode()
    response = client.get(reverse("disclosure:chufa_detail", args=[entry_id("营罚〔2026〕1号")]))
    assert response.status_code == 200 and "公示至" in response.content.decode()


def test_a_penalty_leaves_the_list_the_day_after_its_end(client, world, monkeypatch):
    today = client.get(reverse("disclosure:chufa")).context["page"]  # cached today
    assert "营罚〔2026〕1号" in {r.doc_number for r in today.rows}
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    monkeypatch.setattr(timezone, "localdate", lambda *a, **k: tomorrow)
    response, html = get(client, reverse("disclosure:chufa"))
    assert {r.doc_number for r in response.context["page"].rows} == {"营罚〔2026〕3号", "营罚〔2026〕5号"}
    assert client.get(reverse("disclosure:chufa_detail", args=[entry_id("营罚〔2026〕1号")])).status_code == 404


def test_publicity_end_rule():
    decided = datetime.date(2024, 2, 29)
    assert rules.publicity_end({"publish_until": "2025-01-01", "valid_until": "2030-01-01"}, decided) == \
        datetime.date(2025, 1, 1)
    assert rules.publicity_end({"publish_until": "", "valid_until": "2025-06-01"}, decided) == datetime.date(2025, 6, 1)
    assert rules.publicity_end({"publish_until": "2099-12-31"}, decided) == datetime.date(2027, 2, 28)
    assert rules.publicity_end({}, decided) == datetime.date(2027, 2, 28)


# --- accepted months only -----------------------------------------------------------------


def test_a_month_not_accepted_is_not_shown(client, world, users):
    draft = entry_id(DRAFT_DOC)
    response, html = get(client, reverse("disclosure:xuke"), by="doc", q=DRAFT_DOC)
    assert response.context["page"].total == 0
    assert client.get(reverse("disclosure:xuke_detail", args=[draft])).status_code == 404
    reporting_services.report_submit(report=world["d03"], user=None, confirm_nil=True)  # submitted is not enough
    assert not PublicEntry.objects.filter(pk=draft).exists()
    cache.clear()
    assert client.get(reverse("disclosure:xuke_detail", args=[draft])).status_code == 404


def test_reopening_withdraws_and_accepting_again_restores(client, world, users,
                                                         django_capture_on_commit_callbacks):
    url = reverse("disclosure:xuke_detail", args=[entry_id("营审〔2026〕1号")])
    assert client.get(url).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        reporting_services.report_reopen(report=world["d01"], user=users["office"], reason="更正")
    assert client.get(url).status_code == 404  # not the cached page: the change started a new cache key space
    response, html = get(client, reverse("disclosure:xuke"))
    assert COMPANY not in html
    with django_capture_on_commit_callbacks(execute=True):
        accept(world["d01"])
    assert client.get(url).status_code == 200


def test_rebuild_writes_what_the_acceptances_wrote(world):
    def rows():
        return sorted(PublicEntry.objects.values_list())
    before = rows()
    assert len(before) == 3 + LICENSE_FILLERS + 5
    PublicEntry.objects.all().delete()
    assert services.entries_rebuild() == len(before)
    assert rows() == before
    PublicEntry.objects.filter(kind="penalty").delete()  # e.g. a receiver that failed and was logged
    out = io.StringIO()
    call_command("disclosure_rebuild", stdout=out)
    assert rows() == before and f"已重建信用信息公示条目 {len(before)} 条" in out.getvalue()


# --- pagination ---------------------------------------------------------------------------


def test_pagination(client, world):
    url = reverse("disclosure:xuke")
    total = 3 + LICENSE_FILLERS
    response, html = get(client, url)
    page = response.context["page"]
    assert (page.total, page.pages, len(page.rows)) == (total, 3, selectors.PAGE_SIZE)
    second = client.get(url, {"page": 2}).context["page"]
    assert second.number == 2 and not {r.pk for r in second.rows} & {r.pk for r in page.rows}
    last = client.get(url, {"page": 999}).context["page"]
    assert last.number == 3 and len(last.rows) == total - 2 * selectors.PAGE_SIZE
    assert client.get(url, {"page": "x"}).context["page"].number == 1
    assert 'href="?page=2"' in html and 'rel="next"' in html
    response, html = get(client, url, by="name", q="商贸")
    assert 'href="?q=%E5%95%86%E8%B4%B8&amp;by=name&amp;page=2"' in html  # the search travels with the page


def test_deep_pages_are_capped(client, world, monkeypatch):
    monkeypatch.setattr(selectors, "MAX_PAGES", 2)
    response, html = get(client, reverse("disclosure:xuke"), page=5)
    page = response.context["page"]
    assert page.truncated and page.pages == 2 and page.number == 2
    assert "仅显示前 2 页" in html and "缩小范围" in html


# --- cache and throttle -------------------------------------------------------------------


def test_second_request_is_served_from_the_cache(client, world, django_assert_num_queries):
    url = reverse("disclosure:chufa")
    first = client.get(url, {"by": "name", "q": "恒昌"})
    assert "X-Disclosure-Cache" not in first
    with django_assert_num_queries(0):
        second = client.get(url, {"by": "name", "q": "恒昌", "utm": "ignored"})
    assert second["X-Disclosure-Cache"] == "hit" and second.content == first.content
    assert "public" in second["Cache-Control"]
    with CaptureQueriesContext(connection) as queries:
        client.get(url, {"by": "name", "q": "顺达"})  # another query is another page
    assert len(queries) > 0


def test_a_get_writes_nothing(client, world):
    urls = [reverse("disclosure:index"), reverse("disclosure:xuke") + "?q=恒昌",
            reverse("disclosure:chufa_detail", args=[entry_id("营罚〔2026〕1号")])]
    with CaptureQueriesContext(connection) as queries:
        for url in urls:
            client.get(url)
    statements = [q["sql"].lstrip().split()[0].upper() for q in queries]
    assert statements and set(statements) <= {"SELECT", "SAVEPOINT", "RELEASE"}, statements


def test_throttled_per_client_with_a_chinese_429(client, world, settings):
    settings.DISCLOSURE_RATE = "3/minute"
    url = reverse("disclosure:index")
    assert [client.get(url).status_code for _ in range(3)] == [200, 200, 200]  # cached pages count too
    response = client.get(url)
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 61
    assert "访问过于频繁" in response.content.decode() and "no-store" in response["Cache-Control"]
    assert client.get(url, REMOTE_ADDR="10.0.0.9").status_code == 200  # another client
    # Behind one proxy the client is X-Forwarded-For's last entry; without proxies the header is ignored.
    assert client.get(url, HTTP_X_FORWARDED_FOR="10.0.0.10").status_code == 429
    settings.TRUSTED_PROXY_COUNT = 1
    assert client.get(url, HTTP_X_FORWARDED_FOR="10.0.0.10").status_code == 200


def test_throttle_window_ends(client, world, settings, monkeypatch):
    settings.DISCLOSURE_RATE = "1/s"
    import time as time_module

    now = [1_000_000.2]
    monkeypatch.setattr(time_module, "time", lambda: now[0])
    url = reverse("disclosure:index")
    assert client.get(url).status_code == 200
    assert client.get(url).status_code == 429
    now[0] += 1
    assert client.get(url).status_code == 200


def test_page_text_has_no_full_id_numbers_anywhere(client, world):
    """Every public page of the dataset, scanned for any 18-character ID number."""
    urls = [reverse("disclosure:index"), reverse("disclosure:xuke"), reverse("disclosure:chufa")]
    urls += [reverse("disclosure:xuke_detail", args=[pk]) for pk in
             PublicEntry.objects.filter(kind="license").values_list("pk", flat=True)[:10]]
    urls += [reverse("disclosure:chufa_detail", args=[pk]) for pk in
             PublicEntry.objects.filter(kind="penalty").values_list("pk", flat=True)]
    for url in urls:
        html = client.get(url).content.decode()
        assert not re.search(r"\d{6}(19|20)\d\d(0[1-9]|1[0-2])[0-3]\d\d{3}[\dX]", html), url


def test_a_failing_public_update_never_fails_the_acceptance(users, upload, monkeypatch, caplog):
    def broken(**kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(services, "entries_sync_report", broken)
    report = _report("D04")
    upload(report, "admin_license", xlsx_bytes("license", [record("license", 300)]))
    accept(report)
    report.refresh_from_db()
    assert report.status == "accepted"
    assert "could not update the public entries" in caplog.text
    assert not PublicEntry.objects.exists()  # until disclosure_rebuild repairs it
    monkeypatch.undo()
    assert services.entries_rebuild() == 1


def test_settings_are_checked(settings):
    from disclosure.checks import disclosure_settings_check

    assert disclosure_settings_check(None) == []
    settings.DISCLOSURE_RATE, settings.DISCLOSURE_CACHE_SECONDS = "sixty per minute", "-1"
    assert {e.id for e in disclosure_settings_check(None)} == {"disclosure.E001", "disclosure.E002"}
    settings.DISCLOSURE_RATE = "100/fortnight"
    assert "disclosure.E001" in {e.id for e in disclosure_settings_check(None)}
