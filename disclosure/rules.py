"""What the public disclosure pages (双公示 公示) show, and for how long.  Plain functions: no database.

公示期限 of a penalty
    The last day is lookup's (lookup.marks.penalty_publicity_end): the record's 公示截止期, or its
    处罚有效期 when 公示截止期 is empty; a penalty is shown up to and including that day
    (lookup.marks.penalty_in_publicity).  On the public site a penalty is moreover never shown
    longer than three years after its decision: 《失信行为纠正后的信用信息修复管理办法（试行）》
    (国家发展改革委令2023年第58号) sets the publicity of 行政处罚信息 at least three months and at most
    three years, after which "相关信息自动停止公示" (also 发改办财金〔2019〕527号 before it).  A unit's
    公示截止期 of 2099 or a 处罚有效期 of 长期 therefore ends the public display three years on; the
    internal credit lookup still counts the penalty by its own date.
    Licenses have no 公示 end: an accepted license stays listed.

Masking (natural persons' personal information)
    - 自然人: the name shows its first character and one * for every other character (张三 → 张*,
      欧阳明华 → 欧***), as the 信用中国 / local credit sites print persons (张**); the 证件号码 keeps its
      first 6 and last 4 characters (reporting.validators.mask_id_number, the portal's one rule), so the
      birth date (characters 7-14 of a 居民身份证) never shows — 个人信息保护法 art. 6 (最小必要) and the
      sites' practice of hiding it.
    - 个体工商户: the business name and its 统一社会信用代码 are registration data and shown whole; the
      operator is a natural person: 证件号码 masked as above, 法定代表人（经营者） masked like a name.
    - 法人及非法人组织: everything shown; 法定代表人 is a public item of the national 双公示 standard.
    Free text (违法事实, 许可内容, …) of a record about a person has that person's full name and number
    replaced by the masked ones, so neither reaches the page by another column.
    Masking happens on the server: the full values are never in the HTML.
"""

import datetime

from lookup import marks
from reporting.validators import mask_id_number

PERSON = "自然人"
SOLE_TRADER = "个体工商户"
MAX_PUBLICITY_YEARS = 3


def publicity_end(data, decided):
    """The last day a penalty is on the public site: lookup's end date, at most three years after the decision."""
    end, _ = marks.penalty_publicity_end(data)
    if decided is not None:
        cap = _years_after(decided, MAX_PUBLICITY_YEARS)
        end = cap if end is None else min(end, cap)
    return end


def in_publicity(end, today):
    return marks.penalty_in_publicity(end, today)


def _years_after(day, years):
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def mask_name(name):
    """张三 → 张*, 张三丰 → 张**: the first character (the surname) and a * for each other one."""
    name = (name or "").strip()
    if not name:
        return ""
    return name[0] + "*" * max(len(name) - 1, 1)


def is_person(subject_type):
    return subject_type == PERSON


def name_searchable(subject_type):
    """Whether a record may be found by its name: a person's name is shown masked and never matched
    (a search by a full personal name would confirm what the page hides)."""
    return not is_person(subject_type)


def shown_name(data):
    name = data.get("subject_name") or ""
    return mask_name(name) if is_person(data.get("subject_type")) else name


def shown_values(data):
    """The record's values as the public pages show them: {key: value}, masked where the rules require."""
    subject_type = data.get("subject_type")
    hidden = {}  # full personal value -> what is shown instead
    shown = dict(data)
    if data.get("id_number"):
        shown["id_number"] = mask_id_number(str(data["id_number"]))
        hidden[str(data["id_number"])] = shown["id_number"]
    if subject_type in (PERSON, SOLE_TRADER) and data.get("legal_rep"):
        shown["legal_rep"] = mask_name(str(data["legal_rep"]))
        hidden[str(data["legal_rep"]).strip()] = shown["legal_rep"]
    if is_person(subject_type) and data.get("subject_name"):
        shown["subject_name"] = mask_name(str(data["subject_name"]))
        hidden[str(data["subject_name"]).strip()] = shown["subject_name"]
    # A one-character "name" would blank out that character everywhere; such names show as they are.
    hidden = {full: masked for full, masked in hidden.items() if len(full) >= 2}
    for key, value in shown.items():
        if key in ("id_number", "legal_rep", "subject_name") or not isinstance(value, str):
            continue
        for full in sorted(hidden, key=len, reverse=True):
            if full in value:
                value = value.replace(full, hidden[full])
        shown[key] = value
    return shown


def as_date(value):
    """A stored date value (2019-08-05) as a date, None when it is not one."""
    if isinstance(value, datetime.date):
        return value
    try:
        return datetime.date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None
