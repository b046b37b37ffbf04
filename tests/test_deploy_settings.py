"""Deployment settings: `check --deploy` is clean under the production environment documented in
README.md, development defaults are safe, compose refuses to start without secrets, and the
production requirements carry no test tools."""

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DEV_TOOLS = ("pytest", "pytest-django", "pytest-timeout", "hypothesis", "playwright", "ruff")


def documented_production_env():
    """The ```env block under README's 生产环境变量 heading."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("### 生产环境变量", 1)[1]
    block = re.search(r"```env\n(.*?)```", section, re.S)[1]
    return dict(line.split("=", 1) for line in block.splitlines() if line.strip())


def clean_env(**variables):
    """The test process's environment without any of the portal's settings, plus these."""
    env = {name: value for name, value in os.environ.items()
           if name in ("PATH", "HOME", "LANG", "LC_ALL", "PYTHONPATH", "VIRTUAL_ENV", "TMPDIR")}
    env["DJANGO_SETTINGS_MODULE"] = "credit_portal.settings"
    env.update(variables)
    return env


def manage(*args, env):
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def setting(expression, env):
    code = f"import django; django.setup(); from django.conf import settings; print({expression})"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@pytest.fixture(scope="module")
def production_env():
    env = documented_production_env()
    env["SECRET_KEY"] = secrets.token_urlsafe(50)  # the README holds a placeholder
    env["DATABASE_URL"] = "sqlite:////tmp/credit-portal-deploy-check.sqlite3"  # check --deploy needs no database
    return clean_env(**env)


def test_check_deploy_is_clean_under_the_documented_production_env(production_env):
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=production_env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_check_deploy_warns_with_the_development_defaults():
    """The control: the check is not silenced wholesale; the defaults are for a developer's machine."""
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=clean_env())
    assert result.returncode != 0
    for warning in ("security.W004", "security.W008", "security.W009", "security.W012", "security.W016"):
        assert warning in result.stderr + result.stdout, warning


def test_documented_production_env_turns_on_https_settings(production_env):
    values = setting("settings.DEBUG, settings.SECURE_SSL_REDIRECT, settings.SECURE_PROXY_SSL_HEADER, "
                     "settings.SECURE_HSTS_SECONDS, settings.SESSION_COOKIE_SECURE, settings.CSRF_COOKIE_SECURE",
                     production_env)
    assert values == "False True ('HTTP_X_FORWARDED_PROTO', 'https') 31536000 True True"


def test_debug_is_off_unless_set():
    assert setting("settings.DEBUG", clean_env()) == "False"
    assert setting("settings.DEBUG", clean_env(DEBUG="true")) == "True"


def test_lockout_limit_and_cool_off_come_from_the_environment():
    assert setting("settings.AXES_FAILURE_LIMIT, settings.AXES_COOLOFF_TIME", clean_env()) == "5 0:15:00"
    env = clean_env(AXES_FAILURE_LIMIT="3", AXES_COOLOFF_MINUTES="30")
    assert setting("settings.AXES_FAILURE_LIMIT, settings.AXES_COOLOFF_TIME", env) == "3 0:30:00"


def test_lockout_counts_username_and_address_together(settings):
    assert settings.AXES_LOCKOUT_PARAMETERS == [["username", "ip_address"]]
    assert settings.AXES_RESET_ON_SUCCESS is True
    assert settings.AUTHENTICATION_BACKENDS[0] == "axes.backends.AxesStandaloneBackend"


def test_compose_refuses_to_start_without_secret_key_and_database_password():
    compose = (ROOT / "docker-compose.yml").read_text(encoding="utf-8")
    for name in ("SECRET_KEY", "POSTGRES_PASSWORD"):
        uses = re.findall(r"\$\{" + name + r"([^}]*)\}", compose)
        assert uses, name
        assert all(use.startswith(":?") for use in uses), (name, uses)


def test_compose_redis_keeps_queued_tasks():
    compose = (ROOT / "docker-compose.yml").read_text(encoding="utf-8")
    redis_command = re.search(r"redis-server.*", compose)[0]
    assert '"--appendonly", "yes"' in redis_command
    assert '"--maxmemory-policy", "noeviction"' in redis_command


def requirement_names(path):
    names = []
    for line in (ROOT / path).read_text().splitlines():
        line = line.strip()
        if line and not line.startswith(("#", "-r")):
            assert "==" in line, f"{path}: {line} is not pinned"
            names.append(re.split(r"[\[=]", line)[0].lower().replace("_", "-"))
    return names


def test_production_requirements_carry_no_test_tools():
    production = requirement_names("requirements.txt")
    assert not set(DEV_TOOLS) & set(production)
    assert {"django", "django-axes", "django-csp", "gunicorn"} <= set(production)


def test_dev_requirements_add_the_test_tools_on_top_of_production():
    lines = (ROOT / "requirements-dev.txt").read_text().splitlines()
    assert next(line for line in lines if line and not line.startswith("#")) == "-r requirements.txt"
    assert set(DEV_TOOLS) <= set(requirement_names("requirements-dev.txt"))


def test_docker_image_installs_only_production_requirements():
    instructions = [line for line in (ROOT / "Dockerfile").read_text().splitlines() if not line.startswith("#")]
    assert "RUN pip install -r requirements.txt" in instructions
    assert not any("requirements-dev" in line for line in instructions)
