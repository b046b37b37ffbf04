"""Records converted a chunk at a time with string operations written in C — exactly, or not at all.

The per-record way (orjson parse into a dict, pick, map codes, join) costs 15-20 µs a record in Python.
Records' JSON is written from a template (reporting.validation._clean_rows): the schema's keys in order,
text as it is between quotes when it needs no escaping.  For a chunk of such records this splits the
whole chunk once at its quotes, takes each column as one slice of the pieces, maps codes with
`map(dict.get, …)` and joins lines with `map(b",".join, zip(*columns))`.  The CSV is made from the
records' UTF-8 bytes as PostgreSQL sends them (no decoding, no encoding: a comma, quote or line break
is one byte in UTF-8 and never part of another character).

Exact, or not used: the chunk's records take this way only when each one's text *is* the template with
plain values, checked for the chunk as a whole — no backslash (no escape), no control character,
records joined by a character they cannot hold (so a record's boundaries are where they must be), and
every key, colon and separator in its place.  Otherwise the chunk (or, for a record with a backslash,
the record) goes the per-record way, which gives the same values by definition and fails where it failed.
"""

import bisect
import csv
import io
import itertools
import operator
import re

import orjson

from reporting.schemas import DECIMAL, get_schema

from . import national

# Raw control characters (invalid in JSON text); 0x1f joins a chunk's records.
_CONTROL_AND_SEP = bytes(range(0x20))
_CONTROL_STR = re.compile("[\x00-\x1e]")


def _amount_text(value):
    from .services import amount_text

    return amount_text(value)


class ChunkConverter:
    """`columns(texts)`: the layout's columns (one list each, in the layout's order) of a chunk of records'
    JSON texts (all bytes or all str), or None when the chunk is not exactly template-built."""

    def __init__(self, layout, binary):
        self.binary = binary
        cast = (lambda s: s.encode()) if binary else (lambda s: s)
        self.sep, self.quote, self.backslash = cast("\x1f"), cast('"'), cast("\\")
        self.open, self.boundary, self.close = cast("{"), cast("}\x1f{"), cast("}")
        fields = get_schema(layout.schema).fields
        keys = [f.key for f in fields]
        numeric = {f.key for f in fields if f.kind == DECIMAL}
        in_layout = {c.key: c for c in layout.columns if c.key}
        self.ok = set(in_layout) <= set(keys) and numeric <= set(in_layout)
        # A record split at its quotes: a text value gives the pieces key, ':', value, separator; a number
        # gives key, ':' + number + separator.  The first record's '{' comes first; then every record has
        # `period` pieces, the last one '}' + 0x1f + '{' between records and '}' after the last.
        self.checks, starts, offset = [], {}, 0
        for n, key in enumerate(keys):
            self.checks.append((offset, cast(key)))
            if key in numeric:
                starts[key] = offset + 1
                offset += 2
            else:
                self.checks.append((offset + 1, cast(":")))
                if n != len(keys) - 1:
                    self.checks.append((offset + 3, cast(",")))
                starts[key] = offset + 2
                offset += 4
        self.period = offset
        self.last_numeric = bool(keys) and keys[-1] in numeric
        self.spec = []  # per column: None (blank), or (start, kind, table)
        for c in layout.columns:
            if not c.key:
                self.spec.append(None)
            elif c.kind == national.CODE:
                assert "" not in c.codes  # the per-record way leaves "" as it is
                self.spec.append((starts.get(c.key), "code", {cast(k): cast(v) for k, v in c.codes.items()}))
            elif c.kind == national.AMOUNT:
                self.ok = self.ok and c.key in numeric
                self.spec.append((starts.get(c.key), "amount", {}))
            else:
                self.ok = self.ok and c.key not in numeric
                self.spec.append((starts.get(c.key), "text", None))
        self.empty, self.comma, self.colon = cast(""), cast(","), cast(":")

    def columns(self, texts, joined=None):
        n = len(texts)
        if not self.ok or n == 0:
            return None
        if joined is None:
            joined = self.sep.join(texts)
        if self.backslash in joined:
            return None
        if self.binary:
            # Bytes 0x00-0x1f: exactly the n - 1 separators put in (no control character, no 0x1f in a text).
            if len(joined.translate(None, _CONTROL_AND_SEP)) != len(joined) - (n - 1):
                return None
        elif joined.count(self.sep) != n - 1 or (not all(map(str.isprintable, texts))
                                                 and _CONTROL_STR.search(joined)):  # (isprintable: the fast check)
            return None
        pieces = joined.split(self.quote)
        period = self.period
        if len(pieces) != 1 + n * period or pieces[0] != self.open:
            return None
        for start, expected in self.checks:
            if pieces[1 + start::period].count(expected) != n:
                return None
        if not self.last_numeric:
            ends = pieces[period::period]
            if ends.count(self.boundary) != n - 1 or ends[-1] != self.close:
                return None
        blank, columns = None, []
        for spec in self.spec:
            if spec is None:
                if blank is None:
                    blank = [self.empty] * n
                columns.append(blank)
                continue
            start, kind, table = spec
            values = pieces[1 + start::period]
            if kind == "text":
                columns.append(values)
            elif kind == "code":
                columns.append(list(map(table.get, values, values)))
            else:
                amounts = self._amounts(values, start + 1 == period, table)
                if amounts is None:
                    return None
                columns.append(amounts)
        return columns

    def _amounts(self, pieces, last, cache):
        """Number pieces (':' number separator) as amount_text writes them; None when one is not that."""
        out = []
        for n, piece in enumerate(pieces):
            text = cache.get(piece)
            if text is None:
                if last:
                    end = self.close if n == len(pieces) - 1 else self.boundary
                else:
                    end = self.comma
                if not (piece[:1] == self.colon and piece.endswith(end)):
                    return None
                try:
                    value = orjson.loads(piece[1:len(piece) - len(end)])
                    if not (value is None or type(value) in (int, float)):
                        return None
                    text = _amount_text(value)
                except (orjson.JSONDecodeError, TypeError, ValueError, OverflowError):
                    return None
                if self.binary:
                    text = text.encode()
                if not last and len(cache) < 10_000:
                    cache[piece] = text
            out.append(text)
        return out


def _offsets(texts):
    """Where each record starts in the chunk's texts joined by one character."""
    return list(itertools.accumulate(map(operator.add, map(len, texts[:-1]), itertools.repeat(1)), initial=0))


def _records_with(texts, joined, needles):
    """Numbers of the records (in `joined`, the texts joined by one character) containing any of `needles`
    (strings, or one compiled pattern)."""
    found = []
    if hasattr(needles, "finditer"):
        found = [m.start() for m in needles.finditer(joined)]
    else:
        for needle in needles:
            at = joined.find(needle)
            while at != -1:
                found.append(at)
                at = joined.find(needle, at + 1)
    if not found:
        return set()
    offsets = _offsets(texts)
    return {bisect.bisect_right(offsets, at) - 1 for at in found}


# A text value starting with a formula character: what services._FORMULA_IN_JSON finds in a record with no
# backslash (then '":"' is only ever where a text value starts).
_FORMULA_STARTS = re.compile(rb'":"[=+\-@]')
_FORMULA_FIRST = frozenset((b"=", b"+", b"-", b"@"))  # reporting.exports.FORMULA_PREFIXES but tab and CR:
# a value here has no control character


class CsvChunks:
    """A chunk of records' JSON texts (UTF-8 bytes) as the CSV lines the per-record way writes (bytes, each
    line ended by \\n).  `slow_row(text)`: the record's row the per-record way (str values, sanitised)."""

    def __init__(self, layout, slow_row):
        self.fast = ChunkConverter(layout, binary=True)
        self.slow_row = slow_row
        self.commas = len(layout.columns) - 1

    def __call__(self, texts):
        if not texts:
            return b""
        joined = b"\x1f".join(texts)
        slow = _records_with(texts, joined, (b"\\",))
        fast_texts = [t for i, t in enumerate(texts) if i not in slow] if slow else texts
        if slow:
            joined = b"\x1f".join(fast_texts)
        columns = self.fast.columns(fast_texts, joined) if fast_texts else None
        if columns is None:
            return b"".join([self.line(self.slow_row(t)) + b"\n" for t in texts])
        n, width = len(fast_texts), len(columns)
        stride = 2 * width
        # Values and separators in one list, joined once.
        flat = ([None, b","] * (width - 1) + [None, b"\n"]) * n
        for j, column in enumerate(columns):
            flat[2 * j::stride] = column
        # The per-record way sanitises every value of a record whose text has a value starting with a
        # formula character (in a text with no backslash, exactly where '":"' is followed by one).
        for i in _records_with(fast_texts, joined, _FORMULA_STARTS):
            at = i * stride
            flat[at:at + stride:2] = [b"'" + v if v[:1] in _FORMULA_FIRST else v for v in flat[at:at + stride:2]]
        out = b"".join(flat)
        if out.count(b",") != (width - 1) * n:  # a value with a comma: that line quoted as csv.writer does
            for i in {i for column in columns if b"," in b"".join(column) for i, v in enumerate(column) if b"," in v}:
                at = i * stride
                flat[at:at + stride - 1] = [self.line([v.decode() for v in flat[at:at + stride:2]])]
                flat[at + 1:at + 1] = [b""] * (stride - 2)
            out = b"".join(flat)
        if slow:
            lines = out.split(b"\n")
            for i in sorted(slow):
                lines.insert(i, self.line(self.slow_row(texts[i])))
            out = b"\n".join(lines)
        return out

    def line(self, row):
        return self.line_of(row)

    @staticmethod
    def line_of(row):
        """The row's CSV line (UTF-8, no line end) as csv.writer writes it: the values joined by commas when
        none needs quoting."""
        line = ",".join(row)
        if not (line.count(",") == len(row) - 1 and '"' not in line and "\n" not in line and "\r" not in line):
            buffer = io.StringIO()
            csv.writer(buffer, lineterminator="\n").writerow(row)
            line = buffer.getvalue()[:-1]
        return line.encode()


class XlsxChunks:
    """A chunk of records' JSON texts (str) as (row, plain) pairs for StreamingWorkbook.append, as the
    per-record way gives them.  `slow_row(text)`: the record's row the per-record way."""

    def __init__(self, layout, slow_row):
        self.fast = ChunkConverter(layout, binary=False)
        self.slow_row = slow_row

    def __call__(self, texts):
        if not texts:
            return []
        joined = "\x1f".join(texts)
        slow = _records_with(texts, joined, ("\\",))
        fast_texts = [t for i, t in enumerate(texts) if i not in slow] if slow else texts
        if slow:
            joined = "\x1f".join(fast_texts)
        columns = self.fast.columns(fast_texts, joined) if fast_texts else None
        if columns is None:
            return [(self.slow_row(t), _plain_xml(t)) for t in texts]
        marked = _records_with(fast_texts, joined, ("&", "<", ">"))
        if marked:
            pairs = [(row, i not in marked) for i, row in enumerate(zip(*columns, strict=True))]
        else:
            pairs = list(zip(zip(*columns, strict=True), itertools.repeat(True), strict=False))
        for i in sorted(slow):
            pairs.insert(i, (self.slow_row(texts[i]), _plain_xml(texts[i])))
        return pairs


def _plain_xml(text):
    """services._NOT_PLAIN_XML's test: no character that needs XML escaping or care."""
    return not ("&" in text or "<" in text or ">" in text or "\\" in text)
