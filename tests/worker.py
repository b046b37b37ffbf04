"""A real Celery worker process for tests, on Redis, against the test database.

Celery's docs say eager mode cannot prove task behaviour, so the async tests
start `celery worker` as a separate process pointed at pytest-django's test
database (the tests use `transactional_db`, so the worker sees their rows).

Run as a module (`python -m tests.worker`) it starts a worker; with
CREDIT_PORTAL_SLOW_ROLLUP=seconds it first makes every rollup pause inside
its transaction, so a test can kill the worker mid-rollup.  With
CREDIT_PORTAL_WORKER_BEAT=path it also runs the beat schedule (embedded,
schedule file at path), so the periodic sweep runs as in production.
"""

import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def database_url(settings_dict):
    user = settings_dict.get("USER") or "postgres"
    password = settings_dict.get("PASSWORD") or ""
    auth = f"{user}:{password}@" if password else f"{user}@"
    host = settings_dict.get("HOST") or "127.0.0.1"
    port = settings_dict.get("PORT") or 5432
    return f"postgres://{auth}{host}:{port}/{settings_dict['NAME']}"


class Worker:
    def __init__(self, *, broker_url, database_url, media_root, slow_rollup=0.0, log_path, beat=False, env=None):
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "credit_portal.settings",
            "DATABASE_URL": database_url,
            "CELERY_BROKER_URL": broker_url,
            "MEDIA_ROOT": str(media_root),
            "CREDIT_PORTAL_SLOW_ROLLUP": str(slow_rollup),
            "CREDIT_PORTAL_WORKER_BEAT": f"{log_path}.beat-schedule" if beat else "",
            "PYTHONPATH": str(ROOT),
            **(env or {}),
        }
        self.log_path = log_path
        self.process = None

    def start(self, timeout=30):
        self.log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.worker"], cwd=ROOT, env=self.env, stdout=self.log,
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

    def read_log(self):
        return Path(self.log_path).read_text(errors="replace")

    def pool_children(self):
        out = subprocess.run(["pgrep", "-P", str(self.process.pid)], capture_output=True, text=True).stdout
        return [int(p) for p in out.split()]

    def kill_pool_child(self):
        children = self.pool_children()
        for pid in children:
            os.kill(pid, signal.SIGKILL)
        return children

    def kill(self):
        """SIGKILL the whole worker (parent and pool), as a crash would."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def stop(self):
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()
        if getattr(self, "log", None):
            self.log.close()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PrivateRedis:
    """A throwaway redis-server, so a test can take the broker down and bring it back."""

    def __init__(self, tmp_path):
        self.port = free_port()
        self.dir = tmp_path
        self.process = None

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self):
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.dir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        import redis

        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                redis.Redis(port=self.port, socket_connect_timeout=0.5).ping()
                return self
            except redis.RedisError:
                time.sleep(0.1)
        raise RuntimeError("private redis did not start")

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


@contextmanager
def publishing_to(broker_url):
    """Make this (test) process publish tasks to a real broker instead of running them eagerly."""
    from credit_portal.celery import app

    keys = ("broker_url", "task_always_eager")
    # Celery reads Django's settings live unless a value was set on app.conf: put back exactly what was
    # there, so a test that overrode the Django settings meanwhile does not pin its values for later tests.
    changed = {k: app.conf.changes[k] for k in keys if k in app.conf.changes}
    app.conf.broker_url = broker_url
    app.conf.task_always_eager = False
    _reset_pools(app)
    try:
        yield app
    finally:
        for key in keys:
            if key in changed:
                app.conf.changes[key] = changed[key]
            else:
                app.conf.changes.pop(key, None)
        _reset_pools(app)


def _reset_pools(app):
    """Drop cached broker connections so the next publish uses the current broker_url."""
    from kombu import pools

    pools.reset()  # kombu keeps a process-wide registry of connection and producer pools
    app._pool = None
    app.amqp._producer_pool = None


def wait_for(predicate, timeout=15.0, interval=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


def _slow_rollups(seconds):
    from rankings import services

    original = services._report_values

    def slow(report):
        values = original(report)
        time.sleep(seconds)  # inside the rollup's transaction, after its DELETEs
        return values

    services._report_values = slow


def slow_imports(seconds):
    """Make every import pause after it has claimed its batch (and holds its liveness lock), before storing."""
    from reporting import imports

    original = imports._store

    def slow(batch, result, rows):
        time.sleep(seconds)
        return original(batch, result, rows)

    imports._store = slow


def main():
    import django

    django.setup()
    slow = float(os.environ.get("CREDIT_PORTAL_SLOW_ROLLUP") or 0)
    if slow:
        _slow_rollups(slow)
    slow = float(os.environ.get("CREDIT_PORTAL_SLOW_IMPORT") or 0)
    if slow:
        slow_imports(slow)
    from credit_portal.celery import app

    beat_schedule = os.environ.get("CREDIT_PORTAL_WORKER_BEAT")
    beat = ["--beat", f"--schedule={beat_schedule}"] if beat_schedule else []
    app.worker_main(["worker", "--loglevel=INFO", "--concurrency=1", "--pool=prefork", "--without-heartbeat",
                     "--without-gossip", "--without-mingle", "--prefetch-multiplier=1", *beat])


if __name__ == "__main__":
    main()
