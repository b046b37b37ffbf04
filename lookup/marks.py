"""The marks a credit check looks for, computed as of a date.  Plain functions: no database.

- 当前列入黑名单: a black-list record (地方发布黑名单, 国家黑名单结果反馈) dated on or before the
  date, with no 退出黑名单 record dated on or after it (and on or before the date).
- 行政处罚在公示期内: a penalty decided on or before the date whose 公示截止期 is the date or later.
  A penalty without 公示截止期 is read by its 处罚有效期 (required in the schema) and says so.
- 列入红名单: a red-list record dated on or before the date.
"""

import datetime
from dataclasses import dataclass, field

from . import kinds

BLACKLISTED = "列入黑名单"
PENALISED = "有行政处罚记录"
CLEAN = "无不良记录"
REDLISTED = "列入红名单"
NOT_FOUND = "未查到相关记录"
INVALID = "代码无效"

PUBLISH_UNTIL = "公示截止期"
VALID_UNTIL = "处罚有效期"


@dataclass(frozen=True)
class Fact:
    """What the marks need of one record."""

    kind: kinds.Kind
    date: datetime.date | None
    publicity_end: datetime.date | None = None
    category: str = ""  # category code


@dataclass
class Marks:
    as_of: datetime.date
    blacklisted_since: datetime.date | None = None
    left_blacklist_on: datetime.date | None = None
    penalties_in_publicity: int = 0
    penalties_past_publicity: int = 0
    redlisted_since: datetime.date | None = None
    counts: dict = field(default_factory=dict)  # kind code -> records on or before as_of

    @property
    def blacklisted(self):
        return self.blacklisted_since is not None

    @property
    def penalised(self):
        return self.penalties_in_publicity > 0

    @property
    def redlisted(self):
        return self.redlisted_since is not None

    @property
    def total(self):
        return sum(self.counts.values())

    @property
    def verdicts(self):
        """The conclusion of a check, worst first: 列入黑名单 / 有行政处罚记录 / 无不良记录, then 列入红名单."""
        bad = [text for flag, text in ((self.blacklisted, BLACKLISTED), (self.penalised, PENALISED)) if flag]
        return (bad or [CLEAN]) + ([REDLISTED] if self.redlisted else [])

    @property
    def verdict(self):
        return "；".join(self.verdicts)

    def as_json(self):
        return {
            "as_of": self.as_of.isoformat(),
            "blacklisted": self.blacklisted,
            "penalties_in_publicity": self.penalties_in_publicity,
            "redlisted": self.redlisted,
            "verdict": self.verdict,
        }


def marks_compute(facts, *, as_of):
    """Marks of a subject's records (an iterable of Fact) as of a date; later records are left out."""
    marks = Marks(as_of=as_of)
    listed, exits, red = [], [], []
    for fact in facts:
        if fact.date is not None and fact.date > as_of:
            continue
        marks.counts[fact.kind.code] = marks.counts.get(fact.kind.code, 0) + 1
        if fact.kind is kinds.BLACKLIST:
            listed.append(fact.date or datetime.date.min)
        elif fact.kind is kinds.BLACKLIST_EXIT:
            exits.append(fact.date or datetime.date.min)
        elif fact.kind is kinds.REDLIST:
            red.append(fact.date or datetime.date.min)
        elif fact.kind is kinds.PENALTY:
            if penalty_in_publicity(fact.publicity_end, as_of):
                marks.penalties_in_publicity += 1
            else:
                marks.penalties_past_publicity += 1
    last_exit = max(exits, default=None)
    current = [d for d in listed if last_exit is None or d > last_exit]
    if current:
        marks.blacklisted_since = min(current)
    elif listed:
        marks.left_blacklist_on = last_exit
    if red:
        marks.redlisted_since = min(red)
    return marks


def penalty_in_publicity(end, as_of):
    """Within its 公示 period up to and including its last day; a penalty with no end date known is."""
    return end is None or as_of <= end


def penalty_publicity_end(data):
    """(last day of the penalty's 公示 period, the field it comes from) of a penalty record's data."""
    for key, label in (("publish_until", PUBLISH_UNTIL), ("valid_until", VALID_UNTIL)):
        day = _date(data.get(key))
        if day is not None:
            return day, label
    return None, ""


def _date(value):
    if isinstance(value, datetime.date):
        return value
    if isinstance(value, str) and value:
        try:
            return datetime.date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None
