from django.core.management.base import BaseCommand

from disclosure.services import entries_rebuild


class Command(BaseCommand):
    help = "重建信用信息公示条目（已通过月份的行政许可、行政处罚）：部署后首次运行，或用于修复。"

    def handle(self, *args, **options):
        written = entries_rebuild()
        self.stdout.write(f"已重建信用信息公示条目 {written} 条。")
