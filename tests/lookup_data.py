"""A small multi-unit dataset for the lookup tests: companies, a person and a shop, across units and
categories, in accepted months (and one month that is not accepted, which no lookup may find).

Penalty 公示截止期 are set relative to today, so the marks are tested on both sides of the date.
"""

import datetime

from django.utils import timezone

from reporting import services
from reporting.models import ImportBatch, Unit

from .factories import period, record, resident_id, uscc, xlsx_bytes

HENGCHANG = "营口市恒昌贸易有限公司"  # black-listed, penalty within 公示 (ends today), licensed
HENGCHANG_CODE = uscc(101)
JIANCAI = "大石桥市恒昌建材有限公司"  # red-listed, penalty past 公示 (ended yesterday)
JIANCAI_CODE = uscc(102)
SHUNDA = "盖州市顺达物流（集团）有限公司"  # listed on the national black list, then left it
SHUNDA_CODE = uscc(103)
PERSON = "张三"
PERSON_ID = resident_id(5)
SHOP = "站前区老王烧烤店"  # a 个体工商户 with neither code nor ID number
UNACCEPTED_DOC = "营审〔2019〕9号"


def _report(code):
    return services.report_get_or_create(unit=Unit.objects.get(code=code), period=period())


def build(upload):
    """Upload the dataset through the import service and accept D01, D02 and C01's months (D03's stays a draft).

    Returns {(credit code or ID number or name): [(category, unit, period, doc number, date), …]} of what
    was put in the accepted months, as the CLI's JSON lists records.
    """
    today = timezone.localdate()
    yesterday, tomorrow = today - datetime.timedelta(days=1), today + datetime.timedelta(days=1)
    d01, d02, c01, d03 = (_report(code) for code in ("D01", "D02", "C01", "D03"))
    batches = [
        upload(d01, "admin_license", xlsx_bytes("license", [
            record("license", 101, subject_name=HENGCHANG, doc_number="营审〔2019〕1号", decision_date="2019-08-05"),
            record("license", 0, subject_name=SHOP, subject_type="个体工商户", credit_code="",
                   doc_number="营审〔2019〕2号", decision_date="2019-08-06"),
        ])),
        upload(d01, "national_blacklist_feedback", xlsx_bytes("subject", [
            record("subject", 103, subject_name=SHUNDA, decision_date="2019-08-01", doc_number="国黑〔2019〕1号"),
        ])),
        upload(d01, "local_redlist", xlsx_bytes("subject", [
            record("subject", 102, subject_name=JIANCAI, decision_date="2019-08-02", doc_number="营红〔2019〕1号",
                   matter="诚信示范企业"),
        ])),
        upload(d02, "admin_penalty", xlsx_bytes("penalty", [
            record("penalty", 101, subject_name=HENGCHANG, doc_number="营罚〔2019〕1号", decision_date="2019-08-07",
                   publish_until=today.isoformat()),
            record("penalty", 102, subject_name=JIANCAI, doc_number="营罚〔2019〕2号", decision_date="2019-08-08",
                   publish_until=yesterday.isoformat()),
            record("penalty", 0, subject_name=PERSON, subject_type="自然人", credit_code="", id_type="居民身份证",
                   id_number=PERSON_ID, doc_number="营罚〔2019〕3号", decision_date="2019-08-09",
                   publish_until=tomorrow.isoformat()),
        ])),
        upload(d02, "blacklist_exit", xlsx_bytes("subject", [
            record("subject", 103, subject_name=SHUNDA, decision_date="2019-08-20", doc_number="退〔2019〕1号"),
        ])),
        upload(c01, "local_blacklist", xlsx_bytes("subject", [
            record("subject", 101, subject_name=HENGCHANG, decision_date="2019-08-10", doc_number="营黑〔2019〕1号"),
        ])),
        upload(d03, "admin_license", xlsx_bytes("license", [
            record("license", 101, subject_name=HENGCHANG, doc_number=UNACCEPTED_DOC, decision_date="2019-08-11"),
        ])),
    ]
    assert all(b.status == ImportBatch.Status.SUCCEEDED for b in batches), [b.message for b in batches]
    for report in (d01, d02, c01):
        services.report_accept(report=services.report_submit(report=report, user=None, confirm_nil=True), user=None)
    return {
        HENGCHANG_CODE: {
            ("admin_license", "D01", "2019-08", "营审〔2019〕1号", "2019-08-05"),
            ("admin_penalty", "D02", "2019-08", "营罚〔2019〕1号", "2019-08-07"),
            ("local_blacklist", "C01", "2019-08", "营黑〔2019〕1号", "2019-08-10"),
        },
        JIANCAI_CODE: {
            ("local_redlist", "D01", "2019-08", "营红〔2019〕1号", "2019-08-02"),
            ("admin_penalty", "D02", "2019-08", "营罚〔2019〕2号", "2019-08-08"),
        },
        SHUNDA_CODE: {
            ("national_blacklist_feedback", "D01", "2019-08", "国黑〔2019〕1号", "2019-08-01"),
            ("blacklist_exit", "D02", "2019-08", "退〔2019〕1号", "2019-08-20"),
        },
        PERSON_ID: {("admin_penalty", "D02", "2019-08", "营罚〔2019〕3号", "2019-08-09")},
        SHOP: {("admin_license", "D01", "2019-08", "营审〔2019〕2号", "2019-08-06")},
    }


def as_tuples(records):
    return {(r["category"], r["unit"], r["period"], r["doc_number"], r["date"]) for r in records}
