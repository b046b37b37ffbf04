"""The monthly report's status machine: submit, accept, return, reopen, the lock day and the audit trail."""

import datetime
import io
import threading
import zoneinfo

import pytest
from django.db import connection
from django.utils import timezone

from reporting import imports, services
from reporting.models import AuditEvent, Category, Deadline, ImportBatch, MonthlyReport, ReportStatus, Unit
from reporting.services import NeedsConfirmation, ServiceError

from .factories import period, records, xlsx_bytes

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")


@pytest.fixture
def clock(monkeypatch):
    """clock("2019-09-03 10:00") makes that moment (Shanghai time) "now" for the services and the models."""

    def set_clock(text):
        moment = datetime.datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)
        monkeypatch.setattr(timezone, "now", lambda: moment)
        return moment

    return set_clock


@pytest.fixture
def county_report(users):
    return services.report_get_or_create(unit=Unit.objects.get(code="C01"), period=period())


def category(code):
    return Category.objects.get(code=code)


def fill_all(report, user):
    for entry in report.entries.select_related("category"):
        services.nil_declare(report=report, category=entry.category, user=user)


def submitted(report, user):
    fill_all(report, user)
    return services.report_submit(report=report, user=user)


def refresh(report):
    return MonthlyReport.objects.get(pk=report.pk)


# --- submit and the deadline ------------------------------------------------------------


def test_new_report_is_a_draft_with_every_category_of_the_units_kind(dept_report, county_report):
    assert dept_report.status == ReportStatus.DRAFT
    assert dept_report.entries.count() == 16
    assert county_report.entries.count() == 23
    assert dept_report.due_date == datetime.date(2019, 9, 5)
    assert dept_report.deadlines() == (datetime.date(2019, 9, 5), datetime.date(2019, 9, 25))


def test_submit_by_the_due_date_is_on_time(dept_report, users, clock):
    moment = clock("2019-09-05 23:30")  # still the 5th in Shanghai, already the 5th 15:30 in UTC
    report = submitted(dept_report, users["dept"])
    assert report.status == ReportStatus.SUBMITTED
    assert report.on_time is True
    assert report.submitted_at == moment
    assert report.first_submitted_at == moment


def test_submit_after_the_due_date_is_late(dept_report, users, clock):
    clock("2019-09-06 00:10")
    report = submitted(dept_report, users["dept"])
    assert report.status == ReportStatus.SUBMITTED
    assert report.on_time is False


def test_deadline_override_moves_the_due_date(dept_report, users, clock):
    Deadline.objects.create(period=period(), due_date=datetime.date(2019, 9, 10), lock_date=datetime.date(2019, 9, 30))
    clock("2019-09-09 09:00")
    assert submitted(dept_report, users["dept"]).on_time is True


def test_deadline_override_in_the_future_keeps_a_past_month_on_time(dept_report, users):
    later = timezone.localdate() + datetime.timedelta(days=10)
    Deadline.objects.create(period=period(), due_date=later, lock_date=later)
    assert submitted(dept_report, users["dept"]).on_time is True


def test_resubmission_keeps_the_first_submissions_on_time_flag(dept_report, users, clock):
    clock("2019-09-03 10:00")
    first = submitted(dept_report, users["dept"])
    services.report_return(report=first, user=users["office"], reason="请补充行政许可")
    late = clock("2019-09-12 10:00")
    again = services.report_submit(report=first, user=users["dept"])
    assert again.on_time is True
    assert again.first_submitted_at == first.first_submitted_at
    assert again.submitted_at == late
    assert again.return_reason == ""


# --- untouched categories, nil and counts ---------------------------------------------


def test_submit_with_untouched_categories_needs_confirmation(dept_report, users, clock, upload):
    clock("2019-09-03 10:00")
    upload(dept_report, "admin_license", xlsx_bytes("license", records("license", 2)), user=users["dept"])
    services.nil_declare(report=dept_report, category=category("admin_penalty"), user=users["dept"])
    with pytest.raises(NeedsConfirmation) as refused:
        services.report_submit(report=dept_report, user=users["dept"])
    listed = [c.code for c in refused.value.categories]
    assert len(listed) == 14
    assert "admin_license" not in listed and "admin_penalty" not in listed
    assert "joint_punishment_case" in listed
    assert str(refused.value).startswith("以下类别尚未填报，提交后将记为“本月无数据”：联合惩戒案例、")
    assert refresh(dept_report).status == ReportStatus.DRAFT
    assert not dept_report.entries.filter(is_nil=True).exclude(category__code="admin_penalty").exists()


def test_confirmed_submit_declares_untouched_categories_nil(dept_report, users, clock, upload):
    clock("2019-09-03 10:00")
    upload(dept_report, "admin_license", xlsx_bytes("license", records("license", 2)), user=users["dept"])
    report = services.report_submit(report=dept_report, user=users["dept"], confirm_nil=True)
    assert report.status == ReportStatus.SUBMITTED
    entries = {e.category.code: e for e in report.entries.select_related("category")}
    assert entries["admin_license"].is_nil is False
    assert entries["admin_license"].record_count == 2
    assert all(e.is_nil for code, e in entries.items() if code != "admin_license")
    nil_events = AuditEvent.objects.filter(report=report, action=AuditEvent.Action.NIL_DECLARED)
    assert nil_events.count() == 15
    assert nil_events.filter(message__endswith="提交时确认本月无数据", actor=users["dept"]).count() == 15


def test_nil_is_refused_on_a_category_with_records(dept_report, users, upload):
    upload(dept_report, "admin_license", xlsx_bytes("license", records("license", 3)))
    with pytest.raises(ServiceError, match="“行政许可”已导入 3 条记录，不能声明本月无数据"):
        services.nil_declare(report=dept_report, category=category("admin_license"), user=None)


def test_count_is_refused_on_a_records_category(dept_report):
    with pytest.raises(ServiceError, match="“行政许可”须上传逐条记录，不能直接填写数量"):
        services.count_set(report=dept_report, category=category("admin_license"), count=3, user=None)


def test_count_must_not_be_negative(county_report):
    with pytest.raises(ServiceError, match="数量应为不小于 0 的整数"):
        services.count_set(report=county_report, category=category("gov_dishonesty_unresolved"), count=-1, user=None)


def test_count_replaces_nil_and_nil_replaces_count(county_report, users):
    code = category("dishonest_rep_interviews")
    services.nil_declare(report=county_report, category=code, user=None)
    entry = services.count_set(report=county_report, category=code, count=4, user=None)
    assert (entry.count, entry.is_nil, entry.value) == (4, False, 4)
    entry = services.nil_declare(report=county_report, category=code, user=None)
    assert (entry.count, entry.is_nil, entry.value) == (None, True, 0)
    event = AuditEvent.objects.filter(action=AuditEvent.Action.COUNT_SET).get()
    assert event.message == "约谈失信企业代表数量：未填 → 4"
    assert event.details == {"old": None, "new": 4}


# --- review --------------------------------------------------------------------------


def test_full_cycle_submit_accept_reopen_return_resubmit_accept(dept_report, users, clock, upload):
    reporter, office = users["dept"], users["office"]
    clock("2019-09-03 10:00")
    report = submitted(dept_report, reporter)

    report = services.report_accept(report=report, user=office)
    assert report.status == ReportStatus.ACCEPTED
    assert report.reviewed_by == office

    report = services.report_reopen(report=report, user=office, reason="许可数据有误，请更正")
    assert report.status == ReportStatus.RETURNED
    assert report.return_reason == "许可数据有误，请更正"

    services.nil_declare(report=report, category=category("admin_penalty"), user=reporter)
    batch = upload(report, "admin_license", xlsx_bytes("license", records("license", 2)), user=reporter)
    assert batch.status == ImportBatch.Status.SUCCEEDED

    report = services.report_submit(report=report, user=reporter)
    assert report.status == ReportStatus.SUBMITTED
    report = services.report_accept(report=report, user=office)
    assert report.status == ReportStatus.ACCEPTED
    assert report.entries.get(category__code="admin_license").record_count == 2

    trail = list(
        AuditEvent.objects.filter(report=report, from_status__gt="").order_by("id")
        .values_list("action", "from_status", "to_status", "actor__username")
    )
    assert trail == [
        ("submitted", "draft", "submitted", "d01"),
        ("accepted", "submitted", "accepted", "office"),
        ("reopened", "accepted", "returned", "office"),
        ("submitted", "returned", "submitted", "d01"),
        ("accepted", "submitted", "accepted", "office"),
    ]


def test_return_with_reason_goes_back_to_the_unit(dept_report, users, clock):
    clock("2019-09-03 10:00")
    report = services.report_return(report=submitted(dept_report, users["dept"]), user=users["office"],
                                     reason="  行政处罚缺少8月数据  ")
    assert report.status == ReportStatus.RETURNED
    assert report.return_reason == "行政处罚缺少8月数据"
    event = AuditEvent.objects.get(report=report, action=AuditEvent.Action.RETURNED)
    assert (event.actor, event.from_status, event.to_status, event.message) == (
        users["office"], "submitted", "returned", "行政处罚缺少8月数据",
    )
    # The unit may edit a returned month.
    services.nil_declare(report=report, category=category("admin_license"), user=users["dept"])


@pytest.mark.parametrize("reason", ["", "   ", None])
def test_return_requires_a_reason(dept_report, users, clock, reason):
    clock("2019-09-03 10:00")
    report = submitted(dept_report, users["dept"])
    with pytest.raises(ServiceError, match="退回时必须填写退回原因"):
        services.report_return(report=report, user=users["office"], reason=reason)
    assert refresh(report).status == ReportStatus.SUBMITTED


def test_reopen_requires_a_reason(dept_report, users, clock):
    clock("2019-09-03 10:00")
    report = services.report_accept(report=submitted(dept_report, users["dept"]), user=users["office"])
    with pytest.raises(ServiceError, match="重新打开已通过的报表时必须填写原因"):
        services.report_reopen(report=report, user=users["office"], reason=" ")
    assert refresh(report).status == ReportStatus.ACCEPTED


def test_only_an_accepted_report_can_be_reopened(dept_report, users):
    with pytest.raises(ServiceError, match="当前状态为“填报中”，不能执行此操作"):
        services.report_reopen(report=dept_report, user=users["office"], reason="x")


def test_a_draft_cannot_be_accepted_or_returned(dept_report, users):
    with pytest.raises(ServiceError, match="当前状态为“填报中”，不能执行此操作"):
        services.report_accept(report=dept_report, user=users["office"])
    with pytest.raises(ServiceError, match="当前状态为“填报中”，不能执行此操作"):
        services.report_return(report=dept_report, user=users["office"], reason="x")


@pytest.mark.parametrize("who", ["dept", "county", "other_dept"])
def test_unit_users_cannot_review(dept_report, users, clock, who):
    clock("2019-09-03 10:00")
    report = submitted(dept_report, users["dept"])
    user = users[who]
    with pytest.raises(ServiceError, match="只有信用办审核员可以执行此操作"):
        services.report_accept(report=report, user=user)
    with pytest.raises(ServiceError, match="只有信用办审核员可以执行此操作"):
        services.report_return(report=report, user=user, reason="x")
    services.report_accept(report=report, user=users["office"])
    with pytest.raises(ServiceError, match="只有信用办审核员可以执行此操作"):
        services.report_reopen(report=report, user=user, reason="x")
    with pytest.raises(ServiceError, match="只有信用办审核员可以执行此操作"):
        services.report_grant_exception(report=report, user=user, until=datetime.date(2019, 12, 31))
    assert refresh(report).status == ReportStatus.ACCEPTED


def test_admin_and_cli_can_review(dept_report, users, clock):
    clock("2019-09-03 10:00")
    report = services.report_accept(report=submitted(dept_report, users["dept"]), user=users["admin"])
    assert report.reviewed_by == users["admin"]
    report = services.report_reopen(report=report, user=None, reason="数据迁移")
    assert report.status == ReportStatus.RETURNED
    assert AuditEvent.objects.get(report=report, action=AuditEvent.Action.REOPENED).actor is None


# --- the accepted month is locked --------------------------------------------------------


@pytest.fixture
def accepted_county_report(county_report, users, clock):
    clock("2019-09-03 10:00")
    return services.report_accept(report=submitted(county_report, users["county"]), user=users["office"])


LOCKED = "当前状态为“已通过”，不能修改数据"


@pytest.mark.parametrize("who", ["county", "office", None])
def test_accepted_report_refuses_every_change(accepted_county_report, users, who):
    report, user = accepted_county_report, users[who] if who else None
    with pytest.raises(ServiceError, match=LOCKED):
        imports.batch_create(report=report, category=category("credit_commitment"),
                              fileobj=io.BytesIO(xlsx_bytes("subject", records("subject", 1))), name="x.xlsx",
                              user=user)
    with pytest.raises(ServiceError, match=LOCKED):
        services.count_set(report=report, category=category("gov_dishonesty_unresolved"), count=2, user=user)
    with pytest.raises(ServiceError, match=LOCKED):
        services.nil_declare(report=report, category=category("gov_dishonesty_unresolved"), user=user)
    with pytest.raises(ServiceError, match=LOCKED):
        services.report_submit(report=report, user=user, confirm_nil=True)
    assert not ImportBatch.objects.exists()
    assert refresh(report).status == ReportStatus.ACCEPTED


def test_submitted_report_is_also_locked_for_edits(county_report, users, clock):
    clock("2019-09-03 10:00")
    report = submitted(county_report, users["county"])
    with pytest.raises(ServiceError, match="当前状态为“已提交”，不能修改数据"):
        services.count_set(report=report, category=category("gov_dishonesty_unresolved"), count=2, user=users["county"])


def test_upload_accepted_between_validation_and_storing_is_refused(county_report, users, clock, upload, monkeypatch):
    """The office accepts while a large file is still validating: the rows must not land in an accepted month."""
    clock("2019-09-03 10:00")
    fill_all(county_report, users["county"])
    services.count_set(report=county_report, category=category("gov_dishonesty_unresolved"), count=1, user=None)
    real_open = imports._file_open

    def open_then_accept(**kwargs):
        opened = real_open(**kwargs)
        services.report_submit(report=county_report, user=users["county"])
        services.report_accept(report=county_report, user=users["office"])
        return opened

    monkeypatch.setattr(imports, "_file_open", open_then_accept)
    batch = upload(county_report, "credit_commitment", xlsx_bytes("subject", records("subject", 2)),
                   user=users["county"])
    assert batch.status == ImportBatch.Status.REFUSED
    assert LOCKED in batch.message
    assert county_report.records.count() == 0


# --- the lock day ---------------------------------------------------------------------


def test_unit_user_past_the_lock_day_is_refused(county_report, users, clock):
    clock("2019-09-26 08:00")
    message = r"2019年8月的报表已过锁定日（2019-09-25），如需修改请联系市信用办开通特许修改"
    with pytest.raises(ServiceError, match=message):
        services.count_set(report=county_report, category=category("gov_dishonesty_unresolved"), count=1,
                           user=users["county"])
    with pytest.raises(ServiceError, match=message):
        services.nil_declare(report=county_report, category=category("credit_news"), user=users["county"])
    with pytest.raises(ServiceError, match=message):
        services.report_submit(report=county_report, user=users["county"], confirm_nil=True)
    with pytest.raises(ServiceError, match=message):
        imports.batch_create(report=county_report, category=category("credit_news"),
                              fileobj=io.BytesIO(b"PK"), name="x.xlsx", user=users["county"])


def test_unit_user_on_the_lock_day_may_still_edit(county_report, users, clock):
    clock("2019-09-25 23:59")
    entry = services.count_set(report=county_report, category=category("gov_dishonesty_unresolved"), count=1,
                               user=users["county"])
    assert (entry.count, entry.is_nil) == (1, False)
    event = AuditEvent.objects.get(report=county_report, action=AuditEvent.Action.COUNT_SET)
    assert event.actor == users["county"]
    services.nil_declare(report=county_report, category=category("credit_news"), user=users["county"])
    assert refresh(county_report).entries.get(category__code="credit_news").is_nil is True


def test_office_exception_lets_the_unit_edit_past_the_lock_day(county_report, users, clock):
    clock("2019-09-28 09:00")
    services.report_grant_exception(report=county_report, user=users["office"], until=datetime.date(2019, 9, 30))
    event = AuditEvent.objects.get(action=AuditEvent.Action.EXCEPTION)
    assert (event.actor, event.message) == (users["office"], "允许单位修改至 2019-09-30")

    services.count_set(report=county_report, category=category("gov_dishonesty_unresolved"), count=1,
                       user=users["county"])
    report = services.report_submit(report=refresh(county_report), user=users["county"], confirm_nil=True)
    assert report.status == ReportStatus.SUBMITTED
    assert report.on_time is False

    clock("2019-10-01 09:00")
    report = services.report_return(report=report, user=users["office"], reason="请更正")
    with pytest.raises(ServiceError, match="已过锁定日"):
        services.count_set(report=report, category=category("gov_dishonesty_unresolved"), count=2,
                           user=users["county"])


def test_office_and_cli_are_not_bound_by_the_lock_day(county_report, users, clock):
    clock("2020-03-01 09:00")
    code = category("gov_dishonesty_unresolved")
    services.count_set(report=county_report, category=code, count=1, user=None)
    services.count_set(report=county_report, category=code, count=2, user=users["office"])
    report = services.report_submit(report=county_report, user=None, confirm_nil=True)
    assert report.status == ReportStatus.SUBMITTED
    assert report.entries.get(category=code).count == 2


def test_lock_day_override(county_report, users, clock):
    Deadline.objects.create(period=period(), due_date=datetime.date(2019, 9, 5), lock_date=datetime.date(2019, 9, 10))
    clock("2019-09-11 09:00")
    with pytest.raises(ServiceError, match="已过锁定日（2019-09-10）"):
        services.nil_declare(report=county_report, category=category("credit_news"), user=users["county"])


# --- audit and concurrency ----------------------------------------------------------------


def test_every_transition_is_audited(dept_report, users, clock):
    clock("2019-09-03 10:00")
    report = submitted(dept_report, users["dept"])
    services.report_return(report=report, user=users["office"], reason="缺数据")
    services.report_submit(report=report, user=users["dept"])
    services.report_accept(report=report, user=users["office"])
    services.report_reopen(report=report, user=users["office"], reason="更正")
    events = AuditEvent.objects.filter(report=report).exclude(action=AuditEvent.Action.NIL_DECLARED).order_by("id")
    assert [(e.action, e.actor.username if e.actor else None, e.from_status, e.to_status, e.message) for e in events] == [
        ("created", None, "", "draft", ""),
        ("submitted", "d01", "draft", "submitted", ""),
        ("returned", "office", "submitted", "returned", "缺数据"),
        ("submitted", "d01", "returned", "submitted", ""),
        ("accepted", "office", "submitted", "accepted", ""),
        ("reopened", "office", "accepted", "returned", "更正"),
    ]
    assert all(e.created_at == timezone.now() for e in events[1:])  # "created" predates the clock


def test_second_accept_of_the_same_report_is_refused(dept_report, users, clock):
    clock("2019-09-03 10:00")
    report = submitted(dept_report, users["dept"])
    stale = MonthlyReport.objects.get(pk=report.pk)
    services.report_accept(report=report, user=users["office"])
    with pytest.raises(ServiceError, match="当前状态为“已通过”，不能执行此操作"):
        services.report_accept(report=stale, user=users["admin"])
    with pytest.raises(ServiceError, match="当前状态为“已通过”，不能执行此操作"):
        services.report_return(report=stale, user=users["admin"], reason="晚了一步")
    assert refresh(report).reviewed_by == users["office"]
    assert AuditEvent.objects.filter(report=report, action=AuditEvent.Action.ACCEPTED).count() == 1


@pytest.mark.postgres
def test_two_reviewers_accepting_at_once_only_one_wins(transactional_db, users):
    """Two threads, two connections, one conditional UPDATE: exactly one acceptance."""
    later = datetime.date.today() + datetime.timedelta(days=30)
    Deadline.objects.create(period=period(), due_date=later, lock_date=later)
    report = submitted(services.report_get_or_create(unit=Unit.objects.get(code="D01"), period=period()),
                       users["dept"])
    start = threading.Barrier(2)
    outcomes = {}

    def accept(name):
        try:
            start.wait(timeout=10)
            services.report_accept(report=MonthlyReport.objects.get(pk=report.pk), user=users[name])
            outcomes[name] = "accepted"
        except ServiceError as exc:
            outcomes[name] = str(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=accept, args=(name,)) for name in ("office", "admin")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(outcomes.values()).count("accepted") == 1, outcomes
    loser = next(v for v in outcomes.values() if v != "accepted")
    assert "当前状态为“已通过”，不能执行此操作" in loser
    assert AuditEvent.objects.filter(report=report, action=AuditEvent.Action.ACCEPTED).count() == 1
    winner = next(k for k, v in outcomes.items() if v == "accepted")
    assert refresh(report).reviewed_by == users[winner]
