"""Reminders through a real Redis broker, a real Celery worker and its beat schedule.

The beat's check finds the overdue rule due today and requests a reminder job; the worker's pool
process dies in the middle of it (after three units); the job's retry — brought back by the beat's
sweep — reminds the others.  Every unit ends with exactly one notice, and one e-mail where it has an
address, while the beat keeps checking every second.
"""

import datetime
import os
import subprocess
import sys
import time
from email import message_from_bytes
from email.header import decode_header, make_header
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from credit_portal.jobs import JobStatus
from notices.models import Notification, ReminderJob, ReminderLog, ReminderRule, UnitContact
from reporting.models import Deadline, Unit
from reporting.selectors import previous_month

from .worker import ROOT, Worker, database_url, publishing_to, wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

BROKER = os.environ.get("CELERY_TEST_BROKER_URL", "redis://127.0.0.1:6379/15")


class NoticesWorker(Worker):
    """tests.worker's Worker, started as tests.notices_worker (which can crash mid-job)."""

    def start(self, timeout=30):
        self.log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.notices_worker"], cwd=ROOT, env=self.env, stdout=self.log,
            stderr=subprocess.STDOUT, start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"worker exited early: {self.read_log()[-3000:]}")
            if b"ready." in Path(self.log_path).read_bytes():
                return self
            time.sleep(0.2)
        raise RuntimeError(f"worker not ready after {timeout}s: {self.read_log()[-3000:]}")


@pytest.fixture
def overdue_yesterday(users):
    """Last month's deadline was yesterday: the overdue rule (1 day after) is due today.  Nobody reported."""
    today = timezone.localdate()
    period = previous_month(today.replace(day=1))
    Deadline.objects.create(period=period, due_date=today - datetime.timedelta(days=1),
                            lock_date=today + datetime.timedelta(days=20))
    # The default rules come from a data migration, which a transactional test's flush empties.
    ReminderRule.objects.get_or_create(kind="overdue", days=1)
    ReminderRule.objects.filter(kind="reminder").update(is_active=False)
    for code in ("D01", "C01", "P01"):
        UnitContact.objects.create(unit=Unit.objects.get(code=code), person="联系人",
                                   emails=f"{code.lower()}@example.gov.cn")
    return period


@pytest.fixture
def worker(tmp_path, media_root):
    started = []

    def start(**env):
        mails = tmp_path / "mails"
        mails.mkdir(exist_ok=True)
        w = NoticesWorker(
            broker_url=BROKER, database_url=database_url(connection.settings_dict), media_root=media_root,
            log_path=tmp_path / f"worker{len(started)}.log", beat=True,
            env={"REMINDER_CHECK_SECONDS": "1", "REMINDER_EARLIEST_HOUR": "0", "JOBS_SWEEP_SECONDS": "1",
                 "JOBS_STALE_SECONDS": "3", "JOBS_HEARTBEAT_SECONDS": "0.5", "EMAIL_URL": f"filemail:///{mails}",
                 **env},
        )
        started.append(w)
        return w.start()

    yield start
    for w in started:
        w.stop()


def sent_mails(folder):
    """(recipients, subject) of every message the file backend wrote."""
    mails = []
    for path in sorted(Path(folder).glob("*.log")):
        for chunk in path.read_bytes().split(b"-" * 79):
            if chunk.strip():
                message = message_from_bytes(chunk.strip())
                mails.append((message["To"], str(make_header(decode_header(message["Subject"])))))
    return mails


def test_beat_reminds_every_overdue_unit_once_even_when_the_worker_dies_mid_job(overdue_yesterday, worker, tmp_path):
    marker = tmp_path / "died"
    w = worker(NOTICES_DIE_AFTER_UNITS="3", NOTICES_DIE_MARKER=str(marker))
    with publishing_to(BROKER) as app:
        app.control.purge()
        assert wait_for(marker.exists, timeout=20), w.read_log()[-3000:]  # the beat's job started and died
        assert 3 <= ReminderLog.objects.count() < 63
        assert wait_for(lambda: ReminderLog.objects.count() == 63, timeout=30), w.read_log()[-3000:]
        job = ReminderJob.objects.get()  # the beat did not pile up jobs while the first was unfinished
        assert wait_for(lambda: ReminderJob.objects.get().status == JobStatus.DONE, timeout=10)
        time.sleep(3)  # three more beat checks
    job.refresh_from_db()
    assert (job.source, job.kind, job.attempts) == ("schedule", "overdue", 2)
    assert ReminderLog.objects.count() == 63
    assert ReminderJob.objects.count() == 1
    per_unit = Notification.objects.filter(kind="overdue").values_list("unit__code", flat=True)
    assert len(per_unit) == 63 and len(set(per_unit)) == 63  # one notice each (one user per unit)
    assert set(ReminderLog.objects.values_list("period", flat=True)) == {overdue_yesterday}
    mails = sent_mails(tmp_path / "mails")
    assert sorted(to for to, _ in mails) == ["c01@example.gov.cn", "d01@example.gov.cn", "p01@example.gov.cn"]
    assert all(subject.startswith("【逾期催报】") for _, subject in mails)
    assert set(ReminderLog.objects.exclude(email_to="").values_list("email_status", flat=True)) == {"sent"}


def test_the_office_reminder_job_runs_on_the_worker(overdue_yesterday, worker, users):
    from notices import services

    ReminderRule.objects.update(is_active=False)
    worker()
    with publishing_to(BROKER) as app:
        app.control.purge()
        job = services.reminder_job_request(period=overdue_yesterday, unit_codes=["D02", "D03"], actor=users["office"])
        assert wait_for(lambda: ReminderJob.objects.get(pk=job.pk).status == JobStatus.DONE, timeout=15)
    job.refresh_from_db()
    assert job.sent_units == ["D02", "D03"]
    assert sorted(ReminderLog.objects.values_list("unit__code", flat=True)) == ["D02", "D03"]
