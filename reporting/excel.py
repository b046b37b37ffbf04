"""Reading uploaded files safely.  Touches no database.

`inspect_upload` refuses what must never be parsed (wrong content, legacy
.xls, encrypted workbooks, oversized files, zip bombs); `iter_table` gives
the data sheet as (Excel row number, cells) pairs for the validator, and
`iter_sheets` every visible worksheet of a workbook.  Sheets are read whole
by python-calamine, after a scan of their XML (see MAX_SHEET_CELLS).
"""

import csv
import functools
import io
import itertools
import posixpath
import re
import zipfile
from dataclasses import dataclass
from typing import NamedTuple

from defusedxml import ElementTree
from python_calamine import CalamineWorkbook, SheetTypeEnum, SheetVisibleEnum

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


# --- reading -------------------------------------------------------------------------
#
# Rows are (Excel row number, cells) with cells[0] in column A, wherever the
# table starts on the sheet; blank rows (every cell empty or "") are left out,
# the others keep Excel's numbers.  python-calamine 0.9.1's iter_rows()
# yields a sheet's rows from row 1 (blank rows above the used range included)
# but its columns from the first non-empty column: `_sheet_rows` skips the
# former and pads the latter, and tests/test_layouts.py pins both.

HEAD_ROWS = 10  # rows of a sheet shown to `choose`

# calamine holds a sheet as a dense grid (32 bytes a cell) of its used range:
# one stray value at XFD1048576 asks for 550 GB and aborts the process, a space
# typed in X1048576 of a 300-row sheet costs 800 MB.  So the sheet's XML is
# scanned first (its last row and its rightmost column that hold a value) and a
# sheet whose grid would exceed this many cells is refused.  About 65 bytes a
# cell at peak while calamine parses; 100,000 rows × 24 columns are 2.4 million.
MAX_SHEET_CELLS = 6_000_000

_BROKEN = "文件已损坏或不是有效的 .xlsx 工作簿，请用 Excel 或 WPS 重新保存后上传。"
_ENCRYPTED = "文件已加密（设置了打开密码），系统无法读取，请取消密码后另存再上传。"


def read_table(path, kind, choose=None):
    """Return (sheet name, list of (excel row number, list of cells))."""
    name, _, rows = iter_table(path, kind, choose)
    return name, list(rows)


def iter_table(path, kind, choose=None):
    """Return (sheet name, last row number, iterator of (excel row number, cells)) of the data sheet.

    The rows come one at a time; cells[0] is column A and the row number is
    the one Excel shows, whatever rows and columns are blank above and left
    of the table.  For .xlsx the data sheet is, with `choose` (a callable
    given a sheet's first HEAD_ROWS rows, returning a score, 0 = not the
    table wanted), the visible worksheet with the highest score, the first on
    ties; without it, or when every sheet scores 0, the first visible
    worksheet other than 填表说明 that has any data.
    """
    if kind == "csv":
        total, rows = _csv_table(path)
        return "CSV", total, rows
    return _xlsx_table(path, choose)


def iter_sheets(path, kind="xlsx"):
    """(sheet name, last row number, iterator of rows) for every visible worksheet, in workbook order.

    Rows are as in iter_table.  A sheet is parsed only when its rows are
    first asked for, so passing over sheets costs little; its XML is
    checked (MAX_SHEET_CELLS) when it is reached.  The last row number is
    the last row holding a value (0 for an empty sheet).
    """
    if kind == "csv":
        total, rows = _csv_table(path)
        yield "CSV", total, rows
        return
    book = _Book(path)
    for name in book.names:
        total = book.extent(name)[0]
        yield name, total, book.lazy_rows(name)


class _Book:
    """A workbook opened with calamine: its visible worksheets, each checked before it is parsed."""

    def __init__(self, path):
        self.path = path
        self.calamine = _calamine(CalamineWorkbook.from_path, str(path))
        self.names = [
            m.name for m in self.calamine.sheets_metadata
            if m.visible == SheetVisibleEnum.Visible and m.typ == SheetTypeEnum.WorkSheet
        ]
        self._members = None
        self._extents = {}

    def extent(self, name):
        """(last row, last column) holding a value, from the sheet's XML; UploadRefused past MAX_SHEET_CELLS."""
        if name not in self._extents:
            if self._members is None:
                self._members = _calamine(_sheet_members, self.path)
            member = self._members.get(name)
            # A sheet whose part is not found here is left to calamine (which finds parts the same way).
            found = _calamine(_scan_sheet, self.path, member) if member else (0, "", 0, "")
            last_row, row_ref, last_column, column_ref = found
            if last_row * last_column > MAX_SHEET_CELLS:
                raise UploadRefused(
                    f"工作表“{name}”的数据区域过大：有内容的单元格一直到第 {last_row} 行（{row_ref}）、"
                    f"{_column_letters(last_column)} 列（{column_ref}），超出系统一次可读取的范围。"
                    "如果表格下方或右侧有多余的内容（例如误输入的空格、一直向下填充的公式），"
                    "请删除这些行或列后重新保存上传；如果数据确实这么多，请拆分成几个文件分别上传。"
                )
            self._extents[name] = (last_row, last_column)
        return self._extents[name]

    def load(self, name):
        self.extent(name)
        return _calamine(self.calamine.get_sheet_by_name, name)

    def lazy_rows(self, name):
        yield from _sheet_rows(self.load(name))

    def close(self):
        try:
            self.calamine.close()
        except Exception:  # already closed
            pass


def _xlsx_table(path, choose):
    book = _Book(path)
    try:
        names = book.names
        others = [n for n in names if n != INSTRUCTIONS_SHEET] or names
        fallback = best = None  # (name, sheet), (score, name, sheet)
        for name in names if choose is not None else others:
            sheet = book.load(name)
            head = list(itertools.islice(_sheet_rows(sheet), HEAD_ROWS))
            if not head:
                continue
            if fallback is None and name in others:
                fallback = (name, sheet)
                if choose is None:
                    break
            score = choose(head)
            if score > 0 and (best is None or score > best[0]):
                best = (score, name, sheet)
            del sheet
        name, sheet = best[1:] if best is not None else fallback or ((others[0] if others else ""), None)
    finally:
        book.close()  # a parsed sheet does not need its workbook
    if sheet is None:
        return name, 0, iter(())
    end = sheet.end
    return name, (end[0] + 1 if end else 0), _sheet_rows(sheet)


def _sheet_rows(sheet):
    """(Excel row number, cells from column A) for each row of a parsed sheet that has any cell."""
    try:
        start = sheet.start
        if start is None:
            return
        top, left = start
        pad = [""] * left
        rows = itertools.islice(sheet.iter_rows(), top, None)  # iter_rows starts at row 1
        for number, cells in enumerate(rows, start=top + 1):
            if cells[0] == "" and cells.count("") == len(cells):
                continue
            yield number, (pad + cells if left else cells)
    except UploadRefused:
        raise
    except Exception:
        raise UploadRefused(_BROKEN) from None


def _calamine(function, *args):
    """Call into the workbook; whatever goes wrong is the file's fault, said in Chinese."""
    try:
        return function(*args)
    except UploadRefused:
        raise
    except Exception as exc:  # calamine raises its own errors for passwords, broken XML etc.
        text = str(exc).lower()
        raise UploadRefused(_ENCRYPTED if "password" in text or "encrypt" in text else _BROKEN) from None


# --- the sheet's extent, from its XML --------------------------------------------

_MAIN_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL_ID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
_PKG_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}Relationship"
_SCAN_BYTES = 4 * 1024 * 1024
_MAX_CARRY = 64 * 1024 * 1024
_CELL_REF = re.compile(rb' r="([A-Z]{1,3})([0-9]{1,7})"')
_PAST_Z = re.compile(rb' r="[A-Z][A-Z]')  # a cell in column AA or right of it
_SHEET_DATA = re.compile(rb"<([A-Za-z_][-.\w]*:)?sheetData[\s/>]")


def _sheet_members(path):
    """{sheet name: zip member of its XML} from the workbook and its relationships."""
    with zipfile.ZipFile(path) as archive:
        workbook = ElementTree.fromstring(archive.read("xl/workbook.xml"))
        try:
            relations = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
        except KeyError:
            return {}
    targets = {r.get("Id"): r.get("Target") or "" for r in relations.iter(_PKG_REL)}
    members = {}
    for sheet in workbook.iter(f"{_MAIN_NS}sheet"):
        target = targets.get(sheet.get(_REL_ID))
        if target:
            members[sheet.get("name")] = (
                target.lstrip("/") if target.startswith("/") else posixpath.normpath("xl/" + target)
            )
    return members


class _Tags(NamedTuple):
    cell: bytes  # a cell's start tag, up to its first attribute
    cell_end: bytes
    values: tuple  # what starts a cell's value
    value_ends: tuple  # what ends it

    @classmethod
    def of(cls, xml):
        """The tags as this sheet writes them: SpreadsheetML may carry a prefix (<x:c r="A1"><x:v>…)."""
        found = _SHEET_DATA.search(xml)
        p = (found[1] or b"") if found else b""
        return cls(b"<" + p + b"c ", b"</" + p + b"c>", (b"<" + p + b"v", b"<" + p + b"is"),
                   (b"</" + p + b"v>", b"<" + p + b"v/>", b"</" + p + b"is>"))


def _scan_sheet(path, member):
    """(last row, its cell, last column, its cell) holding a value, as calamine will place them.

    Only cells with a value count (<v> or an inline string), as for calamine:
    a styled empty cell or a <dimension> saying A1:X1048576 costs nothing.
    The last row is that of the last such cell (rows come in order).  Columns
    A–Z are counted as 26 unless that matters (more than MAX_SHEET_CELLS / 26
    rows, then a second pass finds the last one); a column past Z is looked
    for by a search for cells right of the widest seen so far.  A 100,000-row
    sheet costs about 0.25 s here.  Cells without r="…" (placed by position,
    which no spreadsheet program writes) are not seen.
    """
    last_row, row_ref, column, column_ref = 0, "", 0, ""
    if member is None:
        return last_row, row_ref, column, column_ref
    for buf, end, tags in _sheet_chunks(path, member):
        value = max(buf.rfind(tag, 0, end) for tag in tags.value_ends)
        if value >= 0:
            cell = buf.rfind(tags.cell, 0, value)
            ref = _CELL_REF.search(buf, cell, buf.find(b">", cell)) if cell >= 0 else None
            if ref is not None and int(ref[2]) >= last_row:
                last_row, row_ref = int(ref[2]), (ref[1] + ref[2]).decode()
        past_z = _PAST_Z.search(buf, 0, end)
        if past_z is not None:
            wide, wide_ref = _widest(buf, past_z.start(), end, tags, max(column, 26), column_ref)
            if wide > 26:
                column, column_ref = wide, wide_ref
    if column == 0 and last_row * 26 > MAX_SHEET_CELLS:
        for buf, end, tags in _sheet_chunks(path, member):
            column, column_ref = _widest(buf, 0, end, tags, column, column_ref)
    return last_row, row_ref, column or 26, column_ref


def _sheet_chunks(path, member):
    """The sheet's XML in pieces of about _SCAN_BYTES, each cut before a cell: (buffer, end, tags)."""
    with zipfile.ZipFile(path) as archive:
        if member not in archive.NameToInfo:
            return
        with archive.open(member) as stream:
            carry, tags = b"", None
            while True:
                chunk = stream.read(_SCAN_BYTES)
                buf = carry + chunk if carry else chunk
                tags = tags or _Tags.of(buf)
                end = buf.rfind(tags.cell) if chunk else len(buf)
                if end <= 0:
                    if chunk and len(buf) < _MAX_CARRY:  # one cell so far: read on to its end
                        carry = buf
                        continue
                    end = len(buf)  # no cell starts here (or one absurdly long cell): take it all
                carry = buf[end:]
                yield buf, end, tags
                if not chunk:
                    return


def _widest(buf, position, end, tags, column, column_ref):
    """The last column (and its cell) holding a value in buf[position:end], if right of `column`."""
    wider = _wider_than(column)
    while wider is not None and (match := wider.search(buf, position, end)):
        position = match.end()
        close = buf.find(tags.cell_end, position, end)
        body = buf[position:close if close >= 0 else end]
        if tags.values[0] in body or tags.values[1] in body:
            column, column_ref = _column_number(match[1]), (match[1] + match[2]).decode()
            wider = _wider_than(column)
    return column, column_ref


@functools.lru_cache(maxsize=256)
def _wider_than(column):
    """A pattern for a cell reference (and the rest of its start tag) right of `column` (1-based), or None."""
    if column >= 16384:
        return None
    if column == 0:
        letters_pattern = b"[A-Z]{1,3}"
    else:
        letters = _column_letters(column).encode()
        n = len(letters)
        options = [b"[A-Z]{%d,3}" % (n + 1)] if n < 3 else []
        for i, letter in enumerate(letters):
            if letter != ord("Z"):
                rest = b"[A-Z]{%d}" % (n - i - 1) if n - i - 1 else b""
                options.append(letters[:i] + b"[" + bytes([letter + 1]) + b"-Z]" + rest)
        letters_pattern = b"|".join(options)
    return re.compile(rb' r="(' + letters_pattern + rb')([0-9]{1,7})"[^>]*(?<!/)>')


def _column_number(letters):
    number = 0
    for letter in letters:
        number = number * 26 + (letter if isinstance(letter, int) else ord(letter)) - 64
    return number


def _column_letters(number):
    letters = ""
    while number:
        number, rest = divmod(number - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


# --- CSV -----------------------------------------------------------------------------


def _decode(raw):
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise UploadRefused("无法识别 CSV 文件的编码，请保存为 UTF-8 或 GB18030（GBK）编码。")


def _csv_table(path):
    """(last line number, rows) of a CSV file; a NUL byte reaches the caller as "\\x00" (Python 3.11 csv)."""
    with open(path, "rb") as f:
        text = _decode(f.read())
    return text.count("\n") + (not text.endswith("\n")), _csv_rows(io.StringIO(text, newline=""))


def _csv_rows(stream):
    try:
        for number, cells in enumerate(csv.reader(stream), start=1):
            if cells and not (cells[0] == "" and cells.count("") == len(cells)):
                yield number, cells
    except csv.Error as exc:
        raise UploadRefused(f"CSV 文件格式错误：{exc}") from None
