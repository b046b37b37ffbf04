# Credit portal — developer and CI entry points.
#
#   make run     venv + install + migrate + reference data + demo users, serve on $(HOST):$(PORT)
#   make test    lint + pytest on PostgreSQL/Redis when reachable (SQLite fallback, loud)
#   make bench   run benchmarks/bench_*.py and print their figures
#
# Every recipe is one bash script (.ONESHELL) that stops at the first failing command.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.ONESHELL:
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.requirements.stamp
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3 2>/dev/null)
PORT ?= 8000
# Only this machine can reach `make run` unless HOST=0.0.0.0 is given.
HOST ?= 127.0.0.1

TEST_DATABASE_URL ?= $(or $(DATABASE_URL),postgres://postgres@127.0.0.1:5432/credit_portal)
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/credit_portal_bench
CELERY_TEST_BROKER_URL ?= redis://127.0.0.1:6379/15
PYTEST_ARGS ?=
SYSDEPS := chromium fonts-noto-cjk poppler-utils libpango-1.0-0 libpangoft2-1.0-0 redis-server

# Service probes, run with the venv's Python.  Exit status 0 = reachable.
define PG_PROBE
import os, sys
from urllib.parse import urlsplit
import psycopg2
from psycopg2 import sql
url = os.environ["PROBE_URL"]
parts = urlsplit(url)
if parts.scheme not in ("postgres", "postgresql", "pgsql", "psql", "postgis"):
    print(f"DATABASE_URL 不是 PostgreSQL：{url}")
    sys.exit(1)
url = "postgresql://" + url.split("://", 1)[1]
dbname = parts.path.lstrip("/") or "postgres"
try:
    conn = psycopg2.connect(url, dbname="postgres", connect_timeout=3)
except psycopg2.Error as exc:
    print(f"PostgreSQL 不可达（{parts.hostname}:{parts.port or 5432}）：{str(exc).strip()}")
    sys.exit(1)
conn.autocommit = True
with conn.cursor() as cur:
    cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [dbname])
    if cur.fetchone() is None:
        try:
            cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
            print(f"PostgreSQL：已创建数据库 {dbname}")
        except psycopg2.Error as exc:
            print(f"PostgreSQL：无法创建数据库 {dbname}：{str(exc).strip()}")
conn.close()
print(f"PostgreSQL OK（{parts.hostname}:{parts.port or 5432}/{dbname}）")
endef

define REDIS_PROBE
import os, re, sys
import redis
url = os.environ["PROBE_URL"]
shown = re.sub(r"(://[^:/@]*):[^@/]*@", r"\1:***@", url)
try:
    redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=3).ping()
except (redis.RedisError, OSError) as exc:
    print(f"Redis 不可达（{shown}）：{exc}")
    sys.exit(1)
print(f"Redis OK（{shown}）")
endef

# Loud multi-line warning: banner "line 1" "line 2" ...
define BANNER_SH
banner() {
	echo
	echo '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!'
	for line in "$$@"; do echo "!!!  $$line"; done
	echo '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!'
	echo
}
redact() { sed -E 's#(://[^:/@]*):[^@/]*@#\1:***@#' <<<"$$1"; }
endef

export PG_PROBE REDIS_PROBE

.PHONY: help venv install run sysdeps test lint bench clean distclean

help:
	@echo "make run        安装依赖、迁移、加载参考数据和演示账号，在 $(HOST):$(PORT) 启动开发服务器（HOST=0.0.0.0 对外开放）"
	echo "make test       ruff + pytest（可用时使用 PostgreSQL 与 Redis；CI=true 时缺少服务即失败）"
	echo "make bench      运行 benchmarks/bench_*.py 并输出性能数据"
	echo "make lint       ruff check"
	echo "make sysdeps    安装 Debian 软件包：$(SYSDEPS)"
	echo "make install    创建 $(VENV) 并安装 requirements-dev.txt（含 requirements.txt 与测试工具）"
	echo "make clean      删除缓存与 staticfiles；make distclean 另删 $(VENV)、db.sqlite3、media/"

$(PY):
	@if [ -z "$(PYTHON)" ]; then echo "找不到 python3.11 或 python3，请先安装 Python 3.11+" >&2; exit 1; fi
	"$(PYTHON)" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
		|| { echo "需要 Python 3.11 或更高版本（$(PYTHON) 版本过低）" >&2; exit 1; }
	echo "创建虚拟环境 $(VENV)（$(PYTHON)）"
	"$(PYTHON)" -m venv $(VENV) \
		|| { echo "创建虚拟环境失败；Debian/Ubuntu 上请先安装 python3-venv" >&2; exit 1; }

$(STAMP): requirements.txt requirements-dev.txt | $(PY)
	@echo "安装 Python 依赖（requirements-dev.txt：运行依赖 + 开发与测试工具）…"
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(STAMP)

venv install: $(STAMP)

run: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py load_reference
	$(PY) manage.py create_demo_users
	# DEBUG stays off unless set; --insecure serves the static files anyway (development server only).
	$(PY) manage.py runserver --insecure $(HOST):$(PORT)

sysdeps:
	@$(BANNER_SH)
	missing=""
	for pkg in $(SYSDEPS); do
		dpkg -s "$$pkg" >/dev/null 2>&1 || missing="$$missing $$pkg"
	done
	if [ -z "$$missing" ]; then exit 0; fi
	if ! command -v apt-get >/dev/null 2>&1; then
		banner "缺少系统软件包:$$missing，且本机没有 apt-get。" "浏览器测试 / 中文字体 / PDF 工具将不可用，请手动安装。"
		exit 0
	fi
	if [ "$$(id -u)" = 0 ]; then
		sudo=""
	elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
		sudo="sudo"
	else
		banner "缺少系统软件包:$$missing" "当前用户不是 root 且没有免密 sudo，无法自动安装。" \
			"请执行: sudo apt-get install -y $(SYSDEPS)"
		exit 0
	fi
	echo "安装系统软件包:$$missing"
	$$sudo apt-get update
	$$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y $(SYSDEPS)

test: install sysdeps
	@$(BANNER_SH)
	export DATABASE_URL='$(TEST_DATABASE_URL)'
	export CELERY_TEST_BROKER_URL='$(CELERY_TEST_BROKER_URL)'
	# Unit tests run Celery eagerly; the redis-marked tests use CELERY_TEST_BROKER_URL.
	unset CELERY_BROKER_URL CREDIT_PORTAL_NO_REDIS
	have_pg=1; have_redis=1
	PROBE_URL="$$DATABASE_URL" $(PY) -c "$$PG_PROBE" || have_pg=0
	PROBE_URL="$$CELERY_TEST_BROKER_URL" $(PY) -c "$$REDIS_PROBE" || have_redis=0
	if [ "$${CI:-}" = "true" ] && [ "$$have_pg$$have_redis" != "11" ]; then
		banner "CI=true：PostgreSQL 或 Redis 不可达，测试失败（CI 中不允许回退到 SQLite 或跳过）。" \
			"CI=true: PostgreSQL ($$(redact "$$DATABASE_URL")) or Redis ($$(redact "$$CELERY_TEST_BROKER_URL")) is unreachable." \
			"Start them (see .ci/run) and run make test again."
		exit 1
	fi
	if [ "$$have_pg" = 0 ]; then
		banner "PostgreSQL 不可达：测试回退到 SQLite，标记为 postgres 的测试将被跳过！" \
			"PostgreSQL unreachable at $$(redact "$$DATABASE_URL") — falling back to SQLite;" \
			"PostgreSQL-only tests are SKIPPED. This is not a full test run."
		unset DATABASE_URL
	fi
	if [ "$$have_redis" = 0 ]; then
		banner "Redis 不可达：需要真实 Redis/Celery worker 的测试（redis 标记）将被跳过！" \
			"Redis unreachable at $$(redact "$$CELERY_TEST_BROKER_URL") — Redis/Celery worker tests are SKIPPED."
		export CREDIT_PORTAL_NO_REDIS=1
	fi
	export CREDIT_PORTAL_SERVICES_CHECKED=1 CREDIT_PORTAL_HAVE_PG=$$have_pg CREDIT_PORTAL_HAVE_REDIS=$$have_redis
	status=0
	echo "== ruff check"
	$(VENV)/bin/ruff check . || status=1
	echo "== pytest (DATABASE_URL=$$(redact "$${DATABASE_URL:-<SQLite>}"))"
	$(PY) -m pytest $(PYTEST_ARGS) || status=$$?
	if [ "$$have_pg$$have_redis" != "11" ]; then
		banner "注意：本次测试未使用 PostgreSQL 和/或 Redis，部分测试已跳过（见上方 SKIPPED 原因）。"
	fi
	exit $$status

lint: install
	$(VENV)/bin/ruff check .

bench: install
	@$(BANNER_SH)
	shopt -s nullglob
	benches=(benchmarks/bench_*.py)
	if [ $${#benches[@]} -eq 0 ]; then echo "no benchmarks"; exit 0; fi
	# Benchmarks use their own database (benchmarks/common.py creates, migrates and loads it).
	export BENCH_DATABASE_URL='$(BENCH_DATABASE_URL)' DATABASE_URL='$(BENCH_DATABASE_URL)'
	export PYTHONPATH='$(CURDIR)' DJANGO_SETTINGS_MODULE=credit_portal.settings
	if ! PROBE_URL="$$BENCH_DATABASE_URL" $(PY) -c "$$PG_PROBE"; then
		banner "PostgreSQL 不可达：基准测试需要 PostgreSQL（BENCH_DATABASE_URL=$$(redact "$$BENCH_DATABASE_URL")）。" \
			"PostgreSQL unreachable — the benchmarks measure the PostgreSQL path and cannot run."
		exit 1
	fi
	status=0
	for bench in "$${benches[@]}"; do
		echo "== $$bench"
		$(PY) "$$bench" || status=1
	done
	exit $$status

clean:
	rm -rf .pytest_cache .ruff_cache staticfiles $(STAMP)
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV) db.sqlite3 media
