"""What the user typed, read as a 统一社会信用代码, an ID number or a name.  Plain functions: no database.

A code or an ID number that fails its check is an error named to the user,
never "corrected" into some other subject's number.
"""

import datetime
import re
from dataclasses import dataclass

from reporting.validators import FieldError, check_resident_id, check_uscc, normalise_code, to_halfwidth

CODE, ID_NUMBER, NAME = "code", "id", "name"
MODE_LABELS = {CODE: "统一社会信用代码", ID_NUMBER: "证件号码", NAME: "名称"}
MAX_NAME_LENGTH = 100
# Other documents (护照, 港澳/台湾通行证, 外国人永久居留身份证): letters with digits, or 8 digits and more
# (台湾居民来往大陆通行证); 15 to 18 digits are a 居民身份证 number and checked as one.
_OTHER_DOCUMENT = re.compile(r"^(?=[A-Z0-9]*[A-Z])(?=[A-Z0-9]*\d)[A-Z0-9]{6,30}$|^\d{8,30}$")
RESIDENT_LIKE = re.compile(r"^\d{15,17}[\dX]?$")
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class Query:
    mode: str  # CODE, ID_NUMBER or NAME
    value: str

    @property
    def label(self):
        return MODE_LABELS[self.mode]

    def as_json(self):
        return {"code": {"code": self.value}, "id": {"id_number": self.value}}.get(self.mode, {"name": self.value})


class QueryError(ValueError):
    """The input cannot be searched; the message is for the user."""


def query_parse(text, mode=""):
    """A Query for the text; `mode` forces CODE, ID_NUMBER or NAME, "" recognises it."""
    text = (text or "").strip()
    if not text:
        raise QueryError("请输入要查询的统一社会信用代码、证件号码或名称。")
    if mode == CODE:
        return Query(CODE, code_check(text))
    if mode == ID_NUMBER:
        return Query(ID_NUMBER, id_number_check(text))
    if mode == NAME:
        return Query(NAME, name_clean(text))
    return _recognise(text)


def _recognise(text):
    compact = normalise_code(text)
    if RESIDENT_LIKE.match(compact):
        try:
            return Query(ID_NUMBER, check_resident_id(compact))
        except FieldError as resident_error:
            if len(compact) == 18 and _birth_date(compact):  # an ID number with a wrong check digit
                raise QueryError(f"“{text}”不是有效的身份证号码：{resident_error}") from None
            try:
                return Query(CODE, check_uscc(compact))
            except FieldError as code_error:
                raise QueryError(f"“{text}”既不是有效的身份证号码（{resident_error}），"
                                 f"也不是有效的统一社会信用代码（{code_error}）。") from None
    if len(compact) == 18 and compact.isalnum() and compact.isascii():
        return Query(CODE, code_check(compact))
    if compact.isascii() and compact.isalnum() and any(c.isdigit() for c in compact):
        return Query(ID_NUMBER, id_number_check(compact))
    return Query(NAME, name_clean(text))


def _birth_date(number):
    """Whether characters 7-14 of an 18-digit number are a plausible birth date (as in an ID number)."""
    try:
        born = datetime.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return False
    return 1900 <= born.year <= datetime.date.today().year


def code_check(text):
    try:
        return check_uscc(normalise_code(text))
    except FieldError as exc:
        raise QueryError(f"“{text.strip()}”不是有效的统一社会信用代码：{exc}") from None


def id_number_check(text):
    """A 居民身份证 number checked per GB 11643; other documents' numbers as letters and digits."""
    number = normalise_code(text)
    if RESIDENT_LIKE.match(number):
        try:
            return check_resident_id(number)
        except FieldError as exc:
            raise QueryError(f"“{text.strip()}”不是有效的身份证号码：{exc}") from None
    if not _OTHER_DOCUMENT.match(number):
        raise QueryError(f"“{text.strip()}”不是有效的证件号码（居民身份证18位；其他证件为字母和数字）。")
    return number


def name_clean(text):
    name = _SPACES.sub(" ", to_halfwidth(text)).strip()
    if not name:
        raise QueryError("请输入要查询的名称。")
    if len(name) > MAX_NAME_LENGTH:
        raise QueryError(f"名称过长（{len(name)} 个字），最多 {MAX_NAME_LENGTH} 个字。")
    return name
