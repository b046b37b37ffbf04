"""The reporting-rate matrix: cell states, which months count, rates per unit and month, speed, the page and xlsx."""

import datetime
import io
import time
import zoneinfo

import openpyxl
import pytest
from django.urls import reverse
from django.utils import timezone

from notices.models import UnitContact
from notices.rates import reporting_rate
from reporting.models import MonthlyReport, ReportStatus, Unit, UnitKind

pytestmark = pytest.mark.django_db

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
TODAY = datetime.date(2019, 10, 8)  # 2019-09 was due 2019-10-05; October is this month


def at(day):
    return datetime.datetime.combine(day, datetime.time(10), tzinfo=SHANGHAI)


def report(code, month, status, *, on_time=None, year=2019):
    """A report as the workflow leaves it (first submission time and on-time flag set when submitted)."""
    submitted = status in (ReportStatus.SUBMITTED, ReportStatus.ACCEPTED, ReportStatus.RETURNED)
    when = at(datetime.date(year, month, 28) if on_time else datetime.date(year, month, 1) + datetime.timedelta(days=50))
    return MonthlyReport.objects.create(
        unit=Unit.objects.get(code=code), period=datetime.date(year, month, 1), status=status,
        first_submitted_at=when if submitted else None, submitted_at=when if submitted else None,
        on_time=on_time if submitted else None,
    )


@pytest.fixture
def year(reference):
    """D01: Jan-Sep accepted (Jan-Aug on time, Sep late) and October sent early; D02: Jan accepted,
    Feb submitted, Mar returned, Apr draft; C01: nothing."""
    for month in range(1, 9):
        report("D01", month, ReportStatus.ACCEPTED, on_time=True)
    report("D01", 9, ReportStatus.ACCEPTED, on_time=False)
    report("D01", 10, ReportStatus.ACCEPTED, on_time=True)
    report("D02", 1, ReportStatus.ACCEPTED, on_time=True)
    report("D02", 2, ReportStatus.SUBMITTED, on_time=False)
    report("D02", 3, ReportStatus.RETURNED, on_time=True)
    report("D02", 4, ReportStatus.DRAFT)


def row(matrix, code):
    return next(r for r in matrix.rows if r.unit.code == code)


def states(matrix, code):
    return [(c.state, c.late) for c in row(matrix, code).cells]


def test_cells_show_each_months_state_and_lateness(year):
    matrix = reporting_rate(year=2019, today=TODAY)
    d02 = states(matrix, "D02")
    assert d02[:5] == [("accepted", False), ("submitted", True), ("returned", False), ("draft", True),
                       ("missing", True)]
    assert d02[9:] == [("missing", False), ("future", False), ("future", False)]  # October is not due yet
    d01 = states(matrix, "D01")
    assert d01[8] == ("accepted", True) and d01[9] == ("accepted", False)
    assert row(matrix, "D02").cells[0].url == reverse("report_detail", args=["D02", "2019-01"])
    assert row(matrix, "D02").cells[11].url == ""  # a month that has not come: nothing to open


def test_a_month_counts_once_its_deadline_passed_or_once_it_was_sent(year):
    matrix = reporting_rate(year=2019, today=TODAY)
    d01, d02, c01 = (row(matrix, c).counts for c in ("D01", "D02", "C01"))
    # Sep is due (deadline 10-05 passed); October is not, except for D01 which already sent it.
    assert (d01.due, d01.submitted, d01.accepted, d01.on_time) == (10, 10, 10, 9)
    assert (d02.due, d02.submitted, d02.accepted, d02.on_time, d02.pending) == (9, 2, 1, 2, 1)
    assert (c01.due, c01.submitted, c01.accepted, c01.on_time) == (9, 0, 0, 0)
    assert d01.completeness == 1.0 and d01.on_time_rate == 0.9


def test_month_and_overall_rates(year):
    matrix = reporting_rate(year=2019, today=TODAY)
    january = matrix.month_counts[0]
    assert (january.due, january.accepted, january.on_time) == (63, 2, 2)
    october = matrix.month_counts[9]
    assert (october.due, october.accepted) == (1, 1)  # only D01's early report counts
    assert matrix.month_counts[10].due == 0 and matrix.month_counts[10].completeness is None
    assert matrix.total.due == 63 * 9 + 1
    assert matrix.total.accepted == 11 and matrix.total.on_time == 9 + 2
    assert matrix.as_json()["completeness"] == round(11 / (63 * 9 + 1), 3)


def test_through_limits_the_months(year):
    matrix = reporting_rate(year=2019, through=3, today=TODAY)
    assert matrix.months == [1, 2, 3] and len(row(matrix, "D01").cells) == 3
    assert row(matrix, "D01").counts.due == 3


def test_group_filter(year):
    matrix = reporting_rate(year=2019, kind=UnitKind.COUNTY, today=TODAY)
    assert [r.unit.code for r in matrix.rows] == ["C01", "C02", "C03", "C04", "C05", "C06"]
    assert [label for label, _ in matrix.groups] == ["县（市）区"]


def test_inactive_units_are_left_out(year):
    Unit.objects.filter(code="D02").update(is_active=False)
    matrix = reporting_rate(year=2019, today=TODAY)
    assert "D02" not in [r.unit.code for r in matrix.rows] and matrix.month_counts[0].due == 62


# --- speed: a fixed number of queries, whatever the number of units ------------------------------------


def many_units(n):
    units = Unit.objects.bulk_create(
        [Unit(code=f"X{i:04d}", short_name=f"单位{i}", name=f"测试单位{i}", kind=UnitKind.DEPARTMENT, order=100 + i)
         for i in range(n)]
    )
    reports = []
    for i, unit in enumerate(units):
        for month in range(1, 13):
            if (i + month) % 5:
                status = [ReportStatus.ACCEPTED, ReportStatus.SUBMITTED, ReportStatus.RETURNED][(i * month) % 3]
                when = at(datetime.date(2019, month, 20))
                reports.append(MonthlyReport(unit=unit, period=datetime.date(2019, month, 1), status=status,
                                             first_submitted_at=when, submitted_at=when, on_time=bool(i % 2)))
    MonthlyReport.objects.bulk_create(reports, batch_size=5000)
    UnitContact.objects.bulk_create([UnitContact(unit=u, person="联系人", phone="123") for u in units[::3]])


@pytest.mark.parametrize("extra", [0, 937])
def test_matrix_takes_four_queries_at_63_and_at_1000_units(year, extra, django_assert_num_queries):
    many_units(extra)
    with django_assert_num_queries(3):  # units with contacts, deadlines, reports
        matrix = reporting_rate(year=2019, today=TODAY)
    assert len(matrix.rows) == 63 + extra


@pytest.mark.parametrize("extra", [0, 937])
def test_matrix_page_is_fast_at_63_and_at_1000_units(client, users, year, extra, django_assert_max_num_queries):
    many_units(extra)
    client.force_login(users["office"])
    client.get(reverse("reporting_rates"), {"year": 2019})  # warm caches (templates, URL resolver)
    started = time.perf_counter()
    with django_assert_max_num_queries(12):
        response = client.get(reverse("reporting_rates"), {"year": 2019})
    elapsed = time.perf_counter() - started
    assert response.status_code == 200
    assert response.content.decode().count("<tr data-unit=") == 63 + extra
    print(f"\nreporting-rate page, {63 + extra} units x 12 months: {elapsed * 1000:.0f} ms")
    assert elapsed < (1.0 if extra else 0.3)


# --- the page and the export ----------------------------------------------------------------------------


def test_page_shows_cells_links_rates_and_contacts(client, users, year):
    UnitContact.objects.create(unit=Unit.objects.get(code="D02"), person="李科长", phone="0417-7654321")
    client.force_login(users["office"])
    text = client.get(reverse("reporting_rates"), {"year": 2019}).content.decode()
    d02 = text[text.index('<tr data-unit="D02"'):]
    d02 = d02[:d02.index("</tr>")]
    assert reverse("report_detail", args=["D02", "2019-02"]) in d02
    assert "rr-submitted rr-late" in d02 and "李科长 0417-7654321" in d02
    assert 'id="rate-pending">1<' in text  # D02's February, awaiting review


def test_units_cannot_open_the_matrix(client, users, year):
    client.force_login(users["dept"])
    assert client.get(reverse("reporting_rates")).status_code == 403
    assert client.get(reverse("reporting_rates_export")).status_code == 403


def test_xlsx_export_has_a_row_per_unit_with_states_and_rates(client, users, year):
    UnitContact.objects.create(unit=Unit.objects.get(code="D02"), person="=HYPERLINK(\"x\")", phone="0417")
    client.force_login(users["office"])
    response = client.get(reverse("reporting_rates_export"), {"year": 2019, "kind": "department"})
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert "2019" in response["Content-Disposition"]
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    rows = [[c.value for c in r] for r in sheet.iter_rows()]
    header = rows[2]
    assert header[:6] == ["单位编码", "单位", "类型", "联系人", "联系电话", "电子邮件"]
    d02 = next(r for r in rows if r[0] == "D02")
    assert d02[3] == '=HYPERLINK("x")'  # stored as text, not a formula
    assert sheet.cell(row=rows.index(d02) + 1, column=4).data_type == "s"
    assert d02[6:10] == ["已通过", "已提交待审核（逾期）", "已退回", "填报中（逾期）"]
    assert d02[header.index("应报")] == 12 and d02[header.index("完整率")] == "8.3%"  # 2019 is long over
    assert len([r for r in rows if r[0] and str(r[0]).startswith(("D", "C", "P"))]) == 52


def test_get_on_the_matrix_writes_nothing(client, users, year):
    client.force_login(users["office"])
    before = MonthlyReport.objects.count()
    client.get(reverse("reporting_rates"), {"year": 2019})
    client.get(reverse("reporting_rates_export"), {"year": 2019})
    assert MonthlyReport.objects.count() == before


def test_default_year_is_this_year(client, users):
    client.force_login(users["office"])
    response = client.get(reverse("reporting_rates"))
    assert response.context["year"] == timezone.localdate().year


def test_notices_pages_have_no_inline_script_or_style(client, users, year):
    from .test_security import inline_code

    client.force_login(users["office"])
    for url in (reverse("reporting_rates") + "?year=2019", reverse("remind") + "?month=2019-09", reverse("inbox")):
        response = client.get(url)
        assert response.status_code == 200
        assert inline_code(response.content.decode()) == [], url
