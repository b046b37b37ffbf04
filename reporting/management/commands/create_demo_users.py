from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group, Permission
from django.core.management.base import BaseCommand
from django.db import transaction

from reporting.models import Unit, User

DEMO_PASSWORD = "demo12345"
OFFICE_GROUP = "信用办审核员"


def office_group():
    group, _ = Group.objects.get_or_create(name=OFFICE_GROUP)
    group.permissions.add(Permission.objects.get(codename="review_monthlyreport"))
    return group


class Command(BaseCommand):
    help = "创建演示账号（仅用于演示，切勿用于生产）：每个单位一个填报员、信用办审核员 office、管理员 admin"

    @transaction.atomic
    def handle(self, *args, **options):
        created = 0
        # One hash for all demo reporters: hashing 63 times takes a minute.
        password = make_password(DEMO_PASSWORD)
        for unit in Unit.objects.all():
            user, new = User.objects.get_or_create(username=unit.code.lower(), defaults={"unit": unit})
            if new:
                user.display_name = f"{unit.short_name}填报员"
                user.password = password
                user.save()
                created += 1
        office, new = User.objects.get_or_create(username="office", defaults={"display_name": "信用办审核员"})
        if new:
            office.set_password(DEMO_PASSWORD)
            office.save()
            created += 1
        office.groups.add(office_group())
        if not User.objects.filter(username="admin").exists():
            User.objects.create_superuser("admin", "", DEMO_PASSWORD, display_name="系统管理员")
            created += 1
        self.stdout.write(f"演示账号已就绪（新建 {created} 个），密码均为 {DEMO_PASSWORD}，仅供演示。")
