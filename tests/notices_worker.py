"""A Celery worker (with its beat) for the reminder tests, able to crash in the middle of a reminder job.

Run as `python -m tests.notices_worker`: as tests.worker, plus, with NOTICES_DIE_AFTER_UNITS=n and
NOTICES_DIE_MARKER=path, the pool process running a reminder job exits abruptly right after the n-th
unit's reminder is committed — once (the marker file records that it happened), so the job's retry
finds some units reminded and the rest not.
"""

import os

from .worker import main as worker_main


def _die_once_after(units, marker):
    from notices import services

    original = services._remind_unit
    sent = []

    def remind_then_maybe_die(*args, **kwargs):
        result = original(*args, **kwargs)
        sent.append(result)
        if sum(sent) >= units and not os.path.exists(marker):
            with open(marker, "w") as f:
                f.write("died")
            os._exit(1)  # the pool child dies as a SIGKILL would leave it: no cleanup, no acknowledgement
        return result

    services._remind_unit = remind_then_maybe_die


def main():
    import django

    django.setup()
    units = int(os.environ.get("NOTICES_DIE_AFTER_UNITS") or 0)
    if units:
        _die_once_after(units, os.environ["NOTICES_DIE_MARKER"])
    worker_main()


if __name__ == "__main__":
    main()
