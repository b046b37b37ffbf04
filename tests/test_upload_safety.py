"""Files that must be refused before any row is read, and the encodings that must be read.

Every refusal goes through the same services as the browser and the CLI: the
batch ends "refused" with a Chinese message, and nothing is stored.
"""

import io
import zipfile

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from reporting import imports
from reporting.excel import OLE_MAGIC, UploadRefused
from reporting.models import AuditEvent, Category, ImportBatch, Record

from .factories import csv_bytes, header_row, records, xlsx_bytes

pytestmark = pytest.mark.django_db


def zip_bytes(entries, compression=zipfile.ZIP_DEFLATED):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return out.getvalue()


def ole_bytes(*, encrypted=False):
    """Enough of an OLE compound file (the old .xls container) for the sniffing to see."""
    body = bytearray(4096)
    if encrypted:
        marker = "EncryptedPackage".encode("utf-16-le")
        body[1200:1200 + len(marker)] = marker
    return OLE_MAGIC + bytes(body)


def assert_refused(batch, fragment, report):
    assert batch.status == ImportBatch.Status.REFUSED
    assert fragment in batch.message
    assert batch.imported_rows == 0
    assert Record.objects.filter(report=report).count() == 0
    assert report.entries.get(category=batch.category).record_count == 0
    event = AuditEvent.objects.get(batch=batch)
    assert event.action == AuditEvent.Action.IMPORT_REFUSED
    assert fragment in event.message


def test_pdf_behind_an_xlsx_name_is_refused(dept_report, upload):
    batch = upload(dept_report, "admin_license", b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", name="许可.xlsx")
    assert_refused(batch, "文件内容不是 Excel 工作簿（.xlsx），可能是改了扩展名的其他文件", dept_report)


def test_text_behind_an_xlsx_name_is_refused(dept_report, upload):
    batch = upload(dept_report, "admin_license", "行政相对人名称,许可内容\n".encode(), name="许可.xlsx")
    assert_refused(batch, "文件内容不是 Excel 工作簿（.xlsx）", dept_report)


def test_word_document_renamed_xlsx_is_refused(dept_report, upload):
    docx = zip_bytes({"[Content_Types].xml": "<Types/>", "word/document.xml": "<w:document/>"})
    batch = upload(dept_report, "admin_license", docx, name="许可.xlsx")
    assert_refused(batch, "可能是改了扩展名的其他文件（如 Word 文档）", dept_report)


def test_broken_zip_is_refused(dept_report, upload):
    content = xlsx_bytes("license", records("license", 2))
    batch = upload(dept_report, "admin_license", content[:400], name="许可.xlsx")
    assert_refused(batch, "文件已损坏，无法作为 .xlsx 打开", dept_report)


def test_legacy_xls_name_is_refused(dept_report, upload):
    batch = upload(dept_report, "admin_license", ole_bytes(), name="许可.xls")
    assert_refused(batch, "不支持旧版 Excel（.xls）文件，请在 Excel 或 WPS 中“另存为” .xlsx 格式", dept_report)


def test_old_xls_content_behind_an_xlsx_name_is_refused(dept_report, upload):
    batch = upload(dept_report, "admin_license", ole_bytes(), name="许可.xlsx")
    assert_refused(batch, "文件实际是旧版 Excel（.xls）格式，只是扩展名为 .xlsx", dept_report)


def test_encrypted_workbook_is_refused(dept_report, upload):
    batch = upload(dept_report, "admin_license", ole_bytes(encrypted=True), name="许可.xlsx")
    assert_refused(batch, "文件已加密（设置了打开密码），系统无法读取", dept_report)


def test_other_file_types_are_refused(dept_report, upload):
    batch = upload(dept_report, "admin_license", b"PK\x03\x04", name="许可.docx")
    assert_refused(batch, "只接受 .xlsx（Excel 工作簿）或 .csv 文件", dept_report)


def test_workbook_behind_a_csv_name_is_refused(dept_report, upload):
    batch = upload(dept_report, "admin_license", xlsx_bytes("license", records("license", 1)), name="许可.csv")
    assert_refused(batch, "文件名是 .csv，但内容是 Excel 工作簿", dept_report)


def test_empty_file_is_refused(dept_report, upload):
    batch = upload(dept_report, "admin_license", b"", name="许可.xlsx")
    assert_refused(batch, "文件是空的（0 字节）", dept_report)


def test_oversized_file_is_refused(dept_report, upload, settings):
    settings.UPLOAD_MAX_BYTES = 2 * 1024 * 1024
    content = csv_bytes("activity", records("activity", 1)) + b" " * (3 * 1024 * 1024)
    batch = upload(dept_report, "integrity_campaign", content, name="活动.csv")
    assert_refused(batch, "文件过大（3 MB），上限为 2 MB，请拆分后分批上传", dept_report)


def test_oversized_browser_upload_is_refused_before_it_is_stored(dept_report, settings):
    settings.UPLOAD_MAX_BYTES = 1024 * 1024
    uploaded = SimpleUploadedFile("许可.xlsx", b"PK\x03\x04" + b"\0" * (2 * 1024 * 1024))
    with pytest.raises(UploadRefused, match="文件过大（2 MB），上限为 1 MB"):
        imports.batch_create(report=dept_report, category=Category.objects.get(code="admin_license"),
                              fileobj=uploaded, name=uploaded.name, user=None)
    assert not ImportBatch.objects.exists()


def zip_bomb(size=50 * 1024 * 1024):
    return zip_bytes({
        "[Content_Types].xml": "<Types/>",
        "xl/workbook.xml": "<workbook/>",
        "xl/worksheets/sheet1.xml": b"\0" * size,
    })


@pytest.fixture
def parsing_forbidden(monkeypatch):
    """Fail the test if anything tries to read the workbook's rows."""

    def iter_table(*args, **kwargs):
        raise AssertionError("the file was parsed")

    monkeypatch.setattr(imports, "iter_table", iter_table)


def test_zip_bomb_with_extreme_compression_ratio_is_refused_before_parsing(dept_report, upload, parsing_forbidden):
    content = zip_bomb()
    assert len(content) < 200 * 1024
    batch = upload(dept_report, "admin_license", content, name="许可.xlsx")
    assert_refused(batch, "文件解压后体积异常（压缩比过高，疑似“压缩炸弹”），已拒绝处理", dept_report)


def test_too_large_uncompressed_content_is_refused_before_parsing(dept_report, upload, settings, parsing_forbidden):
    settings.UPLOAD_MAX_UNCOMPRESSED_BYTES = 10 * 1024 * 1024
    settings.UPLOAD_MAX_COMPRESSION_RATIO = 100_000
    batch = upload(dept_report, "admin_license", zip_bomb(20 * 1024 * 1024), name="许可.xlsx")
    assert_refused(batch, "文件解压后体积过大（20 MB，上限 10 MB），已拒绝处理", dept_report)


def test_zip_with_too_many_entries_is_refused(dept_report, upload, settings, parsing_forbidden):
    settings.UPLOAD_MAX_ZIP_ENTRIES = 10
    entries = {"[Content_Types].xml": "<Types/>", "xl/workbook.xml": "<workbook/>"}
    entries.update({f"xl/media/{n}.bin": b"x" for n in range(20)})
    batch = upload(dept_report, "admin_license", zip_bytes(entries), name="许可.xlsx")
    assert_refused(batch, "文件结构异常（含 22 个内部部件），已拒绝处理", dept_report)


def test_missing_required_column_is_refused(dept_report, upload):
    headers = [h for h in header_row("license") if "文书号" not in h]
    rows = [{k: v for k, v in r.items() if k != "doc_number"} for r in records("license", 2)]
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(headers)
    keys = [k for k in records("license", 1)[0] if k != "doc_number"]
    for r in rows:
        ws.append([r[k] for k in keys])
    out = io.BytesIO()
    wb.save(out)
    batch = upload(dept_report, "admin_license", out.getvalue(), name="许可.xlsx")
    assert_refused(batch, "缺少必填列：行政许可决定文书号。请使用下载的模板", dept_report)


def test_empty_sheet_is_refused(dept_report, upload):
    out = io.BytesIO()
    openpyxl.Workbook().save(out)
    batch = upload(dept_report, "admin_license", out.getvalue(), name="许可.xlsx")
    assert_refused(batch, "工作表是空的，没有任何数据", dept_report)


def test_header_only_sheet_is_refused(dept_report, upload):
    batch = upload(dept_report, "admin_license", xlsx_bytes("license", []), name="许可.xlsx")
    assert_refused(batch, "表头下面没有任何数据行", dept_report)


def test_empty_csv_is_refused(dept_report, upload):
    batch = upload(dept_report, "admin_license", "\ufeff\r\n,,\r\n".encode(), name="许可.csv")
    assert_refused(batch, "工作表是空的，没有任何数据", dept_report)


# --- what must be read ----------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_csv_encodings_import_with_chinese_intact(dept_report, upload, encoding):
    rows = records("license", 3, content="预包装食品销售（含冷藏冷冻食品）", authority="营口市行政审批局")
    content = csv_bytes("license", rows, encoding=encoding)
    if encoding == "utf-8-sig":
        assert content.startswith(b"\xef\xbb\xbf")
    batch = upload(dept_report, "admin_license", content, name="行政许可.csv")
    assert batch.status == ImportBatch.Status.SUCCEEDED, (batch.message, batch.errors)
    assert batch.imported_rows == 3
    stored = list(Record.objects.filter(report=dept_report).order_by("row_number"))
    assert [r.row_number for r in stored] == [2, 3, 4]
    assert stored[0].subject_name == "营口市某某贸易有限公司"
    assert stored[0].doc_number == "营测〔2019〕0号"
    assert stored[0].data["content"] == "预包装食品销售（含冷藏冷冻食品）"
    assert stored[0].data["subject_type"] == "法人及非法人组织"


def test_csv_in_an_unknown_encoding_is_refused(dept_report, upload):
    content = csv_bytes("activity", records("activity", 1)).replace(b"2019", b"\x81\x20\xff\xfe")
    batch = upload(dept_report, "integrity_campaign", content, name="活动.csv")
    assert_refused(batch, "无法识别 CSV 文件的编码", dept_report)


def test_xlsx_whose_first_sheet_is_the_instructions_reads_the_data_sheet(dept_report, upload):
    wb = openpyxl.load_workbook(io.BytesIO(xlsx_bytes("activity", records("activity", 2))))
    notes = wb.create_sheet("填表说明", 0)
    notes.append(["标题", "必填"])
    wb.active = 0
    out = io.BytesIO()
    wb.save(out)
    batch = upload(dept_report, "integrity_campaign", out.getvalue(), name="活动.xlsx")
    assert batch.status == ImportBatch.Status.SUCCEEDED, batch.message
    assert batch.imported_rows == 2
