from django.core.management.base import BaseCommand

from reporting.reference import reference_load


class Command(BaseCommand):
    help = "载入/更新参考数据：信源单位、报送类别（幂等，可重复运行）"

    def handle(self, *args, **options):
        units, categories = reference_load()
        self.stdout.write(f"参考数据已载入：{units} 个信源单位，{categories} 个报送类别。")
