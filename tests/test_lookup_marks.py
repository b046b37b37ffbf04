"""The marks of a credit check, on both sides of every date that decides them."""

import datetime

import pytest

from lookup import kinds, marks, selectors
from lookup.marks import Fact, marks_compute
from lookup.queries import CODE, ID_NUMBER

from . import lookup_data as data

D = datetime.date
END = D(2020, 8, 4)
DECIDED = D(2019, 8, 5)


def penalty(end, decided=DECIDED):
    return Fact(kinds.PENALTY, decided, end)


@pytest.mark.parametrize("as_of, within", [
    (END - datetime.timedelta(days=1), True), (END, True), (END + datetime.timedelta(days=1), False),
])
def test_a_penalty_is_within_its_publicity_up_to_and_including_its_last_day(as_of, within):
    result = marks_compute([penalty(END)], as_of=as_of)
    assert result.penalised is within
    assert result.verdict == (marks.PENALISED if within else marks.CLEAN)
    assert result.penalties_past_publicity == (0 if within else 1)


def test_a_penalty_decided_after_the_date_is_not_counted():
    result = marks_compute([penalty(END, decided=D(2019, 8, 5))], as_of=D(2019, 8, 4))
    assert (result.penalised, result.total) == (False, 0)


def test_publicity_ends_at_publish_until_or_else_at_the_penalty_validity():
    assert marks.penalty_publicity_end({"publish_until": "2022-08-04", "valid_until": "2020-08-04"}) == (
        D(2022, 8, 4), "公示截止期")
    assert marks.penalty_publicity_end({"publish_until": None, "valid_until": "2020-08-04"}) == (
        D(2020, 8, 4), "处罚有效期")
    assert marks.penalty_publicity_end({}) == (None, "")


LISTED, LEFT = D(2019, 8, 1), D(2019, 8, 20)


@pytest.mark.parametrize("as_of, blacklisted", [
    (LISTED - datetime.timedelta(days=1), False), (LISTED, True), (LEFT - datetime.timedelta(days=1), True),
    (LEFT, False), (LEFT + datetime.timedelta(days=1), False),
])
def test_a_subject_is_on_the_black_list_from_its_listing_until_it_leaves(as_of, blacklisted):
    facts = [Fact(kinds.BLACKLIST, LISTED), Fact(kinds.BLACKLIST_EXIT, LEFT)]
    result = marks_compute(facts, as_of=as_of)
    assert result.blacklisted is blacklisted
    assert (marks.BLACKLISTED in result.verdicts) is blacklisted


def test_a_listing_after_the_last_exit_is_current_again():
    facts = [Fact(kinds.BLACKLIST, LISTED), Fact(kinds.BLACKLIST_EXIT, LEFT), Fact(kinds.BLACKLIST, D(2020, 1, 2))]
    result = marks_compute(facts, as_of=D(2020, 6, 1))
    assert result.blacklisted and result.blacklisted_since == D(2020, 1, 2)


def test_verdicts_put_the_worst_first_and_add_the_red_list():
    facts = [Fact(kinds.BLACKLIST, LISTED), penalty(END), Fact(kinds.REDLIST, D(2019, 1, 1))]
    assert marks_compute(facts, as_of=D(2019, 9, 1)).verdict == "列入黑名单；有行政处罚记录；列入红名单"
    assert marks_compute([Fact(kinds.REDLIST, D(2019, 1, 1))], as_of=D(2019, 9, 1)).verdict == "无不良记录；列入红名单"
    assert marks_compute([Fact(kinds.REDLIST, D(2019, 1, 1))], as_of=D(2018, 9, 1)).redlisted is False


# --- the same marks from the records ---------------------------------------------------


@pytest.fixture
def dataset(users, upload):
    return data.build(upload)


@pytest.mark.django_db
def test_profile_marks_follow_the_date_of_the_profile(dataset):
    from django.utils import timezone

    today = timezone.localdate()
    hengchang = selectors.Subject(CODE, data.HENGCHANG_CODE)
    assert selectors.subject_profile(hengchang, as_of=today).marks.penalised  # 公示截止期 is today
    assert selectors.subject_profile(hengchang, as_of=D(2019, 8, 9)).marks.blacklisted is False  # listed the 10th
    assert selectors.subject_profile(hengchang, as_of=D(2019, 8, 10)).marks.blacklisted is True
    jiancai = selectors.subject_profile(selectors.Subject(CODE, data.JIANCAI_CODE), as_of=today)
    assert (jiancai.marks.penalised, jiancai.marks.redlisted) == (False, True)  # ended yesterday
    assert selectors.subject_profile(selectors.Subject(CODE, data.JIANCAI_CODE),
                                     as_of=today - datetime.timedelta(days=1)).marks.penalised
    person = selectors.subject_profile(selectors.Subject(ID_NUMBER, data.PERSON_ID), as_of=today)
    assert person.marks.penalised and person.marks.verdict == "有行政处罚记录"
    assert selectors.subject_profile(hengchang, as_of=D(2019, 8, 4)) is None  # nothing yet on that day
