"""忘记密码: Django's reset by e-mailed link, in Chinese, with the console backend unless EMAIL_URL is set."""

import os
import re
import subprocess
import sys

import pytest
from django.core import mail
from django.urls import reverse

from reporting.models import User

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "Xinyong-2026-mima"


@pytest.fixture
def clerk(users):
    user = users["dept"]
    user.email = "d01@example.gov.cn"
    user.must_change_password = True
    user.save()
    return user


def reset_link(message):
    return re.search(r"https?://[^/\s]+(/accounts/password/reset/[^\s]+/)", message.body)[1]


def test_login_pages_offer_the_reset(client):
    assert reverse("password_reset") in client.get(reverse("login")).content.decode()
    admin_login = client.get(reverse("admin:login")).content.decode()
    assert reverse("admin_password_reset") in admin_login
    assert client.get(reverse("admin_password_reset"))["Location"] == reverse("password_reset")


def test_a_known_address_gets_one_chinese_mail_with_a_link(client, clerk):
    response = client.post(reverse("password_reset"), {"email": "D01@example.gov.cn"}, follow=True)
    assert "请查收邮件" in response.content.decode()
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["d01@example.gov.cn"]
    assert message.subject == "信用信息报送平台：重置密码"
    assert "“d01”的密码" in message.body and "链接只能使用一次" in message.body
    assert reset_link(message)


def test_an_unknown_address_gets_the_same_page_and_no_mail(client, clerk):
    response = client.post(reverse("password_reset"), {"email": "nobody@example.gov.cn"}, follow=True)
    assert "请查收邮件" in response.content.decode()
    assert mail.outbox == []


def test_the_link_sets_a_new_password_once_and_lifts_the_forced_change(client, clerk):
    client.post(reverse("password_reset"), {"email": clerk.email})
    link = reset_link(mail.outbox[0])

    form = client.get(link, follow=True)
    assert "设置新密码" in form.content.decode() and "账号：d01" in form.content.decode()
    set_url = form.redirect_chain[-1][0]

    weak = client.post(set_url, {"new_password1": "123", "new_password2": "123"})
    assert "密码太短" in weak.content.decode()

    done = client.post(set_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}, follow=True)
    assert "新密码已设置" in done.content.decode()
    clerk.refresh_from_db()
    assert clerk.check_password(NEW_PASSWORD) and clerk.must_change_password is False
    signed_in = client.post(reverse("login"), {"username": "d01", "password": NEW_PASSWORD})
    assert signed_in.status_code == 302 and signed_in["Location"] == reverse("home")
    client.post(reverse("logout"))

    again = client.get(link, follow=True)
    assert "链接已失效" in again.content.decode()


def test_without_email_url_mail_goes_to_the_console():
    env = {k: v for k, v in os.environ.items() if k != "EMAIL_URL"}
    env["DJANGO_SETTINGS_MODULE"] = "credit_portal.settings"
    out = subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); from django.conf import settings; print(settings.EMAIL_BACKEND)"],
        capture_output=True, text=True, env=env, check=True,
    ).stdout.strip()
    assert out == "django.core.mail.backends.console.EmailBackend"


def test_reset_pages_are_chinese_and_write_nothing_on_get(client, users):
    before = User.objects.count()
    for name in ("password_reset", "password_reset_done", "password_reset_complete"):
        page = client.get(reverse(name)).content.decode()
        assert "<html lang=\"zh-hans\">" in page
    page = client.get(reverse("password_reset_confirm", args=["MQ", "set-password"])).content.decode()
    assert "链接已失效" in page
    assert User.objects.count() == before
