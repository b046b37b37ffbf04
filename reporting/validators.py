"""Field rules of DOMAIN.md as plain functions: no database, no Django.

Each checker returns the normalised value or raises FieldError with a
Chinese reason.
"""

import datetime
import decimal
import functools
import operator
import re

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_VALUE = {c: i for i, c in enumerate(USCC_ALPHABET)}
_USCC_WEIGHTS = [pow(3, i, 31) for i in range(17)]  # 3^(i-1) mod 31 for i = 1..17

_ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
_ID_CHECK = "10X98765432"

# Full-width ASCII (U+FF01..U+FF5E) to half-width, plus the ideographic space.
_FULLWIDTH = {i: i - 0xFEE0 for i in range(0xFF01, 0xFF5F)}
_FULLWIDTH[0x3000] = 0x20
_SPACES = re.compile(r"\s+")
USCC_VALID_CHARS = _USCC_VALID = frozenset(USCC_ALPHABET)


class FieldError(ValueError):
    pass


def to_halfwidth(text):
    return text.translate(_FULLWIDTH)


# Quote marks Excel users type before a number to keep it text ('0012…), and invisible marks.
_LEADING_MARKS = "'‘’`\ufeff\u200b"


def normalise_code(value):
    """Credit codes and ID numbers: half-width, no spaces or leading quote mark, upper case."""
    return _SPACES.sub("", to_halfwidth(value)).lstrip(_LEADING_MARKS).upper()


def normalise_header(text):
    """Headers are matched ignoring width, spaces, case, a required-mark '*' and the kind of parentheses."""
    text = _SPACES.sub("", to_halfwidth(str(text))).strip("*").strip(":：").upper()
    return text.replace("(", "（").replace(")", "）")


# A note after a header's name: "行政相对人名称（必填）", "许可决定日期【格式：2019-08-05】".
_HEADER_NOTE = re.compile(r"(?:（[^（）]*）|【[^【】]*】)$")


def header_without_note(text):
    """A normalised header without its trailing note in brackets, or "" when it has none."""
    stripped = _HEADER_NOTE.sub("", text)
    return stripped if stripped != text else ""


# What clerks write in a cell that has nothing to say: read as an empty cell.
PLACEHOLDERS = frozenset({"无", "/", "／", "-", "－", "—", "——", "--", "空", "暂无", "null", "NULL", "None", "N/A",
                          "n/a", "#N/A"})
# An end of validity that has none: the national 双公示 standard writes it as 2099-12-31.
OPEN_ENDED = frozenset({"长期", "长期有效", "永久", "永久有效", "无期限", "无固定期限"})
OPEN_ENDED_DATE = datetime.date(2099, 12, 31)


def normalise_spelling(value):
    """An enumerated value as looked up among its spellings: half-width, no spaces, upper case."""
    return _SPACES.sub("", to_halfwidth(cell_text(value))).lstrip(_LEADING_MARKS).upper()


# C0 control characters other than tab and line breaks, DEL, and the C1 range: never stored.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_LINE_BREAKS = re.compile(r"[ \t\u3000]*(?:\r\n|\r|\n|\u2028|\u2029)[ \t\u3000]*")
# Excel's escape for a character XML cannot hold (_x0000_ is NUL), when a reader leaves it as text.
_EXCEL_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")


def control_character(text):
    """The first control character in the text, named for the user, or "" when there is none."""
    m = _CONTROL.search(text)
    if m is None:
        m = _EXCEL_ESCAPE.search(text)
        if m is None or not _CONTROL.match(chr(int(m[1], 16))):
            return ""
        code = int(m[1], 16)
    else:
        code = ord(m[0])
    return "NUL 空字符（0x00）" if code == 0 else f"控制字符（0x{code:02X}）"


def clean_text(text, *, multiline=False):
    """Trim a text cell: surrounding spaces; tabs and line breaks folded unless the field is multiline.

    A line break inside a one-line value (a name, a number) is a cell wrapped by Alt+Enter: between two
    Chinese characters it disappears, elsewhere it becomes one space.  Control characters raise FieldError.
    """
    name = control_character(text)
    if name:
        raise FieldError(f"含有不可见的{name}，请删除后重新上传（常见于从其他系统复制的内容）")
    text = text.strip()
    if multiline:
        return _LINE_BREAKS.sub("\n", text)
    if "\t" in text:
        text = text.replace("\t", " ")
    return _LINE_BREAKS.sub(_fold_line_break, text)


def _fold_line_break(m):
    before = m.string[m.start() - 1] if m.start() else ""
    after = m.string[m.end()] if m.end() < len(m.string) else ""
    return "" if _is_cjk(before) or _is_cjk(after) else " "


def _is_cjk(char):
    return bool(char) and ("\u2e80" <= char <= "\u9fff" or "\uff00" <= char <= "\uffef" or "\u3000" <= char <= "\u303f")


# Each code character as the base-34 digit of its value (0-9, then a-u for 10-30).
USCC_BASE34 = _USCC_BASE34 = str.maketrans(USCC_ALPHABET, "0123456789abcdefghijklmnopqrstu")


def uscc_check_char(first17):
    """GB 32100 check character of 17 valid characters: 31 - (sum of value(c_i) * 3^i) mod 31.

    The weights 3^i mod 31 are the powers of 34 mod 31, so the weighted sum is
    congruent to the 17 values read as one base-34 number, lowest digit first:
    int() does the arithmetic in C, five times faster than a Python loop over
    the characters (a 100,000-row upload checks 100,000 distinct codes).
    """
    return USCC_ALPHABET[-int(first17.translate(_USCC_BASE34)[::-1], 34) % 31]


def uscc_check_char_by_weights(first17):
    """The same, spelt out with the standard's weights (kept for tests)."""
    total = sum(map(operator.mul, map(_USCC_VALUE.__getitem__, first17), _USCC_WEIGHTS))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def check_uscc(value):
    code, error = _check_uscc_cached(value)
    if error:
        raise FieldError(error)
    return code


@functools.lru_cache(maxsize=65536)
def _check_uscc_cached(value):
    """Authority and source-unit codes repeat on every row: check each distinct value once."""
    try:
        return _check_uscc(value), None
    except FieldError as exc:
        return None, str(exc)


def check_uscc_uncached(value):
    """check_uscc without its cache, for callers that keep their own."""
    return _check_uscc(value)


def _check_uscc(value):
    code = value.upper() if value.isascii() and value.isalnum() else normalise_code(value)
    if len(code) != 18:
        raise FieldError(f"统一社会信用代码应为18位，实际为{len(code)}位")
    if not _USCC_VALID.issuperset(code):
        bad = sorted({c for c in code if c not in _USCC_VALUE})
        raise FieldError(f"统一社会信用代码含有非法字符“{''.join(bad)}”（不可使用 I、O、S、V、Z 等）")
    if uscc_check_char(code[:17]) != code[17]:
        raise FieldError("统一社会信用代码校验位错误，请核对是否抄错")
    return code


def id_check_char(first17):
    total = sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11]


def check_resident_id(value):
    code = normalise_code(value)
    if len(code) != 18:
        raise FieldError(f"居民身份证号码应为18位，实际为{len(code)}位")
    if not code[:17].isdigit() or not (code[17].isdigit() or code[17] == "X"):
        raise FieldError("居民身份证号码前17位须为数字，末位为数字或X")
    try:
        datetime.date(int(code[6:10]), int(code[10:12]), int(code[12:14]))
    except ValueError:
        raise FieldError("居民身份证号码中的出生日期无效") from None
    if id_check_char(code[:17]) != code[17]:
        raise FieldError("居民身份证号码校验位错误，请核对是否抄错")
    return code


def mask_id_number(value):
    """Shown to unit users: keep the first 6 and last 4 characters."""
    if not value:
        return value
    if len(value) <= 8:
        return value[:1] + "*" * (len(value) - 1)
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


_DATE_PATTERNS = (
    re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$"),
    re.compile(r"^(\d{4})/(\d{1,2})/(\d{1,2})$"),
    re.compile(r"^(\d{4})\.(\d{1,2})\.(\d{1,2})$"),
    re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日?$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
)
# A time after the date (2019-08-05 00:00:00, 2019/8/5 0:00, 2019-08-05T08:30:00+08:00): the date part counts.
_DATE_TIME = re.compile(r"^(\S+?)(?:[T\s]+\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)$")
_EXCEL_EPOCH = datetime.date(1899, 12, 30)


def parse_date(value, *, open_ended=False):
    """A real Excel date, or 2019-08-05, 2019/8/5, 2019年8月5日, 20190805; 长期 for an open end of validity."""
    if open_ended and isinstance(value, str) and value.strip() in OPEN_ENDED:
        return OPEN_ENDED_DATE
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        # An Excel serial number in a cell not formatted as a date; 20190805 typed as a number.
        if 19000101 <= value <= 29991231 and float(value).is_integer():
            return parse_date(str(int(value)))
        if 1 <= value < 2958466:
            return _EXCEL_EPOCH + datetime.timedelta(days=int(value))
        raise FieldError(f"“{value}”不是有效日期")
    result, error = _parse_date_text(str(value))
    if error:
        raise FieldError(error)
    return result


@functools.lru_cache(maxsize=65536)
def _parse_date_text(value):
    try:
        return _parse_date_text_uncached(value), None
    except FieldError as exc:
        return None, str(exc)


def _parse_date_text_uncached(value):
    text = to_halfwidth(value).strip()
    m = _DATE_TIME.match(text)
    if m:
        text = m[1]
    text = _SPACES.sub("", text)
    if text.isdigit() and 3 <= len(text) <= 7 and not text.startswith("0"):
        # An Excel serial number saved as text (a CSV of a date column left in 常规 format).
        return parse_date(int(text))
    whole, dot, fraction = text.partition(".")
    if dot and whole.isdigit() and 3 <= len(whole) <= 7 and not whole.startswith("0") and fraction.isdigit():
        # The same with its time of day (46268.5): the date is the whole days.
        return parse_date(int(whole))
    for pattern in _DATE_PATTERNS:
        m = pattern.match(text)
        if m:
            try:
                return datetime.date(int(m[1]), int(m[2]), int(m[3]))
            except ValueError:
                raise FieldError(f"“{value}”不是有效日期（月份或日期超出范围）") from None
    raise FieldError(f"“{value}”不是可识别的日期，请填写如 2019-08-05、2019/8/5、2019年8月5日 或 20190805")


def parse_decimal(value):
    if isinstance(value, bool):
        raise FieldError("应为数字")
    if isinstance(value, (int, float)):
        number = float(value)
    else:
        text = _SPACES.sub("", to_halfwidth(str(value))).replace(",", "").lstrip("¥￥")
        if text.endswith("万元"):
            text = text[:-2]
        elif text.endswith("万"):  # 0.5万: the column's own unit
            text = text[:-1]
        elif text.endswith("元"):
            raise FieldError(f"“{value}”的单位是元，本列单位为万元，请换算后填写数字（如 5000 元填 0.5）")
        try:
            number = float(text)
        except ValueError:
            raise FieldError(f"“{value}”不是数字") from None
    if number != number or number in (float("inf"), float("-inf")):
        raise FieldError(f"“{value}”不是数字")
    if number < 0:
        raise FieldError("不能为负数")
    return number


# What a CSV writer puts before text that a spreadsheet would take for a formula (= + - @), as our own
# exports do (reporting.exports.sanitize_csv): read back, the apostrophe goes.
FORMULA_ESCAPED = ("'=", "'+", "'-", "'@")


def formula_unescape(text):
    """'=A1 → =A1: text that an export escaped against formula injection, as it was."""
    return text[1:] if text.startswith(FORMULA_ESCAPED) else text


def cell_text(value):
    """A cell as stripped text; numbers keep all their digits (no '.0', no exponent)."""
    if type(value) is str:
        return value.strip()
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        text = repr(value)
        return format(decimal.Decimal(text), "f") if "e" in text else text
    if isinstance(value, datetime.datetime) and value.time() == datetime.time():
        return value.date().isoformat()
    if isinstance(value, datetime.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value).strip()


def check_number_as_code(value, what):
    """A credit code or ID number that Excel stored as a number: usable only if no digit was lost."""
    if isinstance(value, float) and (not value.is_integer() or abs(value) >= 2**53):
        raise FieldError(f"{what}被 Excel 存成了数字（显示为 {value:.6g}），末几位已丢失；"
                         "请把该列设为“文本”格式后重新输入，或在号码前加英文单引号 '")
    return cell_text(value)
