"""The lookup's doors: every search, profile view, record view, credit report and batch check
reads through the selectors and leaves one audit row (LookupAudit): who, when, the query, the hits.

Looking up a person or a company is personal-data processing, so the audit row is the
point of these calls, on a GET as on a POST; nothing else is written by a lookup.
"""

import tempfile
from pathlib import Path

from django.core.files import File
from django.db import transaction
from django.utils import timezone

from credit_portal import jobs
from reporting.excel import Limits, inspect_upload

from . import batch, selectors
from .models import BatchCheck, LookupAudit
from .queries import NAME

Action, Channel = LookupAudit.Action, LookupAudit.Channel
REPORT_NUMBER_PREFIX = "XYBG"


def lookup_audit(*, user, action, channel=Channel.WEB, mode="", query="", subject="", hits=0, details=None):
    return LookupAudit.objects.create(
        user=user, unit_id=getattr(user, "unit_id", None), channel=channel, action=action, mode=mode,
        query=query[:300], subject=subject[:200], hits=hits, details=details or {},
    )


def _subject_query(subject):
    return subject.value if subject.kind != NAME else f"名称：{subject.value}"


def lookup_search(*, user, query, channel=Channel.WEB, limit=selectors.SUBJECT_LIMIT, similar=True):
    """Search and audit: the hits are the subjects found (similar names counted apart)."""
    result = selectors.subjects_search(query, limit=limit, similar=similar)
    details = {"records": sum(s.total for s in result.subjects)}
    if result.similar:
        details["similar"] = len(result.similar)
    lookup_audit(user=user, action=Action.SEARCH, channel=channel, mode=query.mode, query=query.value,
                 hits=result.hits, details=details)
    return result


def lookup_profile(*, user, subject, as_of, channel=Channel.WEB):
    """A subject's records and marks, audited; None when the subject has no records."""
    profile = selectors.subject_profile(subject, as_of=as_of)
    lookup_audit(user=user, action=Action.PROFILE, channel=channel, mode=subject.kind, query=_subject_query(subject),
                 subject=profile.name if profile else "", hits=profile.hits if profile else 0,
                 details={"as_of": as_of.isoformat()})
    return profile


def lookup_record(*, user, record):
    lookup_audit(user=user, action=Action.RECORD, mode="record", query=str(record.pk), subject=record.subject_name,
                 hits=1, details={"unit": record.unit.code, "category": record.category.code,
                                  "period": record.report.period_code})
    return record


@transaction.atomic
def credit_report_issue(*, user, subject, as_of, fmt, channel=Channel.WEB):
    """Number and audit a 信用报告 of the subject as of a date; returns (profile, audit row) or (None, row).

    The audit row is the register of issued reports: the report number is made from its id.
    """
    profile = selectors.subject_profile(subject, as_of=as_of)
    audit = lookup_audit(user=user, action=Action.REPORT, channel=channel, mode=subject.kind,
                         query=_subject_query(subject), subject=profile.name if profile else "",
                         hits=profile.hits if profile else 0, details={"as_of": as_of.isoformat(), "format": fmt})
    if profile is not None:
        audit.report_number = f"{REPORT_NUMBER_PREFIX}{timezone.localdate():%Y}-{audit.pk:06d}"
        audit.save(update_fields=["report_number"])
    return profile, audit


# --- batch checks -------------------------------------------------------------------


def batch_check_request(*, user, fileobj, name, as_of):
    """Refuse a bad list now (type, size, more than MAX_ROWS rows, no name or code column), else record the job."""
    with tempfile.NamedTemporaryFile(suffix=Path(name).suffix.lower()) as tmp:
        for chunk in fileobj.chunks() if hasattr(fileobj, "chunks") else iter(lambda: fileobj.read(1 << 20), b""):
            tmp.write(chunk)
        tmp.flush()
        kind = inspect_upload(Path(tmp.name), name, Limits.from_settings())
        rows = batch.list_inspect(Path(tmp.name), kind)
        fileobj.seek(0)
    stored = BatchCheck(user=user)
    stored.file.save(Path(name).name, File(fileobj, name=Path(name).name), save=False)
    return jobs.job_request(BatchCheck, user=user, file=stored.file.name, original_name=name[:255], as_of=as_of,
                            total_rows=rows)


def batch_check_run(*, job_id):
    """Run a recorded batch check (safe to call twice: the job is claimed once)."""

    def work(job):
        def progress(done, total):
            BatchCheck.objects.filter(pk=job.pk).update(done_rows=done, total_rows=total,
                                                        heartbeat_at=timezone.now())

        with tempfile.NamedTemporaryFile(suffix=".xlsx") as out:
            summary = batch_check_file(path=Path(job.file.path), name=job.original_name, out=out.name,
                                       as_of=job.as_of, user=job.user, progress=progress,
                                       details={"job": job.pk})
            with open(out.name, "rb") as f:
                job.result.save(f"核查结果-{job.pk}.xlsx", File(f), save=False)
        BatchCheck.objects.filter(pk=job.pk).update(
            result=job.result.name, total_rows=summary.rows, done_rows=summary.rows,
            with_hits=summary.with_hits, invalid_rows=summary.invalid,
        )
        return (f"已核查 {summary.rows} 行：{summary.with_hits} 行查到记录，{summary.bad} 行有不良记录，"
                f"{summary.invalid} 行代码无效。")

    return jobs.job_run(BatchCheck, job_id, work)


def batch_check_file(*, path, name, out, as_of, user=None, channel=Channel.WEB, progress=None, details=None):
    """Check every row of a list file, write the result workbook to `out`, audit; returns the batch.Summary."""
    kind = inspect_upload(Path(path), name, Limits.from_settings())
    summary = batch.list_check(Path(path), kind, out=out, as_of=as_of, progress=progress)
    lookup_audit(user=user, action=Action.BATCH, channel=channel, mode="batch", query=name, hits=summary.with_hits,
                 details={"rows": summary.rows, "invalid": summary.invalid, "bad": summary.bad,
                          "as_of": as_of.isoformat(), **(details or {})})
    return summary
