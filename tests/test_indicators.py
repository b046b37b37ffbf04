"""Ranking indicators on a small dataset computed by hand.

Counties, August and September 2019 (September's deadline moved to 12 October by a Deadline override,
because of National Day), ranked on 20 October 2019:

    unit  month  what happens                                                         submitted
    C01   8      licences decided 08-22 (8 working days: late), 08-23 (exactly 7),       09-04 on time
                 08-30, 09-02, uploaded 09-03; penalties: first upload 5 rows, 1 bad,
                 then 5 good rows uploaded 09-03: 3 decided 08-30, 2 decided 08-01 (late)
    C01   9      licences decided 09-30 (7 working days across National Day) and         10-15 late
                 09-29 (an adjusted Sunday workday: 8), uploaded 10-15
    C02   8      政府失信未治理 count 11                                                   09-05 on time
    C03   8      3 信用承诺书                                                               09-10 late
    C03   9      nothing; submitted on time under the override, then returned           10-11 on time
    C04–C06      nothing

    unit  completeness  on-time  双公示及时率      合规率            volume  score
    C01   2/2 100       1/2 50   7/11 63.6        10/11 90.9        11      81.4 良好
    C02   1/2  50       1/2 50   — (no records)   — (no uploads)    11      61.5 合格
    C03   1/2  50       1/2 50   —                3/3 100           3       55.1 不合格
    C04   0/2   0       0/2  0   —                —                 0        0.0 不合格
"""

import datetime
import zoneinfo

import pytest
from django.db import transaction
from django.test import override_settings
from django.utils import timezone

from rankings.indicators import competition_ranks, grade_for, group_ranking, months_due, weights_in_force
from rankings.models import IndicatorWeight
from rankings.services import stats_rebuild
from reporting import imports, services
from reporting.models import Category, Deadline, Unit
from reporting.reference import reference_load

from .factories import records, xlsx_bytes

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
TODAY = datetime.date(2019, 10, 20)
AUG = datetime.date(2019, 8, 1)
SEP = datetime.date(2019, 9, 1)


class Reports:
    """Reports through the same services as the browser, at chosen moments ("now" is patched)."""

    def __init__(self, folder, monkeypatch):
        self.folder, self.monkeypatch = folder, monkeypatch

    def clock(self, text):
        moment = datetime.datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)
        self.monkeypatch.setattr(timezone, "now", lambda: moment)

    def report(self, code, period):
        return services.report_get_or_create(unit=Unit.objects.get(code=code), period=period)

    def records(self, report, category, schema, rows, *, succeed=True):
        name = f"{report.unit.code}-{report.period:%m}-{category}-{len(rows)}.xlsx"
        path = self.folder / name
        path.write_bytes(xlsx_bytes(schema, rows))
        with open(path, "rb") as f:
            batch = imports.batch_create(report=report, category=Category.objects.get(code=category), fileobj=f,
                                          name=name, user=None)
        batch = imports.records_import(batch_id=batch.pk)
        assert (batch.status == "succeeded") is succeed, (batch.message, batch.errors[:3])
        return batch

    def submit(self, report, when):
        self.clock(when)
        return services.report_submit(report=report, user=None, confirm_nil=True)

    def accept(self, report):
        return services.report_accept(report=report, user=None)


def licenses(dates, start):
    return [row for n, date in enumerate(dates) for row in records("license", 1, start=start + n, decision_date=date)]


def build(r):
    Deadline.objects.create(period=SEP, due_date=datetime.date(2019, 10, 12), lock_date=datetime.date(2019, 10, 25))

    c01_aug = r.report("C01", AUG)
    r.clock("2019-09-03 10:00")
    r.records(c01_aug, "admin_license", "license", licenses(["2019-08-22", "2019-08-23", "2019-08-30", "2019-09-02"], 0))
    penalties = (records("penalty", 3, start=10, decision_date="2019-08-30")
                 + records("penalty", 2, start=13, decision_date="2019-08-01"))
    first_try = [dict(row) for row in penalties]
    first_try[2]["credit_code"] = "91110000600037341X"  # wrong check character
    r.records(c01_aug, "admin_penalty", "penalty", first_try, succeed=False)
    r.records(c01_aug, "admin_penalty", "penalty", penalties)
    r.accept(r.submit(c01_aug, "2019-09-04 16:00"))

    c01_sep = r.report("C01", SEP)
    r.clock("2019-10-15 09:00")
    r.records(c01_sep, "admin_license", "license", licenses(["2019-09-30", "2019-09-29"], 20))
    r.accept(r.submit(c01_sep, "2019-10-15 09:30"))

    c02_aug = r.report("C02", AUG)
    services.count_set(report=c02_aug, category=Category.objects.get(code="gov_dishonesty_unresolved"), count=11,
                       user=None)
    r.accept(r.submit(c02_aug, "2019-09-05 23:00"))

    c03_aug = r.report("C03", AUG)
    r.clock("2019-09-09 10:00")
    rows = records("subject", 3, start=30, id_number="11010519491231002X", credit_code="")
    r.records(c03_aug, "credit_commitment", "subject", rows)
    r.accept(r.submit(c03_aug, "2019-09-10 10:00"))
    c03_sep = r.submit(r.report("C03", SEP), "2019-10-11 10:00")
    services.report_return(report=c03_sep, user=None, reason="数据不全")

    stats_rebuild()


@pytest.fixture(scope="module")
def counties_world(django_db_setup, django_db_blocker, media_root, tmp_path_factory):
    """The dataset, built once for the module inside a transaction rolled back at its end
    (each test runs in a savepoint on top, as with Django's setUpTestData)."""
    atomic = transaction.atomic()
    with (django_db_blocker.unblock(), override_settings(MEDIA_ROOT=str(media_root)),
          pytest.MonkeyPatch.context() as monkeypatch):
        atomic.__enter__()
        try:
            reference_load()
            build(Reports(tmp_path_factory.mktemp("indicator-uploads"), monkeypatch))
        except BaseException as exc:
            atomic.__exit__(type(exc), exc, exc.__traceback__)
            raise
    yield
    with django_db_blocker.unblock():
        transaction.set_rollback(True)
        atomic.__exit__(None, None, None)


@pytest.fixture
def counties(counties_world, db):
    pass


def ranking(**kwargs):
    return group_ranking("county", year=2019, first=8, last=9, today=TODAY, **kwargs)


def row_of(ranking, code):
    return next(row for row in ranking.rows if row.unit.code == code)


# --- months due ---------------------------------------------------------------------


def test_months_due_are_those_whose_deadline_has_passed(db):
    assert months_due(2019, 8, 9, today=datetime.date(2019, 9, 5)) == []  # due on the 5th, not yet passed
    assert months_due(2019, 8, 9, today=datetime.date(2019, 9, 6)) == [8]
    assert months_due(2019, 8, 9, today=TODAY) == [8, 9]


def test_months_due_follow_a_deadline_override(db):
    Deadline.objects.update_or_create(
        period=SEP, defaults={"due_date": datetime.date(2019, 10, 12), "lock_date": datetime.date(2019, 10, 25)}
    )

    assert months_due(2019, 8, 9, today=datetime.date(2019, 10, 10)) == [8]
    assert months_due(2019, 8, 9, today=datetime.date(2019, 10, 13)) == [8, 9]


# --- each indicator -------------------------------------------------------------------


def test_completeness_is_accepted_months_over_months_due(counties):
    result = ranking()

    assert [(row_of(result, c).months_accepted, row_of(result, c).months_due) for c in ("C01", "C02", "C03", "C04")] == [
        (2, 2), (1, 2), (1, 2), (0, 2)
    ]
    assert [row_of(result, c).completeness for c in ("C01", "C02", "C03", "C04")] == [100.0, 50.0, 50.0, 0.0]


def test_completeness_counts_only_months_already_due(counties):
    # On 10 October September is not due yet (override: 12 October); C02 and C03 are complete.
    result = group_ranking("county", year=2019, first=8, last=9, today=datetime.date(2019, 10, 10))

    assert [row_of(result, c).completeness for c in ("C01", "C02", "C03", "C04")] == [100.0, 100.0, 100.0, 0.0]


def test_nothing_due_yet_gives_no_completeness_rather_than_zero(counties):
    result = group_ranking("county", year=2019, first=8, last=9, today=datetime.date(2019, 9, 1))

    assert row_of(result, "C01").completeness is None
    assert row_of(result, "C01").on_time_rate is None


def test_on_time_rate_counts_months_first_submitted_by_the_deadline(counties):
    result = ranking()

    # C01: August on 09-04 (due 09-05), September on 10-15 (due 10-12 by override): late.
    # C02: August on the due day itself counts.  C03: August late, September on time but returned.
    assert [row_of(result, c).months_on_time for c in ("C01", "C02", "C03", "C04")] == [1, 1, 1, 0]
    assert [row_of(result, c).on_time_rate for c in ("C01", "C02", "C03", "C04")] == [50.0, 50.0, 50.0, 0.0]


def test_disclosure_rate_counts_licences_and_penalties_reported_within_seven_working_days(counties):
    c01 = row_of(ranking(), "C01")

    # August: licences 3 of 4 (08-22 is 8 working days before 09-03), penalties 3 of 5.
    # September: 09-30 → 10-15 is 7 working days over National Day; 09-29 (worked Sunday) is 8.
    assert (c01.disclosure_total, c01.disclosure_timely, c01.disclosure_unknown) == (11, 7, 0)
    assert c01.disclosure_rate == 63.6


def test_disclosure_rate_is_none_without_licences_or_penalties(counties):
    assert row_of(ranking(), "C02").disclosure_rate is None
    assert row_of(ranking(), "C03").disclosure_rate is None


def test_compliance_rate_counts_rows_that_passed_on_their_first_upload(counties):
    result = ranking()

    c01 = row_of(result, "C01")
    # August: licences 4 of 4, penalties' first upload 4 of 5 (the corrected upload does not count);
    # September: 2 of 2.
    assert (c01.first_rows_total, c01.first_rows_valid) == (11, 10)
    assert c01.compliance_rate == 90.9
    assert row_of(result, "C03").compliance_rate == 100.0
    assert row_of(result, "C02").compliance_rate is None  # counts only, no uploads


def test_volume_and_column_values_come_from_the_statistics_table(counties):
    result = ranking()

    assert result.table.code == "county_park"
    assert [row_of(result, c).total for c in ("C01", "C02", "C03", "C04")] == [11, 11, 3, 0]
    assert row_of(result, "C01").values["“双公示”报送"] == 11
    assert row_of(result, "C02").values["政府失信未治理"] == 11
    assert row_of(result, "C03").values["信用承诺书"] == 3


def test_never_reported_flags_units_without_any_data(counties):
    result = ranking()

    assert {row.unit.code for row in result.rows if row.never_reported} == {"C04", "C05", "C06"}
    assert len(result.rows) == 6  # parks are ranked in their own group


# --- ranks ------------------------------------------------------------------------


def test_competition_ranks_let_ties_share_a_rank_and_skip_the_next():
    items = [{"v": 5}, {"v": 8}, {"v": 10}, {"v": 8}]

    ranks = competition_ranks(items, key=lambda i: i["v"])

    assert [ranks[id(i)] for i in items] == [4, 2, 1, 2]


def test_competition_ranks_put_missing_values_last_sharing_one_rank():
    items = [{"v": None}, {"v": 0.0}, {"v": 50.0}, {"v": None}]

    ranks = competition_ranks(items, key=lambda i: i["v"])

    assert [ranks[id(i)] for i in items] == [3, 2, 1, 3]


def test_group_ranks_share_ties(counties):
    result = ranking()

    completeness = [row_of(result, c).ranks["completeness"] for c in ("C01", "C02", "C03", "C04", "C05", "C06")]
    total = [row_of(result, c).ranks["total"] for c in ("C01", "C02", "C03", "C04", "C05", "C06")]
    assert completeness == [1, 2, 2, 4, 4, 4]
    assert total == [1, 1, 3, 4, 4, 4]
    assert row_of(result, "C03").ranks["信用承诺书"] == 1
    assert row_of(result, "C01").ranks["信用承诺书"] == 2


def test_rows_are_ordered_by_score_rank(counties):
    result = ranking()

    assert [row.unit.code for row in result.rows] == ["C01", "C02", "C03", "C04", "C05", "C06"]
    assert [row.ranks["score"] for row in result.rows] == [1, 2, 3, 4, 4, 4]


# --- score and grade --------------------------------------------------------------------


def test_score_is_the_weighted_mean_of_the_indicators_a_unit_has(counties):
    result = ranking()

    assert weights_in_force() == {"completeness": 30, "on_time": 20, "disclosure": 20, "compliance": 15, "volume": 15}
    assert result.weights == weights_in_force()
    # C01: (30·100 + 20·50 + 20·63.6 + 15·90.9 + 15·100) / 100
    assert row_of(result, "C01").score == 81.4
    # C02 has no 双公示 and no uploads: (30·50 + 20·50 + 15·100) / 65
    assert row_of(result, "C02").score == 61.5
    # C03: (30·50 + 20·50 + 15·100 + 15·27.3) / 80, volume 3 of the best 11
    assert row_of(result, "C03").score == 55.1
    assert row_of(result, "C04").score == 0.0
    assert [row_of(result, c).grade for c in ("C01", "C02", "C03", "C04")] == ["良好", "合格", "不合格", "不合格"]


def test_changing_a_weight_changes_the_score(counties):
    IndicatorWeight.objects.filter(code="volume").update(weight=0)

    result = ranking()

    assert result.weights["volume"] == 0
    # C02: (30·50 + 20·50) / 50; C01: (30·100 + 20·50 + 20·63.6 + 15·90.9) / 85
    assert row_of(result, "C02").score == 50.0
    assert row_of(result, "C02").grade == "不合格"
    assert row_of(result, "C01").score == 78.1


def test_a_missing_weight_row_falls_back_to_the_default(counties):
    IndicatorWeight.objects.filter(code="disclosure").delete()
    IndicatorWeight.objects.filter(code="completeness").update(weight=60)

    assert weights_in_force()["disclosure"] == 20
    assert weights_in_force()["completeness"] == 60
    # C02: (60·50 + 20·50 + 15·100) / 95
    assert row_of(ranking(), "C02").score == 57.9


@pytest.mark.parametrize(
    ("score", "grade"),
    [(100, "优秀"), (85, "优秀"), (84.9, "良好"), (70, "良好"), (69.9, "合格"), (60, "合格"), (59.9, "不合格"),
     (0, "不合格")],
)
def test_grade_boundaries(score, grade):
    assert grade_for(score) == grade
