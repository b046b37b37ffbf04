"""Validating an uploaded table against a record schema.  Touches no database.

Every error is collected (row as Excel shows it, column header, Chinese
reason); valid rows come back normalised, ready to be stored.
"""

import csv
import datetime
import functools
import itertools
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from . import schemas as s
from .excel import UploadRefused
from .validators import (
    PLACEHOLDERS,
    USCC_ALPHABET,
    USCC_BASE34,
    USCC_VALID_CHARS,
    FieldError,
    cell_text,
    check_number_as_code,
    check_resident_id,
    check_uscc,
    check_uscc_uncached,
    clean_text,
    formula_unescape,
    header_without_note,
    normalise_code,
    normalise_header,
    normalise_spelling,
    parse_date,
    parse_decimal,
)

HEADER_SEARCH_ROWS = 10
# Bounds on bad input: the first KEPT_ERRORS errors are kept in detail (the rest are counted), and past
# STOP_ERROR_ROWS rows with errors the file is not read any further.
KEPT_ERRORS = 1000
STOP_ERROR_ROWS = 10_000
TOO_MANY_ERRORS = "错误过多，请检查是否使用了正确的模板"
STORED_DOC_MESSAGE = "文书号“{doc}”已在本单位本类别的其他月份报送过，不能重复报送"
SYNONYMS_FILE = Path(__file__).resolve().parent.parent / "fixtures" / "value_synonyms.csv"


@functools.cache
def builtin_synonyms():
    """The built-in spellings of fixtures/value_synonyms.csv: {field key: {spelling: canonical value}}.

    The import passes the administrators' table (which starts as this file) instead; this default
    serves callers without a database.
    """
    with open(SYNONYMS_FILE, encoding="utf-8-sig", newline="") as f:
        return synonyms_map((row["field"], row["spelling"], row["canonical"]) for row in csv.DictReader(f))


def synonyms_map(triples):
    """{field key: {normalised spelling: canonical}} from (field, spelling, canonical) triples."""
    result = {}
    for key, spelling, canonical in triples:
        result.setdefault(key, {})[normalise_spelling(spelling)] = canonical
    return result


@dataclass(slots=True)
class CleanRow:
    row: int
    # The normalised values as JSON text: ten times smaller in memory than a dict
    # for a 100,000-row file, and exactly what COPY writes.
    data_json: str
    doc_number: str = ""
    subject_name: str = ""
    credit_code: str = ""
    id_number: str = ""
    record_date: datetime.date | None = None

    @property
    def data(self):
        return json.loads(self.data_json)


@dataclass
class ValidationResult:
    header_row: int
    columns: dict  # field key -> column index
    total_rows: int = 0
    rows: list = field(default_factory=list)  # CleanRow for every valid row (validate_table only)
    valid_count: int = 0
    # The first KEPT_ERRORS errors as {"row", "column", "message"}; error_count counts them all.
    errors: list = field(default_factory=list)
    error_count: int = 0
    error_row_count: int = 0
    # True when reading stopped at STOP_ERROR_ROWS rows with errors: the rest of the file was not checked.
    stopped: bool = False

    @property
    def is_valid(self):
        return self.error_count == 0

    def summary(self):
        """The verdict as a Chinese clause, without the final punctuation (rows, rows with errors, errors)."""
        if self.stopped:
            return (f"{TOO_MANY_ERRORS}：前 {self.total_rows} 行中已有 {self.error_row_count} 行有错误"
                    f"（{self.error_count} 处），已停止检查其余的行")
        return f"共 {self.total_rows} 行，其中 {self.error_row_count} 行有错误（{self.error_count} 处）"


def _is_blank(cells):
    return not any(c.strip() if type(c) is str else c is not None for c in cells)


_HEADER_TEXTS = {}


def _header_texts(schema):
    """Normalised header text -> field, for every header and alias of the schema (computed once per schema)."""
    wanted = _HEADER_TEXTS.get(schema.code)
    if wanted is None or wanted[0] is not schema:
        texts = {}
        for f in schema.fields:
            for text in f.header_texts:
                texts.setdefault(normalise_header(text), f)
        wanted = _HEADER_TEXTS[schema.code] = (schema, texts)
    return wanted[1]


def header_columns(schema, cells):
    """{field key: column index} of the cells that name a field of the schema (first one wins)."""
    wanted = _header_texts(schema)
    columns = {}
    for index, cell in enumerate(cells):
        if type(cell) is str or cell is not None:
            text = normalise_header(cell_text(cell))
            f = wanted.get(text) or wanted.get(header_without_note(text))
            if f is not None and f.key not in columns:
                columns[f.key] = index
    return columns


def header_score(schema, head):
    """How well the best of these rows matches the schema's header: fields found (0 = not this schema)."""
    return max((len(header_columns(schema, cells)) for _, cells in head), default=0)


def locate_header(schema, head):
    """Find the header row among the first rows and map each schema field to its column index.

    A second header row right below it (the national templates put field codes above or below the
    Chinese names) is skipped too: the returned row number is the last header row.
    """
    required = [f for f in schema.fields if f.required]
    best = None
    for position, (row_number, cells) in enumerate(head):
        columns = header_columns(schema, cells)
        if columns and (best is None or len(columns) > len(best[1])):
            best = (row_number, columns, position)
    if best is not None:
        row_number, columns, position = best
        for next_number, cells in head[position + 1:position + 3]:
            if len(header_columns(schema, cells)) * 2 < len(columns):
                break
            row_number = next_number
        best = (row_number, columns)
    if best is None:
        raise UploadRefused(
            "在文件前 {} 行中找不到表头。请使用下载的模板，表头应包括：{}。".format(
                HEADER_SEARCH_ROWS, "、".join(f.header for f in required)
            )
        )
    row_number, columns = best
    missing = [f.header for f in required if f.key not in columns]
    if missing:
        raise UploadRefused("缺少必填列：{}。请使用下载的模板，不要删除或改动表头。".format("、".join(missing)))
    return row_number, columns


def validate_table(schema, table, **options):
    """Validate every data row below the header; never stops at the first error.

    Returns the ValidationResult with every valid row in `rows`.
    """
    result, rows = validation_start(schema, table, **options)
    result.rows = list(rows)
    return result


def validation_start(schema, table, *, existing_doc_numbers=frozenset(), today=None, progress=None, total=None,
                     synonyms=None):
    """Locate the header now (raising UploadRefused) and return (result, generator of valid CleanRows).

    `table` is any iterable of (Excel row number, cells), read once.  The
    generator fills result.errors as it goes, so a caller can store valid rows
    while later ones are still being checked; exhausting it completes the
    result.  `total` (rows, if known) feeds the progress callback.
    """
    today = today or datetime.date.today()
    result, rows = open_table(schema, table)
    checker = _BlockChecker(schema, result.columns, existing_doc_numbers, today,
                            builtin_synonyms() if synonyms is None else synonyms)
    return result, _valid_rows(result, rows, checker, progress, total)


def open_table(schema, table):
    """(ValidationResult with the header found, all rows again), or UploadRefused for an empty sheet or no header."""
    rows = iter(table)
    head = list(itertools.islice(rows, HEADER_SEARCH_ROWS))
    if all(_is_blank(cells) for _, cells in head):
        if not head or next((r for r in rows if not _is_blank(r[1])), None) is None:
            raise UploadRefused("工作表是空的，没有任何数据。请使用下载的模板填写后上传。")
    header_row, columns = locate_header(schema, head)
    return ValidationResult(header_row=header_row, columns=columns), itertools.chain(head, rows)


BLOCK_ROWS = 2048


def _data_blocks(rows, header_row, size=BLOCK_ROWS):
    """Lists of (row number, cells) below the header, blank rows left out."""
    block = []
    for row_number, cells in rows:
        if row_number <= header_row:
            continue
        first = cells[0] if cells else None
        if not (type(first) is str and first.strip()) and _is_blank(cells):  # cheap test first
            continue
        block.append((row_number, cells))
        if len(block) == size:
            yield block
            block = []
    if block:
        yield block


PROGRESS_EVERY = 5000  # rows between progress reports


def _valid_rows(result, rows, checker, progress, total):
    reported = 0
    for block in _data_blocks(rows, result.header_row, BLOCK_ROWS):
        result.total_rows += len(block)
        yield from checker.check(block, result)
        if result.error_row_count >= STOP_ERROR_ROWS:
            result.stopped = True
            break
        done = block[-1][0]
        if progress and done - reported >= PROGRESS_EVERY:
            progress(done, total or done)
            reported = done
    if result.total_rows == 0:
        raise UploadRefused("表头下面没有任何数据行。如本月没有数据，请在报表页面选择“本月无数据”。")
    if progress:
        progress(total or 1, total or 1)


class _BlockChecker:
    """Every rule of the schema, applied a column of a block of rows at a time.

    A 100,000-row upload has two million cells.  Checked one cell at a time in
    Python, validation cost more than reading the file.  Here each column of a
    block is first tested as a whole with built-ins (all text within its
    length, every value one of the choices, every date a real date, no blank
    in a required column); only a column that fails the test is walked cell
    by cell through the field's checker.  The outcome is the same as checking
    row by row: the same values, and the same errors in the same order (by
    row, then column, then the cross-field rules, then 文书号).
    """

    def __init__(self, schema, columns, existing_doc_numbers, today, synonyms):
        self.schema = schema
        self.columns = columns
        self.keys = [f.key for f in schema.fields]
        self.headers = {f.key: f.header for f in schema.fields}
        self.width = max(columns.values()) + 1
        self.existing = existing_doc_numbers
        self.today = today
        self.seen_docs = {}  # 文书号 -> first row number, across blocks
        self.code_cache = {}  # credit codes already checked in this file -> normalised code
        # Rows' JSON is written from a template with the keys in it (see _clean_rows).
        assert all(key.isidentifier() for key in self.keys)
        self.json_cache = {key: _JSONCache() for key in self.keys}
        # Allowed values of each enumeration as a whole column: exact spellings (and blank when optional).
        self.choices = {f.key: frozenset(f.choices) | ({""} if not f.required else set())
                        for f in schema.fields if f.kind == s.CHOICE}
        # Other spellings of each enumeration (national codes, variants), and what each cell value gave.
        self.spellings = {f.key: {**{normalise_spelling(c): c for c in f.choices}, **synonyms.get(f.key, {})}
                          for f in schema.fields if f.kind == s.CHOICE}
        self.choice_cache = {key: {} for key in self.spellings}

    def check(self, block, result):
        numbers = [n for n, _ in block]
        n = len(block)
        # Columns of the block; short rows (trailing empty cells left out) read as blank.
        by_index = list(itertools.zip_longest(*[cells for _, cells in block]))
        if len(by_index) < self.width:
            by_index += [(None,) * n] * (self.width - len(by_index))
        errors = []  # (index in block, order within the row, column header, message)
        values = {}
        for position, f in enumerate(self.schema.fields):
            index = self.columns.get(f.key)
            values[f.key] = [""] * n if index is None else self._column(f, position, by_index[index], errors)
        self._cross_checks(values, n, errors)
        self._doc_numbers(values, numbers, errors)
        bad = set()
        if errors:
            errors.sort(key=lambda e: (e[0], e[1]))
            add_error = result.errors.append
            for i, _, column, message in errors:
                if i not in bad:
                    bad.add(i)
                    result.error_row_count += 1
                if len(result.errors) < KEPT_ERRORS:
                    add_error({"row": numbers[i], "column": column, "message": message})
            result.error_count += len(errors)
        result.valid_count += n - len(bad)
        return self._clean_rows(values, numbers, bad)

    # --- one column --------------------------------------------------------

    def _column(self, f, position, raw, errors):
        """The column's normalised values (None where a cell has an error); errors appended."""
        try:  # all text (most columns): one pass
            col = list(map(str.strip, raw))
            types = {str}
        except TypeError:  # a date, a number or an empty cell (None) among them
            col = [v.strip() if type(v) is str else ("" if v is None else v) for v in raw]
            types = set(map(type, col))
        broken = ()
        joined = "".join(col) if types == {str} else "".join(v for v in col if type(v) is str)
        if not joined.isprintable() or "_x" in joined:  # line breaks, tabs, control characters: rare
            broken = self._clean_texts(f, position, col, errors)
        if "'" in joined:  # '=…: escaped against formula injection by an export (ours among them)
            col = [formula_unescape(v) if type(v) is str else v for v in col]
        if not PLACEHOLDERS.isdisjoint(col):  # "无", "/", "-": nothing to say
            col = ["" if type(v) is str and v in PLACEHOLDERS else v for v in col]
        kind = f.kind
        if kind == s.CHOICE:
            return self._choice_column(f, position, col, errors, broken)
        if not broken and (not f.required or "" not in col):
            # The whole column at once: the usual case for a file made from our template.
            if kind == s.TEXT and types == {str} and max(map(len, col)) <= f.max_length:
                return col
            if kind == s.CHOICE and set(col) <= self.choices[f.key]:
                return col
            if kind == s.DATE and types == {datetime.date}:
                return col
            if types == {str} and not any(col):  # an optional column left empty
                return col
            if kind == s.CODE and types == {str} and _valid_codes(set(col) - {""}):
                return col
        if kind == s.CODE:
            return self._codes(f, position, col, errors, broken)
        fast = _FAST.get(kind)
        checker = _CHECKERS[kind]
        header, required = f.header, f.required
        out = []
        append = out.append
        for i, value in enumerate(col):
            if i in broken:
                append(None)
            elif value == "" and type(value) is str:
                if required:
                    errors.append((i, position, header, "必填项不能为空"))
                append("")
            elif fast is not None and fast(f, value):
                append(value)
            else:
                try:
                    append(checker(f, value))
                except FieldError as exc:
                    errors.append((i, position, header, str(exc)))
                    append(None)
        return out

    def _clean_texts(self, f, position, col, errors):
        """Fold line breaks and tabs in the column's text cells (in place); the cells with control characters.

        Those are an error naming the row and column: PostgreSQL cannot store NUL, and the others are
        invisible rubbish copied from other systems.
        """
        broken = set()
        multiline = f.multiline
        for i, value in enumerate(col):
            if type(value) is str and (not value.isprintable() or "_x" in value):
                try:
                    col[i] = clean_text(value, multiline=multiline)
                except FieldError as exc:
                    errors.append((i, position, f.header, str(exc)))
                    broken.add(i)
        return broken

    def _choice_column(self, f, position, col, errors, broken):
        """An enumeration: canonical values as they are, other spellings mapped, each distinct value once."""
        if not broken and set(col) <= self.choices[f.key]:
            return col
        cache, spellings = self.choice_cache[f.key], self.spellings[f.key]
        header, required = f.header, f.required
        out = []
        append = out.append
        for i, value in enumerate(col):
            if i in broken:
                append(None)
                continue
            if value == "" and type(value) is str:
                if required:
                    errors.append((i, position, header, "必填项不能为空"))
                append("")
                continue
            canonical = cache.get(value)
            if canonical is None:
                canonical = spellings.get(normalise_spelling(value), "")
                if len(cache) < 10_000:
                    cache[value] = canonical
            if canonical:
                append(canonical)
            else:
                errors.append((i, position, header, "“{}”不是可选值，应为：{}".format(cell_text(value), "、".join(f.choices))))
                append(None)
        return out

    def _codes(self, f, position, col, errors, broken=()):
        """统一社会信用代码: each distinct value checked once per file."""
        cache = self.code_cache
        header, required = f.header, f.required
        out = []
        append = out.append
        for i, value in enumerate(col):
            code = cache.get(value) if type(value) is str else None
            if i in broken:
                append(None)
            elif code is not None:
                append(code)
            elif value == "" and type(value) is str:
                if required:
                    errors.append((i, position, header, "必填项不能为空"))
                append("")
            else:
                try:  # distinct codes are cached just above: no need for check_uscc's own cache
                    code = check_uscc_uncached(value) if type(value) is str else _code(f, value)
                except FieldError as exc:
                    errors.append((i, position, header, str(exc)))
                    append(None)
                    continue
                if type(value) is str and len(cache) < 200_000:
                    cache[value] = code
                append(code)
        return out

    # --- rules across fields -------------------------------------------------

    def _cross_checks(self, values, n, errors):
        """The schema's rules across fields, in the order declared, after every column's own errors."""
        schema, headers, today = self.schema, self.headers, self.today
        date = datetime.date
        for order, rule in enumerate(schema.rules, start=len(schema.fields)):
            if isinstance(rule, s.NotFuture):
                header = headers[rule.key]
                for i, value in enumerate(values[rule.key]):
                    if isinstance(value, date) and value > today:
                        errors.append((i, order, header, f"日期 {value:%Y-%m-%d} 晚于今天，不能是将来的日期"))
            elif isinstance(rule, s.DateOrder):
                header, first_header = headers[rule.later], headers[rule.earlier]
                for i, (a, b) in enumerate(zip(values[rule.earlier], values[rule.later], strict=True)):
                    if isinstance(a, date) and isinstance(b, date) and a > b:
                        errors.append((i, order, header, f"{header}（{b:%Y-%m-%d}）不能早于{first_header}（{a:%Y-%m-%d}）"))
            elif isinstance(rule, s.RequiredWhen):
                header, message = headers[rule.key], rule.message(schema)
                for i, (decider, value) in enumerate(zip(values[rule.when], values[rule.key], strict=True)):
                    if decider == rule.equals and value == "":
                        errors.append((i, order, header, message))
            elif isinstance(rule, s.ResidentId):
                ids, header = values[rule.key], headers[rule.key]
                kinds = values[rule.type_key] if rule.type_key else [None] * n
                for i, (number, kind) in enumerate(zip(ids, kinds, strict=True)):
                    if number and (kind or rule.resident) == rule.resident:
                        try:
                            ids[i] = check_resident_id(number)
                        except FieldError as exc:
                            errors.append((i, order, header, str(exc)))
            elif isinstance(rule, s.OneOf):
                header, message = headers[rule.keys[0]], rule.message(schema)
                for i, cells in enumerate(zip(*(values[key] for key in rule.keys), strict=True)):
                    if all(value == "" for value in cells):
                        errors.append((i, order, header, message))
            else:
                raise TypeError(f"unknown rule {rule!r}")

    def _doc_numbers(self, values, numbers, errors):
        key = self.schema.doc_number_key
        if not key:
            return
        seen, existing = self.seen_docs, self.existing
        pairs = [(doc, number) for doc, number in zip(values[key], numbers, strict=True) if doc]
        docs = {doc for doc, _ in pairs}
        # The stored 文书号 among this block's: a set, or an object that looks them up (services).
        among = getattr(existing, "among", None)
        existing = among(docs) if among is not None else existing & docs
        if len(docs) == len(pairs) and seen.keys().isdisjoint(docs) and not existing:
            seen.update(pairs)
            return
        header, order = self.headers[key], len(self.schema.fields) + 100
        stored_message = getattr(self.existing, "message", STORED_DOC_MESSAGE)
        for i, doc in enumerate(values[key]):
            if not doc:
                continue
            if doc in seen:
                errors.append((i, order, header, f"文书号“{doc}”与第 {seen[doc]} 行重复"))
            elif doc in existing:
                errors.append((i, order, header, stored_message.format(doc=doc)))
            else:
                seen[doc] = numbers[i]

    # --- valid rows ----------------------------------------------------------

    def _clean_rows(self, values, numbers, bad):
        schema = self.schema
        doc_key, subject_key, date_key = schema.doc_number_key, schema.subject_key, schema.date_key
        n = len(numbers)
        blank = [""] * n
        docs = values[doc_key] if doc_key else blank
        subjects = values[subject_key] if subject_key else blank
        codes = values.get("credit_code", blank)
        ids = values.get("id_number", blank)
        dates = values[date_key] if date_key else [None] * n
        # Each row's JSON is a template filled in: text columns with nothing to escape go in as they
        # are, between the template's quotes; other columns as their values' JSON, each distinct
        # value encoded once.  The bytes are exactly what orjson.dumps(dict) gives, key order included.
        pieces, columns = [], []
        for key, column in values.items():
            if _plain_text(column):
                pieces.append(f'"{key}":"%s"')
                columns.append(column)
            else:
                pieces.append(f'"{key}":%s')
                columns.append(self._json_values(key, column))
        template = "{" + ",".join(pieces) + "}"
        rows = zip(zip(*columns, strict=True), numbers, docs, subjects, codes, ids, dates, strict=True)
        if bad:
            rows = (row for i, row in enumerate(rows) if i not in bad)
        # A list per block, not a generator: one layer less to resume for each of 100,000 rows.
        return [CleanRow(number, template % row, doc, subject[:200], code, id_number, date or None)
                for row, number, doc, subject, code, id_number, date in rows]

    def _json_values(self, key, column):
        """The column's values as JSON text; a column of repeated values (most are) encodes each once."""
        cache = self.json_cache.get(key)
        if cache is None:
            return [orjson.dumps(value).decode() for value in column]
        encoded = [cache[value] for value in column]
        if len(cache) > 20_000:  # mostly distinct values: caching only costs memory
            self.json_cache[key] = None
        return encoded


def _valid_codes(codes):
    """True when every code is already a valid, normalised 统一社会信用代码 (18 characters, check digit right).

    A whole column's distinct codes at once: a file's codes are nearly always
    written correctly, so each is checked here in one expression; any other
    value sends the column through check_uscc cell by cell, for its message.
    """
    if not codes or set(map(len, codes)) != {18} or not USCC_VALID_CHARS.issuperset("".join(codes)):
        return False
    return all(code[17] == USCC_ALPHABET[-int(code[16::-1].translate(USCC_BASE34), 34) % 31] for code in codes)


# What JSON would escape (quote, backslash, control characters) or refuse (lone surrogates).
_JSON_UNPLAIN = re.compile(r'["\\\x00-\x1f\ud800-\udfff]')


def _plain_text(column):
    """True when every value is text that JSON writes as it is, between quotes."""
    try:
        joined = "".join(column)
    except TypeError:  # dates, numbers, None
        return False
    if joined.isprintable() and '"' not in joined and "\\" not in joined:  # the usual case, checked fast
        return True
    return _JSON_UNPLAIN.search(joined) is None  # e.g. an ideographic space is not "printable" but plain


class _JSONCache(dict):
    def __missing__(self, value):
        encoded = self[value] = orjson.dumps(value).decode()
        return encoded


def _text(f, raw):
    value = cell_text(raw)
    if len(value) > f.max_length:
        raise FieldError(f"内容过长（{len(value)} 字），最多 {f.max_length} 字")
    return value


def _code(f, raw):
    return check_uscc(check_number_as_code(raw, f.header))


def _id_number(f, raw):
    value = normalise_code(check_number_as_code(raw, f.header) if type(raw) is not str else raw)
    if len(value) > f.max_length:
        raise FieldError(f"内容过长，最多 {f.max_length} 个字符")
    return value


def _date(f, raw):
    return parse_date(raw, open_ended=f.open_ended)


def _decimal(f, raw):
    return parse_decimal(raw)


def _url(f, raw):
    value = cell_text(raw)
    if not (value.startswith("http://") or value.startswith("https://")):
        raise FieldError("链接应以 http:// 或 https:// 开头")
    if len(value) > f.max_length:
        raise FieldError(f"链接过长，最多 {f.max_length} 个字符")
    return value


def _fast_text(f, value):
    return type(value) is str and len(value) <= f.max_length


# Values taken as they are, before the field's checker (which would accept them too).
_FAST = {
    s.TEXT: _fast_text,
    s.DATE: lambda f, value: type(value) is datetime.date,
}

_CHECKERS = {
    s.TEXT: _text,
    s.CODE: _code,
    s.ID_NUMBER: _id_number,
    s.DATE: _date,
    s.DECIMAL: _decimal,
    s.URL: _url,
}
