"""`api_token --unit D02 [--revoke] [--json]` and the admin's issue / rotate / revoke, token shown once."""

import io
import json

import pytest
from django.contrib.messages import get_messages
from django.core.management import CommandError, call_command
from django.test import Client

from api.models import ApiCall, ApiToken, token_digest
from reporting.models import Unit

from .api_helpers import Api, url

pytest_plugins = ["tests.api_fixtures"]
pytestmark = pytest.mark.django_db


def run(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command("api_token", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def last_json(out):
    return json.loads(out.strip().splitlines()[-1])


def test_issue_prints_the_token_once_and_it_works(users):
    out, err = run("--unit", "d02", "--json")
    data = last_json(out)
    assert set(data) >= {"unit", "token"} and data["unit"] == "D02" and data["revoked"] == 0
    assert len(out.strip().splitlines()) == 1 and "只显示这一次" in err
    assert Api(data["token"]).get(url()).status_code == 200
    row = ApiToken.objects.get()
    assert row.key_hash == token_digest(data["token"]) and row.prefix == data["prefix"]
    assert row.created_by is None and row.user.unit.code == "D02" and not row.user.has_usable_password()


def test_issuing_again_rotates_and_revoke_ends_access(users):
    first = last_json(run("--unit", "D02", "--json")[0])
    second = last_json(run("--unit", "D02", "--json")[0])
    assert second["revoked"] == 1
    assert Api(first["token"]).get(url()).status_code == 401
    assert Api(second["token"]).get(url()).status_code == 200
    assert last_json(run("--unit", "D02", "--revoke", "--json")[0]) == {"unit": "D02", "revoked": 1}
    assert Api(second["token"]).get(url()).status_code == 401
    assert last_json(run("--unit", "D02", "--revoke", "--json")[0]) == {"unit": "D02", "revoked": 0}


def test_plain_output_shows_the_token_and_an_unknown_unit_is_refused(users):
    out, _ = run("--unit", "C01")
    token = out.strip().splitlines()[-1]
    assert token.startswith("cpk_") and Api(token).get(url("C01")).status_code == 200
    with pytest.raises(CommandError, match="X99"):
        run("--unit", "X99")


def test_the_api_account_cannot_sign_in_to_the_portal(users):
    run("--unit", "D02")
    account = ApiToken.objects.get().user
    assert account.is_active is False and not account.has_usable_password()
    client = Client()
    response = client.post("/accounts/login/", {"username": account.username, "password": "anything-at-all"})
    assert response.status_code == 200 and "_auth_user_id" not in client.session


def test_admin_issues_a_token_and_shows_it_once(users):
    client = Client()
    client.force_login(users["admin"])
    unit = Unit.objects.get(code="D02")
    response = client.post("/admin/api/apitoken/add/", {"unit": unit.pk, "note": "执法办案系统"})
    assert response.status_code == 302
    [message] = [str(m) for m in get_messages(response.wsgi_request)]
    token = message.rsplit("：", 1)[-1]
    assert token.startswith("cpk_") and "只显示这一次" in message
    assert Api(token).get(url()).status_code == 200
    assert token in client.get("/admin/api/apitoken/").content.decode()  # the one time it is shown
    page = client.get("/admin/api/apitoken/").content.decode()
    assert ApiToken.objects.get().prefix in page and token not in page
    assert token not in client.get(f"/admin/api/apitoken/{ApiToken.objects.get().pk}/change/").content.decode()


def test_admin_issuing_for_a_unit_with_a_token_rotates_it(users, token):
    client = Client()
    client.force_login(users["admin"])
    response = client.post("/admin/api/apitoken/add/", {"unit": Unit.objects.get(code="D02").pk, "note": ""})
    assert response.status_code == 302
    [message] = [str(m) for m in get_messages(response.wsgi_request)]
    assert "原有的 1 个令牌已吊销" in message
    assert Api(token).get(url()).status_code == 401
    assert Api(message.rsplit("：", 1)[-1]).get(url()).status_code == 200


def test_admin_rotates_and_revokes_with_actions(users, token):
    client = Client()
    client.force_login(users["admin"])
    row = ApiToken.objects.get()
    response = client.post("/admin/api/apitoken/", {"action": "rotate_tokens", "_selected_action": [row.pk]})
    new = [str(m) for m in get_messages(response.wsgi_request)][-1].rsplit("：", 1)[-1]
    assert Api(token).get(url()).status_code == 401 and Api(new).get(url()).status_code == 200
    active = ApiToken.objects.get(revoked_at__isnull=True)
    client.post("/admin/api/apitoken/", {"action": "revoke_tokens", "_selected_action": [active.pk]})
    assert Api(new).get(url()).status_code == 401
    assert ApiToken.objects.get(pk=active.pk).revoked_by == users["admin"]


def test_the_call_log_is_read_only_in_the_admin(users, api):
    api.get(url())
    client = Client()
    client.force_login(users["admin"])
    call = ApiCall.objects.get()
    assert client.get("/admin/api/apicall/").status_code == 200
    assert client.get(f"/admin/api/apicall/{call.pk}/change/").status_code == 200
    assert client.post(f"/admin/api/apicall/{call.pk}/delete/", {"post": "yes"}).status_code == 403
    assert client.get("/admin/api/apicall/add/").status_code == 403
    assert ApiCall.objects.filter(pk=call.pk).exists()
