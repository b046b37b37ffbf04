"""Sign-in defence: lockout by username and address, the office's unlock page, password rules,
forced password change, and the headers every page carries (CSP, no-store)."""

import datetime
import re
from html.parser import HTMLParser

import pytest
import tablib
from axes.models import AccessAttempt
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from rankings.services import stats_rebuild
from reporting.models import AuditEvent, Unit, User
from reporting.resources import UserResource

from . import stats_dataset as data
from .factories import records, xlsx_bytes

PASSWORD = "demo12345"
OFFICE_ADDRESS = "10.20.30.40"
OTHER_ADDRESS = "10.20.30.41"


def log_in(client, username, password, *, address=OFFICE_ADDRESS, url=None):
    return client.post(url or reverse("login"), {"username": username, "password": password},
                       REMOTE_ADDR=address)


def signed_in(client):
    return "_auth_user_id" in client.session


def fail(client, username, times, **kwargs):
    for _ in range(times):
        response = log_in(client, username, "wrong-password", **kwargs)
    return response


# --- lockout ----------------------------------------------------------------------------------


def test_five_failures_lock_the_account_even_with_the_right_password(client, users):
    response = fail(client, "d01", 5)
    assert response.status_code == 429
    response = log_in(client, "d01", PASSWORD)
    assert response.status_code == 429
    assert not signed_in(client)
    page = response.content.decode()
    assert "登录已暂时锁定" in page and "d01" in page


def test_four_failures_do_not_lock(client, users):
    fail(client, "d01", 4)
    assert log_in(client, "d01", PASSWORD).status_code == 302
    assert signed_in(client)


def test_lockout_page_says_when_to_retry(client, users, settings):
    fail(client, "d01", 5)
    response = log_in(client, "d01", PASSWORD)
    last = AccessAttempt.objects.get(username="d01").attempt_time
    retry_at = timezone.localtime(last + datetime.timedelta(minutes=15))
    assert f"{retry_at:%H:%M}" in response.content.decode()
    assert "15 分钟" in response.content.decode()


def test_attempts_during_a_lockout_do_not_extend_it(client, users):
    fail(client, "d01", 5)
    first = AccessAttempt.objects.get(username="d01").attempt_time
    fail(client, "d01", 3)
    assert AccessAttempt.objects.get(username="d01").attempt_time == first


def test_lockout_ends_after_the_cool_off(client, users):
    fail(client, "d01", 5)
    AccessAttempt.objects.update(attempt_time=timezone.now() - datetime.timedelta(minutes=16))
    assert log_in(client, "d01", PASSWORD).status_code == 302


def test_same_user_from_another_address_is_not_locked(client, users):
    fail(client, "d01", 5)
    assert log_in(client, "d01", PASSWORD, address=OTHER_ADDRESS).status_code == 302


def test_another_user_from_the_same_address_is_not_locked(client, users):
    fail(client, "d01", 5)
    assert log_in(client, "d02", PASSWORD).status_code == 302


def test_success_resets_the_failure_count(client, users):
    fail(client, "d01", 4)
    assert log_in(client, "d01", PASSWORD).status_code == 302
    client.post(reverse("logout"))
    fail(client, "d01", 4)
    assert log_in(client, "d01", PASSWORD).status_code == 302


def test_limit_and_cool_off_are_settings(client, users, settings):
    settings.AXES_FAILURE_LIMIT = 2
    settings.AXES_COOLOFF_TIME = datetime.timedelta(minutes=30)
    response = fail(client, "d01", 2)
    assert response.status_code == 429
    assert "30 分钟" in response.content.decode()


def test_admin_login_is_covered(client, users):
    admin_login = reverse("admin:login")
    response = fail(client, "admin", 5, url=admin_login)
    assert response.status_code == 429
    assert "登录已暂时锁定" in response.content.decode()
    assert log_in(client, "admin", PASSWORD, url=admin_login).status_code == 429
    assert not signed_in(client)
    # …and the portal's login shares the count.
    assert log_in(client, "admin", PASSWORD).status_code == 429


def test_failures_behind_a_proxy_count_per_client_address(client, users, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    for _ in range(5):
        client.post(reverse("login"), {"username": "d01", "password": "x"},
                    REMOTE_ADDR="172.16.0.1", HTTP_X_FORWARDED_FOR="10.0.0.7")
    assert AccessAttempt.objects.get(username="d01").ip_address == "10.0.0.7"
    response = client.post(reverse("login"), {"username": "d01", "password": PASSWORD},
                           REMOTE_ADDR="172.16.0.1", HTTP_X_FORWARDED_FOR="10.0.0.8")
    assert response.status_code == 302


# --- the office's unlock page -----------------------------------------------------------------


def test_office_sees_and_unlocks_a_locked_account(client, users):
    fail(Client(), "d01", 5)
    fail(Client(), "c01", 2)  # not locked: not listed
    client.force_login(users["office"])
    page = client.get(reverse("lockout_list"))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-username="d01"' in html and OFFICE_ADDRESS in html
    assert 'data-username="c01"' not in html

    response = client.post(reverse("lockout_unlock"), {"username": "d01", "ip_address": OFFICE_ADDRESS})
    assert response.status_code == 302
    assert not AccessAttempt.objects.filter(username="d01").exists()
    event = AuditEvent.objects.get(action=AuditEvent.Action.UNLOCKED)
    assert event.actor == users["office"]
    assert event.details == {"username": "d01", "ip_address": OFFICE_ADDRESS, "failures": 5}
    assert log_in(Client(), "d01", PASSWORD).status_code == 302


def test_unlock_leaves_the_other_addresses_locked(client, users):
    fail(Client(), "d01", 5)
    fail(Client(), "d01", 5, address=OTHER_ADDRESS)
    client.force_login(users["admin"])
    client.post(reverse("lockout_unlock"), {"username": "d01", "ip_address": OFFICE_ADDRESS})
    assert log_in(Client(), "d01", PASSWORD, address=OTHER_ADDRESS).status_code == 429


def test_unit_reporters_cannot_see_or_unlock_lockouts(client, users):
    fail(Client(), "d02", 5)
    client.force_login(users["dept"])
    assert client.get(reverse("lockout_list")).status_code == 403
    assert client.post(reverse("lockout_unlock"), {"username": "d02", "ip_address": OFFICE_ADDRESS}).status_code == 403
    assert AccessAttempt.objects.filter(username="d02").exists()
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.UNLOCKED).exists()


def test_unlock_page_needs_a_login(client, users):
    assert client.get(reverse("lockout_list")).status_code == 302


# --- password rules ---------------------------------------------------------------------------


@pytest.mark.parametrize("password", ["Xq7kLm2pZ", "password123", "12345678901", "password"])
def test_weak_passwords_are_refused(password):
    with pytest.raises(ValidationError):
        validate_password(password)


def test_a_ten_character_uncommon_password_is_accepted():
    assert validate_password("Xq7kLm2pZw") is None  # raises ValidationError when refused


def test_password_change_refuses_a_short_password_in_chinese(client, users):
    client.force_login(users["dept"])
    response = client.post(reverse("password_change"), {
        "old_password": PASSWORD, "new_password1": "Xq7kLm2pZ", "new_password2": "Xq7kLm2pZ",
    })
    assert response.status_code == 200
    assert "密码太短，至少需要 10 个字符。" in response.content.decode()
    users["dept"].refresh_from_db()
    assert users["dept"].check_password(PASSWORD)


def test_password_change_refuses_a_common_password_in_chinese(client, users):
    client.force_login(users["dept"])
    response = client.post(reverse("password_change"), {
        "old_password": PASSWORD, "new_password1": "password123", "new_password2": "password123",
    })
    assert "这个密码太常见了。" in response.content.decode()


def test_demo_users_keep_their_password_and_are_not_forced_to_change_it(client, users):
    assert not User.objects.filter(must_change_password=True).exists()
    assert log_in(client, "d01", PASSWORD).status_code == 302
    assert client.get(reverse("home")).status_code == 200


# --- forced password change -------------------------------------------------------------------


@pytest.fixture
def admin_created(client, users):
    """A reporter the admin added with a password they chose, then the admin logs out."""
    client.force_login(users["admin"])
    response = client.post(reverse("admin:reporting_user_add"), {
        "username": "d01b", "usable_password": "true", "password1": "Initial-2019-pw", "password2": "Initial-2019-pw",
        "unit": Unit.objects.get(code="D01").pk, "display_name": "新填报员",
    })
    assert response.status_code == 302
    client.logout()
    return User.objects.get(username="d01b")


def test_user_added_by_the_admin_must_change_password_at_first_login(client, admin_created):
    assert admin_created.must_change_password
    assert log_in(client, "d01b", "Initial-2019-pw").status_code == 302
    response = client.get(reverse("home"))
    assert response.status_code == 302 and response["Location"] == reverse("password_change")
    assert client.get(reverse("stat_index"))["Location"] == reverse("password_change")
    page = client.get(reverse("password_change"))
    assert "您的密码由管理员设置" in page.content.decode()

    response = client.post(reverse("password_change"), {
        "old_password": "Initial-2019-pw", "new_password1": "Own-choice-2019", "new_password2": "Own-choice-2019",
    })
    assert response.status_code == 302 and response["Location"] == reverse("password_change_done")
    admin_created.refresh_from_db()
    assert not admin_created.must_change_password
    assert client.get(reverse("home")).status_code == 200


def test_user_who_must_change_password_can_still_log_out(client, admin_created):
    log_in(client, "d01b", "Initial-2019-pw")
    assert client.post(reverse("logout")).status_code == 302
    assert not signed_in(client)


def test_password_set_by_the_admin_is_temporary(client, users):
    client.force_login(users["admin"])
    user = users["county"]
    response = client.post(reverse("admin:auth_user_password_change", args=[user.pk]), {
        "usable_password": "true", "password1": "Reset-by-admin-1", "password2": "Reset-by-admin-1",
    })
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password("Reset-by-admin-1") and user.must_change_password


def test_users_imported_from_excel_must_change_password(users):
    dataset = tablib.Dataset(headers=["用户名", "姓名", "所属单位编码", "启用"])
    dataset.append(["c01b", "县填报员", "C01", "是"])
    result = UserResource().import_data(dataset)
    assert not result.has_errors()
    assert User.objects.get(username="c01b").must_change_password


# --- headers: CSP and no-store ----------------------------------------------------------------


def test_pages_carry_a_content_security_policy_without_inline_script(client, users):
    for response in (client.get(reverse("login")), client.get("/no-such-page/")):
        policy = response["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "style-src 'self'" in policy
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
        assert "frame-ancestors 'none'" in policy


def test_signed_in_pages_are_not_stored(client, users):
    client.force_login(users["dept"])
    response = client.get(reverse("home"))
    assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]


def test_downloads_with_personal_data_are_not_stored(client, users, dept_report, upload):
    batch = upload(dept_report, "admin_license", xlsx_bytes("license", records("license", 2)))
    client.force_login(users["dept"])
    response = client.get(reverse("batch_file", args=[batch.pk]))
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]


# --- no inline script or style in the rendered pages ------------------------------------------


class InlineCode(HTMLParser):
    """Collects what a strict CSP would refuse: inline <script>/<style>, style= and on…= attributes."""

    def __init__(self):
        super().__init__()
        self.found = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script" and "src" not in attrs and attrs.get("type") != "application/json":
            self.found.append(f"<script> without src: {attrs}")
        if tag == "style":
            self.found.append("<style>")
        for name in attrs:
            if name == "style" or re.fullmatch(r"on[a-z]+", name):
                self.found.append(f"<{tag} {name}=…>")


def inline_code(html):
    parser = InlineCode()
    parser.feed(html)
    return parser.found


@pytest.fixture
def seeded(users, upload):
    """The statistics dataset of the test_stat_* modules (charts have data), with the named users."""
    data.build(upload)
    stats_rebuild()
    return users


def family_urls():
    """One page of every family: reporting, office, statistics, rankings, bulletins, accounts."""
    year = data.YEAR
    return {
        "dept": [
            reverse("home"), f"{reverse('home')}?year={year}",
            reverse("report_detail", args=["D01", f"{year}-01"]),
            reverse("report_records", args=["D01", f"{year}-01", "admin_license"]),
            reverse("stat_index"), reverse("stat_table", args=["department"]) + f"?year={year}&from=1&through=3",
            reverse("stat_unit", args=["D01"]) + f"?year={year}",
            reverse("rankings"), reverse("unit_ranking", args=["D01"]), reverse("city_rank"),
            reverse("bulletin_list"), reverse("password_change"),
        ],
        "office": [
            reverse("home"), reverse("review_queue"), reverse("month_overview"),
            reverse("report_detail", args=["C01", f"{year}-03"]),
            reverse("stat_table", args=["county_park"]) + f"?year={year}&from=1&through=3",
            reverse("lockout_list"), reverse("bulletin_create"),
        ],
    }


def test_no_inline_script_or_style_in_the_main_pages(client, seeded):
    pages = 0
    for who, urls in family_urls().items():
        client.force_login(seeded[who])
        for url in urls:
            response = client.get(url, follow=True)
            assert response.status_code == 200, url
            assert inline_code(response.content.decode()) == [], url
            pages += 1
    client.logout()
    assert inline_code(client.get(reverse("login")).content.decode()) == []
    assert pages > 15


def test_chart_pages_carry_their_data_as_json_not_script(client, seeded):
    client.force_login(seeded["office"])
    html = client.get(reverse("stat_table", args=["county_park"]) + f"?year={data.YEAR}&from=1&through=3").content.decode()
    assert '<script id="column-chart-data" type="application/json">' in html


def test_htmx_is_told_not_to_inject_its_style(client):
    html = client.get(reverse("login")).content.decode()
    assert """<meta name="htmx-config" content='{"includeIndicatorStyles": false}'>""" in html


def test_batch_progress_bar_has_no_style_attribute():
    from django.template.loader import render_to_string

    from reporting.models import ImportBatch

    html = render_to_string("reporting/_batch_progress.html", {
        "batch": ImportBatch(pk=1, status=ImportBatch.Status.RUNNING, progress=42),
    })
    assert 'data-progress="42"' in html and inline_code(html) == []
