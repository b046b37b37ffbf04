"""A small year of reporting (2019) whose statistics tables are known by hand.

Used by the test_stat_* modules.  Reports go through the same services as the
browser: upload → submit → accept; one month is only submitted and one is
accepted then reopened, so neither may count.

    unit  month  categories (records unless marked "count")                      state
    C01   1      admin_license 3, admin_penalty 2, credit_commitment 4,           accepted
                 gov_dishonesty_unresolved count 5
    C01   2      admin_license 1, dishonest_rep_interviews count 7                accepted
    C01   3      admin_license 2                                                  submitted only
    C02   1      joint_punishment_case 2, joint_incentive_case 1,                 accepted
                 credit_commitment 3
    C02   2      admin_penalty 4                                                  accepted, then reopened
    P01   2      credit_commitment 2, gov_dishonesty_unresolved count 3           accepted
    P02   1      everything nil                                                   accepted
    D01   1      admin_license 5                                                  accepted
    D01   3      admin_penalty 2, credit_info 3                                   accepted
    D02   2      local_redlist 2                                                  accepted
    C03 and every other unit: nothing.

Building it takes seconds, so a test module builds it once (`stats_world`, inside
a transaction rolled back when the module ends — the pattern of Django's
setUpTestData) and each test (`dataset`) runs in its own savepoint on top.
Test modules opt in with ``stats_world = stats_dataset.stats_world`` and
``dataset = stats_dataset.dataset``.
"""

import datetime
import io
import itertools

import pytest
from django.core.management import call_command
from django.db import transaction
from django.test import override_settings

from reporting import services
from reporting.models import Category, Unit, User
from reporting.reference import reference_load

from .factories import records, xlsx_bytes

YEAR = 2019
ID_NUMBER = "11010519491231002X"

# Hand-computed expectations for January–March (months 1..3).
COUNTY_PARK_1_3 = {
    "C01": {"政府失信未治理": 5, "信用承诺书": 4, "“双公示”报送": 3 + 2 + 1, "约谈失信企业代表数量": 7, "月度报表情况": 2},
    "C02": {"信用承诺书": 3, "联合奖惩案例": 2 + 1, "月度报表情况": 1},
    "P01": {"政府失信未治理": 3, "信用承诺书": 2, "月度报表情况": 1},
    "P02": {"月度报表情况": 1},
}
COUNTY_PARK_2_2 = {
    "C01": {"“双公示”报送": 1, "约谈失信企业代表数量": 7, "月度报表情况": 1},
    "P01": {"政府失信未治理": 3, "信用承诺书": 2, "月度报表情况": 1},
}
DEPARTMENT_1_3 = {
    "D01": {"行政许可": 5, "行政处罚": 2, "信用信息": 3, "总计": 10},
    "D02": {"地方发布红名单": 2, "总计": 2},
    "C01": {"行政许可": 3 + 1, "行政处罚": 2, "总计": 6},
    "C02": {"联合惩戒案例": 2, "联合激励案例": 1, "总计": 3},
}
# Units with nothing at all in January–March (every other unit too).
NEVER_REPORTED_1_3 = {"C03", "P02"}
REPORTED_1_3 = {"C01", "C02", "P01", "D01", "D02"}


def expected_row(labels, values):
    return {label: values.get(label, 0) for label in labels}


class Builder:
    def __init__(self, upload):
        self.upload = upload
        self.serial = itertools.count(1)

    def report(self, unit_code, month, *, uploads=(), counts=()):
        """A submitted report with these uploads ({code: n}) and counts ({code: n})."""
        report = services.report_get_or_create(
            unit=Unit.objects.get(code=unit_code), period=datetime.date(YEAR, month, 1)
        )
        for code, n in dict(uploads).items():
            schema = Category.objects.get(code=code).schema
            start = next(self.serial) * 100  # 文书号 must not repeat within a unit and category
            overrides = {"id_number": ID_NUMBER, "credit_code": ""} if schema == "subject" else {}
            content = xlsx_bytes(schema, records(schema, n, start=start, **overrides))
            batch = self.upload(report, code, content, name=f"{unit_code}-{month}-{code}.xlsx")
            assert batch.status == "succeeded", (unit_code, month, code, batch.message, batch.errors[:3])
        for code, n in dict(counts).items():
            services.count_set(report=report, category=Category.objects.get(code=code), count=n, user=None)
        return services.report_submit(report=report, user=None, confirm_nil=True)

    def accepted(self, unit_code, month, **content):
        return services.report_accept(report=self.report(unit_code, month, **content), user=None)


def build(upload):
    """Create the dataset; statistics are not rolled up yet (call stats_rebuild())."""
    b = Builder(upload)
    b.accepted("C01", 1, uploads={"admin_license": 3, "admin_penalty": 2, "credit_commitment": 4},
               counts={"gov_dishonesty_unresolved": 5})
    b.accepted("C01", 2, uploads={"admin_license": 1}, counts={"dishonest_rep_interviews": 7})
    b.report("C01", 3, uploads={"admin_license": 2})
    b.accepted("C02", 1, uploads={"joint_punishment_case": 2, "joint_incentive_case": 1, "credit_commitment": 3})
    reopened = b.accepted("C02", 2, uploads={"admin_penalty": 4})
    services.report_reopen(report=reopened, user=None, reason="数据有误，请核实后重报")
    b.accepted("P01", 2, uploads={"credit_commitment": 2}, counts={"gov_dishonesty_unresolved": 3})
    b.accepted("P02", 1)
    b.accepted("D01", 1, uploads={"admin_license": 5})
    b.accepted("D01", 3, uploads={"admin_penalty": 2, "credit_info": 3})
    b.accepted("D02", 2, uploads={"local_redlist": 2})


def _uploader(folder):
    """Like conftest's `upload` fixture, for a module-scoped fixture."""
    from reporting.imports import batch_create, records_import

    def _upload(report, category_code, content, name):
        path = folder / name
        path.write_bytes(content)
        with open(path, "rb") as f:
            batch = batch_create(report=report, category=Category.objects.get(code=category_code), fileobj=f,
                                 name=name, user=None)
        return records_import(batch_id=batch.pk)

    return _upload


USERNAMES = {"office": "office", "dept": "d01", "other_dept": "d02", "county": "c01", "park": "p01"}


@pytest.fixture(scope="module")
def stats_world(django_db_setup, django_db_blocker, media_root, tmp_path_factory):
    """Reference data, demo users and the dataset, rolled up; rolled back after the module."""
    from rankings.services import stats_rebuild

    atomic = transaction.atomic()
    with django_db_blocker.unblock(), override_settings(MEDIA_ROOT=str(media_root)):
        atomic.__enter__()
        try:
            reference_load()
            call_command("create_demo_users", verbosity=0, stdout=io.StringIO())
            build(_uploader(tmp_path_factory.mktemp("stats-uploads")))
            stats_rebuild()
        except BaseException as exc:
            atomic.__exit__(type(exc), exc, exc.__traceback__)
            raise
    yield
    with django_db_blocker.unblock():
        transaction.set_rollback(True)
        atomic.__exit__(None, None, None)


@pytest.fixture
def dataset(stats_world, db):
    """The module's dataset for one test (in a savepoint): returns the named users."""
    return {key: User.objects.get(username=name) for key, name in USERNAMES.items()}
