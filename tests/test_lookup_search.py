"""Subject search: by code, by ID number, by name (substring and similar), across units and categories,
only in accepted months; and the credit_lookup command's JSON contract.  Runs on PostgreSQL (pg_trgm)
and on SQLite (the plain fallback)."""

import json

import pytest
from django.core.management import CommandError, call_command

from lookup import selectors
from lookup.models import LookupAudit
from lookup.queries import CODE, ID_NUMBER, NAME, Query, QueryError, query_parse

from . import lookup_data as data

pytestmark = pytest.mark.django_db


@pytest.fixture
def dataset(users, upload):
    return data.build(upload)


def search(mode, value, **kwargs):
    return selectors.subjects_search(Query(mode, value), **kwargs)


def cli(*args):
    out = __import__("io").StringIO()
    call_command("credit_lookup", *args, "--json", stdout=out)
    return json.loads(out.getvalue().strip().splitlines()[-1])


# --- reading the query --------------------------------------------------------------


@pytest.mark.parametrize("text, mode", [
    (data.HENGCHANG_CODE, CODE), (data.HENGCHANG_CODE.lower(), CODE), (f" {data.HENGCHANG_CODE} ", CODE),
    (data.PERSON_ID, ID_NUMBER), ("E12345678", ID_NUMBER), ("恒昌", NAME), ("站前区老王烧烤店", NAME),
])
def test_a_query_is_recognised_as_a_code_an_id_number_or_a_name(text, mode):
    assert query_parse(text).mode == mode


@pytest.mark.parametrize("text, mode, message", [
    (data.HENGCHANG_CODE[:-1] + ("0" if data.HENGCHANG_CODE[-1] != "0" else "1"), "", "校验位错误"),
    ("91110000600037341", CODE, "应为18位"),
    (data.PERSON_ID[:-1] + ("0" if data.PERSON_ID[-1] != "0" else "1"), "", "身份证号码"),
    ("21080219800101001", ID_NUMBER, "应为18位"),
])
def test_an_invalid_code_or_id_number_is_named_not_guessed(text, mode, message):
    with pytest.raises(QueryError, match=message):
        query_parse(text, mode)


# --- the three modes ----------------------------------------------------------------


def test_search_by_code_finds_the_subjects_records_across_units_and_categories(dataset):
    result = search(CODE, data.HENGCHANG_CODE)
    [subject] = result.subjects
    assert (subject.name, subject.total) == (data.HENGCHANG, 3)
    assert subject.counts == {"license": 1, "penalty": 1, "blacklist": 1}


def test_search_by_id_number_finds_the_person(dataset):
    [subject] = search(ID_NUMBER, data.PERSON_ID).subjects
    assert (subject.name, subject.subject.id_number, subject.total) == (data.PERSON, data.PERSON_ID, 1)


def test_search_by_part_of_a_name_groups_the_hits_by_subject(dataset):
    result = search(NAME, "市恒昌")
    assert [s.name for s in result.subjects] == [data.HENGCHANG, data.JIANCAI]  # shorter name first
    assert [s.subject.credit_code for s in result.subjects] == [data.HENGCHANG_CODE, data.JIANCAI_CODE]
    assert not result.truncated


def test_a_name_of_two_characters_is_matched_at_the_start_of_names(dataset):
    assert [s.name for s in search(NAME, "张三").subjects] == [data.PERSON]
    assert search(NAME, "恒昌", similar=False).subjects == []  # inside a name: three characters or more
    assert [s.name for s in search(NAME, "营口", similar=False).subjects] == [data.HENGCHANG]


def test_an_exact_name_comes_first(dataset):
    result = search(NAME, data.JIANCAI)
    assert [s.name for s in result.subjects] == [data.JIANCAI]


def test_a_long_name_is_looked_up_by_its_end_and_checked_whole(dataset):
    assert [s.name for s in search(NAME, data.HENGCHANG, similar=False).subjects] == [data.HENGCHANG]
    assert search(NAME, "北京市恒昌贸易有限公司", similar=False).subjects == []  # same end, another start
    assert [s.name for s in search(NAME, "营口市恒昌贸易").subjects] == [data.HENGCHANG]


def test_a_name_matches_whichever_brackets_were_typed(dataset):
    for typed in ("顺达物流(集团)", "顺达物流（集团）"):
        assert [s.name for s in search(NAME, typed).subjects] == [data.SHUNDA]


def test_a_subject_without_code_or_id_is_found_by_name(dataset):
    [subject] = search(NAME, "老王烧烤").subjects
    assert (subject.subject.kind, subject.name, subject.total) == (NAME, data.SHOP, 1)


def test_a_misspelt_name_finds_similar_subjects(dataset):
    result = search(NAME, "营口恒昌贸易有限公司")  # 市 left out: no substring match
    assert result.subjects == []
    assert data.HENGCHANG in [s.name for s in result.similar]
    assert all(s.similarity > 0 for s in result.similar)


def test_a_name_search_with_no_match_finds_nothing(dataset):
    result = search(NAME, "完全不存在的公司名称")
    assert result.subjects == [] and result.similar == []


def test_records_of_months_not_yet_accepted_are_never_found(dataset):
    [subject] = search(CODE, data.HENGCHANG_CODE).subjects
    profile = selectors.subject_profile(subject.subject, as_of=__import__("datetime").date.today())
    assert data.UNACCEPTED_DOC not in [item.doc_number for item in profile.records]


def test_the_name_search_stops_reading_at_its_limit(dataset, monkeypatch):
    monkeypatch.setattr(selectors, "NAME_SCAN_LIMIT", 1)
    result = search(NAME, "有限公司")
    assert result.truncated and len(result.subjects) == 1


# --- command line -------------------------------------------------------------------


@pytest.mark.parametrize("option, key", [("--code", data.HENGCHANG_CODE), ("--code", data.JIANCAI_CODE),
                                         ("--code", data.SHUNDA_CODE), ("--id-number", data.PERSON_ID),
                                         ("--name", data.SHOP)])
def test_credit_lookup_lists_exactly_the_records_put_in(dataset, option, key):
    result = cli(option, key)
    [subject] = result["subjects"]
    assert data.as_tuples(subject["records"]) == dataset[key]
    assert set(subject["records"][0]) == {"category", "unit", "period", "doc_number", "date"}


def test_credit_lookup_json_contract(dataset):
    result = cli("--code", data.HENGCHANG_CODE)
    assert result["query"] == {"code": data.HENGCHANG_CODE}
    [subject] = result["subjects"]
    assert set(subject) == {"name", "credit_code", "records"}
    assert (subject["name"], subject["credit_code"]) == (data.HENGCHANG, data.HENGCHANG_CODE)
    [detailed] = cli("--code", data.HENGCHANG_CODE, "--details")["subjects"]
    assert detailed["marks"]["blacklisted"] is True and detailed["marks"]["penalties_in_publicity"] == 1
    assert detailed["records"] == subject["records"]
    assert cli("--id-number", data.PERSON_ID)["query"] == {"id_number": data.PERSON_ID}


def test_credit_lookup_by_name_lists_every_subject_whose_name_contains_it(dataset):
    result = cli("--name", "市恒昌")
    assert result["query"] == {"name": "市恒昌"}
    found = {s["credit_code"]: data.as_tuples(s["records"]) for s in result["subjects"]}
    assert found == {data.HENGCHANG_CODE: dataset[data.HENGCHANG_CODE], data.JIANCAI_CODE: dataset[data.JIANCAI_CODE]}


def test_credit_lookup_refuses_an_invalid_code(dataset):
    with pytest.raises(CommandError, match="校验位错误"):
        call_command("credit_lookup", "--code", data.HENGCHANG_CODE[:-1] + "0"
                     if data.HENGCHANG_CODE[-1] != "0" else data.HENGCHANG_CODE[:-1] + "1")


def test_credit_lookup_is_audited_as_a_command_line_search(dataset):
    cli("--name", "市恒昌")
    audit = LookupAudit.objects.get()
    assert (audit.channel, audit.action, audit.mode, audit.query, audit.hits, audit.user) == (
        "cli", "search", "name", "市恒昌", 2, None)
