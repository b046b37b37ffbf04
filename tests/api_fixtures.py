"""Fixtures of the API tests (a pytest plugin: `pytest_plugins = ["tests.api_fixtures"]`)."""

import pytest
from django.core.cache import cache

from api.tokens import token_issue
from reporting.models import Unit

from .api_helpers import Api


@pytest.fixture(autouse=True)
def _fresh_throttle_counts():
    cache.clear()  # throttle counters live in the cache; token ids may repeat between tests (SQLite)
    yield
    cache.clear()


@pytest.fixture
def token(users):
    """D02's token, issued as the admin would."""
    _, text = token_issue(unit=Unit.objects.get(code="D02"), user=users["admin"])
    return text


@pytest.fixture
def api(token):
    return Api(token)
