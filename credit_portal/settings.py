"""Settings for credit_portal, driven by environment variables.

With nothing set the portal runs on SQLite with Celery in eager mode, so a
fresh clone works with `make run`.  DATABASE_URL switches to PostgreSQL and
CELERY_BROKER_URL to a real Redis broker.  Nothing is in debug mode unless
DEBUG=true is set; HTTPS settings (HSTS, SSL redirect, secure cookies) come
from the environment, see README.md (部署).
"""

import datetime
from pathlib import Path

import environ
from celery.schedules import crontab
from csp.constants import NONE, SELF

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

# Debug pages print settings, the URL list and the request's environment: only on request.
DEBUG = env.bool("DEBUG", default=False)
# The default's prefix makes `check --deploy` report it (security.W009).
SECRET_KEY = env.str("SECRET_KEY", default="django-insecure-development-only-set-SECRET_KEY-in-production")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "import_export",
    "axes",
    "csp",
    "accounts",
    "reporting",
    "rankings",
    "bulletins",
    "notices",
    "lookup",
    "rest_framework",
    "drf_spectacular",
    "api",
    "exports",
    "disclosure",
]

# Static files leave at WhiteNoise: the middleware below it only sees pages and downloads.
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "credit_portal.middleware.NoStoreForSignedInMiddleware",
    "credit_portal.middleware.MethodNotAllowedPageMiddleware",
    "accounts.middleware.PasswordChangeRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, so that it turns the lockout of any login view (portal or admin) into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "credit_portal.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "credit_portal.wsgi.application"

DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
}
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0)

AUTH_USER_MODEL = "reporting.User"
# Axes first: it refuses a locked-out username+address before any password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Checked when a password is set (admin forms, password change), not on existing passwords:
# the demo accounts keep their 9-character demo password.
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "accounts.validators.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "zh-hans"
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
# Chinese for what Django's, import-export's and axes' own catalogues lack (locale/zh_Hans, .po and .mo).
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")
MEDIA_URL = "media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "media")

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Uploads.  Django sets no limit on file size; the upload form enforces this one.
UPLOAD_MAX_BYTES = env.int("UPLOAD_MAX_BYTES", default=20 * 1024 * 1024)
# Zip-bomb guards, checked on the archive's directory before any parsing.
UPLOAD_MAX_UNCOMPRESSED_BYTES = env.int("UPLOAD_MAX_UNCOMPRESSED_BYTES", default=600 * 1024 * 1024)
UPLOAD_MAX_COMPRESSION_RATIO = env.int("UPLOAD_MAX_COMPRESSION_RATIO", default=200)
UPLOAD_MAX_ZIP_ENTRIES = env.int("UPLOAD_MAX_ZIP_ENTRIES", default=2000)
# Files larger than this run as a background job with a progress bar.
UPLOAD_BACKGROUND_BYTES = env.int("UPLOAD_BACKGROUND_BYTES", default=1024 * 1024)
# Import jobs whose process died (reporting.imports.imports_sweep): a running import that gave no sign
# of life for IMPORT_STALE_SECONDS is dead (PostgreSQL knows sooner, by the job's advisory lock); a
# background import is run again up to IMPORT_MAX_ATTEMPTS times, then marked interrupted; a pending
# background import that no worker took within IMPORT_PENDING_SECONDS is enqueued again.
IMPORT_STALE_SECONDS = env.int("IMPORT_STALE_SECONDS", default=300)
IMPORT_PENDING_SECONDS = env.int("IMPORT_PENDING_SECONDS", default=120)
IMPORT_MAX_ATTEMPTS = env.int("IMPORT_MAX_ATTEMPTS", default=2)
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

# Reporting calendar: a month is due on this day of the following month, and
# units can no longer edit it after the lock day (unless the office grants an
# exception).  Per-month overrides live in the admin (报送期限).
REPORT_DEADLINE_DAY = env.int("REPORT_DEADLINE_DAY", default=5)
REPORT_LOCK_DAY = env.int("REPORT_LOCK_DAY", default=25)

# Celery: eager when no broker is configured, so `make run` needs no Redis.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_TASK_RETRY_ON_WORKER_LOST = True
# A publish with Redis down must fail fast: the caller's transaction has
# already committed a pending mark that the sweep will pick up.
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5}
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Redis hands an unacknowledged task to another worker after this many seconds, so it must exceed the
# longest task (a full rebuild or a background import: seconds, a few minutes at worst).  It is not the
# recovery path: database job rows and the beat sweeps below bring back work whose worker died.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=600)}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = TIME_ZONE
# Background jobs (credit_portal/jobs.py): a running job writes a heartbeat every JOBS_HEARTBEAT_SECONDS;
# the sweep, every JOBS_SWEEP_SECONDS, re-enqueues jobs whose heartbeat is older than JOBS_STALE_SECONDS
# (their worker died) and jobs that never reached a worker.
JOBS_HEARTBEAT_SECONDS = env.float("JOBS_HEARTBEAT_SECONDS", default=20)
JOBS_STALE_SECONDS = env.float("JOBS_STALE_SECONDS", default=180)
JOBS_SWEEP_SECONDS = env.float("JOBS_SWEEP_SECONDS", default=60)
# 催报: the schedule checks every REMINDER_CHECK_SECONDS whether a reminder rule (admin: 自动催报规则) is
# due today, from REMINDER_EARLIEST_HOUR o'clock on; a unit gets each notice at most once a day.
REMINDER_CHECK_SECONDS = env.float("REMINDER_CHECK_SECONDS", default=3600)
REMINDER_EARLIEST_HOUR = env.int("REMINDER_EARLIEST_HOUR", default=8)
# Every periodic job, in one place.
CELERY_BEAT_SCHEDULE = {
    "send-scheduled-reminders": {"task": "notices.tasks.send_scheduled_reminders", "schedule": REMINDER_CHECK_SECONDS},
    "sweep-pending-work": {"task": "rankings.tasks.sweep_pending_work", "schedule": JOBS_SWEEP_SECONDS},
    "sweep-import-jobs": {"task": "reporting.tasks.sweep_import_batches", "schedule": JOBS_SWEEP_SECONDS},
    "nightly-statistics-rebuild": {
        "task": "rankings.tasks.rebuild_statistics",
        "schedule": crontab(hour=2, minute=30),
    },
}

# E-mail (催报): EMAIL_URL as django-environ reads it, e.g. smtp+tls://user:password@mail.example.gov.cn:587;
# by default messages are printed to the console, so `make run` needs no mail server.
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="信用信息报送平台 <noreply@localhost>")
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=20)
# The portal's address as users reach it, for links in e-mails.
PORTAL_BASE_URL = env.str("PORTAL_BASE_URL", default="http://127.0.0.1:8000")

# --- sign-in defence (django-axes) ---
# Failures count per username *and* address together: one office behind a shared NAT
# address is not locked out by one person, and one person cannot lock out a colleague.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = datetime.timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_RESET_ON_SUCCESS = True
# Attempts during a lockout do not extend it, so the page can say when to try again.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_LOCKOUT_CALLABLE = "accounts.views.locked_out"
AXES_CLIENT_IP_CALLABLE = "accounts.lockouts.client_ip"
# Reverse proxies in front of the portal (0: clients connect directly).  With N proxies the
# client's address is the N-th entry from the right of X-Forwarded-For.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
AXES_VERBOSE = False  # no banner on every management command (their --json output goes to scripts)

# --- HTTPS, cookies and headers (all off for plain-HTTP development, see README 部署) ---
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
# "HTTP_X_FORWARDED_PROTO,https" behind a TLS-terminating proxy that sets that header.
_proxy_ssl_header = env.list("SECURE_PROXY_SSL_HEADER", default=[])
SECURE_PROXY_SSL_HEADER = tuple(_proxy_ssl_header) if _proxy_ssl_header else None
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=SECURE_SSL_REDIRECT)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=SECURE_SSL_REDIRECT)
SESSION_COOKIE_HTTPONLY = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# HSTS preload is an application to the browsers' built-in list, made for a whole registrable
# domain by its owner; a portal on a government subdomain does not make it.
SILENCED_SYSTEM_CHECKS = ["security.W021"]

# Content-Security-Policy: scripts and styles only from our static files.  Chart data travels
# in json_script elements (type application/json, never executed).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

# Errors: Chinese pages (templates/400.html …), a 500 with a reference number that is logged.
DEFAULT_EXCEPTION_REPORTER_FILTER = "credit_portal.errors.ReporterFilter"

IMPORT_EXPORT_SKIP_ADMIN_LOG = False

# Cache: throttling counters (API, public pages) and the public pages' cache.  Every web process must
# share one, so production sets CACHE_URL (e.g. redis://redis:6379/2); without it each process keeps
# its own in memory, which is right for `make run` and the tests.
_cache_url = env.str("CACHE_URL", default="")
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": _cache_url, "TIMEOUT": 300}
        if _cache_url
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "credit-portal"}
    )
}

# 信用信息公示 (disclosure/): the public pages' cache in seconds (0: none) and the per-client rate
# ("60/minute", "10/second", "1000/hour"; "0/minute": no limit).
DISCLOSURE_CACHE_SECONDS = env.int("DISCLOSURE_CACHE_SECONDS", default=300)
DISCLOSURE_RATE = env.str("DISCLOSURE_RATE", default="60/minute")

# --- submission API (api/, Django REST framework; schema by drf-spectacular) ---
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": None,
    # Every refusal as Chinese JSON ({"detail", "code"}), 429 with Retry-After.
    "EXCEPTION_HANDLER": "api.errors.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "信用信息报送平台 数据报送接口",
    "DESCRIPTION": "各信源单位的业务系统报送月度数据：逐条记录、数量、本月无数据、提交、查看状态。中文说明见 /api/v1/docs/。",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema describes /api/v1/ only, whatever other DRF views the portal may grow.
    "PREPROCESSING_HOOKS": ["api.schema.only_api_v1"],
    "ENUM_GENERATE_CHOICE_DESCRIPTION": False,  # the fields' own Chinese help says what each value means
}
# Calls per token (DRF rate: 120/min, 2000/hour …), counted in the Django cache (CACHE_URL).
API_THROTTLE_RATE = env.str("API_THROTTLE_RATE", default="120/min")
# Bounds on one request: rows in `rows`, bytes of the body (refused with 413 before it is parsed).
API_MAX_ROWS = env.int("API_MAX_ROWS", default=10_000)
API_MAX_BODY_BYTES = env.int("API_MAX_BODY_BYTES", default=20 * 1024 * 1024)
# How long an Idempotency-Key's response is kept (deleted on the next keyed write after that).
API_IDEMPOTENCY_HOURS = env.int("API_IDEMPOTENCY_HOURS", default=24)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}
