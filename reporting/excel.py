"""Reading uploaded files safely.  Touches no database.

`inspect_upload` refuses what must never be parsed (wrong content, legacy
.xls, encrypted workbooks, oversized files, zip bombs); `read_table` returns
the sheet as (Excel row number, cells) pairs for the validator.
"""

import csv
import io
import zipfile
from dataclasses import dataclass

from python_calamine import CalamineWorkbook

from .xlsx_parts import split_sheet, visible_worksheets

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"
_ENCRYPTED_MARK = "EncryptedPackage".encode("utf-16-le")
INSTRUCTIONS_SHEET = "填表说明"


class UploadRefused(Exception):
    """The file is refused before any row is read; the message is for the user."""


@dataclass(frozen=True)
class Limits:
    max_bytes: int
    max_uncompressed: int
    max_ratio: int
    max_entries: int

    @classmethod
    def from_settings(cls):
        from django.conf import settings

        return cls(
            max_bytes=settings.UPLOAD_MAX_BYTES,
            max_uncompressed=settings.UPLOAD_MAX_UNCOMPRESSED_BYTES,
            max_ratio=settings.UPLOAD_MAX_COMPRESSION_RATIO,
            max_entries=settings.UPLOAD_MAX_ZIP_ENTRIES,
        )


def _mb(n):
    return f"{n / 1024 / 1024:.0f} MB"


def inspect_upload(path, name, limits):
    """Return "xlsx" or "csv", or raise UploadRefused with a Chinese reason."""
    lower = name.lower()
    size = path.stat().st_size if hasattr(path, "stat") else None
    if size is not None and size > limits.max_bytes:
        raise UploadRefused(f"文件过大（{_mb(size)}），上限为 {_mb(limits.max_bytes)}，请拆分后分批上传。")
    if size == 0:
        raise UploadRefused("文件是空的（0 字节）。")
    with open(path, "rb") as f:
        head = f.read(8)
    if lower.endswith(".xls"):
        raise UploadRefused("不支持旧版 Excel（.xls）文件，请在 Excel 或 WPS 中“另存为” .xlsx 格式后再上传。")
    if lower.endswith(".csv"):
        if head.startswith(ZIP_MAGIC) or head.startswith(OLE_MAGIC):
            raise UploadRefused("文件名是 .csv，但内容是 Excel 工作簿，请改用 .xlsx 扩展名上传。")
        return "csv"
    if not lower.endswith(".xlsx"):
        raise UploadRefused("只接受 .xlsx（Excel 工作簿）或 .csv 文件。")
    if head.startswith(OLE_MAGIC):
        if _is_encrypted_ole(path):
            raise UploadRefused("文件已加密（设置了打开密码），系统无法读取，请取消密码后另存再上传。")
        raise UploadRefused("文件实际是旧版 Excel（.xls）格式，只是扩展名为 .xlsx，请另存为 .xlsx 格式后再上传。")
    if not head.startswith(ZIP_MAGIC):
        raise UploadRefused("文件内容不是 Excel 工作簿（.xlsx），可能是改了扩展名的其他文件，请用 Excel 或 WPS 另存为 .xlsx。")
    _check_zip(path, limits)
    return "xlsx"


def _is_encrypted_ole(path):
    with open(path, "rb") as f:
        return _ENCRYPTED_MARK in f.read()  # uploads are size-limited before this point


def _check_zip(path, limits):
    """Zip-bomb guard: the archive's directory is read, nothing is inflated."""
    try:
        with zipfile.ZipFile(path) as archive:
            entries = archive.infolist()
    except zipfile.BadZipFile:
        raise UploadRefused("文件已损坏，无法作为 .xlsx 打开，请重新保存后上传。") from None
    if len(entries) > limits.max_entries:
        raise UploadRefused(f"文件结构异常（含 {len(entries)} 个内部部件），已拒绝处理。")
    names = {e.filename for e in entries}
    if "[Content_Types].xml" not in names or "xl/workbook.xml" not in names:
        raise UploadRefused("文件内容不是 Excel 工作簿（.xlsx），可能是改了扩展名的其他文件（如 Word 文档）。")
    total = 0
    for entry in entries:
        total += entry.file_size
        if entry.file_size > 1024 * 1024 and entry.file_size > limits.max_ratio * max(entry.compress_size, 1):
            raise UploadRefused("文件解压后体积异常（压缩比过高，疑似“压缩炸弹”），已拒绝处理。")
    if total > limits.max_uncompressed:
        raise UploadRefused(
            f"文件解压后体积过大（{_mb(total)}，上限 {_mb(limits.max_uncompressed)}），已拒绝处理，请拆分后上传。"
        )


def read_table(path, kind):
    """Return (sheet name, list of (excel row number, list of cells))."""
    name, _, rows = iter_table(path, kind)
    return name, list(rows)


def iter_table(path, kind):
    """Return (sheet name, row count, iterator of (excel row number, cells)).

    For .xlsx the rows are produced one at a time by calamine, so a large
    sheet is never held as Python objects all at once.
    """
    if kind == "csv":
        rows = _read_csv(path)
        return "CSV", len(rows), iter(rows)
    return _iter_xlsx(path)


_BROKEN = "文件已损坏或不是有效的 .xlsx 工作簿，请用 Excel 或 WPS 重新保存后上传。"
_ENCRYPTED = "文件已加密（设置了打开密码），系统无法读取，请取消密码后另存再上传。"


def _iter_xlsx(path):
    try:
        # A large data sheet is read in parts (xlsx_parts), without opening the whole workbook first.
        name, parts = _split(path)
        if parts is not None:
            if any(any(c != "" for c in row) for row in parts.first.to_python(nrows=50)):
                return name, parts.total_rows, _guarded(parts.rows())
            parts.close()
        workbook = CalamineWorkbook.from_path(str(path))
        names = [
            m.name for m in workbook.sheets_metadata
            if str(m.visible).endswith("Visible") and str(m.typ).endswith("WorkSheet")
        ] or workbook.sheet_names
        # The data sheet comes first in our templates; never read the instructions.
        candidates = [n for n in names if n != INSTRUCTIONS_SHEET] or names
        for name in candidates:
            sheet = workbook.get_sheet_by_name(name)
            if sheet.height and any(any(c != "" for c in row) for row in sheet.to_python(nrows=50)):
                # iter_rows yields rows from row 1 of the sheet: enumerate gives Excel's numbers.
                return name, sheet.total_height, _guarded(enumerate(sheet.iter_rows(), start=1))
        return (candidates[0] if candidates else ""), 0, iter(())
    except UploadRefused:
        raise
    except Exception as exc:  # calamine raises its own errors for passwords, broken XML etc.
        text = str(exc).lower()
        raise UploadRefused(_ENCRYPTED if "password" in text or "encrypt" in text else _BROKEN) from None


def _split(path):
    """(name, SheetParts) of the data sheet when it is large and safely cut, else (None, None).

    The data sheet is the first visible worksheet other than the instructions,
    as below; anything unexpected here means: read the workbook whole.
    """
    try:
        sheets = visible_worksheets(path)
        names = [n for n in sheets if n != INSTRUCTIONS_SHEET] or sheets
        return (names[0], split_sheet(path, names[0])) if names else (None, None)
    except Exception:
        return None, None


def _guarded(rows):
    try:
        yield from rows
    except Exception:
        raise UploadRefused(_BROKEN) from None


def _decode(raw):
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise UploadRefused("无法识别 CSV 文件的编码，请保存为 UTF-8 或 GB18030（GBK）编码。")


def _read_csv(path):
    with open(path, "rb") as f:
        text = _decode(f.read())
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        return [(i, row) for i, row in enumerate(reader, start=1)]
    except csv.Error as exc:
        raise UploadRefused(f"CSV 文件格式错误：{exc}") from None
