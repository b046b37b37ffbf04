import json
from pathlib import Path

from django.core.files import File
from django.core.management.base import CommandError
from django.db import transaction

from reporting import imports, services
from reporting.management.cli import ReportCommand, category_for
from reporting.models import ImportBatch
from reporting.validation import KEPT_ERRORS


class Command(ReportCommand):
    help = (
        "导入一个逐条记录类别的 Excel（.xlsx）或 CSV 文件，与网页上传走同一套校验。"
        "文件有任何错误则不导入（除非指定 --keep-valid-rows）；--dry-run 只校验，不保存任何数据（JSON 中 imported 为 0）。"
        "默认替换本类别本月已有的记录，--append 追加到已有记录（文书号不得与已有记录重复）。"
        "加 --json 时，标准输出的最后一行为 {\"imported\": N, \"errors\": [{\"row\": R, \"column\": \"…\", \"message\": \"…\"}, …], "
        f"\"error_count\": 错误总数}}（errors 只列出前 {KEPT_ERRORS} 处错误）。"
        "导入成功、重复文件或试运行校验通过时退出码为 0，被拒绝或校验未通过时非 0。"
    )

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--category", required=True, help="类别编码，如 admin_license")
        parser.add_argument("--dry-run", action="store_true", help="只校验，不保存任何数据")
        parser.add_argument("--json", action="store_true", help="最后一行输出 JSON 结果")
        parser.add_argument("--keep-valid-rows", action="store_true", help="有错误时仍导入正确的行（须明确指定）")
        parser.add_argument("--append", action="store_true", help="追加到本类别已有的记录，而不是替换")
        parser.add_argument("file", help="要导入的 .xlsx 或 .csv 文件")

    def handle(self, *args, **options):
        self.as_json = options["json"]
        self.json_written = False
        try:
            super().handle(*args, **options)
        except CommandError as exc:
            # Every refusal, however early, still ends --json output with the result line.
            self.write_json(0, [{"row": None, "column": None, "message": str(exc)}], 1)
            raise

    def handle_month(self, unit, period, options):
        category = category_for(unit, options["category"])
        if not category.is_records:
            raise CommandError(f"“{category.name}”是数量类别，请用 set_count 填报数量，不能导入文件。")
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"找不到文件：{path}")
        mode = ImportBatch.Mode.APPEND if options["append"] else ImportBatch.Mode.REPLACE
        if options["dry_run"]:
            self.dry_run(unit, period, category, path, keep_valid_rows=options["keep_valid_rows"], mode=mode)
        else:
            self.store(unit, period, category, path, keep_valid_rows=options["keep_valid_rows"], mode=mode)

    def dry_run(self, unit, period, category, path, *, keep_valid_rows, mode):
        # Validation reads the report's month; the transaction is always rolled back so nothing is kept.
        with transaction.atomic():
            try:
                report = services.report_get_or_create(unit=unit, period=period)
                services.report_check_editable(report=report, user=None)
                result = imports.file_validate(path=path, name=path.name, report=report, category=category,
                                               mode=mode)
            finally:
                transaction.set_rollback(True)
        if result.is_valid:
            self.say(f"试运行：校验通过，共 {result.total_rows} 行，可以导入到{report}“{category.name}”（未保存任何数据）。")
            self.write_json(0, [], 0)
            return
        summary = f"试运行：{result.summary()}，未保存任何数据。"
        if keep_valid_rows and result.rows and not result.stopped:
            self.say(f"{summary}加 --keep-valid-rows 导入时将导入正确的 {len(result.rows)} 行。")
            self.say_errors(result.errors)
            self.write_json(0, result.errors, result.error_count)
            return
        self.fail(summary, result.errors, result.error_count)

    def store(self, unit, period, category, path, *, keep_valid_rows, mode):
        report = services.report_get_or_create(unit=unit, period=period)
        with open(path, "rb") as f:
            batch = imports.batch_create(report=report, category=category, fileobj=File(f, name=path.name),
                                         name=path.name, user=None, keep_valid_rows=keep_valid_rows, mode=mode)
        # The operator waits for the result: the CLI never hands a file to the background worker.
        batch = imports.records_import(batch_id=batch.pk)
        Status = ImportBatch.Status
        if batch.status in (Status.REFUSED, Status.INTERRUPTED):
            self.fail(batch.message, [{"row": None, "column": None, "message": batch.message}], 1, listed=False)
        if batch.status == Status.FAILED:
            self.fail(batch.message, batch.errors, batch.error_count)
        self.say(f"{report}“{category.name}”：{batch.message}")
        self.say_errors(batch.errors)
        self.write_json(batch.imported_rows, batch.errors, batch.error_count)

    def say(self, line):
        # With --json, stdout carries only the JSON line; the words go to stderr.
        if self.as_json:
            self.stderr.write(line, style_func=str)
        else:
            self.stdout.write(line)

    def say_errors(self, errors):
        if not self.as_json:
            for e in errors:
                self.stdout.write(f"第 {e['row']} 行【{e['column']}】{e['message']}")

    def write_json(self, imported, errors, error_count):
        if self.as_json and not self.json_written:
            line = {"imported": imported, "errors": errors, "error_count": error_count}
            self.stdout.write(json.dumps(line, ensure_ascii=False))
            self.json_written = True

    def fail(self, message, errors, error_count, *, listed=True):
        if listed:
            self.say_errors(errors)
        self.write_json(0, errors, error_count)
        raise CommandError(message)
