"""The lookup pages: who may look (403 for a unit without a 核查 grant), the marks on a subject's page,
ID numbers masked for everyone but the office, and an audit row for every lookup."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from lookup import selectors
from lookup.models import BatchCheck, LookupAudit, LookupGrant
from reporting.models import Record, Unit
from reporting.validators import mask_id_number

from . import lookup_data as data

pytestmark = pytest.mark.django_db


@pytest.fixture
def dataset(users, upload):
    return data.build(upload)


@pytest.fixture
def granted(users):
    """D02 runs 联合奖惩: an administrator granted it 核查."""
    LookupGrant.objects.create(unit=Unit.objects.get(code="D02"), reason="招投标联合奖惩", granted_by=users["admin"])
    return users["other_dept"]


def anchor(**filters):
    return selectors.searchable_records().filter(**filters).order_by("id").first().pk


def lookup_urls(record_id, job_id):
    """(method, url, data) of every lookup page and action."""
    return [
        ("get", reverse("lookup_search"), None),
        ("post", reverse("lookup_search"), {"q": data.HENGCHANG_CODE}),
        ("get", reverse("lookup_profile", args=[record_id]), None),
        ("get", reverse("lookup_record", args=[record_id]), None),
        ("get", reverse("lookup_report", args=[record_id, "pdf"]), None),
        ("get", reverse("lookup_report", args=[record_id, "docx"]), None),
        ("get", reverse("lookup_batch"), None),
        ("post", reverse("lookup_batch"), {}),
        ("get", reverse("lookup_batch_template"), None),
        ("get", reverse("lookup_batch_detail", args=[job_id]), None),
        ("get", reverse("lookup_batch_progress", args=[job_id]), None),
        ("get", reverse("lookup_batch_result", args=[job_id]), None),
    ]


@pytest.fixture
def job(users):
    return BatchCheck.objects.create(user=users["dept"], file="lookup/batch/x.xlsx", original_name="x.xlsx",
                                     as_of=timezone.localdate())


# --- who may look ---------------------------------------------------------------------


def test_a_unit_without_a_grant_gets_403_on_every_lookup_url(client, users, dataset, job):
    client.force_login(users["dept"])
    for method, url, payload in lookup_urls(anchor(credit_code=data.HENGCHANG_CODE), job.pk):
        response = getattr(client, method)(url, payload or {})
        assert response.status_code == 403, (method, url, response.status_code)
    assert not LookupAudit.objects.exists()


def test_a_county_without_a_grant_gets_403_too(client, users, dataset):
    client.force_login(users["county"])
    assert client.get(reverse("lookup_search")).status_code == 403
    assert client.post(reverse("lookup_search"), {"q": "市恒昌"}).status_code == 403


def test_anonymous_users_are_sent_to_log_in(client, dataset):
    response = client.get(reverse("lookup_profile", args=[anchor(credit_code=data.HENGCHANG_CODE)]))
    assert response.status_code == 302 and reverse("login") in response["Location"]


def test_the_office_and_a_granted_unit_reach_the_lookup(client, users, dataset, granted):
    for user in (users["office"], users["admin"], granted):
        client.force_login(user)
        assert client.get(reverse("lookup_search")).status_code == 200
        assert client.post(reverse("lookup_search"), {"q": data.HENGCHANG_CODE}).status_code == 200


def test_the_403s_come_from_the_grant(client, users, dataset, granted):
    """The same URLs the ungranted unit was refused open for the granted one (its own batch job)."""
    job = BatchCheck.objects.create(user=granted, file="lookup/batch/x.xlsx", original_name="x.xlsx",
                                    as_of=timezone.localdate())
    client.force_login(granted)
    for method, url, payload in lookup_urls(anchor(credit_code=data.HENGCHANG_CODE), job.pk):
        if url.endswith("result.xlsx"):
            continue  # no result yet: 404, tested with the batch jobs
        response = getattr(client, method)(url, payload or {})
        assert response.status_code in (200, 302), (method, url, response.status_code)


def test_withdrawing_the_grant_closes_the_lookup(client, users, dataset, granted):
    LookupGrant.objects.filter(unit__code="D02").delete()
    client.force_login(granted)
    assert client.get(reverse("lookup_search")).status_code == 403


def test_the_navigation_shows_the_lookup_only_to_those_who_may_look(client, users, dataset, granted):
    link = reverse("lookup_search")
    client.force_login(users["dept"])
    assert link not in client.get(reverse("stat_index")).content.decode()
    client.force_login(granted)
    assert link in client.get(reverse("stat_index")).content.decode()


def test_a_batch_job_is_only_reachable_by_its_owner(client, users, dataset, granted, job):
    client.force_login(granted)
    assert client.get(reverse("lookup_batch_detail", args=[job.pk])).status_code == 404


# --- pages and marks ------------------------------------------------------------------


def test_searching_shows_the_subjects_grouped(client, users, dataset):
    client.force_login(users["office"])
    page = client.post(reverse("lookup_search"), {"q": "市恒昌"}).content.decode()
    assert data.HENGCHANG in page and data.JIANCAI in page and "找到 2 个主体" in page
    assert reverse("lookup_profile", args=[anchor(credit_code=data.HENGCHANG_CODE)]) in page


def test_an_invalid_code_is_an_error_on_the_form(client, users, dataset):
    client.force_login(users["office"])
    bad = data.HENGCHANG_CODE[:-1] + ("0" if data.HENGCHANG_CODE[-1] != "0" else "1")
    page = client.post(reverse("lookup_search"), {"q": bad, "mode": "code"}).content.decode()
    assert "校验位错误" in page and 'id="lookup-results"' not in page
    assert not LookupAudit.objects.exists()  # nothing was looked up


def test_the_profile_marks_a_black_list_and_a_penalty_within_its_publicity(client, users, dataset):
    client.force_login(users["office"])
    page = client.get(reverse("lookup_profile", args=[anchor(credit_code=data.HENGCHANG_CODE)])).content.decode()
    assert "当前列入黑名单" in page and "行政处罚公示期内 1 条" in page and "列入红名单" not in page
    for doc in ("营审〔2019〕1号", "营罚〔2019〕1号", "营黑〔2019〕1号"):
        assert doc in page
    assert data.UNACCEPTED_DOC not in page
    record = Record.objects.get(doc_number="营罚〔2019〕1号")
    assert reverse("lookup_record", args=[record.pk]) in page


def test_the_profile_marks_a_red_list_and_a_penalty_past_its_publicity(client, users, dataset):
    client.force_login(users["office"])
    page = client.get(reverse("lookup_profile", args=[anchor(credit_code=data.JIANCAI_CODE)])).content.decode()
    assert "列入红名单" in page and "已过公示期" in page and "无不良记录" in page
    assert "当前列入黑名单" not in page and "行政处罚公示期内" not in page


def test_a_subject_that_left_the_black_list_is_not_on_it(client, users, dataset):
    client.force_login(users["office"])
    page = client.get(reverse("lookup_profile", args=[anchor(credit_code=data.SHUNDA_CODE)])).content.decode()
    assert "当前列入黑名单" not in page and "曾列入黑名单，2019-08-20 已退出" in page


def test_a_record_of_a_month_not_accepted_is_404(client, users, dataset):
    client.force_login(users["office"])
    unaccepted = Record.objects.get(doc_number=data.UNACCEPTED_DOC)
    assert client.get(reverse("lookup_record", args=[unaccepted.pk])).status_code == 404
    assert client.get(reverse("lookup_profile", args=[unaccepted.pk])).status_code == 404


# --- masking --------------------------------------------------------------------------


def person_pages(client):
    """The search results (without the search box, which keeps what the user typed), profile and record."""
    record_id = anchor(id_number=data.PERSON_ID)
    search = client.post(reverse("lookup_search"), {"q": data.PERSON_ID}).content.decode()
    return [
        search.replace(f'value="{data.PERSON_ID}"', ""),
        client.get(reverse("lookup_profile", args=[record_id])).content.decode(),
        client.get(reverse("lookup_record", args=[record_id])).content.decode(),
    ]


def test_id_numbers_are_masked_for_a_granted_unit(client, users, dataset, granted):
    client.force_login(granted)
    for page in person_pages(client):
        assert data.PERSON_ID not in page
        assert mask_id_number(data.PERSON_ID) in page


def test_the_office_sees_id_numbers_whole(client, users, dataset):
    client.force_login(users["office"])
    for page in person_pages(client):
        assert data.PERSON_ID in page


# --- audit ----------------------------------------------------------------------------


def test_every_lookup_is_audited_with_who_what_and_how_many_hits(client, users, dataset, granted):
    client.force_login(granted)
    record_id = anchor(credit_code=data.HENGCHANG_CODE)
    client.post(reverse("lookup_search"), {"q": "市恒昌"})
    client.get(reverse("lookup_profile", args=[record_id]))
    client.get(reverse("lookup_record", args=[record_id]))
    client.get(reverse("lookup_report", args=[record_id, "docx"]))
    rows = list(LookupAudit.objects.order_by("id").values_list("user__username", "unit__code", "action", "mode",
                                                                 "query", "hits"))
    assert rows == [
        ("d02", "D02", "search", "name", "市恒昌", 2),
        ("d02", "D02", "profile", "code", data.HENGCHANG_CODE, 3),
        ("d02", "D02", "record", "record", str(record_id), 1),
        ("d02", "D02", "report", "code", data.HENGCHANG_CODE, 3),
    ]
    assert LookupAudit.objects.filter(action="report").get().report_number.startswith("XYBG")
    assert all(a.created_at for a in LookupAudit.objects.all())


def test_a_search_with_no_hits_is_audited_too(client, users, dataset):
    client.force_login(users["office"])
    client.post(reverse("lookup_search"), {"q": "完全不存在的公司名称"})
    assert LookupAudit.objects.get().hits == 0


def test_opening_the_search_page_writes_nothing(client, users, dataset):
    client.force_login(users["office"])
    client.get(reverse("lookup_search"))
    client.get(reverse("lookup_batch"))
    assert not LookupAudit.objects.exists()


def test_administrators_read_the_audit_log_and_cannot_change_it(client, users, dataset):
    client.force_login(users["office"])
    client.post(reverse("lookup_search"), {"q": data.PERSON_ID})
    client.force_login(users["admin"])
    page = client.get(reverse("admin:lookup_lookupaudit_changelist")).content.decode()
    assert data.PERSON_ID in page and "信用办审核员" in page
    audit = LookupAudit.objects.get()
    assert client.get(reverse("admin:lookup_lookupaudit_delete", args=[audit.pk])).status_code == 403
    assert client.get(reverse("admin:lookup_lookupaudit_add")).status_code == 403


def test_the_audit_log_is_not_shown_to_the_office_reviewer(client, users, dataset):
    client.force_login(users["office"])
    response = client.get(reverse("admin:lookup_lookupaudit_changelist"))
    assert response.status_code == 302  # not staff: sent to the admin login


def test_the_report_date_cannot_be_in_the_future(client, users, dataset):
    client.force_login(users["office"])
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    url = reverse("lookup_report", args=[anchor(credit_code=data.HENGCHANG_CODE), "pdf"])
    assert client.get(url, {"as_of": tomorrow.isoformat()}).status_code == 400
    assert not LookupAudit.objects.exists()


def test_lookup_pages_have_no_inline_script_or_style(client, users, dataset, job):
    from .test_security import inline_code

    client.force_login(users["office"])
    record_id = anchor(credit_code=data.HENGCHANG_CODE)
    mine = BatchCheck.objects.create(user=users["office"], file="lookup/batch/x.xlsx", original_name="x.xlsx",
                                     as_of=timezone.localdate(), total_rows=10)
    pages = [
        client.get(reverse("lookup_search")), client.post(reverse("lookup_search"), {"q": "市恒昌"}),
        client.post(reverse("lookup_search"), {"q": "营口恒昌贸易公司"}),  # similar names
        client.get(reverse("lookup_profile", args=[record_id])), client.get(reverse("lookup_record", args=[record_id])),
        client.get(reverse("lookup_batch")), client.get(reverse("lookup_batch_detail", args=[mine.pk])),
        client.get(reverse("lookup_batch_progress", args=[mine.pk])),
    ]
    for response in pages:
        assert response.status_code == 200
        assert inline_code(response.content.decode()) == [], response.request["PATH_INFO"]
