"""Reading a large worksheet in parts, the next part parsed while this one is checked.

calamine parses a whole sheet before handing over its first row: for a
100,000-row upload that is about 2 s during which nothing else can happen.
It does release the GIL while parsing.  So a large sheet's XML is cut, at
row boundaries, into parts of about PART_BYTES, each a sheet of an
uncompressed workbook that shares the original shared strings and styles.
Part 0 (with the header) is parsed at once; a background thread inflates
the rest, cuts it and parses its parts one after the other, at most one
part ahead of the reader, while the caller validates and stores the rows.

The cut is made only where it is plainly safe: an unprefixed <sheetData>,
cuts only before a row that carries its row number (r="…", as Excel, WPS
and every library we know write them) and never where CDATA could hide a
tag.  Otherwise `split_sheet` returns None and the caller parses the sheet
whole, as before.
"""

import os
import queue
import re
import tempfile
import threading
import weakref
import zipfile
from xml.etree import ElementTree

from python_calamine import CalamineWorkbook

PART_BYTES = 6 * 1024 * 1024  # worksheet XML per part
FIRST_PART_BYTES = 1024 * 1024  # part 0 (the header's part) is smaller: the first rows come sooner
MIN_SPLIT_BYTES = 2 * PART_BYTES  # smaller sheets are parsed whole

MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"

_DIMENSION = re.compile(rb"<dimension\b[^>]*/>")
_DATE1904 = re.compile(rb"<workbookPr\b[^>]*\bdate1904=\"(?:1|true)\"")
_ROW_NUMBER = re.compile(rb"<row\b[^>]*?\sr=\"(\d+)\"")
_TAIL = b"</sheetData></worksheet>"


class SheetParts:
    """A large sheet read in parts: `first` is part 0, parsed; `rows()` reads them all.

    The background thread starts as soon as the object exists, so the rest of
    the sheet is being inflated and parsed while part 0 is still opened.
    """

    def __init__(self, rest_source, total_rows_estimate):
        self.first = None  # CalamineSheet of part 0, set by split_sheet
        self.total_rows = total_rows_estimate
        self._parsed = queue.Queue(maxsize=1)
        self._stop = threading.Event()
        self._worker = threading.Thread(target=_parse_rest, args=(rest_source, self._parsed, self._stop),
                                        name="xlsx-parts", daemon=True)
        self._worker.start()
        # Never leave the thread waiting on a reader that went away.
        weakref.finalize(self, self._stop.set)

    def close(self):
        """Stop the background thread (when done, or when the rows are not wanted after all)."""
        self.first = None
        self._stop.set()
        while self._worker.is_alive():  # unblock a worker waiting to hand over a part
            try:
                self._parsed.get(timeout=0.05)
            except queue.Empty:
                pass

    def rows(self):
        """(Excel row number, cells) for every row of the sheet, part after part."""
        try:
            # Part 0 starts at row 1: iter_rows counts from row 1 of the sheet, like the unsplit path.
            first, self.first = self.first, None
            yield from enumerate(first.iter_rows(), start=1)
            del first
            while True:
                kind, item = self._parsed.get()
                if kind == "end":
                    return
                if kind == "error":
                    raise item
                yield from _part_rows(item)
                del item
        finally:
            self.close()


def _parse_rest(source, parsed, stop):
    """Background thread: inflate the rows after part 0, cut them into parts, parse one part ahead."""
    def put(item):
        while not stop.is_set():
            try:
                parsed.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    try:
        rest, pieces = source()
        del source
        parts = _cut_rest(rest, pieces["head"], pieces["part_bytes"])
        del rest
        if parts and not stop.is_set():
            workbook = _open_workbook(parts, pieces)
            del parts
            for k in range(len(workbook.sheet_names)):
                if stop.is_set() or not put(("sheet", workbook.get_sheet_by_index(k))):
                    return
        put(("end", None))
    except BaseException as exc:  # handed to the reader, which raises it
        put(("error", exc))


def _part_rows(sheet):
    """A later part starts at its own first row: skip the empty area above it, keep columns absolute."""
    rows = sheet.to_python()  # skip_empty_area=True: from the part's first non-empty cell
    if not rows:
        return
    first_row, first_column = sheet.start
    pad = [""] * first_column
    for number, cells in enumerate(rows, start=first_row + 1):
        yield number, (pad + cells if first_column else cells)


def split_sheet(path, sheet_name, *, part_bytes=None, min_bytes=None):
    """SheetParts for a large sheet, or None when it is small or not plainly safe to cut."""
    part_bytes = part_bytes or PART_BYTES
    min_bytes = MIN_SPLIT_BYTES if min_bytes is None else min_bytes
    archive = zipfile.ZipFile(path)
    stream = None
    try:
        names = set(archive.namelist())
        member = _sheet_member(archive, sheet_name)
        size = archive.getinfo(member).file_size if member in names else -1  # checked by excel._check_zip
        cut = None
        if size >= min_bytes:
            stream = archive.open(member)
            first_bytes = min(part_bytes, FIRST_PART_BYTES)
            first = stream.read(2 * first_bytes + 65536)
            cut = _first_cut(first, first_bytes)
        if cut is None:  # small, or not safely cut: read whole
            if stream is not None:
                stream.close()
            archive.close()
            return None
        start, cut = cut
        shared, styles = _related(archive, "sharedStrings"), _related(archive, "styles")
        pieces = {
            "head": _DIMENSION.sub(b"", first[:start]),
            "shared": archive.read(shared) if shared in names else None,
            "styles": archive.read(styles) if styles in names else None,
            "date1904": bool(_DATE1904.search(archive.read("xl/workbook.xml"))),
            "part_bytes": part_bytes,
        }
    except BaseException:
        if stream is not None:
            stream.close()
        archive.close()
        raise

    def rest_source():  # called once, by the background thread
        try:
            return first[cut:] + stream.read(), pieces
        finally:
            stream.close()
            archive.close()

    # Rows in all, estimated from part 0's share of the sheet (for the progress bar only).
    estimate = max(1, round(first[:cut].count(b"<row") * size / cut))
    parts = SheetParts(rest_source, estimate)
    try:
        # Small, so that the caller starts checking rows soon; the rest is cut into PART_BYTES parts.
        parts.first = _open_workbook([pieces["head"] + first[start:cut] + _TAIL], pieces).get_sheet_by_index(0)
    except BaseException:
        parts.close()
        raise
    return parts


def _first_cut(first, part_bytes):
    """(start of rows, end of part 0) in the first bytes of the sheet, or None if it can't be cut safely."""
    start = first.find(b"<sheetData>")
    if start < 0 or b"<worksheet" not in first[:start] or b"<![CDATA[" in first:
        return None
    start += len(b"<sheetData>")
    cut = _next_cut(first, start + part_bytes, len(first))
    return None if cut is None else (start, cut)


def _next_cut(xml, position, end):
    """The first row tag at or after `position` that carries its row number (r="…")."""
    while True:
        cut = xml.find(b"<row", position, end)
        if cut < 0:
            return None
        match = _ROW_NUMBER.match(xml, cut)
        if match is not None and xml.find(b">", cut) >= match.end():
            return cut
        position = cut + 4


def _cut_rest(rest, head, part_bytes):
    """The rows after part 0 as whole worksheets of about part_bytes each."""
    end = rest.rfind(b"</sheetData>")
    if end < 0:
        raise ValueError("worksheet without </sheetData>")
    if b"<![CDATA[" in rest:  # never cut where CDATA could hide a tag: the rest is one part
        cuts = [0, end]
    else:
        cuts = [0]
        while (cut := _next_cut(rest, cuts[-1] + part_bytes, end)) is not None:
            cuts.append(cut)
        cuts.append(end)
    return [head + rest[a:b] + _TAIL for a, b in zip(cuts, cuts[1:], strict=False) if b > a]


def _open_workbook(parts, pieces):
    """Write the parts as the sheets of an uncompressed workbook on disk and open it with calamine."""
    with tempfile.NamedTemporaryFile(prefix="credit-portal-part-", suffix=".xlsx", delete=False) as f:
        _write_workbook(f, parts, pieces)
    try:
        return CalamineWorkbook.from_path(f.name)
    finally:
        os.unlink(f.name)  # calamine holds the file open: its data stays readable until the workbook goes


def visible_worksheets(path):
    """Names of the workbook's visible worksheets, in order (chart sheets and hidden sheets left out)."""
    with zipfile.ZipFile(path) as archive:
        workbook = ElementTree.fromstring(archive.read("xl/workbook.xml"))
        relations = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    kinds = {r.get("Id"): (r.get("Type") or "").rsplit("/", 1)[-1]
             for r in relations.iter(f"{{{PKG_REL_NS}}}Relationship")}
    return [
        s.get("name") for s in workbook.iter(f"{{{MAIN_NS}}}sheet")
        if s.get("state", "visible") == "visible" and kinds.get(s.get(f"{{{REL_NS}}}id")) == "worksheet"
    ]


def _sheet_member(archive, sheet_name):
    """The zip member holding the named sheet (workbook.xml and its relationships)."""
    try:
        workbook = ElementTree.fromstring(archive.read("xl/workbook.xml"))
        relations = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    except (KeyError, ElementTree.ParseError):
        return None
    rid = next((s.get(f"{{{REL_NS}}}id") for s in workbook.iter(f"{{{MAIN_NS}}}sheet")
                if s.get("name") == sheet_name), None)
    target = next((r.get("Target") for r in relations.iter(f"{{{PKG_REL_NS}}}Relationship") if r.get("Id") == rid),
                  None)
    return _member(target) if rid and target else None


def _related(archive, kind):
    """The zip member of the workbook's shared strings or styles part."""
    try:
        relations = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    except (KeyError, ElementTree.ParseError):
        return None
    for r in relations.iter(f"{{{PKG_REL_NS}}}Relationship"):
        if (r.get("Type") or "").endswith("/" + kind):
            return _member(r.get("Target") or "")
    return None


def _member(target):
    return target.lstrip("/") if target.startswith("/") else "xl/" + target


_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.{}+xml"


def _write_workbook(f, parts, pieces):
    """An uncompressed workbook whose sheets are the parts, with the original shared strings and styles."""
    shared_xml, styles_xml, date1904 = pieces["shared"], pieces["styles"], pieces["date1904"]
    n = len(parts)
    overrides = [("/xl/workbook.xml", "sheet.main")]
    overrides += [(f"/xl/worksheets/part{k}.xml", "worksheet") for k in range(n)]
    relations = [(f"rId{k + 1}", "worksheet", f"worksheets/part{k}.xml") for k in range(n)]
    if shared_xml is not None:
        overrides.append(("/xl/sharedStrings.xml", "sharedStrings"))
        relations.append(("rIdS", "sharedStrings", "sharedStrings.xml"))
    if styles_xml is not None:
        overrides.append(("/xl/styles.xml", "styles"))
        relations.append(("rIdY", "styles", "styles.xml"))
    types = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        + "".join(f'<Override PartName="{p}" ContentType="{_CONTENT_TYPE.format(t)}"/>' for p, t in overrides)
        + "</Types>"
    )
    root_rels = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="{PKG_REL_NS}">'
        f'<Relationship Id="rId1" Type="{REL_NS}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
    )
    workbook = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><workbook xmlns="{MAIN_NS}" xmlns:r="{REL_NS}">'
        + ('<workbookPr date1904="1"/>' if date1904 else "")
        + "<sheets>"
        + "".join(f'<sheet name="part{k}" sheetId="{k + 1}" r:id="rId{k + 1}"/>' for k in range(n))
        + "</sheets></workbook>"
    )
    workbook_rels = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="{PKG_REL_NS}">'
        + "".join(f'<Relationship Id="{i}" Type="{REL_NS}/{t}" Target="{target}"/>' for i, t, target in relations)
        + "</Relationships>"
    )
    with zipfile.ZipFile(f, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("[Content_Types].xml", types)
        archive.writestr("_rels/.rels", root_rels)
        archive.writestr("xl/workbook.xml", workbook)
        archive.writestr("xl/_rels/workbook.xml.rels", workbook_rels)
        if shared_xml is not None:
            archive.writestr("xl/sharedStrings.xml", shared_xml)
        if styles_xml is not None:
            archive.writestr("xl/styles.xml", styles_xml)
        for k, part in enumerate(parts):
            archive.writestr(f"xl/worksheets/part{k}.xml", part)
